// Keyboard shortcuts in a meeting: M, V, G, H, Space to talk, Esc.

import { $ } from "./dom";
import { closeBoardOnEscape } from "./meeting/board";
import { toggleHand } from "./meeting/hands";
import { askLeave } from "./meeting/leave";
import { setMuted } from "./meeting/participants";
import { toggleLayout } from "./meeting/tiles";
import { state } from "./state";

/** Keys go to the field: text is being typed or a list chosen from. A checkbox takes letters as shortcuts. */
export function typing(target: EventTarget | null): boolean {
  if (target instanceof HTMLInputElement) return !["checkbox", "radio", "range", "button"].includes(target.type);
  return target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement;
}

document.addEventListener("keydown", (ev) => {
  // The close question can come up on the pre-join, while joining.
  if (ev.key === "Escape" && state.screen !== "meeting" && !$("leave-dialog").hidden) {
    ev.preventDefault();
    $("leave-dialog").hidden = true;
    return;
  }
  if (state.screen !== "meeting") return;
  const modalOpen = !$("leave-dialog").hidden || !$("permission-prompt").hidden || !$("share-picker").hidden;
  if (ev.key === "Escape") {
    ev.preventDefault();
    // Esc backs out of the innermost thing first, as in Meet: the dialog,
    // then the device menu, then a focused field; only then is it "leave".
    if (!$("leave-dialog").hidden) $("leave-dialog").hidden = true;
    else if (!$("share-picker").hidden) {
      $("share-picker").hidden = true;
      $("share-toggle").focus();
    } else if (modalOpen) return;
    else if (!$("device-menu").hidden) $("device-menu").hidden = true;
    else if (!$("invite-panel").hidden) $("invite-panel").hidden = true;
    else if (!$("reactions-menu").hidden) {
      $("reactions-menu").hidden = true;
      $("reactions-toggle").focus();
    }
    else if (typing(ev.target)) (ev.target as HTMLElement).blur();
    else if (closeBoardOnEscape()) return;
    else askLeave();
    return;
  }
  if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "w") {
    ev.preventDefault();
    if (!modalOpen) askLeave();
    return;
  }
  if (modalOpen || typing(ev.target) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.key === "m" || ev.key === "M") {
    ev.preventDefault();
    void setMuted("audio", "toggle");
  } else if (ev.key === "v" || ev.key === "V") {
    ev.preventDefault();
    void setMuted("video", "toggle");
  } else if (ev.key === "g" || ev.key === "G") {
    ev.preventDefault();
    toggleLayout();
  } else if ((ev.key === "h" || ev.key === "H") && !ev.repeat) {
    // Held down, it raises once: auto-repeat would flap it.
    ev.preventDefault();
    void toggleHand();
  } else if (
    ev.key === " " &&
    !ev.repeat &&
    state.audioMuted &&
    // Space ticks a focused checkbox, as everywhere.
    !(ev.target instanceof HTMLInputElement)
  ) {
    // Push to talk: unmuted while Space is held.
    ev.preventDefault();
    state.pushToTalk = true;
    void setMuted("audio", false);
  }
});

export function endPushToTalk(): void {
  if (!state.pushToTalk) return;
  state.pushToTalk = false;
  void setMuted("audio", true);
}

document.addEventListener("keyup", (ev) => {
  if (ev.key === " ") endPushToTalk();
});
// A window that loses focus while Space is held never sees the key go up:
// without this the microphone would stay open.
window.addEventListener("blur", endPushToTalk);
document.addEventListener("visibilitychange", () => {
  if (document.hidden) endPushToTalk();
});
