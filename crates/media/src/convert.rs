//! Pixel format conversions from what cameras deliver to I420, into a
//! caller-owned frame (no allocation once the frame has its size).

use crate::error::{MediaError, Result};
use crate::frame::VideoFrame;

fn check_len(what: &str, got: usize, want: usize) -> Result<()> {
    if got < want {
        return Err(MediaError::Camera(format!(
            "{what} buffer of {got} bytes, expected {want}"
        )));
    }
    Ok(())
}

/// Packed 4:2:2 YUYV (Y0 U Y1 V) to I420; chroma of two rows is averaged.
pub fn yuyv_to_i420(src: &[u8], width: u32, height: u32, dst: &mut VideoFrame) -> Result<()> {
    let (w, h) = ((width & !1) as usize, (height & !1) as usize);
    check_len("YUYV", src.len(), width as usize * height as usize * 2)?;
    dst.reshape(w as u32, h as u32)?;
    let stride = width as usize * 2;
    let (y, u, v) = dst.planes_mut();
    for row in 0..h {
        let line = &src[row * stride..row * stride + w * 2];
        for (x, px) in line.chunks_exact(2).enumerate() {
            y[row * w + x] = px[0];
        }
    }
    for row in 0..h / 2 {
        let a = &src[2 * row * stride..2 * row * stride + w * 2];
        let b = &src[(2 * row + 1) * stride..(2 * row + 1) * stride + w * 2];
        for x in 0..w / 2 {
            let i = row * (w / 2) + x;
            u[i] = (a[4 * x + 1] as u16 + b[4 * x + 1] as u16).div_ceil(2) as u8;
            v[i] = (a[4 * x + 3] as u16 + b[4 * x + 3] as u16).div_ceil(2) as u8;
        }
    }
    Ok(())
}

/// NV12 (Y plane, then interleaved UV) to I420.
pub fn nv12_to_i420(src: &[u8], width: u32, height: u32, dst: &mut VideoFrame) -> Result<()> {
    let (w, h) = ((width & !1) as usize, (height & !1) as usize);
    let (sw, sh) = (width as usize, height as usize);
    check_len("NV12", src.len(), sw * sh + sw * sh.div_ceil(2))?;
    dst.reshape(w as u32, h as u32)?;
    let (y, u, v) = dst.planes_mut();
    for row in 0..h {
        y[row * w..(row + 1) * w].copy_from_slice(&src[row * sw..row * sw + w]);
    }
    let uv = &src[sw * sh..];
    for row in 0..h / 2 {
        for x in 0..w / 2 {
            let i = row * (w / 2) + x;
            u[i] = uv[row * sw + 2 * x];
            v[i] = uv[row * sw + 2 * x + 1];
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuyv_and_nv12_agree_with_a_known_picture() {
        // 4x2: luma 0..8, chroma U=100/120 (rows), V=200/220.
        let yuyv = [
            0, 100, 1, 200, 2, 100, 3, 200, //
            4, 120, 5, 220, 6, 120, 7, 220,
        ];
        let mut f = VideoFrame::new(2, 2).expect("frame");
        yuyv_to_i420(&yuyv, 4, 2, &mut f).expect("convert");
        assert_eq!(f.y(), &[0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(f.u(), &[110, 110]);
        assert_eq!(f.v(), &[210, 210]);

        let nv12 = [0, 1, 2, 3, 4, 5, 6, 7, 110, 210, 111, 211];
        nv12_to_i420(&nv12, 4, 2, &mut f).expect("convert");
        assert_eq!(f.u(), &[110, 111]);
        assert_eq!(f.v(), &[210, 211]);
    }

    #[test]
    fn short_buffers_are_errors() {
        let mut f = VideoFrame::new(2, 2).expect("frame");
        assert!(yuyv_to_i420(&[0; 10], 4, 2, &mut f).is_err());
        assert!(nv12_to_i420(&[0; 11], 4, 2, &mut f).is_err());
    }
}
