// Scheduled meetings on Home.

import { api, type ScheduledMeeting } from "../api";
import { $, button, messageOf, showError } from "../dom";
import { withConsent } from "../permission";
import { joinFromHome } from "./home";
import { formatDateTime, formatNumber, t } from "../i18n";

export async function renderUpcoming(): Promise<void> {
  const list = $("upcoming-meetings");
  try {
    const upcoming = await api.upcomingMeetings();
    list.replaceChildren(...upcoming.map(upcomingItem));
    if (upcoming.length === 0) {
      const li = document.createElement("li");
      li.className = "hint";
      li.textContent = t("home.upcomingEmpty");
      list.append(li);
    }
  } catch (e) {
    $("schedule-status").textContent = messageOf(e);
  }
}

export function upcomingItem(m: ScheduledMeeting): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset.schedule = String(m.id);
  const title = document.createElement("strong");
  title.textContent = m.title;
  const when = document.createElement("small");
  const minutes = Math.round((m.endsAt - m.startsAt) / 60);
  when.textContent = ` ${t("schedule.when", { start: formatDateTime(m.startsAt), minutes: formatNumber(minutes), room: m.room })}`;
  when.title = m.server;
  li.append(
    title,
    when,
    " ",
    button(t("schedule.join"), () => joinFromHome(m.input)),
    " ",
    button(t("schedule.addToCalendar"), () => void addToCalendar(m)),
    " ",
    button(t("schedule.delete"), () => void deleteSchedule(m)),
  );
  return li;
}

export async function addToCalendar(m: ScheduledMeeting): Promise<void> {
  try {
    const path = await withConsent(() => api.addToCalendar(m.id));
    $("schedule-status").textContent = t("schedule.savedForCalendar", { title: m.title, path });
  } catch (e) {
    $("schedule-status").textContent = messageOf(e);
  }
}

export async function deleteSchedule(m: ScheduledMeeting): Promise<void> {
  try {
    await api.deleteSchedule(m.id);
    $("schedule-status").textContent = t("schedule.deleted", { title: m.title });
  } catch (e) {
    $("schedule-status").textContent = messageOf(e);
  }
  await renderUpcoming();
}

/** The local time a datetime-local input shows, for a Date. */
export function localInputValue(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

$("schedule-open").onclick = () => {
  const form = $("schedule-form");
  form.hidden = false;
  showError($("schedule-error"), null);
  // The next full hour at least half an hour away.
  const start = new Date(Date.now() + 1800_000);
  start.setHours(start.getHours() + 1, 0, 0, 0);
  $<HTMLInputElement>("schedule-start").value = localInputValue(start);
  $<HTMLInputElement>("schedule-input").value = $<HTMLInputElement>("meeting-input").value.trim();
  $("schedule-title").focus();
};
$("schedule-cancel").onclick = () => {
  $("schedule-form").hidden = true;
};
$("schedule-form").onsubmit = async (ev) => {
  ev.preventDefault();
  // datetime-local is the user's local time; the core keeps UTC seconds.
  const start = new Date($<HTMLInputElement>("schedule-start").value);
  if (Number.isNaN(start.getTime())) {
    showError($("schedule-error"), t("schedule.startNeeded"));
    return;
  }
  try {
    const m = await api.scheduleMeeting({
      title: $<HTMLInputElement>("schedule-title").value,
      startsAt: Math.floor(start.getTime() / 1000),
      durationMinutes: Number($<HTMLInputElement>("schedule-duration").value),
      input: $<HTMLInputElement>("schedule-input").value,
    });
    $("schedule-form").hidden = true;
    $("schedule-status").textContent = t("schedule.scheduled", { title: m.title });
    await renderUpcoming();
  } catch (e) {
    showError($("schedule-error"), messageOf(e));
  }
};
