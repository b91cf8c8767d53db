//! Resampling helpers shared by the effects: bilinear axis tables, O(1)
//! box means, 4x box downscaling and the row-by-row bilinear upsampler
//! that the guided filters use to bring low-resolution coefficients to
//! full resolution.

/// Defines `$name(args)` running `$imp(args)` compiled for AVX2+FMA when
/// the CPU has them (so LLVM vectorises it with 256-bit registers), else
/// the portable build of the same code.
macro_rules! avx2_or_portable {
    ($name:ident, $imp:ident, ($($arg:ident : $ty:ty),* $(,)?)) => {
        fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn fast($($arg: $ty),*) {
                    $imp($($arg),*)
                }
                if crate::resample::has_avx2() {
                    // SAFETY: AVX2 and FMA were detected at run time.
                    unsafe { fast($($arg),*) };
                    return;
                }
            }
            $imp($($arg),*)
        }
    };
}
pub(crate) use avx2_or_portable;

/// Bilinear source positions for each destination index along one axis.
#[derive(Debug, Default, Clone)]
pub(crate) struct AxisMap {
    pub i0: Vec<u32>,
    pub i1: Vec<u32>,
    pub f: Vec<f32>,
}

impl AxisMap {
    /// Destination `d` samples the source at `(d + 0.5) * scale - 0.5 +
    /// offset`, clamped to the source.
    pub fn new(dst_len: usize, src_len: usize, scale: f32, offset: f32) -> Self {
        let mut m = Self {
            i0: Vec::with_capacity(dst_len),
            i1: Vec::with_capacity(dst_len),
            f: Vec::with_capacity(dst_len),
        };
        let last = src_len.saturating_sub(1) as f32;
        for d in 0..dst_len {
            let s = ((d as f32 + 0.5) * scale - 0.5 + offset).clamp(0.0, last);
            let i0 = s.floor();
            m.i0.push(i0 as u32);
            m.i1.push((i0 as usize + 1).min(src_len.saturating_sub(1)) as u32);
            m.f.push(s - i0);
        }
        m
    }
}

/// Mean over a `(2r+1)^2` window clipped to the image (so borders are
/// normalised by the real count). `tmp` needs `w * h + w`.
pub(crate) fn box_mean(
    src: &[f32],
    dst: &mut [f32],
    tmp: &mut [f32],
    w: usize,
    h: usize,
    r: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 and FMA were detected at run time.
        unsafe { box_mean_avx2(src, dst, tmp, w, h, r) };
        return;
    }
    box_mean_impl(src, dst, tmp, w, h, r, false)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn box_mean_avx2(
    src: &[f32],
    dst: &mut [f32],
    tmp: &mut [f32],
    w: usize,
    h: usize,
    r: usize,
) {
    box_mean_impl(src, dst, tmp, w, h, r, true)
}

#[inline(always)]
fn box_mean_impl(
    src: &[f32],
    dst: &mut [f32],
    tmp: &mut [f32],
    w: usize,
    h: usize,
    r: usize,
    avx2: bool,
) {
    if w == 0 || h == 0 {
        return;
    }
    let (tmp, col) = tmp[..w * h + w].split_at_mut(w * h);
    let (src, dst) = (&src[..w * h], &mut dst[..w * h]);
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        for (s, t) in src.chunks_exact(w).zip(tmp.chunks_exact_mut(w)) {
            // SAFETY: only the AVX2 entry point passes avx2 = true, after
            // runtime detection.
            unsafe { simd::box_row(s, t, col, r) };
        }
        vertical_box(tmp, dst, col, w, h, r);
        return;
    }
    let _ = avx2;
    // Horizontal running sums. Each row's sum is a serial chain of adds,
    // so four rows are interleaved to keep the adder busy; the interior
    // (full window) runs without branches or divisions.
    let count = |x: usize| ((x + r).min(w - 1) + 1 - x.saturating_sub(r)) as f32;
    let (lo_end, hi_start) = ((r + 1).min(w), w.saturating_sub(r).max((r + 1).min(w)));
    let inv_full = 1.0 / (2 * r + 1) as f32;
    let mut y = 0;
    while y < h {
        let k_rows = (h - y).min(4);
        let mut acc = [0.0f32; 4];
        for k in 0..k_rows {
            let row = &src[(y + k) * w..(y + k + 1) * w];
            acc[k] = row[..r.min(w)].iter().sum();
            // Left border: the window grows.
            for x in 0..lo_end {
                if x + r < w {
                    acc[k] += row[x + r];
                }
                tmp[(y + k) * w + x] = acc[k] / count(x);
            }
        }
        if k_rows == 4 {
            let rows: [&[f32]; 4] = std::array::from_fn(|k| &src[(y + k) * w..(y + k + 1) * w]);
            let (t0, rest) = tmp[y * w..(y + 4) * w].split_at_mut(w);
            let (t1, rest) = rest.split_at_mut(w);
            let (t2, t3) = rest.split_at_mut(w);
            // Locals rather than the array keep the sums in registers.
            let [mut a0, mut a1, mut a2, mut a3] = acc;
            for x in lo_end..hi_start {
                a0 += rows[0][x + r] - rows[0][x - r - 1];
                a1 += rows[1][x + r] - rows[1][x - r - 1];
                a2 += rows[2][x + r] - rows[2][x - r - 1];
                a3 += rows[3][x + r] - rows[3][x - r - 1];
                t0[x] = a0 * inv_full;
                t1[x] = a1 * inv_full;
                t2[x] = a2 * inv_full;
                t3[x] = a3 * inv_full;
            }
            acc = [a0, a1, a2, a3];
        } else {
            for k in 0..k_rows {
                let row = &src[(y + k) * w..(y + k + 1) * w];
                for x in lo_end..hi_start {
                    acc[k] += row[x + r] - row[x - r - 1];
                    tmp[(y + k) * w + x] = acc[k] * inv_full;
                }
            }
        }
        for k in 0..k_rows {
            let row = &src[(y + k) * w..(y + k + 1) * w];
            // Right border: the window shrinks.
            for x in hi_start..w {
                if x + r < w {
                    acc[k] += row[x + r];
                }
                if x > r {
                    acc[k] -= row[x - r - 1];
                }
                tmp[(y + k) * w + x] = acc[k] / count(x);
            }
        }
        y += k_rows;
    }
    vertical_box(tmp, dst, col, w, h, r);
}

/// Vertical box mean of `tmp` into `dst`: a running row of column sums
/// (`col`) slides down (one row in, one out), O(1) per pixel and vectorised
/// across x; each output row is the sums times that row's 1 / count.
#[inline(always)]
fn vertical_box(tmp: &[f32], dst: &mut [f32], col: &mut [f32], w: usize, h: usize, r: usize) {
    let col = &mut col[..w];
    col.copy_from_slice(&tmp[..w]);
    for yy in 1..=r.min(h - 1) {
        for (c, &t) in col.iter_mut().zip(&tmp[yy * w..(yy + 1) * w]) {
            *c += t;
        }
    }
    for y in 0..h {
        if y > 0 {
            let entering = (y + r < h).then(|| &tmp[(y + r) * w..(y + r + 1) * w]);
            let leaving = (y > r).then(|| &tmp[(y - r - 1) * w..(y - r) * w]);
            match (entering, leaving) {
                (Some(e), Some(l)) => {
                    for ((c, &e), &l) in col.iter_mut().zip(e).zip(l) {
                        *c += e - l;
                    }
                }
                (Some(e), None) => col.iter_mut().zip(e).for_each(|(c, &e)| *c += e),
                (None, Some(l)) => col.iter_mut().zip(l).for_each(|(c, &l)| *c -= l),
                (None, None) => {}
            }
        }
        let count = (y + r).min(h - 1) + 1 - y.saturating_sub(r);
        let inv = 1.0 / count as f32;
        for (o, &c) in dst[y * w..(y + 1) * w].iter_mut().zip(col.iter()) {
            *o = c * inv;
        }
    }
}

/// Averages `f x f` blocks (f = 4 or 8) of a u8 plane into `dst`
/// (`ceil(w/f) x ceil(h/f)`), partial blocks at the right/bottom edge
/// averaging what they cover. With `invert`, averages `255 - p` instead.
#[allow(clippy::too_many_arguments)]
pub(crate) fn downscale<'a>(
    rows: impl Fn(usize) -> &'a [u8],
    w: usize,
    h: usize,
    f: usize,
    dst: &mut [f32],
    acc: &mut [u16],
    invert: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 and FMA were detected at run time.
        unsafe { downscale_avx2(rows, w, h, f, dst, acc, invert) };
        return;
    }
    downscale_impl(rows, w, h, f, dst, acc, invert)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn downscale_avx2<'a>(
    rows: impl Fn(usize) -> &'a [u8],
    w: usize,
    h: usize,
    f: usize,
    dst: &mut [f32],
    acc: &mut [u16],
    invert: bool,
) {
    downscale_impl(rows, w, h, f, dst, acc, invert)
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn downscale_impl<'a>(
    rows: impl Fn(usize) -> &'a [u8],
    w: usize,
    h: usize,
    f: usize,
    dst: &mut [f32],
    acc: &mut [u16],
    invert: bool,
) {
    // u16 sums hold up to 257 rows of 255.
    let f = f.clamp(1, 16);
    let (lw, lh) = (w.div_ceil(f), h.div_ceil(f));
    let acc = &mut acc[..w];
    for ly in 0..lh {
        acc.fill(0);
        let y0 = ly * f;
        let y1 = (y0 + f).min(h);
        for y in y0..y1 {
            for (a, &p) in acc.iter_mut().zip(&rows(y)[..w]) {
                *a += p as u16;
            }
        }
        let rows_n = (y1 - y0) as f32;
        let out = &mut dst[ly * lw..(ly + 1) * lw];
        let full = w / f;
        let scale = 1.0 / (rows_n * f as f32);
        if f == 4 {
            for (o, c) in out[..full].iter_mut().zip(acc.chunks_exact(4)) {
                *o = (c[0] + c[1] + c[2] + c[3]) as f32 * scale;
            }
        } else {
            for (o, c) in out[..full].iter_mut().zip(acc.chunks_exact(f)) {
                *o = c.iter().map(|&v| v as u32).sum::<u32>() as f32 * scale;
            }
        }
        if full < lw {
            let rest = &acc[full * f..];
            let s: u32 = rest.iter().map(|&v| v as u32).sum();
            out[full] = s as f32 / (rows_n * rest.len() as f32);
        }
        if invert {
            out.iter_mut().for_each(|o| *o = 255.0 - *o);
        }
    }
}

/// Brings one or two low-resolution f32 grids to full resolution one
/// output row at a time. Each low-resolution row is expanded horizontally
/// once and kept while output rows still need it, so the per-pixel work is
/// a vertical lerp over contiguous rows.
#[derive(Debug, Default)]
pub(crate) struct Upsampler {
    xs: AxisMap,
    ys: AxisMap,
    low_w: usize,
    /// Expanded rows: `cached[slot]` holds low row index and, for each
    /// grid, the expanded row.
    cached: [usize; 2],
    rows: [[Vec<f32>; 2]; 2],
    out: [Vec<f32>; 2],
    /// Blocks of 8 output pixels whose sources lie within 8 consecutive
    /// source pixels: one load and two in-register permutes instead of 16
    /// gathered loads. `bases[b]` is block b's first source pixel, `perm0`
    /// / `perm1` the per-pixel offsets of the two bilinear taps from it.
    bases: Vec<u32>,
    perm0: Vec<i32>,
    perm1: Vec<i32>,
}

impl Upsampler {
    /// Full-resolution `w x h` from a `low_w x low_h` grid, where full
    /// pixel `x` samples low `(x + 0.5) * sx - 0.5 + ox` (same for y).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        w: usize,
        h: usize,
        low_w: usize,
        low_h: usize,
        sx: f32,
        ox: f32,
        sy: f32,
        oy: f32,
    ) -> Self {
        let xs = AxisMap::new(w, low_w, sx, ox);
        let (bases, perm0, perm1) = permute_plan(&xs, low_w);
        Self {
            xs,
            ys: AxisMap::new(h, low_h, sy, oy),
            low_w,
            cached: [usize::MAX; 2],
            rows: [[vec![0.0; w], vec![0.0; w]], [vec![0.0; w], vec![0.0; w]]],
            out: [vec![0.0; w], vec![0.0; w]],
            bases,
            perm0,
            perm1,
        }
    }

    pub fn width(&self) -> usize {
        self.xs.f.len()
    }

    pub fn height(&self) -> usize {
        self.ys.f.len()
    }

    /// Forget cached rows (the low-resolution grids changed).
    pub fn invalidate(&mut self) {
        self.cached = [usize::MAX; 2];
    }

    fn slot_for(&mut self, low_row: usize, keep: usize, grids: &[&[f32]]) -> usize {
        if let Some(s) = self.cached.iter().position(|&c| c == low_row) {
            return s;
        }
        let s = if self.cached[0] == keep { 1 } else { 0 };
        self.cached[s] = low_row;
        for (g, grid) in grids.iter().enumerate() {
            let src = &grid[low_row * self.low_w..(low_row + 1) * self.low_w];
            let dst = &mut self.rows[s][g];
            #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
            let mut done = 0;
            #[cfg(target_arch = "x86_64")]
            if has_avx2() {
                // SAFETY: AVX2 and FMA were detected at run time; the plan
                // was checked against the source and output lengths.
                done = unsafe {
                    simd::expand(src, dst, &self.bases, &self.perm0, &self.perm1, &self.xs.f)
                };
            }
            let (i0s, i1s, fs) = (&self.xs.i0[done..], &self.xs.i1[done..], &self.xs.f[done..]);
            for (((d, &i0), &i1), &f) in dst[done..].iter_mut().zip(i0s).zip(i1s).zip(fs) {
                let (a, b) = (src[i0 as usize], src[i1 as usize]);
                *d = a + f * (b - a);
            }
        }
        s
    }

    /// Full-resolution row `y` of each grid (one or two grids).
    /// Full-resolution row `y` of `out = A * guide + B` (clamped to a
    /// byte) for coefficient grids A and B, in one pass over the expanded
    /// rows. `guide: None` means `out` is its own guide (in place).
    pub fn affine_row(
        &mut self,
        y: usize,
        a: &[f32],
        b: &[f32],
        guide: Option<&[u8]>,
        out: &mut [u8],
    ) {
        let (r0, r1, f) = (self.ys.i0[y] as usize, self.ys.i1[y] as usize, self.ys.f[y]);
        let s0 = self.slot_for(r0, r1, &[a, b]);
        let s1 = self.slot_for(r1, r0, &[a, b]);
        let rows = [
            &self.rows[s0][0],
            &self.rows[s1][0],
            &self.rows[s0][1],
            &self.rows[s1][1],
        ];
        let n = out.len().min(rows[0].len());
        #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
        let mut done = 0;
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            let op = out.as_mut_ptr();
            let g = guide.map_or(op as *const u8, |g| g[..n].as_ptr());
            // SAFETY: AVX2 and FMA were detected at run time; n bounds
            // every slice (the guide was sliced to n above).
            done = unsafe { simd::lerp_affine(op, g, rows, f, n) };
        }
        for x in done..n {
            let a = rows[0][x] + f * (rows[1][x] - rows[0][x]);
            let b = rows[2][x] + f * (rows[3][x] - rows[2][x]);
            let g = guide.map_or(out[x], |g| g[x]) as f32;
            out[x] = (a * g + b + 0.5).clamp(0.0, 255.0) as u8;
        }
    }

    pub fn row(&mut self, y: usize, grids: &[&[f32]]) -> (&[f32], &[f32]) {
        let (r0, r1, f) = (self.ys.i0[y] as usize, self.ys.i1[y] as usize, self.ys.f[y]);
        let s0 = self.slot_for(r0, r1, grids);
        let s1 = self.slot_for(r1, r0, grids);
        for g in 0..grids.len().min(2) {
            let (top, bottom) = (&self.rows[s0][g], &self.rows[s1][g]);
            lerp_rows(&mut self.out[g], top, bottom, f);
        }
        (&self.out[0], &self.out[1])
    }
}

/// The blocks of [`Upsampler`]'s permute path: a prefix of whole 8-pixel
/// output blocks whose taps all fall in `base..base + 8`.
fn permute_plan(xs: &AxisMap, low_w: usize) -> (Vec<u32>, Vec<i32>, Vec<i32>) {
    let (mut bases, mut p0, mut p1) = (Vec::new(), Vec::new(), Vec::new());
    for x0 in (0..xs.f.len()).step_by(8) {
        if x0 + 8 > xs.f.len() {
            break;
        }
        let base = xs.i0[x0] as usize;
        let fits = (x0..x0 + 8).all(|x| {
            let (a, b) = (xs.i0[x] as usize, xs.i1[x] as usize);
            a >= base && b >= base && a < base + 8 && b < base + 8
        });
        if !fits || base + 8 > low_w {
            break;
        }
        bases.push(base as u32);
        for x in x0..x0 + 8 {
            p0.push((xs.i0[x] as usize - base) as i32);
            p1.push((xs.i1[x] as usize - base) as i32);
        }
    }
    (bases, p0, p1)
}

#[inline(always)]
fn lerp_rows_impl(out: &mut [f32], a: &[f32], b: &[f32], f: f32) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *o = x + f * (y - x);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn lerp_rows_avx2(out: &mut [f32], a: &[f32], b: &[f32], f: f32) {
    lerp_rows_impl(out, a, b, f)
}

pub(crate) fn lerp_rows(out: &mut [f32], a: &[f32], b: &[f32], f: f32) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 and FMA were detected at run time.
        unsafe { lerp_rows_avx2(out, a, b, f) };
        return;
    }
    lerp_rows_impl(out, a, b, f)
}

#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avx2() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// `fg = bg + (fg - bg) * alpha / 255` per pixel, `bg` in f32.
pub(crate) fn blend_row_f32(fg: &mut [u8], bg: &[f32], alpha: &[u8]) {
    let n = fg.len().min(bg.len()).min(alpha.len());
    #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: AVX2 and FMA were detected at run time; n bounds all
        // three slices.
        done = unsafe { simd::blend(fg.as_mut_ptr(), bg.as_ptr(), alpha.as_ptr(), n) };
    }
    for ((p, &b), &a) in fg[done..n]
        .iter_mut()
        .zip(&bg[done..n])
        .zip(&alpha[done..n])
    {
        let v = b + (*p as f32 - b) * (a as f32 * (1.0 / 255.0));
        *p = (v + 0.5).clamp(0.0, 255.0) as u8;
    }
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::*;

    /// Inclusive prefix sum of 8 lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn scan8(x: __m256) -> __m256 {
        let x = _mm256_add_ps(
            x,
            _mm256_castsi256_ps(_mm256_slli_si256(_mm256_castps_si256(x), 4)),
        );
        let x = _mm256_add_ps(
            x,
            _mm256_castsi256_ps(_mm256_slli_si256(_mm256_castps_si256(x), 8)),
        );
        // Carry the low half's total into the high half.
        let low_total = _mm256_shuffle_ps(x, x, 0xff);
        _mm256_add_ps(x, _mm256_permute2f128_ps(low_total, low_total, 0x08))
    }

    /// One row of a horizontal box mean (window clipped at the ends) via a
    /// vectorised prefix sum kept in `prefix`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn box_row(src: &[f32], dst: &mut [f32], prefix: &mut [f32], r: usize) {
        let w = src.len();
        assert!(dst.len() >= w && prefix.len() >= w);
        let mut carry = _mm256_setzero_ps();
        let mut x = 0;
        // SAFETY: x + 8 <= w bounds every access in the loops below.
        unsafe {
            while x + 8 <= w {
                let v = _mm256_add_ps(scan8(_mm256_loadu_ps(src.as_ptr().add(x))), carry);
                _mm256_storeu_ps(prefix.as_mut_ptr().add(x), v);
                let top = _mm256_shuffle_ps(v, v, 0xff);
                carry = _mm256_permute2f128_ps(top, top, 0x11);
                x += 8;
            }
        }
        let mut run = if x > 0 { prefix[x - 1] } else { 0.0 };
        for i in x..w {
            run += src[i];
            prefix[i] = run;
        }
        let sum = |x: usize| {
            let hi = prefix[(x + r).min(w - 1)];
            let lo = if x > r { prefix[x - r - 1] } else { 0.0 };
            (hi - lo) / ((x + r).min(w - 1) + 1 - x.saturating_sub(r)) as f32
        };
        // Interior: full windows, x in [r + 1, w - r).
        let (start, end) = ((r + 1).min(w), w.saturating_sub(r).max((r + 1).min(w)));
        for (x, d) in dst.iter_mut().enumerate().take(start) {
            *d = sum(x);
        }
        let inv = _mm256_set1_ps(1.0 / (2 * r + 1) as f32);
        let mut x = start;
        // SAFETY: x + 8 <= end <= w - r, so x + r + 7 < w and x - r - 1 >= 0.
        unsafe {
            while x + 8 <= end {
                let hi = _mm256_loadu_ps(prefix.as_ptr().add(x + r));
                let lo = _mm256_loadu_ps(prefix.as_ptr().add(x - r - 1));
                _mm256_storeu_ps(
                    dst.as_mut_ptr().add(x),
                    _mm256_mul_ps(_mm256_sub_ps(hi, lo), inv),
                );
                x += 8;
            }
        }
        for (x, d) in dst.iter_mut().enumerate().take(w).skip(x) {
            *d = sum(x);
        }
    }

    /// The permute blocks of a horizontal expansion; returns how many
    /// output pixels were written.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn expand(
        src: &[f32],
        dst: &mut [f32],
        bases: &[u32],
        perm0: &[i32],
        perm1: &[i32],
        f: &[f32],
    ) -> usize {
        let n = bases.len();
        assert!(perm0.len() >= 8 * n && perm1.len() >= 8 * n && f.len() >= 8 * n);
        assert!(dst.len() >= 8 * n);
        for (b, &base) in bases.iter().enumerate() {
            let base = base as usize;
            assert!(base + 8 <= src.len());
            // SAFETY: the asserts bound every load and store: src[base..
            // base + 8], and 8 elements at 8 * b of the other slices.
            unsafe {
                let v = _mm256_loadu_ps(src.as_ptr().add(base));
                let i0 = _mm256_loadu_si256(perm0.as_ptr().add(8 * b) as *const __m256i);
                let i1 = _mm256_loadu_si256(perm1.as_ptr().add(8 * b) as *const __m256i);
                let a = _mm256_permutevar8x32_ps(v, i0);
                let c = _mm256_permutevar8x32_ps(v, i1);
                let w = _mm256_loadu_ps(f.as_ptr().add(8 * b));
                _mm256_storeu_ps(
                    dst.as_mut_ptr().add(8 * b),
                    _mm256_fmadd_ps(_mm256_sub_ps(c, a), w, a),
                );
            }
        }
        8 * n
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn load8(p: *const u8) -> __m256 {
        // SAFETY: the caller guarantees 8 readable bytes at p.
        unsafe { _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(p as *const __m128i))) }
    }

    /// Rounds to nearest and saturates to 0..=255.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn store8(p: *mut u8, v: __m256) {
        let i = _mm256_cvtps_epi32(v);
        let w = _mm_packus_epi32(_mm256_castsi256_si128(i), _mm256_extracti128_si256(i, 1));
        // SAFETY: the caller guarantees 8 writable bytes at p.
        unsafe { _mm_storel_epi64(p as *mut __m128i, _mm_packus_epi16(w, w)) };
    }

    /// Whole groups of 8 of `out = lerp(a0, a1, f) * guide + lerp(b0, b1,
    /// f)`; `out` may equal `guide`. Returns how many pixels were done.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn lerp_affine(
        out: *mut u8,
        guide: *const u8,
        rows: [&Vec<f32>; 4],
        f: f32,
        n: usize,
    ) -> usize {
        let fv = _mm256_set1_ps(f);
        let mut i = 0;
        assert!(rows.iter().all(|r| r.len() >= n));
        // SAFETY: i + 8 <= n, every row holds n values (asserted) and the
        // caller guarantees n bytes at out and guide.
        unsafe {
            while i + 8 <= n {
                let a0 = _mm256_loadu_ps(rows[0].as_ptr().add(i));
                let a1 = _mm256_loadu_ps(rows[1].as_ptr().add(i));
                let b0 = _mm256_loadu_ps(rows[2].as_ptr().add(i));
                let b1 = _mm256_loadu_ps(rows[3].as_ptr().add(i));
                let a = _mm256_fmadd_ps(_mm256_sub_ps(a1, a0), fv, a0);
                let b = _mm256_fmadd_ps(_mm256_sub_ps(b1, b0), fv, b0);
                store8(out.add(i), _mm256_fmadd_ps(a, load8(guide.add(i)), b));
                i += 8;
            }
        }
        i
    }

    /// Whole groups of 8 of `fg = bg + (fg - bg) * alpha / 255`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn blend(fg: *mut u8, bg: *const f32, alpha: *const u8, n: usize) -> usize {
        let scale = _mm256_set1_ps(1.0 / 255.0);
        let mut i = 0;
        // SAFETY: i + 8 <= n and the caller guarantees n elements at each
        // pointer.
        unsafe {
            while i + 8 <= n {
                let f = load8(fg.add(i));
                let b = _mm256_loadu_ps(bg.add(i));
                let a = _mm256_mul_ps(load8(alpha.add(i)), scale);
                store8(fg.add(i), _mm256_fmadd_ps(_mm256_sub_ps(f, b), a, b));
                i += 8;
            }
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_mean_of_constant_is_constant_and_window_is_clipped() {
        let (w, h) = (7, 5);
        let src = vec![3.0f32; w * h];
        let (mut dst, mut tmp) = (vec![0.0; w * h], vec![0.0; w * h + w]);
        box_mean(&src, &mut dst, &mut tmp, w, h, 2);
        assert!(dst.iter().all(|&v| (v - 3.0).abs() < 1e-6));
        let mut src = vec![0.0f32; w * h];
        src[0] = 9.0;
        box_mean(&src, &mut dst, &mut tmp, w, h, 1);
        // The corner window covers 2x2 pixels.
        assert!((dst[0] - 9.0 / 4.0).abs() < 1e-6);
        assert!((dst[w + 1] - 1.0).abs() < 1e-6);
        assert_eq!(dst[2 * w + 2], 0.0);
    }

    #[test]
    fn box_mean_matches_brute_force() {
        let mut state = 7u32;
        for (w, h, r) in [
            (1, 1, 3),
            (5, 9, 0),
            (13, 6, 1),
            (9, 17, 4),
            (40, 23, 7),
            (8, 8, 20),
        ] {
            let src: Vec<f32> = (0..w * h)
                .map(|_| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (state >> 24) as f32
                })
                .collect();
            let (mut dst, mut tmp) = (vec![0.0; w * h], vec![0.0; w * h + w]);
            box_mean(&src, &mut dst, &mut tmp, w, h, r);
            for y in 0..h {
                for x in 0..w {
                    let (mut sum, mut n) = (0.0, 0.0);
                    for yy in y.saturating_sub(r)..=(y + r).min(h - 1) {
                        for xx in x.saturating_sub(r)..=(x + r).min(w - 1) {
                            sum += src[yy * w + xx];
                            n += 1.0;
                        }
                    }
                    let got = dst[y * w + x];
                    assert!(
                        (got - sum / n).abs() < 1e-3,
                        "{w}x{h} r{r} at {x},{y}: {got} vs {}",
                        sum / n
                    );
                }
            }
        }
    }

    #[test]
    fn upsampler_matches_direct_bilinear() {
        let (lw, lh) = (37, 11);
        let grid: Vec<f32> = (0..lw * lh).map(|i| ((i * 7919) % 101) as f32).collect();
        // Integer 4x and 5x, a letterbox-like fractional scale with offset.
        for (w, h, s, o) in [
            (148, 44, 0.25, 0.0),
            (185, 55, 0.2, 0.0),
            (100, 30, 0.37, 1.3),
        ] {
            let mut up = Upsampler::new(w, h, lw, lh, s, o, s, o);
            let (xs, ys) = (AxisMap::new(w, lw, s, o), AxisMap::new(h, lh, s, o));
            for y in 0..h {
                let (row, _) = up.row(y, &[&grid]);
                for (x, &got) in row.iter().enumerate().take(w) {
                    let at = |yy: u32, xx: u32| grid[yy as usize * lw + xx as usize];
                    let top = at(ys.i0[y], xs.i0[x])
                        + xs.f[x] * (at(ys.i0[y], xs.i1[x]) - at(ys.i0[y], xs.i0[x]));
                    let bot = at(ys.i1[y], xs.i0[x])
                        + xs.f[x] * (at(ys.i1[y], xs.i1[x]) - at(ys.i1[y], xs.i0[x]));
                    let want = top + ys.f[y] * (bot - top);
                    assert!(
                        (got - want).abs() < 1e-3,
                        "{w}x{h} at {x},{y}: {got} vs {want}"
                    );
                }
            }
        }
    }

    #[test]
    fn upsampler_reproduces_a_ramp() {
        let (lw, lh) = (4, 3);
        let grid: Vec<f32> = (0..lw * lh).map(|i| (i % lw) as f32).collect();
        let mut up = Upsampler::new(16, 12, lw, lh, 0.25, 0.0, 0.25, 0.0);
        for y in 0..12 {
            let (row, _) = up.row(y, &[&grid]);
            // Interior pixels follow the ramp exactly.
            assert!((row[6] - ((6.5 * 0.25) - 0.5)).abs() < 1e-6);
        }
    }
}
