//! WAV files: a looping audio source (any rate, mono or stereo, 16-bit PCM or
//! 32-bit float, converted to 48 kHz mono) and a 48 kHz mono 16-bit sink.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{MediaError, Result};
use crate::frame::{AUDIO_RATE_HZ, AudioFrame};

fn bad(path: &Path, reason: impl Into<String>) -> MediaError {
    MediaError::BadFile {
        path: path.to_path_buf(),
        kind: "WAV",
        reason: reason.into(),
    }
}

/// A WAV file decoded to 48 kHz mono once at open; played in a loop.
#[derive(Debug)]
pub struct WavSource {
    samples: Vec<i16>,
    position: usize,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Decodes a whole WAV file image to 48 kHz mono.
pub fn decode_wav(bytes: &[u8]) -> std::result::Result<Vec<i16>, String> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err("missing RIFF/WAVE signature".into());
    }
    let mut at = 12;
    let mut format: Option<(u16, u16, u32, u16)> = None;
    let mut data: Option<&[u8]> = None;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = u32_at(bytes, at + 4).ok_or("truncated chunk")? as usize;
        let body_start = at + 8;
        // A streamed file may carry a too-large data size: take what is there.
        let body_end = body_start.saturating_add(size).min(bytes.len());
        let body = &bytes[body_start..body_end];
        match id {
            b"fmt " => {
                let tag = u16_at(body, 0).ok_or("fmt chunk too short")?;
                let channels = u16_at(body, 2).ok_or("fmt chunk too short")?;
                let rate = u32_at(body, 4).ok_or("fmt chunk too short")?;
                let bits = u16_at(body, 14).ok_or("fmt chunk too short")?;
                // WAVE_FORMAT_EXTENSIBLE keeps the real tag in its sub-format GUID.
                let tag = if tag == 0xFFFE {
                    u16_at(body, 24).ok_or("extensible fmt chunk too short")?
                } else {
                    tag
                };
                format = Some((tag, channels, rate, bits));
            }
            b"data" => data = Some(body),
            _ => {}
        }
        at = body_start.saturating_add(size).saturating_add(size & 1);
    }
    let (tag, channels, rate, bits) = format.ok_or("no fmt chunk")?;
    let data = data.ok_or("no data chunk")?;
    if channels == 0 || channels > 8 {
        return Err(format!("{channels} channels is not supported (1 to 8)"));
    }
    if !(8_000..=192_000).contains(&rate) {
        return Err(format!(
            "sample rate {rate} Hz is not supported (8 to 192 kHz)"
        ));
    }
    let sample_bytes = match (tag, bits) {
        (1, 16) => 2,
        (3, 32) => 4,
        _ => {
            return Err(format!(
                "encoding {tag}/{bits}-bit is not supported: use 16-bit PCM or 32-bit float"
            ));
        }
    };
    let frame_bytes = sample_bytes * channels as usize;
    let mono: Vec<f32> = data
        .chunks_exact(frame_bytes)
        .map(|f| {
            let sum: f32 = f
                .chunks_exact(sample_bytes)
                .map(|s| match sample_bytes {
                    2 => i16::from_le_bytes([s[0], s[1]]) as f32 / 32768.0,
                    _ => f32::from_le_bytes([s[0], s[1], s[2], s[3]]),
                })
                .sum();
            sum / channels as f32
        })
        .collect();
    if mono.is_empty() {
        return Err("no audio samples".into());
    }
    Ok(resample_linear(&mono, rate)
        .into_iter()
        .map(|s| (s * 32768.0).clamp(-32768.0, 32767.0) as i16)
        .collect())
}

fn resample_linear(input: &[f32], rate: u32) -> Vec<f32> {
    if rate == AUDIO_RATE_HZ {
        return input.to_vec();
    }
    let step = rate as f64 / AUDIO_RATE_HZ as f64;
    let out_len = ((input.len() as f64) / step).floor().max(1.0) as usize;
    (0..out_len)
        .map(|i| {
            let pos = i as f64 * step;
            let j = pos as usize;
            let frac = (pos - j as f64) as f32;
            let a = input[j.min(input.len() - 1)];
            let b = input[(j + 1).min(input.len() - 1)];
            a + (b - a) * frac
        })
        .collect()
}

impl WavSource {
    pub fn open(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path).map_err(|e| MediaError::io(path, e))?;
        if meta.len() > 512 * 1024 * 1024 {
            return Err(bad(path, "larger than 512 MiB"));
        }
        let bytes = std::fs::read(path).map_err(|e| MediaError::io(path, e))?;
        let samples = decode_wav(&bytes).map_err(|r| bad(path, r))?;
        Ok(Self {
            samples,
            position: 0,
        })
    }

    pub fn read(&mut self, frame: &mut AudioFrame) {
        for s in frame.samples.iter_mut() {
            *s = self.samples[self.position];
            self.position = (self.position + 1) % self.samples.len();
        }
    }
}

/// Records 48 kHz mono 16-bit audio to a WAV file; sizes are patched on
/// `finish` (and best-effort on drop) so an interrupted call still leaves a
/// playable file.
#[derive(Debug)]
pub struct WavSink {
    path: PathBuf,
    out: BufWriter<File>,
    data_bytes: u32,
    finished: bool,
}

impl WavSink {
    pub fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).map_err(|e| MediaError::io(path, e))?;
        let mut sink = Self {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            data_bytes: 0,
            finished: false,
        };
        sink.write_header().map_err(|e| MediaError::io(path, e))?;
        Ok(sink)
    }

    fn write_header(&mut self) -> std::io::Result<()> {
        let byte_rate = AUDIO_RATE_HZ * 2;
        let o = &mut self.out;
        o.write_all(b"RIFF")?;
        o.write_all(&(36 + self.data_bytes).to_le_bytes())?;
        o.write_all(b"WAVEfmt ")?;
        o.write_all(&16u32.to_le_bytes())?;
        o.write_all(&1u16.to_le_bytes())?;
        o.write_all(&1u16.to_le_bytes())?;
        o.write_all(&AUDIO_RATE_HZ.to_le_bytes())?;
        o.write_all(&byte_rate.to_le_bytes())?;
        o.write_all(&2u16.to_le_bytes())?;
        o.write_all(&16u16.to_le_bytes())?;
        o.write_all(b"data")?;
        o.write_all(&self.data_bytes.to_le_bytes())
    }

    pub fn write(&mut self, samples: &[i16]) -> Result<()> {
        for s in samples {
            self.out
                .write_all(&s.to_le_bytes())
                .map_err(|e| MediaError::io(&self.path, e))?;
        }
        self.data_bytes = self.data_bytes.saturating_add(samples.len() as u32 * 2);
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        self.patch().map_err(|e| MediaError::io(&self.path, e))
    }

    fn patch(&mut self) -> std::io::Result<()> {
        self.finished = true;
        self.out.seek(SeekFrom::Start(0))?;
        self.write_header()?;
        self.out.flush()
    }
}

impl Drop for WavSink {
    fn drop(&mut self) {
        if !self.finished {
            let _ = self.patch();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::dominant_frequency_hz;
    use crate::tone::ToneSource;

    #[test]
    fn sink_then_source_round_trip() {
        let path = std::env::temp_dir().join(format!("talkline-wav-{}.wav", std::process::id()));
        let mut tone = ToneSource::new(700.0).expect("tone");
        let mut sink = WavSink::create(&path).expect("create");
        let mut frame = AudioFrame::default();
        let mut written = Vec::new();
        for _ in 0..50 {
            tone.read(&mut frame);
            sink.write(&frame.samples).expect("write");
            written.extend_from_slice(&frame.samples);
        }
        sink.finish().expect("finish");
        let mut src = WavSource::open(&path).expect("open");
        let mut read = Vec::new();
        for _ in 0..50 {
            src.read(&mut frame);
            read.extend_from_slice(&frame.samples);
        }
        assert_eq!(read, written);
        std::fs::remove_file(&path).ok();
    }

    fn wav_bytes(tag: u16, channels: u16, rate: u32, bits: u16, data: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(b"RIFF");
        b.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&tag.to_le_bytes());
        b.extend_from_slice(&channels.to_le_bytes());
        b.extend_from_slice(&rate.to_le_bytes());
        b.extend_from_slice(&(rate * channels as u32 * bits as u32 / 8).to_le_bytes());
        b.extend_from_slice(&(channels * bits / 8).to_le_bytes());
        b.extend_from_slice(&bits.to_le_bytes());
        b.extend_from_slice(b"data");
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn stereo_16k_is_converted_to_48k_mono() {
        let rate = 16_000;
        let mut data = Vec::new();
        for i in 0..rate {
            let s = ((i as f32 * 2.0 * std::f32::consts::PI * 500.0 / rate as f32).sin() * 10_000.0)
                as i16;
            data.extend_from_slice(&s.to_le_bytes());
            data.extend_from_slice(&s.to_le_bytes());
        }
        let samples = decode_wav(&wav_bytes(1, 2, rate, 16, &data)).expect("decode");
        assert!((samples.len() as i64 - 48_000).abs() <= 3);
        let hz = dominant_frequency_hz(&samples).expect("not silent");
        assert!((hz - 500.0).abs() < 5.0, "{hz}");
    }

    #[test]
    fn malformed_files_are_errors() {
        let good = wav_bytes(1, 1, 48_000, 16, &[0, 0, 1, 0]);
        assert!(decode_wav(&good).is_ok());
        for cut in 0..good.len() - 4 {
            // Every truncation is either a clean error or a valid shorter file; never a panic.
            let _ = decode_wav(&good[..cut]);
        }
        assert!(decode_wav(b"RIFF\0\0\0\0WAVE").is_err());
        assert!(decode_wav(&wav_bytes(2, 1, 48_000, 4, &[0; 8])).is_err());
        assert!(decode_wav(&wav_bytes(1, 0, 48_000, 16, &[0; 8])).is_err());
        assert!(decode_wav(&wav_bytes(1, 1, 1_000, 16, &[0; 8])).is_err());
        assert!(decode_wav(&wav_bytes(1, 1, 48_000, 16, &[])).is_err());
        let mut huge = good.clone();
        huge[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_wav(&huge).is_err());
    }
}
