// Leaving the meeting, from the Leave button or the window's close button.

import { api, AppFailure } from "../api";
import { $, messageOf, toast } from "../dom";
import { enterHome } from "../screens/home";
import { joining } from "../screens/prejoin";
import { state } from "../state";
import { t } from "../i18n";

/** Whether the open leave question came from the window's close button:
 * then leaving also closes the app. */
export let leaveCloses = false;

export function askLeave(closing = false): void {
  leaveCloses = closing;
  $("leave-title").textContent = t(closing ? "leave.titleClosing" : "leave.title");
  $("leave-confirm").textContent = t(closing ? "leave.leaveAndClose" : "leave.leave");
  $("leave-dialog").hidden = false;
  // Closing is the bigger step: Enter keeps the call.
  $(closing ? "leave-cancel" : "leave-confirm").focus();
}

/** The window's close button (or Alt+F4) in a meeting or while joining:
 * the core kept the window open to ask. Anywhere else, nothing is lost. */
export function closeRequested(): void {
  if (state.screen !== "meeting" && !(state.screen === "prejoin" && joining())) {
    void api.quit();
    return;
  }
  void api.closeRequestAnswered();
  askLeave(true);
}

$("leave").onclick = () => askLeave();
$("leave-cancel").onclick = () => {
  $("leave-dialog").hidden = true;
};
$("leave-confirm").onclick = async () => {
  $("leave-dialog").hidden = true;
  if (leaveCloses) {
    // The exit says goodbye to the meeting before the process ends.
    await api.quit().catch((e) => toast(t("app.didNotClose", { reason: messageOf(e) }), "error"));
    return;
  }
  // Everyone "leaves" as the call ends: not news for the toasts.
  state.leaving = true;
  try {
    await api.leave();
  } catch (e) {
    // "state": already gone (the server ended it), nothing left to leave.
    // Anything else the user should know about.
    if (e instanceof AppFailure && e.kind === "state") console.info("leave:", messageOf(e));
    else toast(t("leave.didNotFinish", { reason: messageOf(e) }), "error");
  }
  await enterHome();
};
