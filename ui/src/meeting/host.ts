// The host's controls: on each person in the People list (mute or ask to
// unmute, stop video or ask to start it, remove), and for the meeting
// (lock, end for all). Shown only on the device that hosts the meeting;
// the server refuses them from anyone else.

import { api, type HostAction, type ParticipantView, type WaitingView } from "../api";
import { $, messageOf, toast } from "../dom";
import { state } from "../state";
import { t, type MessageKey } from "../i18n";

/** How long a button waits for its confirming second press. */
const CONFIRM_MS = 5000;

async function ask(action: HostAction, done?: string): Promise<boolean> {
  try {
    await api.hostAction(action);
    if (done) toast(done);
    return true;
  } catch (e) {
    toast(messageOf(e), "error");
    return false;
  }
}

/**
 * Until when each asking button (by `key`) waits for its second press: a
 * list rebuilt meanwhile (someone spoke) makes the button anew, still asking.
 */
const asking = new Map<string, number>();

/**
 * A button that acts on a second press within a few seconds, its label
 * asking first: removing someone or ending the meeting is not undone.
 */
function confirmed(button: HTMLButtonElement, key: string, question: string, act: () => void): void {
  let label = button.textContent ?? "";
  let aria = button.getAttribute("aria-label");
  let timer: number | undefined;
  const disarm = () => {
    window.clearTimeout(timer);
    timer = undefined;
    asking.delete(key);
    button.textContent = label;
    if (aria === null) button.removeAttribute("aria-label");
    else button.setAttribute("aria-label", aria);
  };
  const arm = (until: number) => {
    asking.set(key, until);
    // Said as asked, to eyes and to screen readers alike.
    button.textContent = question;
    button.setAttribute("aria-label", question);
    timer = window.setTimeout(disarm, Math.max(0, until - Date.now()));
  };
  const until = asking.get(key);
  if (until !== undefined && until > Date.now()) arm(until);
  button.onclick = (ev) => {
    ev.stopPropagation();
    if (asking.has(key)) {
      disarm();
      act();
      return;
    }
    // As it reads now (the language may have changed since it was made).
    label = button.textContent ?? "";
    aria = button.getAttribute("aria-label");
    arm(Date.now() + CONFIRM_MS);
  };
}

/** The actions a host asks of one person, each with its label `host.<action>` and `host.<action>Of`. */
type PersonAction = "mute" | "askUnmute" | "stopVideo" | "askVideo" | "remove" | "admit" | "refuse";

/**
 * A host's button for `action` on the person shown as `name`: labelled
 * from the action, named for screen readers with the person, found again
 * by its action (`keepingFocus`), and asking `action` when pressed.
 */
function hostButton(action: PersonAction, name: string, asks: HostAction, look = "secondary"): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.className = `${look} small`;
  b.dataset.host = action;
  b.textContent = t(`host.${action}` as MessageKey);
  b.setAttribute("aria-label", t(`host.${action}Of` as MessageKey, { name }));
  b.onclick = () => void ask(asks);
  return b;
}

/**
 * Rebuilds a list whose buttons may have the keyboard's focus: the same
 * button (by its line and action) has it again after, so a list changing
 * under the host (someone speaks, someone arrives) does not lose their place.
 */
export function keepingFocus(list: HTMLElement, rebuild: () => void): void {
  const active = document.activeElement;
  const button = active instanceof HTMLElement && list.contains(active) ? active : null;
  const line = button?.closest("li");
  const key = line ? (line.dataset.participant ?? line.dataset.waiting) : undefined;
  const action = button?.dataset.host;
  rebuild();
  if (key === undefined || action === undefined) return;
  const again = [...list.querySelectorAll<HTMLElement>("li")]
    .find((li) => (li.dataset.participant ?? li.dataset.waiting) === key)
    ?.querySelector<HTMLElement>(`button[data-host="${action}"]`);
  again?.focus();
}

/** The host's buttons for one person in the People list. */
export function hostButtons(p: ParticipantView): HTMLElement[] {
  if (!state.host || p.screen) return [];
  const participant = p.id;
  const of = (action: PersonAction & HostAction["action"], look?: string) =>
    hostButton(action, p.display, { action, participant } as HostAction, look);
  const mic = of(p.audioHeld ? "askUnmute" : "mute");
  mic.disabled = !p.hasAudio;
  const camera = of(p.videoHeld ? "askVideo" : "stopVideo");
  camera.disabled = !p.hasVideo;
  const remove = of("remove", "danger");
  confirmed(remove, `remove ${participant}`, t("host.removeConfirm", { name: p.display }), () =>
    void ask({ action: "remove", participant }, t("host.removed", { name: p.display })),
  );
  const group = document.createElement("span");
  group.className = "host-buttons";
  group.append(mic, camera, remove);
  return [group];
}

/** Who is waiting, as last told. */
let waitingNames = new Set<string>();

/** The waiting room's list, for its host: admit or refuse each, or admit all. */
export function renderWaiting(shown: WaitingView[], total: number): void {
  const section = $("waiting-section");
  section.hidden = !state.host || total === 0;
  $("waiting-title").textContent = t("host.waitingN", { count: total });
  const list = $("waiting-list");
  const now = new Set<string>();
  keepingFocus(list, () => fillWaiting(list, shown, total, now));
  waitingNames = now;
}

function fillWaiting(list: HTMLElement, shown: WaitingView[], total: number, now: Set<string>): void {
  list.replaceChildren();
  for (const w of shown) {
    now.add(w.username);
    if (!waitingNames.has(w.username)) toast(t("host.someoneWaits", { name: w.display }));
    const li = document.createElement("li");
    li.dataset.waiting = w.username;
    const name = document.createElement("span");
    name.textContent = w.display;
    li.append(
      name,
      hostButton("admit", w.display, { action: "admit", username: w.username }, "primary"),
      hostButton("refuse", w.display, { action: "refuse", username: w.username }),
    );
    list.append(li);
  }
  if (total > shown.length) {
    const li = document.createElement("li");
    li.className = "hint";
    li.textContent = t("host.waitingMore", { count: total - shown.length });
    list.append(li);
  }
}

/** Nobody waits: a new meeting starts with an empty list. */
export function resetWaiting(): void {
  waitingNames = new Set();
  renderWaiting([], 0);
}

$("admit-all").onclick = () => void ask({ action: "admit", username: null });

/** The meeting's own controls, for its host. */
export function renderHostControls(): void {
  $("host-controls").hidden = !state.host;
  const lock = $("host-lock");
  // The label says what a press does; the state is for the page itself.
  lock.textContent = t(state.locked ? "host.unlock" : "host.lock");
  lock.dataset.locked = String(state.locked);
}

$("host-lock").onclick = async () => {
  const locking = !state.locked;
  if (await ask({ action: locking ? "lock" : "unlock" }, t(locking ? "host.locked" : "host.unlocked"))) {
    state.locked = locking;
    renderHostControls();
  }
};

confirmed($<HTMLButtonElement>("host-end"), "end", t("host.endConfirm"), () => void ask({ action: "end" }));
