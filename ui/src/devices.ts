// Device pickers (pre-join, the meeting's device menu, Settings): what is
// plugged in now, the system's default followed, a saved device kept.

import { api, type Device, type DeviceKind, type DeviceList, type Settings } from "./api";
import { $ } from "./dom";
import { type MessageKey, t } from "./i18n";
import { joining, startPreview } from "./screens/prejoin";
import { state } from "./state";

/** A picker's value for "whatever the system's default is": the call
 * follows it when it changes (a headset plugged in, say). */
export const SYSTEM_DEFAULT = "";

/** The stand-ins every list holds besides the system's devices, by kind
 * and id: named in the page's language (the system's devices keep the
 * names the system gives them). */
const STAND_INS: Record<DeviceKind, Record<string, MessageKey>> = {
  camera: { none: "devices.noCamera", test: "devices.testPattern" },
  microphone: { none: "devices.noMicrophone", test: "devices.testTone" },
  speaker: { none: "devices.noOutput" },
};

function deviceLabel(kind: DeviceKind, d: Device): string {
  const standIn = STAND_INS[kind][d.id];
  return standIn ? t(standIn) : d.label;
}

export function fillSelect(
  select: HTMLSelectElement,
  kind: DeviceKind,
  devices: Device[],
  chosen: string | null,
  followsSystem = false,
  keepMissing = false,
): void {
  select.replaceChildren();
  const current = devices.find((d) => d.isDefault);
  if (followsSystem && current) {
    select.append(new Option(t("devices.systemDefault", { device: deviceLabel(kind, current) }), SYSTEM_DEFAULT));
  }
  for (const d of devices) {
    const label = deviceLabel(kind, d);
    select.append(new Option(d.isDefault && !followsSystem ? t("devices.default", { device: label }) : label, d.id));
  }
  // The core lists "No camera", "No microphone" and "No output" itself;
  // this is for a list of outputs that came without it.
  if (kind === "speaker" && !devices.some((d) => d.id === "none")) select.append(new Option(t("devices.noOutput"), "none"));
  // Settings keep a saved device that is unplugged now: saving the name
  // must not turn it into "System default".
  if (keepMissing && chosen && ![...select.options].some((o) => o.value === chosen)) {
    select.append(new Option(t("devices.notConnected", { device: chosen.slice(chosen.indexOf(":") + 1) }), chosen));
  }
  const fallback = followsSystem && current ? SYSTEM_DEFAULT : current?.id ?? devices[0]?.id ?? "none";
  select.value = chosen && [...select.options].some((o) => o.value === chosen) ? chosen : fallback;
}

export async function refreshDevices(): Promise<void> {
  state.devices = await api.listDevices();
}

export function fillDevicePickers(ids: [string, string, string], chosen: Settings, keepMissing = false): void {
  fillSelect($<HTMLSelectElement>(ids[0]), "camera", state.devices.cameras, chosen.camera, false, keepMissing);
  fillSelect($<HTMLSelectElement>(ids[1]), "microphone", state.devices.microphones, chosen.microphone, true, keepMissing);
  fillSelect($<HTMLSelectElement>(ids[2]), "speaker", state.devices.speakers, chosen.speaker, true, keepMissing);
}

export const SETTINGS_PICKERS: [string, string, string] = ["settings-camera", "settings-mic", "settings-speaker"];
export const PICKERS: [string, string, string][] = [
  ["camera-select", "mic-select", "speaker-select"],
  ["meeting-camera", "meeting-mic", "meeting-speaker"],
  SETTINGS_PICKERS,
];

/** Devices came or went: every picker lists what is there now and keeps
 * what it shows, unless that is gone. */
export function devicesChanged(devices: DeviceList): void {
  state.devices = devices;
  for (const ids of PICKERS) {
    const [camera, microphone, speaker] = ids.map((id) => $<HTMLSelectElement>(id).value);
    fillDevicePickers(ids, { ...state.settings, camera, microphone, speaker }, ids === SETTINGS_PICKERS);
  }
}

/** What the pre-join's preview opens: its pickers' values, with "the
 * system's default" read as the device it stands for now. */
export function previewDevices(): string {
  const pick = (id: string, list: Device[]) => $<HTMLSelectElement>(id).value || list.find((d) => d.isDefault)?.id || "";
  return `${pick("camera-select", state.devices.cameras)}|${pick("mic-select", state.devices.microphones)}`;
}

/** Outside a meeting (where the core reports changes) the screens with
 * pickers look for devices plugged in or out themselves; the pre-join's
 * preview moves with them, so its meter shows the microphone the join
 * would use. */
export async function lookForDevices(): Promise<void> {
  if (state.screen !== "prejoin" && state.screen !== "settings") return;
  const now = await api.listDevices().catch(() => null);
  if (!now || JSON.stringify(now) === JSON.stringify(state.devices)) return;
  const before = previewDevices();
  devicesChanged(now);
  // Not while joining: the join has taken the devices from the preview.
  if (state.screen === "prejoin" && !joining() && previewDevices() !== before) await startPreview();
}

setInterval(() => void lookForDevices(), 3000);
