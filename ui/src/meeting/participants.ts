// The participants of the meeting: their tiles, the People list, and our own mute state.

import { api, type ParticipantView } from "../api";
import { fillDevicePickers } from "../devices";
import { $, messageOf, toast } from "../dom";
import { fillEffects } from "../effects";
import { ActiveSpeaker } from "../layout";
import { annotate, resetBoard, screenGone } from "./board";
import { loadChat, resetChat } from "./chat";
import { renderHandBadges, resetHands } from "./hands";
import { hostButtons, keepingFocus, renderHostControls, resetWaiting } from "./host";
import { resetScreenShare } from "./screen_share";
import { resetRecording } from "./recording";
import { scheduleVideoLayers, tilesInSight } from "./layers";
import { layoutTiles, tileElement } from "./tiles";
import { show, state } from "../state";
import { attachLoop, stopLoops } from "../video";
import { t } from "../i18n";

/**
 * Empties the grid before a join: the participants already in the room
 * arrive as events while the join is still under way.
 */
export function resetMeeting(): void {
  stopLoops();
  resetChat();
  resetHands();
  resetScreenShare();
  resetRecording();
  resetBoard();
  resetWaiting();
  state.leaving = false;
  state.participants.clear();
  state.volumes.clear();
  state.videoLayers.clear();
  state.fullWidths.clear();
  state.pinned = null;
  state.speaker = new ActiveSpeaker();
  state.activeSpeaker = null;
  state.galleryPage = 0;
  layoutBeforeShare = null;
  // The old tiles go; the new ones observe themselves as they are made.
  tilesInSight.disconnect();
  const tiles = $("tiles");
  tiles.replaceChildren();
  tiles.append(tileElement("self", t("common.you", { name: $<HTMLInputElement>("display-name").value.trim() }), true));
}

$<HTMLInputElement>("meeting-original-sound").onchange = async () => {
  const box = $<HTMLInputElement>("meeting-original-sound");
  try {
    await api.setOriginalSound(box.checked);
    state.settings = { ...state.settings, originalSound: box.checked };
    toast(t(box.checked ? "meeting.originalSoundOn" : "meeting.originalSoundOff"));
  } catch (e) {
    box.checked = !box.checked;
    toast(messageOf(e), "error");
  }
};

export function enterMeeting(): void {
  show("meeting");
  $("invite-panel").hidden = true;
  $("meeting-name").textContent = t("common.meetingN", { room: state.room });
  const self = document.querySelector<HTMLElement>('#tiles .tile[data-tile="self"]');
  if (self) attachLoop(self, "self", "meeting");
  layoutTiles();
  renderSelfMuted();
  fillDevicePickers(["meeting-camera", "meeting-mic", "meeting-speaker"], state.settings);
  $<HTMLInputElement>("meeting-original-sound").checked = state.settings.originalSound;
  void fillEffects("meeting");
  renderHostControls();
  $("reconnecting-banner").hidden = true;
  $("quality").dataset.level = "good";
  void loadChat();
}

/** What a tile is called: the person, or the screen they share. */
function tileName(p: ParticipantView): string {
  return p.screen ? t("screen.of", { name: p.display }) : p.display;
}

/** The layout before a shared screen took the large tile, restored once no screen is shared. */
let layoutBeforeShare: typeof state.layoutMode | null = null;

function sharesChanged(): void {
  const sharing = [...state.participants.values()].some((p) => p.screen);
  if (sharing && layoutBeforeShare === null) {
    // A screen shared is shown large, as in Zoom and Meet.
    layoutBeforeShare = state.layoutMode;
    state.layoutMode = "speaker";
  } else if (!sharing && layoutBeforeShare !== null) {
    state.layoutMode = layoutBeforeShare;
    layoutBeforeShare = null;
  }
}

/** On a shared screen's tile: draw on it for everyone. */
function annotateButton(p: ParticipantView): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "annotate";
  b.textContent = t("board.annotate");
  b.title = t("board.annotateTitle", { name: p.display });
  b.onclick = (ev) => {
    ev.stopPropagation();
    annotate(p.id, p.display);
  };
  return b;
}

export function renderParticipant(p: ParticipantView): void {
  state.participants.set(p.id, p);
  const id = String(p.id);
  let el = document.querySelector<HTMLElement>(`#tiles .tile[data-tile="${id}"]`);
  if (!el) {
    el = tileElement(id, tileName(p), false);
    el.classList.toggle("shared-screen", p.screen);
    if (p.screen) el.append(annotateButton(p));
    sharesChanged();
    $("tiles").append(el);
    attachLoop(el, id, "meeting");
    layoutTiles();
    // Their hand may have been told before their tile was made.
    renderHandBadges();
  }
  const label = el.querySelector(".name");
  if (label) label.textContent = tileName(p);
  // A shared screen has no sound of its own: no microphone icon.
  el.classList.toggle("audio-muted", !p.screen && (p.audioMuted || p.audioHeld || !p.hasAudio));
  el.classList.toggle("video-muted", p.videoMuted || p.videoHeld || !p.hasVideo);
  renderParticipantList();
  scheduleVideoLayers();
}

export function removeParticipant(id: number): void {
  const name = state.participants.get(id)?.display;
  const screen = state.participants.get(id)?.screen ?? false;
  state.participants.delete(id);
  sharesChanged();
  state.videoLayers.delete(id);
  state.fullWidths.delete(id);
  state.speaker.forget(String(id));
  if (state.activeSpeaker === String(id)) state.activeSpeaker = null;
  if (state.pinned === String(id)) state.pinned = null;
  state.loops.get(String(id))?.stop();
  state.loops.delete(String(id));
  if (screen) screenGone(id);
  const tile = document.querySelector<HTMLElement>(`#tiles .tile[data-tile="${id}"]`);
  if (tile) {
    tilesInSight.unobserve(tile);
    tile.remove();
  }
  layoutTiles();
  renderParticipantList();
  if (name && state.screen === "meeting" && !state.leaving) {
    toast(t(screen ? "screen.stopped" : "meeting.left", { name }));
  }
}

export function renderParticipantList(): void {
  const list = $("participant-list");
  keepingFocus(list, () => fillParticipantList(list));
  const people = [...state.participants.values()].filter((p) => !p.screen);
  $("participants-toggle").textContent = t("meeting.peopleN", { count: people.length + 1 });
}

function fillParticipantList(list: HTMLElement): void {
  list.replaceChildren();
  const you = document.createElement("li");
  you.dataset.participant = "self";
  const yourName = t("common.you", { name: $<HTMLInputElement>("display-name").value.trim() });
  you.textContent = state.audioMuted ? `${yourName} · ${t("meeting.muted")}` : yourName;
  list.append(you);
  const people = [...state.participants.values()].filter((p) => !p.screen);
  for (const p of people) {
    const li = document.createElement("li");
    li.dataset.participant = String(p.id);
    const off = [
      p.audioHeld ? t("meeting.heldMic") : p.audioMuted ? t("meeting.muted") : "",
      p.videoHeld ? t("meeting.heldCamera") : p.videoMuted ? t("meeting.cameraOff") : "",
    ].filter(Boolean);
    const name = document.createElement("span");
    name.textContent = off.length ? `${p.display} · ${off.join(t("common.listSeparator"))}` : p.display;
    // Each person's volume on this device only, as loud as they send
    // unless moved (0-200%).
    const volume = document.createElement("input");
    volume.type = "range";
    volume.min = "0";
    volume.max = "200";
    volume.step = "10";
    volume.value = String(state.volumes.get(p.id) ?? 100);
    volume.className = "volume";
    volume.setAttribute("aria-label", t("meeting.volumeOf", { name: p.display }));
    volume.title = t("meeting.volumeOfPercent", { name: p.display, percent: volume.value });
    volume.onchange = async () => {
      const percent = Number(volume.value);
      try {
        await api.setParticipantVolume(p.id, percent);
        state.volumes.set(p.id, percent);
        volume.title = t("meeting.volumeOfPercent", { name: p.display, percent });
      } catch (e) {
        toast(messageOf(e), "error");
      }
    };
    li.append(name, volume, ...hostButtons(p));
    list.append(li);
  }
}

export function renderSelfMuted(): void {
  const mic = $("mic-toggle");
  mic.setAttribute("aria-pressed", String(state.audioMuted));
  mic.textContent = t(state.audioMuted ? "meeting.unmute" : "meeting.mute");
  if (!state.audioMuted) $("muted-hint").hidden = true;
  const cam = $("camera-toggle");
  cam.setAttribute("aria-pressed", String(state.videoMuted));
  cam.textContent = t(state.videoMuted ? "meeting.startVideo" : "meeting.stopVideo");
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
export let muteQueue: Promise<void> = Promise.resolve();

export function setMuted(kind: "audio" | "video", muted: boolean | "toggle"): Promise<void> {
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
