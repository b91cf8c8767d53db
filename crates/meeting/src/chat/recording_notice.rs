//! "Recording": everyone in a meeting sees who records it on their device,
//! as in every meeting app. Whoever records says so in the side room when
//! they start and stop, and tells each newcomer privately while it runs; a
//! recorder who leaves the room stops counting. Without sockets: the side
//! room carries what this decides.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// People recording at most kept (more than any meeting holds).
const MAX_RECORDING: usize = 1000;

/// Who records the meeting, as far as we know.
#[derive(Debug, Default)]
pub struct RecordingNotices {
    /// We record it.
    own: bool,
    /// Everyone else who says they record it: username → name shown.
    others: BTreeMap<String, String>,
}

/// Who records the meeting now (names shown, ours first as "you" is the
/// caller's to say), and who just began (news to announce).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorders {
    pub own: bool,
    pub others: Vec<String>,
    pub started: Option<String>,
}

impl RecordingNotices {
    pub fn own(&self) -> bool {
        self.own
    }

    /// We start or stop recording: the body to tell the room (`None` when
    /// it is already so).
    pub fn set_own(&mut self, on: bool, envelope: u64) -> Option<Value> {
        if self.own == on {
            return None;
        }
        self.own = on;
        Some(Self::body(on, envelope))
    }

    /// What a newcomer, or the room after we joined it again, is told.
    pub fn to_tell(&self, envelope: u64) -> Option<Value> {
        self.own.then(|| Self::body(true, envelope))
    }

    fn body(on: bool, envelope: u64) -> Value {
        json!({"talkline": envelope, "recording": on})
    }

    /// Someone else said they record or stopped (`on`); what to show, if
    /// anything changed.
    pub fn said(&mut self, username: &str, display: &str, on: bool) -> Option<Recorders> {
        let started = if on {
            if self.others.contains_key(username) || self.others.len() >= MAX_RECORDING {
                return None;
            }
            self.others
                .insert(username.to_string(), display.to_string());
            Some(display.to_string())
        } else {
            self.others.remove(username)?;
            None
        };
        Some(self.recorders(started))
    }

    /// Someone left the room: they record nothing any more.
    pub fn left(&mut self, username: &str) -> Option<Recorders> {
        self.others.remove(username)?;
        Some(self.recorders(None))
    }

    /// The room is joined anew or gone: those recording tell us again.
    pub fn forget_others(&mut self) -> Option<Recorders> {
        if self.others.is_empty() {
            return None;
        }
        self.others.clear();
        Some(self.recorders(None))
    }

    pub fn recorders(&self, started: Option<String>) -> Recorders {
        Recorders {
            own: self.own,
            others: self.others.values().cloned().collect(),
            started,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whoever_records_says_so_once_and_newcomers_are_told() {
        let mut notices = RecordingNotices::default();
        assert_eq!(notices.to_tell(1), None);
        let body = notices.set_own(true, 1).expect("said");
        assert_eq!(body, json!({"talkline": 1, "recording": true}));
        assert_eq!(notices.set_own(true, 1), None, "once");
        assert_eq!(notices.to_tell(1), Some(body));
        assert_eq!(
            notices.set_own(false, 1),
            Some(json!({"talkline": 1, "recording": false}))
        );
        assert_eq!(notices.to_tell(1), None);
    }

    #[test]
    fn others_recording_are_shown_until_they_stop_or_leave() {
        let mut notices = RecordingNotices::default();
        let shown = notices.said("u1", "Bea", true).expect("news");
        assert_eq!(shown.others, ["Bea"]);
        assert_eq!(shown.started.as_deref(), Some("Bea"));
        // Told again (a newcomer's whisper crossing the announcement).
        assert_eq!(notices.said("u1", "Bea", true), None);
        notices.said("u2", "Cal", true);
        let shown = notices.said("u1", "Bea", false).expect("stopped");
        assert_eq!(
            (shown.others, shown.started),
            (vec!["Cal".to_string()], None)
        );
        assert_eq!(notices.said("u1", "Bea", false), None);
        assert_eq!(notices.left("u2").map(|r| r.others.len()), Some(0));
        assert_eq!(notices.left("u2"), None);
    }
}
