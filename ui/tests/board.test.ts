import { beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("@tauri-apps/api/core", async () => (await import("./fake_core")).tauriCore());

import { calls, handlers } from "./fake_core";
import type { StrokeView } from "../src/api";
import { setLanguage } from "../src/i18n";
import { annotate, boardChanged, closeBoardOnEscape, resetBoard, screenGone } from "../src/meeting/board";
import { addPoint, i420ToRgba, MAX_POINTS, strokesAt } from "../src/meeting/board_draw";

const panel = () => document.getElementById("board-panel")!;
const canvas = () => document.getElementById("board-canvas") as HTMLCanvasElement;
const toggle = () => document.getElementById("board-toggle") as HTMLButtonElement;
const flush = () => new Promise((r) => setTimeout(r, 0));
const stroke = (id: string, tool: string, points: number[], width = 30, text = ""): StrokeView => ({
  id,
  by: "Ann",
  own: false,
  tool,
  color: "#ff0000",
  width,
  points,
  text,
});

/** A pointer event at (x, y) pixels of a 1000x500 canvas at the page's corner. */
function pointer(type: string, x: number, y: number): void {
  const ev = new MouseEvent(type, { clientX: x, clientY: y, button: 0, bubbles: true });
  canvas().dispatchEvent(ev);
}

beforeEach(() => {
  setLanguage("en");
  calls.length = 0;
  handlers.clear();
  handlers.set("board_strokes", () => ({ strokes: [], shownBy: null, shownByUs: false }));
  handlers.set("board_request", () => "ann/1");
  handlers.set("board_forget", () => null);
  handlers.set("next_frame", () => new ArrayBuffer(0));
  resetBoard();
  canvas().getBoundingClientRect = () => ({ left: 0, top: 0, width: 1000, height: 500, right: 1000, bottom: 500, x: 0, y: 0, toJSON: () => ({}) });
});

describe("the drawing's geometry", () => {
  it("thins a pen's points and stops at the most a stroke holds", () => {
    const points: number[] = [];
    addPoint(points, 100, 100);
    addPoint(points, 105, 105);
    addPoint(points, 200, 100);
    expect(points).toEqual([100, 100, 200, 100]);
    for (let i = 0; i < 3 * MAX_POINTS; i++) addPoint(points, (i * 37) % 10_000, (i * 91) % 10_000);
    expect(points.length).toBe(2 * MAX_POINTS);
    addPoint(points, -50, 20_000);
    expect(points.every((v) => v >= 0 && v <= 10_000)).toBe(true);
  });

  it("finds the strokes under the eraser, and only those", () => {
    const strokes = [
      stroke("a/1", "line", [1000, 5000, 9000, 5000]),
      stroke("a/2", "rectangle", [1000, 1000, 3000, 3000]),
      stroke("a/3", "text", [6000, 1000], 300, "hello"),
    ];
    expect(strokesAt(strokes, 5000, 5050, 80, 1)).toEqual(["a/1"]);
    expect(strokesAt(strokes, 5000, 5400, 80, 1)).toEqual([]);
    // A rectangle is its outline: not its inside.
    expect(strokesAt(strokes, 3000, 2000, 80, 1)).toEqual(["a/2"]);
    expect(strokesAt(strokes, 2000, 2000, 80, 1)).toEqual([]);
    expect(strokesAt(strokes, 6300, 1100, 80, 1)).toEqual(["a/3"]);
    // On a 16:9 board a text box 300 units high (of the width) reaches
    // 533 units down (of the height).
    expect(strokesAt(strokes, 6300, 1500, 40, 9 / 16)).toEqual(["a/3"]);
    expect(strokesAt(strokes, 6300, 1500, 40, 1)).toEqual([]);
  });

  it("turns a picture's planes into colours", () => {
    // 2x2: white luma, neutral chroma.
    const rgba = i420ToRgba(new Uint8Array([235, 235, 235, 235, 128, 128]), 2, 2);
    expect([...rgba.slice(0, 4)]).toEqual([255, 255, 255, 255]);
  });
});

describe("the whiteboard", () => {
  it("is shown to everyone by whoever opens it, and opens for the others", async () => {
    toggle().click();
    await flush();
    expect(calls.at(-1)).toEqual({ command: "board_request", args: { request: { kind: "show", shown: true } } });
    // Not open until the server relays it.
    expect(panel().hidden).toBe(true);
    boardChanged({ kind: "shown", by: "Ann", own: false });
    await flush();
    expect(panel().hidden).toBe(false);
    expect(calls.some((c) => c.command === "board_strokes")).toBe(true);
    boardChanged({ kind: "shown", by: null, own: false });
    expect(panel().hidden).toBe(true);
  });

  it("sends a pen stroke when the pen lifts, in units of the board", async () => {
    boardChanged({ kind: "shown", by: "Me", own: true });
    await flush();
    pointer("pointerdown", 100, 250);
    pointer("pointermove", 500, 250);
    pointer("pointermove", 900, 250);
    pointer("pointerup", 900, 250);
    await flush();
    const sent = calls.filter((c) => c.command === "board_request").at(-1)!.args!.request as Record<string, unknown>;
    expect(sent).toMatchObject({ kind: "draw", screen: null, tool: "pen", points: [1000, 5000, 5000, 5000, 9000, 5000] });
    // The eraser sends the strokes it crossed.
    boardChanged({ kind: "drawn", screen: null, stroke: stroke("ann/1", "pen", [1000, 5000, 5000, 5000, 9000, 5000]) });
    document.querySelector<HTMLButtonElement>('#board-tools button[data-tool="eraser"]')!.click();
    pointer("pointerdown", 500, 250);
    pointer("pointerup", 500, 250);
    await flush();
    expect(calls.at(-1)!.args).toEqual({ request: { kind: "erase", screen: null, ids: ["ann/1"] } });
    // Esc closes the panel before it would mean "leave".
    expect(closeBoardOnEscape()).toBe(true);
    expect(panel().hidden).toBe(true);
    expect(closeBoardOnEscape()).toBe(false);
  });

  it("annotates a shared screen until the share ends", async () => {
    annotate(77, "Bob");
    await flush();
    expect(panel().hidden).toBe(false);
    expect(document.getElementById("board-title")!.textContent).toBe("Annotating Bob's screen");
    expect(calls.some((c) => c.command === "board_strokes" && c.args?.screen === 77)).toBe(true);
    screenGone(77);
    await flush();
    expect(panel().hidden).toBe(true);
    expect(calls.at(-1)).toEqual({ command: "board_forget", args: { screen: 77 } });
  });
});
