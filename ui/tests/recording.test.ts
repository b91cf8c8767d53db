import { beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("@tauri-apps/api/core", async () => (await import("./fake_core")).tauriCore());

import { calls, handlers } from "./fake_core";
import { setLanguage } from "../src/i18n";
import { loadRecorders, renderRecorders, renderRecording, resetRecording } from "../src/meeting/recording";
import { renderRecordings } from "../src/screens/data";

const banner = () => document.getElementById("recording-banner")!;
const bannerText = () => document.getElementById("recording-text")!.textContent;
const button = () => document.getElementById("record-toggle") as HTMLButtonElement;
const toasts = () => [...document.getElementById("toasts")!.children].map((el) => el.textContent);
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

beforeEach(() => {
  setLanguage("en");
  calls.length = 0;
  handlers.clear();
  document.getElementById("toasts")!.replaceChildren();
  resetRecording();
});

describe("recording the meeting", () => {
  it("starts from the button, shows that we record, and stops from the banner", async () => {
    expect(banner().hidden).toBe(true);
    let started: () => void = () => {};
    handlers.set("start_recording", () => new Promise((resolve) => (started = () => resolve("/v/m.webm"))));
    button().click();
    // A second press while the first is under way does nothing.
    expect(button().disabled).toBe(true);
    button().click();
    started();
    await settle();
    expect(calls.filter((c) => c.command === "start_recording")).toHaveLength(1);
    renderRecording(true, "/v/m.webm", null);
    expect(banner().hidden).toBe(false);
    expect(bannerText()).toBe("You are recording this meeting on this device. Everyone in it sees this.");
    expect(button().getAttribute("aria-pressed")).toBe("true");
    expect(button().textContent).toBe("Stop recording");
    expect(document.getElementById("recording-stop")!.hidden).toBe(false);
    handlers.set("stop_recording", () => undefined);
    document.getElementById("recording-stop")!.click();
    await settle();
    expect(calls.map((c) => c.command)).toContain("stop_recording");
    renderRecording(false, "/v/m.webm", null);
    expect(banner().hidden).toBe(true);
    expect(button().textContent).toBe("Record");
    expect(toasts()).toEqual(["Recording saved: /v/m.webm"]);
  });

  it("says why a recording could not start, and why one stopped on its own", async () => {
    handlers.set("start_recording", () => {
      throw { kind: "invalid", message: "cannot record into /ro: it cannot be written to" };
    });
    button().click();
    await settle();
    expect(toasts()).toEqual(["cannot record into /ro: it cannot be written to"]);
    expect(button().disabled).toBe(false);
    renderRecording(true, "/v/m.webm", null);
    renderRecording(false, "/v/m.webm", "the disk is full");
    expect(toasts()).toContain("The recording stopped: the disk is full");
  });

  it("shows everyone who else records, and a newcomer reads it from the snapshot", () => {
    renderRecorders(["Bea"], "Bea");
    expect(banner().hidden).toBe(false);
    expect(bannerText()).toBe("Bea is recording this meeting.");
    expect(document.getElementById("recording-stop")!.hidden).toBe(true);
    expect(toasts()).toEqual(["Bea started recording this meeting"]);
    renderRecording(true, "/v/m.webm", null);
    renderRecorders(["Bea", "Cal"], null);
    expect(bannerText()).toBe("You and Bea and Cal are recording this meeting.");
    // A snapshot asked for before these events does not undo them.
    loadRecorders([]);
    expect(bannerText()).toBe("You and Bea and Cal are recording this meeting.");
    resetRecording();
    loadRecorders(["Dee"]);
    expect(bannerText()).toBe("Dee is recording this meeting.");
    renderRecorders([], null);
    expect(banner().hidden).toBe(true);
  });
});

describe("recordings in Your data", () => {
  it("lists each with its length and size, opens it, and deletes it on a second press", async () => {
    document.getElementById("data-sections")!.replaceChildren();
    handlers.set("open_recording", () => undefined);
    handlers.set("delete_recording", () => undefined);
    handlers.set("personal_data", () => ({ settings: [], meetings: [], schedules: [], scans: [], consent: [], logs: [], backgrounds: [] }));
    handlers.set("recordings", () => []);
    renderRecordings([
      { id: 4, name: "a.webm", file: "/v/a.webm", room: 1234, startedAt: 1_796_679_605, durationMs: 65_000, bytes: 4_194_304 },
      { id: 5, name: "b.webm", file: "/v/b.webm", room: 1234, startedAt: 1_796_679_705, durationMs: null, bytes: null },
    ]);
    const rows = [...document.querySelectorAll<HTMLElement>('[data-section="recordings"] li')];
    expect(rows[0].textContent).toContain("a.webm: meeting 1234");
    expect(rows[0].textContent).toContain("1:05, 4 MB");
    expect(rows[1].textContent).toContain("(the file is no longer there)");
    expect(rows[1].querySelector<HTMLButtonElement>(".recording-open")!.disabled).toBe(true);
    rows[0].querySelector<HTMLButtonElement>(".recording-open")!.click();
    await settle();
    expect(calls.find((c) => c.command === "open_recording")?.args).toEqual({ id: 4 });
    const remove = rows[0].querySelector<HTMLButtonElement>(".recording-delete")!;
    remove.click();
    expect(calls.some((c) => c.command === "delete_recording")).toBe(false);
    expect(remove.textContent).toBe("Delete the file? Press again");
    remove.click();
    await settle();
    await settle();
    expect(calls.find((c) => c.command === "delete_recording")?.args).toEqual({ id: 4 });
    expect(document.getElementById("data-status")!.textContent).toBe("Recording deleted: a.webm");
  });
});
