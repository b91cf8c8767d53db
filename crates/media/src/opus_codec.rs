//! Opus at 48 kHz mono, 20 ms packets, in-band FEC and DTX: the call
//! profile; and, for music, a film's sound or a musician's original
//! sound, the same at three times the bitrate with every packet sent.

use crate::error::{MediaError, Result};
use crate::frame::{AUDIO_FRAME_SAMPLES, AUDIO_RATE_HZ, AudioFrame};

/// Samples in one 20 ms Opus packet.
pub const OPUS_PACKET_SAMPLES: usize = AUDIO_FRAME_SAMPLES * 2;
/// Large enough for any 20 ms packet at the bitrates we use.
pub const OPUS_MAX_PACKET: usize = 1500;
/// A voice's bitrate: wideband speech with room for in-band FEC.
pub const VOICE_BITRATE_BPS: i32 = 32_000;
/// Music's: full band (to 20 kHz) at the transparency browsers give a
/// shared tab's sound.
pub const MUSIC_BITRATE_BPS: i32 = 96_000;
/// The loss the encoder prepares for when nothing worse was measured.
pub const MIN_EXPECTED_LOSS_PERCENT: i32 = 10;
/// Longest packet a decoder accepts: 120 ms.
pub const MAX_DECODED_SAMPLES: usize = AUDIO_RATE_HZ as usize / 1000 * 120;

fn codec_err(e: opus::Error) -> MediaError {
    MediaError::Codec(format!("opus: {e}"))
}

/// What the encoder is told it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioContent {
    /// A voice in a room: `VOICE_BITRATE_BPS`, silence not sent (DTX).
    Voice,
    /// Music, a film's sound, a musician's original sound:
    /// `MUSIC_BITRATE_BPS`, coded as music, and every packet sent (DTX
    /// would cut a quiet passage into bursts of comfort noise).
    Music,
}

pub struct OpusEncoder {
    inner: opus::Encoder,
    pending: [i16; OPUS_PACKET_SAMPLES],
    pending_frames: usize,
}

impl std::fmt::Debug for OpusEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusEncoder").finish_non_exhaustive()
    }
}

impl OpusEncoder {
    pub fn new(bitrate_bps: i32) -> Result<Self> {
        let mut encoder = Self::tuned_for(opus::Application::Voip, bitrate_bps)?;
        let inner = &mut encoder.inner;
        inner.set_inband_fec(true).map_err(codec_err)?;
        // FEC only kicks in when the encoder expects loss.
        inner
            .set_packet_loss_perc(MIN_EXPECTED_LOSS_PERCENT)
            .map_err(codec_err)?;
        inner.set_dtx(true).map_err(codec_err)?;
        Ok(encoder)
    }

    fn tuned_for(application: opus::Application, bitrate_bps: i32) -> Result<Self> {
        let mut inner = opus::Encoder::new(AUDIO_RATE_HZ, opus::Channels::Mono, application)
            .map_err(codec_err)?;
        inner
            .set_bitrate(opus::Bitrate::Bits(bitrate_bps))
            .map_err(codec_err)?;
        Ok(Self {
            inner,
            pending: [0; OPUS_PACKET_SAMPLES],
            pending_frames: 0,
        })
    }

    /// An encoder for a file kept on this device (a recording of the
    /// meeting): tuned for any sound, with neither in-band FEC (no packet
    /// is lost on a disk) nor DTX (a player expects a packet every 20 ms).
    pub fn for_recording(bitrate_bps: i32) -> Result<Self> {
        Self::tuned_for(opus::Application::Audio, bitrate_bps)
    }

    /// The samples at 48 kHz a decoder drops at the start of the stream
    /// (Ogg's and WebM's "pre-skip"): the encoder's look-ahead.
    pub fn pre_skip(&mut self) -> Result<u16> {
        let samples = self.inner.get_lookahead().map_err(codec_err)?;
        u16::try_from(samples).map_err(|_| MediaError::Codec(format!("look-ahead {samples}")))
    }

    /// Tunes the encoder for `content` from the next packet on (the
    /// encoder carries on: no new stream, no gap).
    pub fn set_content(&mut self, content: AudioContent) -> Result<()> {
        let (signal, bitrate, dtx) = match content {
            AudioContent::Voice => (opus::Signal::Auto, VOICE_BITRATE_BPS, true),
            AudioContent::Music => (opus::Signal::Music, MUSIC_BITRATE_BPS, false),
        };
        self.inner.set_signal(signal).map_err(codec_err)?;
        self.inner
            .set_bitrate(opus::Bitrate::Bits(bitrate))
            .map_err(codec_err)?;
        self.inner.set_dtx(dtx).map_err(codec_err)
    }

    /// How much loss the encoder prepares for: the more, the more of each
    /// packet carries the previous one again (in-band FEC). Never under
    /// `MIN_EXPECTED_LOSS_PERCENT`: the sender sees its own uplink only, and
    /// the receivers' downlinks may be worse.
    pub fn set_expected_loss(&mut self, percent: i32) -> Result<()> {
        let percent = percent.clamp(MIN_EXPECTED_LOSS_PERCENT, 50);
        self.inner.set_packet_loss_perc(percent).map_err(codec_err)
    }

    /// Feeds 10 ms; every second call returns the length of a 20 ms packet
    /// written into `out`. DTX may make the packet 1-2 bytes long (silence).
    pub fn push(&mut self, frame: &AudioFrame, out: &mut [u8]) -> Result<Option<usize>> {
        let at = self.pending_frames * AUDIO_FRAME_SAMPLES;
        self.pending[at..at + AUDIO_FRAME_SAMPLES].copy_from_slice(&frame.samples);
        self.pending_frames += 1;
        if self.pending_frames < 2 {
            return Ok(None);
        }
        self.pending_frames = 0;
        let len = self.inner.encode(&self.pending, out).map_err(codec_err)?;
        Ok(Some(len))
    }
}

pub struct OpusDecoder {
    inner: opus::Decoder,
    out: Box<[i16; MAX_DECODED_SAMPLES]>,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder").finish_non_exhaustive()
    }
}

impl OpusDecoder {
    pub fn new() -> Result<Self> {
        Ok(Self {
            inner: opus::Decoder::new(AUDIO_RATE_HZ, opus::Channels::Mono).map_err(codec_err)?,
            out: Box::new([0; MAX_DECODED_SAMPLES]),
        })
    }

    /// Decodes one packet (stereo senders are mixed down by libopus).
    pub fn decode(&mut self, packet: &[u8]) -> Result<&[i16]> {
        let n = self
            .inner
            .decode(packet, &mut self.out[..], false)
            .map_err(codec_err)?;
        Ok(&self.out[..n])
    }

    /// Fills in for `samples` lost samples: from the FEC carried in `next`
    /// when there is one, by concealment otherwise.
    pub fn conceal(&mut self, next: Option<&[u8]>, samples: usize) -> Result<&[i16]> {
        let samples = samples.clamp(AUDIO_FRAME_SAMPLES / 4, MAX_DECODED_SAMPLES);
        let n = match next {
            Some(p) => self.inner.decode(p, &mut self.out[..samples], true),
            None => self.inner.decode(&[], &mut self.out[..samples], false),
        }
        .map_err(codec_err)?;
        Ok(&self.out[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{dominant_frequency_hz, goertzel_power};

    /// How much of a 14 kHz partial over a 440 Hz note comes through
    /// an encoder tuned for `content`: the partial's power after, over
    /// before (1 s, the first 100 ms left out).
    fn high_partial_kept(content: AudioContent) -> f64 {
        let mut enc = OpusEncoder::new(VOICE_BITRATE_BPS).expect("encoder");
        enc.set_content(content).expect("content");
        let mut dec = OpusDecoder::new().expect("decoder");
        let (mut sent, mut heard) = (Vec::new(), Vec::new());
        let mut packet = [0u8; OPUS_MAX_PACKET];
        let mut frame = AudioFrame::default();
        for n in 0..100 {
            for (i, s) in frame.samples.iter_mut().enumerate() {
                let t = (n * AUDIO_FRAME_SAMPLES + i) as f64 / f64::from(AUDIO_RATE_HZ);
                let x = 6000.0 * (std::f64::consts::TAU * 440.0 * t).sin()
                    + 3000.0 * (std::f64::consts::TAU * 14_000.0 * t).sin();
                *s = x as i16;
            }
            sent.extend_from_slice(&frame.samples);
            if let Some(len) = enc.push(&frame, &mut packet).expect("encode") {
                heard.extend_from_slice(dec.decode(&packet[..len]).expect("decode"));
            }
        }
        let skip = AUDIO_RATE_HZ as usize / 10;
        // The codec's delay is far under a period's worth of difference for
        // the power of a steady partial.
        goertzel_power(&heard[skip..], 14_000.0)
            / goertzel_power(&sent[skip..heard.len()], 14_000.0)
    }

    #[test]
    fn music_keeps_the_high_partials_a_voice_profile_may_drop() {
        let music = high_partial_kept(AudioContent::Music);
        assert!(
            (0.5..=2.0).contains(&music),
            "music kept {music:.3} of a 14 kHz partial's power"
        );
        // The voice profile is not held to it (speech has little there);
        // what it keeps is printed for the record.
        println!(
            "14 kHz partial's power kept: music {music:.3}, voice {:.3}",
            high_partial_kept(AudioContent::Voice)
        );
    }

    #[test]
    fn the_content_sets_the_bitrate_and_whether_silence_is_sent() {
        let mut enc = OpusEncoder::new(VOICE_BITRATE_BPS).expect("encoder");
        enc.set_content(AudioContent::Music).expect("music");
        assert_eq!(
            enc.inner.get_bitrate().expect("bitrate"),
            opus::Bitrate::Bits(MUSIC_BITRATE_BPS)
        );
        assert!(!enc.inner.get_dtx().expect("dtx"));
        enc.set_content(AudioContent::Voice).expect("voice");
        assert_eq!(
            enc.inner.get_bitrate().expect("bitrate"),
            opus::Bitrate::Bits(VOICE_BITRATE_BPS)
        );
        assert!(enc.inner.get_dtx().expect("dtx"));
    }
    use crate::tone::ToneSource;

    #[test]
    fn tone_survives_round_trip_within_one_percent() {
        for hz in [300.0, 440.0, 1_000.0, 2_500.0] {
            let mut enc = OpusEncoder::new(32_000).expect("encoder");
            let mut dec = OpusDecoder::new().expect("decoder");
            let mut tone = ToneSource::new(hz).expect("tone");
            let mut frame = AudioFrame::default();
            let mut packet = [0u8; OPUS_MAX_PACKET];
            let mut heard = Vec::new();
            for _ in 0..100 {
                tone.read(&mut frame);
                if let Some(n) = enc.push(&frame, &mut packet).expect("encode") {
                    assert!(n > 2 && n < 200, "packet of {n} bytes");
                    heard.extend_from_slice(dec.decode(&packet[..n]).expect("decode"));
                }
            }
            assert_eq!(heard.len(), 48_000);
            let found = dominant_frequency_hz(&heard).expect("not silent");
            assert!((found - hz).abs() / hz < 0.01, "{hz} -> {found}");
        }
    }

    #[test]
    fn silence_is_dtx_and_garbage_is_an_error() {
        let mut enc = OpusEncoder::new(32_000).expect("encoder");
        let silent = AudioFrame::default();
        let mut packet = [0u8; OPUS_MAX_PACKET];
        let mut sizes = Vec::new();
        for _ in 0..100 {
            if let Some(n) = enc.push(&silent, &mut packet).expect("encode") {
                sizes.push(n);
            }
        }
        assert!(sizes.iter().rev().take(10).all(|&n| n <= 3), "{sizes:?}");
        let mut dec = OpusDecoder::new().expect("decoder");
        // A TOC byte that announces 63 frames with no payload.
        assert!(dec.decode(&[0xFF, 0xFF]).is_err());
        assert_eq!(
            dec.conceal(None, OPUS_PACKET_SAMPLES).expect("plc").len(),
            OPUS_PACKET_SAMPLES
        );
    }
}
