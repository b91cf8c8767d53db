//! Skin smoothing lowers the variance of a noisy skin patch, keeps strong
//! edges, and leaves non-skin alone.
#![allow(clippy::unwrap_used)]

use talkline_effects::{BeautyFilter, I420Mut};

const W: usize = 640;
const H: usize = 360;

/// Left: skin-coloured (Cb 110, Cr 155) noisy patch with a dark bar (an
/// eyebrow-like strong edge) at x 200..240. Right (x >= 400): blue, noisy.
fn test_frame() -> Vec<u8> {
    let mut data = vec![0u8; W * H * 3 / 2];
    let mut state = 0x2545_f491u32;
    let mut noise = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 17) as i32 - 8
    };
    for y in 0..H {
        for x in 0..W {
            let base = if x >= 400 {
                100
            } else if (200..240).contains(&x) {
                60
            } else {
                160
            };
            data[y * W + x] = (base + noise()).clamp(0, 255) as u8;
        }
    }
    let (cw, ch) = (W / 2, H / 2);
    for y in 0..ch {
        for x in 0..cw {
            let skin = 2 * x < 400;
            data[W * H + y * cw + x] = if skin { 110 } else { 170 };
            data[W * H + cw * ch + y * cw + x] = if skin { 155 } else { 110 };
        }
    }
    data
}

fn stats(data: &[u8], x: (usize, usize), y: (usize, usize)) -> (f32, f32) {
    let v: Vec<f32> = (y.0..y.1)
        .flat_map(|yy| (x.0..x.1).map(move |xx| (yy, xx)))
        .map(|(yy, xx)| data[yy * W + xx] as f32)
        .collect();
    let mean = v.iter().sum::<f32>() / v.len() as f32;
    let var = v.iter().map(|a| (a - mean) * (a - mean)).sum::<f32>() / v.len() as f32;
    (mean, var)
}

#[test]
fn smooths_skin_keeps_edges_and_ignores_non_skin() {
    let before = test_frame();
    let mut after = before.clone();
    let mut filter = BeautyFilter::new();
    filter.apply(&mut I420Mut::packed(W, H, &mut after).unwrap(), 1.0);

    let skin = ((40, 180), (40, 320));
    let (m0, v0) = stats(&before, skin.0, skin.1);
    let (m1, v1) = stats(&after, skin.0, skin.1);
    eprintln!("skin mean {m0:.1} -> {m1:.1}, variance {v0:.1} -> {v1:.1}");
    assert!(v1 < 0.4 * v0, "skin variance {v0} -> {v1}");
    assert!(m1 >= m0 - 1.0, "skin got darker: {m0} -> {m1}");

    // The dark bar stays dark and the step next to it stays sharp.
    let (bar0, _) = stats(&before, (208, 232), (40, 320));
    let (bar1, _) = stats(&after, (208, 232), (40, 320));
    let (side1, _) = stats(&after, (170, 192), (40, 320));
    eprintln!("bar {bar0:.1} -> {bar1:.1}; beside it {side1:.1}");
    assert!((bar1 - bar0).abs() < 8.0, "bar {bar0} -> {bar1}");
    assert!(
        side1 - bar1 > 0.8 * (160.0 - 60.0),
        "edge contrast {}",
        side1 - bar1
    );

    // Blue region: not skin, untouched apart from rounding.
    let non_skin = ((440, 600), (40, 320));
    let (_, vb0) = stats(&before, non_skin.0, non_skin.1);
    let (_, vb1) = stats(&after, non_skin.0, non_skin.1);
    assert!(
        (vb1 - vb0).abs() < 0.05 * vb0,
        "non-skin variance {vb0} -> {vb1}"
    );
}

#[test]
fn zero_strength_is_a_no_op() {
    let before = test_frame();
    let mut after = before.clone();
    BeautyFilter::new().apply(&mut I420Mut::packed(W, H, &mut after).unwrap(), 0.0);
    assert_eq!(before, after);
}
