//! Errors as the user sees them: each has a kind the UI acts on (show a
//! retry button, open the permission prompt) and a message it shows.

use serde::ser::SerializeMap;
use talkline_meeting::MeetingError;
use talkline_privacy::{ConsentError, ConsentRequest};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// A malformed meeting ID or link.
    #[error("{0}")]
    Link(String),
    /// The server is down or unreachable: worth a retry.
    #[error("{0}")]
    Unreachable(String),
    /// The server said no: unknown meeting, wrong PIN, full.
    #[error("{0}")]
    Refused(String),
    /// The connection broke, or the server misbehaved.
    #[error("{0}")]
    Connection(String),
    #[error("{0}")]
    Media(String),
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
    ConsentDenied(String),
    /// The operating system refused a device (the user said yes in
    /// TalkLine); `settings_page`: the system has a page to change it.
    #[error("{message}")]
    SystemRefused {
        permission: &'static str,
        settings_page: bool,
        message: String,
    },
    #[error("accept the privacy policy to continue")]
    PolicyNotAccepted,
    /// The request does not fit what the app is doing (e.g. not in a meeting).
    #[error("{0}")]
    State(String),
    #[error("{0}")]
    Store(String),
    #[error("{0}")]
    Invalid(String),
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

impl From<MeetingError> for AppError {
    fn from(e: MeetingError) -> Self {
        let message = e.to_string();
        match e {
            MeetingError::Link(_) => Self::Link(message),
            MeetingError::ServerUnreachable(_) | MeetingError::UntrustedServer(_) => {
                Self::Unreachable(message)
            }
            MeetingError::NoSuchRoom(_)
            | MeetingError::WrongPin
            | MeetingError::PinRequired
            | MeetingError::RoomFull
            | MeetingError::Server { .. } => Self::Refused(message),
            MeetingError::Media(_) => Self::Media(message),
            MeetingError::UnknownVideoLayer(_) => Self::Invalid(message),
            _ => Self::Connection(message),
        }
    }
}

impl From<ConsentError> for AppError {
    fn from(e: ConsentError) -> Self {
        match e {
            ConsentError::NotAsked(request) => Self::ConsentNeeded(request),
            ConsentError::Denied(_) => Self::ConsentDenied(e.to_string()),
            ConsentError::PolicyNotAccepted => Self::PolicyNotAccepted,
            other => Self::Store(other.to_string()),
        }
    }
}

impl From<talkline_store::StoreError> for AppError {
    fn from(e: talkline_store::StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

/// `{ kind, message }`, plus what the permission prompt shows.
impl serde::Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("kind", self.kind())?;
        map.serialize_entry("message", &self.to_string())?;
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
