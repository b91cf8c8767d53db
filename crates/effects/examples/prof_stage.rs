//! Runs one stage in a loop, for profiling: `prof_stage blur|beauty|post|infer|pre`.
#![allow(clippy::unwrap_used)]
#[path = "../tests/common/mod.rs"]
mod common;
use talkline_effects::*;
fn main() {
    let stage = std::env::args().nth(1).unwrap_or_else(|| "blur".into());
    let mut data = common::astronaut_720p();
    let mut model = SegmentationModel::new().unwrap();
    let mut refiner = MaskRefiner::new(RefinerSettings::default());
    {
        let frame = I420Mut::packed(1280, 720, &mut data).unwrap();
        model.segment(&frame);
        refiner.refine(
            model.mask(),
            model.guide(),
            model.size(),
            model.letterbox(),
            &frame,
            0,
        );
    }
    let (ay, auv) = (refiner.alpha_y().to_vec(), refiner.alpha_uv().to_vec());
    let mut comp = BackgroundCompositor::new();
    let mut beauty = BeautyFilter::new();
    let t = std::time::Instant::now();
    let n = 500;
    for i in 0..n {
        let mut frame = I420Mut::packed(1280, 720, &mut data).unwrap();
        match stage.as_str() {
            "blur" => comp.blur(&mut frame, &ay, &auv, 0.8),
            "beauty" => beauty.apply(&mut frame, 0.7),
            "post" => refiner.refine(
                model.mask(),
                model.guide(),
                model.size(),
                model.letterbox(),
                &frame,
                i * 33_000,
            ),
            "pre" => model.prepare(&frame),
            _ => model.infer(),
        }
    }
    println!(
        "{stage}: {:.3} ms/iter",
        t.elapsed().as_secs_f64() * 1e3 / n as f64
    );
}
