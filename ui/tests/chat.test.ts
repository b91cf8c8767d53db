import { beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("@tauri-apps/api/core", async () => (await import("./fake_core")).tauriCore());

import { calls, handlers } from "./fake_core";
import type { ChatMessageView } from "../src/api";
import { setLanguage } from "../src/i18n";
import {
  addChatMessage,
  chatNotSent,
  loadChat,
  renderChatPeople,
  renderChatState,
  resetChat,
} from "../src/meeting/chat";

const message = (id: number, over: Partial<ChatMessageView> = {}): ChatMessageView => ({
  id,
  from: "u2:Bob",
  display: "Bob",
  text: "hello",
  private: false,
  to: null,
  own: false,
  at: null,
  cut: false,
  history: false,
  notSent: null,
  ...over,
});

const log = () => document.getElementById("chat-log")!;
const lines = () => [...log().querySelectorAll("li")].map((li) => li.textContent ?? "");
const badge = () => document.getElementById("chat-unread")!;
const input = () => document.getElementById("chat-input") as HTMLTextAreaElement;
const settle = () => new Promise((done) => setTimeout(done, 0));

beforeEach(() => {
  setLanguage("en");
  calls.length = 0;
  handlers.clear();
  document.getElementById("toasts")!.replaceChildren();
  resetChat();
  renderChatState("ready", null);
});

describe("the chat panel", () => {
  it("shows each message once, as text, and who it was for", () => {
    addChatMessage(message(1, { text: "<img src=x onerror=alert(1)> 大家好 👋 שלום" }));
    addChatMessage(message(1));
    addChatMessage(message(2, { own: true, private: true, to: "Ann", display: "Me", text: "psst" }));
    addChatMessage(message(3, { private: true, text: "only you" }));
    expect(log().querySelectorAll("li")).toHaveLength(3);
    expect(log().querySelector("img")).toBeNull();
    expect(lines()[0]).toContain("<img src=x onerror=alert(1)> 大家好 👋 שלום");
    expect(lines()[1]).toContain("You to Ann only");
    expect(lines()[2]).toContain("Bob to you only");
    expect(log().getAttribute("role")).toBe("log");
  });

  it("counts what arrives while it is closed, and clears the count when opened", () => {
    addChatMessage(message(1));
    addChatMessage(message(2));
    // Our own messages are not news.
    addChatMessage(message(3, { own: true }));
    expect(badge().hidden).toBe(false);
    expect(badge().textContent).toBe("2");
    expect(badge().getAttribute("aria-label")).toBe("2 unread");
    expect(document.getElementById("toasts")!.textContent).toContain("Bob: hello");
    document.getElementById("chat-toggle")!.click();
    expect(document.getElementById("chat")!.hidden).toBe(false);
    expect(badge().hidden).toBe(true);
    addChatMessage(message(4));
    expect(badge().hidden).toBe(true);
  });

  it("opens web links only when clicked, and only through the core", async () => {
    handlers.set("open_web_link", () => null);
    addChatMessage(message(1, { text: "see https://example.org/a?b=1. and javascript:alert(1) or http://x.test)" }));
    const links = [...log().querySelectorAll("a")];
    expect(links.map((a) => a.textContent)).toEqual(["https://example.org/a?b=1", "http://x.test"]);
    expect(calls.filter((c) => c.command === "open_web_link")).toHaveLength(0);
    const click = new MouseEvent("click", { bubbles: true, cancelable: true });
    links[0].dispatchEvent(click);
    expect(click.defaultPrevented).toBe(true);
    await settle();
    expect(calls.filter((c) => c.command === "open_web_link").map((c) => c.args)).toEqual([{ url: "https://example.org/a?b=1" }]);
  });

  it("sends to everyone or to one person, and keeps the text when it cannot", async () => {
    renderChatPeople([{ username: "u2:Bob", display: "Bob" }]);
    handlers.set("send_chat", (args) => message(7, { own: true, text: String(args?.text), to: args?.to ? "Bob" : null, private: !!args?.to }));
    input().value = "to all";
    input().dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    await settle();
    expect(calls.at(-1)).toEqual({ command: "send_chat", args: { text: "to all", to: null } });
    expect(input().value).toBe("");

    const to = document.getElementById("chat-to") as HTMLSelectElement;
    to.value = "u2:Bob";
    to.dispatchEvent(new Event("change"));
    expect(input().placeholder).toBe("Message Bob only");
    input().value = "line one";
    // Shift+Enter is a new line, not a send.
    input().dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", shiftKey: true }));
    await settle();
    expect(calls.filter((c) => c.command === "send_chat")).toHaveLength(1);
    (document.getElementById("chat-form") as HTMLFormElement).requestSubmit();
    await settle();
    expect(calls.at(-1)).toEqual({ command: "send_chat", args: { text: "line one", to: "u2:Bob" } });

    handlers.set("send_chat", () => {
      throw { kind: "invalid", message: "a chat message is at most 4000 characters", chinese: "聊天消息最多 4000 个字符" };
    });
    input().value = "too long";
    (document.getElementById("chat-form") as HTMLFormElement).requestSubmit();
    await settle();
    expect(document.getElementById("chat-error")!.textContent).toContain("at most 4000 characters");
    expect(input().value).toBe("too long");
    // Cleared while it goes: what is typed meanwhile is not lost.
    handlers.set("send_chat", () => new Promise((done) => setTimeout(() => done(message(8, { own: true })), 5)));
    input().value = "first";
    (document.getElementById("chat-form") as HTMLFormElement).requestSubmit();
    expect(input().value).toBe("");
    input().value = "second";
    await new Promise((done) => setTimeout(done, 20));
    expect(input().value).toBe("second");
  });

  it("writes to everyone again when the person chosen leaves", () => {
    renderChatPeople([{ username: "u2:Bob", display: "Bob" }]);
    const to = document.getElementById("chat-to") as HTMLSelectElement;
    to.value = "u2:Bob";
    renderChatPeople([]);
    expect(to.value).toBe("");
    expect([...to.options].map((o) => o.textContent)).toEqual(["Everyone"]);
  });

  it("says when the chat is connecting or unavailable, and marks what was not sent", () => {
    renderChatState("connecting", null);
    expect(document.getElementById("chat-status")!.textContent).toBe("Connecting the chat…");
    expect((document.getElementById("chat-send") as HTMLButtonElement).disabled).toBe(true);
    renderChatState("unavailable", "the meeting's chat was closed");
    expect(document.getElementById("chat-status")!.textContent).toBe("The chat is not available: the meeting's chat was closed");
    addChatMessage(message(5, { own: true }));
    chatNotSent(5, "Not in room");
    expect(log().querySelector('[data-message="5"]')!.classList.contains("not-sent")).toBe(true);
  });

  it("shows what was said before the panel loaded", async () => {
    handlers.set("chat_snapshot", () => ({
      state: "ready",
      reason: null,
      messages: [message(1, { text: "earlier" })],
      people: [{ username: "u3:Cat", display: "Cat" }],
      handsReady: true,
      handUp: false,
      hands: [],
      files: [],
    }));
    await loadChat();
    expect(lines()[0]).toContain("earlier");
    expect([...(document.getElementById("chat-to") as HTMLSelectElement).options].map((o) => o.textContent)).toEqual(["Everyone", "Cat"]);
  });

  it("does not count the meeting's history as news, nor what a reload shows again", async () => {
    addChatMessage(message(1, { history: true, text: "before you came" }));
    expect(badge().hidden).toBe(true);
    handlers.set("chat_snapshot", () => ({ state: "ready", reason: null, messages: [message(2), message(3)], people: [], handsReady: true, handUp: false, hands: [], files: [] }));
    await loadChat();
    expect(badge().hidden).toBe(true);
    expect(document.getElementById("toasts")!.children).toHaveLength(0);
  });

  it("keeps the core's order and newer news over an older snapshot", async () => {
    addChatMessage(message(5, { text: "five" }));
    renderChatState("ready", null);
    renderChatPeople([{ username: "u2:Bob", display: "Bob" }]);
    handlers.set("chat_snapshot", () => ({
      state: "connecting",
      reason: null,
      messages: [message(3, { text: "three" }), message(5, { text: "five" })],
      people: [],
      handsReady: false,
      handUp: false,
      hands: [],
      files: [],
    }));
    await loadChat();
    expect(lines().map((l) => l.split("\n")[1])).toEqual(["three", "five"]);
    expect((document.getElementById("chat-send") as HTMLButtonElement).disabled).toBe(false);
    expect((document.getElementById("chat-to") as HTMLSelectElement).options).toHaveLength(2);
  });

  it("marks a message not sent even when that news comes before the message", () => {
    chatNotSent(9, "the server did not confirm the message");
    addChatMessage(message(9, { own: true }));
    expect(log().querySelector('[data-message="9"]')!.classList.contains("not-sent")).toBe(true);
    addChatMessage(message(10, { own: true, notSent: "Bob is no longer in the meeting" }));
    expect(lines()[1]).toContain("Not sent: Bob is no longer in the meeting");
  });

  it("holds at most a thousand messages and one notice at a time", () => {
    for (let id = 1; id <= 1005; id++) addChatMessage(message(id, { text: `m${id}` }));
    expect(log().children).toHaveLength(1000);
    expect(log().firstElementChild!.getAttribute("data-message")).toBe("6");
    expect(document.getElementById("toasts")!.children).toHaveLength(1);
    expect(badge().textContent).toBe("1005");
  });

  it("speaks Chinese", () => {
    setLanguage("zh-CN");
    resetChat();
    renderChatPeople([]);
    addChatMessage(message(1, { private: true }));
    expect(lines()[0]).toContain("只发给我");
    expect(input().placeholder).toBe("发消息给所有人");
  });
});
