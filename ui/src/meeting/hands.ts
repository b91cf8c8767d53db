// Raised hands and reactions: the hand button and the reactions menu, the
// queue of hands at the top of People (first raised first), a hand with
// its place on each tile, and reactions floating over a tile for a moment.

import { api, type HandView, type ReactionView } from "../api";
import { $, messageOf, toast } from "../dom";
import { t, type MessageKey } from "../i18n";

/** The reactions offered, as the core accepts them, with their names. */
export const REACTIONS: [string, MessageKey][] = [
  ["👍", "reactions.thumbsUp"],
  ["👏", "reactions.clap"],
  ["😂", "reactions.laugh"],
  ["❤️", "reactions.heart"],
  ["😮", "reactions.surprised"],
  ["🎉", "reactions.party"],
];
/** How long a reaction floats over its tile. */
export const REACTION_SHOWN_MS = 4000;
/** Reactions over one tile at once: more replace the oldest. */
const MAX_FLOATING = 3;

let ready = false;
/** Our hand as we last asked the core for it (the queue shows it once relayed). */
let handUp = false;
let hands: HandView[] = [];
/** When each person's raised hand was last announced: a hand that goes
 * up and down is announced once in a while, not each time. */
const announced = new Map<string, number>();
const ANNOUNCE_AGAIN_AFTER_MS = 10_000;
/** The core told the hands since the meeting began: a snapshot asked for earlier must not undo it. */
let told = false;
/** A press under way: a second press waits for it. */
let pressing = false;

/** A new meeting: no hands, nothing to raise yet. */
export function resetHands(): void {
  told = false;
  ready = false;
  handUp = false;
  hands = [];
  announced.clear();
  pressing = false;
  $("reactions-menu").hidden = true;
  for (const r of document.querySelectorAll("#tiles .reaction")) r.remove();
  render();
}

/** From the chat's snapshot (a meeting joined a moment ago). */
export function loadHands(snapshotReady: boolean, snapshotHandUp: boolean, snapshotHands: HandView[]): void {
  if (told) return;
  ready = snapshotReady;
  handUp = snapshotHandUp;
  hands = snapshotHands;
  render();
}

/** The queue as the core tells it; a hand someone just raised is announced. */
export function renderHands(nowReady: boolean, nowUp: boolean, queue: HandView[], raised: HandView | null): void {
  told = true;
  ready = nowReady;
  handUp = nowUp;
  hands = queue;
  if (raised) {
    const who = `${raised.feed ?? ""}:${raised.display}`;
    const last = announced.get(who);
    if (last === undefined || Date.now() - last >= ANNOUNCE_AGAIN_AFTER_MS) {
      announced.set(who, Date.now());
      toast(t("hands.raised", { name: raised.display }));
    }
  }
  render();
}

/** The tile a hand or reaction belongs on. */
function tileOf(own: boolean, feed: number | null): HTMLElement | null {
  const id = own ? "self" : feed === null ? null : String(feed);
  return id === null ? null : document.querySelector<HTMLElement>(`#tiles .tile[data-tile="${id}"]`);
}

function render(): void {
  const button = $<HTMLButtonElement>("hand-toggle");
  const up = handUp;
  button.disabled = !ready;
  button.setAttribute("aria-pressed", String(up));
  // The hand alone on the button (the bar is full); its name says what it does.
  button.textContent = "✋";
  button.setAttribute("aria-label", t(up ? "hands.lower" : "hands.raise"));
  button.title = ready ? t("hands.buttonTitle") : t("hands.unavailable");
  $<HTMLButtonElement>("reactions-toggle").disabled = !ready;
  if (!ready) $("reactions-menu").hidden = true;

  const list = $("hand-list");
  list.replaceChildren(
    ...hands.map((h) => {
      const li = document.createElement("li");
      li.textContent = h.own ? t("chat.you") : h.display;
      return li;
    }),
  );
  $("hand-queue").hidden = hands.length === 0;
  renderHandBadges();
}

/** Each tile's hand and place in the queue (tiles come and go: called again then). */
export function renderHandBadges(): void {
  for (const badge of document.querySelectorAll("#tiles .hand")) badge.remove();
  hands.forEach((h, i) => {
    const tile = tileOf(h.own, h.feed);
    if (!tile) return;
    const badge = document.createElement("span");
    badge.className = "hand";
    badge.setAttribute("role", "img");
    const place = String(i + 1);
    badge.setAttribute("aria-label", t("hands.place", { place }));
    badge.title = t("hands.place", { place });
    badge.textContent = `✋ ${place}`;
    tile.append(badge);
  });
}

/** Someone's reaction, ours too: over their tile for a moment, and said to a screen reader. */
export function showReaction(r: ReactionView): void {
  const name = r.own ? t("chat.you") : r.display;
  $("gestures-said").textContent = t("reactions.from", { name, emoji: r.emoji });
  const tile = tileOf(r.own, r.feed);
  if (!tile) {
    // Someone without a tile (not publishing): said as a notice.
    toast(t("reactions.from", { name, emoji: r.emoji }));
    return;
  }
  const floating = tile.querySelectorAll(".reaction");
  if (floating.length >= MAX_FLOATING) floating[0].remove();
  const el = document.createElement("span");
  el.className = "reaction";
  el.setAttribute("aria-hidden", "true");
  el.textContent = r.emoji;
  tile.append(el);
  setTimeout(() => el.remove(), REACTION_SHOWN_MS);
}

/** Raises our hand, or lowers it (H, or the button). */
export async function toggleHand(): Promise<void> {
  if (!ready || pressing) return;
  pressing = true;
  try {
    await api.raiseHand(!handUp);
  } catch (e) {
    toast(messageOf(e), "error");
  } finally {
    pressing = false;
  }
}

function fillReactionsMenu(): void {
  const menu = $("reactions-menu");
  menu.replaceChildren(
    ...REACTIONS.map(([emoji, name]) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "reaction-choice";
      b.textContent = emoji;
      b.title = t(name);
      b.setAttribute("aria-label", t(name));
      b.dataset.emoji = emoji;
      b.onclick = () => {
        api.sendReaction(emoji).catch((e: unknown) => toast(messageOf(e), "error"));
      };
      return b;
    }),
  );
}

$("hand-toggle").onclick = () => void toggleHand();
$("reactions-toggle").onclick = () => {
  const menu = $("reactions-menu");
  // Named in the language now in force.
  if (menu.hidden) fillReactionsMenu();
  menu.hidden = !menu.hidden;
  if (!menu.hidden) menu.querySelector<HTMLElement>("button")?.focus();
};
