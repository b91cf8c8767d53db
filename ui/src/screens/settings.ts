// Settings, and About with the licences.

import { api, type Settings } from "../api";
import { fillDevicePickers, refreshDevices, SETTINGS_PICKERS } from "../devices";
import { $, messageOf } from "../dom";
import { BUNDLED_COMPONENTS, RUST_CRATES, SYSTEM_COMPONENTS } from "../licences";
import { renderPrivacyChoices } from "./data";
import { enterHome } from "./home";
import { show, state } from "../state";
import { t } from "../i18n";
import { fillLanguagePicker, speak } from "../language_picker";

export async function enterSettings(): Promise<void> {
  // The screen shows once its fields hold what is saved: shown first, a
  // name typed while the settings loaded was overwritten when they came.
  $("settings-status").textContent = "";
  try {
    state.settings = await api.getSettings();
    await refreshDevices();
  } catch (e) {
    $("settings-status").textContent = messageOf(e);
  }
  $<HTMLInputElement>("settings-display-name").value = state.settings.displayName;
  $<HTMLInputElement>("settings-upload-url").value = state.settings.logUploadUrl;
  $<HTMLTextAreaElement>("settings-ice-servers").value = state.settings.iceServers.join("\n");
  $<HTMLInputElement>("settings-ice-username").value = state.settings.iceUsername;
  $<HTMLInputElement>("settings-ice-credential").value = state.settings.iceCredential;
  $<HTMLInputElement>("settings-relay-only").checked = state.settings.relayOnly;
  $<HTMLInputElement>("settings-original-sound").checked = state.settings.originalSound;
  $<HTMLInputElement>("settings-recordings-folder").value = state.settings.recordingsFolder;
  fillDevicePickers(SETTINGS_PICKERS, state.settings, true);
  show("settings");
  const status = state.status;
  if (status) {
    fillLanguagePicker($<HTMLSelectElement>("settings-language"), status, state.settings.language);
    $("about-version").textContent = t("settings.version", { version: status.version, server: status.defaultServer });
    $("privacy-summary").textContent = t("settings.privacySummary", { title: status.policy.title, version: status.policy.version });
  }
  await renderPrivacyChoices();
}

$("settings-save").onclick = async () => {
  const next: Settings = {
    displayName: $<HTMLInputElement>("settings-display-name").value.trim(),
    camera: $<HTMLSelectElement>("settings-camera").value || null,
    microphone: $<HTMLSelectElement>("settings-mic").value || null,
    speaker: $<HTMLSelectElement>("settings-speaker").value || null,
    logUploadUrl: $<HTMLInputElement>("settings-upload-url").value.trim(),
    iceServers: $<HTMLTextAreaElement>("settings-ice-servers").value
      .split("\n").map((line) => line.trim()).filter((line) => line !== ""),
    iceUsername: $<HTMLInputElement>("settings-ice-username").value.trim(),
    iceCredential: $<HTMLInputElement>("settings-ice-credential").value,
    relayOnly: $<HTMLInputElement>("settings-relay-only").checked,
    originalSound: $<HTMLInputElement>("settings-original-sound").checked,
    language: $<HTMLSelectElement>("settings-language").value,
    recordingsFolder: $<HTMLInputElement>("settings-recordings-folder").value.trim(),
  };
  try {
    await api.setSettings(next);
    const languageChanged = next.language !== state.settings.language;
    state.settings = next;
    $<HTMLInputElement>("display-name").value = next.displayName;
    if (languageChanged) {
      // Everything on the screen again in the new language, the core's
      // texts (the privacy choices, the policy's title) included.
      state.status = await api.status();
      speak(state.status);
      renderLicences();
      await enterSettings();
    }
    $("settings-status").textContent = t("common.saved");
  } catch (e) {
    $("settings-status").textContent = messageOf(e);
  }
};

$("settings-back").onclick = () => void enterHome();

/** The licences in About, in the page's language (drawn again when it changes). */
export function renderLicences(): void {
  const list = $("licences");
  list.replaceChildren();
  // Names and licence identifiers are the same in every language.
  const item = (name: string, licence: string, note = ""): HTMLLIElement => {
    const li = document.createElement("li");
    const names = document.createElement("span");
    names.translate = false;
    names.textContent = `${name} — ${licence}`;
    li.append(names, note);
    return li;
  };
  for (const c of BUNDLED_COMPONENTS) list.append(item(c.name, c.licence));
  for (const c of SYSTEM_COMPONENTS) list.append(item(c.name, c.licence, t("settings.fromSystem")));
  const total = RUST_CRATES.reduce((n, group) => n + group.crates.length, 0);
  const details = document.createElement("details");
  details.id = "rust-crates";
  const summary = document.createElement("summary");
  summary.textContent = t("settings.rustCrates", { count: total });
  details.append(summary);
  for (const group of RUST_CRATES) {
    const p = document.createElement("p");
    p.translate = false;
    p.textContent = `${group.licence}: ${group.crates.join(", ")}`;
    details.append(p);
  }
  const li = document.createElement("li");
  li.append(details);
  list.append(li);
}
