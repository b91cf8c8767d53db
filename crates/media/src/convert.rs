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

/// 32-bit BGRX (X11's ZPixmap on little-endian, 4 bytes a pixel, rows
/// `stride` bytes apart) to I420, BT.601 limited range as cameras give;
/// chroma of each 2x2 block averaged.
pub fn bgrx_to_i420(
    src: &[u8],
    stride: usize,
    width: u32,
    height: u32,
    dst: &mut VideoFrame,
) -> Result<()> {
    dst.reshape(width & !1, height & !1)?;
    bgrx_to_i420_at(src, stride, width, height, dst, (0, 0))
}

/// As `bgrx_to_i420`, into the part of `dst` whose top-left corner is
/// `at` (made even), cut to `dst`; the rest of `dst` is left as it is.
pub fn bgrx_to_i420_at(
    src: &[u8],
    stride: usize,
    width: u32,
    height: u32,
    dst: &mut VideoFrame,
    at: (u32, u32),
) -> Result<()> {
    if stride < width as usize * 4 {
        return Err(MediaError::Screen(format!(
            "rows of {stride} bytes for {width} pixels"
        )));
    }
    check_len(
        "BGRX",
        src.len(),
        stride * (height as usize).saturating_sub(1) + width as usize * 4,
    )?;
    let (dw, dh) = (dst.width() as usize, dst.height() as usize);
    let (x0, y0) = ((at.0 & !1) as usize, (at.1 & !1) as usize);
    let w = ((width & !1) as usize).min(dw.saturating_sub(x0));
    let h = ((height & !1) as usize).min(dh.saturating_sub(y0));
    let (y, u, v) = dst.planes_mut();
    let luma = |b: i32, g: i32, r: i32| (((66 * r + 129 * g + 25 * b + 128) >> 8) + 16) as u8;
    for row in 0..h {
        let line = &src[row * stride..row * stride + w * 4];
        let out = &mut y[(y0 + row) * dw + x0..(y0 + row) * dw + x0 + w];
        for (px, y) in line.chunks_exact(4).zip(out.iter_mut()) {
            *y = luma(px[0] as i32, px[1] as i32, px[2] as i32);
        }
    }
    let cw = dw / 2;
    for row in 0..h / 2 {
        let a = &src[2 * row * stride..];
        let b = &src[(2 * row + 1) * stride..];
        let at_row = (y0 / 2 + row) * cw + x0 / 2;
        for x in 0..w / 2 {
            let sum = |c: usize| {
                a[8 * x + c] as i32
                    + a[8 * x + 4 + c] as i32
                    + b[8 * x + c] as i32
                    + b[8 * x + 4 + c] as i32
            };
            let (bb, gg, rr) = ((sum(0) + 2) / 4, (sum(1) + 2) / 4, (sum(2) + 2) / 4);
            u[at_row + x] = (((-38 * rr - 74 * gg + 112 * bb + 128) >> 8) + 128) as u8;
            v[at_row + x] = (((112 * rr - 94 * gg - 18 * bb + 128) >> 8) + 128) as u8;
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

#[cfg(test)]
mod bgrx_tests {
    use super::*;

    #[test]
    fn screen_pixels_become_the_colours_a_camera_gives() {
        // 4x2 pixels, rows padded to 20 bytes: white, black, red, blue
        // on both rows.
        let px: [[u8; 4]; 4] = [
            [255, 255, 255, 0],
            [0, 0, 0, 0],
            [0, 0, 255, 0],
            [255, 0, 0, 0],
        ];
        let mut src = Vec::new();
        for _ in 0..2 {
            for p in px {
                src.extend_from_slice(&p);
            }
            src.extend_from_slice(&[9, 9, 9, 9]);
        }
        let mut frame = VideoFrame::new(2, 2).expect("a frame");
        bgrx_to_i420(&src, 20, 4, 2, &mut frame).expect("converted");
        assert_eq!((frame.width(), frame.height()), (4, 2));
        assert_eq!(frame.y(), &[235, 16, 82, 41, 235, 16, 82, 41]);
        // White and black average to grey; red and blue to purple.
        assert_eq!((frame.u()[0], frame.v()[0]), (128, 128));
        assert!(
            frame.u()[1] > 128 && frame.v()[1] > 128,
            "{:?}",
            (frame.u(), frame.v())
        );
        // Too short a buffer, or rows shorter than the width: an error.
        assert!(bgrx_to_i420(&src[..30], 20, 4, 2, &mut frame).is_err());
        assert!(bgrx_to_i420(&src, 8, 4, 2, &mut frame).is_err());
    }

    #[test]
    fn a_part_of_a_picture_lands_where_it_is_put_and_is_cut_to_it() {
        // A 2x2 red block into a 6x4 grey picture at (2, 2), then at (4, 3)
        // (made even: (4, 2)), then past the edge (cut, no panic).
        let red = [0u8, 0, 255, 0].repeat(4);
        let mut frame = VideoFrame::new(6, 4).expect("a frame");
        frame.planes_mut().0.fill(40);
        bgrx_to_i420_at(&red, 8, 2, 2, &mut frame, (2, 2)).expect("converted");
        assert_eq!(&frame.y()[12..18], &[40, 40, 82, 82, 40, 40]);
        assert_eq!(&frame.y()[0..6], &[40; 6]);
        assert_eq!((frame.width(), frame.height()), (6, 4), "never reshaped");
        bgrx_to_i420_at(&red, 8, 2, 2, &mut frame, (4, 3)).expect("converted");
        assert_eq!(&frame.y()[6..12], &[40, 40, 40, 40, 40, 40]);
        assert_eq!(&frame.y()[12..18], &[40, 40, 82, 82, 82, 82]);
        bgrx_to_i420_at(&red, 8, 2, 2, &mut frame, (5, 3)).expect("cut to the picture");
        bgrx_to_i420_at(&red, 8, 2, 2, &mut frame, (100, 100)).expect("nothing to write");
    }
}
