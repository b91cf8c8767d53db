// The language pickers (the policy screen's and Settings'): "" follows the
// system, else one of the languages the app speaks, each named in itself.

import { type AppStatus } from "./api";
import { type Language, languageOf, setLanguage, t } from "./i18n";

const LANGUAGES: Language[] = ["en", "zh-CN"];

/** Fills `select` with the choices, `chosen` ("" for the system's) selected. */
export function fillLanguagePicker(select: HTMLSelectElement, status: AppStatus, chosen: string): void {
  const system = t(`language.${languageOf(status.systemLanguage)}`);
  select.replaceChildren(
    new Option(t("language.system", { language: system }), ""),
    ...LANGUAGES.map((l) => {
      const option = new Option(t(`language.${l}`), l);
      // Each name read in its own language by a screen reader.
      option.lang = l;
      return option;
    }),
  );
  select.value = LANGUAGES.includes(chosen as Language) ? chosen : "";
}

/** The page in the language the core now speaks. */
export function speak(status: AppStatus): void {
  setLanguage(languageOf(status.language));
}
