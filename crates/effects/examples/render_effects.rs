//! Renders the test photo through each effect as PPM files, for eyeballing:
//! `cargo run --release -p talkline-effects --example render_effects -- OUT_DIR`
#![allow(clippy::unwrap_used)]
#[path = "../tests/common/mod.rs"]
mod common;
use std::sync::Arc;
use talkline_effects::*;

fn i420_to_ppm(w: usize, h: usize, d: &[u8]) -> Vec<u8> {
    let mut out = format!("P6\n{w} {h}\n255\n").into_bytes();
    let (ys, cw) = (w * h, w / 2);
    for y in 0..h {
        for x in 0..w {
            let c = (y / 2) * cw + x / 2;
            let (yy, u, v) = (
                d[y * w + x] as f32 - 16.0,
                d[ys + c] as f32 - 128.0,
                d[ys + ys / 4 + c] as f32 - 128.0,
            );
            let px = [
                1.164 * yy + 1.596 * v,
                1.164 * yy - 0.392 * u - 0.813 * v,
                1.164 * yy + 2.017 * u,
            ];
            out.extend(px.iter().map(|p| p.clamp(0.0, 255.0) as u8));
        }
    }
    out
}

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let source = common::astronaut_720p();
    let image = Arc::new(default_background(DefaultBackground::Dusk, 1280, 720));
    let cases = [
        ("blur", 0.0, Background::Blur { strength: 0.8 }),
        ("replace", 0.0, Background::Replace(image)),
        ("beauty", 1.0, Background::None),
    ];
    for (name, beauty, background) in cases {
        let mut data = source.clone();
        let mut p = EffectsPipeline::new(EffectsSettings {
            beauty,
            background,
            ..Default::default()
        })
        .unwrap();
        p.process(&mut I420Mut::packed(1280, 720, &mut data).unwrap(), 0)
            .unwrap();
        std::fs::write(
            dir.join(format!("{name}.ppm")),
            i420_to_ppm(1280, 720, &data),
        )
        .unwrap();
    }
    std::fs::write(dir.join("original.ppm"), i420_to_ppm(1280, 720, &source)).unwrap();
}
