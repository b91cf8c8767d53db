// Recording the meeting on this device: the button that starts and stops
// it, and the banner everyone in the meeting sees while anyone records
// (the core tells the others; they tell us).

import { api } from "../api";
import { $, messageOf, toast } from "../dom";
import { formatList, t } from "../i18n";

let own = false;
let others: string[] = [];
/** The core told who records since the meeting began: a snapshot asked for earlier must not undo it. */
let told = false;
/** A press under way: a second press waits for it. */
let pressing = false;

/** A new meeting: nobody records. */
export function resetRecording(): void {
  own = false;
  others = [];
  told = false;
  pressing = false;
  render();
}

/** Our own recording started or stopped (on its own, `reason` says why). */
export function renderRecording(recording: boolean, file: string | null, reason: string | null): void {
  own = recording;
  render();
  if (recording) return;
  if (reason) toast(t("recording.stoppedBy", { reason }), "error");
  else if (file) toast(t("recording.saved", { file }));
}

/** Who else records, as the core tells it; `started`: who just began. */
export function renderRecorders(list: string[], started: string | null): void {
  told = true;
  others = list;
  render();
  if (started) toast(t("recording.started", { name: started }), "warn");
}

/** Who records, from the chat's snapshot (a meeting joined a moment ago). */
export function loadRecorders(list: string[]): void {
  if (told) return;
  others = list;
  render();
}

function render(): void {
  const banner = $("recording-banner");
  banner.hidden = !own && others.length === 0;
  const names = formatList(others);
  $("recording-text").textContent = own
    ? others.length
      ? t("recording.youAndOthers", { names })
      : t("recording.you")
    : t("recording.others", { names });
  $("recording-stop").hidden = !own;
  const button = $<HTMLButtonElement>("record-toggle");
  button.setAttribute("aria-pressed", String(own));
  button.textContent = t(own ? "recording.stop" : "recording.start");
  button.disabled = pressing;
}

async function toggle(): Promise<void> {
  if (pressing) return;
  pressing = true;
  render();
  try {
    if (own) await api.stopRecording();
    else await api.startRecording();
  } catch (e) {
    toast(messageOf(e), "error");
  } finally {
    pressing = false;
    render();
  }
}

$("record-toggle").onclick = () => void toggle();
$("recording-stop").onclick = () => void toggle();
