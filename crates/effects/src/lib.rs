//! TalkLine's local video effects: person segmentation with MediaPipe's
//! selfie segmentation model (run by our own small TFLite interpreter),
//! background blur or replacement, and skin smoothing, all on I420 frames
//! in place, on the CPU, without any I/O.
//!
//! [`EffectsPipeline`] is the one type the app needs; the stages are public
//! for tests and benchmarks.

mod backgrounds;
mod beauty;
mod compositor;
mod error;
mod frame;
mod interpreter;
mod kernels;
mod mask_refiner;
mod pipeline;
mod resample;
mod segmentation;
mod tflite;

pub use backgrounds::{DefaultBackground, default_background};
pub use beauty::BeautyFilter;
pub use compositor::BackgroundCompositor;
pub use error::{EffectsError, Result};
pub use frame::{BackgroundImage, I420Mut, PixelFormat};
pub use interpreter::Interpreter;
pub use mask_refiner::{MaskRefiner, RefinerSettings};
pub use pipeline::{Background, EffectsPipeline, EffectsSettings, SegmentationCadence};
pub use segmentation::{Letterbox, SegmentationModel};

/// MediaPipe's `selfie_segmentation_landscape.tflite` (Apache-2.0), put in
/// place by the build script from the pinned npm package.
pub static SELFIE_SEGMENTATION_LANDSCAPE: &[u8] = include_bytes!(concat!(
    env!("OUT_DIR"),
    "/selfie_segmentation_landscape.tflite"
));
