// The meeting's chat panel: messages to everyone or to one person, the
// unread count while it is closed, web links that open in the browser
// only when clicked. Text is always set as text, never as markup.

import { api, type ChatMessageView, type ChatPerson, type ChatState } from "../api";
import { $, messageOf, showError, toast } from "../dom";
import { t } from "../i18n";

/** A web address in a message (the punctuation that ends a sentence is not part of it). */
const WEB_LINK = /\bhttps?:\/\/[^\s<>"']+/g;
const TRAILING = /[.,;:!?)\]}'"»。，；：！？）]+$/u;
/** How much of a message a notice shows while the panel is closed. */
const NOTICE_CHARS = 80;

let unread = 0;
let people: ChatPerson[] = [];

export function chatOpen(): boolean {
  return !$("chat").hidden;
}

/** A new meeting: nothing said yet. */
export function resetChat(): void {
  unread = 0;
  $("chat").hidden = true;
  $("chat-log").replaceChildren();
  showError($("chat-error"), null);
  renderUnread();
  renderChatPeople([]);
  renderChatState("connecting", null);
}

/** What the chat has so far (the panel of a meeting joined a moment ago). */
export async function loadChat(): Promise<void> {
  const snapshot = await api.chatSnapshot().catch(() => null);
  if (!snapshot) return;
  renderChatState(snapshot.state, snapshot.reason);
  renderChatPeople(snapshot.people);
  for (const m of snapshot.messages) addChatMessage(m, false);
}

export function renderChatState(chat: ChatState, reason: string | null): void {
  const status = $("chat-status");
  status.textContent =
    chat === "connecting" ? t("chat.connecting") : chat === "unavailable" ? t("chat.unavailable", { reason: reason ?? "" }) : "";
  status.hidden = chat === "ready";
  $<HTMLButtonElement>("chat-send").disabled = chat !== "ready";
}

export function renderChatPeople(list: ChatPerson[]): void {
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

function span(className: string, text: string): HTMLSpanElement {
  const s = document.createElement("span");
  s.className = className;
  s.textContent = text;
  return s;
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
  return li;
}

/** Shows a message once (a snapshot and an event may both bring it). */
export function addChatMessage(m: ChatMessageView, notify = true): void {
  const log = $("chat-log");
  if (log.querySelector(`[data-message="${m.id}"]`)) return;
  log.append(messageElement(m));
  log.scrollTop = log.scrollHeight;
  if (!m.own && !chatOpen()) {
    unread += 1;
    renderUnread();
    if (notify) {
      const text = m.text.length > NOTICE_CHARS ? `${m.text.slice(0, NOTICE_CHARS)}…` : m.text;
      toast(t("chat.newFrom", { name: m.display, text }));
    }
  }
}

export function chatNotSent(id: number, reason: string): void {
  const li = $("chat-log").querySelector<HTMLElement>(`[data-message="${id}"]`);
  if (!li) return;
  li.classList.add("not-sent");
  li.append(" ", span("error", t("chat.notSent", { reason })));
}

function renderUnread(): void {
  const badge = $("chat-unread");
  badge.hidden = unread === 0;
  badge.textContent = String(unread);
  badge.setAttribute("aria-label", t("chat.unreadN", { count: unread }));
}

$("chat-toggle").onclick = () => {
  const panel = $("chat");
  panel.hidden = !panel.hidden;
  if (!panel.hidden) {
    unread = 0;
    renderUnread();
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
  try {
    addChatMessage(await api.sendChat(text, to));
    input.value = "";
  } catch (e) {
    // What was typed stays, to be sent again or shortened.
    showError($("chat-error"), messageOf(e));
  }
};
