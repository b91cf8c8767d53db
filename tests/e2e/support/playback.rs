//! Recordings read back as a player reads them: the WebM demuxed, its
//! VP8 frames decoded (test pattern stamps read), its Opus decoded.
#![allow(dead_code)] // not every test binary reads every part

use std::path::Path;

use matroska_demuxer::{Frame, MatroskaFile};
use talkline_media::VideoFrame;
use talkline_media::analysis::goertzel_power;
use talkline_media::opus_codec::OpusDecoder;
use talkline_media::pattern::read_stamp;
use talkline_media::vp8::{Vp8Decoder, keyframe_size};

const VIDEO: u64 = 1;
const AUDIO: u64 = 2;

/// What a recording holds, read back.
pub struct Played {
    pub duration_ms: Option<f64>,
    pub codecs: Vec<String>,
    pub video: Vec<Frame>,
    pub audio: Vec<Frame>,
}

pub fn play(file: &Path) -> Played {
    let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut mkv = MatroskaFile::open(std::io::Cursor::new(bytes))
        .unwrap_or_else(|e| panic!("{} does not open as WebM: {e}", file.display()));
    let codecs = mkv
        .tracks()
        .iter()
        .map(|t| t.codec_id().to_string())
        .collect();
    let duration_ms = mkv.info().duration();
    let (mut video, mut audio) = (Vec::new(), Vec::new());
    loop {
        let mut frame = Frame::default();
        match mkv.next_frame(&mut frame) {
            Ok(true) if frame.track == VIDEO => video.push(frame),
            Ok(true) if frame.track == AUDIO => audio.push(frame),
            Ok(true) => panic!("a frame of track {}", frame.track),
            // A file cut off ends in the middle of an element.
            Ok(false) | Err(_) => break,
        }
    }
    Played {
        duration_ms,
        codecs,
        video,
        audio,
    }
}

/// The picture sizes the video's keyframes declare, and how many of its
/// frames decode to a readable test pattern.
pub fn pictures(video: &[Frame]) -> (Vec<(u32, u32)>, usize) {
    let mut decoder = Vp8Decoder::new().expect("a VP8 decoder");
    let mut picture = VideoFrame::new(2, 2).expect("a frame");
    let mut stamped = 0;
    let mut sizes = Vec::new();
    for frame in video {
        if let Some(size) = keyframe_size(&frame.data) {
            sizes.push(size);
        }
        if decoder.decode(&frame.data, &mut picture).unwrap_or(false)
            && read_stamp(&picture).is_some()
        {
            stamped += 1;
        }
    }
    (sizes, stamped)
}

/// The recording's sound, decoded.
pub fn sound(audio: &[Frame]) -> Vec<i16> {
    let mut decoder = OpusDecoder::new().expect("an Opus decoder");
    let mut pcm = Vec::new();
    for packet in audio {
        pcm.extend_from_slice(decoder.decode(&packet.data).expect("an Opus packet"));
    }
    pcm
}

/// Whether `hz` stands out of the last second of `pcm`.
pub fn tone_in(pcm: &[i16], hz: f64) -> bool {
    let last = &pcm[pcm.len().saturating_sub(48_000)..];
    let off = goertzel_power(last, 650.0).max(1.0);
    goertzel_power(last, hz) > 20.0 * off
}
