// Which simulcast layer each participant is received at: the one that fits their tile.

import { api, type VideoLayer } from "../api";
import { $, messageOf } from "../dom";
import { state } from "../state";

/** Until a participant's first picture says otherwise: the app's camera size. */
export const ASSUMED_FULL_WIDTH = 640;
/**
 * A layer may be this much narrower than its tile: a little upscaling
 * looks sharp enough, and the next layer up costs four times the decoding.
 */
export const LAYER_WIDTH_OF_TILE = 0.75;

/**
 * Each participant's video at the layer their tile needs: a participant
 * who simulcasts sends a quarter, a half and the full picture, and a small
 * tile that receives the full one decodes four to sixteen times the pixels
 * it shows. The smallest layer at least `LAYER_WIDTH_OF_TILE` of the tile's
 * drawn width in device pixels, from the participant's full width, once
 * the layout has settled; a tile without video takes the smallest.
 */
export function chooseVideoLayer(tile: HTMLElement): VideoLayer {
  // Scrolled out of sight (a small window, many people): nothing at all.
  if (tile.dataset.inSight === "false") return "paused";
  if (tile.classList.contains("video-muted")) return "low";
  const needed = tile.clientWidth * window.devicePixelRatio * LAYER_WIDTH_OF_TILE;
  const full = state.fullWidths.get(Number(tile.dataset.tile)) ?? ASSUMED_FULL_WIDTH;
  if (full / 4 >= needed) return "low";
  return full / 2 >= needed ? "medium" : "high";
}

/** A participant's picture drawn `width` wide: wider than seen before, their layers are chosen again. */
export function noteVideoWidth(tile: string, width: number): void {
  const id = Number(tile);
  if (!Number.isInteger(id) || width <= (state.fullWidths.get(id) ?? 0)) return;
  state.fullWidths.set(id, width);
  scheduleVideoLayers();
}

export function scheduleVideoLayers(): void {
  window.clearTimeout(state.videoLayersTimer);
  state.videoLayersTimer = window.setTimeout(applyVideoLayers, 300);
}

export function applyVideoLayers(): void {
  if (state.screen !== "meeting") return;
  for (const tile of document.querySelectorAll<HTMLElement>("#tiles .tile")) {
    const id = Number(tile.dataset.tile);
    if (!Number.isInteger(id) || !state.participants.has(id)) continue;
    const layer = chooseVideoLayer(tile);
    if (state.videoLayers.get(id) === layer) continue;
    state.videoLayers.set(id, layer);
    // A reply to an older request, or for someone who left, changes nothing.
    const current = () => state.videoLayers.get(id) === layer;
    api
      .setVideoLayer(id, layer)
      .then(() => {
        if (current()) tile.dataset.videoLayer = layer;
      })
      .catch((e) => {
        console.warn(`video layer of ${id}: ${messageOf(e)}`);
        // Asked again at the next layout change.
        if (current()) state.videoLayers.delete(id);
      });
  }
}

// Tiles change size without the window doing so: People opened beside
// them, for one.
new ResizeObserver(scheduleVideoLayers).observe($("tiles"));

// Which tiles are in sight: one scrolled away is paused, and asked for
// again as it scrolls back.
export const tilesInSight = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    (entry.target as HTMLElement).dataset.inSight = String(entry.isIntersecting);
  }
  scheduleVideoLayers();
});
