//! YUV4MPEG2 (Y4M) files as a video source: 4:2:0 only, looped at the end so
//! a short clip can feed a long call.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{MediaError, Result};
use crate::frame::VideoFrame;

#[derive(Debug)]
pub struct Y4mSource {
    path: PathBuf,
    reader: BufReader<File>,
    first_frame_offset: u64,
    width: u32,
    height: u32,
    frame_rate: f64,
}

fn bad(path: &Path, reason: impl Into<String>) -> MediaError {
    MediaError::BadFile {
        path: path.to_path_buf(),
        kind: "Y4M",
        reason: reason.into(),
    }
}

/// Parsed `YUV4MPEG2` stream header.
#[derive(Debug, PartialEq)]
struct Header {
    width: u32,
    height: u32,
    frame_rate: f64,
}

fn parse_header(line: &str) -> std::result::Result<Header, String> {
    let mut parts = line.split(' ');
    if parts.next() != Some("YUV4MPEG2") {
        return Err("missing YUV4MPEG2 signature".into());
    }
    let (mut width, mut height, mut frame_rate) = (None, None, 30.0);
    for token in parts {
        // A tag is one character, which in a damaged file may be any:
        // split after it, not after its first byte.
        let mut chars = token.chars();
        let tag = chars.next();
        let value = chars.as_str();
        match tag {
            Some('W') => width = value.parse::<u32>().ok(),
            Some('H') => height = value.parse::<u32>().ok(),
            Some('F') => {
                let (num, den) = value.split_once(':').ok_or("bad frame rate")?;
                let num: f64 = num.parse().map_err(|_| "bad frame rate")?;
                let den: f64 = den.parse().map_err(|_| "bad frame rate")?;
                if !(num > 0.0 && den > 0.0) || num / den > 240.0 {
                    return Err("frame rate must be between 0 and 240".into());
                }
                frame_rate = num / den;
            }
            Some('C') if !value.starts_with("420") => {
                return Err(format!(
                    "colour space C{value} is not supported; convert to 4:2:0"
                ));
            }
            Some('I') if value != "p" && value != "?" => {
                return Err("interlaced video is not supported".into());
            }
            _ => {}
        }
    }
    let (width, height) = (width.ok_or("no width")?, height.ok_or("no height")?);
    VideoFrame::new(width, height).map_err(|e| e.to_string())?;
    Ok(Header {
        width,
        height,
        frame_rate,
    })
}

impl Y4mSource {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| MediaError::io(path, e))?;
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        reader
            .by_ref()
            .take(1024)
            .read_until(b'\n', &mut line)
            .map_err(|e| MediaError::io(path, e))?;
        if line.last() != Some(&b'\n') {
            return Err(bad(path, "header line missing or longer than 1 KiB"));
        }
        let text = std::str::from_utf8(&line[..line.len() - 1])
            .map_err(|_| bad(path, "header is not text"))?;
        let header = parse_header(text).map_err(|reason| bad(path, reason))?;
        let first_frame_offset = line.len() as u64;
        let mut source = Self {
            path: path.to_path_buf(),
            reader,
            first_frame_offset,
            width: header.width,
            height: header.height,
            frame_rate: header.frame_rate,
        };
        // A file with no complete frame is rejected now, not mid-call.
        let mut probe = VideoFrame::new(header.width, header.height)?;
        if !source.read_frame(&mut probe)? {
            return Err(bad(path, "no complete frame"));
        }
        source.rewind()?;
        Ok(source)
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn frame_rate(&self) -> f64 {
        self.frame_rate
    }

    fn rewind(&mut self) -> Result<()> {
        self.reader
            .seek(SeekFrom::Start(self.first_frame_offset))
            .map_err(|e| MediaError::io(&self.path, e))?;
        Ok(())
    }

    /// Reads one frame; `Ok(false)` at a clean end of file.
    fn read_frame(&mut self, frame: &mut VideoFrame) -> Result<bool> {
        let mut marker = [0u8; 5];
        match self.reader.read_exact(&mut marker) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
            Err(e) => return Err(MediaError::io(&self.path, e)),
        }
        if &marker != b"FRAME" {
            return Err(bad(&self.path, "frame marker missing"));
        }
        // Skip frame parameters up to the newline (bounded).
        let mut byte = [0u8; 1];
        for _ in 0..256 {
            self.reader
                .read_exact(&mut byte)
                .map_err(|e| MediaError::io(&self.path, e))?;
            if byte[0] == b'\n' {
                frame.reshape(self.width, self.height)?;
                return match self.reader.read_exact(frame.as_bytes_mut()) {
                    Ok(()) => Ok(true),
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
                    Err(e) => Err(MediaError::io(&self.path, e)),
                };
            }
        }
        Err(bad(&self.path, "frame header too long"))
    }

    /// The next frame, starting over at the end of the file.
    pub fn next_frame(&mut self, frame: &mut VideoFrame) -> Result<()> {
        if self.read_frame(frame)? {
            return Ok(());
        }
        self.rewind()?;
        if self.read_frame(frame)? {
            Ok(())
        } else {
            Err(bad(&self.path, "file shrank while reading"))
        }
    }
}

/// Writes frames as Y4M (used by tests and to record what was received).
pub fn write_y4m(path: &Path, frames: &[VideoFrame], frame_rate: u32) -> Result<()> {
    use std::io::Write;
    let first = frames
        .first()
        .ok_or_else(|| MediaError::InvalidParameter("no frames to write".into()))?;
    let mut out = std::io::BufWriter::new(File::create(path).map_err(|e| MediaError::io(path, e))?);
    let mut write = || -> std::io::Result<()> {
        writeln!(
            out,
            "YUV4MPEG2 W{} H{} F{frame_rate}:1 Ip A1:1 C420jpeg",
            first.width(),
            first.height()
        )?;
        for f in frames {
            out.write_all(b"FRAME\n")?;
            out.write_all(f.as_bytes())?;
        }
        out.flush()
    };
    write().map_err(|e| MediaError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::{TestPattern, read_stamp};

    #[test]
    fn header_parsing() {
        let h = parse_header("YUV4MPEG2 W640 H360 F30000:1001 Ip A1:1 C420jpeg").expect("valid");
        assert_eq!((h.width, h.height), (640, 360));
        assert!((h.frame_rate - 29.97).abs() < 0.01);
        for bad in [
            "",
            "YUV4MPEG W2 H2",
            "YUV4MPEG2 W640",
            "YUV4MPEG2 W640 H360 C444",
            "YUV4MPEG2 W640 H360 It",
            "YUV4MPEG2 W641 H360",
            "YUV4MPEG2 W640 H360 F1:0",
            "YUV4MPEG2 W640 H360 F:",
            "YUV4MPEG2 W99999999999 H2",
            "YUV4MPEG2 W H",
        ] {
            assert!(parse_header(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    /// Found by the fuzzer (fuzz/corpus/y4m/crash-multibyte-tag): a tag
    /// whose first character is more than one byte long panicked.
    #[test]
    fn a_tag_of_any_character_is_read_without_a_panic() {
        let h = parse_header("YUV4MPEG2 W8 H6 F30:1 Ip A1:1 \u{740}C420jpeg").expect("ignored tag");
        assert_eq!((h.width, h.height), (8, 6));
        assert!(parse_header("YUV4MPEG2 W8 H6 \u{740}").is_ok());
        assert!(parse_header("YUV4MPEG2 \u{1F600}8 H6").is_err());
    }

    #[test]
    fn reads_frames_and_loops() {
        let dir = std::env::temp_dir().join(format!("talkline-y4m-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("clip.y4m");
        let mut pattern = TestPattern::new(176, 144).expect("size");
        let frames: Vec<VideoFrame> = (0..3)
            .map(|i| {
                let mut f = VideoFrame::new(176, 144).expect("size");
                pattern.draw_next(&mut f, i * 1000).expect("draw");
                f
            })
            .collect();
        write_y4m(&path, &frames, 25).expect("write");
        let mut src = Y4mSource::open(&path).expect("open");
        assert_eq!(src.frame_rate(), 25.0);
        let mut f = VideoFrame::new(2, 2).expect("size");
        let numbers: Vec<u32> = (0..7)
            .map(|_| {
                src.next_frame(&mut f).expect("frame");
                read_stamp(&f).expect("stamp").frame_number
            })
            .collect();
        assert_eq!(numbers, [0, 1, 2, 0, 1, 2, 0]);

        // Truncated and garbage files are clear errors, not panics.
        let bytes = std::fs::read(&path).expect("read");
        std::fs::write(&path, &bytes[..100]).expect("write");
        assert!(matches!(
            Y4mSource::open(&path),
            Err(MediaError::BadFile { .. })
        ));
        std::fs::write(&path, b"not a video at all").expect("write");
        assert!(matches!(
            Y4mSource::open(&path),
            Err(MediaError::BadFile { .. })
        ));
        assert!(matches!(
            Y4mSource::open(&dir.join("missing.y4m")),
            Err(MediaError::Io { .. })
        ));
        std::fs::remove_dir_all(&dir).ok();
    }
}
