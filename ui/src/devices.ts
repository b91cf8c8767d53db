// Device pickers (pre-join, the meeting's device menu, Settings): what is
// plugged in now, the system's default followed, a saved device kept.

import { api, type Device, type DeviceList, type Settings } from "./api";
import { $ } from "./dom";
import { joining, startPreview } from "./screens/prejoin";
import { state } from "./state";

/** A picker's value for "whatever the system's default is": the call
 * follows it when it changes (a headset plugged in, say). */
export const SYSTEM_DEFAULT = "";

export function fillSelect(
  select: HTMLSelectElement,
  devices: Device[],
  chosen: string | null,
  allowNone: boolean,
  followsSystem = false,
  keepMissing = false,
): void {
  select.replaceChildren();
  const current = devices.find((d) => d.isDefault);
  if (followsSystem && current) select.append(new Option(`System default (${current.label})`, SYSTEM_DEFAULT));
  for (const d of devices) {
    select.append(new Option(d.label + (d.isDefault && !followsSystem ? " (default)" : ""), d.id));
  }
  // The core lists "No camera", "No microphone" and "No output" itself;
  // this is for a list that came without them.
  if (allowNone && !devices.some((d) => d.id === "none")) select.append(new Option("No output", "none"));
  // Settings keep a saved device that is unplugged now: saving the name
  // must not turn it into "System default".
  if (keepMissing && chosen && ![...select.options].some((o) => o.value === chosen)) {
    select.append(new Option(`${chosen.slice(chosen.indexOf(":") + 1)} (not connected)`, chosen));
  }
  const fallback = followsSystem && current ? SYSTEM_DEFAULT : current?.id ?? devices[0]?.id ?? "none";
  select.value = chosen && [...select.options].some((o) => o.value === chosen) ? chosen : fallback;
}

export async function refreshDevices(): Promise<void> {
  state.devices = await api.listDevices();
}

export function fillDevicePickers(ids: [string, string, string], chosen: Settings, keepMissing = false): void {
  fillSelect($<HTMLSelectElement>(ids[0]), state.devices.cameras, chosen.camera, false, false, keepMissing);
  fillSelect($<HTMLSelectElement>(ids[1]), state.devices.microphones, chosen.microphone, false, true, keepMissing);
  fillSelect($<HTMLSelectElement>(ids[2]), state.devices.speakers, chosen.speaker, true, true, keepMissing);
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
