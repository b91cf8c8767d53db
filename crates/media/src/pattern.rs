//! A moving test pattern that carries its frame number and capture time in
//! the picture itself, in cells big enough to survive lossy coding, so that a
//! receiver can count frames and measure glass-to-glass latency.

use crate::error::{MediaError, Result};
use crate::frame::VideoFrame;

const CODE_COLS: u32 = 22;
const CODE_ROWS: u32 = 4;
const CODE_BITS: u32 = CODE_COLS * CODE_ROWS; // 32 frame number + 48 time + 8 CRC
const MIN_CELL: u32 = 8;
const BLACK: u8 = 16;
const WHITE: u8 = 235;

/// What the pattern stamps into each frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PatternStamp {
    pub frame_number: u32,
    /// Capture time, milliseconds since the Unix epoch (48 bits kept).
    pub capture_time_ms: u64,
}

struct CodeGeometry {
    cell_w: u32,
    cell_h: u32,
}

fn geometry(width: u32, height: u32) -> Option<CodeGeometry> {
    let cell_w = width / CODE_COLS;
    let cell_h = (height / 20).max(MIN_CELL) & !1;
    if cell_w < MIN_CELL || cell_h * CODE_ROWS + 16 > height {
        return None;
    }
    Some(CodeGeometry { cell_w, cell_h })
}

/// CRC-8 (polynomial 0x07) over the payload bits, so a misread stamp is
/// rejected instead of reported as a wrong frame number. The final XOR keeps
/// an all-black or all-white picture from reading as a valid stamp.
fn crc8(mut value: u128, bits: u32) -> u8 {
    let mut crc: u8 = 0;
    for _ in 0..bits {
        let bit = ((value >> (bits - 1)) & 1) as u8;
        value <<= 1;
        let top = (crc >> 7) & 1;
        crc <<= 1;
        if top ^ bit == 1 {
            crc ^= 0x07;
        }
    }
    crc ^ 0xA5
}

fn encode_bits(stamp: PatternStamp) -> u128 {
    let payload =
        ((stamp.frame_number as u128) << 48) | (stamp.capture_time_ms as u128 & 0xFFFF_FFFF_FFFF);
    (payload << 8) | crc8(payload, 80) as u128
}

/// Generates the pattern. Drawing writes into a caller-owned frame, so the
/// steady state allocates nothing.
#[derive(Debug)]
pub struct TestPattern {
    width: u32,
    height: u32,
    frame_number: u32,
}

impl TestPattern {
    /// The smallest pattern is 176x144 (QCIF); sizes must be even.
    pub fn new(width: u32, height: u32) -> Result<Self> {
        VideoFrame::new(width, height)?;
        if geometry(width, height).is_none() {
            return Err(MediaError::InvalidParameter(format!(
                "test pattern {width}x{height} is too small: the smallest is 176x144"
            )));
        }
        Ok(Self {
            width,
            height,
            frame_number: 0,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Draws the next frame, stamped with `capture_time_us`.
    pub fn draw_next(
        &mut self,
        frame: &mut VideoFrame,
        capture_time_us: u64,
    ) -> Result<PatternStamp> {
        frame.reshape(self.width, self.height)?;
        let stamp = PatternStamp {
            frame_number: self.frame_number,
            capture_time_ms: capture_time_us / 1000,
        };
        self.frame_number = self.frame_number.wrapping_add(1);
        frame.capture_time_us = capture_time_us;
        draw(frame, stamp);
        Ok(stamp)
    }
}

fn draw(frame: &mut VideoFrame, stamp: PatternStamp) {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let Some(geo) = geometry(w as u32, h as u32) else {
        return;
    };
    let band_h = (geo.cell_h * CODE_ROWS) as usize;
    let t = stamp.frame_number as usize;
    let (y_plane, u_plane, v_plane) = frame.planes_mut();

    // Moving diagonal bars under the code band, and a square that bounces
    // horizontally: real motion, so the encoder does real work.
    let square = (h / 4).max(8);
    let span = w.saturating_sub(square).max(1);
    let phase = (t * 6) % (2 * span);
    let square_x = if phase < span {
        phase
    } else {
        2 * span - phase
    };
    let square_y = band_h + (h - band_h).saturating_sub(square) / 2;
    for y in band_h..h {
        let row = &mut y_plane[y * w..(y + 1) * w];
        for (x, px) in row.iter_mut().enumerate() {
            let inside =
                x >= square_x && x < square_x + square && y >= square_y && y < square_y + square;
            *px = if inside {
                WHITE
            } else {
                (40 + ((x + y + t * 4) / 24 % 8) * 20) as u8
            };
        }
    }
    let (cw, ch) = (w / 2, h / 2);
    for y in 0..ch {
        for x in 0..cw {
            let i = y * cw + x;
            if y * 2 < band_h {
                u_plane[i] = 128;
                v_plane[i] = 128;
            } else {
                u_plane[i] = (64 + (x * 128 / cw)) as u8;
                v_plane[i] = (64 + ((y + t) % ch) * 128 / ch) as u8;
            }
        }
    }

    let bits = encode_bits(stamp);
    for y in 0..band_h {
        let row = &mut y_plane[y * w..(y + 1) * w];
        let cell_row = y as u32 / geo.cell_h;
        for (x, px) in row.iter_mut().enumerate() {
            let cell_col = x as u32 / geo.cell_w;
            *px = if cell_col >= CODE_COLS {
                BLACK
            } else {
                let index = cell_row * CODE_COLS + cell_col;
                if (bits >> (CODE_BITS - 1 - index)) & 1 == 1 {
                    WHITE
                } else {
                    BLACK
                }
            };
        }
    }
}

/// Reads the stamp back from a (possibly lossy-coded) pattern frame, also
/// one the sender scaled down by 2 or 4 on a squeezed path (the code's
/// cells are laid out for the size it was drawn at). Returns `None` when
/// the frame is not a readable pattern.
pub fn read_stamp(frame: &VideoFrame) -> Option<PatternStamp> {
    [1, 2, 4]
        .into_iter()
        .find_map(|drawn_larger| read_stamp_drawn_at(frame, drawn_larger))
}

fn read_stamp_drawn_at(frame: &VideoFrame, factor: u32) -> Option<PatternStamp> {
    let geo = geometry(frame.width() * factor, frame.height() * factor)?;
    let w = frame.y_stride();
    let y_plane = frame.y();
    let mut bits: u128 = 0;
    for index in 0..CODE_BITS {
        let (row, col) = (index / CODE_COLS, index % CODE_COLS);
        // The middle half of each cell: edges blur under compression.
        let x0 = ((col * geo.cell_w + geo.cell_w / 4) / factor) as usize;
        let y0 = ((row * geo.cell_h + geo.cell_h / 4) / factor) as usize;
        let cw = (geo.cell_w / 2 / factor).max(1) as usize;
        let chh = (geo.cell_h / 2 / factor).max(1) as usize;
        let mut sum = 0u32;
        for y in y0..y0 + chh {
            for x in x0..x0 + cw {
                sum += u32::from(*y_plane.get(y * w + x)?);
            }
        }
        let mean = sum / (cw * chh) as u32;
        bits = (bits << 1) | (mean > (BLACK as u32 + WHITE as u32) / 2) as u128;
    }
    let payload = bits >> 8;
    if crc8(payload, 80) != (bits & 0xFF) as u8 {
        return None;
    }
    Some(PatternStamp {
        frame_number: (payload >> 48) as u32,
        capture_time_ms: (payload & 0xFFFF_FFFF_FFFF) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_round_trips_at_many_sizes() {
        for (w, h) in [
            (176, 144),
            (320, 240),
            (640, 360),
            (1280, 720),
            (1920, 1080),
        ] {
            let mut pattern = TestPattern::new(w, h).expect("valid size");
            let mut frame = VideoFrame::new(2, 2).expect("valid size");
            for i in 0..3u64 {
                let t = 1_700_000_000_123_000 + i * 33_000;
                let stamp = pattern.draw_next(&mut frame, t).expect("draw");
                assert_eq!(read_stamp(&frame), Some(stamp), "{w}x{h}");
                assert_eq!(stamp.frame_number as u64, i);
                assert_eq!(stamp.capture_time_ms, t / 1000);
            }
        }
    }

    #[test]
    fn survives_noise_and_rejects_garbage() {
        let mut pattern = TestPattern::new(640, 360).expect("valid size");
        let mut frame = VideoFrame::new(640, 360).expect("valid size");
        let stamp = pattern.draw_next(&mut frame, 42_000).expect("draw");
        // Deterministic noise of +-40 on every luma sample.
        let mut seed = 12345u32;
        for px in frame.planes_mut().0.iter_mut() {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let noise = (seed >> 16) as i32 % 81 - 40;
            *px = (*px as i32 + noise).clamp(0, 255) as u8;
        }
        assert_eq!(read_stamp(&frame), Some(stamp));
        let grey = VideoFrame::new(640, 360).expect("valid size");
        assert_eq!(read_stamp(&grey), None);
        // Flip one cell: the CRC must catch it.
        let mut frame = VideoFrame::new(640, 360).expect("valid size");
        pattern.draw_next(&mut frame, 42_000).expect("draw");
        let cell_w = 640 / CODE_COLS as usize;
        for y in 0..18 {
            for x in 0..cell_w {
                let px = &mut frame.planes_mut().0[y * 640 + x];
                *px = if *px > 128 { BLACK } else { WHITE };
            }
        }
        assert_eq!(read_stamp(&frame), None);
    }

    #[test]
    fn too_small_is_an_error() {
        assert!(TestPattern::new(64, 64).is_err());
        assert!(TestPattern::new(175, 144).is_err());
    }

    #[test]
    fn consecutive_frames_differ_below_the_band() {
        let mut pattern = TestPattern::new(320, 240).expect("valid size");
        let mut a = VideoFrame::new(320, 240).expect("valid size");
        let mut b = a.clone();
        pattern.draw_next(&mut a, 0).expect("draw");
        pattern.draw_next(&mut b, 0).expect("draw");
        assert_ne!(&a.y()[320 * 100..], &b.y()[320 * 100..]);
    }
}
