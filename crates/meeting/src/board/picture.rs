//! A board as a picture, made on this device only: the strokes drawn over
//! white (the whiteboard) or over the shared screen as last seen
//! (annotation), saved as PNG.
//!
//! Each stroke is first drawn as coverage into a mask of its own, then
//! blended once, so a see-through highlighter is evenly see-through where
//! its segments overlap. Text uses the fonts the system has (the first
//! that has each character), as the window does.

use std::sync::OnceLock;

use ab_glyph::{Font, FontVec, PxScale, ScaleFont, point};
use image::RgbImage;

use super::{Stroke, Tool, UNITS};
use crate::error::MeetingError;

/// The whiteboard's picture when there is no screen under it: 16:9.
pub const BOARD_WIDTH: u32 = 1600;
pub const BOARD_HEIGHT: u32 = 900;
/// The widest picture of a screen saved (wider screens are scaled down):
/// bounds the work of drawing strokes over it.
pub const MAX_PICTURE_WIDTH: usize = 2560;
/// How see-through the highlighter is.
const HIGHLIGHTER_ALPHA: f32 = 0.35;
/// Segments of an ellipse's outline.
const ELLIPSE_SEGMENTS: usize = 96;

/// Fonts looked for, in order: Latin first, then CJK, on Linux, Windows
/// and macOS.
const FONT_FILES: [&str; 10] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "C:\\Windows\\Fonts\\segoeui.ttf",
    "C:\\Windows\\Fonts\\msyh.ttc",
    "/System/Library/Fonts/Helvetica.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
];

fn fonts() -> &'static [FontVec] {
    static FONTS: OnceLock<Vec<FontVec>> = OnceLock::new();
    FONTS.get_or_init(|| {
        FONT_FILES
            .iter()
            .filter_map(|path| std::fs::read(path).ok())
            .filter_map(|bytes| FontVec::try_from_vec_and_index(bytes, 0).ok())
            .collect()
    })
}

/// Whether text can be drawn into pictures here (some font was found).
pub fn has_fonts() -> bool {
    !fonts().is_empty()
}

/// A blank whiteboard.
pub fn blank_board() -> RgbImage {
    RgbImage::from_pixel(BOARD_WIDTH, BOARD_HEIGHT, image::Rgb([255, 255, 255]))
}

/// A picture of a screen from a frame as tiles hold it (see
/// `talkline_media::display`): its header, then the I420 planes; made at
/// most `MAX_PICTURE_WIDTH` wide (an 8K screen is saved at 2560).
pub fn from_frame(frame: &[u8]) -> Option<RgbImage> {
    use talkline_media::display::{FRAME_HEADER_BYTES, parse_header};
    use talkline_media::to_screen::rgb_picture;
    let (_, width, height) = parse_header(frame)?;
    let (w, h) = (width as usize, height as usize);
    if w == 0 || h == 0 || w > 8192 || h > 8192 {
        return None;
    }
    let (tw, th) = if w > MAX_PICTURE_WIDTH {
        (MAX_PICTURE_WIDTH, (h * MAX_PICTURE_WIDTH / w).max(1))
    } else {
        (w, h)
    };
    let rgb = rgb_picture(frame.get(FRAME_HEADER_BYTES..)?, w, h, tw, th)?;
    RgbImage::from_raw(u32::try_from(tw).ok()?, u32::try_from(th).ok()?, rgb)
}

/// Draws `strokes` over `picture`, first drawn first.
pub fn draw_strokes(picture: &mut RgbImage, strokes: &[Stroke]) {
    for stroke in strokes {
        draw_stroke(picture, stroke);
    }
}

/// The picture as PNG.
pub fn png(picture: &RgbImage) -> Result<Vec<u8>, MeetingError> {
    let mut out = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| MeetingError::BoardPicture(e.to_string()))?;
    Ok(out.into_inner())
}

/// Coverage of one stroke over a part of the picture.
struct Mask {
    x0: i64,
    y0: i64,
    w: i64,
    h: i64,
    cover: Vec<f32>,
}

impl Mask {
    /// A mask over the box (x0, y0)–(x1, y1), cut to a picture of
    /// `width` by `height`.
    fn new(b: (f32, f32, f32, f32), width: u32, height: u32) -> Option<Self> {
        let x0 = (b.0.floor() as i64).max(0);
        let y0 = (b.1.floor() as i64).max(0);
        let x1 = (b.2.ceil() as i64).min(i64::from(width));
        let y1 = (b.3.ceil() as i64).min(i64::from(height));
        let (w, h) = (x1 - x0, y1 - y0);
        if w <= 0 || h <= 0 {
            return None;
        }
        Some(Self {
            x0,
            y0,
            w,
            h,
            cover: vec![0.0; (w * h) as usize],
        })
    }

    fn add(&mut self, x: i64, y: i64, c: f32) {
        let (mx, my) = (x - self.x0, y - self.y0);
        if mx >= 0 && my >= 0 && mx < self.w && my < self.h {
            let at = (my * self.w + mx) as usize;
            self.cover[at] = self.cover[at].max(c.clamp(0.0, 1.0));
        }
    }

    /// A segment `r` wide on each side, with round ends.
    fn segment(&mut self, a: (f32, f32), b: (f32, f32), r: f32) {
        let reach = r + 1.0;
        // Only the pixels the mask has.
        let x_from = ((a.0.min(b.0) - reach).floor() as i64).max(self.x0);
        let x_to = ((a.0.max(b.0) + reach).ceil() as i64).min(self.x0 + self.w - 1);
        let y_from = ((a.1.min(b.1) - reach).floor() as i64).max(self.y0);
        let y_to = ((a.1.max(b.1) + reach).ceil() as i64).min(self.y0 + self.h - 1);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = dx * dx + dy * dy;
        for y in y_from..=y_to {
            for x in x_from..=x_to {
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                let t = if len2 > 0.0 {
                    (((px - a.0) * dx + (py - a.1) * dy) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (cx, cy) = (a.0 + t * dx - px, a.1 + t * dy - py);
                let d = (cx * cx + cy * cy).sqrt();
                self.add(x, y, r + 0.5 - d);
            }
        }
    }

    fn blend(&self, picture: &mut RgbImage, color: [u8; 3], alpha: f32) {
        for my in 0..self.h {
            for mx in 0..self.w {
                let c = self.cover[(my * self.w + mx) as usize] * alpha;
                if c <= 0.0 {
                    continue;
                }
                let p = picture.get_pixel_mut((self.x0 + mx) as u32, (self.y0 + my) as u32);
                for (channel, target) in p.0.iter_mut().zip(color) {
                    *channel =
                        (f32::from(*channel) * (1.0 - c) + f32::from(target) * c).round() as u8;
                }
            }
        }
    }
}

fn draw_stroke(picture: &mut RgbImage, stroke: &Stroke) {
    // Strokes received were checked; one made by hand may not be.
    if stroke.drawn.check().is_err() {
        return;
    }
    let (w, h) = (picture.width() as f32, picture.height() as f32);
    let units = f32::from(UNITS);
    let at = |p: [u16; 2]| (f32::from(p[0]) * w / units, f32::from(p[1]) * h / units);
    let s = &stroke.drawn;
    let size = (f32::from(s.width) * w / units).max(1.0);
    let r = size / 2.0;
    let points: Vec<(f32, f32)> = s.points.iter().copied().map(at).collect();
    if s.tool == Tool::Text {
        draw_text(picture, points[0], &s.text, size, s.color);
        return;
    }
    let segments = outline(s.tool, &points, r, w);
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for (a, b) in &segments {
        x0 = x0.min(a.0).min(b.0);
        y0 = y0.min(a.1).min(b.1);
        x1 = x1.max(a.0).max(b.0);
        y1 = y1.max(a.1).max(b.1);
    }
    let Some(mut mask) = Mask::new(
        (x0 - r - 1.0, y0 - r - 1.0, x1 + r + 1.0, y1 + r + 1.0),
        picture.width(),
        picture.height(),
    ) else {
        return;
    };
    for (a, b) in segments {
        mask.segment(a, b, r);
    }
    let alpha = if s.tool == Tool::Highlighter {
        HIGHLIGHTER_ALPHA
    } else {
        1.0
    };
    mask.blend(picture, s.color, alpha);
}

/// The segments that draw a stroke of `tool` through `points`.
fn outline(tool: Tool, points: &[(f32, f32)], r: f32, width: f32) -> Vec<((f32, f32), (f32, f32))> {
    match tool {
        Tool::Pen | Tool::Highlighter => {
            if points.len() == 1 {
                return vec![(points[0], points[0])];
            }
            points.windows(2).map(|p| (p[0], p[1])).collect()
        }
        Tool::Line => vec![(points[0], points[1])],
        Tool::Arrow => {
            let (a, b) = (points[0], points[1]);
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            let len = (dx * dx + dy * dy).sqrt().max(1.0);
            // The head: a fixed share of the board, and never thinner
            // than the line can show.
            let head = (width * 0.02).max(r * 4.0).min(len * 0.6);
            let (ux, uy) = (dx / len, dy / len);
            let (c, s) = (0.906_f32, 0.423_f32); // cos and sin of 25°
            let left = (
                b.0 - head * (ux * c - uy * s),
                b.1 - head * (uy * c + ux * s),
            );
            let right = (
                b.0 - head * (ux * c + uy * s),
                b.1 - head * (uy * c - ux * s),
            );
            vec![(a, b), (b, left), (b, right)]
        }
        Tool::Rectangle => {
            let (a, b) = (points[0], points[1]);
            let corners = [a, (b.0, a.1), b, (a.0, b.1)];
            (0..4).map(|i| (corners[i], corners[(i + 1) % 4])).collect()
        }
        Tool::Ellipse => {
            let (a, b) = (points[0], points[1]);
            let (cx, cy) = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
            let (rx, ry) = ((b.0 - a.0).abs() / 2.0, (b.1 - a.1).abs() / 2.0);
            let at = |i: usize| {
                let t = i as f32 / ELLIPSE_SEGMENTS as f32 * std::f32::consts::TAU;
                (cx + rx * t.cos(), cy + ry * t.sin())
            };
            (0..ELLIPSE_SEGMENTS).map(|i| (at(i), at(i + 1))).collect()
        }
        Tool::Text => Vec::new(),
    }
}

/// A line of text whose top left is `at`, `size` high.
fn draw_text(picture: &mut RgbImage, at: (f32, f32), text: &str, size: f32, color: [u8; 3]) {
    let fonts = fonts();
    if fonts.is_empty() {
        log::warn!("no font found: a text box is left out of the picture");
        return;
    }
    // `size` is the em, as the window's CSS font size is; ab_glyph's
    // scale is the height from ascent to descent.
    let em = |font: &FontVec| {
        let per_em = font.units_per_em().unwrap_or(1000.0).max(1.0);
        PxScale::from(size * font.height_unscaled() / per_em)
    };
    let ascent = fonts[0].as_scaled(em(&fonts[0])).ascent();
    let mut x = at.0;
    let (width, height) = (picture.width(), picture.height());
    // One mask for the line, over the rows it can touch.
    let Some(mut mask) = Mask::new(
        (0.0, at.1 - size, width as f32, at.1 + size * 2.0),
        width,
        height,
    ) else {
        return;
    };
    for c in text.chars() {
        let font = fonts
            .iter()
            .find(|f| f.glyph_id(c).0 != 0)
            .unwrap_or(&fonts[0]);
        let scale = em(font);
        let scaled = font.as_scaled(scale);
        let id = font.glyph_id(c);
        let glyph = id.with_scale_and_position(scale, point(x, at.1 + ascent));
        x += scaled.h_advance(id);
        if let Some(outlined) = font.outline_glyph(glyph) {
            let bounds = outlined.px_bounds();
            outlined.draw(|gx, gy, cover| {
                mask.add(
                    bounds.min.x as i64 + i64::from(gx),
                    bounds.min.y as i64 + i64::from(gy),
                    cover,
                );
            });
        }
    }
    mask.blend(picture, color, 1.0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::NewStroke;

    fn stroke(tool: Tool, points: Vec<[u16; 2]>, width: u16, text: &str) -> Stroke {
        Stroke {
            id: "ann/1".into(),
            by: "Ann".into(),
            own: false,
            drawn: NewStroke {
                tool,
                color: [200, 0, 0],
                width,
                points,
                text: text.into(),
            },
        }
    }

    fn red(p: &image::Rgb<u8>) -> bool {
        p.0[0] > 150 && p.0[1] < 80 && p.0[2] < 80
    }

    #[test]
    fn a_line_is_drawn_where_it_was_put_and_nowhere_else() {
        let mut picture = blank_board();
        // Across the middle, 1/100 of the width thick (16 px).
        let line = stroke(Tool::Line, vec![[1000, 5000], [9000, 5000]], 100, "");
        draw_strokes(&mut picture, &[line]);
        assert!(red(picture.get_pixel(800, 450)));
        assert!(red(picture.get_pixel(800, 443)));
        assert!(!red(picture.get_pixel(800, 470)), "thicker than drawn");
        assert!(!red(picture.get_pixel(100, 450)), "longer than drawn");
        assert_eq!(picture.get_pixel(800, 100).0, [255, 255, 255]);
    }

    #[test]
    fn shapes_are_outlines_and_the_highlighter_is_see_through() {
        let mut picture = blank_board();
        let rect = stroke(Tool::Rectangle, vec![[1000, 1000], [5000, 5000]], 30, "");
        let ellipse = stroke(Tool::Ellipse, vec![[5000, 5000], [9000, 9000]], 30, "");
        let arrow = stroke(Tool::Arrow, vec![[1000, 9000], [4000, 9000]], 30, "");
        let marker = stroke(
            Tool::Highlighter,
            vec![[6000, 1000], [8000, 1000], [6000, 1000]],
            200,
            "",
        );
        draw_strokes(&mut picture, &[rect, ellipse, arrow, marker]);
        assert!(red(picture.get_pixel(160, 200)), "the rectangle's side");
        assert_eq!(picture.get_pixel(480, 270).0, [255, 255, 255], "inside it");
        assert!(red(picture.get_pixel(1120, 450)), "the ellipse's top");
        assert!(red(picture.get_pixel(1439, 630)), "the ellipse's right");
        assert_eq!(picture.get_pixel(1120, 630).0, [255, 255, 255]);
        // The arrow's head reaches above and below its shaft.
        let head = (600..640).any(|x| red(picture.get_pixel(x, 800)));
        assert!(head, "no arrow head");
        // Drawn twice over the same place, still as light as once.
        let once = picture.get_pixel(1120, 90).0;
        assert!(once[1] > 120 && once[1] < 200 && once[0] > 200, "{once:?}");
    }

    #[test]
    fn text_is_drawn_when_the_system_has_a_font() {
        // scripts/setup-debian.sh installs a Chinese font with Latin letters.
        assert!(has_fonts(), "no font found");
        let mut picture = blank_board();
        let text = stroke(Tool::Text, vec![[1000, 1000]], 400, "Hi 你好");
        draw_strokes(&mut picture, &[text]);
        let inked = |x0: u32, x1: u32| {
            (x0..x1)
                .flat_map(|x| (90..180).map(move |y| (x, y)))
                .filter(|&(x, y)| picture.get_pixel(x, y).0[1] < 128)
                .count()
        };
        assert!(inked(160, 240) > 100, "no Latin letters");
        assert!(inked(0, 150) == 0, "ink before the text box");
    }

    #[test]
    fn a_picture_is_a_png() {
        let bytes = png(&blank_board()).expect("encodes");
        let back = image::load_from_memory(&bytes).expect("decodes");
        assert_eq!((back.width(), back.height()), (BOARD_WIDTH, BOARD_HEIGHT));
    }
}
