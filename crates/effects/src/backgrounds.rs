//! Built-in replacement backgrounds, drawn procedurally so no image files
//! or decoders are needed.

use crate::frame::BackgroundImage;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DefaultBackground {
    /// Warm sunset gradient with a soft sun.
    Dusk,
    /// Neutral grey-blue studio backdrop with a vignette.
    Studio,
    /// Sky over rolling green hills.
    Meadow,
}

fn mix(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    let t = t.clamp(0.0, 1.0);
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Renders `kind` as an RGB image of `width x height` (both >= 1).
pub fn default_background(kind: DefaultBackground, width: usize, height: usize) -> BackgroundImage {
    let (width, height) = (width.max(1), height.max(1));
    let mut data = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            let u = (x as f32 + 0.5) / width as f32;
            let v = (y as f32 + 0.5) / height as f32;
            let aspect = width as f32 / height as f32;
            let c = match kind {
                DefaultBackground::Dusk => {
                    let sky = mix(
                        [52.0, 40.0, 96.0],
                        [250.0, 150.0, 90.0],
                        smoothstep(0.0, 0.85, v),
                    );
                    let (dx, dy) = ((u - 0.7) * aspect, v - 0.62);
                    let d = (dx * dx + dy * dy).sqrt();
                    let sun = 1.0 - smoothstep(0.06, 0.22, d);
                    mix(sky, [255.0, 226.0, 160.0], sun)
                }
                DefaultBackground::Studio => {
                    let base = mix([120.0, 132.0, 148.0], [70.0, 80.0, 96.0], v);
                    let (dx, dy) = ((u - 0.5) * aspect, v - 0.45);
                    let vignette = 1.0 - 0.35 * smoothstep(0.3, 1.1, (dx * dx + dy * dy).sqrt());
                    [base[0] * vignette, base[1] * vignette, base[2] * vignette]
                }
                DefaultBackground::Meadow => {
                    let sky = mix([120.0, 170.0, 230.0], [205.0, 225.0, 245.0], v / 0.6);
                    let hill1 = 0.62 + 0.05 * (u * 6.0).sin();
                    let hill2 = 0.74 + 0.04 * (u * 9.0 + 1.3).sin();
                    let far = mix([110.0, 160.0, 100.0], [90.0, 140.0, 80.0], v);
                    let near = mix([80.0, 150.0, 60.0], [50.0, 110.0, 40.0], v);
                    let c = mix(sky, far, smoothstep(hill1 - 0.004, hill1 + 0.004, v));
                    mix(c, near, smoothstep(hill2 - 0.004, hill2 + 0.004, v))
                }
            };
            data.extend(c.iter().map(|&ch| ch.clamp(0.0, 255.0) as u8));
        }
    }
    BackgroundImage::from_rgb_unchecked(width, height, data)
}
