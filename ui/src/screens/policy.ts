// The privacy policy, accepted or declined before anything else.

import { api, type AppStatus } from "../api";
import { $, messageOf, toast } from "../dom";
import { enterHome } from "./home";
import { state } from "../state";

export function renderPolicy(status: AppStatus): void {
  $("policy-title").textContent = status.policy.title;
  // Plain text, never HTML: the policy file is data.
  $("policy-text").textContent = status.policy.text;
}

$("policy-accept").onclick = async () => {
  if (!state.status) return;
  try {
    await api.acceptPolicy(state.status.policy.version);
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
    toast(`TalkLine could not close: ${messageOf(e)}. Close the window to quit.`, "error");
  }
};
