import "./style.css";
import {
  api,
  AppFailure,
  type AppEvent,
  type AppStatus,
  type Device,
  type DeviceKind,
  type DeviceList,
  type EffectsChoice,
  type Invitation,
  type ParticipantView,
  type PersonalData,
  type PrivacyChoice,
  type ScannedMeeting,
  type ScheduledMeeting,
  type Settings,
  type VideoLayer,
} from "./api";
import { FrameLoop, type FrameSource, frameStats, snapshotTile } from "./frames";
import { ActiveSpeaker, arrange, GALLERY_PAGE, type LayoutMode } from "./layout";
import { nativeTiles, nativeVideo } from "./native";
import { BUNDLED_COMPONENTS, RUST_CRATES, SYSTEM_COMPONENTS } from "./licences";

// ---------- small DOM helpers ----------

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
}

function showError(el: HTMLElement, message: string | null): void {
  el.textContent = message ?? "";
  el.hidden = !message;
}

/**
 * Shows why something failed; when the operating system refused a device
 * and has a privacy page for it, offers to open that page.
 */
function showFailure(el: HTMLElement, e: unknown): void {
  showError(el, messageOf(e));
  if (!(e instanceof AppFailure) || e.kind !== "system_refused" || !e.settingsPage || !e.permission) return;
  const permission = e.permission;
  const open = document.createElement("button");
  open.type = "button";
  open.className = "link";
  open.textContent = "Open system settings";
  open.onclick = () => void api.openSystemSettings(permission).catch((err) => showError(el, messageOf(err)));
  el.append(" ", open);
}

function toast(message: string, kind: "info" | "warn" | "error" = "info"): void {
  const el = document.createElement("div");
  el.className = `toast ${kind}`;
  el.textContent = message;
  $("toasts").append(el);
  setTimeout(() => el.remove(), 6000);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

type Screen = "policy" | "home" | "scan" | "prejoin" | "meeting" | "settings" | "data";

// ---------- state ----------

const state = {
  status: null as AppStatus | null,
  settings: {
    displayName: "", camera: null, microphone: null, speaker: null, logUploadUrl: "",
    iceServers: [], iceUsername: "", iceCredential: "", relayOnly: false, originalSound: false,
  } as Settings,
  devices: { cameras: [], microphones: [], speakers: [] } as DeviceList,
  screen: "policy" as Screen,
  /** What the user asked to join, as typed (ID or link). */
  meetingInput: "",
  room: 0,
  selfId: 0,
  audioMuted: false,
  videoMuted: false,
  pushToTalk: false,
  participants: new Map<number, ParticipantView>(),
  loops: new Map<string, FrameLoop>(),
  speakingUntil: new Map<string, number>(),
  /** Each participant's volume on this device, percent, where moved. */
  volumes: new Map<number, number>(),
  /** The video layer asked for each participant, as last sent. */
  videoLayers: new Map<number, VideoLayer>(),
  /**
   * The widest picture drawn of each participant: their camera's full
   * width, which Janus relays until a smaller layer is asked for.
   */
  fullWidths: new Map<number, number>(),
  layoutMode: "gallery" as LayoutMode,
  /** The tile pinned large, if any. */
  pinned: null as string | null,
  speaker: new ActiveSpeaker(),
  activeSpeaker: null as string | null,
  galleryPage: 0,
  pageSize: GALLERY_PAGE,
  showSelf: true,
  /** Layers are chosen once the layout has settled. */
  videoLayersTimer: undefined as number | undefined,
  /** Since when the muted microphone has heard someone speak. */
  mutedTalkSince: null as number | null,
  mutedHintAt: -Infinity,
};

// Read by the end-to-end tests and the benchmark.
declare global {
  interface Window {
    __talkline: {
      frames: typeof frameStats;
      state: () => Record<string, unknown>;
      snapshot: typeof snapshotTile;
      setPageSize: (n: number) => void;
    };
  }
}
window.__talkline = {
  frames: frameStats,
  snapshot: snapshotTile,
  // Pages of a few tiles, so a test of paging needs no 26 participants.
  setPageSize: (n: number) => {
    state.pageSize = Math.max(1, Math.floor(n));
    layoutTiles();
  },
  state: () => ({
    screen: state.screen,
    room: state.room,
    selfId: state.selfId,
    audioMuted: state.audioMuted,
    videoMuted: state.videoMuted,
    participants: [...state.participants.values()],
  }),
};

// ---------- screens ----------

function show(screen: Screen): void {
  state.screen = screen;
  for (const s of ["policy", "home", "scan", "prejoin", "meeting", "settings", "data"] as const) {
    $(`screen-${s}`).hidden = s !== screen;
  }
}

function stopLoops(): void {
  for (const loop of state.loops.values()) loop.stop();
  state.loops.clear();
  if (nativeVideo()) nativeTiles.stop();
}

/**
 * Starts pulling frames into the canvas of a tile element (one loop per
 * element). In a meeting every tile, the self-view included, can take the
 * encoded frames; the pre-join preview has no encoder and takes pictures.
 */
function attachLoop(tileEl: HTMLElement, tile: string, source: FrameSource): void {
  state.loops.get(tile)?.stop();
  const canvas = tileEl.querySelector("canvas");
  if (!canvas) return;
  if (nativeVideo() && source === "meeting") {
    // The core draws it, over the canvas.
    tileEl.classList.add("has-frame");
    nativeTiles.start();
    return;
  }
  tileEl.classList.remove("has-frame");
  state.loops.set(
    tile,
    new FrameLoop(
      tile,
      canvas,
      source,
      () => tileEl.classList.add("has-frame"),
      (width) => noteVideoWidth(tile, width),
    ),
  );
}

// The core draws the meeting's video where it can; where it cannot, every
// tile of the meeting goes back to its canvas.
nativeTiles.onWidth = (tile, width) => noteVideoWidth(tile, width);
nativeTiles.onFailed = () => {
  // Those already in the room arrive while the join is under way: every
  // tile of the meeting, whatever the screen (resetMeeting empties them).
  for (const el of document.querySelectorAll<HTMLElement>("#tiles .tile")) {
    if (el.dataset.tile) attachLoop(el, el.dataset.tile, "meeting");
  }
};

// ---------- permission prompt (Appendix II purpose text, just in time) ----------

function askPermission(title: string, purpose: string): Promise<boolean> {
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
async function withConsent<T>(action: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await action();
    } catch (e) {
      if (!(e instanceof AppFailure) || e.kind !== "consent_needed" || !e.permission || attempt >= 3) throw e;
      const granted = await askPermission(e.title ?? e.permission, e.purpose ?? "");
      // A permission's answer or a feature's consent: one ledger.
      await api.setPrivacyChoice(e.permission, granted);
      // No means no: the feature stays off, and the user is not asked again.
      if (!granted) throw new Error(`${e.title ?? e.permission} stays off. You can turn it on in Settings → Privacy.`);
    }
  }
}

// ---------- policy ----------

function renderPolicy(status: AppStatus): void {
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

// ---------- links opened from outside ----------

/**
 * A meeting link opened from outside (a browser, the system's link handler,
 * a second start of the app) goes to its meeting's pre-join, as if typed on
 * Home: it never joins by itself. Before the policy is accepted, and during
 * a meeting (the user is told), it waits in the core until Home.
 */
async function openLinkFromOutside(): Promise<void> {
  if (state.screen === "policy") return;
  if (state.screen === "meeting" || joining()) {
    // Kept in the core: Home takes it when this meeting is over.
    toast("A meeting link was opened. Leave this meeting to go to it.", "info");
    return;
  }
  const link = await api.takeOpenedLink().catch(() => null);
  if (link === null) return;
  if (state.screen === "scan") await api.stopScan().catch(() => {});
  if (state.screen !== "home") await enterHome();
  joinFromHome(link);
}

// ---------- devices ----------

/** A picker's value for "whatever the system's default is": the call
 * follows it when it changes (a headset plugged in, say). */
const SYSTEM_DEFAULT = "";

function fillSelect(
  select: HTMLSelectElement,
  devices: Device[],
  chosen: string | null,
  allowNone: boolean,
  followsSystem = false,
  keepMissing = false,
): void {
  select.replaceChildren();
  const current = devices.find((d) => d.isDefault);
  if (followsSystem && current) select.append(new Option(`System default (${current.label})`, SYSTEM_DEFAULT));
  for (const d of devices) {
    select.append(new Option(d.label + (d.isDefault && !followsSystem ? " (default)" : ""), d.id));
  }
  // The core lists "No camera", "No microphone" and "No output" itself;
  // this is for a list that came without them.
  if (allowNone && !devices.some((d) => d.id === "none")) select.append(new Option("No output", "none"));
  // Settings keep a saved device that is unplugged now: saving the name
  // must not turn it into "System default".
  if (keepMissing && chosen && ![...select.options].some((o) => o.value === chosen)) {
    select.append(new Option(`${chosen.slice(chosen.indexOf(":") + 1)} (not connected)`, chosen));
  }
  const fallback = followsSystem && current ? SYSTEM_DEFAULT : current?.id ?? devices[0]?.id ?? "none";
  select.value = chosen && [...select.options].some((o) => o.value === chosen) ? chosen : fallback;
}

async function refreshDevices(): Promise<void> {
  state.devices = await api.listDevices();
}

function fillDevicePickers(ids: [string, string, string], chosen: Settings, keepMissing = false): void {
  fillSelect($<HTMLSelectElement>(ids[0]), state.devices.cameras, chosen.camera, false, false, keepMissing);
  fillSelect($<HTMLSelectElement>(ids[1]), state.devices.microphones, chosen.microphone, false, true, keepMissing);
  fillSelect($<HTMLSelectElement>(ids[2]), state.devices.speakers, chosen.speaker, true, true, keepMissing);
}

const SETTINGS_PICKERS: [string, string, string] = ["settings-camera", "settings-mic", "settings-speaker"];
const PICKERS: [string, string, string][] = [
  ["camera-select", "mic-select", "speaker-select"],
  ["meeting-camera", "meeting-mic", "meeting-speaker"],
  SETTINGS_PICKERS,
];

/** Devices came or went: every picker lists what is there now and keeps
 * what it shows, unless that is gone. */
function devicesChanged(devices: DeviceList): void {
  state.devices = devices;
  for (const ids of PICKERS) {
    const [camera, microphone, speaker] = ids.map((id) => $<HTMLSelectElement>(id).value);
    fillDevicePickers(ids, { ...state.settings, camera, microphone, speaker }, ids === SETTINGS_PICKERS);
  }
}

/** What the pre-join's preview opens: its pickers' values, with "the
 * system's default" read as the device it stands for now. */
function previewDevices(): string {
  const pick = (id: string, list: Device[]) => $<HTMLSelectElement>(id).value || list.find((d) => d.isDefault)?.id || "";
  return `${pick("camera-select", state.devices.cameras)}|${pick("mic-select", state.devices.microphones)}`;
}

/** Outside a meeting (where the core reports changes) the screens with
 * pickers look for devices plugged in or out themselves; the pre-join's
 * preview moves with them, so its meter shows the microphone the join
 * would use. */
async function lookForDevices(): Promise<void> {
  if (state.screen !== "prejoin" && state.screen !== "settings") return;
  const now = await api.listDevices().catch(() => null);
  if (!now || JSON.stringify(now) === JSON.stringify(state.devices)) return;
  const before = previewDevices();
  devicesChanged(now);
  // Not while joining: the join has taken the devices from the preview.
  if (state.screen === "prejoin" && !joining() && previewDevices() !== before) await startPreview();
}

setInterval(() => void lookForDevices(), 3000);

// ---------- home ----------

async function enterHome(): Promise<void> {
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

async function renderRecent(): Promise<void> {
  const list = $("recent-meetings");
  list.replaceChildren();
  try {
    const recent = await api.recentMeetings();
    if (recent.length === 0) {
      const li = document.createElement("li");
      li.className = "hint";
      li.textContent = "Meetings you join appear here.";
      list.append(li);
    }
    for (const m of recent) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.className = "link";
      const when = new Date(m.joinedAt * 1000).toLocaleString();
      button.textContent = `Meeting ${m.room}`;
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

// ---------- scheduled meetings ----------

function button(text: string, action: () => void, kind = "link"): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.className = kind;
  b.textContent = text;
  b.onclick = action;
  return b;
}

/** Joins through the Home form's own path (name check, pre-join). */
function joinFromHome(input: string): void {
  $<HTMLInputElement>("meeting-input").value = input;
  $<HTMLFormElement>("home-form").requestSubmit();
}

async function renderUpcoming(): Promise<void> {
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

function upcomingItem(m: ScheduledMeeting): HTMLLIElement {
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

async function addToCalendar(m: ScheduledMeeting): Promise<void> {
  try {
    const path = await withConsent(() => api.addToCalendar(m.id));
    $("schedule-status").textContent = `"${m.title}" was saved for your calendar to ${path}.`;
  } catch (e) {
    $("schedule-status").textContent = messageOf(e);
  }
}

async function deleteSchedule(m: ScheduledMeeting): Promise<void> {
  try {
    await api.deleteSchedule(m.id);
    $("schedule-status").textContent = `"${m.title}" is no longer scheduled.`;
  } catch (e) {
    $("schedule-status").textContent = messageOf(e);
  }
  await renderUpcoming();
}

/** The local time a datetime-local input shows, for a Date. */
function localInputValue(date: Date): string {
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

$("home-form").onsubmit = async (ev) => {
  ev.preventDefault();
  const input = $<HTMLInputElement>("meeting-input").value.trim();
  const name = $<HTMLInputElement>("display-name").value.trim();
  showError($("home-error"), null);
  try {
    const target = await api.parseMeeting(input);
    if (!name) {
      showError($("home-error"), "Enter your name so others know who joined.");
      $("display-name").focus();
      return;
    }
    state.meetingInput = input;
    state.room = target.room;
    $("prejoin-title").textContent = `Meeting ${target.room}`;
    // What will be joined, said before joining (a scanned code's server).
    $("prejoin-where").textContent = `on ${target.server}${target.hasPin ? " · PIN included" : ""}`;
    await enterPrejoin();
  } catch (e) {
    showError($("home-error"), messageOf(e));
  }
};

$("open-settings").onclick = () => void enterSettings();
$("open-scan").onclick = () => void enterScan();

// ---------- scan a meeting QR code ----------

async function enterScan(): Promise<void> {
  show("scan");
  showError($("scan-error"), null);
  $("scan-status").textContent = "";
  await refreshDevices();
  fillSelect($<HTMLSelectElement>("scan-camera"), state.devices.cameras, state.settings.camera, false);
  await startScan();
}

async function startScan(): Promise<void> {
  const camera = $<HTMLSelectElement>("scan-camera").value || null;
  if (camera === "none") {
    // Nothing to open (a computer without a camera): the picture of a
    // code is the way in, and not an error.
    await api.stopScan().catch(() => {});
    showError($("scan-error"), null);
    $("scan-status").textContent = "No camera: choose one above, or pick a picture of the code.";
    return;
  }
  try {
    // The camera is asked for just in time, as for the pre-join.
    await withConsent(() => api.startScan(camera));
    // Each scan's pictures start again at sequence 1 (the last picture of
    // a stopped scan is not kept): a fresh loop follows them.
    const tile = document.querySelector<HTMLElement>('#screen-scan .tile[data-tile="scan"]');
    if (tile) attachLoop(tile, "scan", "pictures");
    showError($("scan-error"), null);
    $("scan-status").textContent = "Looking for a meeting code…";
  } catch (e) {
    $("scan-status").textContent = "";
    showFailure($("scan-error"), e);
  }
}

/** A code was read: the camera stops, and the meeting goes through the same path as a typed one. */
async function scanned(meeting: ScannedMeeting): Promise<void> {
  if (state.screen !== "scan") return;
  stopLoops();
  await api.stopScan().catch(() => {});
  show("home");
  joinFromHome(meeting.input);
}

$("scan-camera").onchange = () => void startScan();
$("scan-cancel").onclick = () => void enterHome();
$<HTMLInputElement>("scan-file").onchange = async (ev) => {
  const input = ev.target as HTMLInputElement;
  const file = input.files?.[0];
  input.value = "";
  if (!file) return;
  try {
    const meeting = await api.scanQrImage(new Uint8Array(await file.arrayBuffer()));
    await scanned(meeting);
  } catch (e) {
    showError($("scan-error"), messageOf(e));
  }
};

// ---------- pre-join ----------

async function enterPrejoin(): Promise<void> {
  show("prejoin");
  showError($("prejoin-error"), null);
  $("retry").hidden = true;
  await refreshDevices();
  fillDevicePickers(["camera-select", "mic-select", "speaker-select"], state.settings);
  await fillEffects("prejoin");
  const tile = document.querySelector<HTMLElement>('#screen-prejoin .tile[data-tile="self"]');
  if (tile) attachLoop(tile, "self", "pictures");
  await startPreview();
}

async function startPreview(): Promise<void> {
  const camera = $<HTMLSelectElement>("camera-select").value || null;
  const mic = $<HTMLSelectElement>("mic-select").value || null;
  try {
    await withConsent(() => api.startPreview(camera, mic));
    showError($("prejoin-error"), null);
  } catch (e) {
    showFailure($("prejoin-error"), e);
  }
}

for (const id of ["camera-select", "mic-select"]) {
  $(id).onchange = () => void startPreview();
}

$<HTMLInputElement>("prejoin-camera").onchange = () => {
  const on = $<HTMLInputElement>("prejoin-camera").checked;
  document.querySelector('#screen-prejoin .tile[data-tile="self"]')?.classList.toggle("video-muted", !on);
};

$("speaker-test").onclick = async () => {
  try {
    await api.testSpeaker($<HTMLSelectElement>("speaker-select").value || null);
  } catch (e) {
    toast(messageOf(e), "error");
  }
};

$("back-home").onclick = () => void enterHome();

/** A join is under way (its button is disabled until it ends). */
function joining(): boolean {
  return $<HTMLButtonElement>("join-now").disabled;
}

async function joinNow(): Promise<void> {
  const button = $<HTMLButtonElement>("join-now");
  button.disabled = true;
  $("retry").hidden = true;
  showError($("prejoin-error"), null);
  const request = {
    input: state.meetingInput,
    displayName: $<HTMLInputElement>("display-name").value.trim(),
    camera: $<HTMLSelectElement>("camera-select").value || null,
    microphone: $<HTMLSelectElement>("mic-select").value || null,
    speaker: $<HTMLSelectElement>("speaker-select").value || null,
    audioMuted: !$<HTMLInputElement>("prejoin-mic").checked,
    videoMuted: !$<HTMLInputElement>("prejoin-camera").checked,
  };
  button.textContent = "Joining…";
  resetMeeting();
  try {
    const joined = await withConsent(() => api.join(request));
    state.selfId = joined.selfId;
    state.audioMuted = joined.audioMuted;
    state.videoMuted = joined.videoMuted;
    state.settings = { ...state.settings, camera: request.camera, microphone: request.microphone, speaker: request.speaker };
    enterMeeting();
  } catch (e) {
    const failure = e instanceof AppFailure ? e : null;
    // A close question asked while joining has no meeting to leave now.
    $("leave-dialog").hidden = true;
    resetMeeting();
    const prejoinSelf = document.querySelector<HTMLElement>('#screen-prejoin .tile[data-tile="self"]');
    if (prejoinSelf) attachLoop(prejoinSelf, "self", "pictures");
    // The preview first: once it runs again it clears its own errors, and
    // the user must still read why joining failed.
    await startPreview();
    showFailure($("prejoin-error"), e);
    // A server that is down or a broken connection is worth another try.
    $("retry").hidden = !(failure && (failure.kind === "unreachable" || failure.kind === "connection"));
  } finally {
    button.disabled = false;
    button.textContent = "Join now";
  }
}

$("join-now").onclick = () => void joinNow();
$("retry").onclick = () => void joinNow();

// ---------- meeting ----------

function tileElement(id: string, name: string, self: boolean): HTMLElement {
  const el = document.createElement("div");
  el.className = self ? "tile self" : "tile";
  el.dataset.tile = id;
  const canvas = document.createElement("canvas");
  const off = document.createElement("div");
  off.className = "camera-off";
  off.textContent = name.slice(0, 1).toUpperCase();
  const label = document.createElement("span");
  label.className = "name";
  label.textContent = name;
  const muted = document.createElement("span");
  muted.className = "muted-icon";
  muted.title = "Microphone off";
  muted.setAttribute("role", "img");
  muted.setAttribute("aria-label", "Microphone off");
  // Drawn, not an emoji: a desktop without an emoji font shows a box.
  muted.append(micOffIcon());
  el.append(canvas, off, label, muted);
  if (!self) {
    const pin = document.createElement("button");
    pin.className = "pin";
    pin.textContent = "Pin";
    pin.title = `Pin ${name}: shown large`;
    pin.setAttribute("aria-pressed", "false");
    pin.onclick = (ev) => {
      ev.stopPropagation();
      togglePin(id);
    };
    el.append(pin);
    tilesInSight.observe(el);
  }
  return el;
}

/** Pins a tile large (in the speaker view), or unpins it. */
function togglePin(tile: string): void {
  state.pinned = state.pinned === tile ? null : tile;
  if (state.pinned) state.layoutMode = "speaker";
  for (const pin of document.querySelectorAll<HTMLElement>("#tiles .pin")) {
    const pinned = pin.closest<HTMLElement>(".tile")?.dataset.tile === state.pinned;
    pin.setAttribute("aria-pressed", String(pinned));
    pin.textContent = pinned ? "Unpin" : "Pin";
  }
  layoutTiles();
}

const SVG = "http://www.w3.org/2000/svg";

/** A microphone struck through, in the text's colour. */
function micOffIcon(): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "18");
  svg.setAttribute("height", "18");
  svg.setAttribute("class", "icon");
  for (const d of ["M9 5a3 3 0 0 1 6 0v6a3 3 0 0 1-6 0z", "M5 11a7 7 0 0 0 14 0M12 18v3", "M4 3l16 18"]) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

function layoutTiles(): void {
  const container = $("tiles");
  const tiles = [...container.querySelectorAll<HTMLElement>(".tile")];
  const layout = arrange({
    mode: state.layoutMode,
    tiles: tiles.map((t) => t.dataset.tile ?? ""),
    showSelf: state.showSelf,
    pinned: state.pinned,
    activeSpeaker: state.activeSpeaker,
    page: state.galleryPage,
    pageSize: state.pageSize,
  });
  state.galleryPage = layout.page;
  for (const t of tiles) t.dataset.role = layout.roles.get(t.dataset.tile ?? "") ?? "hidden";
  container.classList.toggle("speaker-view", state.layoutMode === "speaker");
  container.style.setProperty("--cols", String(layout.columns));
  $("layout-toggle").textContent = state.layoutMode === "speaker" ? "Gallery view" : "Speaker view";
  $("pager").hidden = layout.pages < 2;
  $("page-label").textContent = `Page ${layout.page + 1} of ${layout.pages}`;
  scheduleVideoLayers();
}

function toggleLayout(): void {
  state.layoutMode = state.layoutMode === "speaker" ? "gallery" : "speaker";
  // Back to the gallery, a pin has nothing to hold large.
  if (state.layoutMode === "gallery" && state.pinned) togglePin(state.pinned);
  layoutTiles();
}

$("layout-toggle").onclick = toggleLayout;
$("page-prev").onclick = () => {
  state.galleryPage -= 1;
  layoutTiles();
};
$("page-next").onclick = () => {
  state.galleryPage += 1;
  layoutTiles();
};
$<HTMLInputElement>("show-self-view").onchange = () => {
  state.showSelf = $<HTMLInputElement>("show-self-view").checked;
  layoutTiles();
};

/** Until a participant's first picture says otherwise: the app's camera size. */
const ASSUMED_FULL_WIDTH = 640;
/**
 * A layer may be this much narrower than its tile: a little upscaling
 * looks sharp enough, and the next layer up costs four times the decoding.
 */
const LAYER_WIDTH_OF_TILE = 0.75;

/**
 * Each participant's video at the layer their tile needs: a participant
 * who simulcasts sends a quarter, a half and the full picture, and a small
 * tile that receives the full one decodes four to sixteen times the pixels
 * it shows. The smallest layer at least `LAYER_WIDTH_OF_TILE` of the tile's
 * drawn width in device pixels, from the participant's full width, once
 * the layout has settled; a tile without video takes the smallest.
 */
function chooseVideoLayer(tile: HTMLElement): VideoLayer {
  // Scrolled out of sight (a small window, many people): nothing at all.
  if (tile.dataset.inSight === "false") return "paused";
  if (tile.classList.contains("video-muted")) return "low";
  const needed = tile.clientWidth * window.devicePixelRatio * LAYER_WIDTH_OF_TILE;
  const full = state.fullWidths.get(Number(tile.dataset.tile)) ?? ASSUMED_FULL_WIDTH;
  if (full / 4 >= needed) return "low";
  return full / 2 >= needed ? "medium" : "high";
}

/** A participant's picture drawn `width` wide: wider than seen before, their layers are chosen again. */
function noteVideoWidth(tile: string, width: number): void {
  const id = Number(tile);
  if (!Number.isInteger(id) || width <= (state.fullWidths.get(id) ?? 0)) return;
  state.fullWidths.set(id, width);
  scheduleVideoLayers();
}

function scheduleVideoLayers(): void {
  window.clearTimeout(state.videoLayersTimer);
  state.videoLayersTimer = window.setTimeout(applyVideoLayers, 300);
}

function applyVideoLayers(): void {
  if (state.screen !== "meeting") return;
  for (const tile of document.querySelectorAll<HTMLElement>("#tiles .tile")) {
    const id = Number(tile.dataset.tile);
    if (!Number.isInteger(id) || !state.participants.has(id)) continue;
    const layer = chooseVideoLayer(tile);
    if (state.videoLayers.get(id) === layer) continue;
    state.videoLayers.set(id, layer);
    // A reply to an older request, or for someone who left, changes nothing.
    const current = () => state.videoLayers.get(id) === layer;
    api
      .setVideoLayer(id, layer)
      .then(() => {
        if (current()) tile.dataset.videoLayer = layer;
      })
      .catch((e) => {
        console.warn(`video layer of ${id}: ${messageOf(e)}`);
        // Asked again at the next layout change.
        if (current()) state.videoLayers.delete(id);
      });
  }
}

// Tiles change size without the window doing so: People opened beside
// them, for one.
new ResizeObserver(scheduleVideoLayers).observe($("tiles"));

// Which tiles are in sight: one scrolled away is paused, and asked for
// again as it scrolls back.
const tilesInSight = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    (entry.target as HTMLElement).dataset.inSight = String(entry.isIntersecting);
  }
  scheduleVideoLayers();
});

/**
 * Empties the grid before a join: the participants already in the room
 * arrive as events while the join is still under way.
 */
function resetMeeting(): void {
  stopLoops();
  state.participants.clear();
  state.volumes.clear();
  state.videoLayers.clear();
  state.fullWidths.clear();
  state.pinned = null;
  state.speaker = new ActiveSpeaker();
  state.activeSpeaker = null;
  state.galleryPage = 0;
  // The old tiles go; the new ones observe themselves as they are made.
  tilesInSight.disconnect();
  const tiles = $("tiles");
  tiles.replaceChildren();
  tiles.append(tileElement("self", `${$<HTMLInputElement>("display-name").value.trim()} (you)`, true));
}

$<HTMLInputElement>("meeting-original-sound").onchange = async () => {
  const box = $<HTMLInputElement>("meeting-original-sound");
  try {
    await api.setOriginalSound(box.checked);
    state.settings = { ...state.settings, originalSound: box.checked };
    toast(box.checked ? "Original sound on: your microphone is sent as it is" : "Original sound off: echo and noise are taken out again");
  } catch (e) {
    box.checked = !box.checked;
    toast(messageOf(e), "error");
  }
};

function enterMeeting(): void {
  show("meeting");
  $("invite-panel").hidden = true;
  $("meeting-name").textContent = `Meeting ${state.room}`;
  const self = document.querySelector<HTMLElement>('#tiles .tile[data-tile="self"]');
  if (self) attachLoop(self, "self", "meeting");
  layoutTiles();
  renderSelfMuted();
  fillDevicePickers(["meeting-camera", "meeting-mic", "meeting-speaker"], state.settings);
  $<HTMLInputElement>("meeting-original-sound").checked = state.settings.originalSound;
  void fillEffects("meeting");
  $("reconnecting-banner").hidden = true;
  $("quality").dataset.level = "good";
}

function renderParticipant(p: ParticipantView): void {
  state.participants.set(p.id, p);
  const id = String(p.id);
  let el = document.querySelector<HTMLElement>(`#tiles .tile[data-tile="${id}"]`);
  if (!el) {
    el = tileElement(id, p.display, false);
    $("tiles").append(el);
    attachLoop(el, id, "meeting");
    layoutTiles();
  }
  const label = el.querySelector(".name");
  if (label) label.textContent = p.display;
  el.classList.toggle("audio-muted", p.audioMuted || !p.hasAudio);
  el.classList.toggle("video-muted", p.videoMuted || !p.hasVideo);
  renderParticipantList();
  scheduleVideoLayers();
}

function removeParticipant(id: number): void {
  const name = state.participants.get(id)?.display;
  state.participants.delete(id);
  state.videoLayers.delete(id);
  state.fullWidths.delete(id);
  state.speaker.forget(String(id));
  if (state.activeSpeaker === String(id)) state.activeSpeaker = null;
  if (state.pinned === String(id)) state.pinned = null;
  state.loops.get(String(id))?.stop();
  state.loops.delete(String(id));
  const tile = document.querySelector<HTMLElement>(`#tiles .tile[data-tile="${id}"]`);
  if (tile) {
    tilesInSight.unobserve(tile);
    tile.remove();
  }
  layoutTiles();
  renderParticipantList();
  if (name) toast(`${name} left`);
}

function renderParticipantList(): void {
  const list = $("participant-list");
  list.replaceChildren();
  const you = document.createElement("li");
  you.dataset.participant = "self";
  you.textContent = `${$<HTMLInputElement>("display-name").value.trim()} (you)${state.audioMuted ? " · muted" : ""}`;
  list.append(you);
  for (const p of state.participants.values()) {
    const li = document.createElement("li");
    li.dataset.participant = String(p.id);
    const off = [p.audioMuted ? "muted" : "", p.videoMuted ? "camera off" : ""].filter(Boolean);
    const name = document.createElement("span");
    name.textContent = off.length ? `${p.display} · ${off.join(", ")}` : p.display;
    // Each person's volume on this device only, as loud as they send
    // unless moved (0-200%).
    const volume = document.createElement("input");
    volume.type = "range";
    volume.min = "0";
    volume.max = "200";
    volume.step = "10";
    volume.value = String(state.volumes.get(p.id) ?? 100);
    volume.className = "volume";
    volume.setAttribute("aria-label", `Volume of ${p.display}`);
    volume.title = `Volume of ${p.display}: ${volume.value}%`;
    volume.onchange = async () => {
      const percent = Number(volume.value);
      try {
        await api.setParticipantVolume(p.id, percent);
        state.volumes.set(p.id, percent);
        volume.title = `Volume of ${p.display}: ${percent}%`;
      } catch (e) {
        toast(messageOf(e), "error");
      }
    };
    li.append(name, volume);
    list.append(li);
  }
  $("participants-toggle").textContent = `People (${state.participants.size + 1})`;
}

function renderSelfMuted(): void {
  const mic = $("mic-toggle");
  mic.setAttribute("aria-pressed", String(state.audioMuted));
  mic.textContent = state.audioMuted ? "Unmute" : "Mute";
  if (!state.audioMuted) $("muted-hint").hidden = true;
  const cam = $("camera-toggle");
  cam.setAttribute("aria-pressed", String(state.videoMuted));
  cam.textContent = state.videoMuted ? "Start video" : "Stop video";
  const self = document.querySelector<HTMLElement>('#tiles .tile[data-tile="self"]');
  self?.classList.toggle("audio-muted", state.audioMuted);
  self?.classList.toggle("video-muted", state.videoMuted);
  renderParticipantList();
}

/**
 * Mute changes reach the core one at a time, in the order asked:
 * push-to-talk's unmute and the mute when Space comes up (or the window
 * loses focus) can be asked within a millisecond, and a toggle decides
 * from the state the change before it left, so two quick presses of M
 * mute and unmute.
 */
let muteQueue: Promise<void> = Promise.resolve();

function setMuted(kind: "audio" | "video", muted: boolean | "toggle"): Promise<void> {
  muteQueue = muteQueue.then(async () => {
    const audio = kind === "audio";
    const now = audio ? state.audioMuted : state.videoMuted;
    const next = muted === "toggle" ? !now : muted;
    try {
      await (audio ? api.setAudioMuted(next) : api.setVideoMuted(next));
      if (audio) state.audioMuted = next;
      else state.videoMuted = next;
      renderSelfMuted();
    } catch (e) {
      toast(messageOf(e), "error");
    }
  });
  return muteQueue;
}

$("mic-toggle").onclick = () => void setMuted("audio", "toggle");
$("camera-toggle").onclick = () => void setMuted("video", "toggle");
$("participants-toggle").onclick = () => {
  $("participants").hidden = !$("participants").hidden;
};

// ---------- invite ----------

/** The light margin (modules) a scanner needs around a QR code, and the
 * most pixels the panel has for the code. */
const QR_QUIET_ZONE = 4;
const QR_MAX_SIDE = 240;

function drawQr(canvas: HTMLCanvasElement, invitation: Invitation): void {
  const modules = invitation.qrWidth + 2 * QR_QUIET_ZONE;
  // Whole pixels a module (sharp edges scan best), as many as fit.
  const scale = Math.max(2, Math.floor(QR_MAX_SIDE / modules));
  const side = modules * scale;
  canvas.width = side;
  canvas.height = side;
  const g = canvas.getContext("2d");
  if (!g) return;
  g.fillStyle = "#fff";
  g.fillRect(0, 0, side, side);
  g.fillStyle = "#000";
  for (let i = 0; i < invitation.qrRows.length; i++) {
    if (invitation.qrRows[i] !== "1") continue;
    const x = (i % invitation.qrWidth) + QR_QUIET_ZONE;
    const y = Math.floor(i / invitation.qrWidth) + QR_QUIET_ZONE;
    g.fillRect(x * scale, y * scale, scale, scale);
  }
}

$("invite-toggle").onclick = async () => {
  const panel = $("invite-panel");
  if (!panel.hidden) {
    panel.hidden = true;
    return;
  }
  try {
    const invitation = await api.meetingInvitation();
    $<HTMLInputElement>("invite-link").value = invitation.link;
    drawQr($<HTMLCanvasElement>("invite-qr"), invitation);
    $("device-menu").hidden = true;
    panel.hidden = false;
    $("invite-copy").focus();
  } catch (e) {
    toast(messageOf(e), "error");
  }
};

/** The clipboard API where the webview allows it, else the selected
 * field's copy command; true once the text is on the clipboard. */
async function copyText(input: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch {
    input.focus();
    input.select();
    const copied = document.execCommand("copy");
    // Out of the field again: M and V are shortcuts only outside fields.
    input.blur();
    return copied;
  }
}

$("invite-copy").onclick = async () => {
  const copied = await copyText($<HTMLInputElement>("invite-link"));
  if (copied) toast("Meeting link copied");
  else toast("The link could not be copied: select it and copy it yourself", "error");
};

$("device-menu-toggle").onclick = async () => {
  const menu = $("device-menu");
  $("invite-panel").hidden = true;
  if (menu.hidden) {
    await refreshDevices();
    fillDevicePickers(["meeting-camera", "meeting-mic", "meeting-speaker"], state.settings);
  }
  menu.hidden = !menu.hidden;
};

const switches: [string, DeviceKind, keyof Settings][] = [
  ["meeting-camera", "camera", "camera"],
  ["meeting-mic", "microphone", "microphone"],
  ["meeting-speaker", "speaker", "speaker"],
];
for (const [id, kind, key] of switches) {
  $(id).onchange = async () => {
    const value = $<HTMLSelectElement>(id).value;
    try {
      await withConsent(() => api.switchDevice(kind, value));
      state.settings = { ...state.settings, [key]: value };
      toast(`Switched ${kind}`);
    } catch (e) {
      toast(messageOf(e), "error");
    }
  };
}

/** Whether the open leave question came from the window's close button:
 * then leaving also closes the app. */
let leaveCloses = false;

function askLeave(closing = false): void {
  leaveCloses = closing;
  $("leave-title").textContent = closing ? "Leave the meeting and close TalkLine?" : "Leave the meeting?";
  $("leave-confirm").textContent = closing ? "Leave and close" : "Leave";
  $("leave-dialog").hidden = false;
  // Closing is the bigger step: Enter keeps the call.
  $(closing ? "leave-cancel" : "leave-confirm").focus();
}

/** The window's close button (or Alt+F4) in a meeting or while joining:
 * the core kept the window open to ask. Anywhere else, nothing is lost. */
function closeRequested(): void {
  if (state.screen !== "meeting" && !(state.screen === "prejoin" && joining())) {
    void api.quit();
    return;
  }
  void api.closeRequestAnswered();
  askLeave(true);
}

$("leave").onclick = () => askLeave();
$("leave-cancel").onclick = () => {
  $("leave-dialog").hidden = true;
};
$("leave-confirm").onclick = async () => {
  $("leave-dialog").hidden = true;
  if (leaveCloses) {
    // The exit says goodbye to the meeting before the process ends.
    await api.quit().catch((e) => toast(`TalkLine did not close: ${messageOf(e)}`, "error"));
    return;
  }
  try {
    await api.leave();
  } catch (e) {
    // "state": already gone (the server ended it), nothing left to leave.
    // Anything else the user should know about.
    if (e instanceof AppFailure && e.kind === "state") console.info("leave:", messageOf(e));
    else toast(`Leaving the meeting did not finish: ${messageOf(e)}`, "error");
  }
  await enterHome();
};

/** A voice in the muted microphone (the core's voice activity detector,
 * so a fan or a keyboard does not count) for this long tells the user they
 * are muted, at most this often, and the hint stays this long. */
const MUTED_TALK_MS = 700;
const MUTED_HINT_EVERY_MS = 15000;
const MUTED_HINT_SHOWN_MS = 4000;

function remindWhenMuted(speaking: boolean, now: number): void {
  if (!state.audioMuted || !speaking) {
    state.mutedTalkSince = null;
    return;
  }
  state.mutedTalkSince ??= now;
  if (now - state.mutedTalkSince < MUTED_TALK_MS || now - state.mutedHintAt < MUTED_HINT_EVERY_MS) return;
  state.mutedHintAt = now;
  const hint = $("muted-hint");
  hint.hidden = false;
  setTimeout(() => (hint.hidden = true), MUTED_HINT_SHOWN_MS);
}

function updateLevels(own: number, speaking: boolean, remotes: Record<string, number>): void {
  if (state.screen !== "meeting") {
    // The meter is on the pre-join only. Touched in the meeting, each of
    // these ten-a-second changes woke the native video's placement, which
    // watches the page's styles.
    const meter = document.getElementById("mic-level");
    const width = `${Math.min(100, Math.round(Math.sqrt(own) * 180))}%`;
    if (meter && meter.style.width !== width) meter.style.width = width;
    return;
  }
  // Active speaker: the loudest tile of those speaking, held briefly so
  // the highlight does not flicker between words. The core decides who
  // speaks (each sender's voice detector, or loudness for a client that
  // sends none) and gives 0 for everyone else.
  const now = performance.now();
  remindWhenMuted(speaking, now);
  // Our own tile only for a voice: a fan or a keyboard is loud too.
  const levels: [string, number][] = [["self", state.audioMuted || !speaking ? 0 : own], ...Object.entries(remotes)];
  // Everyone speaking is marked, each held briefly so the mark does not
  // flicker between words. Marking only the loudest moved the mark between
  // people talking at once several times a second: each move a repaint of
  // the page and a new placement of the video drawn over it.
  for (const [tile, level] of levels) if (level > 0) state.speakingUntil.set(tile, now + 600);
  for (const [tile, until] of state.speakingUntil) if (until <= now) state.speakingUntil.delete(tile);
  // Muted, we are not heard: our mark goes at once.
  if (state.audioMuted) state.speakingUntil.delete("self");
  // The speaker view's large tile: someone else, held with hysteresis.
  const [loudestOther, otherLevel] = levels
    .filter(([tile]) => tile !== "self")
    .reduce((a, b) => (b[1] > a[1] ? b : a), ["", 0]);
  const active = state.speaker.update(otherLevel > 0 ? loudestOther : null, now);
  if (active !== state.activeSpeaker) {
    state.activeSpeaker = active;
    if (state.layoutMode === "speaker" && !state.pinned) layoutTiles();
  }
  for (const el of document.querySelectorAll<HTMLElement>("#tiles .tile")) {
    const until = state.speakingUntil.get(el.dataset.tile ?? "") ?? 0;
    el.classList.toggle("speaking", until > now);
  }
  // The same speaker marked in People, where tiles may be off the page.
  for (const el of document.querySelectorAll<HTMLElement>("#participant-list li")) {
    const until = state.speakingUntil.get(el.dataset.participant ?? "") ?? 0;
    el.classList.toggle("speaking", until > now);
  }
}

function onEvent(event: AppEvent): void {
  switch (event.type) {
    case "call_state":
      $("reconnecting-banner").hidden = event.state !== "reconnecting";
      break;
    case "participant_joined":
      renderParticipant(event.participant);
      if (state.screen === "meeting") toast(`${event.participant.display} joined`);
      break;
    case "participant_changed":
      renderParticipant(event.participant);
      break;
    case "participant_left":
      removeParticipant(event.id);
      break;
    case "levels":
      updateLevels(event.self, event.speaking, event.remotes);
      break;
    case "quality": {
      const q = $("quality");
      q.dataset.level = event.level;
      q.title = `Network quality: ${event.level}. ${event.detail}`;
      // Said in words, not only by colour, when the network is the reason.
      const reason = $("quality-reason");
      const named = event.level !== "good" && event.detail.startsWith("Your network");
      reason.hidden = !named;
      reason.textContent = named ? event.detail.split(". ")[0] : "";
      break;
    }
    case "device_changed":
      toast(event.message, "warn");
      break;
    case "devices_changed":
      devicesChanged(event.devices);
      if (event.message) toast(event.message);
      break;
    case "self_muted":
      state.audioMuted = event.audioMuted;
      state.videoMuted = event.videoMuted;
      if (state.screen === "meeting") renderSelfMuted();
      break;
    case "qr_scanned":
      void scanned(event.meeting);
      break;
    case "qr_refused":
      if (state.screen === "scan") showError($("scan-error"), event.message);
      break;
    case "close_requested":
      closeRequested();
      break;
    case "link_opened":
      void openLinkFromOutside();
      break;
    case "call_ended":
      if (state.screen === "meeting") {
        if (event.error) toast(`The meeting ended: ${event.error.message}`, "error");
        void enterHome();
      }
      break;
  }
}

// ---------- shortcuts ----------

/** Keys go to the field: text is being typed or a list chosen from. A checkbox takes letters as shortcuts. */
function typing(target: EventTarget | null): boolean {
  if (target instanceof HTMLInputElement) return !["checkbox", "radio", "range", "button"].includes(target.type);
  return target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement;
}

document.addEventListener("keydown", (ev) => {
  // The close question can come up on the pre-join, while joining.
  if (ev.key === "Escape" && state.screen !== "meeting" && !$("leave-dialog").hidden) {
    ev.preventDefault();
    $("leave-dialog").hidden = true;
    return;
  }
  if (state.screen !== "meeting") return;
  const modalOpen = !$("leave-dialog").hidden || !$("permission-prompt").hidden;
  if (ev.key === "Escape") {
    ev.preventDefault();
    // Esc backs out of the innermost thing first, as in Meet: the dialog,
    // then the device menu, then a focused field; only then is it "leave".
    if (!$("leave-dialog").hidden) $("leave-dialog").hidden = true;
    else if (modalOpen) return;
    else if (!$("device-menu").hidden) $("device-menu").hidden = true;
    else if (!$("invite-panel").hidden) $("invite-panel").hidden = true;
    else if (typing(ev.target)) (ev.target as HTMLElement).blur();
    else askLeave();
    return;
  }
  if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "w") {
    ev.preventDefault();
    if (!modalOpen) askLeave();
    return;
  }
  if (modalOpen || typing(ev.target) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.key === "m" || ev.key === "M") {
    ev.preventDefault();
    void setMuted("audio", "toggle");
  } else if (ev.key === "v" || ev.key === "V") {
    ev.preventDefault();
    void setMuted("video", "toggle");
  } else if (ev.key === "g" || ev.key === "G") {
    ev.preventDefault();
    toggleLayout();
  } else if (
    ev.key === " " &&
    !ev.repeat &&
    state.audioMuted &&
    // Space ticks a focused checkbox, as everywhere.
    !(ev.target instanceof HTMLInputElement)
  ) {
    // Push to talk: unmuted while Space is held.
    ev.preventDefault();
    state.pushToTalk = true;
    void setMuted("audio", false);
  }
});

function endPushToTalk(): void {
  if (!state.pushToTalk) return;
  state.pushToTalk = false;
  void setMuted("audio", true);
}

document.addEventListener("keyup", (ev) => {
  if (ev.key === " ") endPushToTalk();
});
// A window that loses focus while Space is held never sees the key go up:
// without this the microphone would stay open.
window.addEventListener("blur", endPushToTalk);
document.addEventListener("visibilitychange", () => {
  if (document.hidden) endPushToTalk();
});

// ---------- settings ----------

async function enterSettings(): Promise<void> {
  // The screen shows once its fields hold what is saved: shown first, a
  // name typed while the settings loaded was overwritten when they came.
  $("settings-status").textContent = "";
  try {
    state.settings = await api.getSettings();
    await refreshDevices();
  } catch (e) {
    $("settings-status").textContent = messageOf(e);
  }
  $<HTMLInputElement>("settings-display-name").value = state.settings.displayName;
  $<HTMLInputElement>("settings-upload-url").value = state.settings.logUploadUrl;
  $<HTMLTextAreaElement>("settings-ice-servers").value = state.settings.iceServers.join("\n");
  $<HTMLInputElement>("settings-ice-username").value = state.settings.iceUsername;
  $<HTMLInputElement>("settings-ice-credential").value = state.settings.iceCredential;
  $<HTMLInputElement>("settings-relay-only").checked = state.settings.relayOnly;
  $<HTMLInputElement>("settings-original-sound").checked = state.settings.originalSound;
  fillDevicePickers(SETTINGS_PICKERS, state.settings, true);
  show("settings");
  const status = state.status;
  if (status) {
    $("about-version").textContent = `TalkLine ${status.version} · default server ${status.defaultServer}`;
    $("privacy-summary").textContent = `You accepted "${status.policy.title}" (version ${status.policy.version}). Everything TalkLine keeps is encrypted on this device.`;
  }
  await renderPrivacyChoices();
}

$("settings-save").onclick = async () => {
  const next: Settings = {
    displayName: $<HTMLInputElement>("settings-display-name").value.trim(),
    camera: $<HTMLSelectElement>("settings-camera").value || null,
    microphone: $<HTMLSelectElement>("settings-mic").value || null,
    speaker: $<HTMLSelectElement>("settings-speaker").value || null,
    logUploadUrl: $<HTMLInputElement>("settings-upload-url").value.trim(),
    iceServers: $<HTMLTextAreaElement>("settings-ice-servers").value
      .split("\n").map((line) => line.trim()).filter((line) => line !== ""),
    iceUsername: $<HTMLInputElement>("settings-ice-username").value.trim(),
    iceCredential: $<HTMLInputElement>("settings-ice-credential").value,
    relayOnly: $<HTMLInputElement>("settings-relay-only").checked,
    originalSound: $<HTMLInputElement>("settings-original-sound").checked,
  };
  try {
    await api.setSettings(next);
    state.settings = next;
    $<HTMLInputElement>("display-name").value = next.displayName;
    $("settings-status").textContent = "Saved.";
  } catch (e) {
    $("settings-status").textContent = messageOf(e);
  }
};

$("settings-back").onclick = () => void enterHome();

// ---------- beauty and background (computed on this device only) ----------

const effects = { choice: { background: "none", beauty: 0 } as EffectsChoice };

async function fillEffects(prefix: "prejoin" | "meeting"): Promise<void> {
  const select = $<HTMLSelectElement>(`${prefix}-background`);
  try {
    effects.choice = await api.getEffects();
    const options = await api.backgroundOptions();
    select.replaceChildren(
      ...options.map((o) => {
        const opt = document.createElement("option");
        opt.value = o.id;
        opt.textContent = o.label;
        return opt;
      }),
    );
  } catch (e) {
    toast(messageOf(e), "error");
  }
  select.value = effects.choice.background;
  $<HTMLInputElement>(`${prefix}-beauty`).value = String(effects.choice.beauty);
}

async function applyEffects(prefix: "prejoin" | "meeting", next: EffectsChoice): Promise<void> {
  try {
    await withConsent(() => api.setEffects(next));
    effects.choice = next;
  } catch (e) {
    toast(messageOf(e), "error");
  }
  // Show what is in force (a refused consent leaves the old choice).
  $<HTMLSelectElement>(`${prefix}-background`).value = effects.choice.background;
  $<HTMLInputElement>(`${prefix}-beauty`).value = String(effects.choice.beauty);
}

for (const prefix of ["prejoin", "meeting"] as const) {
  $<HTMLSelectElement>(`${prefix}-background`).onchange = (ev) =>
    void applyEffects(prefix, { ...effects.choice, background: (ev.target as HTMLSelectElement).value });
  $<HTMLInputElement>(`${prefix}-beauty`).onchange = (ev) =>
    void applyEffects(prefix, { ...effects.choice, beauty: Number((ev.target as HTMLInputElement).value) });
  $<HTMLInputElement>(`${prefix}-photo`).onchange = async (ev) => {
    const input = ev.target as HTMLInputElement;
    const file = input.files?.[0];
    input.value = "";
    if (!file) return;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const id = await withConsent(() => api.addBackground(bytes));
      await fillEffects(prefix);
      await applyEffects(prefix, { ...effects.choice, background: id });
    } catch (e) {
      toast(messageOf(e), "error");
    }
  };
}

// ---------- privacy: choices, your data, withdrawal ----------

function renderChoice(choice: PrivacyChoice): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset.choice = choice.id;
  const label = document.createElement("label");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.id = `choice-${choice.id}`;
  box.checked = choice.granted === true;
  const title = document.createElement("strong");
  title.textContent = choice.title;
  const state = document.createElement("span");
  state.className = "choice-state";
  state.textContent = choice.granted === null ? " (not asked yet)" : "";
  label.append(box, " ", title, state);
  const why = document.createElement("p");
  why.className = "hint";
  why.textContent = choice.explanation;
  box.onchange = async () => {
    try {
      await api.setPrivacyChoice(choice.id, box.checked);
      state.textContent = "";
      $("privacy-status").textContent = `${choice.title}: ${box.checked ? "on" : "off"}.`;
    } catch (e) {
      box.checked = !box.checked;
      $("privacy-status").textContent = messageOf(e);
    }
  };
  li.append(label, why);
  return li;
}

async function renderPrivacyChoices(): Promise<void> {
  const list = $("privacy-choices");
  try {
    const choices = await api.privacyChoices();
    list.replaceChildren(...choices.map(renderChoice));
  } catch (e) {
    $("privacy-status").textContent = messageOf(e);
  }
}

function when(unix: number | null): string {
  return unix ? new Date(unix * 1000).toLocaleString() : "—";
}

function dataSection(title: string, rows: string[], empty: string): HTMLElement {
  const card = document.createElement("div");
  card.className = "card";
  card.dataset.section = title;
  const h = document.createElement("h2");
  h.textContent = `${title} (${rows.length})`;
  const ul = document.createElement("ul");
  for (const text of rows.length ? rows : [empty]) {
    const li = document.createElement("li");
    li.textContent = text;
    ul.append(li);
  }
  card.append(h, ul);
  return card;
}

function renderPersonalData(data: PersonalData): void {
  $("data-sections").replaceChildren(
    dataSection("Profile and settings", data.settings.filter((s) => s.value).map((s) => `${s.key}: ${s.value}`), "Nothing set."),
    dataSection("Meeting history", data.meetings.map((m) => `Meeting ${m.room} on ${m.server} as ${m.display_name}, ${when(m.joined_at)} – ${when(m.left_at)}`), "No meetings."),
    dataSection("Scheduled meetings", data.schedules.map((m) => `${m.title}: ${when(m.starts_at)} – ${when(m.ends_at)} (${m.link})`), "No schedules."),
    dataSection("Scan records", data.scans.map((s) => `${s.payload}, ${when(s.scanned_at)}`), "No scans."),
    dataSection("Consent ledger", data.consent.map((c) => `${c.subject}: ${c.granted ? "yes" : "no"} (policy ${c.policy_version}), ${when(c.decided_at)}`), "No answers."),
    dataSection("Your backgrounds", data.backgrounds, "None."),
    dataSection("Logs", data.logs.map((l) => `${l.name} (${Math.ceil(l.bytes / 1024)} KB)`), "No logs."),
  );
}

async function enterPersonalData(): Promise<void> {
  show("data");
  $("data-status").textContent = "";
  try {
    renderPersonalData(await api.personalData());
  } catch (e) {
    $("data-status").textContent = messageOf(e);
  }
}

async function dataAction(action: () => Promise<string>): Promise<void> {
  try {
    $("data-status").textContent = await action();
    renderPersonalData(await api.personalData());
  } catch (e) {
    $("data-status").textContent = messageOf(e);
  }
}

$("open-personal-data").onclick = () => void enterPersonalData();
$("data-back").onclick = () => void enterSettings();
$("data-export").onclick = () =>
  void dataAction(async () => `A complete copy was saved to ${await api.exportPersonalData()}.`);
$("data-delete-history").onclick = () =>
  void dataAction(async () => {
    await api.deleteHistory();
    void renderRecent();
    return "Meeting history and scan records deleted.";
  });
$("data-clear-cache").onclick = () =>
  void dataAction(async () => `Cache cleared (${Math.ceil((await api.clearCache()) / 1024)} KB).`);

$("upload-logs").onclick = async () => {
  $("upload-status").textContent = "Uploading…";
  try {
    const bytes = await api.uploadLogs();
    $("upload-status").textContent = `Logs sent (${Math.ceil(bytes / 1024)} KB).`;
  } catch (e) {
    $("upload-status").textContent = messageOf(e);
  }
};

$("withdraw-consent").onclick = () => {
  showError($("withdraw-error"), null);
  $("withdraw-dialog").hidden = false;
  $("withdraw-cancel").focus();
};
$("withdraw-cancel").onclick = () => {
  $("withdraw-dialog").hidden = true;
};
$("withdraw-confirm").onclick = async () => {
  const button = $<HTMLButtonElement>("withdraw-confirm");
  button.disabled = true;
  button.textContent = "Deleting…";
  try {
    await api.withdrawConsent();
    // The app closes now.
  } catch (e) {
    showError($("withdraw-error"), messageOf(e));
    button.disabled = false;
    button.textContent = "Try again";
  }
};

function renderLicences(): void {
  const list = $("licences");
  const item = (text: string): HTMLLIElement => {
    const li = document.createElement("li");
    li.textContent = text;
    return li;
  };
  for (const c of BUNDLED_COMPONENTS) list.append(item(`${c.name} — ${c.licence}`));
  for (const c of SYSTEM_COMPONENTS) list.append(item(`${c.name} — ${c.licence} (from the system)`));
  const total = RUST_CRATES.reduce((n, group) => n + group.crates.length, 0);
  const details = document.createElement("details");
  details.id = "rust-crates";
  const summary = document.createElement("summary");
  summary.textContent = `Rust crates built into the app (${total})`;
  details.append(summary);
  for (const group of RUST_CRATES) {
    const p = document.createElement("p");
    p.textContent = `${group.licence}: ${group.crates.join(", ")}`;
    details.append(p);
  }
  const li = document.createElement("li");
  li.append(details);
  list.append(li);
}

// ---------- a database that cannot be opened ----------

function showStoreError(status: AppStatus): void {
  $("store-error-banner").hidden = !status.storeError;
  $("store-error").textContent = status.storeError ? `Your saved data cannot be opened: ${status.storeError}` : "";
  $("store-set-aside").hidden = !status.storeCanBeSetAside;
  $("store-set-aside-ask").hidden = false;
  $("store-set-aside-confirm-row").hidden = true;
}

$("store-set-aside-ask").onclick = () => {
  $("store-set-aside-ask").hidden = true;
  $("store-set-aside-confirm-row").hidden = false;
  $("store-set-aside-cancel").focus();
};
$("store-set-aside-cancel").onclick = () => {
  $("store-set-aside-confirm-row").hidden = true;
  $("store-set-aside-ask").hidden = false;
};
$("store-set-aside-confirm").onclick = async () => {
  try {
    const kept = await api.setAsideDatabase();
    const status = await api.status();
    state.status = status;
    showStoreError(status);
    toast(`The old data file is kept as ${kept}`);
  } catch (e) {
    $("store-error").textContent = messageOf(e);
  }
};

// ---------- start ----------

async function start(): Promise<void> {
  renderLicences();
  await api.subscribe(onEvent);
  const status = await api.status();
  state.status = status;
  showStoreError(status);
  if (!status.policy.accepted) {
    renderPolicy(status);
    show("policy");
    return;
  }
  await enterHome();
}

start().catch((e) => {
  document.body.textContent = `TalkLine could not start: ${messageOf(e)}`;
});
