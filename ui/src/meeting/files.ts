// Files in the chat panel: "Share a file…" offers one to the meeting (or
// to the person picked in "To"); each file offered shows in the log with
// who shared it and its size, a button to save it in Downloads, how far
// it has come, and where it was saved (or why it was not).

import { api, type FileView } from "../api";
import { $, messageOf, showError, span } from "../dom";
import { t } from "../i18n";
import { newsArrived } from "./unread";

/** The core's limit, checked here first so a large file never crosses the IPC. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** File lines the panel holds (the core lists as many): the oldest go. */
const MAX_FILE_LINES = 200;

/** A size as people read it. */
export function sizeText(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} KB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** Each file as last shown: a reply or snapshot older than an event must not undo it. */
const shown = new Map<string, FileView>();

/** How far along a file is; a later state is never replaced by an earlier one. */
function rank(f: FileView): number {
  return { offered: 0, receiving: 1, delivered: 1, failed: 2, saved: 3 }[f.state];
}

/** A new meeting: no files. */
export function resetFiles(): void {
  shown.clear();
}

/** Files offered before the panel was there (not news). */
export function loadFiles(files: FileView[]): void {
  for (const f of files) renderFile(f, false);
}

function fileLine(f: FileView): HTMLLIElement {
  const li = document.createElement("li");
  li.className = "file";
  li.dataset.file = f.id;
  if (f.own) li.classList.add("own");
  li.append(span("who", f.own ? t("chat.you") : f.display));
  if (f.private) li.append(" ", span("private", f.own ? t("chat.toName", { name: f.display }) : t("chat.toYou")));
  li.append("\n", span("file-name", `📎 ${t("files.offered", { name: f.name, size: sizeText(f.size) })}`));
  if (!f.own) {
    const save = document.createElement("button");
    save.type = "button";
    save.className = "secondary file-save";
    save.textContent = t("files.save");
    save.title = t("files.saveTitle", { name: f.name });
    save.onclick = async () => {
      save.disabled = true;
      try {
        renderFile(await api.saveSharedFile(f.id), false);
      } catch (e) {
        save.disabled = false;
        showError($("chat-error"), messageOf(e));
      }
    };
    li.append(" ", save);
  }
  const status = document.createElement("span");
  status.className = "file-status";
  status.setAttribute("role", "status");
  li.append(" ", status);
  return li;
}

/** The line's button and status as the file is now (in place: focus and announcements stay). */
function update(li: HTMLElement, f: FileView): void {
  const save = li.querySelector<HTMLButtonElement>(".file-save");
  // Saved again after a failure, or for the first time.
  if (save) {
    save.hidden = !(f.state === "offered" || f.state === "failed");
    save.disabled = false;
  }
  const status = li.querySelector<HTMLElement>(".file-status");
  if (!status) return;
  status.classList.toggle("error", f.state === "failed");
  let text = "";
  if (f.own) {
    if (f.deliveredTo > 0) text = t("files.deliveredN", { count: f.deliveredTo });
  } else if (f.state === "receiving") {
    text = t("files.receiving", { percent: Math.floor((100 * f.received) / Math.max(f.size, 1)) });
  } else if (f.state === "saved") {
    text = t("files.saved", { path: f.savedAs ?? "" });
  } else if (f.state === "failed") {
    text = t("files.failed", { reason: f.error ?? "" });
  }
  if (status.textContent !== text) status.textContent = text;
}

/** A file as the core tells it: shown once, then updated in place. */
export function renderFile(f: FileView, news = true): void {
  const before = shown.get(f.id);
  // Never back: "saved" stays; a new try after a failure starts again.
  const retry = before?.state === "failed" && f.state === "receiving";
  if (before && rank(f) < rank(before) && !retry) return;
  if (before && f.own && f.deliveredTo < before.deliveredTo) return;
  shown.set(f.id, f);
  const log = $("chat-log");
  let li = log.querySelector<HTMLElement>(`li[data-file="${CSS.escape(f.id)}"]`);
  if (!li) {
    li = fileLine(f);
    log.append(li);
    const lines = log.querySelectorAll("li.file");
    if (lines.length > MAX_FILE_LINES) lines[0].remove();
    log.scrollTop = log.scrollHeight;
    if (!before && news && !f.own) newsArrived(t("files.newFrom", { name: f.display, file: f.name }));
  }
  update(li, f);
}

$("chat-attach").onclick = () => $("chat-file").click();

$("chat-file").onchange = async () => {
  const input = $<HTMLInputElement>("chat-file");
  const file = input.files?.[0];
  input.value = "";
  if (!file) return;
  showError($("chat-error"), null);
  if (file.size > MAX_FILE_BYTES) {
    showError($("chat-error"), t("files.tooLarge"));
    return;
  }
  const to = $<HTMLSelectElement>("chat-to").value || null;
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    renderFile(await api.shareFile(file.name, to, bytes), false);
  } catch (e) {
    showError($("chat-error"), messageOf(e));
  }
};
