//! TalkLine media core: raw frames, sources (camera, microphone, test pattern,
//! tone, files), sinks (speaker, files), codecs (Opus, VP8) and the real-time
//! plumbing between their threads.

pub mod analysis;
pub mod audio_device;
pub mod camera;
pub mod computer_sound;
pub mod convert;
pub mod devices;
pub mod display;
pub mod echo_path;
pub mod effects;
pub mod encoded_feed;
pub mod error;
pub mod frame;
pub mod ivf;
pub mod opus_codec;
pub mod pattern;
pub mod picture;
pub mod queue;
pub mod replay;
pub mod ring;
#[cfg(target_os = "linux")]
pub mod screen;
pub mod sink;
pub mod source;
pub mod to_screen;
pub mod tone;
pub mod voice_activity;
pub mod voice_processing;
pub mod vp8;
pub mod wav;
pub mod webm;
pub mod y4m;

pub use error::{MediaError, Result};
pub use frame::{AUDIO_FRAME_SAMPLES, AUDIO_RATE_HZ, AudioFrame, VideoFrame};
pub use source::{AudioSource, EncodedVideo, VideoSource, wall_clock_us};
