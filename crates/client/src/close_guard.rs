//! Closing the window mid-meeting asks first, as Zoom and Teams do: the
//! close button or Alt+F4 would otherwise drop the user out of the call.
//! A page that never answers the question (hung, or still loading) cannot
//! keep the window open: a second close after that closes.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::core::lock;

/// How long the page has to show the question before a second close
/// request closes anyway.
pub const UNANSWERED_AFTER: Duration = Duration::from_secs(2);

/// What a close request of the window's does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseRequest {
    /// Close: there is no meeting to lose, or the question went unanswered.
    Close,
    /// Keep the window and ask the user (the page shows the question).
    Ask,
}

#[derive(Debug, Default)]
pub struct CloseGuard {
    /// When the page was asked and has not answered yet.
    asked: Mutex<Option<Instant>>,
}

impl CloseGuard {
    /// A close request at `now`, `in_meeting` counting a join under way.
    pub fn request(&self, in_meeting: bool, now: Instant) -> CloseRequest {
        let mut asked = lock(&self.asked);
        if !in_meeting {
            *asked = None;
            return CloseRequest::Close;
        }
        match *asked {
            Some(at) if now.saturating_duration_since(at) >= UNANSWERED_AFTER => {
                *asked = None;
                CloseRequest::Close
            }
            Some(_) => CloseRequest::Ask,
            None => {
                *asked = Some(now);
                CloseRequest::Ask
            }
        }
    }

    /// The page shows the question: the user decides from here.
    pub fn answered(&self) {
        *lock(&self.asked) = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_a_meeting_the_window_closes() {
        let guard = CloseGuard::default();
        assert_eq!(guard.request(false, Instant::now()), CloseRequest::Close);
    }

    #[test]
    fn in_a_meeting_the_user_is_asked_each_time_the_page_answers() {
        let guard = CloseGuard::default();
        let start = Instant::now();
        for i in 0..3 {
            let at = start + UNANSWERED_AFTER * 2 * i;
            assert_eq!(guard.request(true, at), CloseRequest::Ask, "close {i}");
            guard.answered();
        }
    }

    #[test]
    fn an_unanswered_question_does_not_trap_the_user() {
        let guard = CloseGuard::default();
        let start = Instant::now();
        assert_eq!(guard.request(true, start), CloseRequest::Ask);
        // Clicked again at once: the page may just be slow.
        let soon = start + UNANSWERED_AFTER / 2;
        assert_eq!(guard.request(true, soon), CloseRequest::Ask);
        // Still no answer: the second request closes.
        let late = start + UNANSWERED_AFTER;
        assert_eq!(guard.request(true, late), CloseRequest::Close);
        // Answered in time, the same wait asks again instead.
        let guard = CloseGuard::default();
        assert_eq!(guard.request(true, start), CloseRequest::Ask);
        guard.answered();
        assert_eq!(guard.request(true, late), CloseRequest::Ask);
    }

    #[test]
    fn leaving_the_meeting_forgets_an_open_question() {
        let guard = CloseGuard::default();
        let start = Instant::now();
        assert_eq!(guard.request(true, start), CloseRequest::Ask);
        assert_eq!(guard.request(false, start), CloseRequest::Close);
        // A new meeting, much later: asked afresh, not closed at once.
        let later = start + UNANSWERED_AFTER * 10;
        assert_eq!(guard.request(true, later), CloseRequest::Ask);
    }
}
