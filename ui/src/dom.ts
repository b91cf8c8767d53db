// Small DOM helpers shared by every screen.

import { api, AppFailure } from "./api";
import { language, type MessageKey, t } from "./i18n";

export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
}

export function showError(el: HTMLElement, message: string | null): void {
  el.textContent = message ?? "";
  el.hidden = !message;
}

/**
 * Shows why something failed; when the operating system refused a device
 * and has a privacy page for it, offers to open that page.
 */
export function showFailure(el: HTMLElement, e: unknown): void {
  showError(el, messageOf(e));
  if (!(e instanceof AppFailure) || e.kind !== "system_refused" || !e.settingsPage || !e.permission) return;
  const permission = e.permission;
  const open = document.createElement("button");
  open.type = "button";
  open.className = "link";
  open.textContent = t("common.openSystemSettings");
  open.onclick = () => void api.openSystemSettings(permission).catch((err) => showError(el, messageOf(err)));
  el.append(" ", open);
}

export function toast(message: string, kind: "info" | "warn" | "error" = "info"): HTMLElement {
  const el = document.createElement("div");
  el.className = `toast ${kind}`;
  el.textContent = message;
  $("toasts").append(el);
  setTimeout(() => el.remove(), 6000);
  return el;
}

/**
 * What went wrong, for the user, in the page's language. The core says its
 * errors in Chinese too; one it has only in English is led by the kind of
 * failure in the page's language.
 */
export function messageOf(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (language() === "en" || !(e instanceof AppFailure)) return message;
  if (e.chinese) return e.chinese;
  const lead = Object.hasOwn(FAILURE_KINDS, e.kind) ? FAILURE_KINDS[e.kind] : undefined;
  return lead ? t("error.withDetail", { lead: t(lead), detail: message }) : message;
}

const FAILURE_KINDS: Record<string, MessageKey> = {
  link: "error.link",
  unreachable: "error.unreachable",
  refused: "error.refused",
  connection: "error.connection",
  media: "error.media",
  consent_denied: "error.consentDenied",
  system_refused: "error.systemRefused",
  policy: "error.policy",
  state: "error.state",
  store: "error.store",
  invalid: "error.invalid",
};

export function button(text: string, action: () => void, kind = "link"): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.className = kind;
  b.textContent = text;
  b.onclick = action;
  return b;
}

/**
 * Keeps a button's `aria-expanded` true to whether the panel it opens is
 * shown, however the panel is opened or closed (its button, Esc, another
 * panel taking its place): screen readers say "expanded" or "collapsed".
 */
export function disclosure(buttonId: string, panelId: string): void {
  const button = $(buttonId);
  const panel = $(panelId);
  const sync = () => button.setAttribute("aria-expanded", String(!panel.hidden));
  new MutationObserver(sync).observe(panel, { attributes: true, attributeFilter: ["hidden"] });
  sync();
}

/** A span of `text` (as text, never markup) with a class. */
export function span(className: string, text: string): HTMLSpanElement {
  const s = document.createElement("span");
  s.className = className;
  s.textContent = text;
  return s;
}
