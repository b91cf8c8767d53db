import { beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("@tauri-apps/api/core", async () => (await import("./fake_core")).tauriCore());

import { calls, handlers } from "./fake_core";
import type { HandView } from "../src/api";
import { setLanguage } from "../src/i18n";
import {
  REACTION_SHOWN_MS,
  loadHands,
  renderHands,
  resetHands,
  showReaction,
  toggleHand,
} from "../src/meeting/hands";
import { tileElement } from "../src/meeting/tiles";

const grid = () => document.getElementById("tiles")!;
const tile = (id: string) => grid().querySelector<HTMLElement>(`.tile[data-tile="${id}"]`)!;
const button = () => document.getElementById("hand-toggle") as HTMLButtonElement;
const queue = () => [...document.querySelectorAll("#hand-list li")].map((li) => li.textContent);
const toasts = () => [...document.getElementById("toasts")!.children].map((el) => el.textContent);
const hand = (display: string, feed: number | null, own = false): HandView => ({ display, feed, own });

beforeEach(() => {
  setLanguage("en");
  calls.length = 0;
  handlers.clear();
  document.getElementById("toasts")!.replaceChildren();
  grid().replaceChildren(tileElement("self", "Me (you)", true), tileElement("2", "Bob", false), tileElement("3", "Cat", false));
  resetHands();
});

describe("raised hands", () => {
  it("cannot be raised until the core says they can", () => {
    expect(button().disabled).toBe(true);
    expect((document.getElementById("reactions-toggle") as HTMLButtonElement).disabled).toBe(true);
    renderHands(true, false, [], null);
    expect(button().disabled).toBe(false);
    expect(button().getAttribute("aria-pressed")).toBe("false");
    expect(button().getAttribute("aria-label")).toBe("Raise hand");
  });

  it("are queued first raised first, in People and on each tile with its place", () => {
    renderHands(true, true, [hand("Cat", 3), hand("Me", 7, true), hand("Dan", null)], null);
    expect(queue()).toEqual(["Cat", "You", "Dan"]);
    expect(document.getElementById("hand-queue")!.hidden).toBe(false);
    expect(tile("3").querySelector(".hand")!.textContent).toBe("✋ 1");
    expect(tile("self").querySelector(".hand")!.getAttribute("aria-label")).toBe("Hand raised, number 2 in the queue");
    expect(tile("2").querySelector(".hand")).toBeNull();
    expect(button().getAttribute("aria-pressed")).toBe("true");
    expect(button().getAttribute("aria-label")).toBe("Lower hand");
    // Hands told on joining are not news.
    expect(toasts()).toEqual([]);
    renderHands(true, true, [hand("Me", 7, true), hand("Dan", null), hand("Bob", 2)], hand("Bob", 2));
    expect(toasts()).toEqual(["Bob raised their hand"]);
    expect(tile("3").querySelector(".hand")).toBeNull();
    expect(tile("2").querySelector(".hand")!.textContent).toBe("✋ 3");
    renderHands(true, false, [], null);
    expect(document.getElementById("hand-queue")!.hidden).toBe(true);
    expect(grid().querySelectorAll(".hand")).toHaveLength(0);
    // Up and down again at once: announced once in a while, not each time.
    renderHands(true, false, [hand("Bob", 2)], hand("Bob", 2));
    expect(toasts()).toHaveLength(1);
  });

  it("show our hand as we asked for it, even before the queue has it", () => {
    renderHands(true, true, [], null);
    expect(button().getAttribute("aria-pressed")).toBe("true");
    expect(button().getAttribute("aria-label")).toBe("Lower hand");
  });

  it("go to the core on the button, one press at a time, and say why when refused", async () => {
    renderHands(true, false, [], null);
    let answer: (() => void) | null = null;
    handlers.set("raise_hand", () => new Promise<void>((done) => (answer = done)));
    const first = toggleHand();
    await toggleHand();
    expect(calls.filter((c) => c.command === "raise_hand")).toEqual([{ command: "raise_hand", args: { up: true } }]);
    answer!();
    await first;
    handlers.set("raise_hand", () => {
      throw { kind: "connection", message: "raising a hand and reactions are still connecting" };
    });
    await toggleHand();
    expect(toasts()).toContain("raising a hand and reactions are still connecting");
  });

  it("from a snapshot do not undo what the core told since", () => {
    loadHands(true, false, [hand("Bob", 2)]);
    expect(queue()).toEqual(["Bob"]);
    renderHands(true, false, [], null);
    loadHands(true, false, [hand("Bob", 2)]);
    expect(queue()).toEqual([]);
  });
});

describe("reactions", () => {
  it("float over the sender's tile for a moment, are said to a screen reader, and are few at once", () => {
    vi.useFakeTimers();
    try {
      showReaction({ display: "Bob", feed: 2, emoji: "👏", own: false });
      expect(tile("2").querySelector(".reaction")!.textContent).toBe("👏");
      expect(document.getElementById("gestures-said")!.textContent).toBe("Bob reacted 👏");
      for (let i = 0; i < 5; i++) showReaction({ display: "Bob", feed: 2, emoji: "🎉", own: false });
      expect(tile("2").querySelectorAll(".reaction")).toHaveLength(3);
      showReaction({ display: "Me", feed: 7, emoji: "❤️", own: true });
      expect(tile("self").querySelector(".reaction")!.textContent).toBe("❤️");
      vi.advanceTimersByTime(REACTION_SHOWN_MS);
      expect(grid().querySelectorAll(".reaction")).toHaveLength(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("from someone without a tile are a notice", () => {
    showReaction({ display: "Listener", feed: null, emoji: "😂", own: false });
    expect(toasts()).toEqual(["Listener reacted 😂"]);
  });

  it("are offered as named buttons that send the one chosen", async () => {
    renderHands(true, false, [], null);
    handlers.set("send_reaction", () => null);
    document.getElementById("reactions-toggle")!.click();
    const menu = document.getElementById("reactions-menu")!;
    expect(menu.hidden).toBe(false);
    const choices = [...menu.querySelectorAll<HTMLButtonElement>("button")];
    expect(choices.map((b) => b.textContent)).toEqual(["👍", "👏", "😂", "❤️", "😮", "🎉"]);
    expect(choices[1].getAttribute("aria-label")).toBe("Clapping");
    choices[1].click();
    await new Promise((done) => setTimeout(done, 0));
    expect(calls).toContainEqual({ command: "send_reaction", args: { emoji: "👏" } });
  });

  it("are named in Chinese when the page speaks it", () => {
    setLanguage("zh-CN");
    renderHands(true, false, [hand("Bob", 2)], null);
    expect(button().getAttribute("aria-label")).toBe("举手");
    expect(tile("2").querySelector(".hand")!.getAttribute("aria-label")).toBe("已举手：第 1 位");
  });
});
