// Frame loops that draw each tile's video, or the core drawing it natively over the page.

import { FrameLoop, type FrameSource } from "./frames";
import { noteVideoWidth } from "./meeting/layers";
import { nativeTiles, nativeVideo } from "./native";
import { state } from "./state";

export function stopLoops(): void {
  for (const loop of state.loops.values()) loop.stop();
  state.loops.clear();
  if (nativeVideo()) nativeTiles.stop();
}

/**
 * Starts pulling frames into the canvas of a tile element (one loop per
 * element). In a meeting every tile, the self-view included, can take the
 * encoded frames; the pre-join preview has no encoder and takes pictures.
 */
export function attachLoop(tileEl: HTMLElement, tile: string, source: FrameSource): void {
  state.loops.get(tile)?.stop();
  const canvas = tileEl.querySelector("canvas");
  if (!canvas) return;
  if (nativeVideo() && source === "meeting") {
    // The core draws it, over the canvas.
    tileEl.classList.add("has-frame");
    nativeTiles.start();
    return;
  }
  tileEl.classList.remove("has-frame");
  state.loops.set(
    tile,
    new FrameLoop(
      tile,
      canvas,
      source,
      () => tileEl.classList.add("has-frame"),
      (width) => noteVideoWidth(tile, width),
    ),
  );
}

// The core draws the meeting's video where it can; where it cannot, every
// tile of the meeting goes back to its canvas.
nativeTiles.onWidth = (tile, width) => noteVideoWidth(tile, width);
nativeTiles.onFailed = () => {
  // Those already in the room arrive while the join is under way: every
  // tile of the meeting, whatever the screen (resetMeeting empties them).
  for (const el of document.querySelectorAll<HTMLElement>("#tiles .tile")) {
    if (el.dataset.tile) attachLoop(el, el.dataset.tile, "meeting");
  }
};
