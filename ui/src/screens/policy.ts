// The privacy policy, accepted or declined before anything else.

import { api, type AppStatus } from "../api";
import { $, messageOf, toast } from "../dom";
import { enterHome } from "./home";
import { state } from "../state";
import { t } from "../i18n";
import { fillLanguagePicker, speak } from "../language_picker";
import { renderLicences } from "./settings";

export function renderPolicy(status: AppStatus, chosenLanguage = ""): void {
  $("policy-title").textContent = status.policy.title;
  // Plain text, never HTML: the policy file is data.
  $("policy-text").textContent = status.policy.text;
  $("policy-text").lang = status.language;
  fillLanguagePicker($<HTMLSelectElement>("policy-language"), status, chosenLanguage);
}

// Read in another language before accepting: the same policy, the same
// version. The choice is kept once the policy is accepted.
$<HTMLSelectElement>("policy-language").onchange = async () => {
  const chosen = $<HTMLSelectElement>("policy-language").value;
  try {
    await api.setLanguage(chosen);
    const status = await api.status();
    state.status = status;
    speak(status);
    renderPolicy(status, chosen);
  } catch (e) {
    toast(messageOf(e), "error");
  }
};

$("policy-accept").onclick = async () => {
  if (!state.status) return;
  try {
    await api.acceptPolicy(state.status.policy.version);
    // A language kept from an earlier acceptance may speak now.
    state.status = await api.status();
    speak(state.status);
    renderLicences();
    await enterHome();
  } catch (e) {
    toast(messageOf(e), "error");
  }
};

$("policy-decline").onclick = async () => {
  // The shell exits; nothing was stored.
  try {
    await api.declinePolicy();
  } catch (e) {
    toast(t("app.couldNotClose", { reason: messageOf(e) }), "error");
  }
};
