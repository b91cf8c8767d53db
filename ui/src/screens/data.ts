// Privacy: choices, your data (see, export, delete) and withdrawal.

import { api, type PersonalData, type PrivacyChoice, type RecordingView } from "../api";
import { $, messageOf, showError } from "../dom";
import { renderRecent } from "./home";
import { enterSettings } from "./settings";
import { show } from "../state";
import { formatDateTime as when, formatDuration, formatNumber, kilobytes, type MessageKey, t } from "../i18n";

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
  state.textContent = choice.granted === null ? t("settings.choiceNotAsked") : "";
  label.append(box, " ", title, state);
  const why = document.createElement("p");
  why.className = "hint";
  why.textContent = choice.explanation;
  box.onchange = async () => {
    try {
      await api.setPrivacyChoice(choice.id, box.checked);
      state.textContent = "";
      $("privacy-status").textContent = t(box.checked ? "settings.choiceOn" : "settings.choiceOff", { title: choice.title });
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

function dataSection(section: string, title: MessageKey, rows: string[], empty: MessageKey): HTMLElement {
  const card = document.createElement("div");
  card.className = "card";
  card.dataset.section = section;
  const h = document.createElement("h2");
  h.textContent = t("data.section", { title: t(title), count: formatNumber(rows.length) });
  const ul = document.createElement("ul");
  for (const text of rows.length ? rows : [t(empty)]) {
    const li = document.createElement("li");
    li.textContent = text;
    ul.append(li);
  }
  card.append(h, ul);
  return card;
}

export function renderPersonalData(data: PersonalData): void {
  $("data-sections").replaceChildren(
    // The stored keys and subjects are shown as stored: they are what an
    // export holds.
    dataSection("settings", "data.profile", data.settings.filter((s) => s.value).map((s) => `${s.key}: ${s.value}`), "data.profileEmpty"),
    dataSection(
      "meetings",
      "data.meetings",
      data.meetings.map((m) =>
        t("data.meetingRow", { room: m.room, server: m.server, name: m.display_name, joined: when(m.joined_at), left: when(m.left_at) }),
      ),
      "data.meetingsEmpty",
    ),
    dataSection("schedules", "data.schedules", data.schedules.map((m) => `${m.title}: ${when(m.starts_at)} – ${when(m.ends_at)} (${m.link})`), "data.schedulesEmpty"),
    dataSection("scans", "data.scans", data.scans.map((s) => `${s.payload}, ${when(s.scanned_at)}`), "data.scansEmpty"),
    dataSection(
      "hosted",
      "data.hosted",
      (data.hosted_meetings ?? []).map((m) => t("data.hostedRow", { room: m.room, server: m.server, made: when(m.created_at) })),
      "data.hostedEmpty",
    ),
    dataSection(
      "consent",
      "data.consent",
      data.consent.map((c) =>
        t("data.consentRow", { subject: c.subject, answer: t(c.granted ? "data.yes" : "data.no"), version: c.policy_version, when: when(c.decided_at) }),
      ),
      "data.consentEmpty",
    ),
    dataSection("backgrounds", "data.backgrounds", data.backgrounds, "data.backgroundsEmpty"),
    dataSection("logs", "data.logs", data.logs.map((l) => t("data.logRow", { name: l.name, kb: kilobytes(l.bytes) })), "data.logsEmpty"),
  );
}

/** The recordings made here, each with Open and Delete (a second press deletes). */
export function renderRecordings(list: RecordingView[]): void {
  const card = document.createElement("div");
  card.className = "card";
  card.dataset.section = "recordings";
  const h = document.createElement("h2");
  h.textContent = t("data.section", { title: t("data.recordings"), count: formatNumber(list.length) });
  const ul = document.createElement("ul");
  if (!list.length) {
    const li = document.createElement("li");
    li.textContent = t("data.recordingsEmpty");
    ul.append(li);
  }
  for (const r of list) {
    const li = document.createElement("li");
    li.dataset.recording = String(r.id);
    const text = document.createElement("span");
    const at = { name: r.name, room: r.room, when: when(r.startedAt) };
    text.textContent =
      r.bytes === null
        ? t("data.recordingGone", at)
        : t("data.recordingRow", {
            ...at,
            length: r.durationMs === null ? "–" : formatDuration(r.durationMs),
            size: formatNumber(Math.round((r.bytes / (1024 * 1024)) * 10) / 10),
          });
    text.title = r.file;
    const open = document.createElement("button");
    open.className = "secondary recording-open";
    open.textContent = t("data.recordingOpen");
    open.disabled = r.bytes === null;
    open.onclick = () => void dataAction(async () => (await api.openRecording(r.id), ""));
    const remove = document.createElement("button");
    remove.className = "danger recording-delete";
    remove.textContent = t("data.recordingDelete");
    remove.onclick = () => {
      if (remove.dataset.armed !== "true") {
        remove.dataset.armed = "true";
        remove.textContent = t("data.recordingDeleteConfirm");
        return;
      }
      void dataAction(async () => {
        await api.deleteRecording(r.id);
        return t("data.recordingDeleted", { name: r.name });
      });
    };
    li.append(text, " ", open, " ", remove);
    ul.append(li);
  }
  card.append(h, ul);
  const hosted = $("data-sections").querySelector('[data-section="hosted"]');
  if (hosted) hosted.after(card);
  else $("data-sections").append(card);
}

async function renderAll(): Promise<void> {
  renderPersonalData(await api.personalData());
  renderRecordings(await api.recordings());
}

export async function enterPersonalData(): Promise<void> {
  show("data");
  $("data-status").textContent = "";
  try {
    await renderAll();
  } catch (e) {
    $("data-status").textContent = messageOf(e);
  }
}

export async function dataAction(action: () => Promise<string>): Promise<void> {
  try {
    $("data-status").textContent = await action();
    await renderAll();
  } catch (e) {
    $("data-status").textContent = messageOf(e);
  }
}

$("open-personal-data").onclick = () => void enterPersonalData();
$("data-back").onclick = () => void enterSettings();
$("data-export").onclick = () =>
  void dataAction(async () => t("data.exported", { path: await api.exportPersonalData() }));
$("data-delete-history").onclick = () =>
  void dataAction(async () => {
    await api.deleteHistory();
    void renderRecent();
    return t("data.historyDeleted");
  });
$("data-clear-cache").onclick = () =>
  void dataAction(async () => t("data.cacheCleared", { kb: kilobytes(await api.clearCache()) }));

$("upload-logs").onclick = async () => {
  $("upload-status").textContent = t("settings.uploading");
  try {
    const bytes = await api.uploadLogs();
    $("upload-status").textContent = t("settings.logsSent", { kb: kilobytes(bytes) });
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
  button.textContent = t("withdraw.deleting");
  try {
    await api.withdrawConsent();
    // The app closes now.
  } catch (e) {
    showError($("withdraw-error"), messageOf(e));
    button.disabled = false;
    button.textContent = t("common.tryAgain");
  }
};
