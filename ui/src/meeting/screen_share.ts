// Sharing our screen: the picker (each screen with a thumbnail), the
// banner that says we share and stops it, and the button that does both.

import { api } from "../api";
import { $, messageOf, showError, toast } from "../dom";
import { t } from "../i18n";

let sharing = false;

/** A new meeting: nothing shared. */
export function resetScreenShare(): void {
  renderSharing(false);
  $("share-picker").hidden = true;
}

/** Whether we share, as the core tells it. */
export function renderSharing(now: boolean): void {
  sharing = now;
  $("sharing-banner").hidden = !now;
  const button = $("share-toggle");
  button.setAttribute("aria-pressed", String(now));
  button.textContent = t(now ? "screen.stop" : "screen.share");
}

async function openPicker(): Promise<void> {
  const list = $("share-sources");
  list.replaceChildren();
  showError($("share-error"), null);
  $("share-picker").hidden = false;
  const sources = await api.screenSources().catch(() => []);
  if (sources.length === 0) {
    const li = document.createElement("li");
    li.textContent = t("screen.none");
    list.append(li);
    $("share-cancel").focus();
    return;
  }
  for (const s of sources) {
    const li = document.createElement("li");
    const pick = document.createElement("button");
    pick.type = "button";
    pick.className = "share-source";
    const name = t("screen.entire", { width: s.width, height: s.height });
    if (s.thumbnail) {
      const img = document.createElement("img");
      img.src = s.thumbnail;
      img.alt = "";
      pick.append(img);
    }
    const label = document.createElement("span");
    label.textContent = name;
    pick.append(label);
    pick.onclick = async () => {
      pick.disabled = true;
      try {
        await api.startScreenShare(s.id);
        $("share-picker").hidden = true;
      } catch (e) {
        showError($("share-error"), messageOf(e));
      } finally {
        pick.disabled = false;
      }
    };
    li.append(pick);
    list.append(li);
  }
  list.querySelector<HTMLButtonElement>("button")?.focus();
}

async function stop(): Promise<void> {
  try {
    await api.stopScreenShare();
  } catch (e) {
    toast(messageOf(e), "error");
  }
}

$("share-toggle").onclick = () => void (sharing ? stop() : openPicker());
$("sharing-stop").onclick = () => void stop();
$("share-cancel").onclick = () => {
  $("share-picker").hidden = true;
  $("share-toggle").focus();
};
