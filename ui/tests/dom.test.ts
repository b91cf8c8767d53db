import { afterEach, describe, expect, it, vi } from "vitest";

vi.mock("@tauri-apps/api/core", async () => (await import("./fake_core")).tauriCore());

import { handlers } from "./fake_core";
import { AppFailure, api } from "../src/api";
import { disclosure, messageOf } from "../src/dom";
import { setLanguage } from "../src/i18n";

afterEach(() => setLanguage("en"));

describe("what went wrong", () => {
  const failure = new AppFailure({
    kind: "link",
    message: "the link has no server",
    chinese: "链接缺少服务器（server）",
  });

  it("is said in the page's language, as the core says it", () => {
    expect(messageOf(failure)).toBe("the link has no server");
    setLanguage("zh-CN");
    expect(messageOf(failure)).toBe("链接缺少服务器（server）");
  });

  it("is led by its kind in Chinese where the core has only English", () => {
    setLanguage("zh-CN");
    const english = new AppFailure({ kind: "link", message: "something new" });
    expect(messageOf(english)).toBe("这不是有效的会议号或会议链接（something new）");
    // Not the core's: as it is.
    expect(messageOf(new Error("boom"))).toBe("boom");
  });

  it("arrives from a command as the core sent it", async () => {
    handlers.set("parse_meeting", () => {
      throw { kind: "link", message: "the link has no server", chinese: "链接缺少服务器（server）" };
    });
    const refused = await api.parseMeeting("talkline://join?room=1").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppFailure);
    expect((refused as AppFailure).kind).toBe("link");
    expect((refused as AppFailure).chinese).toBe("链接缺少服务器（server）");
  });
});

describe("a disclosure", () => {
  it("keeps aria-expanded true to whether its panel shows", async () => {
    const button = document.createElement("button");
    button.id = "test-button";
    const panel = document.createElement("div");
    panel.id = "test-panel";
    panel.hidden = true;
    document.body.append(button, panel);
    disclosure("test-button", "test-panel");
    expect(button.getAttribute("aria-expanded")).toBe("false");
    panel.hidden = false;
    await new Promise((done) => setTimeout(done, 0));
    expect(button.getAttribute("aria-expanded")).toBe("true");
    panel.hidden = true;
    await new Promise((done) => setTimeout(done, 0));
    expect(button.getAttribute("aria-expanded")).toBe("false");
  });
});
