// Typed calls into the Rust core. Each function is one command listed in
// src-tauri/capabilities/main.json; the shapes mirror crates/client.
import { Channel, invoke } from "@tauri-apps/api/core";

/**
 * A layer of a simulcasting participant's video: quarter, half or full
 * size, or none at all (a tile out of sight).
 */
export type VideoLayer = "low" | "medium" | "high" | "paused";

/** The core's loopback socket for video, and the secret that opens it. */
export interface VideoSocketAddress {
  url: string;
  secret: string;
}

/** Where the core draws one tile's video natively, in device pixels (`?video=native`). */
/** A rectangle in the window's device pixels. */
export interface NativeRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface NativePlacement extends NativeRect {
  tile: string;
  /** Left and right swapped (the self-view). */
  mirror: boolean;
  /** What the page shows over the video. */
  holes: NativeRect[];
}

export interface NativeTileStats {
  drawn: number;
  /** Pictures the X server refused. */
  failed: number;
  seq: number;
  width: number;
  height: number;
  latencyMs: number[];
}

export interface PolicyView {
  version: number;
  accepted: boolean;
  title: string;
  text: string;
}

export interface AppStatus {
  version: string;
  /** The language in force ("en", "zh-CN"): the page's, and the core's texts. */
  language: string;
  /** The system's language, which "" in the language setting follows. */
  systemLanguage: string;
  policy: PolicyView;
  displayName: string;
  defaultServer: string;
  inMeeting: boolean;
  storeError: string | null;
  /** The file is damaged or foreign: it may be set aside (`setAsideDatabase`). */
  storeCanBeSetAside: boolean;
}

export interface Settings {
  displayName: string;
  camera: string | null;
  microphone: string | null;
  speaker: string | null;
  /** Where "Upload logs" sends the logs; "" until set. */
  logUploadUrl: string;
  /** STUN and TURN servers for meetings whose link names none. */
  iceServers: string[];
  iceUsername: string;
  iceCredential: string;
  relayOnly: boolean;
  /** The microphone sent as it is: no echo cancellation, noise suppression or gain control. */
  originalSound: boolean;
  /** "" for the system's language, else "en" or "zh-CN". */
  language: string;
  /** Where recordings of meetings go: "" for the user's Videos. */
  recordingsFolder: string;
}

/** A recording made on this device, as Your data lists it. */
export interface RecordingView {
  id: number;
  name: string;
  file: string;
  room: number;
  startedAt: number;
  durationMs: number | null;
  /** The file's size now; null when the file is gone. */
  bytes: number | null;
}

export interface Device {
  id: string;
  label: string;
  isDefault: boolean;
}

export interface DeviceList {
  cameras: Device[];
  microphones: Device[];
  speakers: Device[];
}

export interface MeetingTarget {
  room: number;
  server: string;
  hasPin: boolean;
}

export interface JoinRequest {
  input: string;
  displayName: string;
  camera: string | null;
  microphone: string | null;
  speaker: string | null;
  audioMuted: boolean;
  videoMuted: boolean;
}

/** A meeting read from a QR code; `input` is the link to join with. */
export interface ScannedMeeting {
  input: string;
  room: number;
  server: string;
  hasPin: boolean;
}

export interface ScheduleRequest {
  title: string;
  /** Unix seconds (UTC). */
  startsAt: number;
  durationMinutes: number;
  input: string;
}

export interface ScheduledMeeting {
  id: number;
  title: string;
  /** The full meeting link to join with. */
  input: string;
  room: number;
  server: string;
  hasPin: boolean;
  startsAt: number;
  endsAt: number;
}

export interface Joined {
  room: number;
  selfId: number;
  /** As joined: also muted where there is no microphone (or camera) yet. */
  audioMuted: boolean;
  videoMuted: boolean;
  /** This device hosts the meeting: the host's controls are offered. */
  host: boolean;
  /** The meeting we host is locked (one with a waiting room is, from the start). */
  locked: boolean;
}

/** A meeting just made on this device, which hosts it. */
export interface NewMeeting {
  room: number;
  /** The guests' link (no secret in it). */
  link: string;
}

/** What a host asks: of one participant, or of the whole meeting. */
export type HostAction =
  | { action: "mute" | "askUnmute" | "stopVideo" | "askVideo" | "remove"; participant: number }
  | { action: "lock" | "unlock" | "end" }
  | { action: "admit"; username: string | null }
  | { action: "refuse"; username: string };

/** How others join the meeting: its link, and the link as a QR code
 * (modules a side; the modules row by row, "1" dark). */
export interface Invitation {
  link: string;
  qrWidth: number;
  qrRows: string;
}

export interface RecentMeeting {
  room: number;
  server: string;
  joinedAt: number;
}

export interface ParticipantView {
  id: number;
  display: string;
  audioMuted: boolean;
  videoMuted: boolean;
  hasAudio: boolean;
  hasVideo: boolean;
  /** A screen shared by the person of the same name. */
  screen: boolean;
  /** The host turned their microphone or camera off. */
  audioHeld: boolean;
  videoHeld: boolean;
}

export type DeviceKind = "camera" | "microphone" | "speaker";

/** A chat message as shown (`to`: whom we sent it to alone). */
export interface ChatMessageView {
  id: number;
  from: string;
  display: string;
  text: string;
  private: boolean;
  to: string | null;
  own: boolean;
  at: string | null;
  cut: boolean;
  /** Said before we joined (the meeting's history): not news. */
  history: boolean;
  /** Why the server did not take it (one of ours). */
  notSent: string | null;
}

export interface ChatPerson {
  username: string;
  display: string;
}

export type ChatState = "connecting" | "ready" | "unavailable";

export interface ChatSnapshot {
  state: ChatState;
  reason: string | null;
  messages: ChatMessageView[];
  people: ChatPerson[];
  /** Hands can be raised and reactions sent. */
  handsReady: boolean;
  /** Our hand, as we last asked for it. */
  handUp: boolean;
  /** The queue of raised hands, first raised first. */
  hands: HandView[];
  files: FileView[];
  /** Everyone else who records the meeting on their device. */
  recorders: string[];
}

/** A raised hand: on the tile of `feed` (when they publish), and in the queue. */
export interface HandView {
  display: string;
  feed: number | null;
  own: boolean;
}

/** A screen the picker offers. */
export interface ScreenSource {
  id: string;
  /** A window's title; null for a whole screen. */
  title: string | null;
  width: number;
  height: number;
  thumbnail: string | null;
  /** The desktop's own picker chooses (Wayland): no size or thumbnail. */
  byDesktop: boolean;
}

/** A file offered in the meeting, and what became of it. */
export interface FileView {
  id: string;
  display: string;
  name: string;
  size: number;
  private: boolean;
  own: boolean;
  state: "offered" | "receiving" | "saved" | "failed" | "delivered";
  received: number;
  savedAs: string | null;
  error: string | null;
  deliveredTo: number;
}

export interface ReactionView {
  display: string;
  feed: number | null;
  emoji: string;
  own: boolean;
}

/** A stroke on the whiteboard or a screen's annotation (points x, y, x, y… in units of 10000). */
export interface StrokeView {
  id: string;
  by: string;
  own: boolean;
  tool: string;
  color: string;
  width: number;
  points: number[];
  text: string;
}

/** What changed on a board: `screen` null is the whiteboard. */
export type BoardChange =
  | { kind: "shown"; by: string | null; own: boolean }
  | { kind: "drawn"; screen: number | null; stroke: StrokeView }
  | { kind: "erased"; screen: number | null; ids: string[] }
  | { kind: "cleared"; screen: number | null; by: string }
  | { kind: "reset" }
  | { kind: "dropped"; by: string };

export type BoardRequest =
  | { kind: "draw"; screen: number | null; tool: string; color: string; width: number; points: number[]; text: string }
  | { kind: "erase"; screen: number | null; ids: string[] }
  | { kind: "undo"; screen: number | null }
  | { kind: "clear"; screen: number | null }
  | { kind: "show"; shown: boolean };

export interface BoardSnapshot {
  strokes: StrokeView[];
  shownBy: string | null;
  shownByUs: boolean;
}

export type AppEvent =
  | { type: "call_state"; state: "connecting" | "joined" | "reconnecting" | "left" }
  | { type: "chat_state"; state: ChatState; reason: string | null }
  | { type: "chat_message"; message: ChatMessageView }
  | { type: "chat_people"; people: ChatPerson[] }
  | { type: "chat_not_sent"; id: number; reason: string }
  | { type: "hands"; ready: boolean; handUp: boolean; hands: HandView[]; raised: HandView | null }
  | { type: "file"; file: FileView }
  | { type: "screen_share"; sharing: boolean; reason: string | null }
  | { type: "reaction"; reaction: ReactionView }
  | { type: "recorders"; others: string[]; started: string | null }
  | { type: "recording"; recording: boolean; file: string | null; reason: string | null }
  | { type: "board"; change: BoardChange }
  | { type: "participant_joined"; participant: ParticipantView }
  | { type: "participant_changed"; participant: ParticipantView }
  | { type: "participant_left"; id: number }
  | { type: "levels"; self: number; speaking: boolean; remotes: Record<string, number> }
  | { type: "quality"; level: "good" | "fair" | "poor"; detail: string; reason: string | null }
  | { type: "call_ended"; error: { kind: string; message: string } | null }
  | { type: "device_changed"; kind: DeviceKind; message: string }
  | { type: "devices_changed"; devices: DeviceList; message: string | null }
  | { type: "self_muted"; audioMuted: boolean; videoMuted: boolean }
  | { type: "qr_scanned"; meeting: ScannedMeeting }
  | { type: "qr_refused"; message: string }
  | { type: "close_requested" }
  | { type: "link_opened" }
  | { type: "waiting_for_host" }
  | { type: "waiting"; shown: WaitingView[]; total: number };

/** Someone in the waiting room of the meeting we host. */
export interface WaitingView {
  username: string;
  display: string;
}

/** What every failed command rejects with (AppError's serialised form). */
export interface PrivacyChoice {
  id: string;
  kind: "permission" | "feature";
  title: string;
  explanation: string;
  /** null: never asked yet. */
  granted: boolean | null;
}

/** What the app keeps, as `personal_data` returns it. */
export interface PersonalData {
  settings: { key: string; value: string }[];
  meetings: { server: string; room: number; display_name: string; joined_at: number; left_at: number | null }[];
  schedules: { title: string; link: string; starts_at: number; ends_at: number }[];
  scans: { payload: string; scanned_at: number }[];
  /** Meetings this device hosts: the host key is kept, never shown. */
  hosted_meetings?: { server: string; room: number; pin: string | null; host_key: string; waiting_room: number; created_at: number }[];
  consent: { subject: string; granted: number; policy_version: string; decided_at: number }[];
  logs: { name: string; bytes: number }[];
  backgrounds: string[];
}

export interface EffectsChoice {
  /** none | blur | dusk | meadow | studio | photo:<name> */
  background: string;
  /** 0 (off) to 1. */
  beauty: number;
}

export interface BackgroundOption {
  id: string;
  label: string;
}

export interface Withdrawal {
  deleted: string[];
}

export class AppFailure extends Error {
  readonly kind: string;
  readonly permission?: string;
  readonly title?: string;
  readonly purpose?: string;
  /** For "system_refused": the operating system has a privacy page to change it. */
  readonly settingsPage?: boolean;
  /** The message in Simplified Chinese, where the core has it. */
  readonly chinese?: string;

  constructor(raw: unknown) {
    const view = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    const message = typeof view.message === "string" ? view.message : String(raw);
    super(message);
    this.kind = typeof view.kind === "string" ? view.kind : "internal";
    if (typeof view.permission === "string") this.permission = view.permission;
    if (typeof view.title === "string") this.title = view.title;
    if (typeof view.purpose === "string") this.purpose = view.purpose;
    if (typeof view.settingsPage === "boolean") this.settingsPage = view.settingsPage;
    if (typeof view.chinese === "string") this.chinese = view.chinese;
  }
}

async function call<T>(cmd: string, args?: Record<string, unknown>, headers?: Record<string, string>): Promise<T> {
  try {
    return await invoke<T>(cmd, args, headers ? { headers } : undefined);
  } catch (raw) {
    throw new AppFailure(raw);
  }
}

export const api = {
  status: () => call<AppStatus>("app_status"),
  /** "" for the system's; kept once the policy is accepted. */
  setLanguage: (language: string) => call<void>("set_language", { language }),
  acceptPolicy: (version: number) => call<void>("accept_policy", { version }),
  declinePolicy: () => call<void>("decline_policy"),
  /** The close question is on screen (the window's close button mid-meeting). */
  closeRequestAnswered: () => call<void>("close_request_answered"),
  /** Leaves any meeting and closes the app. */
  quit: () => call<void>("quit"),
  meetingInvitation: () => call<Invitation>("meeting_invitation"),
  /** Opens the system's privacy page for a permission the system refused. */
  openSystemSettings: (permission: string) => call<void>("open_system_settings", { permission }),
  parseMeeting: (input: string) => call<MeetingTarget>("parse_meeting", { input }),
  /** Makes a new meeting on the default server, hosted by this device. */
  newMeeting: (pin: string | null, waitingRoom: boolean) => call<NewMeeting>("new_meeting", { pin, waitingRoom }),
  /** Stops a join that waits in a waiting room. */
  cancelJoin: () => call<void>("cancel_join"),
  hostAction: (action: HostAction) => call<void>("host_action", { action }),
  /** The meeting link last opened from outside the app, once (null: none). */
  takeOpenedLink: () => call<string | null>("take_opened_link"),
  listDevices: () => call<DeviceList>("list_devices"),
  getSettings: () => call<Settings>("get_settings"),
  setSettings: (settings: Settings) => call<void>("set_settings", { settings }),
  startPreview: (camera: string | null, microphone: string | null) =>
    call<void>("start_preview", { camera, microphone }),
  stopPreview: () => call<void>("stop_preview"),
  join: (request: JoinRequest) => call<Joined>("join", { request }),
  leave: () => call<void>("leave"),
  setAudioMuted: (muted: boolean) => call<void>("set_audio_muted", { muted }),
  setOriginalSound: (on: boolean) => call<void>("set_original_sound", { on }),
  setParticipantVolume: (feedId: number, percent: number) =>
    call<void>("set_participant_volume", { feedId, percent }),
  /** Which layer of a simulcasting participant's video their tile needs. */
  setVideoLayer: (feedId: number, layer: VideoLayer) => call<void>("set_video_layer", { feedId, layer }),
  sendChat: (text: string, to: string | null) => call<ChatMessageView>("send_chat", { text, to }),
  chatSnapshot: () => call<ChatSnapshot>("chat_snapshot"),
  raiseHand: (up: boolean) => call<void>("raise_hand", { up }),
  /** Records the meeting on this device (everyone is told first): the file. */
  startRecording: () => call<string>("start_recording"),
  stopRecording: () => call<void>("stop_recording"),
  recordings: () => call<RecordingView[]>("recordings"),
  openRecording: (id: number) => call<void>("open_recording", { id }),
  deleteRecording: (id: number) => call<void>("delete_recording", { id }),
  sendReaction: (emoji: string) => call<void>("send_reaction", { emoji }),
  /** Draws, erases, undoes, clears, or shows the whiteboard: a new stroke's id. */
  boardRequest: (request: BoardRequest) => call<string | null>("board_request", { request }),
  boardStrokes: (screen: number | null) => call<BoardSnapshot>("board_strokes", { screen }),
  /** A shared screen's annotation is let go once the share ended. */
  boardForget: (screen: number) => call<void>("board_forget", { screen }),
  /** The board as a PNG made on this device, saved in Downloads: where. */
  saveBoardPicture: (screen: number | null) => call<string>("save_board_picture", { screen }),
  /** Offers a file to the meeting (or to one chat username); the bytes go as the raw request body. */
  shareFile: (name: string, to: string | null, bytes: Uint8Array) =>
    call<FileView>("share_file", bytes as unknown as Record<string, unknown>, {
      "x-talkline-name": encodeURIComponent(name),
      "x-talkline-to": encodeURIComponent(to ?? ""),
    }),
  /** Asks for a file offered in the meeting; it is saved in Downloads when whole. */
  saveSharedFile: (id: string) => call<FileView>("save_shared_file", { id }),
  /** The screens there are to share, each with a thumbnail (a PNG data URL). */
  screenSources: () => call<ScreenSource[]>("screen_sources"),
  startScreenShare: (id: string, sound: boolean) => call<void>("start_screen_share", { id, sound }),
  stopScreenShare: () => call<void>("stop_screen_share"),
  openWebLink: (url: string) => call<void>("open_web_link", { url }),
  setVideoMuted: (muted: boolean) => call<void>("set_video_muted", { muted }),
  switchDevice: (kind: DeviceKind, id: string | null) => call<void>("switch_device", { kind, id }),
  /** A short chime through the speaker (the system's default for null). */
  testSpeaker: (speaker: string | null) => call<void>("test_speaker", { speaker }),
  recentMeetings: () => call<RecentMeeting[]>("recent_meetings"),
  /** The newest frame of `tile` after sequence `after`: header + I420, or empty. */
  nextFrame: (tile: string, after: number) => call<ArrayBuffer>("next_frame", { tile, after }),
  /** VP8 frames of every tile in `tiles` after its cursor, in one reply (see frames.ts). */
  nextEncoded: (tiles: { tile: string; after: number }[], waitMs: number | null) =>
    call<ArrayBuffer>("next_encoded", { tiles, waitMs }),
  /** Where encoded video can be read beside this IPC (see frames.ts). */
  videoSocket: () => call<VideoSocketAddress>("video_socket"),
  placeNativeTiles: (tiles: NativePlacement[]) => call<void>("place_native_tiles", { tiles }),
  nativeVideoStats: () => call<Record<string, NativeTileStats>>("native_video_stats"),
  personalData: () => call<PersonalData>("personal_data"),
  exportPersonalData: () => call<string>("export_personal_data"),
  deleteHistory: () => call<void>("delete_history"),
  /** Renames the database that cannot be opened and starts a new one; where the old file is. */
  setAsideDatabase: () => call<string>("set_aside_database"),
  clearCache: () => call<number>("clear_cache"),
  privacyChoices: () => call<PrivacyChoice[]>("privacy_choices"),
  setPrivacyChoice: (id: string, granted: boolean) => call<void>("set_privacy_choice", { id, granted }),
  getEffects: () => call<EffectsChoice>("get_effects"),
  setEffects: (choice: EffectsChoice) => call<void>("set_effects", { choice }),
  backgroundOptions: () => call<BackgroundOption[]>("background_options"),
  /** Keeps a photo as a background; the bytes go as the raw request body. */
  addBackground: (bytes: Uint8Array) => call<string>("add_background", bytes as unknown as Record<string, unknown>),
  uploadLogs: () => call<number>("upload_logs"),
  /** Opens the camera into the "scan" tile; a found code arrives as a `qr_scanned` event. */
  startScan: (camera: string | null) => call<void>("start_scan", { camera }),
  stopScan: () => call<void>("stop_scan"),
  scheduleMeeting: (request: ScheduleRequest) => call<ScheduledMeeting>("schedule_meeting", { request }),
  upcomingMeetings: () => call<ScheduledMeeting[]>("upcoming_meetings"),
  deleteSchedule: (id: number) => call<void>("delete_schedule", { id }),
  /** Saves the meeting as an .ics file in Downloads; returns its path. */
  addToCalendar: (id: number) => call<string>("add_to_calendar", { id }),
  /** Reads a meeting QR code from a picked picture; the bytes go as the raw request body. */
  scanQrImage: (bytes: Uint8Array) => call<ScannedMeeting>("scan_qr_image", bytes as unknown as Record<string, unknown>),
  withdrawConsent: () => call<Withdrawal>("withdraw_consent"),
  subscribe: (onEvent: (event: AppEvent) => void) => {
    const channel = new Channel<AppEvent>();
    channel.onmessage = onEvent;
    return call<void>("subscribe_events", { channel });
  },
};
