//! [`EffectsPipeline`]: beauty, then segmentation and background
//! composition, in place on each frame.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::beauty::BeautyFilter;
use crate::compositor::BackgroundCompositor;
use crate::error::Result;
use crate::frame::{BackgroundImage, I420Mut};
use crate::mask_refiner::{MaskRefiner, RefinerSettings};
use crate::segmentation::SegmentationModel;

/// What to do with everything that is not the person.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum Background {
    #[default]
    None,
    /// Blur; `strength` in [0, 1].
    Blur { strength: f32 },
    /// Show this picture instead (scaled to cover the frame, cached).
    Replace(Arc<BackgroundImage>),
}

/// How often the model runs; frames in between reuse the last mask.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum SegmentationCadence {
    #[default]
    EveryFrame,
    EveryOtherFrame,
    /// Every frame while segmentation + composition fits the budget;
    /// every other frame after a frame that went over it.
    Adaptive {
        budget: Duration,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct EffectsSettings {
    /// Skin smoothing and brightening, 0 (off) ..= 1.
    pub beauty: f32,
    pub background: Background,
    pub cadence: SegmentationCadence,
    pub refiner: RefinerSettings,
}

impl Default for EffectsSettings {
    fn default() -> Self {
        Self {
            beauty: 0.0,
            background: Background::None,
            cadence: SegmentationCadence::EveryFrame,
            refiner: RefinerSettings::default(),
        }
    }
}

/// The per-call video effects chain. Owns all its buffers: after the first
/// frame of a given size (and the first use of a replacement picture),
/// `process` allocates nothing. `Send`, so it can live on a worker thread.
#[derive(Debug)]
pub struct EffectsPipeline {
    settings: EffectsSettings,
    model: SegmentationModel,
    refiner: MaskRefiner,
    compositor: BackgroundCompositor,
    beauty: BeautyFilter,
    /// Frame size the refiner's mask belongs to, if any.
    mask_size: Option<(usize, usize)>,
    skipped_last: bool,
    over_budget: bool,
    segmentations: u64,
}

impl EffectsPipeline {
    pub fn new(settings: EffectsSettings) -> Result<Self> {
        Ok(Self {
            refiner: MaskRefiner::new(settings.refiner),
            settings,
            model: SegmentationModel::new()?,
            compositor: BackgroundCompositor::new(),
            beauty: BeautyFilter::new(),
            mask_size: None,
            skipped_last: false,
            over_budget: false,
            segmentations: 0,
        })
    }

    /// Takes effect from the next frame; cheap (no model reload).
    pub fn set_settings(&mut self, settings: EffectsSettings) {
        self.refiner.set_settings(settings.refiner);
        if settings.background == Background::None {
            // A mask from before the background was switched off is stale.
            self.mask_size = None;
        }
        self.settings = settings;
    }

    pub fn settings(&self) -> &EffectsSettings {
        &self.settings
    }

    /// How many times the model has run (frames minus reused masks).
    pub fn segmentations(&self) -> u64 {
        self.segmentations
    }

    /// The person alpha used for the last frame (frame size, 255 = person).
    pub fn last_mask(&self) -> Option<&[u8]> {
        self.mask_size.map(|_| self.refiner.alpha_y())
    }

    /// Applies the effects to `frame` in place. `timestamp_us` is the
    /// capture time (any monotonic microsecond clock); it paces the mask's
    /// temporal smoothing.
    pub fn process(&mut self, frame: &mut I420Mut<'_>, timestamp_us: u64) -> Result<()> {
        if self.settings.beauty > 0.0 {
            self.beauty.apply(frame, self.settings.beauty);
        }
        if matches!(self.settings.background, Background::None) {
            return Ok(());
        }
        let started = Instant::now();
        let size = (frame.width(), frame.height());
        let have_mask = self.mask_size == Some(size);
        let skip = have_mask
            && !self.skipped_last
            && match self.settings.cadence {
                SegmentationCadence::EveryFrame => false,
                SegmentationCadence::EveryOtherFrame => true,
                SegmentationCadence::Adaptive { .. } => self.over_budget,
            };
        if skip {
            self.skipped_last = true;
        } else {
            self.skipped_last = false;
            self.model.segment(frame);
            self.refiner.refine(
                self.model.mask(),
                self.model.guide(),
                self.model.size(),
                self.model.letterbox(),
                frame,
                timestamp_us,
            );
            self.mask_size = Some(size);
            self.segmentations += 1;
        }
        let (alpha_y, alpha_uv) = (self.refiner.alpha_y(), self.refiner.alpha_uv());
        match &self.settings.background {
            Background::None => {}
            Background::Blur { strength } => {
                self.compositor.blur(frame, alpha_y, alpha_uv, *strength)
            }
            Background::Replace(image) => self.compositor.replace(frame, alpha_y, alpha_uv, image),
        }
        if let SegmentationCadence::Adaptive { budget } = self.settings.cadence
            && !skip
        {
            self.over_budget = started.elapsed() > budget;
        }
        Ok(())
    }
}
