//! Plane views and caller-provided background images. This crate does not
//! depend on the media crate; the app adapts its frames to these views.

use crate::error::{EffectsError, Result};

fn invalid(what: impl Into<String>) -> EffectsError {
    EffectsError::InvalidFrame(what.into())
}

fn check_plane(name: &str, len: usize, stride: usize, width: usize, rows: usize) -> Result<()> {
    if stride < width {
        return Err(invalid(format!(
            "{name} stride {stride} is less than its width {width}"
        )));
    }
    let need = stride
        .checked_mul(rows - 1)
        .and_then(|n| n.checked_add(width))
        .ok_or_else(|| invalid("plane size overflows"))?;
    if len < need {
        return Err(invalid(format!(
            "{name} plane has {len} bytes, needs {need}"
        )));
    }
    Ok(())
}

fn check_size(width: usize, height: usize) -> Result<()> {
    if width < 2
        || height < 2
        || !width.is_multiple_of(2)
        || !height.is_multiple_of(2)
        || width > 16384
        || height > 16384
    {
        return Err(invalid(format!(
            "{width}x{height}: dimensions must be even, 2..=16384"
        )));
    }
    Ok(())
}

/// A mutable I420 frame: full-resolution Y, half-resolution U and V.
#[derive(Debug)]
pub struct I420Mut<'a> {
    width: usize,
    height: usize,
    y: &'a mut [u8],
    u: &'a mut [u8],
    v: &'a mut [u8],
    y_stride: usize,
    uv_stride: usize,
}

impl<'a> I420Mut<'a> {
    /// Planes with explicit strides. Width and height must be even.
    pub fn new(
        width: usize,
        height: usize,
        y: &'a mut [u8],
        u: &'a mut [u8],
        v: &'a mut [u8],
        y_stride: usize,
        uv_stride: usize,
    ) -> Result<Self> {
        check_size(width, height)?;
        check_plane("Y", y.len(), y_stride, width, height)?;
        check_plane("U", u.len(), uv_stride, width / 2, height / 2)?;
        check_plane("V", v.len(), uv_stride, width / 2, height / 2)?;
        Ok(Self {
            width,
            height,
            y,
            u,
            v,
            y_stride,
            uv_stride,
        })
    }

    /// A tightly packed I420 buffer (Y, then U, then V, no padding).
    pub fn packed(width: usize, height: usize, data: &'a mut [u8]) -> Result<Self> {
        check_size(width, height)?;
        let (ys, cs) = (width * height, (width / 2) * (height / 2));
        if data.len() < ys + 2 * cs {
            return Err(invalid(format!(
                "I420 {width}x{height} needs {} bytes, got {}",
                ys + 2 * cs,
                data.len()
            )));
        }
        let (y, rest) = data.split_at_mut(ys);
        let (u, rest) = rest.split_at_mut(cs);
        let v = &mut rest[..cs];
        Self::new(width, height, y, u, v, width, width / 2)
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub(crate) fn y_row(&self, row: usize) -> &[u8] {
        &self.y[row * self.y_stride..][..self.width]
    }

    pub(crate) fn y_row_mut(&mut self, row: usize) -> &mut [u8] {
        &mut self.y[row * self.y_stride..][..self.width]
    }

    pub(crate) fn u_row(&self, row: usize) -> &[u8] {
        &self.u[row * self.uv_stride..][..self.width / 2]
    }

    pub(crate) fn v_row(&self, row: usize) -> &[u8] {
        &self.v[row * self.uv_stride..][..self.width / 2]
    }

    /// Row `row` of plane 0 (Y), 1 (U) or 2 (V), mutable.
    pub(crate) fn plane_row_mut(&mut self, plane: usize, row: usize) -> &mut [u8] {
        let cw = self.width / 2;
        match plane {
            0 => self.y_row_mut(row),
            1 => &mut self.u[row * self.uv_stride..][..cw],
            _ => &mut self.v[row * self.uv_stride..][..cw],
        }
    }

    pub(crate) fn plane_row(&self, plane: usize, row: usize) -> &[u8] {
        match plane {
            0 => self.y_row(row),
            1 => self.u_row(row),
            _ => self.v_row(row),
        }
    }
}

/// Pixel layout of a [`BackgroundImage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PixelFormat {
    /// Interleaved 8-bit R, G, B.
    Rgb24,
    /// Tightly packed I420.
    I420,
}

/// A background picture, decoded by the caller. It is scaled to the frame
/// size once (cover-fit, centred) and cached by the compositor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackgroundImage {
    width: usize,
    height: usize,
    format: PixelFormat,
    data: Vec<u8>,
}

impl BackgroundImage {
    /// `data` is `width * height * 3` bytes of RGB.
    pub fn from_rgb(width: usize, height: usize, data: Vec<u8>) -> Result<Self> {
        if width == 0 || height == 0 || data.len() != width.saturating_mul(height).saturating_mul(3)
        {
            return Err(EffectsError::InvalidImage(format!(
                "RGB {width}x{height} needs {} bytes, got {}",
                width.saturating_mul(height).saturating_mul(3),
                data.len()
            )));
        }
        Ok(Self {
            width,
            height,
            format: PixelFormat::Rgb24,
            data,
        })
    }

    pub(crate) fn from_rgb_unchecked(width: usize, height: usize, data: Vec<u8>) -> Self {
        Self {
            width,
            height,
            format: PixelFormat::Rgb24,
            data,
        }
    }

    /// `data` is a tightly packed I420 image; width and height must be even.
    pub fn from_i420(width: usize, height: usize, data: Vec<u8>) -> Result<Self> {
        let need = width * height + 2 * (width / 2) * (height / 2);
        if check_size(width, height).is_err() || data.len() != need {
            return Err(EffectsError::InvalidImage(format!(
                "I420 {width}x{height} (even sizes) needs {need} bytes, got {}",
                data.len()
            )));
        }
        Ok(Self {
            width,
            height,
            format: PixelFormat::I420,
            data,
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// BT.601 limited-range Y, U, V of pixel (x, y), U/V sampled at the
    /// chroma site covering it.
    pub(crate) fn yuv_at(&self, x: usize, y: usize) -> (u8, u8, u8) {
        match self.format {
            PixelFormat::Rgb24 => {
                let p = &self.data[(y * self.width + x) * 3..][..3];
                rgb_to_yuv(p[0], p[1], p[2])
            }
            PixelFormat::I420 => {
                let (w, h) = (self.width, self.height);
                let cw = w / 2;
                let ys = w * h;
                let cs = cw * (h / 2);
                let c = (y / 2) * cw + x / 2;
                (
                    self.data[y * w + x],
                    self.data[ys + c],
                    self.data[ys + cs + c],
                )
            }
        }
    }
}

/// BT.601 limited range, the matrix webcams use for YUYV/NV12.
pub(crate) fn rgb_to_yuv(r: u8, g: u8, b: u8) -> (u8, u8, u8) {
    let (r, g, b) = (r as i32, g as i32, b as i32);
    let y = (66 * r + 129 * g + 25 * b + 128) >> 8;
    let u = (-38 * r - 74 * g + 112 * b + 128) >> 8;
    let v = (112 * r - 94 * g - 18 * b + 128) >> 8;
    ((y + 16) as u8, (u + 128) as u8, (v + 128) as u8)
}
