//! Every parser of outside input in TalkLine, driven by bytes.
//!
//! Each target takes any bytes and must neither panic, nor hang, nor
//! allocate without bound. The same functions run under libFuzzer
//! (`fuzz/`, `scripts/fuzz.sh`) and, on stable Rust, in this crate's tests,
//! which replay every corpus kept in the repository and a seeded round of
//! mutations of it.
//!
//! Where the input comes from, and so why it is here:
//! - the signaling server: `janus_signaling`, `sdp`;
//! - the network (any peer, through the SFU): `rtp_video`, `rtp_audio`,
//!   `rtcp_feedback`;
//! - other people and pictures: `meeting_link`, `qr_picture`;
//! - files the user picks: `background_picture`, `wav`, `y4m`, `ivf`;
//! - what the app wrote itself and reads back from its store (a hand-edited
//!   or damaged value must not stop the app): `stored_settings`.

mod packets;
mod text;

pub use packets::{rtcp_feedback, rtp_audio, rtp_video};
pub use text::{janus_signaling, meeting_link, sdp, stored_settings};

use talkline_media::VideoFrame;

/// A fuzz target: its name (the folder of its corpus under `fuzz/corpus`)
/// and the function that takes the bytes.
#[derive(Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
}

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    Target {
        name: "janus_signaling",
        run: janus_signaling,
    },
    Target {
        name: "sdp",
        run: sdp,
    },
    Target {
        name: "rtp_video",
        run: rtp_video,
    },
    Target {
        name: "rtp_audio",
        run: rtp_audio,
    },
    Target {
        name: "rtcp_feedback",
        run: rtcp_feedback,
    },
    Target {
        name: "meeting_link",
        run: meeting_link,
    },
    Target {
        name: "qr_picture",
        run: qr_picture,
    },
    Target {
        name: "background_picture",
        run: background_picture,
    },
    Target {
        name: "wav",
        run: wav,
    },
    Target {
        name: "y4m",
        run: y4m,
    },
    Target {
        name: "ivf",
        run: ivf,
    },
    Target {
        name: "stored_settings",
        run: stored_settings,
    },
];

/// A file that may hold a meeting QR code, and a camera frame whose
/// picture is the same bytes.
pub fn qr_picture(data: &[u8]) {
    let _ = talkline_meeting::qr::scan_image(data);
    if data.is_empty() {
        return;
    }
    let Ok(mut frame) = VideoFrame::new(64, 48) else {
        return;
    };
    let (luma, _, _) = frame.planes_mut();
    for (pixel, byte) in luma.iter_mut().zip(data.iter().cycle()) {
        *pixel = *byte;
    }
    let _ = talkline_meeting::qr::scan_frame(&frame);
}

/// A picture the user picks as a virtual background.
pub fn background_picture(data: &[u8]) {
    let _ = talkline_media::effects::load_background(data);
}

/// A WAV file played as the microphone (the CLI, tests).
pub fn wav(data: &[u8]) {
    let _ = talkline_media::wav::decode_wav(data);
}

/// A Y4M file played as the camera: opened from disk as the user's file
/// is, then read for a few frames (it loops at its end).
pub fn y4m(data: &[u8]) {
    use std::io::Write;
    use std::sync::atomic::{AtomicU64, Ordering};
    static FILES: AtomicU64 = AtomicU64::new(0);
    // A new file each time, never one that was there (a link planted in a
    // shared temporary folder is not followed).
    let path = std::env::temp_dir().join(format!(
        "talkline-fuzz-{}-{}.y4m",
        std::process::id(),
        FILES.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| f.write_all(data));
    if written.is_ok()
        && let Ok(mut source) = talkline_media::y4m::Y4mSource::open(&path)
        && let Ok(mut frame) = VideoFrame::new(source.width(), source.height())
    {
        for _ in 0..3 {
            if source.next_frame(&mut frame).is_err() {
                break;
            }
        }
    }
    let _ = std::fs::remove_file(&path);
}

/// An IVF file of VP8 frames (the replaying publishers).
pub fn ivf(data: &[u8]) {
    let _ = talkline_media::ivf::IvfClip::parse(data);
}
