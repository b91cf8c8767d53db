// Scan a meeting QR code with the camera or from a picture.

import { api, type ScannedMeeting } from "../api";
import { fillSelect, refreshDevices } from "../devices";
import { $, messageOf, showError, showFailure } from "../dom";
import { withConsent } from "../permission";
import { enterHome, joinFromHome } from "./home";
import { show, state } from "../state";
import { attachLoop, stopLoops } from "../video";
import { t } from "../i18n";

export async function enterScan(): Promise<void> {
  show("scan");
  showError($("scan-error"), null);
  $("scan-status").textContent = "";
  await refreshDevices();
  fillSelect($<HTMLSelectElement>("scan-camera"), "camera", state.devices.cameras, state.settings.camera);
  await startScan();
}

export async function startScan(): Promise<void> {
  const camera = $<HTMLSelectElement>("scan-camera").value || null;
  if (camera === "none") {
    // Nothing to open (a computer without a camera): the picture of a
    // code is the way in, and not an error.
    await api.stopScan().catch(() => {});
    showError($("scan-error"), null);
    $("scan-status").textContent = t("scan.noCamera");
    return;
  }
  try {
    // The camera is asked for just in time, as for the pre-join.
    await withConsent(() => api.startScan(camera));
    // Each scan's pictures start again at sequence 1 (the last picture of
    // a stopped scan is not kept): a fresh loop follows them.
    const tile = document.querySelector<HTMLElement>('#screen-scan .tile[data-tile="scan"]');
    if (tile) attachLoop(tile, "scan", "pictures");
    showError($("scan-error"), null);
    $("scan-status").textContent = t("scan.looking");
  } catch (e) {
    $("scan-status").textContent = "";
    showFailure($("scan-error"), e);
  }
}

/** A code was read: the camera stops, and the meeting goes through the same path as a typed one. */
export async function scanned(meeting: ScannedMeeting): Promise<void> {
  if (state.screen !== "scan") return;
  stopLoops();
  await api.stopScan().catch(() => {});
  show("home");
  joinFromHome(meeting.input);
}

$("scan-camera").onchange = () => void startScan();
$("scan-cancel").onclick = () => void enterHome();
$<HTMLInputElement>("scan-file").onchange = async (ev) => {
  const input = ev.target as HTMLInputElement;
  const file = input.files?.[0];
  input.value = "";
  if (!file) return;
  try {
    const meeting = await api.scanQrImage(new Uint8Array(await file.arrayBuffer()));
    await scanned(meeting);
  } catch (e) {
    showError($("scan-error"), messageOf(e));
  }
};
