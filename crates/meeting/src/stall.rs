//! A subscription whose video died at birth.
//!
//! Janus renumbers a publisher's packets for each new subscriber from the
//! first one it forwards. A late packet (a retransmission the publisher
//! sent for an older loss) that comes after it gets a number just under
//! the wrap, 65535 and down, and Janus's SRTP sender counts that as a
//! wrap: every later packet is encrypted with the next rollover counter.
//! A receiver that lost that one packet stays on the old counter and
//! every packet fails authentication, for good. Audio is not retransmitted
//! and keeps playing. On a path losing 5% each way this took one start in
//! four to ten; a keyframe request cannot help, nor an ICE restart (the
//! SRTP state is kept). A new subscription can: a new handle, a new
//! DTLS/SRTP session.
//!
//! So a feed whose video gave a few packets and then stopped, while its
//! audio goes on, within the first seconds of a subscription, gets one.
//! So does one whose video never gave a packet at all while the publisher
//! says it sends video (at 20% loss the packet that moved the counter can
//! be among the first). A user who turns the camera off that early costs
//! a resubscription, no more: `MAX_RESUBSCRIPTIONS` bounds them. And so
//! does a connected subscription that gives nothing at all, audio nor
//! video, while the publisher sends video: at 20% loss one stayed so for
//! the whole of a 40 s call, connected, not one packet, never retried.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Video silent this long while audio plays is stalled...
const SILENT: Duration = Duration::from_secs(3);
/// ...if it never got going: fewer packets than this (a second of video at
/// the lowest rate congestion control sends).
const STARTED: u64 = 60;
/// A connected subscription silent this long, audio and video, is dead:
/// audio alone is 50 packets a second, and 20% loss leaves 40 of them.
const NOTHING_AT_ALL: Duration = Duration::from_secs(4);
/// Resubscriptions a call makes for stalled video, at most.
const MAX_RESUBSCRIPTIONS: u32 = 3;

#[derive(Debug, Clone, Copy)]
struct Progress {
    video_packets: u64,
    audio_frames: u64,
    /// When the video count last moved (or the feed was first seen).
    video_moved: Instant,
    /// When the audio count last moved.
    audio_moved: Option<Instant>,
}

/// Watches each subscribed feed's counters, once a second.
#[derive(Debug, Default)]
pub struct VideoStallWatch {
    feeds: HashMap<u64, Progress>,
    resubscriptions: u32,
}

impl VideoStallWatch {
    /// What a feed has received so far, and whether its publisher says
    /// its video is on. Returns whether its video stalled at birth.
    pub fn observe(
        &mut self,
        now: Instant,
        feed: u64,
        video_packets: u64,
        audio_frames: u64,
        video_on: bool,
    ) -> bool {
        let p = self.feeds.entry(feed).or_insert(Progress {
            video_packets,
            audio_frames,
            video_moved: now,
            audio_moved: None,
        });
        if video_packets != p.video_packets {
            p.video_packets = video_packets;
            p.video_moved = now;
        }
        if audio_frames != p.audio_frames {
            p.audio_frames = audio_frames;
            p.audio_moved = Some(now);
        }
        let silent_for = now.saturating_duration_since(p.video_moved);
        let stalled_at_birth = (p.video_packets > 0 || video_on)
            && p.video_packets < STARTED
            && silent_for >= SILENT
            && p.audio_moved.is_some_and(|at| at > p.video_moved);
        // Never a packet, not since the first look: a path that carried
        // media and went down is ICE's to handle.
        let nothing_at_all =
            video_on && p.video_packets == 0 && p.audio_frames == 0 && silent_for >= NOTHING_AT_ALL;
        stalled_at_birth || nothing_at_all
    }

    /// Stops watching a feed (its video is paused on purpose); watched
    /// again from its next observation as if new.
    pub fn forget(&mut self, feed: u64) {
        self.feeds.remove(&feed);
    }

    /// Whether the call may subscribe anew (at most `MAX_RESUBSCRIPTIONS`
    /// times); counts the one it is about to make, and starts the counters
    /// again for the new subscription.
    pub fn resubscribe(&mut self) -> bool {
        if self.resubscriptions >= MAX_RESUBSCRIPTIONS {
            return false;
        }
        self.resubscriptions += 1;
        self.feeds.clear();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, s: u64) -> Instant {
        start + Duration::from_secs(s)
    }

    #[test]
    fn a_subscription_that_gives_nothing_at_all_is_dead() {
        let start = Instant::now();
        let mut w = VideoStallWatch::default();
        for s in 0..4 {
            assert!(!w.observe(at(start, s), 7, 0, 0, true), "at {s} s");
        }
        assert!(w.observe(at(start, 4), 7, 0, 0, true));
        // A publisher that sends no video may send nothing at all.
        let mut w = VideoStallWatch::default();
        for s in 0..10 {
            assert!(!w.observe(at(start, s), 7, 0, 0, false), "at {s} s");
        }
        // Audio that plays says the subscription is alive.
        let mut w = VideoStallWatch::default();
        assert!(!w.observe(at(start, 0), 7, 0, 0, true));
        assert!(!w.observe(at(start, 1), 7, 0, 0, true));
        assert!(!w.observe(at(start, 2), 7, 0, 50, true));
    }

    #[test]
    fn video_that_stopped_after_a_few_packets_while_audio_plays_is_stalled() {
        let start = Instant::now();
        let mut w = VideoStallWatch::default();
        assert!(!w.observe(at(start, 0), 7, 3, 50, true));
        assert!(!w.observe(at(start, 1), 7, 3, 100, true));
        assert!(!w.observe(at(start, 2), 7, 3, 150, true));
        assert!(w.observe(at(start, 3), 7, 3, 200, true));
    }

    #[test]
    fn video_that_never_came_from_a_camera_that_is_on_is_stalled() {
        let start = Instant::now();
        let mut w = VideoStallWatch::default();
        assert!(!w.observe(at(start, 0), 7, 0, 50, true));
        assert!(!w.observe(at(start, 2), 7, 0, 150, true));
        assert!(w.observe(at(start, 3), 7, 0, 200, true));
    }

    #[test]
    fn video_that_flows_or_never_came_or_went_quiet_with_audio_is_not() {
        let start = Instant::now();
        let mut w = VideoStallWatch::default();
        for s in 0..10 {
            // Flowing.
            assert!(!w.observe(at(start, s), 1, 30 * s + 3, 50 * s, true));
            // No video at all: joined with the camera off.
            assert!(!w.observe(at(start, s), 2, 0, 50 * s, false));
            // Both stopped: the whole path is down, which ICE handles.
            assert!(!w.observe(at(start, s), 3, 3, 50, true));
            assert!(!w.observe(at(start, s), 5, 0, 50, true));
            // Well started, then stopped: a camera turned off.
            assert!(!w.observe(at(start, s), 4, 600, 50 * s, false));
        }
    }

    #[test]
    fn a_call_resubscribes_a_few_times_at_most() {
        let start = Instant::now();
        let mut w = VideoStallWatch::default();
        let mut resubscribed = 0;
        for s in 0..60 {
            // Two feeds stalled together make one resubscription.
            let first = w.observe(at(start, s), 7, 3, 50 * s, true);
            let second = w.observe(at(start, s), 8, 3, 50 * s, true);
            if (first || second) && w.resubscribe() {
                resubscribed += 1;
            }
        }
        assert_eq!(resubscribed, MAX_RESUBSCRIPTIONS);
    }
}
