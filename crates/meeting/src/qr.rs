//! Meeting QR codes: finds a QR code in a picture (a camera frame's luma
//! plane, or a PNG/JPEG file) and reads its payload through the one link
//! parser (`link`). A meeting QR code holds a meeting link
//! (`talkline://join?…`, or its web form `https://…/join?server=…`) and
//! nothing else; anything else is refused with an error the user can read.
//!
//! Decoding a 640x360 frame takes a few milliseconds and a 1280x720 one
//! about 20 ms: callers run it on a scan worker, never on the capture thread.

use std::panic::{AssertUnwindSafe, catch_unwind};

use talkline_media::VideoFrame;

use crate::link::{LinkError, MeetingLink};

/// Pictures larger than this (a side, in pixels) are scaled down before the
/// search: a phone photo would otherwise take a second to search, and a
/// code that fills a fair part of it stays readable.
const MAX_SEARCH_SIDE: u32 = 2048;
/// How much of a foreign web address the error quotes.
const MAX_QUOTED_HOST: usize = 64;

/// Why a picture did not give a meeting. Messages are written for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    #[error("no QR code found in the picture")]
    NoCode,
    #[error("a QR code was found but could not be read; try a sharper or larger picture")]
    Unreadable,
    #[error("this QR code is not a TalkLine meeting: it opens the web page {0}")]
    WebAddress(String),
    #[error("this QR code is not a TalkLine meeting: it holds only a number, not a meeting link")]
    BareNumber,
    #[error("this QR code is not a TalkLine meeting: it holds other text")]
    OtherText,
    #[error("this QR code holds a broken TalkLine link: {0}")]
    BrokenLink(LinkError),
    #[error("the picture cannot be opened: {0}")]
    BadImage(String),
}

impl talkline_language::Translated for ScanError {
    fn chinese(&self) -> String {
        match self {
            Self::NoCode => "图片中没有找到二维码".into(),
            Self::Unreadable => "找到了二维码，但无法读取；请换一张更清晰或更大的图片".into(),
            Self::WebAddress(page) => format!("这不是 TalkLine 会议二维码：它会打开网页 {page}"),
            Self::BareNumber => "这不是 TalkLine 会议二维码：其中只有一个数字，不是会议链接".into(),
            Self::OtherText => "这不是 TalkLine 会议二维码：其中是其他文字".into(),
            Self::BrokenLink(e) => format!("这个二维码中的 TalkLine 链接已损坏：{}", e.chinese()),
            Self::BadImage(why) => format!("无法打开这张图片：{why}"),
        }
    }
}

/// A meeting read from a QR code, with the text the code held (what a scan
/// record keeps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedLink {
    pub link: MeetingLink,
    pub payload: String,
}

/// The host of an `http(s)://` address, to name it in the error.
fn web_host(payload: &str) -> Option<String> {
    let lower = payload.get(..8)?.to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &payload[8..]
    } else if lower.starts_with("http://") {
        &payload[7..]
    } else {
        return None;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host: String = rest[..end]
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_QUOTED_HOST)
        .collect();
    Some(if host.is_empty() {
        "without an address".into()
    } else {
        host
    })
}

/// Turns a QR payload into a meeting: a full TalkLine link only (either
/// form, `talkline://join?…` or `https://…/join?…`). A bare
/// number is refused because product and ticket codes are numbers too; a
/// typed meeting ID is what the meeting field is for.
pub fn link_from_payload(payload: &str) -> Result<ScannedLink, ScanError> {
    let text = payload.trim();
    match MeetingLink::parse(text) {
        Ok(link) if link.server.is_some() => Ok(ScannedLink {
            link,
            payload: text.to_string(),
        }),
        Ok(_) => Err(ScanError::BareNumber),
        Err(LinkError::NotALink | LinkError::Empty) => match web_host(text) {
            Some(host) => Err(ScanError::WebAddress(host)),
            None => Err(ScanError::OtherText),
        },
        Err(e) => Err(ScanError::BrokenLink(e)),
    }
}

/// What the search found in one picture.
enum Found {
    Nothing,
    /// Codes were seen, none could be read.
    Unreadable,
    Payloads(Vec<String>),
}

/// Searches a greyscale picture (`stride` bytes a row) for QR codes.
fn search(luma: &[u8], width: usize, height: usize, stride: usize) -> Found {
    if width == 0 || height == 0 || stride < width || luma.len() < stride * (height - 1) + width {
        return Found::Nothing;
    }
    // rqrr can panic on degenerate finder-pattern groups (its issue #54):
    // a picture from the camera or a file must never end the app.
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut image =
            rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| luma[y * stride + x]);
        let grids = image.detect_grids();
        let seen = !grids.is_empty();
        let payloads: Vec<String> = grids
            .iter()
            .filter_map(|g| g.decode().ok().map(|(_, text)| text))
            .collect();
        (seen, payloads)
    }));
    match result {
        Ok((_, payloads)) if !payloads.is_empty() => Found::Payloads(payloads),
        Ok((true, _)) => Found::Unreadable,
        Ok((false, _)) => Found::Nothing,
        Err(_) => {
            log::warn!("the QR decoder failed on a picture; treated as no code");
            Found::Nothing
        }
    }
}

/// The meeting in the best code found: a TalkLine link wins over other
/// codes in the same picture; otherwise the first code's error.
fn meeting_in(payloads: Vec<String>) -> Result<ScannedLink, ScanError> {
    let mut first_error = None;
    for payload in payloads {
        match link_from_payload(&payload) {
            Ok(found) => return Ok(found),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(ScanError::NoCode))
}

/// Looks for a meeting QR code in a camera frame (its luma plane only).
/// `Ok(None)`: no code in this frame, or one too blurred to read — the
/// next frame may do better. `Err`: a code that is not a TalkLine meeting.
pub fn scan_frame(frame: &VideoFrame) -> Result<Option<ScannedLink>, ScanError> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    match search(frame.y(), w, h, frame.y_stride()) {
        Found::Nothing | Found::Unreadable => Ok(None),
        Found::Payloads(payloads) => meeting_in(payloads).map(Some),
    }
}

/// Reads a meeting QR code from a PNG or JPEG file's bytes (the fallback
/// for machines without a camera).
pub fn scan_image(bytes: &[u8]) -> Result<ScannedLink, ScanError> {
    let decoded = talkline_media::picture::decode_picture(bytes, MAX_SEARCH_SIDE)
        .map_err(ScanError::BadImage)?;
    let luma = decoded.into_luma8();
    let (w, h) = (luma.width() as usize, luma.height() as usize);
    match search(luma.as_raw(), w, h, w) {
        Found::Nothing => Err(ScanError::NoCode),
        Found::Unreadable => Err(ScanError::Unreadable),
        Found::Payloads(payloads) => meeting_in(payloads),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_full_talkline_links_are_meetings() {
        let found =
            link_from_payload(" talkline://join?server=ws://10.0.0.5:8188&room=77&pin=a%20b\n")
                .expect("a meeting");
        assert_eq!(found.link.room, 77);
        assert_eq!(found.link.pin.as_deref(), Some("a b"));
        assert_eq!(
            found.payload,
            "talkline://join?server=ws://10.0.0.5:8188&room=77&pin=a%20b"
        );
        assert_eq!(link_from_payload("1234"), Err(ScanError::BareNumber));
        assert_eq!(
            link_from_payload("https://evil.example/pay?room=1"),
            Err(ScanError::WebAddress("evil.example".into()))
        );
        // The web form of an invitation is the same meeting.
        let web = link_from_payload("https://meet.example/join?server=ws://10.0.0.5:8188&room=77")
            .expect("a meeting");
        assert_eq!(web.link.room, 77);
        assert_eq!(
            link_from_payload("https://meet.example/join?server=ws://10.0.0.5:8188"),
            Err(ScanError::BrokenLink(LinkError::Missing("room")))
        );
        // Another service's invitation is a web page, not a broken link.
        assert_eq!(
            link_from_payload("https://zoom.example/join?confno=1"),
            Err(ScanError::WebAddress("zoom.example".into()))
        );
        assert_eq!(
            link_from_payload("WIFI:S:home;T:WPA;P:x;;"),
            Err(ScanError::OtherText)
        );
        assert_eq!(link_from_payload(""), Err(ScanError::OtherText));
        assert_eq!(
            link_from_payload("talkline://join?room=1"),
            Err(ScanError::BrokenLink(LinkError::Missing("server")))
        );
        let message = link_from_payload("http://x.test")
            .expect_err("foreign")
            .to_string();
        assert!(message.contains("not a TalkLine meeting") && message.contains("x.test"));
    }

    #[test]
    fn pictures_that_are_not_images_or_are_blank_are_errors() {
        assert!(matches!(
            scan_image(b"not a picture"),
            Err(ScanError::BadImage(_))
        ));
        assert!(matches!(scan_image(&[]), Err(ScanError::BadImage(_))));
        let blank = VideoFrame::new(64, 48).expect("frame");
        assert_eq!(scan_frame(&blank), Ok(None));
        assert!(matches!(search(&[0; 10], 100, 100, 100), Found::Nothing));
    }
}
