//! Camera-like pictures holding a QR code, for the tests of scanning: the
//! code is drawn at any size, angle and noise over a busy background, as a
//! camera held up to a screen or a printout would see it.
#![allow(dead_code)]

use qrcode::{Color, QrCode};
use talkline_media::VideoFrame;

/// Where and how the code appears in the picture.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    /// Centre of the code, as a fraction of the picture's width and height.
    pub center: (f32, f32),
    /// Side of one module in pixels.
    pub module_px: f32,
    /// Rotation, clockwise, in degrees.
    pub angle_deg: f32,
    /// Each pixel moves up or down by at most this much (sensor noise).
    pub noise: u8,
}

impl Default for Placement {
    fn default() -> Self {
        Self {
            center: (0.5, 0.5),
            module_px: 5.0,
            angle_deg: 0.0,
            noise: 0,
        }
    }
}

/// A small deterministic generator, so a failing picture can be redrawn.
struct Noise(u32);

impl Noise {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
}

/// A `width`x`height` I420 frame with `text` as a QR code drawn in it.
pub fn frame_with_qr(text: &str, width: u32, height: u32, place: Placement) -> VideoFrame {
    let code = QrCode::new(text.as_bytes()).expect("the text fits a QR code");
    let n = code.width();
    let dark: Vec<bool> = code
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    let mut frame = VideoFrame::new(width, height).expect("frame size");
    let (w, h) = (width as usize, height as usize);
    let (cx, cy) = (place.center.0 * w as f32, place.center.1 * h as f32);
    let (sin, cos) = place.angle_deg.to_radians().sin_cos();
    // The code and a four-module quiet zone, in module units from its centre.
    let half_code = n as f32 / 2.0;
    let half_quiet = half_code + 4.0;
    let mut noise = Noise(0x2545_f491);
    let (y_plane, u, v) = frame.planes_mut();
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let mx = (cos * dx + sin * dy) / place.module_px;
            let my = (-sin * dx + cos * dy) / place.module_px;
            // A busy scene around the code: stripes and a gradient.
            let scene =
                (60 + (x * 97 / w) + if (x / 23 + y / 17) % 2 == 0 { 40 } else { 0 }) as i32;
            let mut value = if mx.abs() < half_quiet && my.abs() < half_quiet {
                let (col, row) = ((mx + half_code).floor(), (my + half_code).floor());
                let inside = col >= 0.0 && row >= 0.0 && (col as usize) < n && (row as usize) < n;
                if inside && dark[row as usize * n + col as usize] {
                    35
                } else {
                    215
                }
            } else {
                scene
            };
            if place.noise > 0 {
                let span = 2 * place.noise as u32 + 1;
                value += (noise.next() % span) as i32 - place.noise as i32;
            }
            y_plane[y * w + x] = value.clamp(0, 255) as u8;
        }
    }
    u.fill(128);
    v.fill(128);
    frame
}

/// The frame's picture as a PNG file's bytes (what a user would pick).
pub fn png_of(frame: &VideoFrame) -> Vec<u8> {
    let luma = image::GrayImage::from_raw(frame.width(), frame.height(), frame.y().to_vec())
        .expect("luma plane size");
    let mut bytes = Vec::new();
    image::DynamicImage::ImageLuma8(luma)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .expect("PNG encoding");
    bytes
}
