//! IVF files of VP8 frames (the container libvpx's tools write): a 32-byte
//! header, then each frame as a 12-byte header (size, timestamp) and its
//! bytes. Written once from the test pattern, replayed by load generators
//! that must not spend the CPU of an encoder (`replay`).

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{MediaError, Result};

const SIGNATURE: &[u8; 4] = b"DKIF";
const VP8_FOURCC: &[u8; 4] = b"VP80";
const FILE_HEADER_LEN: usize = 32;
const FRAME_HEADER_LEN: usize = 12;
/// A replayed clip is held in memory: a few seconds at a few hundred
/// kbit/s is a few MB. More than this is not a clip.
pub const MAX_IVF_BYTES: u64 = 64 * 1024 * 1024;
/// A VP8 frame is never larger than this (a 4K keyframe at high quality is
/// a few hundred kB); a larger size field is a corrupt file.
const MAX_FRAME_BYTES: usize = 8 * 1024 * 1024;
const MAX_WIDTH: u32 = 7680;
const MAX_HEIGHT: u32 = 4320;

fn bad(path: &Path, reason: impl Into<String>) -> MediaError {
    MediaError::BadFile {
        path: path.to_path_buf(),
        kind: "IVF",
        reason: reason.into(),
    }
}

/// Whether a VP8 frame is a keyframe (RFC 6386 9.1: bit 0 of the frame
/// tag is 0).
pub fn is_vp8_keyframe(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 1 == 0)
}

/// A whole IVF file, read into memory.
#[derive(Debug, Clone, PartialEq)]
pub struct IvfClip {
    pub width: u32,
    pub height: u32,
    pub frame_rate: f64,
    pub frames: Vec<Vec<u8>>,
}

impl IvfClip {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| MediaError::io(path, e))?;
        // Read to one byte past the limit: a pipe or a device has no
        // length to check beforehand.
        let mut bytes = Vec::new();
        file.take(MAX_IVF_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| MediaError::io(path, e))?;
        if bytes.len() as u64 > MAX_IVF_BYTES {
            return Err(bad(path, format!("larger than {MAX_IVF_BYTES} bytes")));
        }
        Self::parse(&bytes).map_err(|reason| bad(path, reason))
    }

    /// Parses a whole file: every frame must be complete, the first a
    /// keyframe (a replay loops back to it).
    pub fn parse(bytes: &[u8]) -> std::result::Result<Self, String> {
        let header = bytes
            .get(..FILE_HEADER_LEN)
            .ok_or("shorter than the IVF header")?;
        if &header[..4] != SIGNATURE {
            return Err("missing the DKIF signature".into());
        }
        if &header[8..12] != VP8_FOURCC {
            return Err("not VP8 (only VP80 is supported)".into());
        }
        let u16_at = |i: usize| u16::from_le_bytes([header[i], header[i + 1]]);
        let u32_at =
            |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
        let header_len = usize::from(u16_at(6));
        if header_len < FILE_HEADER_LEN {
            return Err(format!("header length {header_len} is too short"));
        }
        let (width, height) = (u32::from(u16_at(12)), u32::from(u16_at(14)));
        let (rate, scale) = (u32_at(16), u32_at(20));
        if width == 0 || height == 0 || rate == 0 || scale == 0 {
            return Err("zero size or frame rate".into());
        }
        // What the send path's pictures can be (4:2:0, even sides).
        if width % 2 == 1 || height % 2 == 1 || width > MAX_WIDTH || height > MAX_HEIGHT {
            return Err(format!(
                "{width}x{height}: sides must be even, at most {MAX_WIDTH}x{MAX_HEIGHT}"
            ));
        }
        let frame_rate = f64::from(rate) / f64::from(scale);
        if !(1.0..=240.0).contains(&frame_rate) {
            return Err(format!("frame rate {frame_rate:.1} is not 1 to 240"));
        }
        let mut frames = Vec::new();
        let mut at = header_len;
        while at < bytes.len() {
            let head = bytes
                .get(at..at + FRAME_HEADER_LEN)
                .ok_or("a frame header is cut short")?;
            let size = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
            if size == 0 || size > MAX_FRAME_BYTES {
                return Err(format!("a frame of {size} bytes"));
            }
            let start = at + FRAME_HEADER_LEN;
            let frame = bytes
                .get(start..start + size)
                .ok_or("the last frame is cut short")?;
            frames.push(frame.to_vec());
            at = start + size;
        }
        match frames.first() {
            None => return Err("no frames".into()),
            Some(first) if !is_vp8_keyframe(first) => {
                return Err("the first frame is not a keyframe".into());
            }
            Some(_) => {}
        }
        Ok(Self {
            width,
            height,
            frame_rate,
            frames,
        })
    }
}

/// Writes VP8 frames into an IVF file; the frame count in the header is
/// filled in by `finish`.
pub struct IvfWriter {
    path: PathBuf,
    out: BufWriter<File>,
    frames: u32,
}

impl IvfWriter {
    pub fn create(path: &Path, width: u32, height: u32, frame_rate: u32) -> Result<Self> {
        let (w, h) = (
            u16::try_from(width).map_err(|_| bad(path, "wider than 65535"))?,
            u16::try_from(height).map_err(|_| bad(path, "taller than 65535"))?,
        );
        let file = File::create(path).map_err(|e| MediaError::io(path, e))?;
        let mut out = BufWriter::new(file);
        let mut header = [0u8; FILE_HEADER_LEN];
        header[..4].copy_from_slice(SIGNATURE);
        header[6..8].copy_from_slice(&(FILE_HEADER_LEN as u16).to_le_bytes());
        header[8..12].copy_from_slice(VP8_FOURCC);
        header[12..14].copy_from_slice(&w.to_le_bytes());
        header[14..16].copy_from_slice(&h.to_le_bytes());
        header[16..20].copy_from_slice(&frame_rate.max(1).to_le_bytes());
        header[20..24].copy_from_slice(&1u32.to_le_bytes());
        out.write_all(&header)
            .map_err(|e| MediaError::io(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            out,
            frames: 0,
        })
    }

    pub fn write_frame(&mut self, frame: &[u8]) -> Result<()> {
        let size = u32::try_from(frame.len()).map_err(|_| bad(&self.path, "a frame too large"))?;
        let mut head = [0u8; FRAME_HEADER_LEN];
        head[..4].copy_from_slice(&size.to_le_bytes());
        head[4..].copy_from_slice(&u64::from(self.frames).to_le_bytes());
        self.out
            .write_all(&head)
            .and_then(|()| self.out.write_all(frame))
            .map_err(|e| MediaError::io(&self.path, e))?;
        self.frames += 1;
        Ok(())
    }

    /// Writes the frame count and flushes the file to disk.
    pub fn finish(mut self) -> Result<()> {
        let path = self.path.clone();
        let io = |e| MediaError::io(&path, e);
        self.out.seek(SeekFrom::Start(24)).map_err(io)?;
        self.out.write_all(&self.frames.to_le_bytes()).map_err(io)?;
        let file = self
            .out
            .into_inner()
            .map_err(|e| MediaError::io(&path, e.into_error()))?;
        file.sync_all().map_err(|e| MediaError::io(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip_bytes(frames: &[&[u8]]) -> Vec<u8> {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("talkline-ivf-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("clip.ivf");
        let mut w = IvfWriter::create(&path, 320, 180, 30).expect("create");
        for f in frames {
            w.write_frame(f).expect("write");
        }
        w.finish().expect("finish");
        let bytes = std::fs::read(&path).expect("read");
        let _ = std::fs::remove_dir_all(&dir);
        bytes
    }

    #[test]
    fn frames_written_are_read_back_with_the_size_and_rate() {
        let bytes = clip_bytes(&[&[0x10, 1, 2], &[0x11, 3]]);
        assert_eq!(&bytes[24..28], &2u32.to_le_bytes());
        let clip = IvfClip::parse(&bytes).expect("parse");
        assert_eq!((clip.width, clip.height, clip.frame_rate), (320, 180, 30.0));
        assert_eq!(clip.frames, vec![vec![0x10, 1, 2], vec![0x11, 3]]);
        assert!(is_vp8_keyframe(&clip.frames[0]) && !is_vp8_keyframe(&clip.frames[1]));
    }

    #[test]
    fn broken_files_are_refused_with_a_reason() {
        let good = clip_bytes(&[&[0x10, 1, 2], &[0x11, 3]]);
        let mut cases: Vec<(Vec<u8>, &str)> = vec![
            (Vec::new(), "shorter"),
            (good[..good.len() - 1].to_vec(), "cut short"),
            (good[..FILE_HEADER_LEN + 5].to_vec(), "cut short"),
            (good[..FILE_HEADER_LEN].to_vec(), "no frames"),
            (clip_bytes(&[&[0x11, 3]]), "not a keyframe"),
        ];
        let mut vp9 = good.clone();
        vp9[8..12].copy_from_slice(b"VP90");
        cases.push((vp9, "not VP8"));
        let mut huge = good.clone();
        huge[FILE_HEADER_LEN..FILE_HEADER_LEN + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        cases.push((huge, "bytes"));
        let mut odd = good.clone();
        odd[12..14].copy_from_slice(&321u16.to_le_bytes());
        cases.push((odd, "even"));
        let mut no_rate = good.clone();
        no_rate[16..20].fill(0);
        cases.push((no_rate, "frame rate"));
        let mut signature = good;
        signature[0] = b'X';
        cases.push((signature, "DKIF"));
        for (bytes, why) in cases {
            let err = IvfClip::parse(&bytes).expect_err(why);
            assert!(err.contains(why), "{why}: {err}");
        }
    }
}
