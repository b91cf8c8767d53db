//! A camera that replays video encoded beforehand: the load generators of
//! benchmarks and tests, which must hold many publishers on a machine
//! whose cores belong to the client being measured. Sent as it is, looped,
//! at the clip's frame rate; one clip, or three for simulcast (full, half
//! and quarter size, encoded together so their frames line up).
//!
//! A replay cannot make a keyframe on request: its clips have one every
//! second (`KEYFRAME_EVERY` frames when recorded), which is as long as a
//! receiver that asks for one waits.

use std::path::{Path, PathBuf};

use crate::error::{MediaError, Result};
use crate::frame::VideoFrame;
use crate::ivf::{IvfClip, IvfWriter, is_vp8_keyframe};
use crate::source::{EncodedVideo, VideoSource};
use crate::vp8::{EncodedFrame, FrameLayer, Vp8Config, Vp8Encoder};

/// The clips' file names in a replay folder, largest first.
pub const CLIP_NAMES: [&str; 3] = ["h.ivf", "m.ivf", "l.ivf"];
/// A keyframe every this many frames of a recording.
pub const KEYFRAME_EVERY: u32 = 30;

pub struct VideoReplay {
    clips: Vec<IvfClip>,
    next: usize,
}

impl VideoReplay {
    /// The clips of `folder`: `h.ivf`, and `m.ivf` and `l.ivf` if it
    /// simulcasts. They must have as many frames each.
    pub fn open(folder: &Path) -> Result<Self> {
        let mut clips = Vec::new();
        for name in CLIP_NAMES {
            let path = folder.join(name);
            if !path.exists() && !clips.is_empty() {
                break;
            }
            clips.push(IvfClip::open(&path)?);
        }
        let frames = clips[0].frames.len();
        if clips.iter().any(|c| c.frames.len() != frames) {
            return Err(MediaError::BadFile {
                path: folder.to_path_buf(),
                kind: "replay",
                reason: "its clips have different frame counts".into(),
            });
        }
        Ok(Self { clips, next: 0 })
    }

    /// How many encodings it sends: 1, or 3 for simulcast.
    pub fn encodings(&self) -> usize {
        self.clips.len()
    }
}

impl VideoSource for VideoReplay {
    fn next_frame(&mut self, _frame: &mut VideoFrame) -> Result<()> {
        Err(MediaError::InvalidParameter(
            "a replay gives encoded frames only".into(),
        ))
    }

    fn frame_rate(&self) -> f64 {
        self.clips[0].frame_rate
    }

    fn is_live(&self) -> bool {
        false
    }

    fn size(&self) -> (u32, u32) {
        (self.clips[0].width, self.clips[0].height)
    }

    fn as_encoded(&mut self) -> Option<&mut dyn EncodedVideo> {
        Some(self)
    }
}

impl EncodedVideo for VideoReplay {
    fn next_encoded(
        &mut self,
        out: &mut [Vec<u8>; 3],
        frames: &mut [Option<EncodedFrame>; 3],
    ) -> Result<()> {
        let index = self.next;
        for (i, clip) in self.clips.iter().enumerate().take(3) {
            let data = &clip.frames[index];
            out[i].clear();
            out[i].extend_from_slice(data);
            frames[i] = Some(EncodedFrame {
                keyframe: is_vp8_keyframe(data),
                layer: FrameLayer::BASE,
            });
        }
        self.next = (index + 1) % self.clips[0].frames.len();
        Ok(())
    }
}

/// Records `seconds` of `source` into `folder` as a replay: `h.ivf`, and
/// with `simulcast` `m.ivf` and `l.ivf` at half and quarter size, at
/// `kbps` for the full size (the smaller ones at a quarter and a tenth).
pub fn record(
    source: &mut dyn VideoSource,
    folder: &Path,
    seconds: u32,
    simulcast: bool,
    kbps: u32,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(folder).map_err(|e| MediaError::io(folder, e))?;
    let (width, height) = source.size();
    let fps = source.frame_rate().round().clamp(1.0, 120.0) as u32;
    let layers: &[(u32, u32)] = if simulcast {
        &[(1, 1), (2, 4), (4, 10)]
    } else {
        &[(1, 1)]
    };
    let mut encodings = Vec::new();
    for (&(divisor, share), name) in layers.iter().zip(CLIP_NAMES) {
        let (w, h) = crate::frame::scaled_size(width, height, divisor);
        let encoder = Vp8Encoder::new(Vp8Config {
            width: w,
            height: h,
            frame_rate: fps,
            bitrate_kbps: (kbps / share).max(60),
            temporal_layers: 1,
        })?;
        let path = folder.join(name);
        let writer = IvfWriter::create(&path, w, h, fps)?;
        encodings.push((divisor, encoder, writer, VideoFrame::new(w, h)?, path));
    }
    let mut frame = VideoFrame::new(width, height)?;
    let mut packet = Vec::new();
    for n in 0..seconds.saturating_mul(fps) {
        source.next_frame(&mut frame)?;
        let keyframe = n % KEYFRAME_EVERY == 0;
        for (divisor, encoder, writer, small, _) in &mut encodings {
            let picture = if *divisor == 1 {
                &frame
            } else {
                crate::frame::downscale(&frame, *divisor, small)?;
                &*small
            };
            if encoder.encode(picture, keyframe, &mut packet)?.is_some() {
                writer.write_frame(&packet)?;
            }
        }
    }
    let mut paths = Vec::new();
    for (_, _, writer, _, path) in encodings {
        writer.finish()?;
        paths.push(path);
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::PatternSource;
    use crate::vp8::Vp8Decoder;

    #[test]
    fn a_recorded_simulcast_replay_gives_three_sizes_that_decode_and_loop() {
        let folder = std::env::temp_dir().join(format!("talkline-replay-{}", std::process::id()));
        let mut pattern = PatternSource::new(640, 360, 30.0).expect("pattern");
        let paths = record(&mut pattern, &folder, 2, true, 600).expect("record");
        assert_eq!(paths.len(), 3);
        let mut replay = VideoReplay::open(&folder).expect("open");
        assert_eq!(replay.encodings(), 3);
        assert_eq!((replay.size(), replay.frame_rate()), ((640, 360), 30.0));
        let (mut out, mut frames) = (<[Vec<u8>; 3]>::default(), [None; 3]);
        let mut decoders: Vec<Vp8Decoder> =
            (0..3).map(|_| Vp8Decoder::new().expect("dec")).collect();
        let mut picture = VideoFrame::new(2, 2).expect("picture");
        let mut keyframes = 0;
        // Twice round the 60 frames: the loop starts again on a keyframe.
        for n in 0..120 {
            let encoded = replay.as_encoded().expect("encoded");
            encoded.next_encoded(&mut out, &mut frames).expect("next");
            for (i, decoder) in decoders.iter_mut().enumerate() {
                let frame = frames[i].expect("a frame of each size");
                assert_eq!(frame.keyframe, n % 30 == 0, "frame {n}");
                assert!(decoder.decode(&out[i], &mut picture).expect("decodes"));
                assert_eq!(picture.width(), 640 >> i);
            }
            keyframes += usize::from(frames[0].is_some_and(|f| f.keyframe));
        }
        assert_eq!(keyframes, 4);
        // A folder without clips, or with clips that do not line up.
        std::fs::remove_file(folder.join("l.ivf")).expect("remove");
        let mut short = PatternSource::new(176, 144, 30.0).expect("pattern");
        let one = std::env::temp_dir().join(format!("talkline-replay-1-{}", std::process::id()));
        record(&mut short, &one, 1, false, 100).expect("record");
        std::fs::copy(one.join("h.ivf"), folder.join("l.ivf")).expect("copy");
        let err = VideoReplay::open(&folder).err().expect("misaligned");
        assert!(err.to_string().contains("different frame counts"), "{err}");
        assert!(VideoReplay::open(&folder.join("nothing")).is_err());
        let _ = std::fs::remove_dir_all(&folder);
        let _ = std::fs::remove_dir_all(&one);
    }
}
