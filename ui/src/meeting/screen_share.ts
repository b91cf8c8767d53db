// Sharing our screen: the picker (each screen with a thumbnail), the
// banner that says we share and stops it, and the button that does both.

import { api, type ScreenSource } from "../api";
import { $, messageOf, showError, toast } from "../dom";
import { t } from "../i18n";
import { withConsent } from "../permission";

let sharing = false;
/** A choice of the picker is starting (the desktop may still be asking). */
let starting = false;

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

/** One choice of the picker: its thumbnail, its name, and what picking it does. */
function sourceButton(s: ScreenSource): HTMLLIElement {
  const li = document.createElement("li");
  const pick = document.createElement("button");
  pick.type = "button";
  pick.className = "share-source";
  if (s.thumbnail) {
    const img = document.createElement("img");
    img.src = s.thumbnail;
    img.alt = "";
    pick.append(img);
  }
  const label = document.createElement("span");
  label.className = "share-source-name";
  label.textContent = s.byDesktop
    ? t("screen.byDesktop")
    : (s.title ?? t("screen.entire", { width: s.width, height: s.height }));
  pick.append(label);
  if (s.title !== null || s.byDesktop) {
    const size = document.createElement("span");
    size.className = "share-source-size";
    size.textContent = s.byDesktop
      ? t("screen.byDesktopHint")
      : t("screen.window", { width: s.width, height: s.height });
    pick.append(size);
  }
  pick.onclick = async () => {
    pick.disabled = true;
    starting = true;
    try {
      const sound = ($("share-sound") as HTMLInputElement).checked;
      // The computer's sound is recorded audio: the microphone's permission.
      await withConsent(() => api.startScreenShare(s.id, sound));
      $("share-picker").hidden = true;
    } catch (e) {
      showError($("share-error"), messageOf(e));
    } finally {
      starting = false;
      pick.disabled = false;
    }
  };
  li.append(pick);
  return li;
}

async function openPicker(): Promise<void> {
  const screens = $("share-sources");
  const windows = $("share-windows");
  screens.replaceChildren();
  windows.replaceChildren();
  showError($("share-error"), null);
  $("share-picker").hidden = false;
  const sources = await api.screenSources().catch(() => []);
  if (sources.length === 0) {
    const li = document.createElement("li");
    li.textContent = t("screen.none");
    screens.append(li);
  }
  for (const s of sources) {
    (s.title === null ? screens : windows).append(sourceButton(s));
  }
  // Where the desktop picks, it alone decides what is left out.
  const byDesktop = sources.some((s) => s.byDesktop);
  const hint = $("share-hint");
  const said = byDesktop ? "screen.pickHintDesktop" : "screen.pickHint";
  hint.dataset.i18n = said;
  hint.textContent = t(said);
  const anyWindow = windows.childElementCount > 0;
  windows.hidden = !anyWindow;
  $("share-windows-title").hidden = !anyWindow;
  const first = $("share-picker").querySelector<HTMLButtonElement>(".share-source");
  (first ?? $("share-cancel")).focus();
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
  // A choice still starting (a desktop's own dialog open) is called off.
  if (starting) void stop();
};
