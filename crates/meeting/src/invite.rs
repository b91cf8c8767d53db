//! A meeting's invitation drawn as a QR code, for someone to scan with
//! TalkLine (the meeting's Invite panel, `talkline invite`). What it holds
//! is the canonical link and nothing else, which is exactly what scanning
//! (`qr`) accepts.

use qrcode::{Color, EcLevel, QrCode};

use crate::link::{LinkError, MeetingLink};

/// The light margin, in modules, a scanner needs around a code (the QR
/// standard's quiet zone).
pub const QUIET_ZONE: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingQrCode {
    /// Modules a side.
    width: usize,
    /// Row by row: whether each module is dark.
    dark: Vec<bool>,
}

impl MeetingQrCode {
    /// The code of `link`, which must name its server: a bare meeting ID
    /// would mean another meeting on every scanner's own default server,
    /// and scanning refuses bare numbers.
    pub fn of(link: &MeetingLink) -> Result<Self, LinkError> {
        if link.server.is_none() {
            return Err(LinkError::Missing("server"));
        }
        // Medium error correction: it still reads off a screen with glare
        // or a creased printout, and a long link stays a small code.
        let code = QrCode::with_error_correction_level(link.to_string(), EcLevel::M)
            .map_err(|_| LinkError::TooLong)?;
        let width = code.width();
        let dark = code
            .into_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        Ok(Self { width, dark })
    }

    /// Modules a side, without the quiet zone.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module at column `x`, row `y` is dark; outside the code
    /// (the quiet zone) nothing is.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.dark[y * self.width + x]
    }

    /// The modules row by row as '1' (dark) and '0', the form the window
    /// draws from.
    pub fn rows(&self) -> String {
        self.dark
            .iter()
            .map(|&d| if d { '1' } else { '0' })
            .collect()
    }

    /// The code as a grey picture, `scale` pixels a module, its quiet zone
    /// included: the side in pixels and the pixels row by row.
    pub fn to_luma(&self, scale: usize) -> (usize, Vec<u8>) {
        let scale = scale.max(1);
        let side = (self.width + 2 * QUIET_ZONE) * scale;
        let mut pixels = vec![255u8; side * side];
        for (i, px) in pixels.iter_mut().enumerate() {
            let (x, y) = ((i % side) / scale, (i / side) / scale);
            let module = |v: usize| v.checked_sub(QUIET_ZONE);
            if let (Some(mx), Some(my)) = (module(x), module(y))
                && self.is_dark(mx, my)
            {
                *px = 0;
            }
        }
        (side, pixels)
    }

    /// The code as a PNG picture (see `to_luma`).
    pub fn to_png(&self, scale: usize) -> Result<Vec<u8>, String> {
        use image::ImageEncoder;
        let (side, luma) = self.to_luma(scale);
        let side = u32::try_from(side).map_err(|_| "the code is too large".to_string())?;
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(&luma, side, side, image::ExtendedColorType::L8)
            .map_err(|e| e.to_string())?;
        Ok(png)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qr::scan_frame;
    use talkline_media::VideoFrame;

    fn frame_of(code: &MeetingQrCode, scale: usize) -> VideoFrame {
        let (side, luma) = code.to_luma(scale);
        let mut frame = VideoFrame::new(side as u32, side as u32).expect("frame");
        let (y, u, v) = frame.planes_mut();
        y.copy_from_slice(&luma);
        u.fill(128);
        v.fill(128);
        frame
    }

    #[test]
    fn a_drawn_invitation_scans_back_to_the_same_meeting() {
        for text in [
            "talkline://join?server=ws://127.0.0.1:8188&room=1234",
            "talkline://join?server=wss://meet.example.org:8989/janus&room=99&pin=s%C3%A9same%20ouvre",
        ] {
            let link = MeetingLink::parse(text).expect("link");
            let code = MeetingQrCode::of(&link).expect("code");
            let scanned = scan_frame(&frame_of(&code, 6))
                .expect("a meeting")
                .expect("a code");
            assert_eq!(scanned.link, link, "{text}");
            assert_eq!(scanned.payload, link.to_string());
        }
    }

    #[test]
    fn a_bare_meeting_id_is_no_invitation() {
        let link = MeetingLink::parse("123 456").expect("id");
        assert_eq!(MeetingQrCode::of(&link), Err(LinkError::Missing("server")));
    }

    #[test]
    fn the_picture_has_its_quiet_zone_and_one_square_per_module() {
        let link = MeetingLink::parse("talkline://join?server=ws://h:1&room=1").expect("link");
        let code = MeetingQrCode::of(&link).expect("code");
        let (side, luma) = code.to_luma(3);
        assert_eq!(side, (code.width() + 2 * QUIET_ZONE) * 3);
        // The margin is light all round; the finder pattern's corner dark.
        assert!(luma[..side * QUIET_ZONE * 3].iter().all(|&p| p == 255));
        let corner = QUIET_ZONE * 3;
        assert_eq!(luma[corner * side + corner], 0);
        assert_eq!(code.rows().len(), code.width() * code.width());
        assert!(code.is_dark(0, 0) && !code.is_dark(code.width(), 0));
    }
}
