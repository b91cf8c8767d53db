// The permission prompt: an Appendix II permission asked just in time, with
// its purpose text, and the answer recorded in the consent ledger.

import { api, AppFailure } from "./api";
import { $ } from "./dom";
import { t } from "./i18n";

export function askPermission(title: string, purpose: string): Promise<boolean> {
  $("permission-title").textContent = title;
  $("permission-purpose").textContent = purpose;
  const modal = $("permission-prompt");
  modal.hidden = false;
  $("permission-allow").focus();
  return new Promise((resolve) => {
    const done = (granted: boolean) => {
      modal.hidden = true;
      $("permission-allow").onclick = null;
      $("permission-deny").onclick = null;
      resolve(granted);
    };
    $("permission-allow").onclick = () => done(true);
    $("permission-deny").onclick = () => done(false);
  });
}

/** Runs `action`; when the core needs a permission first, asks, records the answer, and runs it again. */
export async function withConsent<T>(action: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await action();
    } catch (e) {
      if (!(e instanceof AppFailure) || e.kind !== "consent_needed" || !e.permission || attempt >= 3) throw e;
      const granted = await askPermission(e.title ?? e.permission, e.purpose ?? "");
      // A permission's answer or a feature's consent: one ledger.
      await api.setPrivacyChoice(e.permission, granted);
      // No means no: the feature stays off, and the user is not asked again.
      if (!granted) throw new Error(t("permission.staysOff", { permission: e.title ?? e.permission }));
    }
  }
}
