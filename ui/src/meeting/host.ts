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
 * A button that acts on a second press within a few seconds, its label
 * asking first: removing someone or ending the meeting is not undone.
 */
function confirmed(button: HTMLButtonElement, question: string, act: () => void): void {
  let label = "";
  let armed: number | undefined;
  button.onclick = (ev) => {
    ev.stopPropagation();
    if (armed !== undefined) {
      window.clearTimeout(armed);
      armed = undefined;
      button.textContent = label;
      act();
      return;
    }
    label = button.textContent ?? "";
    button.textContent = question;
    armed = window.setTimeout(() => {
      armed = undefined;
      button.textContent = label;
    }, CONFIRM_MS);
  };
}

function personButton(key: MessageKey, labelKey: MessageKey, p: ParticipantView): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "secondary small";
  b.textContent = t(key);
  b.setAttribute("aria-label", t(labelKey, { name: p.display }));
  return b;
}

/** The host's buttons for one person in the People list. */
export function hostButtons(p: ParticipantView): HTMLElement[] {
  if (!state.host || p.screen) return [];
  const participant = p.id;
  const mic = p.audioHeld
    ? personButton("host.askUnmute", "host.askUnmuteOf", p)
    : personButton("host.mute", "host.muteOf", p);
  mic.dataset.host = p.audioHeld ? "askUnmute" : "mute";
  mic.disabled = !p.hasAudio;
  mic.onclick = () => void ask({ action: p.audioHeld ? "askUnmute" : "mute", participant });
  const camera = p.videoHeld
    ? personButton("host.askVideo", "host.askVideoOf", p)
    : personButton("host.stopVideo", "host.stopVideoOf", p);
  camera.dataset.host = p.videoHeld ? "askVideo" : "stopVideo";
  camera.disabled = !p.hasVideo;
  camera.onclick = () => void ask({ action: p.videoHeld ? "askVideo" : "stopVideo", participant });
  const remove = personButton("host.remove", "host.removeOf", p);
  remove.dataset.host = "remove";
  remove.classList.replace("secondary", "danger");
  confirmed(remove, t("host.removeConfirm", { name: p.display }), () =>
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
  list.replaceChildren();
  const now = new Set<string>();
  for (const w of shown) {
    now.add(w.username);
    if (!waitingNames.has(w.username)) toast(t("host.someoneWaits", { name: w.display }));
    const li = document.createElement("li");
    li.dataset.waiting = w.username;
    const name = document.createElement("span");
    name.textContent = w.display;
    const admit = document.createElement("button");
    admit.type = "button";
    admit.className = "primary small";
    admit.dataset.host = "admit";
    admit.textContent = t("host.admit");
    admit.setAttribute("aria-label", t("host.admitOf", { name: w.display }));
    admit.onclick = () => void ask({ action: "admit", username: w.username });
    const refuse = document.createElement("button");
    refuse.type = "button";
    refuse.className = "secondary small";
    refuse.dataset.host = "refuse";
    refuse.textContent = t("host.refuse");
    refuse.setAttribute("aria-label", t("host.refuseOf", { name: w.display }));
    refuse.onclick = () => void ask({ action: "refuse", username: w.username });
    li.append(name, admit, refuse);
    list.append(li);
  }
  if (total > shown.length) {
    const li = document.createElement("li");
    li.className = "hint";
    li.textContent = t("host.waitingMore", { count: total - shown.length });
    list.append(li);
  }
  waitingNames = now;
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
  lock.textContent = t(state.locked ? "host.unlock" : "host.lock");
  lock.setAttribute("aria-pressed", String(state.locked));
}

$("host-lock").onclick = async () => {
  const locking = !state.locked;
  if (await ask({ action: locking ? "lock" : "unlock" }, t(locking ? "host.locked" : "host.unlocked"))) {
    state.locked = locking;
    renderHostControls();
  }
};

confirmed($<HTMLButtonElement>("host-end"), t("host.endConfirm"), () => void ask({ action: "end" }));
