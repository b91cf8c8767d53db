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

/** A size as people read it. */
export function sizeText(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} KB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

const seen = new Set<string>();

/** A new meeting: no files. */
export function resetFiles(): void {
  seen.clear();
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
  const status = document.createElement("span");
  status.className = "file-status";
  status.setAttribute("role", "status");
  if (f.own) {
    if (f.deliveredTo > 0) status.textContent = t("files.deliveredN", { count: f.deliveredTo });
  } else if (f.state === "receiving") {
    status.textContent = t("files.receiving", { percent: Math.floor((100 * f.received) / Math.max(f.size, 1)) });
  } else if (f.state === "saved") {
    status.textContent = t("files.saved", { path: f.savedAs ?? "" });
  } else if (f.state === "failed") {
    status.classList.add("error");
    status.textContent = t("files.failed", { reason: f.error ?? "" });
  }
  // Saved again after a failure, or for the first time.
  if (!f.own && (f.state === "offered" || f.state === "failed")) {
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
  li.append(" ", status);
  return li;
}

/** A file as the core tells it: shown once, then updated in place. */
export function renderFile(f: FileView, news = true): void {
  const log = $("chat-log");
  const li = fileLine(f);
  const old = log.querySelector<HTMLElement>(`li[data-file="${CSS.escape(f.id)}"]`);
  if (old) {
    old.replaceWith(li);
    return;
  }
  log.append(li);
  log.scrollTop = log.scrollHeight;
  if (seen.has(f.id)) return;
  seen.add(f.id);
  if (news && !f.own) newsArrived(t("files.newFrom", { name: f.display, file: f.name }));
}

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
