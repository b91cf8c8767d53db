//! After warm-up, the pipeline allocates nothing per frame.
#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use talkline_effects::{
    Background, DefaultBackground, EffectsPipeline, EffectsSettings, I420Mut, SegmentationCadence,
    default_background,
};

mod common;

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_allocates_nothing() {
    let source = common::astronaut_720p();
    let mut data = source.clone();
    let image = Arc::new(default_background(DefaultBackground::Meadow, 640, 360));
    let configs = [
        EffectsSettings {
            beauty: 0.7,
            background: Background::Blur { strength: 0.8 },
            ..Default::default()
        },
        EffectsSettings {
            beauty: 0.3,
            background: Background::Replace(image),
            cadence: SegmentationCadence::EveryOtherFrame,
            ..Default::default()
        },
    ];
    let mut pipeline = EffectsPipeline::new(configs[0].clone()).unwrap();
    for settings in configs {
        pipeline.set_settings(settings.clone());
        // Warm-up: buffers for this frame size and the cached picture.
        for t in 0..3u64 {
            data.copy_from_slice(&source);
            let mut frame = I420Mut::packed(1280, 720, &mut data).unwrap();
            pipeline.process(&mut frame, t * 33_333).unwrap();
        }
        ALLOCATIONS.store(0, Ordering::SeqCst);
        COUNTING.store(true, Ordering::SeqCst);
        for t in 3..13u64 {
            data.copy_from_slice(&source);
            let mut frame = I420Mut::packed(1280, 720, &mut data).unwrap();
            pipeline.process(&mut frame, t * 33_333).unwrap();
            // Settings updates between frames are cheap too (Arc clone).
            pipeline.set_settings(settings.clone());
        }
        COUNTING.store(false, Ordering::SeqCst);
        assert_eq!(
            ALLOCATIONS.load(Ordering::SeqCst),
            0,
            "allocations with {settings:?}"
        );
    }
}

#[test]
fn pipeline_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<EffectsPipeline>();
}
