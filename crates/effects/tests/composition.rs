//! Background blur and replacement change the background and keep the
//! person, on the real photo with the real mask.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use talkline_effects::{Background, BackgroundImage, EffectsPipeline, EffectsSettings, I420Mut};

mod common;

const W: usize = 1280;
const H: usize = 720;

/// Photo (256-scale, rows from 16) -> 720p rectangle.
fn rect(x: (usize, usize), y: (usize, usize)) -> ((usize, usize), (usize, usize)) {
    ((x.0 * 5, x.1 * 5), ((y.0 - 16) * 5, (y.1 - 16) * 5))
}

fn person() -> ((usize, usize), (usize, usize)) {
    rect((98, 128), (48, 78)) // face
}

fn background() -> ((usize, usize), (usize, usize)) {
    rect((180, 250), (20, 60)) // the shuttle model's tip and the wall
}

fn luma(data: &[u8], r: ((usize, usize), (usize, usize))) -> Vec<f32> {
    let mut v = Vec::new();
    for y in r.1.0..r.1.1 {
        for x in r.0.0..r.0.1 {
            v.push(data[y * W + x] as f32);
        }
    }
    v
}

fn mean_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32
}

fn gradient_energy(data: &[u8], r: ((usize, usize), (usize, usize))) -> f32 {
    let mut e = 0.0;
    for y in r.1.0..r.1.1 {
        for x in r.0.0..r.0.1 {
            e += (data[y * W + x + 1] as f32 - data[y * W + x] as f32).abs();
        }
    }
    e
}

fn run(background: Background) -> (Vec<u8>, Vec<u8>) {
    let source = common::astronaut_720p();
    let mut data = source.clone();
    let mut pipeline = EffectsPipeline::new(EffectsSettings {
        background,
        ..Default::default()
    })
    .unwrap();
    let mut frame = I420Mut::packed(W, H, &mut data).unwrap();
    pipeline.process(&mut frame, 0).unwrap();
    (source, data)
}

#[test]
fn blur_softens_background_and_keeps_person() {
    let (before, after) = run(Background::Blur { strength: 1.0 });
    let p = mean_abs_diff(&luma(&before, person()), &luma(&after, person()));
    assert!(p < 1.0, "person changed by {p}");
    let (e0, e1) = (
        gradient_energy(&before, background()),
        gradient_energy(&after, background()),
    );
    eprintln!("person diff {p:.3}; background gradient energy {e0} -> {e1}");
    assert!(e1 < 0.5 * e0, "background gradients {e0} -> {e1}");
}

#[test]
fn replace_shows_the_picture_behind_the_person() {
    // A flat, clearly different picture: Y = 81, U = 90, V = 240 (red-ish).
    let (w, h) = (320, 180);
    let mut img = vec![81u8; w * h];
    img.extend(std::iter::repeat_n(90u8, w * h / 4));
    img.extend(std::iter::repeat_n(240u8, w * h / 4));
    let image = Arc::new(BackgroundImage::from_i420(w, h, img).unwrap());
    let (before, after) = run(Background::Replace(image));
    let p = mean_abs_diff(&luma(&before, person()), &luma(&after, person()));
    assert!(p < 1.0, "person changed by {p}");
    let bg = luma(&after, background());
    let off = bg.iter().map(|v| (v - 81.0).abs()).sum::<f32>() / bg.len() as f32;
    eprintln!("person diff {p:.3}; background off the picture by {off:.3}");
    assert!(off < 2.0, "background is {off} away from the picture");
    // Chroma too: the V plane behind the person is the picture's.
    let v_plane = &after[W * H + W * H / 4..];
    let (x, y) = (background().0.0 / 2 + 10, background().1.0 / 2 + 10);
    assert!((v_plane[y * W / 2 + x] as i32 - 240).abs() <= 2);
}

#[test]
fn no_background_effect_leaves_the_frame_alone() {
    let (before, after) = run(Background::None);
    assert_eq!(before, after);
}
