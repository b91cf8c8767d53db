//! Mixes every remote participant's audio into one sink on a thread of its
//! own, 10 ms at a time. Each participant's Opus packets cross from the
//! network through a lock-free queue into their jitter buffer
//! (`jitter::audio`), which says what to play; they are decoded here, as
//! they are due, so a late packet can still be played in its turn and a
//! lost one rebuilt from the next one's FEC.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_queue::ArrayQueue;
use talkline_media::AUDIO_FRAME_SAMPLES;
use talkline_media::devices::DeviceKind;
use talkline_media::opus_codec::{MAX_DECODED_SAMPLES, OPUS_PACKET_SAMPLES, OpusDecoder};
use talkline_media::sink::AudioSink;
use talkline_media::voice_processing::EchoReference;

use crate::jitter::audio::{AudioJitterBuffer, AudioPacket, Playback};
use crate::recording::RecordingTap;
use crate::send::DeviceLossReporter;
use crate::stats::RemoteStats;

/// Packets in flight from the network to a participant's jitter buffer:
/// the playout takes them every 10 ms, so this only fills if it stalls.
const QUEUE_PACKETS: usize = 32;

/// Where one participant's audio packets go, from the network task.
pub struct AudioFeed {
    queue: Arc<ArrayQueue<AudioPacket>>,
}

impl AudioFeed {
    /// Hands a packet to the playout; if the playout has stalled, the
    /// oldest waiting packet makes room.
    pub fn push(&self, packet: AudioPacket) {
        let _ = self.queue.force_push(packet);
    }
}

/// One participant, as the playout thread holds them.
struct Input {
    queue: Arc<ArrayQueue<AudioPacket>>,
    buffer: AudioJitterBuffer,
    decoder: OpusDecoder,
    stats: Arc<RemoteStats>,
    /// Decoded audio not yet played: the mix takes 10 ms at a time, a
    /// packet holds 20 (ours, browsers') and up to 120 (Opus allows it; a
    /// longer packet simply asks the jitter buffer less often).
    pcm: Box<[i16; MAX_DECODED_SAMPLES]>,
    pcm_len: usize,
    pcm_at: usize,
}

impl Input {
    /// The next 10 ms of this participant, or None while silent.
    fn next_chunk(&mut self) -> Option<&[i16]> {
        while let Some(packet) = self.queue.pop() {
            self.buffer.insert(packet);
        }
        if self.pcm_at >= self.pcm_len {
            let decoded = match self.buffer.play_next() {
                Playback::Decode(p) => self.decoder.decode(p),
                Playback::Rebuild(next) => self.decoder.conceal(Some(next), OPUS_PACKET_SAMPLES),
                Playback::Conceal => self.decoder.conceal(None, OPUS_PACKET_SAMPLES),
                Playback::Silence => return None,
            };
            let decoded = match decoded {
                Ok(pcm) => pcm,
                Err(e) => {
                    log::debug!("audio decode error: {e}");
                    return None;
                }
            };
            let n = decoded.len().min(MAX_DECODED_SAMPLES);
            self.pcm[..n].copy_from_slice(&decoded[..n]);
            self.pcm_len = n;
            self.pcm_at = 0;
            self.stats.record_audio(&self.pcm[..n]);
            self.stats
                .record_audio_buffer(&self.buffer.stats(), self.buffer.target_delay());
        }
        let end = (self.pcm_at + AUDIO_FRAME_SAMPLES).min(self.pcm_len);
        let chunk = &self.pcm[self.pcm_at..end];
        self.pcm_at = end;
        Some(chunk)
    }

    /// The network side is gone and nothing is left to play.
    fn finished(&self) -> bool {
        Arc::strong_count(&self.queue) == 1
            && self.queue.is_empty()
            && self.pcm_at >= self.pcm_len
            && !self.buffer.is_playing()
    }
}

pub struct Playout {
    register: mpsc::Sender<Input>,
    replace: mpsc::Sender<Box<dyn AudioSink>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Playout {
    /// `echo`: where what is played goes for the echo canceller;
    /// `recording`: where it goes while the meeting is recorded here.
    pub fn start(
        sink: Box<dyn AudioSink>,
        device_lost: Option<DeviceLossReporter>,
        echo: Option<EchoReference>,
        recording: Option<Arc<RecordingTap>>,
    ) -> std::io::Result<Self> {
        let (register, incoming) = mpsc::channel::<Input>();
        let (replace, replacements) = mpsc::channel::<Box<dyn AudioSink>>();
        // `None` while the output device is gone: mixing goes on (so rings
        // do not overflow) until the user or the app picks another one.
        let mut sink = Some(sink);
        let stop = Arc::new(AtomicBool::new(false));
        let stop_thread = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("talkline-playout".into())
            .spawn(move || {
                let mut inputs: Vec<Input> = Vec::new();
                let mut mix = [0i32; AUDIO_FRAME_SAMPLES];
                let mut out = [0i16; AUDIO_FRAME_SAMPLES];
                let period = Duration::from_millis(10);
                let mut next = Instant::now() + period;
                // A device hands the canceller what it plays from its
                // callback; for any other sink, what is written is played.
                let taps = |sink: &mut Box<dyn AudioSink>| {
                    echo.as_ref().is_some_and(|e| sink.play_echo_into(e))
                };
                let mut tapped = sink.as_mut().is_some_and(taps);
                // Another output from here on: another echo path.
                let adopt = |sink: &mut Box<dyn AudioSink>| {
                    if let Some(echo) = &echo {
                        echo.path_changed();
                    }
                    taps(sink)
                };
                while !stop_thread.load(Ordering::Relaxed) {
                    while let Ok(mut next) = replacements.try_recv() {
                        tapped = adopt(&mut next);
                        sink = Some(next);
                    }
                    while let Ok(input) = incoming.try_recv() {
                        inputs.push(input);
                    }
                    // A participant who left: play what remains, then forget them.
                    inputs.retain(|i| !i.finished());
                    mix.fill(0);
                    for input in &mut inputs {
                        // Exact at 100%: every i16 is an f32.
                        let volume = input.stats.volume();
                        if let Some(chunk) = input.next_chunk() {
                            for (m, &s) in mix.iter_mut().zip(chunk) {
                                *m += (f32::from(s) * volume) as i32;
                            }
                        }
                    }
                    for (o, &m) in out.iter_mut().zip(&mix) {
                        *o = m.clamp(i16::MIN as i32, i16::MAX as i32) as i16;
                    }
                    if let Some(recording) = &recording {
                        recording.heard(&out);
                    }
                    match sink.as_mut().map(|s| s.write(&out)) {
                        Some(Ok(())) => {
                            if let Some(echo) = echo.as_ref().filter(|_| !tapped) {
                                echo.played(&out);
                            }
                        }
                        Some(Err(e)) => {
                            log::warn!("audio output failed: {e}");
                            // An output already on its way replaces the failed
                            // one: no loss.
                            sink = replacements.try_recv().ok();
                            tapped = sink.as_mut().is_some_and(adopt);
                            if sink.is_none()
                                && let Some(reporter) = &device_lost
                            {
                                let _ = reporter.send(DeviceKind::Speaker);
                            }
                        }
                        None => {}
                    }
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                        next += period;
                    } else {
                        next = now + period;
                    }
                }
            })?;
        Ok(Self {
            register,
            replace,
            stop,
            thread: Some(thread),
        })
    }

    /// Plays through another output from the next 10 ms on.
    pub fn replace_sink(&self, sink: Box<dyn AudioSink>) {
        let _ = self.replace.send(sink);
    }

    /// A feed for one more participant's audio packets; what is played of
    /// them is counted in `stats`.
    pub fn add_input(
        &self,
        stats: Arc<RemoteStats>,
    ) -> Result<AudioFeed, talkline_media::MediaError> {
        let queue = Arc::new(ArrayQueue::new(QUEUE_PACKETS));
        let input = Input {
            queue: Arc::clone(&queue),
            buffer: AudioJitterBuffer::new(),
            decoder: OpusDecoder::new()?,
            stats,
            pcm: Box::new([0; MAX_DECODED_SAMPLES]),
            pcm_len: 0,
            pcm_at: 0,
        };
        let _ = self.register.send(input);
        Ok(AudioFeed { queue })
    }
}

impl Drop for Playout {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use talkline_media::analysis::dominant_frequency_hz;
    use talkline_media::opus_codec::{OPUS_MAX_PACKET, OpusEncoder};
    use talkline_media::tone::ToneSource;
    use talkline_media::{AudioFrame, Result as MediaResult};

    use crate::stats::CallStats;

    struct Capture(Arc<Mutex<Vec<i16>>>);

    impl AudioSink for Capture {
        fn write(&mut self, samples: &[i16]) -> MediaResult<()> {
            if let Ok(mut heard) = self.0.lock() {
                heard.extend_from_slice(samples);
            }
            Ok(())
        }
    }

    /// What the speaker got of half a second of a tone from one
    /// participant set to `volume_percent`.
    fn heard_at_volume(volume_percent: u32) -> Vec<i16> {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let playout = Playout::start(Box::new(Capture(Arc::clone(&heard))), None, None, None)
            .expect("playout");
        let stats = CallStats::new(Instant::now()).remote(1, "Kim");
        stats.set_volume_percent(volume_percent);
        let feed = playout.add_input(Arc::clone(&stats)).expect("input");
        let mut encoder = OpusEncoder::new(32_000).expect("encoder");
        let mut tone = ToneSource::new(500.0).expect("tone");
        let (mut frame, mut packet) = (AudioFrame::default(), [0u8; OPUS_MAX_PACKET]);
        let start = Instant::now();
        for seq in 0..50u16 {
            tone.read(&mut frame);
            if let Some(n) = encoder.push(&frame, &mut packet).expect("encode") {
                let timestamp = u32::from(seq / 2) * OPUS_PACKET_SAMPLES as u32;
                let p = AudioPacket::new(seq / 2, timestamp, Instant::now(), &packet[..n]);
                feed.push(p.expect("an Opus packet"));
                let due = start + Duration::from_millis(u64::from(timestamp / 48));
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
            }
        }
        std::thread::sleep(Duration::from_millis(200));
        drop(feed);
        drop(playout);
        heard.lock().map(|h| h.clone()).unwrap_or_default()
    }

    #[test]
    fn another_speaker_tells_the_echo_canceller_its_path_changed() {
        let echo = EchoReference::default();
        let heard = Arc::new(Mutex::new(Vec::new()));
        let playout = Playout::start(
            Box::new(Capture(Arc::clone(&heard))),
            None,
            Some(echo.clone()),
            None,
        )
        .expect("playout");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(echo.path_changes(), 0);
        playout.replace_sink(Box::new(Capture(Arc::clone(&heard))));
        let deadline = Instant::now() + Duration::from_secs(5);
        while echo.path_changes() == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(echo.path_changes(), 1);
    }

    #[test]
    fn a_participant_turned_down_plays_quieter_and_at_the_same_pitch() {
        let rms = |s: &[i16]| {
            (s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len().max(1) as f64).sqrt()
        };
        let (full, quarter) = (heard_at_volume(100), heard_at_volume(25));
        let loudest = |s: &[i16]| s.iter().map(|&x| i32::from(x).abs()).max().unwrap_or(0);
        assert!(loudest(&full) > 1000, "the tone was not played");
        let ratio = rms(&quarter) / rms(&full);
        assert!(
            (0.2..0.3).contains(&ratio),
            "turned down to {ratio:.3} of full"
        );
        let hz = dominant_frequency_hz(&quarter[quarter.len() / 4..]).expect("not silent");
        assert!((hz - 500.0).abs() < 5.0, "heard {hz} Hz");
    }

    #[test]
    fn a_tone_with_every_tenth_packet_lost_plays_whole_at_its_pitch() {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let playout = Playout::start(Box::new(Capture(Arc::clone(&heard))), None, None, None)
            .expect("playout");
        let stats = CallStats::new(Instant::now()).remote(1, "Kim");
        let feed = playout.add_input(Arc::clone(&stats)).expect("input");
        let mut encoder = OpusEncoder::new(32_000).expect("encoder");
        encoder.set_expected_loss(10).expect("fec");
        let mut tone = ToneSource::new(500.0).expect("tone");
        let mut frame = AudioFrame::default();
        let mut packet = [0u8; OPUS_MAX_PACKET];
        let (mut seq, mut timestamp) = (65_500u16, 0u32);
        let start = Instant::now();
        // 1.5 s of tone, sent in real time, 20 ms a packet.
        for _ in 0..150 {
            tone.read(&mut frame);
            if let Some(n) = encoder.push(&frame, &mut packet).expect("encode") {
                if seq % 10 != 3 {
                    let p = AudioPacket::new(seq, timestamp, Instant::now(), &packet[..n]);
                    feed.push(p.expect("an Opus packet"));
                }
                seq = seq.wrapping_add(1);
                timestamp = timestamp.wrapping_add(OPUS_PACKET_SAMPLES as u32);
                let due = start + Duration::from_millis(u64::from(timestamp / 48));
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
            }
        }
        std::thread::sleep(Duration::from_millis(200));
        drop(feed);
        drop(playout);
        let heard = heard.lock().map(|h| h.clone()).unwrap_or_default();
        let start = heard.iter().position(|&s| s != 0).unwrap_or(0);
        let end = heard.iter().rposition(|&s| s != 0).map_or(0, |e| e + 1);
        let tone = &heard[start..end.max(start)];
        // Lost packets were rebuilt from the next one's FEC: 1.5 s of tone,
        // then up to 100 ms concealed while waiting for more (more if this
        // thread was late feeding it; skipping the lost ones would have
        // left 1.35 s).
        assert!(
            (70_000..=82_000).contains(&tone.len()),
            "{} samples after the first sound",
            tone.len()
        );
        let found = dominant_frequency_hz(&tone[..48_000]).expect("not silent");
        assert!((found - 500.0).abs() < 5.0, "heard {found} Hz");
        let counted = stats.audio_frames_decoded.load(Ordering::Relaxed);
        assert!(
            (148..=170).contains(&counted),
            "{counted} frames counted as played"
        );
    }
}
