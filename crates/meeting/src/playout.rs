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
use talkline_media::devices::DeviceKind;
use talkline_media::ring::{RingConsumer, RingProducer, sample_ring};
use talkline_media::sink::AudioSink;

use crate::send::DeviceLossReporter;

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
    replace: mpsc::Sender<Box<dyn AudioSink>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Playout {
    pub fn start(
        sink: Box<dyn AudioSink>,
        device_lost: Option<DeviceLossReporter>,
    ) -> std::io::Result<Self> {
        let (register, incoming) = mpsc::channel::<RingConsumer>();
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
                let mut chunk = [0i16; AUDIO_FRAME_SAMPLES];
                let mut out = [0i16; AUDIO_FRAME_SAMPLES];
                let period = Duration::from_millis(10);
                let mut next = Instant::now() + period;
                while !stop_thread.load(Ordering::Relaxed) {
                    while let Ok(next) = replacements.try_recv() {
                        sink = Some(next);
                    }
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
