// The meeting's chat panel: messages to everyone or to one person, the
// unread count while it is closed, web links that open in the browser
// only when clicked. Text is always set as text, never as markup.

import { api, type ChatMessageView, type ChatPerson, type ChatState } from "../api";
import { $, messageOf, showError, span, toast } from "../dom";
import { t } from "../i18n";
import { loadFiles, resetFiles } from "./files";
import { loadHands } from "./hands";
import { loadRecorders } from "./recording";
import { chatOpen, clearUnread, newsArrived } from "./unread";

export { chatOpen };

/** A web address in a message (the punctuation that ends a sentence is not part of it). */
const WEB_LINK = /\bhttps?:\/\/[^\s<>"']+/g;
const TRAILING = /[.,;:!?)\]}'"»。，；：！？）]+$/u;
/** How much of a message a notice shows while the panel is closed. */
const NOTICE_CHARS = 80;
/** Messages the panel holds (the core keeps as many): the oldest go. */
const MAX_SHOWN = 1000;

let people: ChatPerson[] = [];
/** Ids shown, so a snapshot and an event do not show one twice. */
const shown = new Set<number>();
/** "Not sent" said before its message was shown (the reply is slower). */
const notSentEarly = new Map<number, string>();
/** The core told the chat's state or people since the meeting began: a
 * snapshot (asked for earlier) must not undo that. */
let told = { state: false, people: false };
/** A new meeting: nothing said yet. */
export function resetChat(): void {
  shown.clear();
  notSentEarly.clear();
  told = { state: false, people: false };
  $("chat").hidden = true;
  $("chat-log").replaceChildren();
  showError($("chat-error"), null);
  clearUnread();
  resetFiles();
  showPeople([]);
  showState("connecting", null);
}

/** What the chat has so far (the panel of a meeting joined a moment ago). */
export async function loadChat(): Promise<void> {
  const snapshot = await api.chatSnapshot().catch(() => null);
  if (!snapshot) return;
  if (!told.state) showState(snapshot.state, snapshot.reason);
  if (!told.people) showPeople(snapshot.people);
  loadHands(snapshot.handsReady, snapshot.handUp, snapshot.hands);
  loadFiles(snapshot.files);
  loadRecorders(snapshot.recorders ?? []);
  // Said before the panel was there: shown, not news.
  for (const m of snapshot.messages) addChatMessage({ ...m, history: true });
}

/** The chat's state, as the core tells it. */
export function renderChatState(chat: ChatState, reason: string | null): void {
  told.state = true;
  showState(chat, reason);
}

function showState(chat: ChatState, reason: string | null): void {
  const status = $("chat-status");
  status.textContent =
    chat === "connecting" ? t("chat.connecting") : chat === "unavailable" ? t("chat.unavailable", { reason: reason ?? "" }) : "";
  status.hidden = chat === "ready";
  $<HTMLButtonElement>("chat-send").disabled = chat !== "ready";
}

/** Everyone else in the chat, as the core tells it. */
export function renderChatPeople(list: ChatPerson[]): void {
  told.people = true;
  showPeople(list);
}

function showPeople(list: ChatPerson[]): void {
  people = list;
  const select = $<HTMLSelectElement>("chat-to");
  const chosen = select.value;
  const option = (value: string, text: string) => {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    return o;
  };
  select.replaceChildren(option("", t("chat.everyone")), ...list.map((p) => option(p.username, p.display)));
  // Someone who left cannot be written to alone: back to everyone.
  select.value = list.some((p) => p.username === chosen) ? chosen : "";
  placeholder();
}

function placeholder(): void {
  const to = people.find((p) => p.username === $<HTMLSelectElement>("chat-to").value);
  $<HTMLTextAreaElement>("chat-input").placeholder = to ? t("chat.placeholderTo", { name: to.display }) : t("chat.placeholder");
}

/** `text` into `el`, its web addresses as links the browser opens on a click. */
export function appendText(el: HTMLElement, text: string): void {
  let last = 0;
  for (const match of text.matchAll(WEB_LINK)) {
    const url = match[0].replace(TRAILING, "");
    const at = match.index ?? 0;
    el.append(text.slice(last, at));
    const a = document.createElement("a");
    a.href = url;
    a.textContent = url;
    a.rel = "noopener noreferrer";
    a.onclick = (ev) => {
      // The page never navigates: the system's browser opens it.
      ev.preventDefault();
      api.openWebLink(url).catch((e: unknown) => toast(messageOf(e), "error"));
    };
    el.append(a);
    last = at + url.length;
  }
  el.append(text.slice(last));
}

function markNotSent(li: HTMLElement, reason: string): void {
  if (li.classList.contains("not-sent")) return;
  li.classList.add("not-sent");
  li.append(" ", span("error", t("chat.notSent", { reason })));
}

function messageElement(m: ChatMessageView): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset.message = String(m.id);
  if (m.own) li.classList.add("own");
  li.append(span("who", m.own ? t("chat.you") : m.display));
  if (m.private) {
    li.append(" ", span("private", m.own ? t("chat.toName", { name: m.to ?? "" }) : t("chat.toYou")));
  }
  li.append("\n");
  appendText(li, m.text);
  if (m.cut) li.append(" ", span("hint", t("chat.cut")));
  const notSent = m.notSent ?? notSentEarly.get(m.id);
  if (notSent) markNotSent(li, notSent);
  return li;
}

/**
 * Shows a message once (a snapshot and an event may both bring it), in
 * the order the core numbered them. News (not ours, not history) counts
 * as unread while the panel is closed, and shows a notice.
 */
export function addChatMessage(m: ChatMessageView): void {
  if (shown.has(m.id)) return;
  shown.add(m.id);
  const log = $("chat-log");
  const li = messageElement(m);
  const later = [...log.children].find((el) => Number((el as HTMLElement).dataset.message) > m.id);
  log.insertBefore(li, later ?? null);
  while (log.children.length > MAX_SHOWN) {
    const oldest = log.firstElementChild as HTMLElement;
    shown.delete(Number(oldest.dataset.message));
    oldest.remove();
  }
  if (!later) log.scrollTop = log.scrollHeight;
  if (m.own || m.history) return;
  const text = m.text.length > NOTICE_CHARS ? `${m.text.slice(0, NOTICE_CHARS)}…` : m.text;
  newsArrived(t("chat.newFrom", { name: m.display, text }));
}

export function chatNotSent(id: number, reason: string): void {
  const li = $("chat-log").querySelector<HTMLElement>(`[data-message="${id}"]`);
  if (li) markNotSent(li, reason);
  else notSentEarly.set(id, reason);
}

$("chat-toggle").onclick = () => {
  const panel = $("chat");
  panel.hidden = !panel.hidden;
  if (!panel.hidden) {
    clearUnread();
    $("chat-input").focus();
  }
};

$("chat-to").onchange = placeholder;

// Enter sends, Shift+Enter starts a new line.
$("chat-input").onkeydown = (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    $<HTMLFormElement>("chat-form").requestSubmit();
  }
};

$("chat-form").onsubmit = async (ev) => {
  ev.preventDefault();
  const input = $<HTMLTextAreaElement>("chat-input");
  const text = input.value;
  if (text.trim() === "") return;
  const to = $<HTMLSelectElement>("chat-to").value || null;
  showError($("chat-error"), null);
  // Cleared at once, ready for the next message while this one goes.
  input.value = "";
  try {
    addChatMessage(await api.sendChat(text, to));
  } catch (e) {
    // What was typed comes back, to be sent again or shortened.
    if (input.value === "") input.value = text;
    showError($("chat-error"), messageOf(e));
  }
};
