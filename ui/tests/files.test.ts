import { beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("@tauri-apps/api/core", async () => (await import("./fake_core")).tauriCore());

import { calls, handlers } from "./fake_core";
import type { FileView } from "../src/api";
import { setLanguage } from "../src/i18n";
import { renderChatState, resetChat } from "../src/meeting/chat";
import { MAX_FILE_BYTES, loadFiles, renderFile, sizeText } from "../src/meeting/files";

const file = (over: Partial<FileView> = {}): FileView => ({
  id: "f1",
  display: "Bob",
  name: "notes <b>1</b>.pdf",
  size: 12_345,
  private: false,
  own: false,
  state: "offered",
  received: 0,
  savedAs: null,
  error: null,
  deliveredTo: 0,
  ...over,
});
const line = (id = "f1") => document.querySelector<HTMLElement>(`#chat-log li[data-file="${id}"]`)!;
const badge = () => document.getElementById("chat-unread")!;
const settle = () => new Promise((done) => setTimeout(done, 0));

beforeEach(() => {
  setLanguage("en");
  calls.length = 0;
  handlers.clear();
  document.getElementById("toasts")!.replaceChildren();
  resetChat();
  renderChatState("ready", null);
});

describe("a file in the chat", () => {
  it("shows who shared it, its name as text and its size, and counts as news", () => {
    renderFile(file());
    expect(line().textContent).toContain("Bob");
    expect(line().textContent).toContain("notes <b>1</b>.pdf (12.3 KB)");
    expect(line().querySelector("b")).toBeNull();
    expect(badge().textContent).toBe("1");
    // Told again (progress): updated in place, not news again.
    renderFile(file({ state: "receiving", received: 6_000 }));
    expect(document.querySelectorAll("#chat-log li.file")).toHaveLength(1);
    expect(line().textContent).toContain("Receiving… 48%");
    expect(badge().textContent).toBe("1");
  });

  it("is saved on a click, and says where, or why not", async () => {
    renderFile(file());
    handlers.set("save_shared_file", () => file({ state: "receiving" }));
    line().querySelector<HTMLButtonElement>(".file-save")!.click();
    await settle();
    expect(calls).toContainEqual({ command: "save_shared_file", args: { id: "f1" } });
    expect(line().querySelector<HTMLButtonElement>(".file-save")!.hidden).toBe(true);
    renderFile(file({ state: "saved", savedAs: "/home/kim/Downloads/notes 1.pdf" }));
    expect(line().textContent).toContain("Saved as /home/kim/Downloads/notes 1.pdf");
    renderFile(file({ id: "f2", state: "failed", error: "the person sharing the file left before it arrived" }));
    expect(line("f2").textContent).toContain("Not received: the person sharing the file left");
    expect(line("f2").querySelector<HTMLButtonElement>(".file-save")!.hidden, "can be asked for again").toBe(false);
  });

  it("never goes back to an earlier state, but can be tried again after a failure", () => {
    renderFile(file({ state: "saved", savedAs: "/d/notes.pdf" }));
    renderFile(file({ state: "receiving", received: 10 }));
    expect(line().textContent).toContain("Saved as /d/notes.pdf");
    renderFile(file({ id: "f3", state: "failed", error: "stopped" }));
    renderFile(file({ id: "f3", state: "receiving", received: 0 }));
    expect(line("f3").textContent).toContain("Receiving… 0%");
  });

  it("is updated in place, so the focus stays where it was", () => {
    renderFile(file());
    const save = line().querySelector<HTMLButtonElement>(".file-save")!;
    save.focus();
    renderFile(file({ state: "failed", error: "stopped" }));
    expect(document.activeElement).toBe(save);
  });

  it("of ours says to whom and how many received it, and has nothing to save", () => {
    renderFile(file({ own: true, private: true, display: "Ann", deliveredTo: 1 }), false);
    expect(line().textContent).toContain("You to Ann only");
    expect(line().textContent).toContain("Received by 1");
    expect(line().querySelector(".file-save")).toBeNull();
    expect(badge().hidden).toBe(true);
    // The button that picks one is a button: reachable by keyboard.
    expect(document.getElementById("chat-attach")!.tagName).toBe("BUTTON");
  });

  it("from before the panel opened is not news", () => {
    loadFiles([file(), file({ id: "f2" })]);
    expect(document.querySelectorAll("#chat-log li.file")).toHaveLength(2);
    expect(badge().hidden).toBe(true);
  });

  it("over the limit is refused before it crosses to the core", async () => {
    const input = document.getElementById("chat-file") as HTMLInputElement;
    const big = { name: "big.iso", size: MAX_FILE_BYTES + 1, arrayBuffer: async () => new ArrayBuffer(0) };
    Object.defineProperty(input, "files", { value: [big], configurable: true });
    input.dispatchEvent(new Event("change"));
    await settle();
    expect(calls.filter((c) => c.command === "share_file")).toHaveLength(0);
    expect(document.getElementById("chat-error")!.textContent).toContain("at most 16 MiB");
  });

  it("sizes read as people read them", () => {
    expect(sizeText(999)).toBe("999 B");
    expect(sizeText(12_345)).toBe("12.3 KB");
    expect(sizeText(1_234_567)).toBe("1.2 MB");
  });
});
