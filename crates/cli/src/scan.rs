//! `talkline join --qr FILE`: the meeting in a QR code, read from a picture
//! (PNG or JPEG) or from a Y4M recording played as a camera would be.

use std::path::Path;

use talkline_media::VideoFrame;
use talkline_media::y4m::Y4mSource;
use talkline_meeting::MeetingLink;
use talkline_meeting::qr::{self, ScanError};

use crate::said::{said, say};

/// How many frames of a recording are searched before giving up: ten
/// seconds at 30 fps (a recording loops, so it must end somewhere).
const MAX_RECORDING_FRAMES: usize = 300;
/// Larger files are not a picture of a code.
const MAX_PICTURE_BYTES: u64 = 32 * 1024 * 1024;

/// The meeting in the code in `path`; the error is the user's to read.
pub fn meeting_in_file(path: &Path) -> Result<MeetingLink, String> {
    let is_recording = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("y4m"));
    let found = if is_recording {
        meeting_in_recording(path)?
    } else {
        let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
        if size > MAX_PICTURE_BYTES {
            let megabytes = MAX_PICTURE_BYTES / (1024 * 1024);
            return Err(say!(
                "the picture is larger than {megabytes} MB",
                "图片大于 {megabytes} MB"
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        qr::scan_image(&bytes).map_err(|e| said(&e))?
    };
    Ok(found.link)
}

/// Searches a recording frame by frame: the first TalkLine code wins; a
/// foreign code is reported only if no meeting code follows it.
fn meeting_in_recording(path: &Path) -> Result<qr::ScannedLink, String> {
    let mut source = Y4mSource::open(path).map_err(|e| said(&e))?;
    let mut frame = VideoFrame::new(source.width(), source.height()).map_err(|e| said(&e))?;
    let mut refusal = None;
    for _ in 0..MAX_RECORDING_FRAMES {
        source.next_frame(&mut frame).map_err(|e| said(&e))?;
        match qr::scan_frame(&frame) {
            Ok(Some(found)) => return Ok(found),
            Ok(None) => {}
            Err(e) => {
                refusal.get_or_insert(e);
            }
        }
    }
    Err(said(&refusal.unwrap_or(ScanError::NoCode)))
}
