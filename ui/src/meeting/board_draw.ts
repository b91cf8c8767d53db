// Drawing the whiteboard's strokes on a canvas, and what the pointer means
// on it: the same geometry as the core's saved picture
// (crates/meeting/src/board/picture.rs), in UNITS of the surface.

import type { StrokeView } from "../api";

/** A surface's width and height in stroke coordinates (the core's `UNITS`). */
export const UNITS = 10_000;
/** Points in one stroke (the core's `MAX_POINTS`). */
export const MAX_POINTS = 2_000;
/** A pen point closer than this to the last one kept adds nothing. */
const MIN_STEP = 15;
const HIGHLIGHTER_ALPHA = 0.35;

export type Tool = "pen" | "highlighter" | "line" | "arrow" | "rectangle" | "ellipse" | "text";

/** A stroke being drawn, before the core has relayed it. */
export interface Draft {
  tool: Tool;
  color: string;
  width: number;
  points: number[];
  text: string;
}

/** Adds a pen point, unless it is too close to the last (or the stroke is full). */
export function addPoint(points: number[], x: number, y: number): void {
  const n = points.length;
  if (n >= 2 * MAX_POINTS) return;
  if (n >= 2 && Math.hypot(points[n - 2] - x, points[n - 1] - y) < MIN_STEP) return;
  points.push(clampUnit(x), clampUnit(y));
}

export function clampUnit(v: number): number {
  return Math.max(0, Math.min(UNITS, Math.round(v)));
}

function segments(tool: Tool, p: [number, number][], r: number, width: number): [number, number][][] {
  switch (tool) {
    case "pen":
    case "highlighter":
      return p.length === 1 ? [[p[0], p[0]]] : p.slice(1).map((q, i) => [p[i], q]);
    case "line":
      return [[p[0], p[1]]];
    case "arrow": {
      const [a, b] = p;
      const len = Math.max(1, Math.hypot(b[0] - a[0], b[1] - a[1]));
      const head = Math.min(Math.max(width * 0.02, r * 4), len * 0.6);
      const [ux, uy] = [(b[0] - a[0]) / len, (b[1] - a[1]) / len];
      const [c, s] = [0.906, 0.423];
      const left: [number, number] = [b[0] - head * (ux * c - uy * s), b[1] - head * (uy * c + ux * s)];
      const right: [number, number] = [b[0] - head * (ux * c + uy * s), b[1] - head * (uy * c - ux * s)];
      return [[a, b], [b, left], [b, right]];
    }
    case "rectangle": {
      const [a, b] = p;
      const c: [number, number][] = [a, [b[0], a[1]], b, [a[0], b[1]]];
      return c.map((q, i) => [q, c[(i + 1) % 4]]);
    }
    case "ellipse": {
      const [a, b] = p;
      const [cx, cy, rx, ry] = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2, Math.abs(b[0] - a[0]) / 2, Math.abs(b[1] - a[1]) / 2];
      const at = (i: number): [number, number] => {
        const t = (i / 96) * Math.PI * 2;
        return [cx + rx * Math.cos(t), cy + ry * Math.sin(t)];
      };
      return Array.from({ length: 96 }, (_, i) => [at(i), at(i + 1)]);
    }
    case "text":
      return [];
  }
}

function pixels(points: number[], w: number, h: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i + 1 < points.length; i += 2) out.push([(points[i] * w) / UNITS, (points[i + 1] * h) / UNITS]);
  return out;
}

/** Draws one stroke on a canvas of `w`x`h` pixels. */
export function drawStroke(g: CanvasRenderingContext2D, s: Draft | StrokeView, w: number, h: number): void {
  const tool = s.tool as Tool;
  const size = Math.max(1, (s.width * w) / UNITS);
  const p = pixels(s.points, w, h);
  if (p.length === 0) return;
  g.save();
  g.fillStyle = g.strokeStyle = s.color;
  if (tool === "text") {
    g.font = `${size}px sans-serif`;
    g.textBaseline = "top";
    g.fillText(s.text, p[0][0], p[0][1]);
    g.restore();
    return;
  }
  g.globalAlpha = tool === "highlighter" ? HIGHLIGHTER_ALPHA : 1;
  g.lineWidth = size;
  g.lineCap = g.lineJoin = "round";
  g.beginPath();
  for (const [a, b] of segments(tool, p, size / 2, w)) {
    g.moveTo(a[0], a[1]);
    g.lineTo(b[0], b[1]);
  }
  g.stroke();
  g.restore();
}

function distanceToSegment(x: number, y: number, a: [number, number], b: [number, number]): number {
  const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
  const len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? Math.max(0, Math.min(1, ((x - a[0]) * dx + (y - a[1]) * dy) / len2)) : 0;
  return Math.hypot(a[0] + t * dx - x, a[1] + t * dy - y);
}

/**
 * The strokes the eraser at (x, y) touches, in units, `reach` around it
 * (a text box by its rough box: the height it was given, half that a
 * letter). `aspect` is the surface's height over its width: distances are
 * measured in units of the width, as line widths are.
 */
export function strokesAt(strokes: StrokeView[], x: number, y: number, reach: number, aspect: number): string[] {
  const hit: string[] = [];
  y *= aspect;
  for (const s of strokes) {
    const p = pixels(s.points, UNITS, UNITS * aspect);
    if (s.tool === "text") {
      const [tx, ty] = p[0];
      const wide = (s.width / 2) * [...s.text].length;
      if (x >= tx - reach && x <= tx + wide + reach && y >= ty - reach && y <= ty + s.width + reach) hit.push(s.id);
      continue;
    }
    const near = segments(s.tool as Tool, p, s.width / 2, UNITS).some(
      ([a, b]) => distanceToSegment(x, y, a, b) <= s.width / 2 + reach,
    );
    if (near) hit.push(s.id);
  }
  return hit;
}

/** A picture of I420 planes (after the 24-byte header) as RGBA, for a canvas. */
export function i420ToRgba(planes: Uint8Array, width: number, height: number): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(width * height * 4);
  const cw = (width + 1) >> 1;
  const uAt = width * height;
  const vAt = uAt + cw * ((height + 1) >> 1);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = (y >> 1) * cw + (x >> 1);
      const l = 1.164 * (planes[y * width + x] - 16);
      const u = planes[uAt + c] - 128;
      const v = planes[vAt + c] - 128;
      const o = (y * width + x) * 4;
      out[o] = l + 1.596 * v;
      out[o + 1] = l - 0.392 * u - 0.813 * v;
      out[o + 2] = l + 2.017 * u;
      out[o + 3] = 255;
    }
  }
  return out;
}
