//! A small float TFLite interpreter for convolutional segmentation models.
//!
//! Everything that can be done once is done in [`Interpreter::new`]:
//! constant DEQUANTIZE ops are folded (FP16 weights become f32 once),
//! weights are repacked for the kernels, activations are fused into the op
//! producing their input, every shape is checked, and activation tensors
//! get buffers from a liveness-based pool so the working set stays small.
//! [`Interpreter::invoke`] then only runs kernels over preallocated memory.

use crate::error::{EffectsError, Result};
use crate::kernels::{self, Act, ConvGeometry, Isa, ResizeGeometry};
use crate::tflite::{self, ModelDesc, OperatorDesc, TensorType, builtin};

fn malformed(what: impl Into<String>) -> EffectsError {
    EffectsError::MalformedModel(what.into())
}

fn unsupported(what: impl Into<String>) -> EffectsError {
    EffectsError::UnsupportedModel(what.into())
}

#[derive(Debug)]
enum Kernel {
    Conv {
        g: ConvGeometry,
        w: Vec<f32>,
        bias: Vec<f32>,
    },
    Depthwise {
        g: ConvGeometry,
        w: Vec<f32>,
        bias: Vec<f32>,
    },
    /// Non-overlapping transposed convolution as pointwise + shuffle.
    TransposeShuffle {
        g: ConvGeometry,
        packed: Vec<f32>,
        t8: usize,
        zeros: Vec<f32>,
        bias: Vec<f32>,
        scratch: Vec<f32>,
    },
    /// Spatial convolution through per-row patch gathering.
    ConvRows {
        g: ConvGeometry,
        w: Vec<f32>,
        bias: Vec<f32>,
        scratch: Vec<f32>,
    },
    TransposeConv {
        g: ConvGeometry,
        w: Vec<f32>,
        bias: Vec<f32>,
    },
    Add,
    Mul,
    Mean {
        channels: usize,
    },
    Resize {
        g: ResizeGeometry,
        columns: Vec<(u32, u32, f32)>,
        row: Vec<f32>,
    },
    Activation,
}

#[derive(Debug)]
struct Step {
    kernel: Kernel,
    /// Tensor ids of the dynamic inputs (the second only for ADD/MUL).
    a: usize,
    b: Option<usize>,
    out: usize,
    act: Act,
}

enum Value {
    Dynamic,
    Const(Vec<f32>),
    ConstInt(Vec<i32>),
}

/// A planned model, ready to run.
pub struct Interpreter {
    isa: Isa,
    steps: Vec<Step>,
    /// Element count of every tensor.
    sizes: Vec<usize>,
    /// Buffer index of every dynamic tensor.
    slot_of: Vec<usize>,
    slots: Vec<Vec<f32>>,
    input: usize,
    output: usize,
    input_shape: [usize; 4],
    output_shape: [usize; 4],
}

impl std::fmt::Debug for Interpreter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interpreter")
            .field("isa", &self.isa)
            .field("steps", &self.steps.len())
            .field("buffers", &self.slots.len())
            .field("input_shape", &self.input_shape)
            .field("output_shape", &self.output_shape)
            .finish()
    }
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: renormalise into an f32 exponent.
            let shift = frac.leading_zeros() - 21;
            let frac = (frac << shift) & 0x3ff;
            sign | ((113 - shift) << 23) | (frac << 13)
        }
        (0x1f, _) => sign | 0x7f80_0000 | (frac << 13),
        _ => sign | ((exp + 112) << 23) | (frac << 13),
    };
    f32::from_bits(bits)
}

fn shape_of(desc: &ModelDesc<'_>, t: usize) -> Result<Vec<usize>> {
    desc.tensors[t]
        .shape
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| unsupported(format!("dynamic dimension in tensor {t}")))
        })
        .collect()
}

/// Accepts `[1, H, W, C]`, or `[1, C]` (treated as 1x1 spatial).
fn nhwc(shape: &[usize], what: &str) -> Result<[usize; 4]> {
    match *shape {
        [1, h, w, c] => Ok([1, h, w, c]),
        [1, c] => Ok([1, 1, 1, c]),
        _ => Err(unsupported(format!(
            "{what}: shape {shape:?} is not [1,H,W,C]"
        ))),
    }
}

fn activation_from(code: u8) -> Result<Act> {
    match code {
        0 => Ok(Act::None),
        1 => Ok(Act::Relu),
        3 => Ok(Act::Relu6),
        x => Err(unsupported(format!("fused activation {x}"))),
    }
}

/// TFLite's SAME/VALID output size and leading padding.
fn conv_out(
    input: usize,
    k: usize,
    stride: usize,
    dil: usize,
    same: bool,
) -> Result<(usize, usize)> {
    if stride == 0 || dil == 0 || k == 0 {
        return Err(malformed("zero stride, dilation or kernel size"));
    }
    let eff = (k - 1) * dil + 1;
    let out = if same {
        input.div_ceil(stride)
    } else {
        if input < eff {
            return Err(malformed("VALID convolution larger than its input"));
        }
        (input - eff + 1).div_ceil(stride)
    };
    let pad = ((out.saturating_sub(1)) * stride + eff).saturating_sub(input);
    Ok((out, pad / 2))
}

struct Planner<'m, 'a> {
    desc: &'m ModelDesc<'a>,
    values: Vec<Value>,
    sizes: Vec<usize>,
}

impl Planner<'_, '_> {
    fn tensor(&self, op: &OperatorDesc<'_>, i: usize, inputs: bool) -> Result<usize> {
        let list = if inputs { &op.inputs } else { &op.outputs };
        let t = *list
            .get(i)
            .ok_or_else(|| malformed(format!("{} is missing operand {i}", op.name())))?;
        usize::try_from(t)
            .ok()
            .filter(|&t| t < self.desc.tensors.len())
            .ok_or_else(|| malformed(format!("{} refers to tensor {t}", op.name())))
    }

    fn dynamic(&self, t: usize, what: &str) -> Result<usize> {
        match self.values[t] {
            Value::Dynamic => Ok(t),
            _ => Err(unsupported(format!(
                "{what}: constant where an activation was expected"
            ))),
        }
    }

    fn constant(&self, t: usize, what: &str) -> Result<&[f32]> {
        match &self.values[t] {
            Value::Const(v) => Ok(v),
            _ => Err(unsupported(format!("{what}: weights are not constant"))),
        }
    }

    fn bias(&self, op: &OperatorDesc<'_>, cout: usize) -> Result<Vec<f32>> {
        match op.inputs.get(2) {
            Some(&t) if t >= 0 => {
                let t = self.tensor(op, 2, true)?;
                let b = self.constant(t, "bias")?;
                if b.len() != cout {
                    return Err(malformed(format!(
                        "bias has {} values, expected {cout}",
                        b.len()
                    )));
                }
                Ok(b.to_vec())
            }
            _ => Ok(vec![0.0; cout]),
        }
    }

    fn shape(&self, t: usize) -> Result<Vec<usize>> {
        shape_of(self.desc, t)
    }

    fn check_out(&self, t: usize, expected: [usize; 4], what: &str) -> Result<()> {
        let got = nhwc(&self.shape(t)?, what)?;
        if got != expected {
            return Err(malformed(format!(
                "{what}: output shape {got:?}, expected {expected:?}"
            )));
        }
        Ok(())
    }

    fn conv_geometry(
        &self,
        op: &OperatorDesc<'_>,
        input: [usize; 4],
        kernel: (usize, usize),
        cout: usize,
        first_option: usize,
        dilation_options: (usize, usize),
    ) -> Result<ConvGeometry> {
        let same = match op.option_u8(first_option, 0)? {
            0 => true,
            1 => false,
            x => return Err(malformed(format!("padding {x}"))),
        };
        let dim = |v: i32| usize::try_from(v).map_err(|_| malformed("negative stride or dilation"));
        let stride_w = dim(op.option_i32(first_option + 1, 1)?)?;
        let stride_h = dim(op.option_i32(first_option + 2, 1)?)?;
        let dil_w = dim(op.option_i32(dilation_options.0, 1)?)?;
        let dil_h = dim(op.option_i32(dilation_options.1, 1)?)?;
        let (out_h, pad_top) = conv_out(input[1], kernel.0, stride_h, dil_h, same)?;
        let (out_w, pad_left) = conv_out(input[2], kernel.1, stride_w, dil_w, same)?;
        Ok(ConvGeometry {
            in_h: input[1],
            in_w: input[2],
            cin: input[3],
            out_h,
            out_w,
            cout,
            kh: kernel.0,
            kw: kernel.1,
            stride_h,
            stride_w,
            dil_h,
            dil_w,
            pad_top,
            pad_left,
        })
    }

    fn plan_op(&mut self, op: &OperatorDesc<'_>) -> Result<Option<Step>> {
        let name = op.name();
        let out = self.tensor(op, 0, false)?;
        match op.builtin {
            builtin::DEQUANTIZE => {
                let src = self.tensor(op, 0, true)?;
                let t = &self.desc.tensors[src];
                let (Some(data), TensorType::Float16) = (t.data, t.dtype) else {
                    return Err(unsupported(format!(
                        "DEQUANTIZE of {:?} tensor '{}' (only constant FP16 is supported)",
                        t.dtype, t.name
                    )));
                };
                let values: Vec<f32> = data
                    .chunks_exact(2)
                    .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                    .collect();
                if values.len() != self.sizes[out] || data.len() != 2 * values.len() {
                    return Err(malformed(format!(
                        "FP16 buffer of '{}' has the wrong size",
                        t.name
                    )));
                }
                self.values[out] = Value::Const(values);
                Ok(None)
            }
            builtin::CONV_2D => {
                let a = self.dynamic(self.tensor(op, 0, true)?, &name)?;
                let wt = self.tensor(op, 1, true)?;
                let input = nhwc(&self.shape(a)?, &name)?;
                let [cout, kh, kw, cin] = *self.shape(wt)?.as_slice() else {
                    return Err(malformed("CONV_2D weights are not 4-D"));
                };
                if cin != input[3] {
                    return Err(malformed(format!(
                        "CONV_2D expects {cin} input channels, got {}",
                        input[3]
                    )));
                }
                let g = self.conv_geometry(op, input, (kh, kw), cout, 0, (4, 5))?;
                self.check_out(out, [1, g.out_h, g.out_w, cout], &name)?;
                let src = self.constant(wt, &name)?;
                // [cout][kh][kw][cin] -> [kh][kw][cin][cout]: output channels
                // become the contiguous, vectorised dimension.
                let mut w = vec![0.0; src.len()];
                for co in 0..cout {
                    for k in 0..kh * kw {
                        for ci in 0..cin {
                            w[(k * cin + ci) * cout + co] = src[(co * kh * kw + k) * cin + ci];
                        }
                    }
                }
                let bias = self.bias(op, cout)?;
                let act = activation_from(op.option_u8(3, 0)?)?;
                let pointwise = kh == 1 && kw == 1 && g.stride_h == 1 && g.stride_w == 1;
                let kernel = if pointwise || g.out_h * g.out_w == 1 {
                    Kernel::Conv { g, w, bias }
                } else {
                    let scratch = vec![0.0; kernels::conv_rows_scratch(&g)];
                    Kernel::ConvRows {
                        g,
                        w,
                        bias,
                        scratch,
                    }
                };
                Ok(Some(Step {
                    kernel,
                    a,
                    b: None,
                    out,
                    act,
                }))
            }
            builtin::DEPTHWISE_CONV_2D => {
                let a = self.dynamic(self.tensor(op, 0, true)?, &name)?;
                let wt = self.tensor(op, 1, true)?;
                let input = nhwc(&self.shape(a)?, &name)?;
                let [1, kh, kw, c] = *self.shape(wt)?.as_slice() else {
                    return Err(malformed("DEPTHWISE_CONV_2D weights are not [1,H,W,C]"));
                };
                if c != input[3] {
                    return Err(unsupported(
                        "DEPTHWISE_CONV_2D with depth multiplier other than 1",
                    ));
                }
                let g = self.conv_geometry(op, input, (kh, kw), c, 0, (5, 6))?;
                self.check_out(out, [1, g.out_h, g.out_w, c], &name)?;
                let w = self.constant(wt, &name)?.to_vec();
                let bias = self.bias(op, c)?;
                let act = activation_from(op.option_u8(4, 0)?)?;
                Ok(Some(Step {
                    kernel: Kernel::Depthwise { g, w, bias },
                    a,
                    b: None,
                    out,
                    act,
                }))
            }
            builtin::CUSTOM if op.custom_code == "Convolution2DTransposeBias" => {
                let a = self.dynamic(self.tensor(op, 0, true)?, &name)?;
                let wt = self.tensor(op, 1, true)?;
                let input = nhwc(&self.shape(a)?, &name)?;
                let [cout, kh, kw, cin] = *self.shape(wt)?.as_slice() else {
                    return Err(malformed("transpose convolution weights are not 4-D"));
                };
                // The options are MediaPipe's raw TfLiteTransposeConvParams:
                // padding enum (1 = SAME, 2 = VALID), stride_w, stride_h.
                let opts = op.custom_options;
                if opts.len() < 12 {
                    return Err(malformed(
                        "Convolution2DTransposeBias options are too short",
                    ));
                }
                let word =
                    |i: usize| u32::from_le_bytes([opts[i], opts[i + 1], opts[i + 2], opts[i + 3]]);
                let same = match word(0) {
                    1 => true,
                    2 => false,
                    x => return Err(malformed(format!("transpose convolution padding {x}"))),
                };
                let (stride_w, stride_h) = (word(4) as usize, word(8) as usize);
                let [1, out_h, out_w, oc] = *nhwc(&self.shape(out)?, &name)?.as_slice() else {
                    return Err(malformed("transpose convolution output"));
                };
                // The output size is declared; padding is that of the forward
                // convolution mapping the output back onto the input.
                let (fwd_h, pad_top) = conv_out(out_h, kh, stride_h, 1, same)?;
                let (fwd_w, pad_left) = conv_out(out_w, kw, stride_w, 1, same)?;
                if oc != cout || cin != input[3] || fwd_h != input[1] || fwd_w != input[2] {
                    return Err(malformed("transpose convolution shapes do not fit"));
                }
                let g = ConvGeometry {
                    in_h: input[1],
                    in_w: input[2],
                    cin,
                    out_h,
                    out_w,
                    cout,
                    kh,
                    kw,
                    stride_h,
                    stride_w,
                    dil_h: 1,
                    dil_w: 1,
                    pad_top,
                    pad_left,
                };
                let w = self.constant(wt, &name)?.to_vec();
                let bias = self.bias(op, cout)?;
                let disjoint = stride_h == kh
                    && stride_w == kw
                    && pad_top == 0
                    && pad_left == 0
                    && out_h == g.in_h * kh
                    && out_w == g.in_w * kw;
                let kernel = if disjoint {
                    let (packed, t8) = kernels::pack_transpose_conv(&g, &w);
                    Kernel::TransposeShuffle {
                        g,
                        packed,
                        t8,
                        zeros: vec![0.0; t8],
                        bias,
                        scratch: vec![0.0; g.in_h * g.in_w * t8],
                    }
                } else {
                    Kernel::TransposeConv { g, w, bias }
                };
                Ok(Some(Step {
                    kernel,
                    a,
                    b: None,
                    out,
                    act: Act::None,
                }))
            }
            builtin::ADD | builtin::MUL => {
                let a = self.dynamic(self.tensor(op, 0, true)?, &name)?;
                let b = self.dynamic(self.tensor(op, 1, true)?, &name)?;
                let (sa, sb) = (nhwc(&self.shape(a)?, &name)?, nhwc(&self.shape(b)?, &name)?);
                // Same shape, or one operand is a per-channel vector (which we
                // normalise to be `b`).
                let (a, b, sa) = if sa == sb || (sb[1] == 1 && sb[2] == 1 && sb[3] == sa[3]) {
                    (a, b, sa)
                } else if sa[1] == 1 && sa[2] == 1 && sa[3] == sb[3] {
                    (b, a, sb)
                } else {
                    return Err(unsupported(format!(
                        "{name}: broadcast of {sa:?} with {sb:?}"
                    )));
                };
                self.check_out(out, sa, &name)?;
                let act = activation_from(op.option_u8(0, 0)?)?;
                let kernel = if op.builtin == builtin::ADD {
                    Kernel::Add
                } else {
                    Kernel::Mul
                };
                Ok(Some(Step {
                    kernel,
                    a,
                    b: Some(b),
                    out,
                    act,
                }))
            }
            builtin::MEAN => {
                let a = self.dynamic(self.tensor(op, 0, true)?, &name)?;
                let axes_t = self.tensor(op, 1, true)?;
                let t = &self.desc.tensors[axes_t];
                let axes: Vec<i32> = match (&self.values[axes_t], t.data) {
                    (Value::ConstInt(v), _) => v.clone(),
                    _ => return Err(unsupported("MEAN with non-constant axes")),
                };
                let mut sorted: Vec<i32> = axes
                    .iter()
                    .map(|&x| if x < 0 { x + 4 } else { x })
                    .collect();
                sorted.sort_unstable();
                if sorted != [1, 2] {
                    return Err(unsupported(format!("MEAN over axes {axes:?}")));
                }
                let input = nhwc(&self.shape(a)?, &name)?;
                if self.sizes[out] != input[3] {
                    return Err(malformed("MEAN output size"));
                }
                Ok(Some(Step {
                    kernel: Kernel::Mean { channels: input[3] },
                    a,
                    b: None,
                    out,
                    act: Act::None,
                }))
            }
            builtin::RESIZE_BILINEAR => {
                let a = self.dynamic(self.tensor(op, 0, true)?, &name)?;
                let input = nhwc(&self.shape(a)?, &name)?;
                let size_t = self.tensor(op, 1, true)?;
                let [h, w] = match &self.values[size_t] {
                    Value::ConstInt(v) if v.len() == 2 => [v[0], v[1]],
                    _ => return Err(unsupported("RESIZE_BILINEAR with a non-constant size")),
                };
                let (out_h, out_w) = (
                    usize::try_from(h).map_err(|_| malformed("negative resize"))?,
                    usize::try_from(w).map_err(|_| malformed("negative resize"))?,
                );
                if input[1] == 0 || input[2] == 0 {
                    return Err(malformed("RESIZE_BILINEAR of an empty tensor"));
                }
                self.check_out(out, [1, out_h, out_w, input[3]], &name)?;
                let g = ResizeGeometry {
                    in_h: input[1],
                    in_w: input[2],
                    out_h,
                    out_w,
                    channels: input[3],
                    align_corners: op.option_u8(2, 0)? != 0,
                    half_pixel_centers: op.option_u8(3, 0)? != 0,
                };
                Ok(Some(Step {
                    kernel: Kernel::Resize {
                        columns: kernels::resize_columns(&g),
                        row: vec![0.0; g.in_w * g.channels],
                        g,
                    },
                    a,
                    b: None,
                    out,
                    act: Act::None,
                }))
            }
            builtin::RELU | builtin::RELU6 | builtin::HARD_SWISH | builtin::LOGISTIC => {
                let a = self.dynamic(self.tensor(op, 0, true)?, &name)?;
                if self.sizes[a] != self.sizes[out] {
                    return Err(malformed(format!("{name}: input and output sizes differ")));
                }
                let act = match op.builtin {
                    builtin::RELU => Act::Relu,
                    builtin::RELU6 => Act::Relu6,
                    builtin::HARD_SWISH => Act::HardSwish,
                    _ => Act::Sigmoid,
                };
                Ok(Some(Step {
                    kernel: Kernel::Activation,
                    a,
                    b: None,
                    out,
                    act,
                }))
            }
            _ => Err(unsupported(format!("operator {name}"))),
        }
    }
}

/// Folds each standalone activation into the op that produced its input,
/// when nothing else reads the pre-activation tensor.
fn fuse_activations(steps: Vec<Step>, graph_output: usize) -> Vec<Step> {
    let mut reads = std::collections::HashMap::<usize, usize>::new();
    for s in &steps {
        *reads.entry(s.a).or_default() += 1;
        if let Some(b) = s.b {
            *reads.entry(b).or_default() += 1;
        }
    }
    let mut fused: Vec<Step> = Vec::with_capacity(steps.len());
    for s in steps {
        if matches!(s.kernel, Kernel::Activation)
            && s.a != graph_output
            && reads.get(&s.a) == Some(&1)
            && let Some(p) = fused.iter_mut().rev().find(|p| p.out == s.a)
        {
            let fusable = !matches!(
                p.kernel,
                Kernel::Activation | Kernel::Mean { .. } | Kernel::Resize { .. }
            );
            if fusable && p.act == Act::None {
                p.act = s.act;
                p.out = s.out;
                continue;
            }
        }
        fused.push(s);
    }
    fused
}

impl Interpreter {
    /// Parses and plans a float TFLite model with one NHWC input and output.
    pub fn new(model: &[u8]) -> Result<Self> {
        Self::with_isa(model, Isa::detect())
    }

    /// Like [`Self::new`] but always on the portable (non-SIMD) kernels,
    /// the code path of CPUs without AVX2/FMA and of non-x86 targets.
    pub fn with_portable_kernels(model: &[u8]) -> Result<Self> {
        Self::with_isa(model, Isa::Scalar)
    }

    fn with_isa(model: &[u8], isa: Isa) -> Result<Self> {
        let desc = tflite::parse(model)?;
        let n = desc.tensors.len();
        let mut sizes = Vec::with_capacity(n);
        for t in 0..n {
            let shape = shape_of(&desc, t)?;
            let size = shape
                .iter()
                .try_fold(1usize, |acc, &d| acc.checked_mul(d))
                .filter(|&s| s <= 1 << 24)
                .ok_or_else(|| malformed(format!("tensor {t} is too large")))?;
            sizes.push(size);
        }
        let mut values = Vec::with_capacity(n);
        for (t, td) in desc.tensors.iter().enumerate() {
            values.push(match (td.data, td.dtype) {
                (None, _) => Value::Dynamic,
                (Some(d), TensorType::Float32) if d.len() == 4 * sizes[t] => Value::Const(
                    d.chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect(),
                ),
                (Some(d), TensorType::Int32) if d.len() == 4 * sizes[t] => Value::ConstInt(
                    d.chunks_exact(4)
                        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect(),
                ),
                // FP16 data is only readable through DEQUANTIZE.
                (Some(d), TensorType::Float16) if d.len() == 2 * sizes[t] => Value::Dynamic,
                (Some(_), ty) => {
                    return Err(malformed(format!(
                        "constant tensor '{}' ({ty:?}) has the wrong size",
                        td.name
                    )));
                }
            });
        }
        let (input, output) = match (desc.inputs.as_slice(), desc.outputs.as_slice()) {
            ([i], [o]) => (*i, *o),
            _ => return Err(unsupported("models with several inputs or outputs")),
        };
        let idx = |t: i32| {
            usize::try_from(t)
                .ok()
                .filter(|&t| t < n)
                .ok_or_else(|| malformed("bad graph input/output"))
        };
        let (input, output) = (idx(input)?, idx(output)?);
        for t in [input, output] {
            if desc.tensors[t].dtype != TensorType::Float32 || desc.tensors[t].data.is_some() {
                return Err(unsupported("graph input/output must be dynamic FLOAT32"));
            }
        }
        let input_shape = nhwc(&shape_of(&desc, input)?, "graph input")?;
        let output_shape = nhwc(&shape_of(&desc, output)?, "graph output")?;

        let mut planner = Planner {
            desc: &desc,
            values,
            sizes,
        };
        let mut steps = Vec::new();
        let mut produced = vec![false; n];
        produced[input] = true;
        for op in &desc.operators {
            if let Some(step) = planner.plan_op(op)? {
                for t in std::iter::once(step.a).chain(step.b) {
                    if !produced[t] {
                        return Err(malformed(format!(
                            "tensor {t} is read before it is written"
                        )));
                    }
                }
                if produced[step.out] {
                    return Err(malformed(format!("tensor {} is written twice", step.out)));
                }
                produced[step.out] = true;
                steps.push(step);
            }
        }
        if !produced[output] {
            return Err(malformed("no operator produces the graph output"));
        }
        let sizes = planner.sizes;
        let steps = fuse_activations(steps, output);

        // Liveness: a buffer is free again after the last step reading it.
        let mut last_read = vec![0usize; n];
        for (i, s) in steps.iter().enumerate() {
            last_read[s.a] = i;
            if let Some(b) = s.b {
                last_read[b] = i;
            }
        }
        let mut slot_of = vec![usize::MAX; n];
        let mut slots: Vec<Vec<f32>> = Vec::new();
        let mut free: Vec<usize> = Vec::new();
        let take = |size: usize, slots: &mut Vec<Vec<f32>>, free: &mut Vec<usize>| -> usize {
            let best = free
                .iter()
                .enumerate()
                .filter(|(_, s)| slots[**s].len() >= size)
                .min_by_key(|(_, s)| slots[**s].len())
                .map(|(i, _)| i);
            match best {
                Some(i) => free.swap_remove(i),
                None => match free.pop() {
                    Some(s) => {
                        slots[s].resize(size, 0.0);
                        s
                    }
                    None => {
                        slots.push(vec![0.0; size]);
                        slots.len() - 1
                    }
                },
            }
        };
        slot_of[input] = take(sizes[input], &mut slots, &mut free);
        for (i, s) in steps.iter().enumerate() {
            slot_of[s.out] = take(sizes[s.out], &mut slots, &mut free);
            for t in std::iter::once(s.a).chain(s.b) {
                if last_read[t] == i && t != output && !free.contains(&slot_of[t]) {
                    free.push(slot_of[t]);
                }
            }
        }

        Ok(Self {
            isa,
            steps,
            sizes,
            slot_of,
            slots,
            input,
            output,
            input_shape,
            output_shape,
        })
    }

    /// `[1, H, W, C]` of the input tensor.
    pub fn input_shape(&self) -> [usize; 4] {
        self.input_shape
    }

    /// `[1, H, W, C]` of the output tensor.
    pub fn output_shape(&self) -> [usize; 4] {
        self.output_shape
    }

    /// The input tensor, NHWC; write it before each [`Self::invoke`].
    pub fn input_mut(&mut self) -> &mut [f32] {
        let n = self.sizes[self.input];
        &mut self.slots[self.slot_of[self.input]][..n]
    }

    /// The output of the last [`Self::invoke`].
    pub fn output(&self) -> &[f32] {
        &self.slots[self.slot_of[self.output]][..self.sizes[self.output]]
    }

    /// Number of kernels run per inference (after folding and fusion).
    pub fn kernel_count(&self) -> usize {
        self.steps.len()
    }

    /// Runs the model; allocates nothing.
    pub fn invoke(&mut self) {
        let isa = self.isa;
        for s in &mut self.steps {
            let out_slot = self.slot_of[s.out];
            // The planner never gives an output the buffer of one of its
            // inputs, so the output can be taken out while inputs are read.
            let mut out_buf = std::mem::take(&mut self.slots[out_slot]);
            let out = &mut out_buf[..self.sizes[s.out]];
            let a = &self.slots[self.slot_of[s.a]][..self.sizes[s.a]];
            let b = s.b.map(|b| &self.slots[self.slot_of[b]][..self.sizes[b]]);
            match (&mut s.kernel, b) {
                (Kernel::Conv { g, w, bias }, _) => kernels::conv(isa, g, a, w, bias, out, s.act),
                (
                    Kernel::ConvRows {
                        g,
                        w,
                        bias,
                        scratch,
                    },
                    _,
                ) => kernels::conv_rows(isa, g, a, w, bias, out, s.act, scratch),
                (
                    Kernel::TransposeShuffle {
                        g,
                        packed,
                        t8,
                        zeros,
                        bias,
                        scratch,
                    },
                    _,
                ) => kernels::transpose_conv_shuffle(
                    isa, g, a, packed, *t8, zeros, bias, out, s.act, scratch,
                ),
                (Kernel::Depthwise { g, w, bias }, _) => {
                    kernels::depthwise(isa, g, a, w, bias, out, s.act)
                }
                (Kernel::TransposeConv { g, w, bias }, _) => {
                    kernels::transpose_conv(isa, g, a, w, bias, out, s.act)
                }
                (Kernel::Add, Some(b)) => kernels::add(isa, a, b, out, s.act),
                (Kernel::Mul, Some(b)) => kernels::mul(isa, a, b, out, s.act),
                (Kernel::Mean { channels }, _) => kernels::spatial_mean(isa, a, *channels, out),
                (Kernel::Resize { g, columns, row }, _) => {
                    kernels::resize_bilinear(isa, g, columns, a, out, row)
                }
                (Kernel::Activation, _) => {
                    out.copy_from_slice(a);
                    kernels::activation(isa, s.act, out);
                }
                (Kernel::Add | Kernel::Mul, None) => {}
            }
            self.slots[out_slot] = out_buf;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::f16_to_f32;

    #[test]
    fn half_floats_decode() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x0200), 2f32.powi(-15));
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000);
    }
}
