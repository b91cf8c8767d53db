// Audio levels: who is speaking, the active speaker, and the muted-while-talking hint.

import { $ } from "../dom";
import { layoutTiles } from "./tiles";
import { state } from "../state";

/** A voice in the muted microphone (the core's voice activity detector,
 * so a fan or a keyboard does not count) for this long tells the user they
 * are muted, at most this often, and the hint stays this long. */
export const MUTED_TALK_MS = 700;
export const MUTED_HINT_EVERY_MS = 15000;
export const MUTED_HINT_SHOWN_MS = 4000;

export function remindWhenMuted(speaking: boolean, now: number): void {
  if (!state.audioMuted || !speaking) {
    state.mutedTalkSince = null;
    return;
  }
  state.mutedTalkSince ??= now;
  if (now - state.mutedTalkSince < MUTED_TALK_MS || now - state.mutedHintAt < MUTED_HINT_EVERY_MS) return;
  state.mutedHintAt = now;
  const hint = $("muted-hint");
  hint.hidden = false;
  setTimeout(() => (hint.hidden = true), MUTED_HINT_SHOWN_MS);
}

export function updateLevels(own: number, speaking: boolean, remotes: Record<string, number>): void {
  if (state.screen !== "meeting") {
    // The meter is on the pre-join only. Touched in the meeting, each of
    // these ten-a-second changes woke the native video's placement, which
    // watches the page's styles.
    const meter = document.getElementById("mic-level");
    const percent = Math.min(100, Math.round(Math.sqrt(own) * 180));
    const width = `${percent}%`;
    if (meter && meter.style.width !== width) {
      meter.style.width = width;
      document.getElementById("mic-meter")?.setAttribute("aria-valuenow", String(percent));
    }
    return;
  }
  // Active speaker: the loudest tile of those speaking, held briefly so
  // the highlight does not flicker between words. The core decides who
  // speaks (each sender's voice detector, or loudness for a client that
  // sends none) and gives 0 for everyone else.
  const now = performance.now();
  remindWhenMuted(speaking, now);
  // Our own tile only for a voice: a fan or a keyboard is loud too.
  const levels: [string, number][] = [["self", state.audioMuted || !speaking ? 0 : own], ...Object.entries(remotes)];
  // Everyone speaking is marked, each held briefly so the mark does not
  // flicker between words. Marking only the loudest moved the mark between
  // people talking at once several times a second: each move a repaint of
  // the page and a new placement of the video drawn over it.
  for (const [tile, level] of levels) if (level > 0) state.speakingUntil.set(tile, now + 600);
  for (const [tile, until] of state.speakingUntil) if (until <= now) state.speakingUntil.delete(tile);
  // Muted, we are not heard: our mark goes at once.
  if (state.audioMuted) state.speakingUntil.delete("self");
  // The speaker view's large tile: someone else, held with hysteresis.
  const [loudestOther, otherLevel] = levels
    .filter(([tile]) => tile !== "self")
    .reduce((a, b) => (b[1] > a[1] ? b : a), ["", 0]);
  const active = state.speaker.update(otherLevel > 0 ? loudestOther : null, now);
  if (active !== state.activeSpeaker) {
    state.activeSpeaker = active;
    if (state.layoutMode === "speaker" && !state.pinned) layoutTiles();
  }
  for (const el of document.querySelectorAll<HTMLElement>("#tiles .tile")) {
    const until = state.speakingUntil.get(el.dataset.tile ?? "") ?? 0;
    el.classList.toggle("speaking", until > now);
  }
  // The same speaker marked in People, where tiles may be off the page.
  for (const el of document.querySelectorAll<HTMLElement>("#participant-list li")) {
    const until = state.speakingUntil.get(el.dataset.participant ?? "") ?? 0;
    el.classList.toggle("speaking", until > now);
  }
}
