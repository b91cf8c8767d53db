//! Segmentation cadence: every frame, every other frame, or adaptive.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use talkline_effects::{
    Background, EffectsPipeline, EffectsSettings, I420Mut, SegmentationCadence,
};

mod common;

fn segmentations(cadence: SegmentationCadence, frames: u64) -> u64 {
    let source = common::astronaut_720p();
    let settings = EffectsSettings {
        background: Background::Blur { strength: 0.5 },
        cadence,
        ..Default::default()
    };
    let mut pipeline = EffectsPipeline::new(settings).unwrap();
    for t in 0..frames {
        let mut data = source.clone();
        pipeline
            .process(
                &mut I420Mut::packed(1280, 720, &mut data).unwrap(),
                t * 33_333,
            )
            .unwrap();
        assert!(pipeline.last_mask().is_some());
    }
    pipeline.segmentations()
}

#[test]
fn cadences_run_the_model_as_often_as_asked() {
    assert_eq!(segmentations(SegmentationCadence::EveryFrame, 6), 6);
    assert_eq!(segmentations(SegmentationCadence::EveryOtherFrame, 6), 3);
    // Nothing fits a zero budget: the model runs every other frame.
    assert_eq!(
        segmentations(
            SegmentationCadence::Adaptive {
                budget: Duration::ZERO
            },
            6
        ),
        3
    );
    assert_eq!(
        segmentations(
            SegmentationCadence::Adaptive {
                budget: Duration::from_secs(10)
            },
            6
        ),
        6
    );
}

#[test]
fn reused_mask_still_composites() {
    let source = common::astronaut_720p();
    let settings = EffectsSettings {
        background: Background::Blur { strength: 1.0 },
        cadence: SegmentationCadence::EveryOtherFrame,
        ..Default::default()
    };
    let mut pipeline = EffectsPipeline::new(settings).unwrap();
    let mut first = source.clone();
    pipeline
        .process(&mut I420Mut::packed(1280, 720, &mut first).unwrap(), 0)
        .unwrap();
    let mut second = source.clone();
    pipeline
        .process(
            &mut I420Mut::packed(1280, 720, &mut second).unwrap(),
            33_333,
        )
        .unwrap();
    assert_eq!(pipeline.segmentations(), 1);
    // Same input and the same (reused) mask: the same blurred output.
    assert_eq!(first, second);
    assert_ne!(second, source);
}
