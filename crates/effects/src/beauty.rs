//! [`BeautyFilter`]: skin smoothing and gentle brightening on the luma.
//!
//! A self-guided filter (edge-preserving: flat areas are averaged, strong
//! edges kept) is fitted at quarter resolution, restricted to skin by a
//! smoothed YCbCr skin weight, and the brightening curve is linearised
//! around the local mean, so the whole effect folds into one affine
//! `Y' = A * Y + B` per low-resolution cell. The only full-resolution work
//! is one pass that upsamples A, B and applies them.

use crate::frame::I420Mut;
use crate::resample::{Upsampler, box_mean, downscale};

/// Guided filter window radius at quarter resolution (about 9 px at full).
const RADIUS: usize = 2;
/// Strength of the brightening curve `y + k * y * (255 - y) / 255`.
const BRIGHTEN: f32 = 0.12;

#[derive(Debug, Default)]
pub struct BeautyFilter {
    size: (usize, usize),
    low: (usize, usize),
    i: Vec<f32>,
    ii: Vec<f32>,
    u: Vec<f32>,
    v: Vec<f32>,
    mean_i: Vec<f32>,
    mean_ii: Vec<f32>,
    skin: Vec<f32>,
    a: Vec<f32>,
    b: Vec<f32>,
    tmp: Vec<f32>,
    tmp2: Vec<f32>,
    acc: Vec<u16>,
    up: Upsampler,
}

/// Soft skin likelihood from BT.601 chroma (the classic Cb 77..127,
/// Cr 133..173 box, with 8-level soft edges) and not-too-dark luma.
fn skin_weight(y: f32, u: f32, v: f32) -> f32 {
    let cb = (u - 77.0).min(127.0 - u);
    let cr = (v - 133.0).min(173.0 - v);
    let luma = y - 40.0;
    (cb.min(cr).min(luma) / 8.0).clamp(0.0, 1.0)
}

impl BeautyFilter {
    pub fn new() -> Self {
        Self::default()
    }

    fn configure(&mut self, w: usize, h: usize) {
        if self.size == (w, h) {
            return;
        }
        let (lw, lh) = (w.div_ceil(4), h.div_ceil(4));
        let n = lw * lh;
        for buf in [
            &mut self.i,
            &mut self.ii,
            &mut self.u,
            &mut self.v,
            &mut self.mean_i,
            &mut self.mean_ii,
            &mut self.skin,
            &mut self.a,
            &mut self.b,
            &mut self.tmp,
            &mut self.tmp2,
        ] {
            *buf = vec![0.0; n];
        }
        // box_mean's scratch holds one extra row.
        self.tmp = vec![0.0; n + lw];
        self.acc = vec![0; w];
        self.up = Upsampler::new(w, h, lw, lh, 0.25, 0.0, 0.25, 0.0);
        self.size = (w, h);
        self.low = (lw, lh);
    }

    /// Smooths skin and brightens it; `strength` in [0, 1] (0 = no-op).
    pub fn apply(&mut self, frame: &mut I420Mut<'_>, strength: f32) {
        let strength = strength.clamp(0.0, 1.0);
        if strength <= 0.0 {
            return;
        }
        let (w, h) = (frame.width(), frame.height());
        self.configure(w, h);
        let (lw, lh) = self.low;
        {
            let f: &I420Mut<'_> = frame;
            downscale(|y| f.y_row(y), w, h, 4, &mut self.i, &mut self.acc, false);
            // Chroma is half size, so a 2x2 average lands on the same grid;
            // reuse the 4x helper on a virtual half-resolution plane.
            chroma_to_grid(|y| f.u_row(y), w / 2, h / 2, lw, lh, &mut self.u);
            chroma_to_grid(|y| f.v_row(y), w / 2, h / 2, lw, lh, &mut self.v);
        }
        for (ii, &i) in self.ii.iter_mut().zip(&self.i) {
            *ii = i * i;
        }
        box_mean(&self.i, &mut self.mean_i, &mut self.tmp, lw, lh, RADIUS);
        box_mean(&self.ii, &mut self.mean_ii, &mut self.tmp, lw, lh, RADIUS);
        skin_weights(&mut self.skin, &self.i, &self.u, &self.v);
        box_mean(&self.skin, &mut self.tmp2, &mut self.tmp, lw, lh, RADIUS);
        std::mem::swap(&mut self.skin, &mut self.tmp2);

        // Self-guided filter: a = var / (var + eps), b = mean * (1 - a).
        // eps sets which contrasts count as "texture to smooth" (in 8-bit
        // luma units: ~12 at full strength) rather than edges to keep.
        let eps = (4.0 + 10.0 * strength).powi(2);
        fit(&self.mean_i, &self.mean_ii, &mut self.a, &mut self.b, eps);
        box_mean(&self.a, &mut self.tmp2, &mut self.tmp, lw, lh, RADIUS);
        std::mem::swap(&mut self.a, &mut self.tmp2);
        box_mean(&self.b, &mut self.tmp2, &mut self.tmp, lw, lh, RADIUS);
        std::mem::swap(&mut self.b, &mut self.tmp2);

        combine(&mut self.a, &mut self.b, &self.skin, &self.mean_i, strength);

        self.up.invalidate();
        for y in 0..h {
            self.up
                .affine_row(y, &self.a, &self.b, None, frame.y_row_mut(y));
        }
    }
}

/// 2x2 box average of a half-resolution chroma plane onto the quarter grid.
fn chroma_to_grid<'a>(
    rows: impl Fn(usize) -> &'a [u8],
    cw: usize,
    ch: usize,
    lw: usize,
    lh: usize,
    dst: &mut [f32],
) {
    for ly in 0..lh {
        let y0 = (2 * ly).min(ch - 1);
        let y1 = (2 * ly + 1).min(ch - 1);
        let (r0, r1) = (rows(y0), rows(y1));
        for lx in 0..lw {
            let x0 = (2 * lx).min(cw - 1);
            let x1 = (2 * lx + 1).min(cw - 1);
            let s = r0[x0] as u32 + r0[x1] as u32 + r1[x0] as u32 + r1[x1] as u32;
            dst[ly * lw + lx] = s as f32 * 0.25;
        }
    }
}

#[inline(always)]
fn fit_impl(mean_i: &[f32], mean_ii: &[f32], a: &mut [f32], b: &mut [f32], eps: f32) {
    for (((a, b), &m), &mii) in a.iter_mut().zip(b.iter_mut()).zip(mean_i).zip(mean_ii) {
        let var = (mii - m * m).max(0.0);
        *a = var / (var + eps);
        *b = m * (1.0 - *a);
    }
}

/// Folds skin weight, strength and the brightening curve into (a, b).
#[inline(always)]
fn combine_impl(a: &mut [f32], b: &mut [f32], skin: &[f32], mean_i: &[f32], strength: f32) {
    for (((a, b), &s), &m) in a.iter_mut().zip(b.iter_mut()).zip(skin).zip(mean_i) {
        let wgt = strength * s;
        // Smoothing blended in by the skin weight...
        let a1 = 1.0 + wgt * (*a - 1.0);
        let b1 = wgt * *b;
        // ...then the brightening curve, linearised around the local mean
        // m: l(y) ~ l(m) + l'(m) (y - m), l(y) = y (255 - y) / 255.
        let k2 = BRIGHTEN * wgt;
        let c = 1.0 + k2 * (255.0 - 2.0 * m) * (1.0 / 255.0);
        let d = k2 * m * m * (1.0 / 255.0);
        *a = c * a1;
        *b = c * b1 + d;
    }
}

#[inline(always)]
fn skin_weights_impl(skin: &mut [f32], y: &[f32], u: &[f32], v: &[f32]) {
    for (((s, &y), &u), &v) in skin.iter_mut().zip(y).zip(u).zip(v) {
        *s = skin_weight(y, u, v);
    }
}

crate::resample::avx2_or_portable!(fit, fit_impl, (mean_i: &[f32], mean_ii: &[f32], a: &mut [f32], b: &mut [f32], eps: f32));
crate::resample::avx2_or_portable!(combine, combine_impl, (a: &mut [f32], b: &mut [f32], skin: &[f32], mean_i: &[f32], strength: f32));
crate::resample::avx2_or_portable!(skin_weights, skin_weights_impl, (skin: &mut [f32], y: &[f32], u: &[f32], v: &[f32]));
