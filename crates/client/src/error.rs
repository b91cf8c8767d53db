//! Errors as the user sees them: each has a kind the UI acts on (show a
//! retry button, open the permission prompt) and a message it shows.

use serde::ser::SerializeMap;
use talkline_meeting::MeetingError;
use talkline_privacy::{ConsentError, ConsentRequest, Language, Translated};

/// A message for the user: English, and Simplified Chinese where it has
/// been written (every error of the crates below this one; the app's own
/// messages as they are translated). Reads as its English text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    english: String,
    chinese: Option<String>,
}

impl Said {
    pub fn new(english: impl Into<String>, chinese: impl Into<String>) -> Self {
        Self {
            english: english.into(),
            chinese: Some(chinese.into()),
        }
    }

    /// An error or text that says itself in both languages.
    pub fn of(text: &impl Translated) -> Self {
        Self::new(text.to_string(), text.chinese())
    }

    /// The message in `language`; English where no Chinese was written.
    pub fn said_in(&self, language: Language) -> &str {
        match (language, &self.chinese) {
            (Language::SimplifiedChinese, Some(chinese)) => chinese,
            _ => &self.english,
        }
    }

    pub fn chinese(&self) -> Option<&str> {
        self.chinese.as_deref()
    }
}

/// Messages not translated yet: English only.
impl From<String> for Said {
    fn from(english: String) -> Self {
        Self {
            english,
            chinese: None,
        }
    }
}

impl From<&str> for Said {
    fn from(english: &str) -> Self {
        english.to_string().into()
    }
}

impl std::fmt::Display for Said {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.english)
    }
}

impl std::ops::Deref for Said {
    type Target = str;
    fn deref(&self) -> &str {
        &self.english
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// A malformed meeting ID or link.
    #[error("{0}")]
    Link(Said),
    /// The server is down or unreachable: worth a retry.
    #[error("{0}")]
    Unreachable(Said),
    /// The server said no: unknown meeting, wrong PIN, full.
    #[error("{0}")]
    Refused(Said),
    /// The connection broke, or the server misbehaved.
    #[error("{0}")]
    Connection(Said),
    #[error("{0}")]
    Media(Said),
    /// Ask the user first (Appendix II's purpose text), then try again.
    #[error("{} needs your permission: {}", .0.title, .0.purpose)]
    ConsentNeeded(ConsentRequest),
    /// A feature's own consent (beauty, own photos…) is needed first.
    #[error("{title} needs your consent: {explanation}")]
    FeatureConsentNeeded {
        id: &'static str,
        title: &'static str,
        explanation: &'static str,
    },
    #[error("{0}")]
    ConsentDenied(Said),
    /// The operating system refused a device (the user said yes in
    /// TalkLine); `settings_page`: the system has a page to change it.
    #[error("{message}")]
    SystemRefused {
        permission: &'static str,
        settings_page: bool,
        message: Said,
    },
    #[error("accept the privacy policy to continue")]
    PolicyNotAccepted,
    /// The request does not fit what the app is doing (e.g. not in a meeting).
    #[error("{0}")]
    State(Said),
    #[error("{0}")]
    Store(Said),
    #[error("{0}")]
    Invalid(Said),
}

impl AppError {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Link(_) => "link",
            Self::Unreachable(_) => "unreachable",
            Self::Refused(_) => "refused",
            Self::Connection(_) => "connection",
            Self::Media(_) => "media",
            Self::ConsentNeeded(_) | Self::FeatureConsentNeeded { .. } => "consent_needed",
            Self::ConsentDenied(_) => "consent_denied",
            Self::SystemRefused { .. } => "system_refused",
            Self::PolicyNotAccepted => "policy",
            Self::State(_) => "state",
            Self::Store(_) => "store",
            Self::Invalid(_) => "invalid",
        }
    }
}

impl AppError {
    /// The message in `language`; English where no Chinese was written.
    pub fn said_in(&self, language: Language) -> String {
        match language {
            Language::SimplifiedChinese => self.chinese().unwrap_or_else(|| self.to_string()),
            Language::English => self.to_string(),
        }
    }

    /// The message in Simplified Chinese, where it has been written.
    pub fn chinese(&self) -> Option<String> {
        match self {
            Self::Link(m)
            | Self::Unreachable(m)
            | Self::Refused(m)
            | Self::Connection(m)
            | Self::Media(m)
            | Self::ConsentDenied(m)
            | Self::State(m)
            | Self::Store(m)
            | Self::Invalid(m)
            | Self::SystemRefused { message: m, .. } => m.chinese().map(str::to_string),
            // Built in the language in force (Appendix II's texts).
            Self::ConsentNeeded(request) => Some(format!(
                "{}需要您的许可：{}",
                request.title, request.purpose
            )),
            Self::FeatureConsentNeeded {
                title, explanation, ..
            } => Some(format!("{title}需要您的同意：{explanation}")),
            Self::PolicyNotAccepted => Some("请先接受隐私政策再继续".into()),
        }
    }
}

impl From<MeetingError> for AppError {
    fn from(e: MeetingError) -> Self {
        let message = Said::of(&e);
        match e {
            MeetingError::Link(_) => Self::Link(message),
            MeetingError::ServerUnreachable(_) | MeetingError::UntrustedServer(_) => {
                Self::Unreachable(message)
            }
            MeetingError::NoSuchRoom(_)
            | MeetingError::WrongPin
            | MeetingError::PinRequired
            | MeetingError::RoomFull
            | MeetingError::MeetingLocked
            | MeetingError::RemovedByHost
            | MeetingError::AdmissionRefused
            | MeetingError::JoinCancelled
            | MeetingError::NotHost
            | MeetingError::Server { .. } => Self::Refused(message),
            MeetingError::MicrophoneHeldByHost
            | MeetingError::CameraHeldByHost
            | MeetingError::NotInMeeting
            | MeetingError::MeetingEnded => Self::State(message),
            MeetingError::Media(_) => Self::Media(message),
            MeetingError::UnknownVideoLayer(_)
            | MeetingError::ChatEmpty
            | MeetingError::ChatTooLong(_) => Self::Invalid(message),
            MeetingError::ChatRecipientGone(_)
            | MeetingError::AlreadyRecording
            | MeetingError::NotRecording
            | MeetingError::RecordingStopped { .. } => Self::State(message),
            // Another folder is the way out.
            MeetingError::RecordingFolder { .. } => Self::Invalid(message),
            _ => Self::Connection(message),
        }
    }
}

impl From<ConsentError> for AppError {
    fn from(e: ConsentError) -> Self {
        match e {
            ConsentError::NotAsked(request) => Self::ConsentNeeded(request),
            ConsentError::Denied(_) => Self::ConsentDenied(Said::of(&e)),
            ConsentError::PolicyNotAccepted => Self::PolicyNotAccepted,
            other => Self::Store(Said::of(&other)),
        }
    }
}

impl From<talkline_store::StoreError> for AppError {
    fn from(e: talkline_store::StoreError) -> Self {
        Self::Store(Said::of(&e))
    }
}

/// `{ kind, message }`, plus what the permission prompt shows.
impl serde::Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("kind", self.kind())?;
        map.serialize_entry("message", &self.to_string())?;
        if let Some(chinese) = self.chinese() {
            map.serialize_entry("chinese", &chinese)?;
        }
        if let Self::ConsentNeeded(request) = self {
            map.serialize_entry("permission", request.capability.id())?;
            map.serialize_entry("title", &request.title)?;
            map.serialize_entry("purpose", &request.purpose)?;
        }
        if let Self::SystemRefused {
            permission,
            settings_page,
            ..
        } = self
        {
            map.serialize_entry("permission", permission)?;
            map.serialize_entry("settingsPage", settings_page)?;
        }
        if let Self::FeatureConsentNeeded {
            id,
            title,
            explanation,
        } = self
        {
            map.serialize_entry("permission", id)?;
            map.serialize_entry("title", title)?;
            map.serialize_entry("purpose", explanation)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use talkline_effects::EffectsError;
    use talkline_media::MediaError;
    use talkline_meeting::{LinkError, ScanError};
    use talkline_store::StoreError;

    use super::*;

    /// Words that stay as they are in Chinese text: names, and what the
    /// user types (link parts, address schemes, layer names).
    const KEPT: &[&str] = &[
        "TalkLine",
        // A file's size limit's unit.
        "MiB",
        "talkline",
        "join",
        "server",
        "room",
        "https",
        "ws",
        "wss",
        "stun",
        "turn",
        "turns",
        "STUN",
        "TURN",
        "TLS",
        "TCP",
        "UDP",
        "IPv6",
        "transport",
        "udp",
        "tcp",
        "pin",
        "ice_username",
        "ice_credential",
        "low",
        "medium",
        "high",
        "paused",
        "kind",
        "MB",
    ];

    /// Fails on an English word (3 letters or more) left in a Chinese
    /// message; details given in the samples are themselves Chinese.
    fn all_chinese(message: &str) {
        assert!(
            message
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "no Chinese in {message:?}"
        );
        for word in message.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            let letters = word.chars().filter(char::is_ascii_alphabetic).count();
            assert!(
                letters < 3 || KEPT.contains(&word),
                "English {word:?} in {message:?}"
            );
        }
    }

    fn io() -> std::io::Error {
        std::io::Error::other("细节")
    }

    #[test]
    fn every_error_of_the_core_is_said_in_chinese() {
        let detail = || "细节".to_string();
        let path = || PathBuf::from("/数据/库");
        let links = [
            LinkError::Empty,
            LinkError::TooLong,
            LinkError::NotALink,
            LinkError::Missing("room"),
            LinkError::Duplicate("pin"),
            LinkError::UnknownParameter("某".into()),
            LinkError::BadEscape,
            LinkError::BadRoom,
            LinkError::BadPin,
            LinkError::BadServer("the port must be 1 to 65535"),
            LinkError::BadWebAddress("the host name is not valid"),
            LinkError::BadIceServer("a TURN server needs a user name and a credential"),
        ];
        let mut said: Vec<String> = links.iter().map(Translated::chinese).collect();
        said.extend(
            [
                ScanError::NoCode,
                ScanError::Unreadable,
                ScanError::WebAddress("例子".into()),
                ScanError::BareNumber,
                ScanError::OtherText,
                ScanError::BrokenLink(LinkError::BadRoom),
                ScanError::BadImage(detail()),
            ]
            .iter()
            .map(Translated::chinese),
        );
        said.extend(
            [
                MeetingError::Link(LinkError::Empty),
                MeetingError::ServerUnreachable(detail()),
                MeetingError::UntrustedServer(detail()),
                MeetingError::ConnectionLost(detail()),
                MeetingError::NoSuchRoom(1234),
                MeetingError::WrongPin,
                MeetingError::PinRequired,
                MeetingError::RoomFull,
                MeetingError::MeetingLocked,
                MeetingError::RemovedByHost,
                MeetingError::AdmissionRefused,
                MeetingError::JoinCancelled,
                MeetingError::MeetingEnded,
                MeetingError::NotHost,
                MeetingError::NotInMeeting,
                MeetingError::MicrophoneHeldByHost,
                MeetingError::CameraHeldByHost,
                MeetingError::Server {
                    code: 499,
                    reason: detail(),
                },
                MeetingError::Protocol(detail()),
                MeetingError::WebRtc(detail()),
                MeetingError::Media(MediaError::NoCamera(detail())),
                MeetingError::UnknownVideoLayer("某".into()),
                MeetingError::ChatEmpty,
                MeetingError::ChatTooLong(4000),
                MeetingError::ChatRecipientGone("某人".into()),
                MeetingError::ChatNotReady,
                MeetingError::ChatBusy,
                MeetingError::ChatNoRoom,
                MeetingError::ChatClosed,
                MeetingError::ChatNotConfirmed,
                MeetingError::ChatUnavailable(detail()),
                MeetingError::HandsNotReady,
                MeetingError::HandsUnavailable(detail()),
                MeetingError::UnknownReaction("某".into()),
                MeetingError::FileTooLarge(16 * 1024 * 1024),
                MeetingError::FileEmpty,
                MeetingError::FileGone,
                MeetingError::FileBusy,
                MeetingError::FileSenderGone,
                MeetingError::FileInterrupted,
                MeetingError::FileCorrupt,
            ]
            .iter()
            .map(Translated::chinese),
        );
        said.extend(
            [
                MediaError::NoCamera(detail()),
                MediaError::Camera(detail()),
                MediaError::NoAudioDevice(detail()),
                MediaError::AudioDevice(detail()),
                MediaError::Io {
                    path: path(),
                    source: io(),
                },
                MediaError::BadFile {
                    path: path(),
                    kind: "Y4M",
                    reason: detail(),
                },
                MediaError::InvalidParameter(detail()),
                MediaError::Codec(detail()),
                MediaError::Screen(detail()),
                MediaError::WindowClosed,
                MediaError::ShareRefused,
                MediaError::ShareEndedByDesktop,
            ]
            .iter()
            .map(Translated::chinese),
        );
        said.extend(
            [
                StoreError::KeyringUnavailable(detail()),
                StoreError::KeyMissing { path: path() },
                StoreError::WrongKeyOrNotADatabase { path: path() },
                StoreError::Locked { path: path() },
                StoreError::Corrupt {
                    path: path(),
                    detail: detail(),
                },
                StoreError::TooNew {
                    path: path(),
                    found: 9,
                    known: 3,
                },
                StoreError::Io {
                    path: path(),
                    source: io(),
                },
            ]
            .iter()
            .map(Translated::chinese),
        );
        said.extend(
            [
                EffectsError::MalformedModel(detail()),
                EffectsError::UnsupportedModel(detail()),
                EffectsError::InvalidFrame(detail()),
                EffectsError::InvalidImage(detail()),
            ]
            .iter()
            .map(Translated::chinese),
        );
        said.extend(
            [
                ConsentError::Denied("camera"),
                ConsentError::Denied("microphone"),
                ConsentError::PolicyNotAccepted,
            ]
            .iter()
            .map(Translated::chinese),
        );
        for message in &said {
            all_chinese(message);
        }
    }

    #[test]
    fn the_app_sends_both_languages_and_says_each_whole() {
        let e = AppError::from(MeetingError::NoSuchRoom(1234));
        assert_eq!(e.kind(), "refused");
        let sent = serde_json::to_value(&e).expect("serializes");
        assert_eq!(
            sent["message"],
            "meeting 1234 does not exist on this server: check the meeting ID"
        );
        assert_eq!(sent["chinese"], "此服务器上没有会议 1234：请检查会议号");
        assert_eq!(
            e.said_in(Language::SimplifiedChinese),
            "此服务器上没有会议 1234：请检查会议号"
        );
        assert_eq!(e.said_in(Language::English), e.to_string());

        // One not translated yet: English in both, and no "chinese" sent,
        // so the page leads it with the kind of failure in its language.
        let untranslated = AppError::State("something new".into());
        assert_eq!(
            untranslated.said_in(Language::SimplifiedChinese),
            "something new"
        );
        let sent = serde_json::to_value(&untranslated).expect("serializes");
        assert!(sent.get("chinese").is_none(), "{sent}");

        for e in [
            AppError::from(ConsentError::Denied("camera")),
            AppError::from(talkline_store::StoreError::Locked {
                path: PathBuf::from("/数据"),
            }),
            AppError::PolicyNotAccepted,
        ] {
            all_chinese(&e.said_in(Language::SimplifiedChinese));
        }
    }
}
