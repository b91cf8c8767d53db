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

use crate::core::{AppCore, lock};
use crate::error::AppError;
use crate::events::AppEvent;

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

/// The pre-join's preview (and the QR scan's camera): one at a time, and
/// never past a join that took its devices.
impl AppCore {
    pub fn start_preview(
        self: &Arc<Self>,
        camera: Option<&str>,
        microphone: Option<&str>,
    ) -> Result<(), AppError> {
        self.require_policy()?;
        let epoch = self.stop_preview();
        self.load_effects();
        let video = self.open_camera(camera)?;
        let audio = self.open_microphone(microphone)?;
        let preview =
            Preview::start(video, audio, self.tiles.get_or_create("self")).map_err(|e| {
                AppError::Media(crate::Said::new(
                    format!("cannot start the preview: {e}"),
                    format!("无法开始预览：{e}"),
                ))
            })?;
        if !self.keep_preview(epoch, preview) {
            return Ok(());
        }
        let core = Arc::clone(self);
        let ticker = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                let level = match lock(&core.preview).as_ref() {
                    Some(p) => p.level(),
                    None => break,
                };
                core.sink().emit(AppEvent::Levels {
                    own: level,
                    // The meter before joining: nobody to tell of a voice.
                    speaking: false,
                    remotes: Default::default(),
                });
            }
        });
        if let Some(old) = lock(&self.preview_levels).replace(ticker) {
            old.abort();
        }
        Ok(())
    }

    /// Releases the camera and microphone of the preview or the QR scan.
    /// Returns the epoch a preview started after it must still find.
    pub fn stop_preview(&self) -> u64 {
        self.end_scan_worker();
        let (preview, epoch) = {
            let mut slot = lock(&self.preview);
            let epoch = self.preview_epoch.fetch_add(1, Ordering::SeqCst) + 1;
            (slot.take(), epoch)
        };
        drop(preview); // joins its threads, releasing the devices
        if let Some(t) = lock(&self.preview_levels).take() {
            t.abort();
        }
        epoch
    }

    /// Keeps a preview opened since `stop_preview` returned `epoch`, unless
    /// the devices were taken back meanwhile: a join that began while the
    /// pre-join's preview was still opening (the user changed microphone
    /// and clicked Join at once) would otherwise leave that preview
    /// holding the old microphone for the whole call.
    pub(crate) fn keep_preview(&self, epoch: u64, preview: Preview) -> bool {
        let mut slot = lock(&self.preview);
        if self.preview_epoch.load(Ordering::SeqCst) != epoch {
            drop(slot);
            drop(preview);
            return false;
        }
        *slot = Some(preview);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preview_that_opened_while_the_devices_were_taken_back_is_not_kept() {
        let dir =
            std::env::temp_dir().join(format!("talkline-core-preview-{}", std::process::id()));
        let core = AppCore::new(crate::CoreConfig::in_dir(
            dir.clone(),
            talkline_meeting::ServerUrl::parse("ws://127.0.0.1:9").expect("url"),
            Arc::new(talkline_store::MemoryVault::default()),
        ))
        .expect("core");
        let opened =
            || Preview::start(None, None, core.tiles.get_or_create("self")).expect("preview");
        // A preview starts opening; a join takes the devices back first.
        let epoch = core.stop_preview();
        core.stop_preview();
        assert!(!core.keep_preview(epoch, opened()));
        assert!(lock(&core.preview).is_none(), "a stale preview was kept");
        // Undisturbed, it is kept.
        let epoch = core.stop_preview();
        assert!(core.keep_preview(epoch, opened()));
        assert!(lock(&core.preview).is_some());
        core.stop_preview();
        let _ = std::fs::remove_dir_all(dir);
    }
}
