import "./style.css";
import { api, type AppEvent } from "./api";
import { devicesChanged } from "./devices";
import { $, disclosure, messageOf, showError, toast } from "./dom";
import { frameStats, snapshotTile } from "./frames";
import { addChatMessage, chatNotSent, renderChatPeople, renderChatState } from "./meeting/chat";
import { renderFile } from "./meeting/files";
import { boardChanged } from "./meeting/board";
import { renderHands, showReaction } from "./meeting/hands";
import { renderRecorders, renderRecording } from "./meeting/recording";
import { renderWaiting } from "./meeting/host";
import { renderSharing, resetScreenShare } from "./meeting/screen_share";
import { closeRequested } from "./meeting/leave";
import { updateLevels } from "./meeting/levels";
import { removeParticipant, renderParticipant, renderSelfMuted } from "./meeting/participants";
import { layoutTiles } from "./meeting/tiles";
import { enterHome, openLinkFromOutside } from "./screens/home";
import { renderPolicy } from "./screens/policy";
import { scanned } from "./screens/scan";
import { renderLicences } from "./screens/settings";
import { firstShownAt, screenFirstShownAt, show, state, type Screen } from "./state";
import { showStoreError } from "./store_error";
// Modules that only wire up their controls, imported for that alone.
import "./meeting/device_menu";
import "./meeting/invite";
import "./shortcuts";
import { t } from "./i18n";
import { speak } from "./language_picker";

// Read by the end-to-end tests and the benchmark.
declare global {
  interface Window {
    __talkline: {
      frames: typeof frameStats;
      state: () => Record<string, unknown>;
      snapshot: typeof snapshotTile;
      setPageSize: (n: number) => void;
      firstShownAt: () => number | null;
      screenFirstShownAt: (screen: Screen) => number | null;
    };
  }
}
window.__talkline = {
  firstShownAt: () => firstShownAt,
  screenFirstShownAt: (screen: Screen) => screenFirstShownAt[screen] ?? null,
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

function onEvent(event: AppEvent): void {
  switch (event.type) {
    case "call_state":
      $("reconnecting-banner").hidden = event.state !== "reconnecting";
      break;
    case "participant_joined":
      renderParticipant(event.participant);
      if (state.screen === "meeting") {
        const key = event.participant.screen ? "screen.started" : "meeting.joined";
        toast(t(key, { name: event.participant.display }));
      }
      break;
    case "participant_changed":
      renderParticipant(event.participant);
      break;
    case "chat_state":
      renderChatState(event.state, event.reason);
      break;
    case "chat_message":
      addChatMessage(event.message);
      break;
    case "chat_people":
      renderChatPeople(event.people);
      break;
    case "chat_not_sent":
      chatNotSent(event.id, event.reason);
      break;
    case "hands":
      renderHands(event.ready, event.handUp, event.hands, event.raised);
      break;
    case "file":
      renderFile(event.file);
      break;
    case "screen_share":
      renderSharing(event.sharing);
      if (event.reason) toast(t("screen.ended", { reason: event.reason }), "error");
      break;
    case "reaction":
      showReaction(event.reaction);
      break;
    case "recorders":
      renderRecorders(event.others, event.started);
      break;
    case "recording":
      renderRecording(event.recording, event.file, event.reason);
      break;
    case "board":
      boardChanged(event.change);
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
      q.title = t("meeting.qualityDetail", { level: t(`meeting.quality.${event.level}`), detail: event.detail });
      // Said in words, not only by colour, when the network is the reason.
      const reason = $("quality-reason");
      reason.hidden = !event.reason;
      reason.textContent = event.reason ?? "";
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
    case "waiting_for_host":
      $("waiting-banner").hidden = false;
      break;
    case "waiting":
      renderWaiting(event.shown, event.total);
      break;
    case "call_ended":
      resetScreenShare();
      // Our own Leave goes Home by itself once the call is closed; the end
      // is told before that (the closing takes a moment), and going Home
      // twice would take the user away from wherever they went meanwhile.
      if (state.screen === "meeting" && !state.leaving) {
        if (event.error) toast(t("meeting.ended", { reason: event.error.message }), "error");
        void enterHome();
      }
      break;
  }
}

async function start(): Promise<void> {
  disclosure("device-menu-toggle", "device-menu");
  disclosure("invite-toggle", "invite-panel");
  disclosure("participants-toggle", "participants");
  disclosure("chat-toggle", "chat");
  disclosure("reactions-toggle", "reactions-menu");
  await api.subscribe(onEvent);
  const status = await api.status();
  state.status = status;
  speak(status);
  renderLicences();
  showStoreError(status);
  if (!status.policy.accepted) {
    renderPolicy(status);
    show("policy");
    return;
  }
  await enterHome();
}

start().catch((e) => {
  document.body.textContent = t("app.couldNotStart", { reason: messageOf(e) });
});
