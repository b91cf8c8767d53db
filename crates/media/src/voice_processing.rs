//! What the microphone's signal goes through before Opus: echo
//! cancellation, noise suppression, gain control and a high-pass filter.
//!
//! A call on a laptop without headphones sends the far end's voice back to
//! them, a quarter second late, unless the echo the speaker puts into the
//! microphone is taken out. That takes an adaptive filter fed with exactly
//! what the speaker plays, a delay estimate between playout and capture
//! that follows the devices (Bluetooth adds 100-200 ms), and a suppressor
//! for what the filter leaves, which must not eat the near end's voice when
//! both talk at once. Browsers run WebRTC's audio processing module for
//! this (AEC3, the RNN-free noise suppressor, AGC2); so does TalkLine,
//! through `sonora`, a pure-Rust port of that module: the same algorithms,
//! proven in every browser call, without a C++ toolchain on every machine
//! that builds the app (the `webrtc-audio-processing` crate builds the C++
//! with meson, minutes on two cores; Debian's packaged library is the
//! older AEC without AEC3's delay estimator).
//!
//! `VoiceProcessor` works on the media core's 10 ms frames (48 kHz mono),
//! the module's own frame. It is not for the audio callback: the module
//! allocates while it adapts, so it runs on a thread of its own, fed by
//! queues (see the send path).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use crossbeam_queue::ArrayQueue;
use sonora::config::{
    AdaptiveDigital, EchoCanceller, GainController2, HighPassFilter, NoiseSuppression,
    NoiseSuppressionLevel, TransparentModeType,
};
use sonora::{AudioProcessing, Config, StreamConfig};

use crate::analysis::audio_level;
use crate::echo_path::{EchoPathWatch, loudness};
use crate::frame::{AUDIO_FRAME_SAMPLES, AUDIO_RATE_HZ, AudioFrame};

/// Which stages run. All on by default, as in every conferencing app;
/// "Original sound" (music, a room where the user wants to be heard as is)
/// turns them all off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceSettings {
    pub echo_cancellation: bool,
    pub noise_suppression: bool,
    pub gain_control: bool,
    pub high_pass_filter: bool,
}

impl Default for VoiceSettings {
    fn default() -> Self {
        Self {
            echo_cancellation: true,
            noise_suppression: true,
            gain_control: true,
            high_pass_filter: true,
        }
    }
}

impl VoiceSettings {
    /// What the "Original sound" choice asks for: nothing done when on,
    /// every stage when off.
    pub fn with_original_sound(on: bool) -> Self {
        if on {
            Self::original_sound()
        } else {
            Self::default()
        }
    }

    /// Nothing done to the microphone's signal.
    pub fn original_sound() -> Self {
        Self {
            echo_cancellation: false,
            noise_suppression: false,
            gain_control: false,
            high_pass_filter: false,
        }
    }

    /// The settings as bits, for an atomic the call's controls share with
    /// the capture thread (switched without a lock).
    pub fn to_bits(self) -> u8 {
        u8::from(self.echo_cancellation)
            | u8::from(self.noise_suppression) << 1
            | u8::from(self.gain_control) << 2
            | u8::from(self.high_pass_filter) << 3
    }

    pub fn from_bits(bits: u8) -> Self {
        Self {
            echo_cancellation: bits & 1 != 0,
            noise_suppression: bits & 2 != 0,
            gain_control: bits & 4 != 0,
            high_pass_filter: bits & 8 != 0,
        }
    }

    fn module_config(self) -> Config {
        Config {
            // The HMM transparent mode: with a headset (no echo at all) the
            // counter-based one held the near end 40 dB down for the first
            // 6 s the far end talked; this one lets go within 2.
            echo_canceller: self.echo_cancellation.then(|| EchoCanceller {
                transparent_mode: TransparentModeType::Hmm,
                ..EchoCanceller::default()
            }),
            // High, as Chromium asks for: Moderate left a fan's noise
            // 10 dB down in the pauses; High takes it further with the
            // voice kept within 2 dB (tests/voice_processing.rs).
            noise_suppression: self.noise_suppression.then(|| NoiseSuppression {
                level: NoiseSuppressionLevel::High,
                ..NoiseSuppression::default()
            }),
            // Digital only: the input volume of the user's microphone is
            // theirs to set; the adaptive stage brings a quiet or distant
            // voice up to speech level and the limiter keeps a shout clean.
            gain_controller2: self.gain_control.then(|| GainController2 {
                adaptive_digital: Some(AdaptiveDigital::default()),
                ..GainController2::default()
            }),
            high_pass_filter: self.high_pass_filter.then(HighPassFilter::default),
            ..Config::default()
        }
    }
}

/// Frames of what the speaker played, waiting for the capture side.
/// Filled every 10 ms by the playout and emptied every 10 ms by the
/// capture: this many only if the capture stalls, and then the oldest go.
const ECHO_REFERENCE_FRAMES: usize = 50;

/// What the speaker plays, handed from the playout thread to the capture
/// side's `VoiceProcessor`: a lock-free queue of fixed-size frames, so the
/// playout neither waits nor allocates.
#[derive(Clone)]
pub struct EchoReference {
    path: Arc<EchoPath>,
    /// 0: the call's own reader; else this second reader's number (see
    /// `second_reader`).
    reader: u32,
}

/// The frames played, and how many times the path from the speaker to
/// the microphone changed (another output device).
struct EchoPath {
    frames: ArrayQueue<AudioFrame>,
    /// The same frames for a second canceller, filled only while one
    /// reads them: the computer's sound being shared holds the meeting
    /// as the speaker plays it, as the microphone does.
    second: ArrayQueue<AudioFrame>,
    /// The number of the second reader now (0: none), and the last given.
    second_reader: AtomicU32,
    readers_given: AtomicU32,
    changes: AtomicU32,
}

impl EchoPath {
    /// No lock and no allocation: called from the device callback.
    fn push(&self, frame: &AudioFrame) {
        let _ = self.frames.force_push(frame.clone());
        if self.second_reader.load(Ordering::Relaxed) != 0 {
            let _ = self.second.force_push(frame.clone());
        }
    }
}

impl Default for EchoReference {
    fn default() -> Self {
        Self {
            path: Arc::new(EchoPath {
                frames: ArrayQueue::new(ECHO_REFERENCE_FRAMES),
                second: ArrayQueue::new(ECHO_REFERENCE_FRAMES),
                second_reader: AtomicU32::new(0),
                readers_given: AtomicU32::new(0),
                changes: AtomicU32::new(0),
            }),
            reader: 0,
        }
    }
}

impl std::fmt::Debug for EchoReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EchoReference")
            .field("waiting", &self.queue().map_or(0, ArrayQueue::len))
            .field("reader", &self.reader)
            .finish()
    }
}

impl EchoReference {
    /// Whether both are the same reference (the same call's).
    pub fn same_as(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.path, &other.path)
    }

    /// The same speaker's frames for a second canceller, from now on
    /// until it is stopped (`stop_second_reader`). There is one second
    /// reader at a time: a newer one takes over (one share replacing
    /// another), and the older one is given nothing more.
    pub fn second_reader(&self) -> Self {
        let reader = self.path.readers_given.fetch_add(1, Ordering::Relaxed) + 1;
        self.path.second_reader.store(reader, Ordering::Relaxed);
        Self {
            path: Arc::clone(&self.path),
            reader,
        }
    }

    /// This second reader is done: its frames are no longer kept, unless
    /// a newer one took over.
    pub fn stop_second_reader(&self) {
        if self.reader != 0
            && self
                .path
                .second_reader
                .compare_exchange(self.reader, 0, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            while self.path.second.pop().is_some() {}
        }
    }

    /// The frames this reader takes: none for a second reader a newer one
    /// took over from.
    fn queue(&self) -> Option<&ArrayQueue<AudioFrame>> {
        match self.reader {
            0 => Some(&self.path.frames),
            n if self.path.second_reader.load(Ordering::Relaxed) == n => Some(&self.path.second),
            _ => None,
        }
    }

    /// 10 ms the speaker was given.
    pub fn played(&self, samples: &[i16]) {
        let mut frame = AudioFrame::default();
        let n = samples.len().min(AUDIO_FRAME_SAMPLES);
        frame.samples[..n].copy_from_slice(&samples[..n]);
        self.path.push(&frame);
    }

    /// The speaker or the microphone is another device from now on:
    /// another delay and another room, which the canceller starts
    /// learning afresh (at its next `take_playout`).
    pub fn path_changed(&self) {
        self.path.changes.fetch_add(1, Ordering::Relaxed);
    }

    /// How many times the path changed in this call.
    pub fn path_changes(&self) -> u32 {
        self.path.changes.load(Ordering::Relaxed)
    }
}

/// Where an output device's callback hands over what it really plays,
/// once a call gives it an `EchoReference`.
pub type EchoTapSlot = Arc<OnceLock<EchoReference>>;

/// What a device callback plays, in whatever block sizes the device asks
/// for (silence put in for an underrun included), gathered into the 10 ms
/// frames of the call's `EchoReference`: the echo canceller then sees the
/// far end when the speaker plays it, not when it was queued for the
/// device. Queued audio waited a varying time (a device that takes a big
/// first block, underruns, a full queue dropping what did not fit), and the
/// canceller, told the wrong moment, lost the echo in one call of four.
/// No lock and no allocation: it runs in the callback.
pub struct EchoTap {
    slot: EchoTapSlot,
    frame: AudioFrame,
    filled: usize,
}

impl EchoTap {
    pub fn new(slot: EchoTapSlot) -> Self {
        Self {
            slot,
            frame: AudioFrame::default(),
            filled: 0,
        }
    }

    pub fn played(&mut self, mut samples: &[i16]) {
        let Some(reference) = self.slot.get() else {
            return;
        };
        while !samples.is_empty() {
            let n = (AUDIO_FRAME_SAMPLES - self.filled).min(samples.len());
            self.frame.samples[self.filled..self.filled + n].copy_from_slice(&samples[..n]);
            self.filled += n;
            samples = &samples[n..];
            if self.filled == AUDIO_FRAME_SAMPLES {
                reference.path.push(&self.frame);
                self.filled = 0;
            }
        }
    }
}

/// How well the echo is being removed, as the module measures it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EchoReport {
    /// Echo return loss enhancement, dB: how much quieter the echo is
    /// after the canceller than before it.
    pub erle_db: Option<f64>,
    /// The delay between playout and capture the canceller found, ms.
    pub delay_ms: Option<i32>,
    /// Times the canceller started over with no device change, for a
    /// delay that jumped or an echo it let through (`echo_path`).
    pub unannounced_path_changes: u32,
}

/// A microphone frame's `audio_level` as it came and as it leaves.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CaptureLevels {
    pub heard: f32,
    pub sent: f32,
}

/// The module and the buffers it writes into, made once.
pub struct VoiceProcessor {
    module: AudioProcessing,
    settings: VoiceSettings,
    /// The module writes its output apart from its input.
    processed: [i16; AUDIO_FRAME_SAMPLES],
    playout_out: [i16; AUDIO_FRAME_SAMPLES],
    /// The echo path's changes the canceller was restarted for.
    path_changes_seen: u32,
    echo_path: EchoPathWatch,
    unannounced_path_changes: u32,
}

impl std::fmt::Debug for VoiceProcessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceProcessor")
            .field("settings", &self.settings)
            .finish()
    }
}

impl VoiceProcessor {
    pub fn new(settings: VoiceSettings) -> Self {
        let stream = StreamConfig::new(AUDIO_RATE_HZ, 1);
        let module = AudioProcessing::builder()
            .config(settings.module_config())
            .capture_config(stream)
            .render_config(stream)
            .build();
        Self {
            module,
            settings,
            processed: [0; AUDIO_FRAME_SAMPLES],
            playout_out: [0; AUDIO_FRAME_SAMPLES],
            path_changes_seen: 0,
            echo_path: EchoPathWatch::default(),
            unannounced_path_changes: 0,
        }
    }

    /// The echo path changed (`EchoReference::path_changed`): the canceller
    /// starts over. Left to follow the new delay itself, AEC3 took 1.7 s
    /// to cancel again after a jump of 100 ms (5 dB in the first second);
    /// a fresh one holds the echo 30 dB down from its first frames (it
    /// suppresses hard until it has converged). Only the canceller: the
    /// noise suppressor keeps what it learned of the room's noise, the
    /// gain control its level. Not per frame: the module makes a new
    /// canceller.
    fn restart_echo_canceller(&mut self) {
        if !self.settings.echo_cancellation {
            return;
        }
        let without = VoiceSettings {
            echo_cancellation: false,
            ..self.settings
        };
        self.module.apply_config(without.module_config());
        self.module.apply_config(self.settings.module_config());
    }

    pub fn settings(&self) -> VoiceSettings {
        self.settings
    }

    /// Switches stages on or off mid-call; the echo canceller keeps what
    /// it learned when it stays on.
    pub fn set_settings(&mut self, settings: VoiceSettings) {
        if settings != self.settings {
            if settings.echo_cancellation && !self.settings.echo_cancellation {
                // A new canceller: what the watch saw of the old one's
                // output (or of none) says nothing of it.
                self.echo_path = EchoPathWatch::default();
            }
            self.settings = settings;
            self.module.apply_config(settings.module_config());
        }
    }

    /// A frame about to be played by the speaker: what the echo will be
    /// made of. Every frame played must come here, silence included.
    pub fn playout(&mut self, frame: &AudioFrame) {
        if !self.settings.echo_cancellation {
            return;
        }
        self.echo_path.played(loudness(audio_level(&frame.samples)));
        // Mono 48 kHz frames of the module's own size: the only errors it
        // has are for other formats.
        let _ = self
            .module
            .process_render_i16(&frame.samples, &mut self.playout_out);
    }

    /// Takes in everything the speaker played since the last call, and
    /// starts the canceller over if the speaker changed.
    pub fn take_playout(&mut self, reference: &EchoReference) {
        let changes = reference.path_changes();
        if changes != self.path_changes_seen {
            self.path_changes_seen = changes;
            // Another device: another delay, learnt afresh. (A restart
            // the watch asked for keeps what it found.)
            self.echo_path = EchoPathWatch::default();
            self.restart_echo_canceller();
        }
        let Some(queue) = reference.queue() else {
            return;
        };
        while let Some(frame) = queue.pop() {
            self.playout(&frame);
        }
    }

    /// A frame from the microphone, processed in place. Returns its level
    /// (`audio_level`) before and after: the watch of the echo path needs
    /// both, the level meters and the call's log too.
    pub fn capture(&mut self, frame: &mut AudioFrame) -> CaptureLevels {
        let heard = audio_level(&frame.samples);
        let as_heard = CaptureLevels { heard, sent: heard };
        if self.settings == VoiceSettings::original_sound() {
            return as_heard;
        }
        if self.settings.echo_cancellation {
            // The module expects a delay with every capture frame. We know
            // none beyond what the canceller finds, so 0; but without the
            // call a fresh canceller (after a device change) held the echo
            // 31.5 dB down in its first second, not 47.8, and took 0.5 s to
            // 30 dB instead of none.
            let _ = self.module.set_stream_delay_ms(0);
        }
        if self
            .module
            .process_capture_i16(&frame.samples, &mut self.processed)
            .is_err()
        {
            // Sent as heard: no canceller's output for the watch to judge.
            return as_heard;
        }
        frame.samples.copy_from_slice(&self.processed);
        let levels = CaptureLevels {
            heard,
            sent: audio_level(&frame.samples),
        };
        if !self.settings.echo_cancellation {
            return levels;
        }
        if let Some(change) = self
            .echo_path
            .captured(loudness(levels.heard), loudness(levels.sent))
        {
            log::debug!(
                "the echo path changed with no device change ({change:?}): the canceller starts over"
            );
            self.unannounced_path_changes += 1;
            self.restart_echo_canceller();
        }
        levels
    }

    pub fn echo_report(&self) -> EchoReport {
        let stats = self.module.statistics();
        EchoReport {
            erle_db: stats.echo_return_loss_enhancement,
            delay_ms: stats.delay_ms,
            unannounced_path_changes: self.unannounced_path_changes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_s_blocks_reach_the_canceller_as_whole_frames_in_order() {
        let slot = EchoTapSlot::default();
        let mut tap = EchoTap::new(Arc::clone(&slot));
        // Before a call gives it a reference, nothing is kept.
        tap.played(&[7; 300]);
        let reference = EchoReference::default();
        assert!(slot.set(reference.clone()).is_ok());
        // Blocks of a device's own sizes: 3 x 441 + 117 = three frames.
        let played: Vec<i16> = (0..1440).map(|i| i as i16).collect();
        for block in [
            &played[..441],
            &played[441..882],
            &played[882..1323],
            &played[1323..],
        ] {
            tap.played(block);
        }
        let frames: Vec<AudioFrame> = std::iter::from_fn(|| reference.path.frames.pop()).collect();
        assert_eq!(frames.len(), 3);
        for (n, frame) in frames.iter().enumerate() {
            assert_eq!(
                frame.samples[..],
                played[n * AUDIO_FRAME_SAMPLES..(n + 1) * AUDIO_FRAME_SAMPLES]
            );
        }
    }

    fn tone(frame_index: usize, hz: f64, amplitude: f64) -> AudioFrame {
        let mut frame = AudioFrame::default();
        for (i, s) in frame.samples.iter_mut().enumerate() {
            let t = (frame_index * AUDIO_FRAME_SAMPLES + i) as f64 / f64::from(AUDIO_RATE_HZ);
            *s = (amplitude * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16;
        }
        frame
    }

    #[test]
    fn original_sound_leaves_the_microphone_as_it_is() {
        let mut p = VoiceProcessor::new(VoiceSettings::original_sound());
        for i in 0..50 {
            p.playout(&tone(i, 440.0, 8000.0));
            let mut frame = tone(i, 60.0, 8000.0);
            let before = frame.clone();
            p.capture(&mut frame);
            assert_eq!(frame, before, "frame {i}");
        }
    }

    #[test]
    fn the_high_pass_filter_takes_out_mains_hum() {
        let mut p = VoiceProcessor::new(VoiceSettings {
            high_pass_filter: true,
            ..VoiceSettings::original_sound()
        });
        let power = |f: &AudioFrame| f.samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>();
        // Past the filter's first half second.
        let (mut before, mut after) = (0.0, 0.0);
        for i in 0..100 {
            let mut frame = tone(i, 50.0, 8000.0);
            let original = power(&frame);
            p.capture(&mut frame);
            if i >= 50 {
                before += original;
                after += power(&frame);
            }
        }
        let db = 10.0 * (before / after).log10();
        assert!(db > 10.0, "50 Hz only {db:.1} dB lower");
    }

    #[test]
    fn settings_survive_the_trip_through_bits() {
        for bits in 0..16 {
            assert_eq!(VoiceSettings::from_bits(bits).to_bits(), bits);
        }
        assert_eq!(
            VoiceSettings::from_bits(VoiceSettings::default().to_bits()),
            VoiceSettings::default()
        );
        assert_eq!(VoiceSettings::original_sound().to_bits(), 0);
    }

    #[test]
    fn the_echo_reference_keeps_the_latest_frames_when_the_capture_stalls() {
        let reference = EchoReference::default();
        for i in 0..(ECHO_REFERENCE_FRAMES + 5) {
            reference.played(&[i as i16; AUDIO_FRAME_SAMPLES]);
        }
        let first = reference.path.frames.pop().expect("a frame");
        assert_eq!(first.samples[0], 5, "the oldest went first");
        let mut p = VoiceProcessor::new(VoiceSettings::default());
        p.take_playout(&reference);
        assert!(reference.path.frames.is_empty());
    }

    #[test]
    fn settings_switch_mid_stream() {
        let mut p = VoiceProcessor::new(VoiceSettings::default());
        let mut frame = tone(0, 440.0, 8000.0);
        p.capture(&mut frame);
        p.set_settings(VoiceSettings::original_sound());
        assert_eq!(p.settings(), VoiceSettings::original_sound());
        let mut frame = tone(1, 440.0, 8000.0);
        let before = frame.clone();
        p.capture(&mut frame);
        assert_eq!(frame, before);
    }

    #[test]
    fn a_second_reader_gets_every_frame_too_and_a_newer_one_takes_over() {
        let reference = EchoReference::default();
        let count = |r: &EchoReference| {
            r.queue()
                .map_or(0, |q| std::iter::from_fn(|| q.pop()).count())
        };
        // Nobody reads a second copy: none is kept.
        reference.played(&[1; AUDIO_FRAME_SAMPLES]);
        let first = reference.second_reader();
        reference.played(&[2; AUDIO_FRAME_SAMPLES]);
        reference.played(&[3; AUDIO_FRAME_SAMPLES]);
        assert_eq!(count(&reference), 3);
        assert_eq!(count(&first), 2);
        // One share replacing another: the new reader opens before the old
        // one stops, and the old one's end does not end the new one's copy.
        let second = reference.second_reader();
        reference.played(&[4; AUDIO_FRAME_SAMPLES]);
        first.stop_second_reader();
        reference.played(&[5; AUDIO_FRAME_SAMPLES]);
        assert_eq!(count(&first), 0, "the older reader takes nothing more");
        assert_eq!(count(&second), 2);
        second.stop_second_reader();
        reference.played(&[6; AUDIO_FRAME_SAMPLES]);
        assert_eq!(count(&second), 0);
        assert_eq!(count(&reference), 3);
    }
}
