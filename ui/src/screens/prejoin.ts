// Pre-join: preview, devices and effects before joining; the join itself.

import { api, AppFailure } from "../api";
import { fillDevicePickers, refreshDevices } from "../devices";
import { $, messageOf, showError, showFailure, toast } from "../dom";
import { fillEffects } from "../effects";
import { enterMeeting, resetMeeting } from "../meeting/participants";
import { withConsent } from "../permission";
import { enterHome } from "./home";
import { show, state } from "../state";
import { attachLoop } from "../video";
import { t } from "../i18n";

/** The user gave up waiting for a host (the join then fails). */
let waitGivenUp = false;

export async function enterPrejoin(): Promise<void> {
  show("prejoin");
  showError($("prejoin-error"), null);
  $("retry").hidden = true;
  await refreshDevices();
  fillDevicePickers(["camera-select", "mic-select", "speaker-select"], state.settings);
  await fillEffects("prejoin");
  const tile = document.querySelector<HTMLElement>('#screen-prejoin .tile[data-tile="self"]');
  if (tile) attachLoop(tile, "self", "pictures");
  await startPreview();
}

export async function startPreview(): Promise<void> {
  const camera = $<HTMLSelectElement>("camera-select").value || null;
  const mic = $<HTMLSelectElement>("mic-select").value || null;
  try {
    await withConsent(() => api.startPreview(camera, mic));
    showError($("prejoin-error"), null);
  } catch (e) {
    showFailure($("prejoin-error"), e);
  }
}

for (const id of ["camera-select", "mic-select"]) {
  $(id).onchange = () => void startPreview();
}

$<HTMLInputElement>("prejoin-camera").onchange = () => {
  const on = $<HTMLInputElement>("prejoin-camera").checked;
  document.querySelector('#screen-prejoin .tile[data-tile="self"]')?.classList.toggle("video-muted", !on);
};

$("speaker-test").onclick = async () => {
  try {
    await api.testSpeaker($<HTMLSelectElement>("speaker-select").value || null);
  } catch (e) {
    toast(messageOf(e), "error");
  }
};

$("back-home").onclick = () => void enterHome();

/** A join is under way (its button is disabled until it ends). */
export function joining(): boolean {
  return $<HTMLButtonElement>("join-now").disabled;
}

export async function joinNow(): Promise<void> {
  const button = $<HTMLButtonElement>("join-now");
  button.disabled = true;
  $("retry").hidden = true;
  showError($("prejoin-error"), null);
  const request = {
    input: state.meetingInput,
    displayName: $<HTMLInputElement>("display-name").value.trim(),
    camera: $<HTMLSelectElement>("camera-select").value || null,
    microphone: $<HTMLSelectElement>("mic-select").value || null,
    speaker: $<HTMLSelectElement>("speaker-select").value || null,
    audioMuted: !$<HTMLInputElement>("prejoin-mic").checked,
    videoMuted: !$<HTMLInputElement>("prejoin-camera").checked,
  };
  button.textContent = t("prejoin.joining");
  resetMeeting();
  try {
    const joined = await withConsent(() => api.join(request));
    state.selfId = joined.selfId;
    state.audioMuted = joined.audioMuted;
    state.videoMuted = joined.videoMuted;
    state.host = joined.host;
    state.locked = joined.locked;
    state.settings = { ...state.settings, camera: request.camera, microphone: request.microphone, speaker: request.speaker };
    enterMeeting();
  } catch (e) {
    const failure = e instanceof AppFailure ? e : null;
    // A close question asked while joining has no meeting to leave now.
    $("leave-dialog").hidden = true;
    resetMeeting();
    const prejoinSelf = document.querySelector<HTMLElement>('#screen-prejoin .tile[data-tile="self"]');
    if (prejoinSelf) attachLoop(prejoinSelf, "self", "pictures");
    // The preview first: once it runs again it clears its own errors, and
    // the user must still read why joining failed.
    await startPreview();
    showFailure($("prejoin-error"), e);
    // A server that is down or a broken connection is worth another try.
    $("retry").hidden = !(failure && (failure.kind === "unreachable" || failure.kind === "connection"));
  } finally {
    $("waiting-banner").hidden = true;
    button.disabled = false;
    // The banner went with the wait: the keyboard's place is Join now.
    if (waitGivenUp) button.focus();
    waitGivenUp = false;
    button.textContent = t("prejoin.joinNow");
  }
}

$("join-now").onclick = () => void joinNow();
$("retry").onclick = () => void joinNow();

// Waiting for a host: the join is given up, and the pre-join stays.
$("waiting-cancel").onclick = () => {
  waitGivenUp = true;
  void api.cancelJoin().catch(() => {});
};
