// The meeting's video drawn by the core, in windows of its own over the
// page's tiles (src-tauri/src/native_video.rs, X11), so WebKit paints no
// video at all: the default. The page says where the tiles are and what it
// shows over them (names, icons, menus: holes in the video), and reads back
// what was drawn. Where native drawing cannot start (no X11, no shared
// memory) the page draws in its canvases instead; `?video=socket|ipc|raw`
// asks for a canvas path.
import { api, type NativePlacement, type NativeRect } from "./api";
import { frameStats } from "./frames";

const asked = new URLSearchParams(location.search).get("video");
let failed = false;

/** Whether the core draws the meeting's video (asked for, and not failed). */
export function nativeVideo(): boolean {
  return (asked === null || asked === "native") && !failed;
}

/**
 * The tiles are placed again in the frame after anything on the page
 * changes (a tile added, a layout switched, a menu opened, the window
 * resized), so the video follows the layout at once; this slow check
 * catches what no event tells of (a transition's last frames).
 */
const PLACE_EVERY_MS = 1000;
/** What on the page can move a tile or cover one. */
const LAYOUT_ATTRIBUTES = ["class", "hidden", "style", "data-role", "open"];
/** Window events after which the tiles may have moved. */
const LAYOUT_EVENTS = ["resize", "scroll", "transitionend", "animationend"];
const STATS_EVERY_MS = 500;
/** What the page draws over a tile's video and must stay visible. */
const OVER_VIDEO = ".name, .muted-icon, .pin, .hand, .reaction, .annotate";

function overlaps(a: DOMRect, b: DOMRect): boolean {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

/** The element's box if it is shown at all (not hidden, not transparent). */
function shownRect(e: Element): DOMRect | null {
  if (e.getClientRects().length === 0 || getComputedStyle(e).opacity === "0") return null;
  const r = e.getBoundingClientRect();
  return r.width >= 1 && r.height >= 1 ? r : null;
}

function toDevice(r: DOMRect, dpr: number): NativeRect {
  // Outwards: a label's antialiased edge stays the page's.
  const x = Math.floor(r.left * dpr);
  const y = Math.floor(r.top * dpr);
  return { x, y, width: Math.ceil(r.right * dpr) - x, height: Math.ceil(r.bottom * dpr) - y };
}

/**
 * Where each visible tile's video goes, in device pixels, and the holes
 * the page's labels and any open menu or dialog over it cut in it.
 */
export function placements(root: ParentNode): NativePlacement[] {
  const covers = [...root.querySelectorAll<HTMLElement>(".popover, .modal, .toast, .floating")]
    .filter((e) => !e.closest("[hidden]"))
    .map(shownRect)
    .filter((r): r is DOMRect => r !== null);
  const dpr = window.devicePixelRatio || 1;
  const out: NativePlacement[] = [];
  for (const tile of root.querySelectorAll<HTMLElement>("#screen-meeting .tile")) {
    const id = tile.dataset.tile;
    if (!id || tile.dataset.role === "hidden" || tile.classList.contains("video-muted")) continue;
    const r = (tile.querySelector("canvas") ?? tile).getBoundingClientRect();
    if (r.width < 2 || r.height < 2) continue;
    const holes = [...tile.querySelectorAll(OVER_VIDEO)]
      .map(shownRect)
      .filter((h): h is DOMRect => h !== null)
      .concat(covers.filter((c) => overlaps(c, r)))
      .map((h) => toDevice(h, dpr));
    out.push({
      tile: id,
      x: Math.round(r.left * dpr),
      y: Math.round(r.top * dpr),
      width: Math.round(r.width * dpr),
      height: Math.round(r.height * dpr),
      mirror: tile.classList.contains("self"),
      holes,
    });
  }
  return out;
}

class NativeTiles {
  private timers: number[] = [];
  private sent = "";
  private observer: MutationObserver | null = null;
  private frame = 0;
  private readonly soon = (): void => {
    if (this.frame === 0) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.place();
      });
    }
  };
  /** A remote picture drawn this wide (the layer choice follows). */
  onWidth: (tile: string, width: number) => void = () => {};
  /** Native drawing could not start: the page's canvases take over. */
  onFailed: () => void = () => {};

  start(): void {
    if (this.timers.length > 0 || failed) return;
    this.timers.push(
      window.setInterval(() => this.place(), PLACE_EVERY_MS),
      window.setInterval(() => void this.readStats(), STATS_EVERY_MS),
    );
    this.observer = new MutationObserver(this.soon);
    this.observer.observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: LAYOUT_ATTRIBUTES,
    });
    for (const event of LAYOUT_EVENTS) {
      window.addEventListener(event, this.soon, { capture: true, passive: true });
    }
    this.place();
  }

  /** Stops following the page (placed tiles stay until told otherwise). */
  private unfollow(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.observer?.disconnect();
    this.observer = null;
    for (const event of LAYOUT_EVENTS) {
      window.removeEventListener(event, this.soon, { capture: true });
    }
    cancelAnimationFrame(this.frame);
    this.frame = 0;
  }

  stop(): void {
    this.unfollow();
    this.sent = "";
    if (!failed) api.placeNativeTiles([]).catch((e) => console.warn("native video:", e));
  }

  private place(): void {
    const now = placements(document);
    const key = JSON.stringify(now);
    if (key === this.sent) return;
    this.sent = key;
    api.placeNativeTiles(now).catch((e) => this.fail(e));
  }

  private fail(e: unknown): void {
    if (failed) return;
    console.warn("native video failed, the page draws instead:", e);
    this.unfollow();
    failed = true;
    // Whatever was placed before goes (a refused placement leaves the last one).
    api.placeNativeTiles([]).catch(() => {});
    this.onFailed();
  }

  private async readStats(): Promise<void> {
    try {
      const stats = await api.nativeVideoStats();
      // A server that takes the shared-memory query but refuses every
      // picture (a remote X server, another IPC namespace): black tiles.
      const refused = Object.values(stats).some((s) => s.failed >= 2 && s.drawn === 0);
      if (refused) {
        this.fail("the X server refuses the pictures");
        return;
      }
      for (const [tile, s] of Object.entries(stats)) {
        frameStats.tiles[tile] = {
          drawn: s.drawn, seq: s.seq, width: s.width, height: s.height, transport: "native",
          decoderResets: 0, maxBatch: 0, skipped: s.failed, fetchMs: 0, drawMs: 0, latencyMs: s.latencyMs,
        };
        if (s.width > 0) this.onWidth(tile, s.width);
      }
    } catch (e) {
      console.warn("native video:", e);
    }
  }
}

export const nativeTiles = new NativeTiles();
