//! Raw frame types shared by every source, sink, codec and effect.

use crate::error::{MediaError, Result};

/// Audio runs at one rate and layout everywhere inside the core; devices and
/// files are converted at the edges so the hot path never resamples.
pub const AUDIO_RATE_HZ: u32 = 48_000;
/// 10 ms frames: the unit of capture, processing and mixing.
pub const AUDIO_FRAME_SAMPLES: usize = (AUDIO_RATE_HZ / 100) as usize;

/// A planar I420 picture. The three planes live in one buffer so a frame is
/// one allocation that can be reused from frame to frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoFrame {
    width: u32,
    height: u32,
    data: Vec<u8>,
    /// Capture time in microseconds since the Unix epoch; 0 if unknown.
    pub capture_time_us: u64,
}

impl VideoFrame {
    /// A black frame. Width and height must be even and non-zero.
    pub fn new(width: u32, height: u32) -> Result<Self> {
        if width == 0
            || height == 0
            || !width.is_multiple_of(2)
            || !height.is_multiple_of(2)
            || width > 7680
            || height > 4320
        {
            return Err(MediaError::InvalidParameter(format!(
                "frame size {width}x{height}: width and height must be even and between 2 and 7680x4320"
            )));
        }
        let luma = width as usize * height as usize;
        let mut data = vec![16u8; luma + luma / 2];
        data[luma..].fill(128);
        Ok(Self {
            width,
            height,
            data,
            capture_time_us: 0,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    fn luma_len(&self) -> usize {
        self.width as usize * self.height as usize
    }

    /// Stride of the luma plane (tightly packed).
    pub fn y_stride(&self) -> usize {
        self.width as usize
    }

    /// Stride of each chroma plane.
    pub fn uv_stride(&self) -> usize {
        self.width as usize / 2
    }

    pub fn y(&self) -> &[u8] {
        &self.data[..self.luma_len()]
    }

    pub fn u(&self) -> &[u8] {
        let l = self.luma_len();
        &self.data[l..l + l / 4]
    }

    pub fn v(&self) -> &[u8] {
        let l = self.luma_len();
        &self.data[l + l / 4..]
    }

    /// All three planes, mutably, at once.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let l = self.luma_len();
        let (y, uv) = self.data.split_at_mut(l);
        let (u, v) = uv.split_at_mut(l / 4);
        (y, u, v)
    }

    /// The whole I420 buffer (Y then U then V).
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }

    /// Resizes the frame in place, reusing the buffer when it is big enough.
    pub fn reshape(&mut self, width: u32, height: u32) -> Result<()> {
        if width == self.width && height == self.height {
            return Ok(());
        }
        let fresh = VideoFrame::new(width, height)?;
        self.width = fresh.width;
        self.height = fresh.height;
        self.data.clear();
        self.data.extend_from_slice(&fresh.data);
        Ok(())
    }
}

/// The size of a picture made `factor` times smaller each way (even, as
/// I420 needs, and never under 2x2).
pub fn scaled_size(width: u32, height: u32, factor: u32) -> (u32, u32) {
    let f = factor.max(1);
    (((width / f) & !1).max(2), ((height / f) & !1).max(2))
}

/// Writes `src` made `factor` times smaller each way into `dst`, which must
/// have `scaled_size`: each pixel the mean of the `factor`×`factor` block
/// it stands for. Allocates nothing (it runs once a frame).
pub fn downscale(src: &VideoFrame, factor: u32, dst: &mut VideoFrame) -> Result<()> {
    let f = factor.max(1) as usize;
    let fits = dst.width as usize * f <= src.width as usize
        && dst.height as usize * f <= src.height as usize;
    if !fits || (dst.width, dst.height) != scaled_size(src.width, src.height, factor) {
        return Err(MediaError::InvalidParameter(format!(
            "cannot scale {}x{} by 1/{factor} into {}x{}",
            src.width, src.height, dst.width, dst.height
        )));
    }
    let (sw, dw, dh) = (src.width as usize, dst.width as usize, dst.height as usize);
    let (dy, du, dv) = dst.planes_mut();
    box_average(src.y(), sw, dy, dw, dh, f);
    box_average(src.u(), sw / 2, du, dw / 2, dh / 2, f);
    box_average(src.v(), sw / 2, dv, dw / 2, dh / 2, f);
    Ok(())
}

/// One plane: `dst` (`dw`×`dh`, tightly packed) from blocks of `src`
/// (stride `stride`), which is at least `f` times larger each way.
fn box_average(src: &[u8], stride: usize, dst: &mut [u8], dw: usize, dh: usize, f: usize) {
    let area = (f * f) as u32;
    for (y, row) in dst.chunks_exact_mut(dw).take(dh).enumerate() {
        for (x, px) in row.iter_mut().enumerate() {
            let mut sum = area / 2;
            for sy in y * f..y * f + f {
                let line = &src[sy * stride + x * f..sy * stride + x * f + f];
                sum += line.iter().map(|&v| u32::from(v)).sum::<u32>();
            }
            *px = (sum / area) as u8;
        }
    }
}

/// Peak signal-to-noise ratio of the luma planes of two frames of equal size,
/// in dB (capped at 100 for identical pictures).
/// The mean luma of a 64x36 grid of points of `frame`, and how far apart
/// its darkest and brightest points are: how bright the picture is and
/// whether it is flat, cheaply (2304 reads whatever its size).
pub fn sampled_luma(frame: &VideoFrame) -> (u8, u8) {
    const COLUMNS: usize = 64;
    const ROWS: usize = 36;
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let y = frame.y();
    let (mut sum, mut low, mut high) = (0u64, u8::MAX, 0u8);
    for row in 0..ROWS {
        let line = &y[(row * h / ROWS) * w..];
        for column in 0..COLUMNS {
            let luma = line[column * w / COLUMNS];
            sum += u64::from(luma);
            low = low.min(luma);
            high = high.max(luma);
        }
    }
    ((sum / (COLUMNS * ROWS) as u64) as u8, high - low)
}

pub fn psnr_luma(a: &VideoFrame, b: &VideoFrame) -> Option<f64> {
    if a.width != b.width || a.height != b.height {
        return None;
    }
    let sse: u64 = a
        .y()
        .iter()
        .zip(b.y())
        .map(|(&x, &y)| {
            let d = x as i64 - y as i64;
            (d * d) as u64
        })
        .sum();
    if sse == 0 {
        return Some(100.0);
    }
    let mse = sse as f64 / a.luma_len() as f64;
    Some(10.0 * (255.0 * 255.0 / mse).log10())
}

/// 10 ms of mono audio at 48 kHz, 16-bit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioFrame {
    pub samples: [i16; AUDIO_FRAME_SAMPLES],
}

impl Default for AudioFrame {
    fn default() -> Self {
        Self {
            samples: [0; AUDIO_FRAME_SAMPLES],
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sampled_luma_is_the_pictures_brightness() {
        let mut f = VideoFrame::new(1280, 720).expect("a frame");
        assert_eq!(sampled_luma(&f), (16, 0), "black, flat");
        f.planes_mut().0.fill(235);
        assert_eq!(sampled_luma(&f), (235, 0), "white, flat");
        // Half white, half black (top and bottom).
        let (y, _, _) = f.planes_mut();
        y[..1280 * 360].fill(16);
        assert_eq!(sampled_luma(&f), (125, 219));
        // The smallest frame is read within its bounds.
        assert_eq!(sampled_luma(&VideoFrame::new(2, 2).expect("tiny")), (16, 0));
    }

    #[test]
    fn a_picture_halved_keeps_its_blocks_means_and_its_stamp() {
        use crate::pattern::{TestPattern, read_stamp};
        let mut pattern = TestPattern::new(640, 360).expect("valid size");
        let mut full = VideoFrame::new(2, 2).expect("valid size");
        let stamp = pattern
            .draw_next(&mut full, 1_700_000_000_000_000)
            .expect("draw");
        for factor in [2, 4] {
            let (w, h) = scaled_size(640, 360, factor);
            let mut small = VideoFrame::new(w, h).expect("valid size");
            downscale(&full, factor, &mut small).expect("scales");
            assert_eq!(read_stamp(&small), Some(stamp), "1/{factor}");
        }
        // Means, rounded, of each 2x2 block; the chroma planes too.
        let mut tiny = VideoFrame::new(4, 4).expect("valid size");
        let (y, u, v) = tiny.planes_mut();
        y.copy_from_slice(&[0, 10, 100, 101, 20, 30, 200, 201, 1, 1, 1, 1, 3, 3, 3, 3]);
        u.copy_from_slice(&[50, 60, 70, 80]);
        v.copy_from_slice(&[7, 9, 9, 9]);
        let mut half = VideoFrame::new(2, 2).expect("valid size");
        downscale(&tiny, 2, &mut half).expect("scales");
        assert_eq!(half.y(), &[15, 151, 2, 2]);
        assert_eq!((half.u(), half.v()), (&[65][..], &[9][..]));
        // A size that does not fit, or a picture too small for the factor.
        assert!(downscale(&tiny, 3, &mut half).is_err());
        assert!(downscale(&tiny, 4, &mut half).is_err());
    }

    use super::*;

    #[test]
    fn rejects_odd_and_empty_sizes() {
        assert!(VideoFrame::new(0, 2).is_err());
        assert!(VideoFrame::new(3, 2).is_err());
        assert!(VideoFrame::new(2, 5).is_err());
        assert!(VideoFrame::new(100_000, 2).is_err());
        let f = VideoFrame::new(4, 2).expect("valid size");
        assert_eq!(f.y().len(), 8);
        assert_eq!(f.u().len(), 2);
        assert_eq!(f.v().len(), 2);
    }

    #[test]
    fn psnr_of_identical_and_different_frames() {
        let a = VideoFrame::new(16, 16).expect("valid size");
        let mut b = a.clone();
        assert_eq!(psnr_luma(&a, &b), Some(100.0));
        b.planes_mut().0.fill(26);
        let p = psnr_luma(&a, &b).expect("same size");
        assert!((p - 28.13).abs() < 0.01, "psnr {p}");
        assert_eq!(psnr_luma(&a, &VideoFrame::new(8, 8).expect("valid")), None);
    }
}
