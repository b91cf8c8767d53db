#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

pub fn fixture(name: &str) -> PathBuf {
    // Read when run, not when built: the build cache is shared between checkouts
    // in different folders, and a binary built in one must not read another's files.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .join("tests/fixtures")
        .join(name)
}

/// Binary PPM (P6, maxval 255) -> (width, height, RGB bytes).
pub fn read_ppm(name: &str) -> (usize, usize, Vec<u8>) {
    let data = std::fs::read(fixture(name)).unwrap();
    let mut fields = Vec::new();
    let mut pos = 0;
    while fields.len() < 4 {
        while data[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let start = pos;
        while !data[pos].is_ascii_whitespace() {
            pos += 1;
        }
        fields.push(String::from_utf8(data[start..pos].to_vec()).unwrap());
    }
    assert_eq!(fields[0], "P6");
    let (w, h): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let pixels = data[pos + 1..pos + 1 + w * h * 3].to_vec();
    (w, h, pixels)
}

pub fn read_f32(name: &str) -> Vec<f32> {
    std::fs::read(fixture(name))
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// RGB -> tightly packed I420 (BT.601 limited range, 2x2 chroma average).
pub fn rgb_to_i420(w: usize, h: usize, rgb: &[u8]) -> Vec<u8> {
    let (cw, ch) = (w / 2, h / 2);
    let mut out = vec![0u8; w * h + 2 * cw * ch];
    let yuv = |x: usize, y: usize| {
        let p = &rgb[(y * w + x) * 3..][..3];
        let (r, g, b) = (p[0] as f32, p[1] as f32, p[2] as f32);
        (
            16.0 + 0.256_79 * r + 0.504_13 * g + 0.097_91 * b,
            128.0 - 0.148_22 * r - 0.290_99 * g + 0.439_22 * b,
            128.0 + 0.439_22 * r - 0.367_79 * g - 0.071_43 * b,
        )
    };
    for y in 0..h {
        for x in 0..w {
            out[y * w + x] = (yuv(x, y).0 + 0.5) as u8;
        }
    }
    for y in 0..ch {
        for x in 0..cw {
            let (mut u, mut v) = (0.0, 0.0);
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (_, a, b) = yuv(2 * x + dx, 2 * y + dy);
                u += a;
                v += b;
            }
            out[w * h + y * cw + x] = (u / 4.0 + 0.5) as u8;
            out[w * h + cw * ch + y * cw + x] = (v / 4.0 + 0.5) as u8;
        }
    }
    out
}

/// The astronaut photo cropped to 16:9 (256x144 from rows 16..160) and
/// scaled 5x to 1280x720 (nearest), as I420: a realistic 720p frame.
pub fn astronaut_720p() -> Vec<u8> {
    let (w, _, rgb) = read_ppm("astronaut_256.ppm");
    let mut big = vec![0u8; 1280 * 720 * 3];
    for y in 0..720 {
        for x in 0..1280 {
            let s = ((16 + y / 5) * w + x / 5) * 3;
            big[(y * 1280 + x) * 3..][..3].copy_from_slice(&rgb[s..s + 3]);
        }
    }
    rgb_to_i420(1280, 720, &big)
}
