//! Writes the person alpha for the test photo as a PGM, for eyeballing:
//! `cargo run --release -p talkline-effects --example dump_mask -- mask.pgm`
#![allow(clippy::unwrap_used)]
#[path = "../tests/common/mod.rs"]
mod common;
use talkline_effects::*;
fn main() {
    let (w, h, rgb) = common::read_ppm("astronaut_256.ppm");
    let mut i420 = common::rgb_to_i420(w, h, &rgb);
    let frame = I420Mut::packed(w, h, &mut i420).unwrap();
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
    let mut out = format!("P5\n{w} {h}\n255\n").into_bytes();
    out.extend_from_slice(refiner.alpha_y());
    let path = std::env::args().nth(1).unwrap_or_else(|| "mask.pgm".into());
    std::fs::write(path, out).unwrap();
}
