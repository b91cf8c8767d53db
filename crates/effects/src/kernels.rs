//! Float NHWC kernels for the interpreter. Each kernel has one generic body;
//! on x86_64 it is also compiled with AVX2+FMA enabled (chosen once at load
//! with `is_x86_feature_detected!`), which lets LLVM vectorise the channel
//! loops. The pointwise convolution, where nearly all the time goes, has a
//! hand-written AVX2 register-tiled micro-kernel.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Isa {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
}

impl Isa {
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Isa::Avx2Fma;
        }
        Isa::Scalar
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Act {
    None,
    Relu,
    Relu6,
    HardSwish,
    Sigmoid,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct ConvGeometry {
    pub in_h: usize,
    pub in_w: usize,
    pub cin: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub cout: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride_h: usize,
    pub stride_w: usize,
    pub dil_h: usize,
    pub dil_w: usize,
    pub pad_top: usize,
    pub pad_left: usize,
}

#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    // Without hardware FMA `mul_add` is a slow libm call.
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// exp(x) for x <= 0 with ~1e-7 relative error; a vectorisable polynomial
/// so the sigmoid over the full-resolution mask does not cost a libm call
/// per pixel.
#[inline(always)]
fn exp_neg<const FMA: bool>(x: f32) -> f32 {
    let x = x.max(-87.0);
    let n = (x * std::f32::consts::LOG2_E).round();
    let r = madd::<FMA>(n, -0.693_359_4, x);
    let r = madd::<FMA>(n, 2.121_944_4e-4, r);
    let mut p = 1.987_569_1e-4f32;
    p = madd::<FMA>(p, r, 1.398_199_9e-3);
    p = madd::<FMA>(p, r, 8.333_452e-3);
    p = madd::<FMA>(p, r, 4.166_579_6e-2);
    p = madd::<FMA>(p, r, 1.666_666_5e-1);
    p = madd::<FMA>(p, r, 0.5);
    p = madd::<FMA>(p * r, r, r) + 1.0;
    let bits = ((n as i32 + 127) << 23) as u32;
    p * f32::from_bits(bits)
}

#[inline(always)]
fn act_slice<const FMA: bool>(act: Act, v: &mut [f32]) {
    match act {
        Act::None => {}
        Act::Relu => v.iter_mut().for_each(|x| *x = x.max(0.0)),
        Act::Relu6 => v.iter_mut().for_each(|x| *x = x.clamp(0.0, 6.0)),
        Act::HardSwish => v
            .iter_mut()
            .for_each(|x| *x = *x * (*x + 3.0).clamp(0.0, 6.0) * (1.0 / 6.0)),
        Act::Sigmoid => v.iter_mut().for_each(|x| {
            let e = exp_neg::<FMA>(-x.abs());
            let s = 1.0 / (1.0 + e);
            *x = if *x >= 0.0 { s } else { 1.0 - s };
        }),
    }
}

macro_rules! dispatch {
    ($isa:expr, $generic:ident ( $($arg:expr),* )) => {{
        match $isa {
            Isa::Scalar => $generic::<false>($($arg),*),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: Isa::Avx2Fma is only constructed after runtime
            // detection of AVX2 and FMA.
            Isa::Avx2Fma => unsafe { avx2::$generic($($arg),*) },
        }
    }};
}

pub(crate) fn activation(isa: Isa, act: Act, v: &mut [f32]) {
    dispatch!(isa, act_slice(act, v))
}

/// Direct convolution; `w` is packed `[kh][kw][cin][cout]`.
#[inline(always)]
fn conv_generic<const FMA: bool>(
    g: &ConvGeometry,
    input: &[f32],
    w: &[f32],
    bias: &[f32],
    out: &mut [f32],
    act: Act,
) {
    let (cin, cout) = (g.cin, g.cout);
    for oy in 0..g.out_h {
        for ox in 0..g.out_w {
            let o = &mut out[(oy * g.out_w + ox) * cout..][..cout];
            o.copy_from_slice(&bias[..cout]);
            for ky in 0..g.kh {
                let iy = (oy * g.stride_h + ky * g.dil_h).wrapping_sub(g.pad_top);
                if iy >= g.in_h {
                    continue;
                }
                for kx in 0..g.kw {
                    let ix = (ox * g.stride_w + kx * g.dil_w).wrapping_sub(g.pad_left);
                    if ix >= g.in_w {
                        continue;
                    }
                    let x = &input[(iy * g.in_w + ix) * cin..][..cin];
                    let wt = &w[(ky * g.kw + kx) * cin * cout..][..cin * cout];
                    for (ci, &xv) in x.iter().enumerate() {
                        let wr = &wt[ci * cout..][..cout];
                        for (acc, &wv) in o.iter_mut().zip(wr) {
                            *acc = madd::<FMA>(xv, wv, *acc);
                        }
                    }
                }
            }
            act_slice::<FMA>(act, o);
        }
    }
}

pub(crate) fn conv(
    isa: Isa,
    g: &ConvGeometry,
    input: &[f32],
    w: &[f32],
    bias: &[f32],
    out: &mut [f32],
    act: Act,
) {
    let pointwise = g.kh == 1 && g.kw == 1 && g.stride_h == 1 && g.stride_w == 1;
    #[cfg(target_arch = "x86_64")]
    if pointwise && isa == Isa::Avx2Fma && g.cout.is_multiple_of(8) {
        let pixels = g.out_h * g.out_w;
        // SAFETY: Isa::Avx2Fma implies AVX2 and FMA were detected at run time.
        unsafe { avx2::pointwise(input, pixels, g.cin, w, bias, g.cout, out, act) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2Fma && g.cout.is_multiple_of(8) {
        // SAFETY: Isa::Avx2Fma implies AVX2 and FMA were detected at run time.
        unsafe { avx2::conv_direct(g, input, w, bias, out, act) };
        return;
    }
    let _ = pointwise;
    dispatch!(isa, conv_generic(g, input, w, bias, out, act))
}

/// `[pixels x cin] * [cin x cout] + bias`, on the fastest kernel available.
#[allow(clippy::too_many_arguments)]
fn pointwise_any(
    isa: Isa,
    input: &[f32],
    pixels: usize,
    cin: usize,
    w: &[f32],
    bias: &[f32],
    cout: usize,
    out: &mut [f32],
    act: Act,
) {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2Fma && cout.is_multiple_of(8) {
        // SAFETY: Isa::Avx2Fma implies AVX2 and FMA were detected at run time.
        unsafe { avx2::pointwise(input, pixels, cin, w, bias, cout, out, act) };
        return;
    }
    let g = ConvGeometry {
        in_h: 1,
        in_w: pixels,
        cin,
        out_h: 1,
        out_w: pixels,
        cout,
        kh: 1,
        kw: 1,
        stride_h: 1,
        stride_w: 1,
        dil_h: 1,
        dil_w: 1,
        pad_top: 0,
        pad_left: 0,
    };
    dispatch!(isa, conv_generic(&g, input, w, bias, out, act))
}

/// Size of the scratch [`conv_rows`] needs: one output row of patches.
pub(crate) fn conv_rows_scratch(g: &ConvGeometry) -> usize {
    g.out_w * g.kh * g.kw * g.cin
}

/// Convolution one output row at a time: the row's input patches are
/// gathered into `scratch` (zeros where the window leaves the image), then
/// multiplied by the `[kh*kw*cin][cout]` weights as one pointwise product.
/// Turns small-`cin` convolutions (the RGB stem) into the register-tiled
/// kernel's shape.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_rows(
    isa: Isa,
    g: &ConvGeometry,
    input: &[f32],
    w: &[f32],
    bias: &[f32],
    out: &mut [f32],
    act: Act,
    scratch: &mut [f32],
) {
    let k = g.kh * g.kw * g.cin;
    let scratch = &mut scratch[..g.out_w * k];
    let run = g.kw * g.cin;
    for oy in 0..g.out_h {
        for ox in 0..g.out_w {
            let patch = &mut scratch[ox * k..(ox + 1) * k];
            let ix0 = (ox * g.stride_w).wrapping_sub(g.pad_left);
            // With no dilation and the window inside the row, one window
            // row is `kw * cin` contiguous input values.
            let contiguous = g.dil_w == 1 && ix0 < g.in_w && ix0 + g.kw <= g.in_w;
            for ky in 0..g.kh {
                let iy = (oy * g.stride_h + ky * g.dil_h).wrapping_sub(g.pad_top);
                let dst = &mut patch[ky * run..(ky + 1) * run];
                if iy >= g.in_h {
                    dst.fill(0.0);
                } else if contiguous {
                    copy_small(dst, &input[(iy * g.in_w + ix0) * g.cin..][..run]);
                } else {
                    for kx in 0..g.kw {
                        let ix = (ox * g.stride_w + kx * g.dil_w).wrapping_sub(g.pad_left);
                        let d = &mut dst[kx * g.cin..(kx + 1) * g.cin];
                        if ix < g.in_w {
                            copy_small(d, &input[(iy * g.in_w + ix) * g.cin..][..g.cin]);
                        } else {
                            d.fill(0.0);
                        }
                    }
                }
            }
        }
        let row = &mut out[oy * g.out_w * g.cout..(oy + 1) * g.out_w * g.cout];
        pointwise_any(isa, scratch, g.out_w, k, w, bias, g.cout, row, act);
    }
}

/// Copies a few floats; fixed sizes become inline moves instead of a
/// `memcpy` call per patch row.
#[inline(always)]
fn copy_small(dst: &mut [f32], src: &[f32]) {
    fn fixed<const N: usize>(dst: &mut [f32], src: &[f32]) -> bool {
        match (<&mut [f32; N]>::try_from(dst), <&[f32; N]>::try_from(src)) {
            (Ok(d), Ok(s)) => {
                *d = *s;
                true
            }
            _ => false,
        }
    }
    let done = match dst.len() {
        3 => fixed::<3>(dst, src),
        9 => fixed::<9>(dst, src),
        16 => fixed::<16>(dst, src),
        _ => false,
    };
    if !done {
        dst.copy_from_slice(src);
    }
}

/// Weights for [`transpose_conv_shuffle`]: `[cin][t8]`, where column
/// `(ky * kw + kx) * cout + co` is that tap's weight, padded with zero
/// columns to a multiple of 8.
pub(crate) fn pack_transpose_conv(g: &ConvGeometry, w: &[f32]) -> (Vec<f32>, usize) {
    let taps = g.kh * g.kw * g.cout;
    let t8 = taps.div_ceil(8) * 8;
    let mut packed = vec![0.0; g.cin * t8];
    for co in 0..g.cout {
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                for ci in 0..g.cin {
                    let t = (ky * g.kw + kx) * g.cout + co;
                    packed[ci * t8 + t] = w[((co * g.kh + ky) * g.kw + kx) * g.cin + ci];
                }
            }
        }
    }
    (packed, t8)
}

/// A transposed convolution whose windows do not overlap (stride ==
/// kernel, no padding) is a pointwise product to `kh*kw*cout` values per
/// input pixel followed by a pixel shuffle.
#[allow(clippy::too_many_arguments)]
pub(crate) fn transpose_conv_shuffle(
    isa: Isa,
    g: &ConvGeometry,
    input: &[f32],
    packed: &[f32],
    t8: usize,
    zeros: &[f32],
    bias: &[f32],
    out: &mut [f32],
    act: Act,
    scratch: &mut [f32],
) {
    let pixels = g.in_h * g.in_w;
    let scratch = &mut scratch[..pixels * t8];
    pointwise_any(
        isa,
        input,
        pixels,
        g.cin,
        packed,
        zeros,
        t8,
        scratch,
        Act::None,
    );
    let (cout, ow) = (g.cout, g.out_w);
    let seg = g.kw * cout;
    for iy in 0..g.in_h {
        let srow = &scratch[iy * g.in_w * t8..(iy + 1) * g.in_w * t8];
        for ky in 0..g.kh {
            let oy = iy * g.stride_h + ky;
            let orow = &mut out[oy * ow * cout..(oy + 1) * ow * cout];
            // Input pixel ix fills output pixels ix*kw .. ix*kw+kw of this
            // row: the taps (ky, 0..kw) in order.
            for (o, taps) in orow.chunks_exact_mut(seg).zip(srow.chunks_exact(t8)) {
                let taps = &taps[ky * seg..(ky + 1) * seg];
                for ((o, &t), &b) in o.iter_mut().zip(taps).zip(bias.iter().cycle()) {
                    *o = t + b;
                }
            }
        }
    }
    activation(isa, act, &mut out[..g.out_h * ow * cout]);
}

/// Depthwise convolution with multiplier 1; `w` is `[kh][kw][c]`.
#[inline(always)]
fn depthwise_generic<const FMA: bool>(
    g: &ConvGeometry,
    input: &[f32],
    w: &[f32],
    bias: &[f32],
    out: &mut [f32],
    act: Act,
) {
    let c = g.cout;
    for oy in 0..g.out_h {
        for ox in 0..g.out_w {
            let o = &mut out[(oy * g.out_w + ox) * c..][..c];
            o.copy_from_slice(&bias[..c]);
            for ky in 0..g.kh {
                let iy = (oy * g.stride_h + ky * g.dil_h).wrapping_sub(g.pad_top);
                if iy >= g.in_h {
                    continue;
                }
                for kx in 0..g.kw {
                    let ix = (ox * g.stride_w + kx * g.dil_w).wrapping_sub(g.pad_left);
                    if ix >= g.in_w {
                        continue;
                    }
                    let x = &input[(iy * g.in_w + ix) * c..][..c];
                    let wt = &w[(ky * g.kw + kx) * c..][..c];
                    for ((acc, &xv), &wv) in o.iter_mut().zip(x).zip(wt) {
                        *acc = madd::<FMA>(xv, wv, *acc);
                    }
                }
            }
            act_slice::<FMA>(act, o);
        }
    }
}

pub(crate) fn depthwise(
    isa: Isa,
    g: &ConvGeometry,
    input: &[f32],
    w: &[f32],
    bias: &[f32],
    out: &mut [f32],
    act: Act,
) {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2Fma && g.cout.is_multiple_of(8) {
        // SAFETY: Isa::Avx2Fma implies AVX2 and FMA were detected at run time.
        unsafe { avx2::depthwise(g, input, w, bias, out, act) };
        return;
    }
    dispatch!(isa, depthwise_generic(g, input, w, bias, out, act))
}

/// Transposed convolution (scatter form, as TFLite's reference kernel);
/// `w` keeps the file's `[cout][kh][kw][cin]` layout so each tap is a dot
/// product over contiguous input channels.
#[inline(always)]
fn transpose_conv_generic<const FMA: bool>(
    g: &ConvGeometry,
    input: &[f32],
    w: &[f32],
    bias: &[f32],
    out: &mut [f32],
    act: Act,
) {
    let (cin, cout) = (g.cin, g.cout);
    for px in out.chunks_exact_mut(cout) {
        px.copy_from_slice(&bias[..cout]);
    }
    for iy in 0..g.in_h {
        for ix in 0..g.in_w {
            let x = &input[(iy * g.in_w + ix) * cin..][..cin];
            for ky in 0..g.kh {
                let oy = (iy * g.stride_h + ky).wrapping_sub(g.pad_top);
                if oy >= g.out_h {
                    continue;
                }
                for kx in 0..g.kw {
                    let ox = (ix * g.stride_w + kx).wrapping_sub(g.pad_left);
                    if ox >= g.out_w {
                        continue;
                    }
                    let o = &mut out[(oy * g.out_w + ox) * cout..][..cout];
                    for (co, acc) in o.iter_mut().enumerate() {
                        let wr = &w[((co * g.kh + ky) * g.kw + kx) * cin..][..cin];
                        let mut dot = 0.0f32;
                        for (&a, &b) in x.iter().zip(wr) {
                            dot = madd::<FMA>(a, b, dot);
                        }
                        *acc += dot;
                    }
                }
            }
        }
    }
    act_slice::<FMA>(act, out);
}

pub(crate) fn transpose_conv(
    isa: Isa,
    g: &ConvGeometry,
    input: &[f32],
    w: &[f32],
    bias: &[f32],
    out: &mut [f32],
    act: Act,
) {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2Fma && g.cin.is_multiple_of(8) {
        // SAFETY: Isa::Avx2Fma implies AVX2 and FMA were detected at run time.
        unsafe { avx2::transpose_conv(g, input, w, bias, out, act) };
        return;
    }
    dispatch!(isa, transpose_conv_generic(g, input, w, bias, out, act))
}

/// `out = op(a, b)` elementwise; `b` is either the same size as `a` or one
/// value per channel (broadcast over the pixels).
#[inline(always)]
fn binary_generic<const FMA: bool>(
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
    act: Act,
    op: impl Fn(f32, f32) -> f32,
) {
    if a.len() == b.len() {
        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
            *o = op(x, y);
        }
    } else {
        for (o, x) in out.chunks_exact_mut(b.len()).zip(a.chunks_exact(b.len())) {
            for ((o, &x), &y) in o.iter_mut().zip(x).zip(b) {
                *o = op(x, y);
            }
        }
    }
    act_slice::<FMA>(act, out);
}

#[inline(always)]
fn add_generic<const FMA: bool>(a: &[f32], b: &[f32], out: &mut [f32], act: Act) {
    binary_generic::<FMA>(a, b, out, act, |x, y| x + y);
}

/// `a + b`; `b` is either the same size or one value per channel.
pub(crate) fn add(isa: Isa, a: &[f32], b: &[f32], out: &mut [f32], act: Act) {
    dispatch!(isa, add_generic(a, b, out, act))
}

#[inline(always)]
fn mul_generic<const FMA: bool>(a: &[f32], b: &[f32], out: &mut [f32], act: Act) {
    binary_generic::<FMA>(a, b, out, act, |x, y| x * y);
}

/// `a * b`; `b` is either the same size or one value per channel.
pub(crate) fn mul(isa: Isa, a: &[f32], b: &[f32], out: &mut [f32], act: Act) {
    dispatch!(isa, mul_generic(a, b, out, act))
}

#[inline(always)]
fn spatial_mean_generic<const FMA: bool>(input: &[f32], channels: usize, out: &mut [f32]) {
    out.fill(0.0);
    let mut pixels = 0usize;
    for px in input.chunks_exact(channels) {
        for (o, &x) in out.iter_mut().zip(px) {
            *o += x;
        }
        pixels += 1;
    }
    let inv = 1.0 / pixels.max(1) as f32;
    out.iter_mut().for_each(|o| *o *= inv);
}

/// Mean over H and W of an NHWC tensor (global average pooling).
pub(crate) fn spatial_mean(isa: Isa, input: &[f32], channels: usize, out: &mut [f32]) {
    dispatch!(isa, spatial_mean_generic(input, channels, out))
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct ResizeGeometry {
    pub in_h: usize,
    pub in_w: usize,
    pub out_h: usize,
    pub out_w: usize,
    pub channels: usize,
    pub align_corners: bool,
    pub half_pixel_centers: bool,
}

impl ResizeGeometry {
    /// TFLite's source coordinate: (lower, upper, fraction).
    fn scale(&self, in_size: usize, out_size: usize) -> f32 {
        if self.align_corners && out_size > 1 {
            (in_size - 1) as f32 / (out_size - 1) as f32
        } else {
            in_size as f32 / out_size as f32
        }
    }

    #[inline(always)]
    fn source(&self, dst: usize, in_size: usize, scale: f32) -> (usize, usize, f32) {
        let v = if self.half_pixel_centers {
            (dst as f32 + 0.5) * scale - 0.5
        } else {
            dst as f32 * scale
        };
        let lo = (v.floor().max(0.0) as usize).min(in_size - 1);
        let hi = (v.ceil().max(0.0) as usize).min(in_size - 1);
        (lo, hi, v - lo as f32)
    }
}

/// Per output column: source columns and weight; made once at plan time.
pub(crate) fn resize_columns(g: &ResizeGeometry) -> Vec<(u32, u32, f32)> {
    let sx = g.scale(g.in_w, g.out_w);
    (0..g.out_w)
        .map(|ox| {
            let (x0, x1, fx) = g.source(ox, g.in_w, sx);
            (x0 as u32, x1 as u32, fx)
        })
        .collect()
}

/// Separable: the two source rows are blended once per output row into
/// `row` (contiguous, vectorised), then each output pixel is one lerp of
/// two channel vectors of that row.
#[inline(always)]
fn resize_generic<const FMA: bool>(
    g: &ResizeGeometry,
    columns: &[(u32, u32, f32)],
    input: &[f32],
    out: &mut [f32],
    row: &mut [f32],
) {
    let c = g.channels;
    let stride = g.in_w * c;
    let row = &mut row[..stride];
    let sy = g.scale(g.in_h, g.out_h);
    for oy in 0..g.out_h {
        let (y0, y1, fy) = g.source(oy, g.in_h, sy);
        let (r0, r1) = (
            &input[y0 * stride..][..stride],
            &input[y1 * stride..][..stride],
        );
        for ((o, &a), &b) in row.iter_mut().zip(r0).zip(r1) {
            *o = madd::<FMA>(fy, b - a, a);
        }
        let orow = &mut out[oy * g.out_w * c..][..g.out_w * c];
        for (o, &(x0, x1, fx)) in orow.chunks_exact_mut(c).zip(columns) {
            let p0 = &row[x0 as usize * c..][..c];
            let p1 = &row[x1 as usize * c..][..c];
            for ((o, &a), &b) in o.iter_mut().zip(p0).zip(p1) {
                *o = madd::<FMA>(fx, b - a, a);
            }
        }
    }
}

/// Bilinear resize with TFLite's `align_corners` / `half_pixel_centers`.
pub(crate) fn resize_bilinear(
    isa: Isa,
    g: &ResizeGeometry,
    columns: &[(u32, u32, f32)],
    input: &[f32],
    out: &mut [f32],
    row: &mut [f32],
) {
    dispatch!(isa, resize_generic(g, columns, input, out, row))
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Act, ConvGeometry, ResizeGeometry};
    use std::arch::x86_64::*;

    macro_rules! avx2_variant {
        ($name:ident ( $($arg:ident : $ty:ty),* )) => {
            #[target_feature(enable = "avx2,fma")]
            pub(super) unsafe fn $name($($arg: $ty),*) {
                super::$name::<true>($($arg),*)
            }
        };
    }

    avx2_variant!(act_slice(act: Act, v: &mut [f32]));
    avx2_variant!(conv_generic(g: &ConvGeometry, input: &[f32], w: &[f32], bias: &[f32], out: &mut [f32], act: Act));
    avx2_variant!(depthwise_generic(g: &ConvGeometry, input: &[f32], w: &[f32], bias: &[f32], out: &mut [f32], act: Act));
    avx2_variant!(transpose_conv_generic(g: &ConvGeometry, input: &[f32], w: &[f32], bias: &[f32], out: &mut [f32], act: Act));
    avx2_variant!(add_generic(a: &[f32], b: &[f32], out: &mut [f32], act: Act));
    avx2_variant!(mul_generic(a: &[f32], b: &[f32], out: &mut [f32], act: Act));
    avx2_variant!(spatial_mean_generic(input: &[f32], channels: usize, out: &mut [f32]));
    avx2_variant!(resize_generic(g: &ResizeGeometry, columns: &[(u32, u32, f32)], input: &[f32], out: &mut [f32], row: &mut [f32]));

    /// 1x1 convolution as a `[pixels x cin] * [cin x cout]` product, tiled
    /// 6 pixels x 16 output channels (12 accumulators in registers).
    /// `cout % 8 == 0`.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn pointwise(
        input: &[f32],
        pixels: usize,
        cin: usize,
        w: &[f32],
        bias: &[f32],
        cout: usize,
        out: &mut [f32],
        act: Act,
    ) {
        assert!(cout.is_multiple_of(8));
        assert!(input.len() >= pixels * cin);
        assert!(w.len() >= cin * cout && bias.len() >= cout);
        assert!(out.len() >= pixels * cout);
        let (ip, wp, bp, op) = (input.as_ptr(), w.as_ptr(), bias.as_ptr(), out.as_mut_ptr());
        let mut p = 0;
        // SAFETY (whole block): the asserts above bound every index used:
        // pixel rows < pixels, input columns < cin, output columns < cout.
        unsafe {
            while p + 6 <= pixels {
                let mut co = 0;
                while co + 16 <= cout {
                    pw_tile::<6, 2>(ip, p, cin, wp, bp, cout, co, op);
                    co += 16;
                }
                if co < cout {
                    pw_tile::<6, 1>(ip, p, cin, wp, bp, cout, co, op);
                }
                super::act_slice::<true>(
                    act,
                    std::slice::from_raw_parts_mut(op.add(p * cout), 6 * cout),
                );
                p += 6;
            }
            while p < pixels {
                let mut co = 0;
                while co + 16 <= cout {
                    pw_tile::<1, 2>(ip, p, cin, wp, bp, cout, co, op);
                    co += 16;
                }
                if co < cout {
                    pw_tile::<1, 1>(ip, p, cin, wp, bp, cout, co, op);
                }
                super::act_slice::<true>(
                    act,
                    std::slice::from_raw_parts_mut(op.add(p * cout), cout),
                );
                p += 1;
            }
        }
    }

    /// P pixels x NV*8 output channels of a pointwise product, all in
    /// registers across the whole `cin` loop: each weight load feeds P
    /// FMAs, each input broadcast NV.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn pw_tile<const P: usize, const NV: usize>(
        ip: *const f32,
        p: usize,
        cin: usize,
        wp: *const f32,
        bp: *const f32,
        cout: usize,
        co: usize,
        op: *mut f32,
    ) {
        // SAFETY: the caller guarantees rows p..p+P of the input
        // (`cin` wide) and output (`cout` wide) exist and co + 8 * NV <=
        // cout.
        unsafe {
            let mut b = [_mm256_setzero_ps(); NV];
            for (v, bv) in b.iter_mut().enumerate() {
                *bv = _mm256_loadu_ps(bp.add(co + 8 * v));
            }
            let mut acc = [b; P];
            let x = ip.add(p * cin);
            for ci in 0..cin {
                let wr = wp.add(ci * cout + co);
                let mut wv = [_mm256_setzero_ps(); NV];
                for (v, w) in wv.iter_mut().enumerate() {
                    *w = _mm256_loadu_ps(wr.add(8 * v));
                }
                for (k, accp) in acc.iter_mut().enumerate() {
                    let xv = _mm256_broadcast_ss(&*x.add(k * cin + ci));
                    for (a, w) in accp.iter_mut().zip(&wv) {
                        *a = _mm256_fmadd_ps(xv, *w, *a);
                    }
                }
            }
            for (k, accp) in acc.iter().enumerate() {
                let o = op.add((p + k) * cout + co);
                for (v, a) in accp.iter().enumerate() {
                    _mm256_storeu_ps(o.add(8 * v), *a);
                }
            }
        }
    }

    fn check_conv(
        g: &ConvGeometry,
        input: &[f32],
        w: &[f32],
        wlen: usize,
        bias: &[f32],
        out: &[f32],
    ) {
        assert!(input.len() >= g.in_h * g.in_w * g.cin);
        assert!(w.len() >= wlen && bias.len() >= g.cout);
        assert!(out.len() >= g.out_h * g.out_w * g.cout);
    }

    /// Direct convolution: a tile of P output pixels x NV*8 output
    /// channels is accumulated in registers across all taps (P * NV
    /// independent FMA chains hide the FMA latency). `cout % 8 == 0`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn conv_direct(
        g: &ConvGeometry,
        input: &[f32],
        w: &[f32],
        bias: &[f32],
        out: &mut [f32],
        act: Act,
    ) {
        assert!(g.cout.is_multiple_of(8));
        check_conv(g, input, w, g.kh * g.kw * g.cin * g.cout, bias, out);
        for oy in 0..g.out_h {
            let mut co = 0;
            while co < g.cout {
                let nv = ((g.cout - co) / 8).min(4);
                // SAFETY: check_conv bounds every index; co + 8 * nv <= cout.
                unsafe {
                    match nv {
                        1 => conv_row::<1, 8, false>(g, input, w, bias, out, oy, co),
                        2 => conv_row::<2, 4, false>(g, input, w, bias, out, oy, co),
                        3 => conv_row::<3, 3, false>(g, input, w, bias, out, oy, co),
                        _ => conv_row::<4, 2, false>(g, input, w, bias, out, oy, co),
                    }
                }
                co += 8 * nv;
            }
        }
        super::act_slice::<true>(act, &mut out[..g.out_h * g.out_w * g.cout]);
    }

    /// Depthwise convolution (`cin == cout`, `c % 8 == 0`), tiled like
    /// [`conv_direct`].
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn depthwise(
        g: &ConvGeometry,
        input: &[f32],
        w: &[f32],
        bias: &[f32],
        out: &mut [f32],
        act: Act,
    ) {
        assert!(g.cout.is_multiple_of(8) && g.cin == g.cout);
        check_conv(g, input, w, g.kh * g.kw * g.cout, bias, out);
        for oy in 0..g.out_h {
            let mut co = 0;
            while co < g.cout {
                let nv = ((g.cout - co) / 8).min(4);
                // SAFETY: check_conv bounds every index; co + 8 * nv <= cout.
                unsafe {
                    match nv {
                        1 => conv_row::<1, 8, true>(g, input, w, bias, out, oy, co),
                        2 => conv_row::<2, 4, true>(g, input, w, bias, out, oy, co),
                        3 => conv_row::<3, 3, true>(g, input, w, bias, out, oy, co),
                        _ => conv_row::<4, 2, true>(g, input, w, bias, out, oy, co),
                    }
                }
                co += 8 * nv;
            }
        }
        super::act_slice::<true>(act, &mut out[..g.out_h * g.out_w * g.cout]);
    }

    /// One output row, channels `co..co + 8 * NV`, P pixels at a time.
    /// `DW` selects depthwise (per-channel weights `[kh][kw][c]`) over full
    /// convolution (weights `[kh][kw][cin][cout]`).
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn conv_row<const NV: usize, const P: usize, const DW: bool>(
        g: &ConvGeometry,
        input: &[f32],
        w: &[f32],
        bias: &[f32],
        out: &mut [f32],
        oy: usize,
        co: usize,
    ) {
        let (cin, cout) = (g.cin, g.cout);
        let (ip, wp, op) = (input.as_ptr(), w.as_ptr(), out.as_mut_ptr());
        // SAFETY: the caller checked the slice sizes against the geometry;
        // every access below has iy < in_h, ix < in_w, ci < cin, ox < out_w
        // and co + 8 * NV <= cout.
        unsafe {
            let mut b = [_mm256_setzero_ps(); NV];
            for (v, bv) in b.iter_mut().enumerate() {
                *bv = _mm256_loadu_ps(bias.as_ptr().add(co + 8 * v));
            }
            let mut ox = 0;
            while ox < g.out_w {
                let p_here = if ox + P <= g.out_w { P } else { 1 };
                let mut acc = [b; P];
                // Depthwise tile whose every tap column is inside the row:
                // no per-pixel bounds checks, fully unrolled over P.
                let interior = DW
                    && p_here == P
                    && ox * g.stride_w >= g.pad_left
                    && (ox + P - 1) * g.stride_w + (g.kw - 1) * g.dil_w < g.in_w + g.pad_left;
                if interior {
                    let x_first = ox * g.stride_w - g.pad_left;
                    for ky in 0..g.kh {
                        let iy = (oy * g.stride_h + ky * g.dil_h).wrapping_sub(g.pad_top);
                        if iy >= g.in_h {
                            continue;
                        }
                        let rowp = ip.add(iy * g.in_w * cin + co);
                        for kx in 0..g.kw {
                            let wr = wp.add((ky * g.kw + kx) * cout + co);
                            let mut wv = [_mm256_setzero_ps(); NV];
                            for (v, w) in wv.iter_mut().enumerate() {
                                *w = _mm256_loadu_ps(wr.add(8 * v));
                            }
                            let base = x_first + kx * g.dil_w;
                            for (p, accp) in acc.iter_mut().enumerate() {
                                let x = rowp.add((base + p * g.stride_w) * cin);
                                for ((a, w), v) in accp.iter_mut().zip(&wv).zip(0..) {
                                    *a = _mm256_fmadd_ps(_mm256_loadu_ps(x.add(8 * v)), *w, *a);
                                }
                            }
                        }
                    }
                }
                for ky in 0..if interior { 0 } else { g.kh } {
                    let iy = (oy * g.stride_h + ky * g.dil_h).wrapping_sub(g.pad_top);
                    if iy >= g.in_h {
                        continue;
                    }
                    for kx in 0..g.kw {
                        let tap = ky * g.kw + kx;
                        // Depthwise weights of this tap serve all P pixels.
                        let mut wv = [_mm256_setzero_ps(); NV];
                        if DW {
                            let wr = wp.add(tap * cout + co);
                            for (v, w) in wv.iter_mut().enumerate() {
                                *w = _mm256_loadu_ps(wr.add(8 * v));
                            }
                        }
                        for (p, accp) in acc.iter_mut().enumerate().take(p_here) {
                            let ix =
                                ((ox + p) * g.stride_w + kx * g.dil_w).wrapping_sub(g.pad_left);
                            if ix >= g.in_w {
                                continue;
                            }
                            let x = ip.add((iy * g.in_w + ix) * cin);
                            if DW {
                                for ((a, w), v) in accp.iter_mut().zip(&wv).zip(0..) {
                                    let xv = _mm256_loadu_ps(x.add(co + 8 * v));
                                    *a = _mm256_fmadd_ps(xv, *w, *a);
                                }
                            } else {
                                let wt = wp.add(tap * cin * cout + co);
                                for ci in 0..cin {
                                    let xv = _mm256_broadcast_ss(&*x.add(ci));
                                    let wr = wt.add(ci * cout);
                                    for (v, a) in accp.iter_mut().enumerate() {
                                        *a =
                                            _mm256_fmadd_ps(xv, _mm256_loadu_ps(wr.add(8 * v)), *a);
                                    }
                                }
                            }
                        }
                    }
                }
                for (p, accp) in acc.iter().enumerate().take(p_here) {
                    let o = op.add((oy * g.out_w + ox + p) * cout + co);
                    for (v, a) in accp.iter().enumerate() {
                        _mm256_storeu_ps(o.add(8 * v), *a);
                    }
                }
                ox += p_here;
            }
        }
    }

    /// Transposed convolution, one vector dot product per tap and output
    /// channel. `cin % 8 == 0`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn transpose_conv(
        g: &ConvGeometry,
        input: &[f32],
        w: &[f32],
        bias: &[f32],
        out: &mut [f32],
        act: Act,
    ) {
        let (cin, cout) = (g.cin, g.cout);
        assert!(cin % 8 == 0);
        check_conv(g, input, w, cout * g.kh * g.kw * cin, bias, out);
        let n = g.out_h * g.out_w * cout;
        for px in out[..n].chunks_exact_mut(cout) {
            px.copy_from_slice(&bias[..cout]);
        }
        let (ip, wp, op) = (input.as_ptr(), w.as_ptr(), out.as_mut_ptr());
        // SAFETY: check_conv bounds every index: iy < in_h, ix < in_w,
        // oy < out_h, ox < out_w, co < cout, channel offsets + 8 <= cin.
        unsafe {
            for iy in 0..g.in_h {
                for ix in 0..g.in_w {
                    let x = ip.add((iy * g.in_w + ix) * cin);
                    for ky in 0..g.kh {
                        let oy = (iy * g.stride_h + ky).wrapping_sub(g.pad_top);
                        if oy >= g.out_h {
                            continue;
                        }
                        for kx in 0..g.kw {
                            let ox = (ix * g.stride_w + kx).wrapping_sub(g.pad_left);
                            if ox >= g.out_w {
                                continue;
                            }
                            let o = op.add((oy * g.out_w + ox) * cout);
                            for co in 0..cout {
                                let wr = wp.add(((co * g.kh + ky) * g.kw + kx) * cin);
                                let mut acc = _mm256_setzero_ps();
                                let mut ci = 0;
                                while ci < cin {
                                    acc = _mm256_fmadd_ps(
                                        _mm256_loadu_ps(x.add(ci)),
                                        _mm256_loadu_ps(wr.add(ci)),
                                        acc,
                                    );
                                    ci += 8;
                                }
                                let s = _mm_add_ps(
                                    _mm256_castps256_ps128(acc),
                                    _mm256_extractf128_ps(acc, 1),
                                );
                                let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
                                let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
                                *o.add(co) += _mm_cvtss_f32(s);
                            }
                        }
                    }
                }
            }
        }
        super::act_slice::<true>(act, &mut out[..n]);
    }
}
