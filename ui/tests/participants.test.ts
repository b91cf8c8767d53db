import { beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("@tauri-apps/api/core", async () => (await import("./fake_core")).tauriCore());
// Drawing video needs a webview's canvas and decoder: not these tests'.
vi.mock("../src/video", () => ({ attachLoop: vi.fn(), stopLoops: vi.fn() }));

import { handlers } from "./fake_core";
import type { ParticipantView } from "../src/api";
import { setLanguage } from "../src/i18n";
import { state } from "../src/state";
import { removeParticipant, renderParticipant, resetMeeting } from "../src/meeting/participants";

const person = (id: number, display: string, over: Partial<ParticipantView> = {}): ParticipantView =>
  ({ id, display, audioMuted: false, videoMuted: false, hasAudio: true, hasVideo: true, screen: false, ...over }) as ParticipantView;

const tile = (id: number) => document.querySelector<HTMLElement>(`#tiles .tile[data-tile="${id}"]`);
const listed = () => [...document.querySelectorAll("#participant-list li")].map((li) => li.textContent ?? "");

beforeEach(() => {
  setLanguage("en");
  handlers.set("set_video_layer", () => null);
  (document.getElementById("display-name") as HTMLInputElement).value = "Winnie";
  document.getElementById("toasts")!.replaceChildren();
  resetMeeting();
  state.screen = "meeting";
});

describe("participants", () => {
  it("each get a tile and a line in People, with what they have turned off", () => {
    renderParticipant(person(11, "Ann"));
    renderParticipant(person(12, "Bob", { audioMuted: true, videoMuted: true }));
    expect(tile(11)!.classList.contains("video-muted")).toBe(false);
    // Camera off: the tile shows the initial, not a black picture.
    expect(tile(12)!.classList.contains("video-muted")).toBe(true);
    expect(tile(12)!.classList.contains("audio-muted")).toBe(true);
    expect(listed()[0]).toBe("Winnie (you)");
    expect(listed()[1]).toContain("Ann");
    expect(listed()[2]).toContain("Bob · muted, camera off");
  });

  it("change in place: a new name or mute state, not a second tile", () => {
    renderParticipant(person(11, "Ann"));
    renderParticipant(person(11, "Ann B.", { audioMuted: true }));
    expect(document.querySelectorAll('#tiles .tile[data-tile="11"]')).toHaveLength(1);
    expect(tile(11)!.querySelector(".name")!.textContent).toBe("Ann B.");
    expect(tile(11)!.classList.contains("audio-muted")).toBe(true);
  });

  it("leave: the tile goes, the pin with it, and everyone is told", () => {
    renderParticipant(person(11, "Ann"));
    state.pinned = "11";
    removeParticipant(11);
    expect(tile(11)).toBeNull();
    expect(state.pinned).toBeNull();
    expect(document.getElementById("toasts")!.textContent).toContain("Ann left");
    expect(listed()).toEqual(["Winnie (you)"]);
  });

  it("sharing a screen: shown large as their screen, not a second person, and back after", () => {
    state.layoutMode = "gallery";
    renderParticipant(person(11, "Ann"));
    renderParticipant(person(21, "Ann", { screen: true, hasAudio: false }));
    expect(tile(21)!.querySelector(".name")!.textContent).toBe("Ann's screen");
    expect(tile(21)!.classList.contains("shared-screen")).toBe(true);
    expect(state.layoutMode).toBe("speaker");
    expect(tile(21)!.dataset.role).toBe("main");
    expect(listed()).toEqual(["Winnie (you)", "Ann"]);
    expect(document.getElementById("participants-toggle")!.textContent).toBe("People (2)");
    removeParticipant(21);
    expect(state.layoutMode).toBe("gallery");
    expect(document.getElementById("toasts")!.textContent).toContain("Ann stopped sharing their screen");
    expect(document.getElementById("toasts")!.textContent).not.toContain("Ann left");
  });

  it("are said in the page's language", () => {
    setLanguage("zh-CN");
    resetMeeting();
    renderParticipant(person(12, "Bob", { audioMuted: true }));
    expect(listed()[0]).toBe("Winnie（我）");
    expect(listed()[1]).toContain("Bob · 已静音");
    removeParticipant(12);
    expect(document.getElementById("toasts")!.textContent).toContain("Bob 离开了会议");
  });
});

describe("the host's controls", () => {
  const asked: unknown[] = [];
  beforeEach(() => {
    asked.length = 0;
    handlers.set("host_action", (args) => {
      asked.push((args as { action: unknown }).action);
      return null;
    });
  });

  const button = (id: number, action: string) =>
    document.querySelector<HTMLButtonElement>(`#participant-list li[data-participant="${id}"] button[data-host="${action}"]`);

  it("are offered only to the meeting's host, on people, not on shared screens", () => {
    state.host = false;
    renderParticipant(person(12, "Bob"));
    expect(button(12, "mute")).toBeNull();
    state.host = true;
    renderParticipant(person(12, "Bob"));
    renderParticipant(person(13, "Bob", { screen: true }));
    expect(button(12, "mute")).not.toBeNull();
    expect(button(13, "mute")).toBeNull();
    expect(button(12, "mute")!.getAttribute("aria-label")).toBe("Mute Bob");
  });

  it("mute, then ask to unmute once the host holds it; a removal needs a second press", async () => {
    state.host = true;
    renderParticipant(person(12, "Bob"));
    button(12, "mute")!.click();
    await vi.waitFor(() => expect(asked).toEqual([{ action: "mute", participant: 12 }]));
    renderParticipant(person(12, "Bob", { audioHeld: true, audioMuted: true }));
    expect(listed()[1]).toContain("Bob · microphone off (host)");
    button(12, "askUnmute")!.click();
    await vi.waitFor(() => expect(asked).toHaveLength(2));
    expect(asked[1]).toEqual({ action: "askUnmute", participant: 12 });
    const remove = button(12, "remove")!;
    remove.click();
    expect(remove.textContent).toBe("Remove Bob from the meeting?");
    expect(asked).toHaveLength(2);
    remove.click();
    await vi.waitFor(() => expect(asked).toHaveLength(3));
    expect(asked[2]).toEqual({ action: "remove", participant: 12 });
    state.host = false;
  });
});
