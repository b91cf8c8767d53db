import { type AppStatus, type DeviceList, type ParticipantView, type Settings, type VideoLayer } from "./api";
import { $ } from "./dom";
import { FrameLoop } from "./frames";
import { ActiveSpeaker, GALLERY_PAGE, type LayoutMode } from "./layout";

export type Screen = "policy" | "home" | "scan" | "prejoin" | "meeting" | "settings" | "data";

// The page's state, and which screen shows.

export const state = {
  status: null as AppStatus | null,
  settings: {
    displayName: "", camera: null, microphone: null, speaker: null, logUploadUrl: "",
    iceServers: [], iceUsername: "", iceCredential: "", relayOnly: false, originalSound: false, language: "", recordingsFolder: "",
  } as Settings,
  devices: { cameras: [], microphones: [], speakers: [] } as DeviceList,
  screen: "policy" as Screen,
  /** What the user asked to join, as typed (ID or link). */
  meetingInput: "",
  room: 0,
  selfId: 0,
  /** This device hosts the meeting it is in. */
  host: false,
  /** The meeting is locked (as this host last set it). */
  locked: false,
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
  /** Our own leave is under way. */
  leaving: false,
};


/** Wall clock when the first screen was shown (the start-up benchmark). */
export let firstShownAt: number | null = null;
/** Wall clock when each screen was first shown (the start-up benchmark). */
export const screenFirstShownAt: Partial<Record<Screen, number>> = {};

export function show(screen: Screen): void {
  firstShownAt ??= Date.now();
  screenFirstShownAt[screen] ??= Date.now();
  state.screen = screen;
  for (const s of ["policy", "home", "scan", "prejoin", "meeting", "settings", "data"] as const) {
    $(`screen-${s}`).hidden = s !== screen;
  }
}
