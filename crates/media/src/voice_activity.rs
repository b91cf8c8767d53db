//! Whether the microphone carries a voice, read from the processed signal.
//!
//! A level alone cannot tell a voice from a fan, a keyboard or a door: the
//! "You are muted" hint came up for a fan, and the tile of someone typing
//! was outlined as speaking. WebRTC's RNN voice activity detector (the one
//! its gain control runs to know what to bring up) gives a probability of
//! speech per 10 ms frame; on top of it, hysteresis: a voice starts after a
//! few confident frames and ends after a hangover, so the words of one
//! sentence and the short pauses between them are one stretch of speaking.

use sonora_agc2::vad_wrapper::VoiceActivityDetectorWrapper;

use crate::frame::{AUDIO_FRAME_SAMPLES, AUDIO_RATE_HZ};

/// Probability from which a frame counts as speech. WebRTC's gain control
/// takes 0.9 for its speech level; the detector's output is near 0 or 1
/// for most frames, so the choice matters little.
const SPEECH_PROBABILITY: f32 = 0.8;
/// Confident frames in a row before a voice starts (20 ms): one frame can
/// be a click.
const START_FRAMES: u32 = 2;
/// Frames after the last confident one before a voice ends (400 ms): the
/// gaps between words, and a sentence's last syllable, which the detector
/// doubts first.
const HANGOVER_FRAMES: u32 = 40;
/// How often the detector's recurrent state starts over (WebRTC's own
/// period): it would drift over a long call otherwise.
const RESET_PERIOD_MS: i32 = 1500;

/// The detector and its hysteresis. Made once per microphone thread;
/// `analyze` neither allocates nor blocks.
pub struct VoiceActivity {
    vad: VoiceActivityDetectorWrapper,
    /// The frame as the detector wants it: floats at 16-bit scale.
    scratch: [f32; AUDIO_FRAME_SAMPLES],
    confident_run: u32,
    since_confident: u32,
    speaking: bool,
}

impl std::fmt::Debug for VoiceActivity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceActivity")
            .field("speaking", &self.speaking)
            .finish_non_exhaustive()
    }
}

impl Default for VoiceActivity {
    fn default() -> Self {
        Self::new()
    }
}

impl VoiceActivity {
    pub fn new() -> Self {
        Self {
            vad: VoiceActivityDetectorWrapper::with_reset_period(
                RESET_PERIOD_MS,
                sonora_simd::detect_backend(),
                AUDIO_RATE_HZ as i32,
            ),
            scratch: [0.0; AUDIO_FRAME_SAMPLES],
            confident_run: 0,
            since_confident: HANGOVER_FRAMES,
            speaking: false,
        }
    }

    /// One 10 ms frame of 48 kHz mono; returns whether a voice is speaking.
    pub fn analyze(&mut self, samples: &[i16]) -> bool {
        for (out, &s) in self.scratch.iter_mut().zip(samples) {
            *out = f32::from(s);
        }
        if self.vad.analyze(&self.scratch) >= SPEECH_PROBABILITY {
            self.confident_run += 1;
            self.since_confident = 0;
            if self.confident_run >= START_FRAMES {
                self.speaking = true;
            }
        } else {
            self.confident_run = 0;
            self.since_confident = self.since_confident.saturating_add(1);
            if self.since_confident >= HANGOVER_FRAMES {
                self.speaking = false;
            }
        }
        self.speaking
    }

    /// A new microphone: what was heard before says nothing of it. Not
    /// per frame: the detector is made anew.
    pub fn reset(&mut self) {
        *self = Self::new();
    }
}
