import { afterEach, describe, expect, it } from "vitest";

import { en } from "../src/i18n/en";
import { zhCN } from "../src/i18n/zh-CN";
import { formatNumber, kilobytes, language, languageOf, setLanguage, t, type MessageKey } from "../src/i18n";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

afterEach(() => setLanguage("en"));

describe("the catalogues", () => {
  it("fill the same values in both languages", () => {
    for (const key of Object.keys(en) as MessageKey[]) {
      expect(placeholders(zhCN[key]), key).toEqual(placeholders(en[key]));
    }
  });

  it("have Chinese for every English text", () => {
    // Each language is named in itself in both (the pickers mark it `lang`).
    const namesOfLanguages = ["language.en", "language.zh-CN"];
    for (const key of Object.keys(en) as MessageKey[]) {
      if (namesOfLanguages.includes(key)) {
        expect(zhCN[key], key).toBe(en[key]);
        continue;
      }
      const words = en[key].replace(/\{\w+\}/g, "").match(/[A-Za-z]{3,}/g) ?? [];
      // Names and keys stay; prose does not.
      const prose = words.filter((w) => !["TalkLine", "Esc", "PIN", "TURN", "STUN", "Space"].includes(w));
      if (prose.length > 0) expect(zhCN[key], key).toMatch(/[\u4e00-\u9fff]/);
    }
  });
});

describe("t", () => {
  it("fills values and speaks the language set", () => {
    expect(t("meeting.left", { name: "Ann" })).toBe("Ann left");
    setLanguage("zh-CN");
    expect(language()).toBe("zh-CN");
    expect(document.documentElement.lang).toBe("zh-CN");
    expect(t("meeting.left", { name: "Ann" })).toBe("Ann 离开了会议");
    expect(t("meeting.pageNofM", { page: 2, pages: 3 })).toBe("第 2 页，共 3 页");
  });

  it("leaves a value not given, and shows an unknown key as itself", () => {
    expect(t("meeting.left")).toBe("{name} left");
    expect(t("no.such.key" as MessageKey)).toBe("no.such.key");
  });

  it("reads any Chinese tag as Simplified Chinese and anything else as English", () => {
    expect(languageOf("zh-Hans-CN")).toBe("zh-CN");
    expect(languageOf("ZH_tw")).toBe("zh-CN");
    expect(languageOf("en-GB")).toBe("en");
    expect(languageOf(null)).toBe("en");
  });
});

describe("the page", () => {
  it("changes every marked text, title and label at once", () => {
    const join = document.getElementById("join-now")!;
    const leave = document.getElementById("leave")!;
    setLanguage("zh-CN");
    expect(join.textContent).toBe(zhCN["prejoin.joinNow"]);
    expect(leave.getAttribute("title")).toBe(zhCN["meeting.leaveTitle"]);
    setLanguage("en");
    expect(join.textContent).toBe("Join now");
    expect(leave.getAttribute("title")).toBe("Leave (Esc)");
  });

  it("writes numbers as the language does", () => {
    expect(formatNumber(1234567)).toBe("1,234,567");
    expect(kilobytes(1025)).toBe("2");
    setLanguage("zh-CN");
    expect(formatNumber(1234567)).toBe(new Intl.NumberFormat("zh-CN").format(1234567));
  });
});
