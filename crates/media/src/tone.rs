//! A sine tone generator: the test microphone.

use crate::error::{MediaError, Result};
use crate::frame::{AUDIO_RATE_HZ, AudioFrame};

#[derive(Debug)]
pub struct ToneSource {
    phase: f64,
    step: f64,
    amplitude: f64,
}

impl ToneSource {
    pub fn new(frequency_hz: f64) -> Result<Self> {
        if !(20.0..=20_000.0).contains(&frequency_hz) {
            return Err(MediaError::InvalidParameter(format!(
                "tone frequency {frequency_hz} Hz is outside 20 Hz to 20 kHz"
            )));
        }
        Ok(Self {
            phase: 0.0,
            step: std::f64::consts::TAU * frequency_hz / AUDIO_RATE_HZ as f64,
            amplitude: 0.3 * 32767.0,
        })
    }

    pub fn read(&mut self, frame: &mut AudioFrame) {
        for s in frame.samples.iter_mut() {
            *s = (self.phase.sin() * self.amplitude) as i16;
            self.phase = (self.phase + self.step) % std::f64::consts::TAU;
        }
    }
}
