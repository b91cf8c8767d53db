//! When the video sender answers keyframe requests from the network.
//!
//! Two rules, a pure state machine the video thread asks once a frame:
//! - Requests are kept until answered, but at most one keyframe goes per
//!   `MIN_INTERVAL`: on a lossy path every receiver asks, Janus relays each
//!   request, and a keyframe per request would fill the path with them.
//! - A request that comes around someone's joining (we hear of a newcomer
//!   when it publishes, often after its subscription to us asked) is
//!   answered twice, the second time `JOINER_FOLLOW_UP` later. The first
//!   request is the new subscription's start, and Janus keeps nothing to
//!   resend to a new
//!   subscriber until it has measured its round trip (`nack_queue_ms` is 0
//!   until then; `early_echo` shortens that for our own receivers, not for
//!   a browser's). A packet lost in that second cannot be repaired, and
//!   Chromium then waits 3 s without a decodable frame before it asks for a
//!   keyframe itself: 3 s of a frozen picture at the start of 5% mixed
//!   calls. The second keyframe comes when Janus keeps packets, and ends
//!   that wait at about a second.

use std::time::{Duration, Instant};

/// libwebrtc keeps 300 ms between keyframes asked for by the network too.
const MIN_INTERVAL: Duration = Duration::from_millis(300);
/// Janus sends its first sender report to a new subscriber within a second
/// of its first packets and measures the round trip from the browser's
/// next receiver report (one every 0.5-1.5 s); from then on it keeps
/// packets to resend. At 1.3 s the second keyframe met the same fate as
/// the first in trials.
const JOINER_FOLLOW_UP: Duration = Duration::from_millis(2200);
/// A request this long after someone joined is taken for their subscription
/// starting (subscribing takes a signaling round trip, ICE and DTLS)...
const JOIN_WINDOW: Duration = Duration::from_secs(5);
/// ...and one answered this long before: a newcomer subscribes as soon as
/// it is in the room, and we hear of it when it publishes (seen 0.9 s
/// after the answer to its subscription's first request).
const JOIN_NOTICED_LATE: Duration = Duration::from_secs(3);

/// Why the next frame must be a keyframe, if it must.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NetworkKeyframe {
    /// A receiver asked (PLI or FIR relayed by the server).
    Asked,
    /// The second answer to a new subscriber's request.
    JoinerFollowUp,
}

#[derive(Debug, Default)]
pub(crate) struct KeyframeRequests {
    asked: bool,
    last_sent: Option<Instant>,
    /// The last keyframe that answered a request, and the last answer
    /// followed up (a join heard of later must not follow it up again).
    last_answer: Option<Instant>,
    followed_up: Option<Instant>,
    joined_at: Option<Instant>,
    follow_up_at: Option<Instant>,
}

impl KeyframeRequests {
    /// A receiver asked for a keyframe.
    pub fn asked(&mut self) {
        self.asked = true;
    }

    /// Someone joined the meeting: they subscribe to us next.
    pub fn someone_joined(&mut self, now: Instant) {
        self.joined_at = Some(now);
        // Its subscription may have asked already. If that answer was
        // another receiver's, the newcomer's own request, still to come,
        // is followed up too: one keyframe more at worst.
        let answered_just_before = self.last_answer.filter(|&at| {
            now.saturating_duration_since(at) <= JOIN_NOTICED_LATE && self.followed_up != Some(at)
        });
        if let Some(at) = answered_just_before {
            self.follow_up(at);
        }
    }

    /// One keyframe `JOINER_FOLLOW_UP` after `answer`; a follow-up already
    /// pending for an earlier join waits for this one, and serves both.
    fn follow_up(&mut self, answer: Instant) {
        let at = answer + JOINER_FOLLOW_UP;
        self.follow_up_at = Some(self.follow_up_at.map_or(at, |pending| pending.max(at)));
        self.followed_up = Some(answer);
    }

    /// Whether the frame captured `now` must be a keyframe for the network.
    pub fn due(&self, now: Instant) -> Option<NetworkKeyframe> {
        let spaced = self
            .last_sent
            .is_none_or(|at| now.saturating_duration_since(at) >= MIN_INTERVAL);
        if !spaced {
            None
        } else if self.asked {
            Some(NetworkKeyframe::Asked)
        } else if self.follow_up_at.is_some_and(|at| now >= at) {
            Some(NetworkKeyframe::JoinerFollowUp)
        } else {
            None
        }
    }

    /// A keyframe went out `now`, for whatever reason.
    pub fn sent(&mut self, now: Instant) {
        // Whatever made it, a keyframe at or past the follow-up's time is it.
        if self.follow_up_at.is_some_and(|at| now >= at) {
            self.follow_up_at = None;
        }
        if self.asked {
            self.last_answer = Some(now);
            if self.joined_recently(now) {
                self.follow_up(now);
                // One follow-up per join: later requests are ordinary ones.
                self.joined_at = None;
            }
        }
        self.asked = false;
        self.last_sent = Some(now);
    }

    fn joined_recently(&self, now: Instant) -> bool {
        self.joined_at
            .is_some_and(|at| now.saturating_duration_since(at) <= JOIN_WINDOW)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What happens to the sender in a scripted test.
    #[derive(Clone, Copy)]
    enum Event {
        /// We hear that someone joined.
        Join,
        /// A receiver asks for a keyframe.
        Ask,
        /// A keyframe for a reason of the sender's own (a new encoder).
        Own,
    }
    use Event::{Ask, Join, Own};

    /// When keyframes go (ms), one frame each 33 ms up to `until_ms`, each
    /// event taken at the first frame at or after its time.
    fn script(events: &[(u64, Event)], until_ms: u64) -> Vec<u64> {
        let t = Instant::now();
        let mut k = KeyframeRequests::default();
        let mut sent = Vec::new();
        for frame in 0..=until_ms / 33 {
            let at = frame * 33;
            let now = t + Duration::from_millis(at);
            let mut own = false;
            for &(_, event) in events
                .iter()
                .filter(|(ms, _)| (at.saturating_sub(32)..=at).contains(ms))
            {
                match event {
                    Join => k.someone_joined(now),
                    Ask => k.asked(),
                    Own => own = true,
                }
            }
            if own || k.due(now).is_some() {
                k.sent(now);
                sent.push(at);
            }
        }
        sent
    }

    #[test]
    fn a_request_is_answered_at_once_and_once() {
        assert_eq!(script(&[(0, Ask)], 7000), vec![0]);
    }

    #[test]
    fn requests_wait_for_the_interval_but_are_not_forgotten() {
        // The second request waits for 300 ms after the first answer.
        assert_eq!(script(&[(0, Ask), (99, Ask)], 7000), vec![0, 330]);
    }

    #[test]
    fn a_joiners_request_is_answered_again_when_the_server_keeps_packets() {
        // 792 + 2200 ms: the first frame at or after it.
        let sent = script(&[(0, Join), (792, Ask)], 7000);
        assert_eq!(sent, vec![792, 3003]);
    }

    #[test]
    fn only_the_first_request_after_a_join_is_followed_up() {
        let sent = script(&[(0, Join), (0, Ask), (495, Ask), (2970, Ask)], 7000);
        assert_eq!(sent, vec![0, 495, 2211, 2970]);
    }

    #[test]
    fn a_request_just_before_we_hear_of_the_join_is_followed_up_too() {
        // From the answer, not from when we heard of the join.
        assert_eq!(script(&[(0, Ask), (891, Join)], 7000), vec![0, 2211]);
    }

    #[test]
    fn a_request_long_before_a_join_is_not_followed_up() {
        assert_eq!(script(&[(0, Ask), (3003, Join)], 7000), vec![0]);
    }

    #[test]
    fn a_request_long_after_a_join_is_answered_once() {
        assert_eq!(script(&[(0, Join), (5016, Ask)], 9000), vec![5016]);
    }

    #[test]
    fn a_keyframe_made_for_another_reason_when_the_follow_up_is_due_is_it() {
        // Not counted, the follow-up would wait 300 ms after it and go too.
        assert_eq!(
            script(&[(0, Join), (0, Ask), (2211, Own)], 7000),
            vec![0, 2211]
        );
    }

    #[test]
    fn keyframes_without_requests_start_no_follow_up() {
        // The encoder's own first frame.
        assert_eq!(script(&[(0, Join), (0, Own)], 7000), vec![0]);
    }

    #[test]
    fn a_second_join_after_a_follow_up_gets_its_own() {
        // A's request answered at 495, followed up at 2706; B heard of at
        // 2970 (within 3 s of the answer already followed up), B's request
        // at 3465: followed up too.
        let sent = script(&[(0, Join), (495, Ask), (2970, Join), (3465, Ask)], 7000);
        assert_eq!(sent, vec![495, 2706, 3465, 5676]);
    }

    #[test]
    fn a_second_join_while_a_follow_up_is_pending_moves_it_later() {
        // One follow-up, late enough for B, serves A too.
        let sent = script(&[(0, Join), (495, Ask), (990, Join), (1485, Ask)], 7000);
        assert_eq!(sent, vec![495, 1485, 3696]);
    }
}
