//! [`SegmentationModel`]: frame (I420) -> person probability at the
//! model's resolution. The frame is letterboxed into the model input
//! straight from the I420 planes (bilinear, like MediaPipe's
//! ImageToTensor), without a full-size RGB copy.

use crate::error::{EffectsError, Result};
use crate::frame::I420Mut;
use crate::interpreter::Interpreter;
use crate::resample::AxisMap;

/// Where the frame sits inside the model input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Letterbox {
    /// Model pixels per frame pixel.
    pub scale: f32,
    /// Top-left corner of the frame's content in model pixels.
    pub offset_x: f32,
    pub offset_y: f32,
}

#[derive(Debug, Default)]
struct Sampling {
    frame: (usize, usize),
    /// Model columns/rows covered by the frame.
    x_range: (usize, usize),
    y_range: (usize, usize),
    luma_x: AxisMap,
    luma_y: AxisMap,
    chroma_x: AxisMap,
    chroma_y: AxisMap,
}

/// MediaPipe's selfie segmentation (landscape, 256x144) on our interpreter.
#[derive(Debug)]
pub struct SegmentationModel {
    interpreter: Interpreter,
    width: usize,
    height: usize,
    sampling: Sampling,
    letterbox: Letterbox,
    /// Luma of the model input, in [0, 1], kept as the guide for edge-aware
    /// mask upsampling.
    guide: Vec<f32>,
    /// One vertically interpolated Y, U and V row of the frame.
    rows: [Vec<f32>; 3],
}

impl SegmentationModel {
    /// The model built into this crate.
    pub fn new() -> Result<Self> {
        Self::from_bytes(crate::SELFIE_SEGMENTATION_LANDSCAPE)
    }

    /// Any model with input `[1, H, W, 3]` RGB in [0, 1] and output
    /// `[1, H, W, 1]` person probability.
    pub fn from_bytes(model: &[u8]) -> Result<Self> {
        let interpreter = Interpreter::new(model)?;
        let [_, h, w, c] = interpreter.input_shape();
        let [_, oh, ow, oc] = interpreter.output_shape();
        if c != 3 || (oh, ow, oc) != (h, w, 1) || w == 0 || h == 0 {
            return Err(EffectsError::UnsupportedModel(format!(
                "segmentation needs input [1,H,W,3] and output [1,H,W,1], got {:?} -> {:?}",
                interpreter.input_shape(),
                interpreter.output_shape()
            )));
        }
        Ok(Self {
            interpreter,
            width: w,
            height: h,
            sampling: Sampling::default(),
            letterbox: Letterbox {
                scale: 1.0,
                offset_x: 0.0,
                offset_y: 0.0,
            },
            guide: vec![0.0; w * h],
            rows: Default::default(),
        })
    }

    /// Model input (and mask) size, `(width, height)`.
    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// Placement of the last segmented frame inside the model input.
    pub fn letterbox(&self) -> Letterbox {
        self.letterbox
    }

    /// The model input's luma, `size()` pixels in [0, 1].
    pub fn guide(&self) -> &[f32] {
        &self.guide
    }

    /// The person probability of the last [`Self::segment`], `size()`
    /// pixels in [0, 1].
    pub fn mask(&self) -> &[f32] {
        self.interpreter.output()
    }

    fn configure(&mut self, fw: usize, fh: usize) {
        if self.sampling.frame == (fw, fh) {
            return;
        }
        let (mw, mh) = (self.width as f32, self.height as f32);
        let scale = (mw / fw as f32).min(mh / fh as f32);
        let (cw, ch) = (fw as f32 * scale, fh as f32 * scale);
        let (ox, oy) = ((mw - cw) / 2.0, (mh - ch) / 2.0);
        self.letterbox = Letterbox {
            scale,
            offset_x: ox,
            offset_y: oy,
        };
        let x_range = (
            ox.floor() as usize,
            ((ox + cw).ceil() as usize).min(self.width),
        );
        let y_range = (
            oy.floor() as usize,
            ((oy + ch).ceil() as usize).min(self.height),
        );
        // Model pixel m (relative to the content) samples frame position
        // (m + 0.5) / scale - 0.5; a chroma sample sits at luma 2c + 0.5.
        let inv = 1.0 / scale;
        let map = |range: (usize, usize), off: f32, len: usize, chroma: bool| {
            let n = range.1 - range.0;
            let start = range.0 as f32 - off;
            if chroma {
                AxisMap::new(n, len / 2, inv / 2.0, start * inv / 2.0)
            } else {
                AxisMap::new(n, len, inv, start * inv)
            }
        };
        self.sampling = Sampling {
            frame: (fw, fh),
            x_range,
            y_range,
            luma_x: map(x_range, ox, fw, false),
            luma_y: map(y_range, oy, fh, false),
            chroma_x: map(x_range, ox, fw, true),
            chroma_y: map(y_range, oy, fh, true),
        };
        self.interpreter.input_mut().fill(0.0);
        self.guide.fill(0.0);
        self.rows = [vec![0.0; fw], vec![0.0; fw / 2], vec![0.0; fw / 2]];
    }

    /// Fills the model input from `frame` (BT.601 limited range -> RGB).
    pub fn prepare(&mut self, frame: &I420Mut<'_>) {
        self.configure(frame.width(), frame.height());
        let s = &self.sampling;
        let w = self.width;
        let input = self.interpreter.input_mut();
        let [yrow, urow, vrow] = &mut self.rows;
        for (j, my) in (s.y_range.0..s.y_range.1).enumerate() {
            // Vertical taps first, over whole rows (vectorised), then the
            // horizontal taps per model pixel.
            let (ly0, ly1) = (s.luma_y.i0[j] as usize, s.luma_y.i1[j] as usize);
            let (cy0, cy1) = (s.chroma_y.i0[j] as usize, s.chroma_y.i1[j] as usize);
            lerp_u8_rows(yrow, frame.y_row(ly0), frame.y_row(ly1), s.luma_y.f[j]);
            lerp_u8_rows(urow, frame.u_row(cy0), frame.u_row(cy1), s.chroma_y.f[j]);
            lerp_u8_rows(vrow, frame.v_row(cy0), frame.v_row(cy1), s.chroma_y.f[j]);
            let row_start = my * w + s.x_range.0;
            let n = s.x_range.1 - s.x_range.0;
            let rgb_row = &mut input[row_start * 3..(row_start + n) * 3];
            let guide_row = &mut self.guide[row_start..row_start + n];
            let taps = |m: &crate::resample::AxisMap, row: &[f32], i: usize| {
                let (a, b) = (row[m.i0[i] as usize], row[m.i1[i] as usize]);
                a + m.f[i] * (b - a)
            };
            for (i, (rgb, g)) in rgb_row
                .chunks_exact_mut(3)
                .zip(guide_row.iter_mut())
                .enumerate()
            {
                let y = taps(&s.luma_x, yrow, i);
                let u = taps(&s.chroma_x, urow, i) - 128.0;
                let v = taps(&s.chroma_x, vrow, i) - 128.0;
                let c = 1.164_383_6 * (y - 16.0);
                rgb[0] = ((c + 1.596_026_8 * v) * (1.0 / 255.0)).clamp(0.0, 1.0);
                rgb[1] = ((c - 0.391_762_3 * u - 0.812_967_6 * v) * (1.0 / 255.0)).clamp(0.0, 1.0);
                rgb[2] = ((c + 2.017_232_2 * u) * (1.0 / 255.0)).clamp(0.0, 1.0);
                *g = y * (1.0 / 255.0);
            }
        }
    }

    /// Runs the model on the prepared input.
    pub fn infer(&mut self) {
        self.interpreter.invoke();
    }

    /// [`Self::prepare`] then [`Self::infer`]; returns [`Self::mask`].
    pub fn segment(&mut self, frame: &I420Mut<'_>) -> &[f32] {
        self.prepare(frame);
        self.infer();
        self.mask()
    }

    /// The interpreter, e.g. to time or feed the model directly.
    pub fn interpreter_mut(&mut self) -> &mut Interpreter {
        &mut self.interpreter
    }
}

#[inline(always)]
fn lerp_u8_rows_impl(out: &mut [f32], a: &[u8], b: &[u8], f: f32) {
    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
        let (a, b) = (a as f32, b as f32);
        *o = a + f * (b - a);
    }
}

crate::resample::avx2_or_portable!(lerp_u8_rows, lerp_u8_rows_impl, (out: &mut [f32], a: &[u8], b: &[u8], f: f32));
