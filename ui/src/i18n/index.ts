// The page's language: English or Simplified Chinese, as the core says
// (the system's, or the user's choice). Texts in index.html name their key
// in `data-i18n` (the text) or `data-i18n-<attribute>` (title, aria-label,
// placeholder); texts made by code go through `t`.

import { en, type MessageKey } from "./en";
import { zhCN } from "./zh-CN";

export type Language = "en" | "zh-CN";
export type { MessageKey };

const catalogs: Record<Language, Record<MessageKey, string>> = { en, "zh-CN": zhCN };

let current: Language = "en";

/** A tag from the core, a browser or a locale: any Chinese is zh-CN. */
export function languageOf(tag: string | null | undefined): Language {
  return tag?.toLowerCase().startsWith("zh") ? "zh-CN" : "en";
}

export function language(): Language {
  return current;
}

/** The text of `key` in the page's language, `{name}`s filled in. */
export function t(key: MessageKey, values: Record<string, string | number> = {}): string {
  // An unknown key (a value from outside, mistyped) shows as itself.
  const text = catalogs[current][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in values ? String(values[name]) : whole,
  );
}

const ATTRIBUTES = ["title", "aria-label", "placeholder"] as const;

/** Puts every marked text under `root` in the page's language. */
export function translatePage(root: ParentNode = document): void {
  for (const el of root.querySelectorAll<HTMLElement>("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n as MessageKey);
  }
  for (const attribute of ATTRIBUTES) {
    for (const el of root.querySelectorAll<HTMLElement>(`[data-i18n-${attribute}]`)) {
      el.setAttribute(attribute, t(el.getAttribute(`data-i18n-${attribute}`) as MessageKey));
    }
  }
}

/** Switches the page's language: what index.html holds changes at once;
 * texts made by code change when their screen is drawn again. */
export function setLanguage(next: Language): void {
  current = next;
  document.documentElement.lang = next;
  translatePage();
}

/** A moment (Unix seconds) as people of this language write it. */
export function formatDateTime(unix: number | null): string {
  if (!unix) return t("common.none");
  return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeStyle: "short" }).format(
    new Date(unix * 1000),
  );
}

export function formatNumber(n: number): string {
  return new Intl.NumberFormat(current).format(n);
}

/** Names as a list in this language ("A, B and C"; "A、B和C"). */
export function formatList(names: string[]): string {
  return new Intl.ListFormat(current, { style: "long", type: "conjunction" }).format(names);
}

/** A length of time as minutes and seconds (1:05), or hours too (1:02:03). */
export function formatDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  const [h, m, s] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  const two = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${m}:${two(s)}`;
}

/** Kilobytes, rounded up, as this language writes numbers. */
export function kilobytes(bytes: number): string {
  return formatNumber(Math.ceil(bytes / 1024));
}
