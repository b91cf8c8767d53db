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
use talkline_media::opus_codec::{OPUS_PACKET_SAMPLES, OpusDecoder};
use talkline_media::sink::AudioSink;

use crate::jitter::audio::{AudioJitterBuffer, AudioPacket, Playback};
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
    /// Decoded audio not yet played: packets are 20 ms, the mix takes 10.
    pcm: Box<[i16; OPUS_PACKET_SAMPLES]>,
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
            let n = decoded.len().min(OPUS_PACKET_SAMPLES);
            self.pcm[..n].copy_from_slice(&decoded[..n]);
            self.pcm_len = n;
            self.pcm_at = 0;
            self.stats.record_audio(&self.pcm[..n]);
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
    pub fn start(
        sink: Box<dyn AudioSink>,
        device_lost: Option<DeviceLossReporter>,
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
                while !stop_thread.load(Ordering::Relaxed) {
                    while let Ok(next) = replacements.try_recv() {
                        sink = Some(next);
                    }
                    while let Ok(input) = incoming.try_recv() {
                        inputs.push(input);
                    }
                    // A participant who left: play what remains, then forget them.
                    inputs.retain(|i| !i.finished());
                    mix.fill(0);
                    for input in &mut inputs {
                        if let Some(chunk) = input.next_chunk() {
                            for (m, &s) in mix.iter_mut().zip(chunk) {
                                *m += s as i32;
                            }
                        }
                    }
                    for (o, &m) in out.iter_mut().zip(&mix) {
                        *o = m.clamp(i16::MIN as i32, i16::MAX as i32) as i16;
                    }
                    if let Some(Err(e)) = sink.as_mut().map(|s| s.write(&out)) {
                        log::warn!("audio output failed: {e}");
                        // An output already on its way replaces the failed
                        // one: no loss.
                        sink = replacements.try_recv().ok();
                        if sink.is_none() {
                            if let Some(reporter) = &device_lost {
                                let _ = reporter.send(DeviceKind::Speaker);
                            }
                        }
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
            pcm: Box::new([0; OPUS_PACKET_SAMPLES]),
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
