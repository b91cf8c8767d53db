// What arrived in the chat panel while it was closed: counted on its
// button, and told briefly (one notice at a time, the newest).

import { $, toast } from "../dom";
import { t } from "../i18n";

let unread = 0;
/** The one notice of news: the next replaces it. */
let notice: HTMLElement | null = null;

export function chatOpen(): boolean {
  return !$("chat").hidden;
}

/** News in the chat: counted and told while the panel is closed. */
export function newsArrived(text: string): void {
  if (chatOpen()) return;
  unread += 1;
  renderUnread();
  notice?.remove();
  notice = toast(text);
}

/** The panel was opened, or a new meeting began. */
export function clearUnread(): void {
  unread = 0;
  renderUnread();
}

function renderUnread(): void {
  const badge = $("chat-unread");
  badge.hidden = unread === 0;
  badge.textContent = String(unread);
  badge.setAttribute("aria-label", t("chat.unreadN", { count: unread }));
}
