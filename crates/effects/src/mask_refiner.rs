//! [`MaskRefiner`]: model-resolution person probability -> frame-resolution
//! alpha. Temporal smoothing (an exponential moving average whose weight
//! follows the frame interval) removes flicker; a guided filter against
//! the luma, computed at model resolution and applied at frame resolution
//! (He & Sun's fast guided filter), snaps the coarse mask to real edges.

use crate::frame::I420Mut;
use crate::resample::{Upsampler, box_mean};
use crate::segmentation::Letterbox;

/// Tuning of the mask refinement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefinerSettings {
    /// Time constant of the temporal smoothing in milliseconds; 0 = none.
    pub smoothing_ms: f32,
    /// Guided filter window radius, in model pixels.
    pub radius: usize,
    /// Guided filter regulariser (luma in [0, 1]); larger = softer edges.
    pub epsilon: f32,
}

impl Default for RefinerSettings {
    fn default() -> Self {
        Self {
            smoothing_ms: 40.0,
            radius: 2,
            epsilon: 2e-3,
        }
    }
}

#[derive(Debug, Default)]
pub struct MaskRefiner {
    settings: RefinerSettings,
    grid: (usize, usize),
    frame: (usize, usize),
    letterbox: Option<Letterbox>,
    smoothed: Vec<f32>,
    last_timestamp_us: Option<u64>,
    // Guided filter planes at model resolution.
    ip: Vec<f32>,
    ii: Vec<f32>,
    mean_i: Vec<f32>,
    mean_p: Vec<f32>,
    mean_ip: Vec<f32>,
    mean_ii: Vec<f32>,
    tmp: Vec<f32>,
    a: Vec<f32>,
    b: Vec<f32>,
    upsampler: Upsampler,
    alpha_y: Vec<u8>,
    alpha_uv: Vec<u8>,
}

impl MaskRefiner {
    pub fn new(settings: RefinerSettings) -> Self {
        Self {
            settings,
            ..Self::default()
        }
    }

    pub fn set_settings(&mut self, settings: RefinerSettings) {
        self.settings = settings;
    }

    /// Drops the temporal history (e.g. after a scene cut).
    pub fn reset(&mut self) {
        self.last_timestamp_us = None;
    }

    fn configure(&mut self, grid: (usize, usize), frame: (usize, usize), lb: Letterbox) {
        if self.grid == grid && self.frame == frame && self.letterbox == Some(lb) {
            return;
        }
        let n = grid.0 * grid.1;
        for v in [
            &mut self.smoothed,
            &mut self.ip,
            &mut self.ii,
            &mut self.mean_i,
            &mut self.mean_p,
            &mut self.mean_ip,
            &mut self.mean_ii,
            &mut self.tmp,
            &mut self.a,
            &mut self.b,
        ] {
            *v = vec![0.0; n];
        }
        // box_mean's scratch holds one extra row.
        self.tmp = vec![0.0; n + grid.0];
        let inv = lb.scale;
        self.upsampler = Upsampler::new(
            frame.0,
            frame.1,
            grid.0,
            grid.1,
            inv,
            lb.offset_x,
            inv,
            lb.offset_y,
        );
        self.alpha_y = vec![0; frame.0 * frame.1];
        self.alpha_uv = vec![0; (frame.0 / 2) * (frame.1 / 2)];
        self.grid = grid;
        self.frame = frame;
        self.letterbox = Some(lb);
        self.last_timestamp_us = None;
    }

    /// Refines `mask` (model grid `grid`, guide = model-input luma) for
    /// `frame`, which must be the frame the mask was computed from.
    pub fn refine(
        &mut self,
        mask: &[f32],
        guide: &[f32],
        grid: (usize, usize),
        letterbox: Letterbox,
        frame: &I420Mut<'_>,
        timestamp_us: u64,
    ) {
        let (fw, fh) = (frame.width(), frame.height());
        self.configure(grid, (fw, fh), letterbox);
        let n = grid.0 * grid.1;
        let (mask, guide) = (&mask[..n], &guide[..n]);

        let keep = match self.last_timestamp_us {
            Some(prev) if self.settings.smoothing_ms > 0.0 => {
                let dt_ms = timestamp_us.saturating_sub(prev) as f32 / 1000.0;
                // Unknown or repeated timestamps: assume 30 fps.
                let dt_ms = if dt_ms > 0.0 { dt_ms.min(1000.0) } else { 33.3 };
                (-dt_ms / self.settings.smoothing_ms).exp()
            }
            _ => 0.0,
        };
        self.last_timestamp_us = Some(timestamp_us);
        ema(&mut self.smoothed, mask, keep);

        // Guided filter: q = a * I + b with a, b fitted per window.
        let (w, h, r) = (grid.0, grid.1, self.settings.radius);
        products(&mut self.ip, &mut self.ii, guide, &self.smoothed);
        box_mean(guide, &mut self.mean_i, &mut self.tmp, w, h, r);
        box_mean(&self.smoothed, &mut self.mean_p, &mut self.tmp, w, h, r);
        box_mean(&self.ip, &mut self.mean_ip, &mut self.tmp, w, h, r);
        box_mean(&self.ii, &mut self.mean_ii, &mut self.tmp, w, h, r);
        // Full resolution will compute alpha = 255 * (a * Y / 255 + b) =
        // a * Y + 255 b, so b is fitted pre-scaled by 255.
        guided_fit(
            (&self.mean_i, &self.mean_p, &self.mean_ip, &self.mean_ii),
            &mut self.ip,
            &mut self.ii,
            self.settings.epsilon,
        );
        box_mean(&self.ip, &mut self.a, &mut self.tmp, w, h, r);
        box_mean(&self.ii, &mut self.b, &mut self.tmp, w, h, r);

        self.upsampler.invalidate();
        for y in 0..fh {
            let out = &mut self.alpha_y[y * fw..(y + 1) * fw];
            self.upsampler
                .affine_row(y, &self.a, &self.b, Some(frame.y_row(y)), out);
        }
        let cw = fw / 2;
        for cy in 0..fh / 2 {
            let top = &self.alpha_y[2 * cy * fw..(2 * cy + 1) * fw];
            let bot = &self.alpha_y[(2 * cy + 1) * fw..(2 * cy + 2) * fw];
            average_2x2(top, bot, &mut self.alpha_uv[cy * cw..(cy + 1) * cw]);
        }
    }

    /// Person alpha at frame resolution (255 = person), from the last
    /// [`Self::refine`].
    pub fn alpha_y(&self) -> &[u8] {
        &self.alpha_y
    }

    /// Person alpha at chroma resolution.
    pub fn alpha_uv(&self) -> &[u8] {
        &self.alpha_uv
    }

    pub fn frame_size(&self) -> (usize, usize) {
        self.frame
    }
}

#[inline(always)]
fn average_2x2_impl(top: &[u8], bot: &[u8], out: &mut [u8]) {
    for ((o, t), b) in out
        .iter_mut()
        .zip(top.chunks_exact(2))
        .zip(bot.chunks_exact(2))
    {
        let s = t[0] as u16 + t[1] as u16 + b[0] as u16 + b[1] as u16;
        *o = ((s + 2) >> 2) as u8;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn average_2x2_avx2(top: &[u8], bot: &[u8], out: &mut [u8]) {
    average_2x2_impl(top, bot, out)
}

/// Rounded mean of each 2x2 block of two rows.
fn average_2x2(top: &[u8], bot: &[u8], out: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if crate::resample::has_avx2() {
        // SAFETY: AVX2 and FMA were detected at run time.
        unsafe { average_2x2_avx2(top, bot, out) };
        return;
    }
    average_2x2_impl(top, bot, out)
}

type Means<'a> = (&'a [f32], &'a [f32], &'a [f32], &'a [f32]);

/// Per-window guided filter fit: a = cov(I, p) / (var(I) + eps),
/// b = 255 * (mean(p) - a * mean(I)).
#[inline(always)]
fn guided_fit_impl(means: Means<'_>, a: &mut [f32], b: &mut [f32], eps: f32) {
    let (mi, mp, mip, mii) = means;
    let it = mi.iter().zip(mp).zip(mip).zip(mii);
    for ((a, b), (((&mi, &mp), &mip), &mii)) in a.iter_mut().zip(b.iter_mut()).zip(it) {
        let var = mii - mi * mi;
        let cov = mip - mi * mp;
        *a = cov / (var + eps);
        *b = 255.0 * (mp - *a * mi);
    }
}

crate::resample::avx2_or_portable!(guided_fit, guided_fit_impl, (means: Means<'_>, a: &mut [f32], b: &mut [f32], eps: f32));

#[inline(always)]
fn ema_impl(smoothed: &mut [f32], mask: &[f32], keep: f32) {
    for (s, &m) in smoothed.iter_mut().zip(mask) {
        *s = m + keep * (*s - m);
    }
}

#[inline(always)]
fn products_impl(ip: &mut [f32], ii: &mut [f32], guide: &[f32], p: &[f32]) {
    for (((ip, ii), &i), &p) in ip.iter_mut().zip(ii.iter_mut()).zip(guide).zip(p) {
        *ip = i * p;
        *ii = i * i;
    }
}

crate::resample::avx2_or_portable!(ema, ema_impl, (smoothed: &mut [f32], mask: &[f32], keep: f32));
crate::resample::avx2_or_portable!(products, products_impl, (ip: &mut [f32], ii: &mut [f32], guide: &[f32], p: &[f32]));
