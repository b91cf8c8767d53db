//! Decoded pictures to the screen's pixels: I420 (BT.601 limited range, as
//! the decoders and the camera path produce) to 32-bit BGRX, scaled to the
//! size a tile has on screen, for windows that draw video natively.

/// A caller-owned image of 4-byte pixels, `stride` bytes per row.
pub struct ScreenImage<'a> {
    pub pixels: &'a mut [u8],
    pub width: usize,
    pub height: usize,
    pub stride: usize,
}

/// Where a picture of `width`x`height` goes inside a box of
/// `box_width`x`box_height`, whole and centred, its shape kept (CSS's
/// `object-fit: contain`): x, y, width, height, each at least 1.
pub fn fit_inside(
    width: usize,
    height: usize,
    box_width: usize,
    box_height: usize,
) -> (usize, usize, usize, usize) {
    let (w, h) = (width.max(1), height.max(1));
    let (bw, bh) = (box_width.max(1), box_height.max(1));
    // Width-bound when the picture is wider than the box, compared in
    // integers: w/h > bw/bh.
    let (fw, fh) = if w * bh >= bw * h {
        (bw, (h * bw + w / 2) / w)
    } else {
        ((w * bh + h / 2) / h, bh)
    };
    let (fw, fh) = (fw.clamp(1, bw), fh.clamp(1, bh));
    ((bw - fw) / 2, (bh - fh) / 2, fw, fh)
}

/// Scales and converts into a caller-owned buffer. It keeps, for the last
/// sizes it saw, which source column each screen column reads, and one
/// source row converted, so a frame allocates nothing once the tile keeps
/// its size.
///
/// Each source row a screen row needs is converted whole, then its pixels
/// picked per screen column: the conversion is a straight loop the
/// compiler vectorises, where converting pixel by pixel at the picked
/// columns cost 4.9 ns a pixel (a quarter of the app's CPU in a
/// four-person call).
#[derive(Default)]
pub struct BgrxScaler {
    from: (usize, usize),
    to: (usize, bool),
    columns: Vec<usize>,
    row: Vec<u32>,
}

/// Fixed-point (<< 16) BT.601 limited-range coefficients.
const Y_SCALE: i32 = 76_309; // 1.164
const V_TO_R: i32 = 104_597; // 1.596
const U_TO_G: i32 = 25_675; // 0.392
const V_TO_G: i32 = 53_279; // 0.813
const U_TO_B: i32 = 132_201; // 2.018

fn clamp(v: i32) -> u32 {
    (v >> 16).clamp(0, 255) as u32
}

/// One pixel's luma with its chroma's contributions, as BGRX.
fn bgrx(y: u8, blue: i32, green: i32, red: i32) -> u32 {
    let y = (i32::from(y) - 16) * Y_SCALE;
    clamp(y + blue) | clamp(y - green) << 8 | clamp(y + red) << 16 | 0xff00_0000
}

/// Converts one row of I420 (`u` and `v` at half its width) to BGRX.
fn convert_row(y: &[u8], u: &[u8], v: &[u8], out: &mut [u32]) {
    let chroma = |u: u8, v: u8| {
        let (u, v) = (i32::from(u) - 128, i32::from(v) - 128);
        (U_TO_B * u, U_TO_G * u + V_TO_G * v, V_TO_R * v)
    };
    let pairs = y.chunks_exact(2).zip(out.chunks_exact_mut(2));
    for ((luma, pixels), (&u, &v)) in pairs.zip(u.iter().zip(v)) {
        let (b, g, r) = chroma(u, v);
        pixels[0] = bgrx(luma[0], b, g, r);
        pixels[1] = bgrx(luma[1], b, g, r);
    }
    // An odd width's last pixel has a chroma sample of its own.
    if y.len() % 2 == 1
        && let (Some(&luma), Some(pixel), Some(&u), Some(&v)) = (
            y.last(),
            out.get_mut(y.len() - 1),
            u.get(y.len() / 2),
            v.get(y.len() / 2),
        )
    {
        let (b, g, r) = chroma(u, v);
        *pixel = bgrx(luma, b, g, r);
    }
}

/// `i420` (`width`x`height`) as RGB bytes at `out_width`x`out_height`:
/// a still picture (a thumbnail, a saved board), not a frame loop's work.
/// `None` if a buffer is too small for the sizes given.
pub fn rgb_picture(
    i420: &[u8],
    width: usize,
    height: usize,
    out_width: usize,
    out_height: usize,
) -> Option<Vec<u8>> {
    let mut bgrx = vec![0u8; out_width * out_height * 4];
    let drawn = BgrxScaler::default().draw(
        i420,
        width,
        height,
        ScreenImage {
            pixels: &mut bgrx,
            width: out_width,
            height: out_height,
            stride: out_width * 4,
        },
        false,
    );
    drawn.then(|| {
        bgrx.chunks_exact(4)
            .flat_map(|p| [p[2], p[1], p[0]])
            .collect()
    })
}

impl BgrxScaler {
    /// Draws `i420` (`width`x`height`, planes packed as `VideoFrame` keeps
    /// them) into the whole of `out`, nearest neighbour, left and right
    /// swapped if `mirror` (a self-view, as a mirror shows you). False, and
    /// nothing drawn, if a buffer is too small for the sizes given.
    pub fn draw(
        &mut self,
        i420: &[u8],
        width: usize,
        height: usize,
        out: ScreenImage<'_>,
        mirror: bool,
    ) -> bool {
        let ScreenImage {
            pixels: out,
            width: out_width,
            height: out_height,
            stride: out_stride,
        } = out;
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        let luma = width * height;
        let chroma = cw * ch;
        if width == 0
            || height == 0
            || i420.len() < luma + 2 * chroma
            || out_stride < out_width * 4
            || out.len() < out_stride * out_height.saturating_sub(1) + out_width * 4
        {
            return false;
        }
        if self.from != (width, height) || self.to != (out_width, mirror) {
            self.from = (width, height);
            self.to = (out_width, mirror);
            self.columns.clear();
            self.columns.extend((0..out_width).map(|x| {
                let x = if mirror { out_width - 1 - x } else { x };
                (x * width / out_width).min(width - 1)
            }));
        }
        self.row.resize(width, 0);
        let (y_plane, rest) = i420.split_at(luma);
        let (u_plane, v_plane) = rest.split_at(chroma);
        let mut converted = None;
        for row in 0..out_height {
            let sy = (row * height / out_height).min(height - 1);
            if converted != Some(sy) {
                convert_row(
                    &y_plane[sy * width..][..width],
                    &u_plane[(sy / 2) * cw..][..cw],
                    &v_plane[(sy / 2) * cw..][..cw],
                    &mut self.row,
                );
                converted = Some(sy);
            }
            let line = &mut out[row * out_stride..][..out_width * 4];
            for (pixel, &sx) in line.chunks_exact_mut(4).zip(&self.columns) {
                pixel.copy_from_slice(&self.row[sx].to_le_bytes());
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(pixels: &mut [u8], width: usize, height: usize, stride: usize) -> ScreenImage<'_> {
        ScreenImage {
            pixels,
            width,
            height,
            stride,
        }
    }

    /// A 4x2 picture: left half white, right half pure red (BT.601).
    fn picture() -> Vec<u8> {
        let mut p = vec![235, 235, 81, 81, 235, 235, 81, 81];
        p.extend([128, 90]); // U: white, red
        p.extend([128, 240]); // V: white, red
        p
    }

    #[test]
    fn converts_and_scales_to_the_tile() {
        let mut scaler = BgrxScaler::default();
        // Twice the size, with 4 bytes of padding per row.
        let (w, h, stride) = (8, 4, 36);
        let mut out = vec![0u8; stride * h];
        assert!(scaler.draw(&picture(), 4, 2, image(&mut out, w, h, stride), false));
        for row in 0..h {
            let line = &out[row * stride..];
            for x in 0..w {
                let px = &line[x * 4..x * 4 + 4];
                if x < 4 {
                    assert!(
                        px[..3].iter().all(|&c| c >= 250),
                        "white at {x},{row}: {px:?}"
                    );
                } else {
                    assert!(
                        px[2] >= 250 && px[1] < 5 && px[0] < 5,
                        "red at {x},{row}: {px:?}"
                    );
                }
                assert_eq!(px[3], 0xff);
            }
            assert_eq!(&line[32..36], &[0, 0, 0, 0], "the padding is left alone");
        }
        // Smaller: one pixel of each.
        let mut small = vec![0u8; 8];
        assert!(scaler.draw(&picture(), 4, 2, image(&mut small, 2, 1, 8), false));
        assert!(small[..3].iter().all(|&c| c >= 250));
        assert!(small[6] >= 250 && small[4] < 5);
    }

    #[test]
    fn refuses_buffers_too_small_for_the_sizes() {
        let mut scaler = BgrxScaler::default();
        let mut out = vec![0u8; 16];
        assert!(!scaler.draw(&picture()[..9], 4, 2, image(&mut out, 2, 2, 8), false));
        assert!(!scaler.draw(&picture(), 4, 2, image(&mut out, 4, 2, 16), false));
        assert!(!scaler.draw(&picture(), 0, 2, image(&mut out, 2, 2, 8), false));
        assert!(!scaler.draw(&picture(), 4, 2, image(&mut out, 4, 1, 8), false));
        assert!(out.iter().all(|&b| b == 0));
    }

    /// The conversion of one pixel, written out, as the scaler's rows must
    /// agree with it.
    fn reference(i420: &[u8], width: usize, height: usize, x: usize, y: usize) -> [u8; 4] {
        let cw = width.div_ceil(2);
        let chroma = width * height + (y / 2) * cw + x / 2;
        let luma = (i32::from(i420[y * width + x]) - 16) * Y_SCALE;
        let u = i32::from(i420[chroma]) - 128;
        let v = i32::from(i420[chroma + cw * height.div_ceil(2)]) - 128;
        let c = |v: i32| (v >> 16).clamp(0, 255) as u8;
        [
            c(luma + U_TO_B * u),
            c(luma - U_TO_G * u - V_TO_G * v),
            c(luma + V_TO_R * v),
            0xff,
        ]
    }

    #[test]
    fn every_size_and_direction_agrees_with_the_pixel_by_pixel_conversion() {
        let mut scaler = BgrxScaler::default();
        // Odd sizes (a chroma sample of their own at the edge), up and
        // down, mirrored and not, one scaler reused across them all.
        for (w, h, ow, oh, mirror) in [
            (7_usize, 5_usize, 7_usize, 5_usize, false),
            (7, 5, 3, 2, true),
            (5, 3, 11, 7, false),
            (16, 9, 9, 16, true),
            (1, 1, 4, 3, false),
        ] {
            let size = w * h + 2 * w.div_ceil(2) * h.div_ceil(2);
            let picture: Vec<u8> = (0..size).map(|i| (i * 37 % 256) as u8).collect();
            let stride = ow * 4 + 8;
            let mut out = vec![0u8; stride * oh];
            assert!(scaler.draw(&picture, w, h, image(&mut out, ow, oh, stride), mirror));
            for row in 0..oh {
                for col in 0..ow {
                    let from = if mirror { ow - 1 - col } else { col };
                    let (sx, sy) = (from * w / ow, row * h / oh);
                    assert_eq!(
                        &out[row * stride + col * 4..][..4],
                        &reference(&picture, w, h, sx, sy),
                        "{w}x{h} to {ow}x{oh} (mirror {mirror}) at {col},{row}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_mirrored_picture_has_left_and_right_swapped() {
        let mut scaler = BgrxScaler::default();
        let mut out = vec![0u8; 16];
        assert!(scaler.draw(&picture(), 4, 2, image(&mut out, 4, 1, 16), true));
        assert!(out[2] >= 250 && out[1] < 5, "red first: {out:?}");
        assert!(out[12..15].iter().all(|&c| c >= 250), "white last: {out:?}");
        // The same scaler, unmirrored again: the column map follows.
        assert!(scaler.draw(&picture(), 4, 2, image(&mut out, 4, 1, 16), false));
        assert!(out[..3].iter().all(|&c| c >= 250));
    }

    #[test]
    fn a_picture_fits_inside_its_box_centred_with_its_shape() {
        // 16:9 into a 4:3 box: bars above and below.
        assert_eq!(fit_inside(640, 360, 400, 300), (0, 37, 400, 225));
        // 4:3 into a 16:9 box: bars left and right.
        assert_eq!(fit_inside(640, 480, 320, 180), (40, 0, 240, 180));
        // Same shape: the whole box.
        assert_eq!(fit_inside(320, 180, 640, 360), (0, 0, 640, 360));
        // Degenerate sizes stay inside the box and never zero.
        assert_eq!(fit_inside(0, 0, 10, 10), (0, 0, 10, 10));
        assert_eq!(fit_inside(10_000, 1, 10, 10), (0, 4, 10, 1));
        assert_eq!(fit_inside(4, 4, 0, 0), (0, 0, 1, 1));
    }
}
