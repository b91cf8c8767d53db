//! A bounds-checked reader for the TFLite flatbuffer (schema v3): just the
//! tables and fields the interpreter needs. Every offset in the file is
//! checked, so truncated or hostile bytes give `MalformedModel`, never a
//! panic or an out-of-bounds read.

use crate::error::{EffectsError, Result};

fn malformed(what: impl Into<String>) -> EffectsError {
    EffectsError::MalformedModel(what.into())
}

#[derive(Clone, Copy)]
struct Buf<'a>(&'a [u8]);

impl<'a> Buf<'a> {
    fn bytes(&self, pos: usize, len: usize) -> Result<&'a [u8]> {
        pos.checked_add(len)
            .and_then(|end| self.0.get(pos..end))
            .ok_or_else(|| malformed(format!("offset {pos}+{len} is past the end of the file")))
    }
    fn u8(&self, pos: usize) -> Result<u8> {
        Ok(self.bytes(pos, 1)?[0])
    }
    fn u16(&self, pos: usize) -> Result<u16> {
        let b = self.bytes(pos, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&self, pos: usize) -> Result<u32> {
        let b = self.bytes(pos, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i32(&self, pos: usize) -> Result<i32> {
        Ok(self.u32(pos)? as i32)
    }
    fn u64(&self, pos: usize) -> Result<u64> {
        let b = self.bytes(pos, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    /// Follows a uoffset stored at `pos` (offsets are relative to themselves).
    fn deref(&self, pos: usize) -> Result<usize> {
        let off = self.u32(pos)? as usize;
        pos.checked_add(off)
            .filter(|p| *p < self.0.len())
            .ok_or_else(|| malformed("offset points past the end of the file"))
    }
}

/// A flatbuffer table: its position and its vtable.
#[derive(Clone, Copy)]
struct Table<'a> {
    buf: Buf<'a>,
    pos: usize,
    vtable: usize,
    vtable_len: usize,
}

impl<'a> Table<'a> {
    fn at(buf: Buf<'a>, pos: usize) -> Result<Self> {
        let soff = buf.i32(pos)? as i64;
        let vtable =
            usize::try_from(pos as i64 - soff).map_err(|_| malformed("bad vtable offset"))?;
        let vtable_len = buf.u16(vtable)? as usize;
        if vtable_len < 4 || !vtable_len.is_multiple_of(2) {
            return Err(malformed("bad vtable size"));
        }
        buf.bytes(vtable, vtable_len)?;
        Ok(Self {
            buf,
            pos,
            vtable,
            vtable_len,
        })
    }

    /// Absolute position of field `id`, or None when absent (default value).
    fn field(&self, id: usize) -> Result<Option<usize>> {
        let slot = 4 + 2 * id;
        if slot + 2 > self.vtable_len {
            return Ok(None);
        }
        let off = self.buf.u16(self.vtable + slot)? as usize;
        Ok((off != 0).then_some(self.pos + off))
    }

    fn u8_or(&self, id: usize, default: u8) -> Result<u8> {
        self.field(id)?.map_or(Ok(default), |p| self.buf.u8(p))
    }
    fn i32_or(&self, id: usize, default: i32) -> Result<i32> {
        self.field(id)?.map_or(Ok(default), |p| self.buf.i32(p))
    }
    fn u32_or(&self, id: usize, default: u32) -> Result<u32> {
        self.field(id)?.map_or(Ok(default), |p| self.buf.u32(p))
    }
    fn u64_or(&self, id: usize, default: u64) -> Result<u64> {
        self.field(id)?.map_or(Ok(default), |p| self.buf.u64(p))
    }
    fn table(&self, id: usize) -> Result<Option<Table<'a>>> {
        match self.field(id)? {
            Some(p) => Ok(Some(Table::at(self.buf, self.buf.deref(p)?)?)),
            None => Ok(None),
        }
    }
    /// A vector field: (position of first element, element count).
    fn vector(&self, id: usize, elem_size: usize) -> Result<Option<(usize, usize)>> {
        let Some(p) = self.field(id)? else {
            return Ok(None);
        };
        let start = self.buf.deref(p)?;
        let len = self.buf.u32(start)? as usize;
        let bytes = len
            .checked_mul(elem_size)
            .ok_or_else(|| malformed("vector too long"))?;
        self.buf.bytes(start + 4, bytes)?;
        Ok(Some((start + 4, len)))
    }
    fn bytes(&self, id: usize) -> Result<&'a [u8]> {
        match self.vector(id, 1)? {
            Some((p, n)) => self.buf.bytes(p, n),
            None => Ok(&[]),
        }
    }
    fn string(&self, id: usize) -> Result<String> {
        Ok(String::from_utf8_lossy(self.bytes(id)?).into_owned())
    }
    fn i32s(&self, id: usize) -> Result<Vec<i32>> {
        let Some((p, n)) = self.vector(id, 4)? else {
            return Ok(Vec::new());
        };
        (0..n).map(|i| self.buf.i32(p + 4 * i)).collect()
    }
    fn tables(&self, id: usize) -> Result<Vec<Table<'a>>> {
        let Some((p, n)) = self.vector(id, 4)? else {
            return Ok(Vec::new());
        };
        (0..n)
            .map(|i| Table::at(self.buf, self.buf.deref(p + 4 * i)?))
            .collect()
    }
}

/// TFLite `TensorType` values this crate knows about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TensorType {
    Float32,
    Float16,
    Int32,
    Other(u8),
}

/// `BuiltinOperator` codes the interpreter implements.
pub(crate) mod builtin {
    pub const ADD: i32 = 0;
    pub const CONV_2D: i32 = 3;
    pub const DEPTHWISE_CONV_2D: i32 = 4;
    pub const DEQUANTIZE: i32 = 6;
    pub const LOGISTIC: i32 = 14;
    pub const MUL: i32 = 18;
    pub const RELU: i32 = 19;
    pub const RELU6: i32 = 21;
    pub const RESIZE_BILINEAR: i32 = 23;
    pub const CUSTOM: i32 = 32;
    pub const MEAN: i32 = 40;
    pub const HARD_SWISH: i32 = 117;
}

pub(crate) struct TensorDesc<'a> {
    pub name: String,
    pub shape: Vec<i32>,
    pub dtype: TensorType,
    /// Constant contents, if the tensor has a non-empty buffer.
    pub data: Option<&'a [u8]>,
}

pub(crate) struct OperatorDesc<'a> {
    pub builtin: i32,
    pub custom_code: String,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
    /// The builtin options table, read by the operator that knows its layout.
    options: Option<Table<'a>>,
    pub custom_options: &'a [u8],
}

impl OperatorDesc<'_> {
    pub fn option_u8(&self, id: usize, default: u8) -> Result<u8> {
        self.options.map_or(Ok(default), |t| t.u8_or(id, default))
    }
    pub fn option_i32(&self, id: usize, default: i32) -> Result<i32> {
        self.options.map_or(Ok(default), |t| t.i32_or(id, default))
    }
    pub fn name(&self) -> String {
        if self.builtin == builtin::CUSTOM {
            format!("CUSTOM({})", self.custom_code)
        } else {
            format!("builtin op {}", self.builtin)
        }
    }
}

pub(crate) struct ModelDesc<'a> {
    pub tensors: Vec<TensorDesc<'a>>,
    pub operators: Vec<OperatorDesc<'a>>,
    pub inputs: Vec<i32>,
    pub outputs: Vec<i32>,
}

pub(crate) fn parse(bytes: &[u8]) -> Result<ModelDesc<'_>> {
    let buf = Buf(bytes);
    if bytes.len() < 8 {
        return Err(malformed("file is too short"));
    }
    if &bytes[4..8] != b"TFL3" {
        return Err(malformed("missing TFL3 file identifier"));
    }
    let model = Table::at(buf, buf.deref(0)?)?;
    let version = model.u32_or(0, 0)?;
    if version != 3 {
        return Err(EffectsError::UnsupportedModel(format!(
            "schema version {version}"
        )));
    }

    let mut opcodes = Vec::new();
    for oc in model.tables(1)? {
        let deprecated = oc.u8_or(0, 0)? as i8 as i32;
        let code = oc.i32_or(3, 0)?;
        opcodes.push((deprecated.max(code), oc.string(1)?));
    }

    let mut buffers = Vec::new();
    for b in model.tables(4)? {
        let data = b.bytes(0)?;
        // Models over 2 GB keep data outside the flatbuffer.
        let offset = b.u64_or(1, 0)?;
        let size = b.u64_or(2, 0)?;
        if data.is_empty() && offset > 1 {
            let (o, s) = (
                usize::try_from(offset).map_err(|_| malformed("buffer offset"))?,
                usize::try_from(size).map_err(|_| malformed("buffer size"))?,
            );
            buffers.push(buf.bytes(o, s)?);
        } else {
            buffers.push(data);
        }
    }

    let subgraphs = model.tables(2)?;
    let [graph] = subgraphs.as_slice() else {
        return Err(EffectsError::UnsupportedModel(format!(
            "{} subgraphs (expected 1)",
            subgraphs.len()
        )));
    };

    let mut tensors = Vec::new();
    for t in graph.tables(0)? {
        let dtype = match t.u8_or(1, 0)? {
            0 => TensorType::Float32,
            1 => TensorType::Float16,
            2 => TensorType::Int32,
            x => TensorType::Other(x),
        };
        let buffer = t.u32_or(2, 0)? as usize;
        let data = buffers
            .get(buffer)
            .ok_or_else(|| malformed(format!("tensor refers to missing buffer {buffer}")))?;
        tensors.push(TensorDesc {
            name: t.string(3)?,
            shape: t.i32s(0)?,
            dtype,
            data: (!data.is_empty()).then_some(*data),
        });
    }

    let mut operators = Vec::new();
    for op in graph.tables(3)? {
        let index = op.u32_or(0, 0)? as usize;
        let (builtin, custom_code) = opcodes
            .get(index)
            .cloned()
            .ok_or_else(|| malformed(format!("operator uses missing opcode {index}")))?;
        operators.push(OperatorDesc {
            builtin,
            custom_code,
            inputs: op.i32s(1)?,
            outputs: op.i32s(2)?,
            options: op.table(4)?,
            custom_options: op.bytes(5)?,
        });
    }

    Ok(ModelDesc {
        tensors,
        operators,
        inputs: graph.i32s(1)?,
        outputs: graph.i32s(2)?,
    })
}
