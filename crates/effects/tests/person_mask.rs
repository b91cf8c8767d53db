//! The whole segmentation path (I420 -> model -> refined alpha) on a real
//! person photo: hand-checked person and background regions.
#![allow(clippy::unwrap_used)]

use talkline_effects::{I420Mut, MaskRefiner, RefinerSettings, SegmentationModel};

mod common;

fn region_mean(alpha: &[u8], w: usize, x: (usize, usize), y: (usize, usize)) -> f32 {
    let mut sum = 0u64;
    for yy in y.0..y.1 {
        for xx in x.0..x.1 {
            sum += alpha[yy * w + xx] as u64;
        }
    }
    sum as f32 / (255.0 * ((x.1 - x.0) * (y.1 - y.0)) as f32)
}

fn alpha_for(w: usize, h: usize, i420: &mut [u8]) -> Vec<u8> {
    let frame = I420Mut::packed(w, h, i420).unwrap();
    let mut model = SegmentationModel::new().unwrap();
    let mut refiner = MaskRefiner::new(RefinerSettings::default());
    model.segment(&frame);
    refiner.refine(
        model.mask(),
        model.guide(),
        model.size(),
        model.letterbox(),
        &frame,
        0,
    );
    refiner.alpha_y().to_vec()
}

#[test]
fn square_photo_is_letterboxed_and_segmented() {
    let (w, h, rgb) = common::read_ppm("astronaut_256.ppm");
    let mut i420 = common::rgb_to_i420(w, h, &rgb);
    let alpha = alpha_for(w, h, &mut i420);
    // Face, and the orange suit on her right (image left).
    let face = region_mean(&alpha, w, (98, 128), (48, 78));
    let suit = region_mean(&alpha, w, (40, 110), (160, 230));
    // Wall above the shuttle model, and the wall left of it.
    let wall = region_mean(&alpha, w, (200, 250), (5, 50));
    let wall2 = region_mean(&alpha, w, (150, 175), (30, 90));
    eprintln!("face {face:.3} suit {suit:.3} wall {wall:.3} wall2 {wall2:.3}");
    assert!(face > 0.9 && suit > 0.9, "person: face {face}, suit {suit}");
    assert!(wall < 0.1 && wall2 < 0.1, "background: {wall}, {wall2}");
}

#[test]
fn widescreen_720p_frame_is_segmented() {
    let mut i420 = common::astronaut_720p();
    let alpha = alpha_for(1280, 720, &mut i420);
    // The 256x144 crop starts at photo row 16, scaled 5x.
    let to = |x: usize, y: usize| (x * 5, (y - 16) * 5);
    let (fx0, fy0) = to(98, 48);
    let (fx1, fy1) = to(128, 78);
    let face = region_mean(&alpha, 1280, (fx0, fx1), (fy0, fy1));
    let (bx0, by0) = to(200, 20);
    let (bx1, by1) = to(250, 50);
    let wall = region_mean(&alpha, 1280, (bx0, bx1), (by0, by1));
    eprintln!("face {face:.3} wall {wall:.3}");
    assert!(face > 0.9, "face {face}");
    assert!(wall < 0.1, "wall {wall}");
}
