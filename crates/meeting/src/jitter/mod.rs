//! Receive-side packet logic: sequence numbers, loss requests (NACK) and
//! the audio and video jitter buffers. Pure code, driven by packets and time.

pub mod audio;
pub mod nack;
pub mod seq;
pub mod video;

pub use video::{JitterStats, ReleasedFrame, VideoJitterBuffer};
#[cfg(test)]
mod sfu_trace;
