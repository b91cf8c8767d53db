//! What the core tells the UI, as it happens.

use std::collections::BTreeMap;

use serde::Serialize;
use talkline_meeting::Participant;

use crate::scan::ScannedMeeting;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantView {
    pub id: u64,
    pub display: String,
    pub audio_muted: bool,
    pub video_muted: bool,
    pub has_audio: bool,
    pub has_video: bool,
    /// A screen shared (by the person of the same name).
    pub screen: bool,
    /// The host turned their microphone or camera off.
    pub audio_held: bool,
    pub video_held: bool,
}

impl From<&Participant> for ParticipantView {
    fn from(p: &Participant) -> Self {
        Self {
            id: p.id,
            display: p.display.clone(),
            audio_muted: p.audio_muted,
            video_muted: p.video_muted,
            has_audio: p.has_audio,
            has_video: p.has_video,
            screen: p.screen,
            audio_held: p.audio_held,
            video_held: p.video_held,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorView {
    pub kind: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum AppEvent {
    CallState {
        state: &'static str,
    },
    /// The meeting's chat: "connecting", "ready" or "unavailable" (why, in
    /// the language in force).
    ChatState {
        state: &'static str,
        reason: Option<String>,
    },
    ChatMessage {
        message: crate::meeting_chat::ChatMessageView,
    },
    /// Everyone else in the chat now (whom a message can go to alone).
    ChatPeople {
        people: Vec<crate::meeting_chat::ChatPersonView>,
    },
    /// The queue of raised hands changed (first raised first), or whether
    /// hands can be raised did.
    Hands {
        ready: bool,
        /// Our hand as we last asked for it.
        hand_up: bool,
        hands: Vec<crate::meeting_chat::HandView>,
        /// Someone else's hand just raised: to announce.
        raised: Option<crate::meeting_chat::HandView>,
    },
    /// We share our screen now, or no longer.
    ScreenShare {
        sharing: bool,
        /// Why it ended by itself, in the language in force.
        reason: Option<String>,
    },
    /// A file offered in the meeting, or what became of it.
    File {
        file: crate::meeting_files::FileView,
    },
    /// Something changed on the whiteboard or a screen's annotation.
    Board {
        change: crate::meeting_board::BoardChange,
    },
    /// Who else records the meeting on their device (everyone sees it),
    /// and who just began.
    Recorders {
        others: Vec<String>,
        started: Option<String>,
    },
    /// Our own recording of the meeting started or stopped: the file, and
    /// why it stopped when it was not asked to (a full disk).
    Recording {
        recording: bool,
        file: Option<String>,
        reason: Option<String>,
    },
    /// Someone's reaction, ours too: shown for a moment.
    Reaction {
        reaction: crate::meeting_chat::ReactionView,
    },
    /// The server refused a message we sent (its id as shown).
    ChatNotSent {
        id: u64,
        reason: String,
    },
    ParticipantJoined {
        participant: ParticipantView,
    },
    ParticipantChanged {
        participant: ParticipantView,
    },
    ParticipantLeft {
        id: u64,
    },
    /// Loudness 0..1 of our microphone, and of each participant's voice
    /// (by id; 0 while their own voice detector hears none).
    Levels {
        #[serde(rename = "self")]
        own: f32,
        /// Whether the microphone carries a voice (muted or not).
        speaking: bool,
        remotes: BTreeMap<String, f32>,
    },
    Quality {
        level: &'static str,
        detail: String,
        /// When the user's own network is why, what it does: said on the
        /// meeting's bar, not only by the indicator's colour.
        reason: Option<String>,
    },
    CallEnded {
        error: Option<ErrorView>,
    },
    DeviceChanged {
        kind: &'static str,
        message: String,
    },
    /// Devices were plugged in or out: the pickers' lists now, and what
    /// came and went (`None` when only the system's default changed).
    DevicesChanged {
        devices: crate::devices::DeviceList,
        message: Option<String>,
    },
    SelfMuted {
        audio_muted: bool,
        video_muted: bool,
    },
    /// The scan screen's camera saw a meeting QR code (scanning stopped).
    QrScanned {
        meeting: ScannedMeeting,
    },
    /// The camera sees a QR code that is not a TalkLine meeting (told once
    /// per code; scanning goes on).
    QrRefused {
        message: String,
    },
    /// The window's close button mid-meeting: the page asks whether to
    /// leave and close (see `AppCore::window_may_close`).
    CloseRequested,
    /// A meeting link was opened from outside the app: the page takes it
    /// (`AppCore::take_opened_link`) to its meeting's pre-join.
    LinkOpened,
    /// The meeting is locked and we wait in its waiting room: the join
    /// goes on once the host lets us in (`AppCore::cancel_join` stops it).
    WaitingForHost,
    /// Who waits to be let into the meeting we host (at most
    /// `talkline_meeting::lobby::MAX_SHOWN_WAITING`), and how many in all.
    Waiting {
        shown: Vec<WaitingView>,
        total: usize,
    },
}

/// Someone in the waiting room, as the host's window shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitingView {
    /// What admitting or refusing them names.
    pub username: String,
    pub display: String,
}

/// Where events go: the shell forwards them to its window.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: AppEvent);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_the_shape_the_ui_reads() {
        let e = AppEvent::SelfMuted {
            audio_muted: true,
            video_muted: false,
        };
        assert_eq!(
            serde_json::to_value(&e).expect("json"),
            serde_json::json!({"type": "self_muted", "audioMuted": true, "videoMuted": false})
        );
        assert_eq!(
            serde_json::to_value(AppEvent::CloseRequested).expect("json"),
            serde_json::json!({"type": "close_requested"})
        );
        let e = AppEvent::Levels {
            own: 0.5,
            speaking: true,
            remotes: BTreeMap::from([("7".to_string(), 0.25)]),
        };
        assert_eq!(
            serde_json::to_value(&e).expect("json"),
            serde_json::json!({"type": "levels", "self": 0.5, "speaking": true, "remotes": {"7": 0.25}})
        );
    }
}
