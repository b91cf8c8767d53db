//! Sources behind one interface each, so the call pipeline does not care
//! whether frames come from a device, a generator or a file.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::Result;
use crate::frame::{AudioFrame, VideoFrame};
use crate::pattern::TestPattern;
use crate::tone::ToneSource;
use crate::vp8::EncodedFrame;
use crate::wav::WavSource;
use crate::y4m::Y4mSource;

/// Microseconds since the Unix epoch: the clock the test pattern stamps, so
/// two processes on one machine can measure glass-to-glass latency.
pub fn wall_clock_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Something that yields video frames.
pub trait VideoSource: Send {
    /// Fills `frame` with the next picture. Live sources block until one is
    /// captured; generated and file sources return at once and are paced by
    /// the caller at `frame_rate`.
    fn next_frame(&mut self, frame: &mut VideoFrame) -> Result<()>;
    fn frame_rate(&self) -> f64;
    fn is_live(&self) -> bool;
    fn size(&self) -> (u32, u32);
    /// A source whose frames come encoded (a replayed recording): the call
    /// sends them as they are instead of encoding pictures.
    fn as_encoded(&mut self) -> Option<&mut dyn EncodedVideo> {
        None
    }
    /// Whether the picture just read is the one before it again, pixel
    /// for pixel (a still screen): the call need not encode and send it
    /// at the full rate.
    fn unchanged(&self) -> bool {
        false
    }
}

/// Video that comes encoded already, one or more encodings (largest
/// first) of the same frames.
pub trait EncodedVideo {
    /// The next frame of each encoding into `out[i]` (its capacity reused),
    /// what each is into `frames[i]`.
    fn next_encoded(
        &mut self,
        out: &mut [Vec<u8>; 3],
        frames: &mut [Option<EncodedFrame>; 3],
    ) -> Result<()>;
}

/// Something that yields 10 ms audio frames.
pub trait AudioSource: Send {
    /// Fills `frame` with the next 10 ms. Live sources block until it is
    /// captured; others return at once and are paced by the caller.
    fn read(&mut self, frame: &mut AudioFrame) -> Result<()>;
    fn is_live(&self) -> bool;
    /// Whether it carries a voice in a room, for the voice processing
    /// (echo cancellation, noise suppression, gain control). A test tone
    /// is none: noise suppression takes a steady tone for noise and fades
    /// it within a second, and a user trying the tone would hear it go.
    fn is_voice(&self) -> bool {
        true
    }
}

/// A microphone that hears nothing: what a call sends while there is no
/// microphone to use. Silence, not a gap, so the stream goes on and a
/// microphone chosen later simply replaces it.
#[derive(Debug, Default)]
pub struct Silence;

impl AudioSource for Silence {
    fn read(&mut self, frame: &mut AudioFrame) -> Result<()> {
        frame.samples.fill(0);
        Ok(())
    }

    fn is_live(&self) -> bool {
        false
    }
}

/// The moving test pattern, stamped with the wall clock.
#[derive(Debug)]
pub struct PatternSource {
    pattern: TestPattern,
    frame_rate: f64,
}

impl PatternSource {
    pub fn new(width: u32, height: u32, frame_rate: f64) -> Result<Self> {
        if !(1.0..=120.0).contains(&frame_rate) {
            return Err(crate::MediaError::InvalidParameter(format!(
                "frame rate {frame_rate} is outside 1 to 120"
            )));
        }
        Ok(Self {
            pattern: TestPattern::new(width, height)?,
            frame_rate,
        })
    }
}

impl VideoSource for PatternSource {
    fn next_frame(&mut self, frame: &mut VideoFrame) -> Result<()> {
        self.pattern.draw_next(frame, wall_clock_us()).map(|_| ())
    }
    fn frame_rate(&self) -> f64 {
        self.frame_rate
    }
    fn is_live(&self) -> bool {
        false
    }
    fn size(&self) -> (u32, u32) {
        (self.pattern.width(), self.pattern.height())
    }
}

impl VideoSource for Y4mSource {
    fn next_frame(&mut self, frame: &mut VideoFrame) -> Result<()> {
        Y4mSource::next_frame(self, frame)?;
        frame.capture_time_us = wall_clock_us();
        Ok(())
    }
    fn frame_rate(&self) -> f64 {
        Y4mSource::frame_rate(self)
    }
    fn is_live(&self) -> bool {
        false
    }
    fn size(&self) -> (u32, u32) {
        (self.width(), self.height())
    }
}

impl AudioSource for ToneSource {
    fn read(&mut self, frame: &mut AudioFrame) -> Result<()> {
        ToneSource::read(self, frame);
        Ok(())
    }
    fn is_live(&self) -> bool {
        false
    }

    fn is_voice(&self) -> bool {
        false
    }
}

impl AudioSource for WavSource {
    fn read(&mut self, frame: &mut AudioFrame) -> Result<()> {
        WavSource::read(self, frame);
        Ok(())
    }
    fn is_live(&self) -> bool {
        false
    }
}
