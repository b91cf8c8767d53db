// `?video=native` (a prototype, X11 only): the core draws the meeting's
// video itself, in windows of its own over the page's tiles
// (src-tauri/src/native_video.rs), so WebKit paints no video at all. The
// page only says where the tiles are, and reads back what was drawn.
import { api, type NativePlacement } from "./api";
import { frameStats } from "./frames";

export const nativeVideo = new URLSearchParams(location.search).get("video") === "native";

/** How often the tiles' places are checked (sent only when they change). */
const PLACE_EVERY_MS = 200;
const STATS_EVERY_MS = 500;

function overlaps(a: DOMRect, b: DOMRect): boolean {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

/** Where each visible tile's video goes, in device pixels; none under an open menu or dialog. */
export function placements(root: ParentNode): NativePlacement[] {
  const covers = [...root.querySelectorAll<HTMLElement>(".popover, .modal")]
    .filter((e) => !e.closest("[hidden]") && e.getClientRects().length > 0)
    .map((e) => e.getBoundingClientRect());
  const dpr = window.devicePixelRatio || 1;
  const out: NativePlacement[] = [];
  for (const tile of root.querySelectorAll<HTMLElement>("#screen-meeting .tile")) {
    const id = tile.dataset.tile;
    if (!id || tile.dataset.role === "hidden" || tile.classList.contains("video-muted")) continue;
    const r = (tile.querySelector("canvas") ?? tile).getBoundingClientRect();
    if (r.width < 2 || r.height < 2 || covers.some((c) => overlaps(c, r))) continue;
    out.push({
      tile: id,
      x: Math.round(r.left * dpr),
      y: Math.round(r.top * dpr),
      width: Math.round(r.width * dpr),
      height: Math.round(r.height * dpr),
    });
  }
  return out;
}

class NativeTiles {
  private timers: number[] = [];
  private sent = "";

  start(): void {
    if (this.timers.length > 0) return;
    this.timers.push(
      window.setInterval(() => this.place(), PLACE_EVERY_MS),
      window.setInterval(() => void this.readStats(), STATS_EVERY_MS),
    );
    this.place();
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.sent = "";
    api.placeNativeTiles([]).catch((e) => console.warn("native video:", e));
  }

  private place(): void {
    const now = placements(document);
    const key = JSON.stringify(now);
    if (key === this.sent) return;
    this.sent = key;
    api.placeNativeTiles(now).catch((e) => console.warn("native video:", e));
  }

  private async readStats(): Promise<void> {
    try {
      const stats = await api.nativeVideoStats();
      for (const [tile, s] of Object.entries(stats)) {
        frameStats.tiles[tile] = {
          drawn: s.drawn, seq: s.seq, width: s.width, height: s.height, transport: "native",
          decoderResets: 0, maxBatch: 0, skipped: 0, fetchMs: 0, drawMs: 0, latencyMs: s.latencyMs,
        };
      }
    } catch (e) {
      console.warn("native video:", e);
    }
  }
}

export const nativeTiles = new NativeTiles();
