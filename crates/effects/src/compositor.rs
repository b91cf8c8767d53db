//! [`BackgroundCompositor`]: mixes the frame with a blurred copy of itself
//! or with a replacement picture, per I420 plane, using the person alpha.
//!
//! Blur runs at quarter resolution: a 4x4 box downscale, three box blurs
//! (close to a Gaussian), then bilinear upscaling fused with the blend. The
//! blur is weighted by "not person", so the person's colours do not bleed
//! into the blurred background as a halo.

use std::sync::Arc;

use crate::frame::{BackgroundImage, I420Mut};
use crate::resample::{Upsampler, blend_row_f32, box_mean, downscale};

#[derive(Debug, Default)]
struct LowPlane {
    /// Downscale factor (4 or 8).
    factor: usize,
    w: usize,
    h: usize,
    /// Background-weighted values and weights, then blurred.
    value: Vec<f32>,
    weight: Vec<f32>,
    plain: Vec<f32>,
    tmp: Vec<f32>,
    tmp2: Vec<f32>,
    acc: Vec<u16>,
    up: Upsampler,
}

impl LowPlane {
    fn new(w: usize, h: usize, factor: usize) -> Self {
        let (lw, lh) = (w.div_ceil(factor), h.div_ceil(factor));
        let n = lw * lh;
        let s = 1.0 / factor as f32;
        Self {
            factor,
            w: lw,
            h: lh,
            value: vec![0.0; n],
            weight: vec![0.0; n],
            plain: vec![0.0; n],
            tmp: vec![0.0; n + lw],
            tmp2: vec![0.0; n],
            acc: vec![0; w],
            up: Upsampler::new(w, h, lw, lh, s, 0.0, s, 0.0),
        }
    }
}

#[derive(Debug, Default)]
struct Replacement {
    image: Option<Arc<BackgroundImage>>,
    size: (usize, usize),
    planes: [Vec<u8>; 3],
}

#[derive(Debug, Default)]
pub struct BackgroundCompositor {
    planes: [LowPlane; 3],
    replacement: Replacement,
}

/// Working resolution (downscale factor) and box radius there for a blur
/// strength in [0, 1]. Three box passes of radius r at factor f give a
/// near-Gaussian of sigma ~ f * r at full resolution; strong blurs lose
/// nothing at 1/8 resolution and cost a quarter of the 1/4 one.
fn blur_plan(strength: f32) -> (usize, usize) {
    let r4 = 1 + (strength.clamp(0.0, 1.0) * 7.0).round() as usize;
    if r4 >= 4 {
        (8, r4.div_ceil(2))
    } else {
        (4, r4)
    }
}

impl BackgroundCompositor {
    pub fn new() -> Self {
        Self::default()
    }

    fn configure_blur(&mut self, w: usize, h: usize, factor: usize) {
        if self.planes[0].up.width() == w
            && self.planes[0].up.height() == h
            && self.planes[0].factor == factor
        {
            return;
        }
        self.planes = [
            LowPlane::new(w, h, factor),
            LowPlane::new(w / 2, h / 2, factor),
            LowPlane::new(w / 2, h / 2, factor),
        ];
    }

    /// Blurs the background: pixels where `alpha_y`/`alpha_uv` is 0 become
    /// the blurred frame, 255 stay unchanged, values between mix.
    pub fn blur(
        &mut self,
        frame: &mut I420Mut<'_>,
        alpha_y: &[u8],
        alpha_uv: &[u8],
        strength: f32,
    ) {
        let (w, h) = (frame.width(), frame.height());
        let (factor, r) = blur_plan(strength);
        self.configure_blur(w, h, factor);
        for plane in 0..3 {
            let (pw, ph) = if plane == 0 { (w, h) } else { (w / 2, h / 2) };
            let alpha = if plane == 0 {
                &alpha_y[..w * h]
            } else {
                &alpha_uv[..pw * ph]
            };
            let lp = &mut self.planes[plane];
            let f: &I420Mut<'_> = frame;
            downscale(
                |y| f.plane_row(plane, y),
                pw,
                ph,
                factor,
                &mut lp.plain,
                &mut lp.acc,
                false,
            );
            // Weight = "not person", 0..255.
            let rows = |y: usize| &alpha[y * pw..(y + 1) * pw];
            downscale(rows, pw, ph, factor, &mut lp.weight, &mut lp.acc, true);
            for ((v, &p), &wt) in lp.value.iter_mut().zip(&lp.plain).zip(&lp.weight) {
                *v = p * wt;
            }
            let (lw, lh) = (lp.w, lp.h);
            for buf in [&mut lp.value, &mut lp.weight] {
                for _ in 0..3 {
                    box_mean(buf, &mut lp.tmp2, &mut lp.tmp, lw, lh, r);
                    std::mem::swap(buf, &mut lp.tmp2);
                }
            }
            // Weighted mean of the background, falling back smoothly to the
            // unblurred pixel where (nearly) everything around is person:
            // there alpha is ~255 and the background is not visible anyway.
            const K: f32 = 0.5;
            for ((v, &wt), &p) in lp.value.iter_mut().zip(&lp.weight).zip(&lp.plain) {
                *v = (*v + K * p) / (wt + K);
            }
            lp.up.invalidate();
            for y in 0..ph {
                let (bg, _) = lp.up.row(y, &[&lp.value]);
                let a = &alpha[y * pw..(y + 1) * pw];
                blend_row_f32(frame.plane_row_mut(plane, y), bg, a);
            }
        }
    }

    /// Replaces the background with `image`, scaled (cover-fit, centred) to
    /// the frame once and cached until the image or frame size changes.
    pub fn replace(
        &mut self,
        frame: &mut I420Mut<'_>,
        alpha_y: &[u8],
        alpha_uv: &[u8],
        image: &Arc<BackgroundImage>,
    ) {
        let (w, h) = (frame.width(), frame.height());
        let cached = self.replacement.size == (w, h)
            && self
                .replacement
                .image
                .as_ref()
                .is_some_and(|i| Arc::ptr_eq(i, image));
        if !cached {
            self.replacement = Replacement {
                image: Some(Arc::clone(image)),
                size: (w, h),
                planes: scale_cover(image, w, h),
            };
        }
        for plane in 0..3 {
            let (pw, ph) = if plane == 0 { (w, h) } else { (w / 2, h / 2) };
            let alpha = if plane == 0 {
                &alpha_y[..w * h]
            } else {
                &alpha_uv[..pw * ph]
            };
            let bg = &self.replacement.planes[plane];
            for y in 0..ph {
                blend_row_u8(
                    frame.plane_row_mut(plane, y),
                    &bg[y * pw..(y + 1) * pw],
                    &alpha[y * pw..(y + 1) * pw],
                );
            }
        }
    }
}

#[inline(always)]
fn blend_row_u8_impl(fg: &mut [u8], bg: &[u8], alpha: &[u8]) {
    for ((p, &b), &a) in fg.iter_mut().zip(bg).zip(alpha) {
        let (f, b, a) = (*p as u32, b as u32, a as u32);
        // (f * a + b * (255 - a)) / 255, rounded, without a division.
        let t = f * a + b * (255 - a) + 128;
        *p = ((t + (t >> 8)) >> 8) as u8;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn blend_row_u8_avx2(fg: &mut [u8], bg: &[u8], alpha: &[u8]) {
    blend_row_u8_impl(fg, bg, alpha)
}

fn blend_row_u8(fg: &mut [u8], bg: &[u8], alpha: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    if crate::resample::has_avx2() {
        // SAFETY: AVX2 and FMA were detected at run time.
        unsafe { blend_row_u8_avx2(fg, bg, alpha) };
        return;
    }
    blend_row_u8_impl(fg, bg, alpha)
}

/// Scales `image` to cover `w x h` (aspect kept, centred crop), bilinear,
/// into I420 planes. Runs once per image and frame size.
fn scale_cover(image: &BackgroundImage, w: usize, h: usize) -> [Vec<u8>; 3] {
    let (iw, ih) = (image.width(), image.height());
    let scale = (iw as f32 / w as f32).min(ih as f32 / h as f32);
    let (ox, oy) = (
        (iw as f32 - w as f32 * scale) / 2.0,
        (ih as f32 - h as f32 * scale) / 2.0,
    );
    let sample = |fx: f32, fy: f32, ch: usize| -> u8 {
        let sx = (fx * scale + ox - 0.5).clamp(0.0, (iw - 1) as f32);
        let sy = (fy * scale + oy - 0.5).clamp(0.0, (ih - 1) as f32);
        let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(iw - 1), (y0 + 1).min(ih - 1));
        let (tx, ty) = (sx - x0 as f32, sy - y0 as f32);
        let get = |x, y| {
            let (yy, u, v) = image.yuv_at(x, y);
            [yy, u, v][ch] as f32
        };
        let top = get(x0, y0) + tx * (get(x1, y0) - get(x0, y0));
        let bot = get(x0, y1) + tx * (get(x1, y1) - get(x0, y1));
        (top + ty * (bot - top) + 0.5).clamp(0.0, 255.0) as u8
    };
    let mut y_plane = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            y_plane[y * w + x] = sample(x as f32 + 0.5, y as f32 + 0.5, 0);
        }
    }
    let (cw, chh) = (w / 2, h / 2);
    let mut u_plane = vec![0u8; cw * chh];
    let mut v_plane = vec![0u8; cw * chh];
    for y in 0..chh {
        for x in 0..cw {
            let (fx, fy) = (2.0 * x as f32 + 1.0, 2.0 * y as f32 + 1.0);
            u_plane[y * cw + x] = sample(fx, fy, 1);
            v_plane[y * cw + x] = sample(fx, fy, 2);
        }
    }
    [y_plane, u_plane, v_plane]
}
