//! The pre-join preview: the camera into the self-view tile and the
//! microphone into a level meter, each on its own thread, stopped (and the
//! devices released) before the call opens them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use talkline_media::display::FrameMailbox;
use talkline_media::{AudioFrame, AudioSource, VideoFrame, VideoSource};
use talkline_meeting::stats::audio_level;

pub struct Preview {
    stop: Arc<AtomicBool>,
    level: Arc<AtomicU32>,
    threads: Vec<JoinHandle<()>>,
}

fn pace(next: &mut Instant, period: Duration) {
    let now = Instant::now();
    if *next > now {
        std::thread::sleep(*next - now);
    }
    *next = (*next + period).max(now);
}

impl Preview {
    pub fn start(
        video: Option<Box<dyn VideoSource>>,
        audio: Option<Box<dyn AudioSource>>,
        view: Arc<FrameMailbox>,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let level = Arc::new(AtomicU32::new(0));
        let mut threads = Vec::new();
        if let Some(mut source) = video {
            let stop = Arc::clone(&stop);
            threads.push(
                std::thread::Builder::new()
                    .name("talkline-preview-video".into())
                    .spawn(move || {
                        let (w, h) = source.size();
                        let Ok(mut frame) = VideoFrame::new(w, h) else {
                            return;
                        };
                        let period =
                            Duration::from_secs_f64(1.0 / source.frame_rate().clamp(1.0, 120.0));
                        let mut next = Instant::now();
                        while !stop.load(Ordering::Relaxed) {
                            if !source.is_live() {
                                pace(&mut next, period);
                            }
                            if let Err(e) = source.next_frame(&mut frame) {
                                log::warn!("preview camera stopped: {e}");
                                break;
                            }
                            view.publish(&frame);
                        }
                    })?,
            );
        }
        if let Some(mut source) = audio {
            let stop = Arc::clone(&stop);
            let level = Arc::clone(&level);
            threads.push(
                std::thread::Builder::new()
                    .name("talkline-preview-audio".into())
                    .spawn(move || {
                        let mut frame = AudioFrame::default();
                        let mut next = Instant::now();
                        while !stop.load(Ordering::Relaxed) {
                            if !source.is_live() {
                                pace(&mut next, Duration::from_millis(10));
                            }
                            if let Err(e) = source.read(&mut frame) {
                                log::warn!("preview microphone stopped: {e}");
                                level.store(0, Ordering::Relaxed);
                                break;
                            }
                            level.store(audio_level(&frame.samples).to_bits(), Ordering::Relaxed);
                        }
                    })?,
            );
        }
        Ok(Self {
            stop,
            level,
            threads,
        })
    }

    pub fn level(&self) -> f32 {
        f32::from_bits(self.level.load(Ordering::Relaxed))
    }
}

impl Drop for Preview {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
