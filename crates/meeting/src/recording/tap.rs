//! Where a recording takes the meeting from, without slowing the call: the
//! playout hands over what it mixed for the speaker, the microphone's
//! thread what it sent, and the receiving task the encoded frames of the
//! participant being recorded. Each is a copy into a bounded lock-free
//! queue (an encoded frame is shared bytes, not copied), done only while a
//! recording runs; a recorder that falls behind loses its oldest frames,
//! never the call's.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use crossbeam_queue::ArrayQueue;
use talkline_media::{AUDIO_FRAME_SAMPLES, AudioFrame};

/// One second of 10 ms frames each way: the recorder takes them every
/// 20 ms, so this is only reached if it stalls (a slow disk).
const AUDIO_FRAMES: usize = 100;
/// Two seconds of video at 30 fps.
const VIDEO_FRAMES: usize = 64;

/// An encoded frame of the participant being recorded.
#[derive(Debug, Clone)]
pub struct TappedFrame {
    pub feed: u64,
    pub data: Bytes,
    pub keyframe: bool,
    /// When it was complete here (`talkline_media::wall_clock_us`).
    pub at_us: u64,
}

/// The call's side of a recording. One per call, idle until a recording
/// starts (`start`): until then each tap is one relaxed load.
#[derive(Debug)]
pub struct RecordingTap {
    on: AtomicBool,
    heard: ArrayQueue<AudioFrame>,
    said: ArrayQueue<AudioFrame>,
    video: ArrayQueue<TappedFrame>,
    /// The feed whose video is recorded (0: nobody's).
    shown: AtomicU64,
    /// A feed to ask for a keyframe: the recording switched to it, and
    /// cannot start its video without one (0: none).
    keyframe_for: AtomicU64,
    /// A frame was dropped before the recorder took it (it stalled): the
    /// frames after it cannot be played until a keyframe.
    video_lost: AtomicBool,
}

impl Default for RecordingTap {
    fn default() -> Self {
        Self {
            on: AtomicBool::new(false),
            heard: ArrayQueue::new(AUDIO_FRAMES),
            said: ArrayQueue::new(AUDIO_FRAMES),
            video: ArrayQueue::new(VIDEO_FRAMES),
            shown: AtomicU64::new(0),
            keyframe_for: AtomicU64::new(0),
            video_lost: AtomicBool::new(false),
        }
    }
}

impl RecordingTap {
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// 10 ms of everyone else, as the playout mixed it (at their volumes).
    pub fn heard(&self, samples: &[i16; AUDIO_FRAME_SAMPLES]) {
        if self.is_on() {
            let _ = self.heard.force_push(AudioFrame { samples: *samples });
        }
    }

    /// 10 ms of our own microphone, as it was sent (processed; silence
    /// while muted).
    pub fn said(&self, frame: &AudioFrame) {
        if self.is_on() {
            let _ = self.said.force_push(frame.clone());
        }
    }

    /// Whether `feed`'s video is being recorded: only then are its frames
    /// handed over (`video`).
    pub fn records(&self, feed: u64) -> bool {
        self.is_on() && self.shown.load(Ordering::Relaxed) == feed
    }

    /// A complete encoded frame of `feed`, if it is the one recorded
    /// (stamped now; nothing else is done for any other frame).
    pub fn video(&self, feed: u64, data: &Bytes, keyframe: bool) {
        if self.records(feed) {
            let evicted = self.video.force_push(TappedFrame {
                feed,
                data: data.clone(),
                keyframe,
                at_us: talkline_media::wall_clock_us(),
            });
            if evicted.is_some() {
                self.video_lost.store(true, Ordering::Relaxed);
            }
        }
    }

    /// Whether the recording waits for a keyframe of `feed`; clears the
    /// request. The receiver turns it into a keyframe request.
    pub fn take_keyframe_request(&self, feed: u64) -> bool {
        // Asked on every packet of every feed: a plain read, and a write
        // only for the one feed asked.
        self.keyframe_for.load(Ordering::Relaxed) == feed
            && self
                .keyframe_for
                .compare_exchange(feed, 0, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// The recorder's side: takes the tap for one recording; false when
    /// another recording has it.
    pub(crate) fn start(&self) -> bool {
        if self
            .on
            .compare_exchange(false, true, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        self.drain();
        true
    }

    pub(crate) fn stop(&self) {
        self.on.store(false, Ordering::Relaxed);
        self.shown.store(0, Ordering::Relaxed);
        self.keyframe_for.store(0, Ordering::Relaxed);
        self.video_lost.store(false, Ordering::Relaxed);
        self.drain();
    }

    /// Records `feed`'s video from its next keyframe on (0: nobody's).
    pub(crate) fn show(&self, feed: u64) {
        self.shown.store(feed, Ordering::Relaxed);
        self.keyframe_for.store(feed, Ordering::Relaxed);
    }

    pub(crate) fn next_heard(&self) -> Option<AudioFrame> {
        self.heard.pop()
    }

    pub(crate) fn next_said(&self) -> Option<AudioFrame> {
        self.said.pop()
    }

    pub(crate) fn audio_waiting(&self) -> (usize, usize) {
        (self.heard.len(), self.said.len())
    }

    pub(crate) fn next_video(&self) -> Option<TappedFrame> {
        self.video.pop()
    }

    /// Whether video was dropped since the last look (see `video_lost`).
    pub(crate) fn take_video_lost(&self) -> bool {
        self.video_lost.swap(false, Ordering::Relaxed)
    }

    fn drain(&self) {
        while self.heard.pop().is_some() {}
        while self.said.pop().is_some() {}
        while self.video.pop().is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_taken_until_a_recording_starts_nor_after_it_stops() {
        let tap = RecordingTap::default();
        tap.heard(&[1; AUDIO_FRAME_SAMPLES]);
        tap.said(&AudioFrame::default());
        tap.show(7);
        tap.video(7, &Bytes::from_static(&[1]), true);
        assert_eq!(tap.audio_waiting(), (0, 0));
        assert!(tap.next_video().is_none());
        assert!(tap.start());
        // One recording at a time.
        assert!(!tap.start());
        tap.show(7);
        tap.heard(&[1; AUDIO_FRAME_SAMPLES]);
        tap.video(7, &Bytes::from_static(&[1]), true);
        // Only the participant recorded.
        tap.video(8, &Bytes::from_static(&[2]), true);
        assert_eq!(tap.audio_waiting(), (1, 0));
        assert_eq!(tap.next_video().map(|f| f.feed), Some(7));
        assert!(tap.next_video().is_none());
        tap.stop();
        tap.heard(&[1; AUDIO_FRAME_SAMPLES]);
        assert_eq!(tap.audio_waiting(), (0, 0));
        assert!(!tap.records(7));
    }

    #[test]
    fn a_stalled_recorder_loses_its_oldest_frames_and_the_call_goes_on() {
        let tap = RecordingTap::default();
        assert!(tap.start());
        for i in 0..(AUDIO_FRAMES + 30) {
            tap.heard(&[i as i16; AUDIO_FRAME_SAMPLES]);
        }
        assert_eq!(tap.audio_waiting().0, AUDIO_FRAMES);
        assert_eq!(tap.next_heard().map(|f| f.samples[0]), Some(30));
        // Video dropped is said, once, so that the recorder waits for a
        // keyframe rather than write frames that cannot be played.
        tap.show(3);
        for _ in 0..VIDEO_FRAMES {
            tap.video(3, &Bytes::from_static(&[1]), false);
        }
        assert!(!tap.take_video_lost());
        tap.video(3, &Bytes::from_static(&[1]), false);
        assert!(tap.take_video_lost());
        assert!(!tap.take_video_lost());
    }

    #[test]
    fn a_keyframe_is_asked_of_the_participant_switched_to_once() {
        let tap = RecordingTap::default();
        assert!(tap.start());
        tap.show(5);
        assert!(!tap.take_keyframe_request(4));
        assert!(tap.take_keyframe_request(5));
        assert!(!tap.take_keyframe_request(5));
    }
}
