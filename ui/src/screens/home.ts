// Home: join by ID or link, recent meetings, and links opened from outside.

import { api } from "../api";
import { $, messageOf, showError, toast } from "../dom";
import { enterPrejoin, joining } from "./prejoin";
import { enterScan } from "./scan";
import { renderUpcoming } from "./schedule";
import { enterSettings } from "./settings";
import { show, state } from "../state";
import { stopLoops } from "../video";
import { formatDateTime, t } from "../i18n";

/**
 * A meeting link opened from outside (a browser, the system's link handler,
 * a second start of the app) goes to its meeting's pre-join, as if typed on
 * Home: it never joins by itself. Before the policy is accepted, and during
 * a meeting (the user is told), it waits in the core until Home.
 */
export async function openLinkFromOutside(): Promise<void> {
  if (state.screen === "policy") return;
  if (state.screen === "meeting" || joining()) {
    // Kept in the core: Home takes it when this meeting is over.
    toast(t("home.linkWaits"), "info");
    return;
  }
  const link = await api.takeOpenedLink().catch(() => null);
  if (link === null) return;
  if (state.screen === "scan") await api.stopScan().catch(() => {});
  if (state.screen !== "home") await enterHome();
  joinFromHome(link);
}

export async function enterHome(): Promise<void> {
  stopLoops();
  // A meeting that ended under an open leave question has nothing to leave.
  $("leave-dialog").hidden = true;
  await api.stopPreview().catch(() => {});
  show("home");
  try {
    state.settings = await api.getSettings();
    const name = $<HTMLInputElement>("display-name");
    if (!name.value) name.value = state.settings.displayName;
  } catch (e) {
    toast(messageOf(e), "error");
  }
  void renderRecent();
  void renderUpcoming();
  $("meeting-input").focus();
  // A link opened from outside while the app started, before the policy
  // was accepted, or during the meeting that just ended.
  await openLinkFromOutside();
}

export async function renderRecent(): Promise<void> {
  const list = $("recent-meetings");
  list.replaceChildren();
  try {
    const recent = await api.recentMeetings();
    if (recent.length === 0) {
      const li = document.createElement("li");
      li.className = "hint";
      li.textContent = t("home.recentEmpty");
      list.append(li);
    }
    for (const m of recent) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.className = "link";
      const when = formatDateTime(m.joinedAt);
      button.textContent = t("common.meetingN", { room: m.room });
      button.title = `${m.server} — ${when}`;
      button.onclick = () => {
        $<HTMLInputElement>("meeting-input").value = `talkline://join?server=${encodeURIComponent(m.server)}&room=${m.room}`;
        $("home-join").click();
      };
      const small = document.createElement("small");
      small.textContent = ` ${when}`;
      li.append(button, small);
      list.append(li);
    }
  } catch (e) {
    showError($("home-error"), messageOf(e));
  }
}

/** Joins through the Home form's own path (name check, pre-join). */
export function joinFromHome(input: string): void {
  $<HTMLInputElement>("meeting-input").value = input;
  $<HTMLFormElement>("home-form").requestSubmit();
}

$("home-form").onsubmit = async (ev) => {
  ev.preventDefault();
  const input = $<HTMLInputElement>("meeting-input").value.trim();
  const name = $<HTMLInputElement>("display-name").value.trim();
  showError($("home-error"), null);
  try {
    const target = await api.parseMeeting(input);
    if (!name) {
      showError($("home-error"), t("home.nameNeeded"));
      $("display-name").focus();
      return;
    }
    state.meetingInput = input;
    state.room = target.room;
    $("prejoin-title").textContent = t("common.meetingN", { room: target.room });
    // What will be joined, said before joining (a scanned code's server).
    $("prejoin-where").textContent = t(target.hasPin ? "prejoin.wherePin" : "prejoin.where", { server: target.server });
    await enterPrejoin();
  } catch (e) {
    showError($("home-error"), messageOf(e));
  }
};

/** A new meeting hosted here: made on the server, then joined as any other (its pre-join first). */
$("host-form").onsubmit = async (ev) => {
  ev.preventDefault();
  const name = $<HTMLInputElement>("display-name").value.trim();
  const error = $("host-error");
  showError(error, null);
  if (!name) {
    showError(error, t("home.nameNeeded"));
    $("display-name").focus();
    return;
  }
  const button = $<HTMLButtonElement>("new-meeting");
  button.disabled = true;
  button.textContent = t("host.creating");
  try {
    const pin = $<HTMLInputElement>("new-meeting-pin").value.trim();
    const waitingRoom = $<HTMLInputElement>("new-meeting-waiting").checked;
    const meeting = await api.newMeeting(pin || null, waitingRoom);
    $<HTMLInputElement>("new-meeting-pin").value = "";
    joinFromHome(meeting.link);
  } catch (e) {
    showError(error, messageOf(e));
  } finally {
    button.disabled = false;
    button.textContent = t("host.new");
  }
};

$("open-settings").onclick = () => void enterSettings();
$("open-scan").onclick = () => void enterScan();
