//! Local effects in the capture path: a camera wrapped so that every
//! picture gets beauty and the virtual background before the self-view and
//! the encoder see it. The processing is `talkline-effects`, which has no
//! I/O and no network crate: the pictures never leave the device for it.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_queue::ArrayQueue;
use talkline_effects::{EffectsPipeline, EffectsSettings, I420Mut};

use crate::error::{MediaError, Result};
use crate::frame::VideoFrame;
use crate::source::VideoSource;

/// Where new effect settings are handed to the capture thread, which
/// picks them up between frames without locking.
pub struct EffectsControl {
    pending: ArrayQueue<EffectsSettings>,
}

impl EffectsControl {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            pending: ArrayQueue::new(1),
        })
    }

    /// Takes effect from the next frame; a newer call replaces one not yet
    /// picked up.
    pub fn set(&self, settings: EffectsSettings) {
        self.pending.force_push(settings);
    }
}

impl std::fmt::Debug for EffectsControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EffectsControl").finish_non_exhaustive()
    }
}

/// A video source whose pictures pass through the effects pipeline.
pub struct EffectedSource {
    inner: Box<dyn VideoSource>,
    pipeline: EffectsPipeline,
    control: Arc<EffectsControl>,
    /// Set after a processing error: the picture goes out unprocessed
    /// rather than not at all, and the error is logged once.
    reported: bool,
    /// The smoothing clock: capture times may be missing (files, tests).
    started: Instant,
}

impl EffectedSource {
    /// Loads the segmentation model here, on the caller's thread, so that
    /// turning an effect on later never stalls the capture thread.
    pub fn wrap(
        inner: Box<dyn VideoSource>,
        settings: EffectsSettings,
        control: Arc<EffectsControl>,
    ) -> Result<Self> {
        let pipeline = EffectsPipeline::new(settings)
            .map_err(|e| MediaError::InvalidParameter(format!("video effects: {e}")))?;
        Ok(Self {
            inner,
            pipeline,
            control,
            reported: false,
            started: Instant::now(),
        })
    }
}

impl VideoSource for EffectedSource {
    fn next_frame(&mut self, frame: &mut VideoFrame) -> Result<()> {
        self.inner.next_frame(frame)?;
        if let Some(settings) = self.control.pending.pop() {
            self.pipeline.set_settings(settings);
        }
        let (width, height) = (frame.width() as usize, frame.height() as usize);
        let (y_stride, uv_stride) = (frame.y_stride(), frame.uv_stride());
        let timestamp = self.started.elapsed().as_micros() as u64;
        let (y, u, v) = frame.planes_mut();
        let result = I420Mut::new(width, height, y, u, v, y_stride, uv_stride)
            .and_then(|mut view| self.pipeline.process(&mut view, timestamp));
        if let Err(e) = result
            && !self.reported
        {
            log::warn!("video effects skipped: {e}");
            self.reported = true;
        }
        Ok(())
    }

    fn frame_rate(&self) -> f64 {
        self.inner.frame_rate()
    }

    fn is_live(&self) -> bool {
        self.inner.is_live()
    }

    fn size(&self) -> (u32, u32) {
        self.inner.size()
    }
}

/// The longest side a background picture is kept at: larger photos are
/// scaled down once when loaded, not on every frame.
const MAX_BACKGROUND_SIDE: u32 = 1920;

/// Decodes a PNG or JPEG into a background picture (the user's own photo,
/// or a built-in one), scaled down to at most 1920 pixels a side.
pub fn load_background(bytes: &[u8]) -> Result<talkline_effects::BackgroundImage> {
    let decoded = crate::picture::decode_picture(bytes, MAX_BACKGROUND_SIDE).map_err(|e| {
        MediaError::InvalidParameter(format!("the background picture cannot be read: {e}"))
    })?;
    let rgb = decoded.into_rgb8();
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    talkline_effects::BackgroundImage::from_rgb(w, h, rgb.into_raw())
        .map_err(|e| MediaError::InvalidParameter(format!("the background picture: {e}")))
}

/// The built-in backgrounds, by the name the UI and the CLI use.
pub fn builtin_background(name: &str) -> Option<talkline_effects::BackgroundImage> {
    let bytes: &[u8] = match name {
        "dusk" => include_bytes!("../../../assets/backgrounds/dusk.jpg"),
        "meadow" => include_bytes!("../../../assets/backgrounds/meadow.jpg"),
        "studio" => include_bytes!("../../../assets/backgrounds/studio.jpg"),
        _ => return None,
    };
    load_background(bytes).ok()
}

pub const BUILTIN_BACKGROUNDS: [&str; 3] = ["dusk", "meadow", "studio"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::{TestPattern, read_stamp};

    #[test]
    fn builtin_backgrounds_decode_and_garbage_is_an_error() {
        for name in BUILTIN_BACKGROUNDS {
            let image = builtin_background(name).expect(name);
            assert!(image.width() >= 640 && image.height() >= 360, "{name}");
        }
        assert!(builtin_background("beach").is_none());
        assert!(load_background(b"not a picture").is_err());
        assert!(load_background(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 16]).is_err());
    }

    /// One fixed picture, every time.
    struct Still(VideoFrame);
    impl VideoSource for Still {
        fn next_frame(&mut self, frame: &mut VideoFrame) -> Result<()> {
            frame.clone_from(&self.0);
            Ok(())
        }
        fn frame_rate(&self) -> f64 {
            30.0
        }
        fn is_live(&self) -> bool {
            false
        }
        fn size(&self) -> (u32, u32) {
            (self.0.width(), self.0.height())
        }
    }

    #[test]
    fn settings_reach_the_capture_thread_between_frames() {
        // A fixed capture time: the stamp cells change with it, and with
        // them, now and then, where the model puts the edge of the person
        // (a wall-clock stamp let the stamp survive the blur in one CI run).
        let mut pattern = TestPattern::new(640, 360).expect("pattern");
        let mut reference = VideoFrame::new(640, 360).expect("frame");
        pattern
            .draw_next(&mut reference, 1_764_800_000_000_000)
            .expect("frame");
        let control = EffectsControl::new();
        let mut source = EffectedSource::wrap(
            Box::new(Still(reference.clone())),
            EffectsSettings::default(),
            Arc::clone(&control),
        )
        .expect("effects");
        let mut frame = VideoFrame::new(640, 360).expect("frame");
        source.next_frame(&mut frame).expect("frame");
        assert_eq!(frame, reference, "no effects must leave the picture alone");

        control.set(EffectsSettings {
            background: talkline_effects::Background::Blur { strength: 1.0 },
            ..Default::default()
        });
        source.next_frame(&mut frame).expect("frame");
        // The model takes about three quarters of the test pattern for a
        // person; the rest, where the stamp cells are, is background. So
        // the stamp is readable before the blur and not after.
        assert!(read_stamp(&reference).is_some());
        assert!(
            read_stamp(&frame).is_none(),
            "the stamp survived the background blur"
        );
        assert_ne!(frame, reference);
    }
}
