// Scheduled meetings on Home.

import { api, type ScheduledMeeting } from "../api";
import { $, button, messageOf, showError } from "../dom";
import { withConsent } from "../permission";
import { joinFromHome } from "./home";

export async function renderUpcoming(): Promise<void> {
  const list = $("upcoming-meetings");
  try {
    const upcoming = await api.upcomingMeetings();
    list.replaceChildren(...upcoming.map(upcomingItem));
    if (upcoming.length === 0) {
      const li = document.createElement("li");
      li.className = "hint";
      li.textContent = "Meetings you schedule appear here.";
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
  const start = new Date(m.startsAt * 1000);
  const minutes = Math.round((m.endsAt - m.startsAt) / 60);
  when.textContent = ` ${start.toLocaleString()} · ${minutes} min · meeting ${m.room}`;
  when.title = m.server;
  li.append(
    title,
    when,
    " ",
    button("Join", () => joinFromHome(m.input)),
    " ",
    button("Add to calendar", () => void addToCalendar(m)),
    " ",
    button("Delete", () => void deleteSchedule(m)),
  );
  return li;
}

export async function addToCalendar(m: ScheduledMeeting): Promise<void> {
  try {
    const path = await withConsent(() => api.addToCalendar(m.id));
    $("schedule-status").textContent = `"${m.title}" was saved for your calendar to ${path}.`;
  } catch (e) {
    $("schedule-status").textContent = messageOf(e);
  }
}

export async function deleteSchedule(m: ScheduledMeeting): Promise<void> {
  try {
    await api.deleteSchedule(m.id);
    $("schedule-status").textContent = `"${m.title}" is no longer scheduled.`;
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
    showError($("schedule-error"), "Choose when the meeting starts.");
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
    $("schedule-status").textContent = `"${m.title}" scheduled.`;
    await renderUpcoming();
  } catch (e) {
    showError($("schedule-error"), messageOf(e));
  }
};
