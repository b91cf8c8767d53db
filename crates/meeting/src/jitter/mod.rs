//! Receive-side packet logic: sequence numbers, loss requests (NACK) and
//! the video jitter buffer. Pure code, driven by packets and time.

pub mod nack;
pub mod seq;
pub mod video;

pub use video::{JitterStats, ReleasedFrame, VideoJitterBuffer};
