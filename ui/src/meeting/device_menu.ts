// The meeting's device menu: switching camera, microphone or speaker mid-call.

import { api, type DeviceKind, type Settings } from "../api";
import { fillDevicePickers, refreshDevices } from "../devices";
import { $, messageOf, toast } from "../dom";
import { withConsent } from "../permission";
import { state } from "../state";
import { t } from "../i18n";

$("device-menu-toggle").onclick = async () => {
  const menu = $("device-menu");
  $("invite-panel").hidden = true;
  if (menu.hidden) {
    await refreshDevices();
    fillDevicePickers(["meeting-camera", "meeting-mic", "meeting-speaker"], state.settings);
  }
  menu.hidden = !menu.hidden;
};

export const switches: [string, DeviceKind, keyof Settings][] = [
  ["meeting-camera", "camera", "camera"],
  ["meeting-mic", "microphone", "microphone"],
  ["meeting-speaker", "speaker", "speaker"],
];
for (const [id, kind, key] of switches) {
  $(id).onchange = async () => {
    const value = $<HTMLSelectElement>(id).value;
    try {
      await withConsent(() => api.switchDevice(kind, value));
      state.settings = { ...state.settings, [key]: value };
      toast(t(`devices.switched.${kind}`));
    } catch (e) {
      toast(messageOf(e), "error");
    }
  };
}
