//! Our interpreter against MediaPipe's runtime on the same input
//! (fixtures written by reference/make_reference.py).
#![allow(clippy::unwrap_used)]

use talkline_effects::{Interpreter, SELFIE_SEGMENTATION_LANDSCAPE};

mod common;

const REF_TOP: usize = 16;

fn check(mut interp: Interpreter) {
    let (w, h, rgb) = common::read_ppm("astronaut_256.ppm");
    assert_eq!((w, h), (256, 256));
    let expected = common::read_f32("reference_mask.f32");
    assert_eq!(interp.input_shape(), [1, 144, 256, 3]);
    assert_eq!(interp.output_shape(), [1, 144, 256, 1]);
    let crop = &rgb[REF_TOP * w * 3..(REF_TOP + 144) * w * 3];
    for (d, &s) in interp.input_mut().iter_mut().zip(crop) {
        *d = s as f32 / 255.0;
    }
    interp.invoke();
    let out = interp.output();
    assert_eq!(out.len(), expected.len());
    let max_err = out
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    eprintln!("max abs error vs MediaPipe: {max_err:e}");
    assert!(max_err < 1e-4, "max abs error {max_err}");
    // Running again on the same input must give the same result (no state
    // leaks between inferences through reused buffers).
    let first = out.to_vec();
    let crop_f: Vec<f32> = crop.iter().map(|&s| s as f32 / 255.0).collect();
    interp.input_mut().copy_from_slice(&crop_f);
    interp.invoke();
    assert_eq!(interp.output(), first.as_slice());
}

#[test]
fn matches_mediapipe_runtime() {
    check(Interpreter::new(SELFIE_SEGMENTATION_LANDSCAPE).unwrap());
}

#[test]
fn portable_kernels_match_mediapipe_runtime() {
    check(Interpreter::with_portable_kernels(SELFIE_SEGMENTATION_LANDSCAPE).unwrap());
}
