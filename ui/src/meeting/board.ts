// The whiteboard and annotation: a panel over the meeting's tiles with
// the tools, the colours and the line widths, a canvas to draw on, Undo,
// Clear, and Save picture (made by the core, kept on this device). The
// blank board is shown to everyone by whoever opens it; a shared screen
// is annotated by anyone watching it, over a picture of the screen.
//
// A stroke is sent when the pen lifts and is drawn for good once the core
// says the server relayed it (in the same order for everyone); until then
// it is drawn from here, so the pen never lags.

import { api, type BoardChange, type StrokeView } from "../api";
import { $, messageOf, toast } from "../dom";
import { HEADER_BYTES, parseHeader } from "../frames";
import { t, type MessageKey } from "../i18n";
import { addPoint, clampUnit, drawStroke, i420ToRgba, strokesAt, UNITS, type Draft, type Tool } from "./board_draw";

type Pick = Tool | "eraser";
const TOOLS: [Pick, MessageKey, string][] = [
  ["pen", "board.pen", "✏️"],
  ["highlighter", "board.highlighter", "🖍️"],
  ["line", "board.line", "╱"],
  ["arrow", "board.arrow", "↗"],
  ["rectangle", "board.rectangle", "▭"],
  ["ellipse", "board.ellipse", "◯"],
  ["text", "board.text", "T"],
  ["eraser", "board.eraser", "⌫"],
];
const COLORS: [string, MessageKey][] = [
  ["#e01b24", "board.red"],
  ["#1c71d8", "board.blue"],
  ["#2ec27e", "board.green"],
  ["#f5c211", "board.yellow"],
  ["#000000", "board.black"],
  ["#ffffff", "board.white"],
];
/** Line widths in units of the surface's width; text is set larger. */
const WIDTHS: Record<string, number> = { thin: 12, medium: 30, thick: 80 };
const TEXT_HEIGHT = 300;
/** How near the eraser must come to a stroke, in units. */
const ERASER_REACH = 80;
/** A picture of the shared screen under its annotation, this often. */
const SCREEN_PICTURE_EVERY_MS = 1000;
/** An own stroke the server never relayed stops being drawn after this. */
const PENDING_FOR_MS = 5000;
/** The board's shape when it is not a screen's. */
const BOARD_ASPECT = 16 / 9;

/** The surface on the panel: the whiteboard (screen null) or a screen. */
interface Open {
  screen: number | null;
  name: string;
}

let shownBy: string | null = null;
let shownByUs = false;
let open: Open | null = null;
/** Strokes by surface ("board", or the screen's feed). */
const surfaces = new Map<string, StrokeView[]>();
/** Our strokes sent and not yet relayed, by id. */
const pending = new Map<string, { key: string; draft: Draft; at: number }>();
/** Ids of ours the server relayed: a reply that comes after is not pending. */
const relayed = new Set<string>();
let pick: Pick = "pen";
let color = COLORS[0][0];
let width = WIDTHS.medium;
let draft: Draft | null = null;
let erasing: Set<string> | null = null;
let textAt: [number, number] | null = null;
let picture: ImageBitmap | null = null;
let pictureSeq = 0;
let pictureTimer = 0;

const key = (screen: number | null): string => (screen === null ? "board" : String(screen));
const canvas = (): HTMLCanvasElement => $<HTMLCanvasElement>("board-canvas");

/** A new meeting: nothing drawn, nothing shown. */
export function resetBoard(): void {
  shownBy = null;
  shownByUs = false;
  surfaces.clear();
  pending.clear();
  relayed.clear();
  pick = "pen";
  // Nothing said of a meeting before (in the language it was said in).
  say("");
  close();
  renderToggle();
}

function renderToggle(): void {
  const button = $("board-toggle");
  button.setAttribute("aria-pressed", String(open?.screen === null));
  button.textContent = t(shownByUs ? "board.stop" : "board.toggle");
}

function say(text: string): void {
  $("board-said").textContent = text;
}

/** Opens the panel on a surface, its strokes asked of the core. */
async function openOn(surface: Open): Promise<void> {
  open = surface;
  draft = null;
  erasing = null;
  picture = null;
  pictureSeq = 0;
  window.clearInterval(pictureTimer);
  // Labelled in the language in force.
  buildToolbar();
  $("board-panel").hidden = false;
  $("board-title").textContent =
    surface.screen === null ? t("board.title") : t("board.annotating", { name: surface.name });
  $("board-stop").hidden = !(surface.screen === null && shownByUs);
  renderToggle();
  if (surface.screen !== null) {
    const screen = surface.screen;
    const fetchPicture = () => void screenPicture(screen);
    fetchPicture();
    pictureTimer = window.setInterval(fetchPicture, SCREEN_PICTURE_EVERY_MS);
  }
  sizeCanvas();
  canvas().focus();
  // What changes while the snapshot is on its way is applied again over
  // it: the snapshot may be older than those changes, and applying one
  // twice changes nothing (a stroke is kept once by its id).
  const asked: StrokeChange[] = [];
  since = asked;
  try {
    const snapshot = await api.boardStrokes(surface.screen);
    if (since !== asked) return;
    surfaces.set(key(surface.screen), snapshot.strokes);
    for (const change of asked) applyChange(change);
    redraw();
  } catch (e) {
    toast(messageOf(e), "error");
  } finally {
    if (since === asked) since = null;
  }
}

function close(): void {
  open = null;
  since = null;
  draft = null;
  erasing = null;
  textAt = null;
  window.clearInterval(pictureTimer);
  picture = null;
  $("board-panel").hidden = true;
  $("board-text").hidden = true;
  renderToggle();
}

/** Annotates the screen `screen`, shared by `name`. */
export function annotate(screen: number, name: string): void {
  void openOn({ screen, name });
}

/** The screen `screen` is no longer shared: its annotation goes. */
export function screenGone(screen: number): void {
  surfaces.delete(key(screen));
  void api.boardForget(screen).catch(() => {});
  if (open?.screen === screen) close();
}

/** The latest picture of the shared screen, to draw under its annotation. */
async function screenPicture(screen: number): Promise<void> {
  const buf = await api.nextFrame(String(screen), pictureSeq).catch(() => null);
  if (!buf || buf.byteLength === 0 || open?.screen !== screen) return;
  const header = parseHeader(buf);
  if (!header) return;
  pictureSeq = header.seq;
  const rgba = i420ToRgba(new Uint8Array(buf, HEADER_BYTES), header.width, header.height);
  const made = await createImageBitmap(new ImageData(rgba, header.width, header.height));
  if (open?.screen !== screen) return;
  picture = made;
  sizeCanvas();
  redraw();
}

/** The canvas fills its box at the surface's shape, in device pixels. */
function sizeCanvas(): void {
  const box = $("board-surface").getBoundingClientRect();
  const aspect = picture ? picture.width / picture.height : BOARD_ASPECT;
  const cssWidth = Math.max(1, Math.min(box.width, box.height * aspect));
  const cssHeight = cssWidth / aspect;
  const c = canvas();
  const dpr = window.devicePixelRatio || 1;
  c.style.width = `${cssWidth}px`;
  c.style.height = `${cssHeight}px`;
  const w = Math.round(cssWidth * dpr);
  const h = Math.round(cssHeight * dpr);
  if (c.width !== w || c.height !== h) {
    c.width = w;
    c.height = h;
    redraw();
  }
}

function redraw(): void {
  if (!open) return;
  const c = canvas();
  const g = c.getContext("2d");
  if (!g) return;
  const k = key(open.screen);
  if (open.screen === null) {
    g.fillStyle = "#ffffff";
    g.fillRect(0, 0, c.width, c.height);
  } else if (picture) {
    g.drawImage(picture, 0, 0, c.width, c.height);
  } else {
    g.fillStyle = "#202124";
    g.fillRect(0, 0, c.width, c.height);
    g.fillStyle = "#ffffff";
    g.font = `${Math.round(c.height / 24)}px sans-serif`;
    g.fillText(t("board.waitingScreen"), c.width / 20, c.height / 2);
  }
  for (const s of surfaces.get(k) ?? []) drawStroke(g, s, c.width, c.height);
  const now = performance.now();
  for (const [id, p] of pending) {
    if (now - p.at > PENDING_FOR_MS) pending.delete(id);
    else if (p.key === k) drawStroke(g, p.draft, c.width, c.height);
  }
  if (draft) drawStroke(g, draft, c.width, c.height);
}

/** What the core tells of the boards. */
export function boardChanged(change: BoardChange): void {
  switch (change.kind) {
    case "shown":
      shownBy = change.by;
      shownByUs = change.by !== null && change.own;
      if (change.by !== null) {
        // Shown to everyone, as a shared screen is.
        if (!change.own) toast(t("board.shownBy", { name: change.by }));
        void openOn({ screen: null, name: change.by });
      } else {
        if (open?.screen === null) close();
        say(t("board.putAway"));
      }
      renderToggle();
      return;
    case "drawn":
    case "erased":
    case "cleared":
      since?.push(change);
      applyChange(change);
      if (change.kind === "cleared") say(t("board.cleared", { name: change.by }));
      break;
    case "reset":
      // Told the boards on joining (or again): the panel asks anew.
      surfaces.clear();
      if (open) void openOn(open);
      return;
    case "dropped":
      toast(t("board.dropped", { name: change.by }), "warn");
      return;
  }
  redraw();
}

type StrokeChange = Extract<BoardChange, { kind: "drawn" | "erased" | "cleared" }>;

/** Changes since a snapshot was asked for (null: none on its way). */
let since: StrokeChange[] | null = null;

function applyChange(change: StrokeChange): void {
  const k = key(change.screen);
  switch (change.kind) {
    case "drawn": {
      const list = surfaces.get(k) ?? [];
      if (!list.some((s) => s.id === change.stroke.id)) list.push(change.stroke);
      surfaces.set(k, list);
      pending.delete(change.stroke.id);
      relayed.add(change.stroke.id);
      break;
    }
    case "erased": {
      const gone = new Set(change.ids);
      surfaces.set(k, (surfaces.get(k) ?? []).filter((s) => !gone.has(s.id)));
      break;
    }
    case "cleared":
      surfaces.delete(k);
      break;
  }
}

/** Where a pointer event falls on the surface, in units. */
function unitsOf(ev: PointerEvent | MouseEvent): [number, number] {
  const r = canvas().getBoundingClientRect();
  return [clampUnit(((ev.clientX - r.left) / r.width) * UNITS), clampUnit(((ev.clientY - r.top) / r.height) * UNITS)];
}

let sending = 0;

async function send(d: Draft): Promise<void> {
  if (!open) return;
  const screen = open.screen;
  const at = performance.now();
  // Drawn from here while the core sends it, then until the server relays it.
  const temporary = `sending/${++sending}`;
  pending.set(temporary, { key: key(screen), draft: d, at });
  try {
    const id = await api.boardRequest({ kind: "draw", screen, ...d });
    // Unless already relayed meanwhile (and maybe erased since).
    if (id && !relayed.has(id)) {
      pending.set(id, { key: key(screen), draft: d, at });
      // Drawn from here no longer if the server never relays it.
      window.setTimeout(redraw, PENDING_FOR_MS + 100);
    }
  } catch (e) {
    toast(messageOf(e), "error");
  } finally {
    pending.delete(temporary);
  }
  redraw();
}

function eraseAt(ev: PointerEvent): void {
  if (!open || !erasing) return;
  const [x, y] = unitsOf(ev);
  const c = canvas();
  const aspect = c.height > 0 ? c.height / c.width : 9 / 16;
  for (const id of strokesAt(surfaces.get(key(open.screen)) ?? [], x, y, ERASER_REACH, aspect)) erasing.add(id);
}

function onDown(ev: PointerEvent): void {
  if (!open || ev.button !== 0) return;
  ev.preventDefault();
  const [x, y] = unitsOf(ev);
  if (pick === "eraser") {
    erasing = new Set();
    eraseAt(ev);
  } else if (pick === "text") {
    placeText(ev, x, y);
    return;
  } else {
    draft = { tool: pick, color, width, points: [x, y], text: "" };
  }
  try {
    // Strokes that leave the canvas still end when the button is let go.
    canvas().setPointerCapture?.(ev.pointerId);
  } catch {
    // A pointer the system does not know (a synthetic one): drawn all the same.
  }
}

function onMove(ev: PointerEvent): void {
  if (erasing) return eraseAt(ev);
  if (!draft) return;
  const [x, y] = unitsOf(ev);
  if (draft.tool === "pen" || draft.tool === "highlighter") addPoint(draft.points, x, y);
  else draft.points = [draft.points[0], draft.points[1], x, y];
  redraw();
}

function onUp(): void {
  if (erasing) {
    const ids = [...erasing];
    erasing = null;
    if (ids.length > 0 && open) {
      void api.boardRequest({ kind: "erase", screen: open.screen, ids }).catch((e) => toast(messageOf(e), "error"));
    }
    return;
  }
  const d = draft;
  draft = null;
  if (!d) return;
  // A shape needs two corners apart; a click with the pen is a dot.
  const shape = d.tool !== "pen" && d.tool !== "highlighter";
  if (shape && (d.points.length < 4 || (d.points[0] === d.points[2] && d.points[1] === d.points[3]))) {
    redraw();
    return;
  }
  void send(d);
}

/** A text box where the click was: typed, then sent with Enter. */
function placeText(ev: PointerEvent, x: number, y: number): void {
  const input = $<HTMLInputElement>("board-text");
  const r = canvas().getBoundingClientRect();
  const box = $("board-surface").getBoundingClientRect();
  textAt = [x, y];
  input.value = "";
  input.style.left = `${ev.clientX - box.left}px`;
  input.style.top = `${ev.clientY - box.top}px`;
  input.style.fontSize = `${(TEXT_HEIGHT * r.width) / UNITS}px`;
  input.style.color = color;
  input.hidden = false;
  input.focus();
}

$("board-text").addEventListener("keydown", (ev) => {
  const input = ev.target as HTMLInputElement;
  if (ev.key === "Enter") {
    ev.preventDefault();
    const text = input.value.trim();
    input.hidden = true;
    if (text && textAt) void send({ tool: "text", color, width: TEXT_HEIGHT, points: [...textAt], text });
    textAt = null;
    canvas().focus();
  } else if (ev.key === "Escape") {
    // Backs out of the text box only.
    ev.stopPropagation();
    input.hidden = true;
    textAt = null;
    canvas().focus();
  }
});

function act(request: Parameters<typeof api.boardRequest>[0]): void {
  void api.boardRequest(request).catch((e) => toast(messageOf(e), "error"));
}

function buildToolbar(): void {
  const tools = $("board-tools");
  tools.replaceChildren();
  for (const [name, label, icon] of TOOLS) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "icon-button";
    b.dataset.tool = name;
    b.textContent = icon;
    b.title = t(label);
    b.setAttribute("aria-label", t(label));
    b.setAttribute("aria-pressed", String(name === pick));
    b.onclick = () => {
      pick = name;
      for (const other of tools.querySelectorAll("button")) {
        other.setAttribute("aria-pressed", String(other === b));
      }
    };
    tools.append(b);
  }
  const colors = $("board-colors");
  colors.replaceChildren();
  for (const [value, label] of COLORS) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "swatch";
    b.style.background = value;
    b.title = t(label);
    b.setAttribute("aria-label", t(label));
    b.setAttribute("aria-pressed", String(value === color));
    b.onclick = () => {
      color = value;
      for (const other of colors.querySelectorAll("button")) {
        other.setAttribute("aria-pressed", String(other === b));
      }
    };
    colors.append(b);
  }
}

const c = canvas();
c.addEventListener("pointerdown", onDown);
c.addEventListener("pointermove", onMove);
c.addEventListener("pointerup", onUp);
c.addEventListener("pointercancel", onUp);
c.addEventListener("keydown", (ev) => {
  if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "z" && open) {
    ev.preventDefault();
    act({ kind: "undo", screen: open.screen });
  }
});
new ResizeObserver(() => {
  if (open) sizeCanvas();
}).observe($("board-surface"));
$<HTMLSelectElement>("board-width").onchange = (ev) => {
  width = WIDTHS[(ev.target as HTMLSelectElement).value] ?? WIDTHS.medium;
};
$("board-undo").onclick = () => open && act({ kind: "undo", screen: open.screen });
$("board-clear").onclick = () => open && act({ kind: "clear", screen: open.screen });
$("board-save").onclick = async () => {
  if (!open) return;
  try {
    const path = await api.saveBoardPicture(open.screen);
    toast(t("board.saved", { path }));
  } catch (e) {
    toast(messageOf(e), "error");
  }
};
$("board-close").onclick = () => {
  close();
  $("board-toggle").focus();
};
$("board-stop").onclick = () => act({ kind: "show", shown: false });
$("board-toggle").onclick = () => {
  if (shownByUs) act({ kind: "show", shown: false });
  else if (shownBy === null) act({ kind: "show", shown: true });
  else if (open?.screen === null) close();
  else void openOn({ screen: null, name: shownBy });
};

/** Esc closes the panel (before it means "leave"). */
export function closeBoardOnEscape(): boolean {
  if (!open) return false;
  close();
  $("board-toggle").focus();
  return true;
}
