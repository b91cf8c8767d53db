import { beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("@tauri-apps/api/core", async () => (await import("./fake_core")).tauriCore());

import { handlers } from "./fake_core";
import { setLanguage } from "../src/i18n";
import { state } from "../src/state";
import { layoutTiles, tileElement, togglePin, toggleLayout } from "../src/meeting/tiles";

const grid = () => document.getElementById("tiles")!;
const tile = (id: string) => grid().querySelector<HTMLElement>(`.tile[data-tile="${id}"]`)!;

function meetingOf(n: number): void {
  grid().replaceChildren(tileElement("self", "Winnie (you)", true));
  for (let i = 1; i <= n; i++) grid().append(tileElement(String(i), `Person ${i}`, false));
  layoutTiles();
}

beforeEach(() => {
  setLanguage("en");
  Object.assign(state, { layoutMode: "gallery", pinned: null, activeSpeaker: null, galleryPage: 0, showSelf: true });
  handlers.set("set_video_layer", () => null);
});

describe("a tile", () => {
  it("shows the name, the initial for a camera that is off, and a labelled mute icon", () => {
    const el = tileElement("7", "ann", false);
    expect(el.querySelector(".name")!.textContent).toBe("ann");
    expect(el.querySelector(".camera-off")!.textContent).toBe("A");
    const muted = el.querySelector(".muted-icon")!;
    expect(muted.getAttribute("role")).toBe("img");
    expect(muted.getAttribute("aria-label")).toBe("Microphone off");
    expect(muted.querySelector("svg")).not.toBeNull();
    const pin = el.querySelector<HTMLButtonElement>(".pin")!;
    expect(pin.getAttribute("aria-pressed")).toBe("false");
    expect(pin.title).toBe("Pin ann: shown large");
  });

  it("has no pin on one's own picture", () => {
    expect(tileElement("self", "me", true).querySelector(".pin")).toBeNull();
  });

  it("speaks the page's language", () => {
    setLanguage("zh-CN");
    const el = tileElement("8", "李雷", false);
    expect(el.querySelector(".camera-off")!.textContent).toBe("李");
    expect(el.querySelector(".muted-icon")!.getAttribute("aria-label")).toBe("麦克风已关闭");
    expect(el.querySelector(".pin")!.textContent).toBe("固定");
  });
});

describe("the grid", () => {
  it("pages a gallery of more than 25 and moves between pages", () => {
    meetingOf(30);
    const pager = document.getElementById("pager")!;
    expect(pager.hidden).toBe(false);
    expect(document.getElementById("page-label")!.textContent).toBe("Page 1 of 2");
    expect(tile("24").dataset.role).toBe("gallery");
    expect(tile("25").dataset.role).toBe("hidden");
    expect(grid().style.getPropertyValue("--cols")).toBe("5");
    document.getElementById("page-next")!.click();
    expect(document.getElementById("page-label")!.textContent).toBe("Page 2 of 2");
    expect(tile("25").dataset.role).toBe("gallery");
    expect(tile("1").dataset.role).toBe("hidden");
  });

  it("has no pager for a small meeting", () => {
    meetingOf(3);
    expect(document.getElementById("pager")!.hidden).toBe(true);
    expect(grid().style.getPropertyValue("--cols")).toBe("2");
  });

  it("shows a pinned tile large in the speaker view, and unpins back", () => {
    meetingOf(4);
    tile("3").querySelector<HTMLButtonElement>(".pin")!.click();
    expect(state.layoutMode).toBe("speaker");
    expect(grid().classList.contains("speaker-view")).toBe(true);
    expect(tile("3").dataset.role).toBe("main");
    expect(tile("1").dataset.role).toBe("strip");
    expect(tile("3").querySelector(".pin")!.getAttribute("aria-pressed")).toBe("true");
    expect(tile("3").querySelector(".pin")!.textContent).toBe("Unpin");
    expect(document.getElementById("layout-toggle")!.textContent).toBe("Gallery view");
    // Back to the gallery: the pin goes with it.
    toggleLayout();
    expect(state.pinned).toBeNull();
    expect(tile("3").dataset.role).toBe("gallery");
    expect(tile("3").querySelector(".pin")!.getAttribute("aria-pressed")).toBe("false");
  });

  it("leaves out the self-view when the user hides it", () => {
    meetingOf(2);
    const box = document.getElementById("show-self-view") as HTMLInputElement;
    box.checked = false;
    box.dispatchEvent(new Event("change"));
    expect(tile("self").dataset.role).toBe("hidden");
    box.checked = true;
    box.dispatchEvent(new Event("change"));
    expect(tile("self").dataset.role).toBe("gallery");
  });

  it("pins and unpins by the same button", () => {
    meetingOf(2);
    togglePin("2");
    togglePin("2");
    expect(state.pinned).toBeNull();
    expect(tile("2").querySelector(".pin")!.getAttribute("aria-pressed")).toBe("false");
  });
});
