// Privacy: choices, your data (see, export, delete) and withdrawal.

import { api, type PersonalData, type PrivacyChoice } from "../api";
import { $, messageOf, showError } from "../dom";
import { renderRecent } from "./home";
import { enterSettings } from "./settings";
import { show } from "../state";

export function renderChoice(choice: PrivacyChoice): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset.choice = choice.id;
  const label = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.id = `choice-${choice.id}`;
  box.checked = choice.granted === true;
  const title = document.createElement("strong");
  title.textContent = choice.title;
  const state = document.createElement("span");
  state.className = "choice-state";
  state.textContent = choice.granted === null ? " (not asked yet)" : "";
  label.append(box, " ", title, state);
  const why = document.createElement("p");
  why.className = "hint";
  why.textContent = choice.explanation;
  box.onchange = async () => {
    try {
      await api.setPrivacyChoice(choice.id, box.checked);
      state.textContent = "";
      $("privacy-status").textContent = `${choice.title}: ${box.checked ? "on" : "off"}.`;
    } catch (e) {
      box.checked = !box.checked;
      $("privacy-status").textContent = messageOf(e);
    }
  };
  li.append(label, why);
  return li;
}

export async function renderPrivacyChoices(): Promise<void> {
  const list = $("privacy-choices");
  try {
    const choices = await api.privacyChoices();
    list.replaceChildren(...choices.map(renderChoice));
  } catch (e) {
    $("privacy-status").textContent = messageOf(e);
  }
}

export function when(unix: number | null): string {
  return unix ? new Date(unix * 1000).toLocaleString() : "—";
}

export function dataSection(title: string, rows: string[], empty: string): HTMLElement {
  const card = document.createElement("div");
  card.className = "card";
  card.dataset.section = title;
  const h = document.createElement("h2");
  h.textContent = `${title} (${rows.length})`;
  const ul = document.createElement("ul");
  for (const text of rows.length ? rows : [empty]) {
    const li = document.createElement("li");
    li.textContent = text;
    ul.append(li);
  }
  card.append(h, ul);
  return card;
}

export function renderPersonalData(data: PersonalData): void {
  $("data-sections").replaceChildren(
    dataSection("Profile and settings", data.settings.filter((s) => s.value).map((s) => `${s.key}: ${s.value}`), "Nothing set."),
    dataSection("Meeting history", data.meetings.map((m) => `Meeting ${m.room} on ${m.server} as ${m.display_name}, ${when(m.joined_at)} – ${when(m.left_at)}`), "No meetings."),
    dataSection("Scheduled meetings", data.schedules.map((m) => `${m.title}: ${when(m.starts_at)} – ${when(m.ends_at)} (${m.link})`), "No schedules."),
    dataSection("Scan records", data.scans.map((s) => `${s.payload}, ${when(s.scanned_at)}`), "No scans."),
    dataSection("Consent ledger", data.consent.map((c) => `${c.subject}: ${c.granted ? "yes" : "no"} (policy ${c.policy_version}), ${when(c.decided_at)}`), "No answers."),
    dataSection("Your backgrounds", data.backgrounds, "None."),
    dataSection("Logs", data.logs.map((l) => `${l.name} (${Math.ceil(l.bytes / 1024)} KB)`), "No logs."),
  );
}

export async function enterPersonalData(): Promise<void> {
  show("data");
  $("data-status").textContent = "";
  try {
    renderPersonalData(await api.personalData());
  } catch (e) {
    $("data-status").textContent = messageOf(e);
  }
}

export async function dataAction(action: () => Promise<string>): Promise<void> {
  try {
    $("data-status").textContent = await action();
    renderPersonalData(await api.personalData());
  } catch (e) {
    $("data-status").textContent = messageOf(e);
  }
}

$("open-personal-data").onclick = () => void enterPersonalData();
$("data-back").onclick = () => void enterSettings();
$("data-export").onclick = () =>
  void dataAction(async () => `A complete copy was saved to ${await api.exportPersonalData()}.`);
$("data-delete-history").onclick = () =>
  void dataAction(async () => {
    await api.deleteHistory();
    void renderRecent();
    return "Meeting history and scan records deleted.";
  });
$("data-clear-cache").onclick = () =>
  void dataAction(async () => `Cache cleared (${Math.ceil((await api.clearCache()) / 1024)} KB).`);

$("upload-logs").onclick = async () => {
  $("upload-status").textContent = "Uploading…";
  try {
    const bytes = await api.uploadLogs();
    $("upload-status").textContent = `Logs sent (${Math.ceil(bytes / 1024)} KB).`;
  } catch (e) {
    $("upload-status").textContent = messageOf(e);
  }
};

$("withdraw-consent").onclick = () => {
  showError($("withdraw-error"), null);
  $("withdraw-dialog").hidden = false;
  $("withdraw-cancel").focus();
};
$("withdraw-cancel").onclick = () => {
  $("withdraw-dialog").hidden = true;
};
$("withdraw-confirm").onclick = async () => {
  const button = $<HTMLButtonElement>("withdraw-confirm");
  button.disabled = true;
  button.textContent = "Deleting…";
  try {
    await api.withdrawConsent();
    // The app closes now.
  } catch (e) {
    showError($("withdraw-error"), messageOf(e));
    button.disabled = false;
    button.textContent = "Try again";
  }
};
