//! Mixes every remote participant's audio into one sink on a thread of its
//! own, 10 ms at a time. Each participant feeds a lock-free ring; a ring
//! starts playing once it holds a little audio (jitter) and re-buffers after
//! running dry, so packet bursts do not turn into clicks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use talkline_media::AUDIO_FRAME_SAMPLES;
use talkline_media::ring::{RingConsumer, RingProducer, sample_ring};
use talkline_media::sink::AudioSink;

/// 40 ms queued before a participant is heard.
const PREBUFFER: usize = AUDIO_FRAME_SAMPLES * 4;
/// Up to 500 ms per participant before their newest audio is dropped.
const RING: usize = AUDIO_FRAME_SAMPLES * 50;

struct Input {
    ring: RingConsumer,
    playing: bool,
}

pub struct Playout {
    register: mpsc::Sender<RingConsumer>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Playout {
    pub fn start(mut sink: Box<dyn AudioSink>) -> std::io::Result<Self> {
        let (register, incoming) = mpsc::channel::<RingConsumer>();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_thread = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("talkline-playout".into())
            .spawn(move || {
                let mut inputs: Vec<Input> = Vec::new();
                let mut mix = [0i32; AUDIO_FRAME_SAMPLES];
                let mut chunk = [0i16; AUDIO_FRAME_SAMPLES];
                let mut out = [0i16; AUDIO_FRAME_SAMPLES];
                let period = Duration::from_millis(10);
                let mut next = Instant::now() + period;
                while !stop_thread.load(Ordering::Relaxed) {
                    while let Ok(ring) = incoming.try_recv() {
                        inputs.push(Input {
                            ring,
                            playing: false,
                        });
                    }
                    // A participant who left: play what remains, then forget them.
                    inputs.retain(|i| !(i.ring.is_abandoned() && i.ring.available() == 0));
                    mix.fill(0);
                    for input in &mut inputs {
                        if !input.playing && input.ring.available() >= PREBUFFER {
                            input.playing = true;
                        }
                        if !input.playing {
                            continue;
                        }
                        let n = input.ring.pop(&mut chunk);
                        if n < AUDIO_FRAME_SAMPLES {
                            input.playing = false;
                        }
                        for (m, &s) in mix.iter_mut().zip(&chunk[..n]) {
                            *m += s as i32;
                        }
                    }
                    for (o, &m) in out.iter_mut().zip(&mix) {
                        *o = m.clamp(i16::MIN as i32, i16::MAX as i32) as i16;
                    }
                    if let Err(e) = sink.write(&out) {
                        log::warn!("audio output failed: {e}");
                        break;
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
            stop,
            thread: Some(thread),
        })
    }

    /// A ring for one more participant's decoded audio.
    pub fn add_input(&self) -> RingProducer {
        let (producer, consumer) = sample_ring(RING);
        let _ = self.register.send(consumer);
        producer
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
