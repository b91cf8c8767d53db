//! Joining by scanning a meeting QR code: the camera shows its picture in
//! the scan tile (through the same consent path as the pre-join), and a
//! scan worker thread reads the newest picture a few times a second and
//! looks for a code in it. The capture thread does nothing more than for
//! a preview: decoding (≈16 ms for 640x360) never runs per frame.
//!
//! A user without a camera picks a picture of the code instead. Either
//! way, a TalkLine code is kept as a scan record when the scan-history
//! consent is on, and nothing is kept when it is off.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;
use talkline_media::VideoFrame;
use talkline_media::display::{FRAME_HEADER_BYTES, FrameMailbox, parse_header};
use talkline_meeting::qr::{self, ScanError, ScannedLink};
use talkline_privacy::FeatureConsent;

use crate::core::{AppCore, lock, now_unix};
use crate::error::AppError;
use crate::events::AppEvent;
use crate::preview::Preview;

/// The tile the scan screen shows the camera in.
pub const SCAN_TILE: &str = "scan";
/// How often the worker looks at the newest picture: a code held up to
/// the camera is found within a fraction of a second, at a few percent of
/// one core.
const SCAN_INTERVAL: Duration = Duration::from_millis(200);
/// The worker's sleep is cut into steps this long, so stopping is quick.
const STOP_POLL: Duration = Duration::from_millis(20);

/// A meeting read from a QR code, as the window fills it in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScannedMeeting {
    /// The canonical link: what the meeting field gets and `join` takes.
    pub input: String,
    pub room: u64,
    pub server: String,
    pub has_pin: bool,
}

/// What the worker saw worth telling.
enum Outcome {
    Found(ScannedLink),
    /// A code that is not a TalkLine meeting is in view.
    Refused(ScanError),
}

/// The thread that looks for a code in the newest picture of a tile.
pub(crate) struct ScanWorker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Copies a stored picture (mailbox wire form) into `frame`.
fn read_picture(bytes: &[u8], frame: &mut VideoFrame) -> bool {
    let Some((_, width, height)) = parse_header(bytes) else {
        return false;
    };
    if frame.reshape(width, height).is_err() {
        return false;
    }
    let planes = &bytes[FRAME_HEADER_BYTES..];
    if planes.len() != frame.as_bytes().len() {
        return false;
    }
    frame.as_bytes_mut().copy_from_slice(planes);
    true
}

impl ScanWorker {
    fn start(
        view: Arc<FrameMailbox>,
        mut report: impl FnMut(Outcome) + Send + 'static,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("talkline-qr-scan".into())
            .spawn(move || {
                let mut frame = match VideoFrame::new(2, 2) {
                    Ok(f) => f,
                    Err(_) => return,
                };
                let (mut seen, mut last_refusal) = (0, None);
                while !stopped.load(Ordering::Relaxed) {
                    let mut slept = Duration::ZERO;
                    while slept < SCAN_INTERVAL && !stopped.load(Ordering::Relaxed) {
                        std::thread::sleep(STOP_POLL);
                        slept += STOP_POLL;
                    }
                    // Only polled, never awaited: the mailbox wakes one
                    // waiter, and that is the window's frame loop.
                    let Some(bytes) = view.newer_than(seen) else {
                        continue;
                    };
                    seen = parse_header(&bytes).map_or(seen, |(seq, _, _)| seq);
                    if !read_picture(&bytes, &mut frame) {
                        continue;
                    }
                    match qr::scan_frame(&frame) {
                        Ok(Some(found)) => {
                            report(Outcome::Found(found));
                            break;
                        }
                        Ok(None) => {}
                        // Said once per code held up, not five times a second.
                        Err(e) if last_refusal.as_ref() != Some(&e) => {
                            last_refusal = Some(e.clone());
                            report(Outcome::Refused(e));
                        }
                        Err(_) => {}
                    }
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for ScanWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The worker's own report may hold the last reference to the
            // core; it must not wait for itself.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

fn scan_error(e: ScanError) -> AppError {
    AppError::Link(crate::Said::of(&e))
}

impl AppCore {
    /// Opens the camera for scanning and starts looking for a code; the
    /// picture goes to the `scan` tile. A found meeting arrives as
    /// `AppEvent::QrScanned` (the worker then stops; the camera stays on
    /// until `stop_scan` or the pre-join's preview takes it over).
    pub fn start_scan(self: &Arc<Self>, camera: Option<&str>) -> Result<(), AppError> {
        self.require_policy()?;
        let epoch = self.stop_preview();
        let video = self.open_plain_camera(camera)?.ok_or_else(|| {
            AppError::Invalid(
                "choose a camera to scan with, or pick a picture of the code instead".into(),
            )
        })?;
        let view = self.tiles().get_or_create(SCAN_TILE);
        let preview = Preview::start(Some(video), None, Arc::clone(&view)).map_err(|e| {
            AppError::Media(crate::Said::new(
                format!("cannot start the camera: {e}"),
                format!("无法启动摄像头：{e}"),
            ))
        })?;
        if !self.keep_preview(epoch, preview) {
            return Err(AppError::State(
                "the camera was taken back while scanning started".into(),
            ));
        }
        let core = Arc::downgrade(self);
        let worker = ScanWorker::start(view, move |outcome| {
            if let Some(core) = core.upgrade() {
                core.scan_outcome(outcome);
            }
        })
        .map_err(|e| {
            AppError::Media(crate::Said::new(
                format!("cannot start scanning: {e}"),
                format!("无法开始扫描：{e}"),
            ))
        })?;
        *lock(&self.scan) = Some(worker);
        Ok(())
    }

    /// Stops scanning and the camera (Cancel), and forgets the last picture.
    pub fn stop_scan(&self) {
        self.stop_preview();
    }

    /// Ends the scan worker, if one runs, and drops the scan tile's picture.
    pub(crate) fn end_scan_worker(&self) {
        let worker = lock(&self.scan).take();
        drop(worker);
        self.tiles().remove(SCAN_TILE);
    }

    fn scan_outcome(&self, outcome: Outcome) {
        let event = match outcome {
            Outcome::Found(found) => AppEvent::QrScanned {
                meeting: self.accept_scan(found),
            },
            Outcome::Refused(e) => AppEvent::QrRefused {
                message: e.to_string(),
            },
        };
        self.emit(event);
    }

    /// Reads a meeting QR code from a picture the user picked (PNG or JPEG
    /// bytes): for machines without a camera.
    pub fn scan_image(&self, bytes: &[u8]) -> Result<ScannedMeeting, AppError> {
        self.require_policy()?;
        let found = qr::scan_image(bytes).map_err(scan_error)?;
        Ok(self.accept_scan(found))
    }

    /// Keeps the scan record (if the user lets scans be kept) and says
    /// what will be joined.
    fn accept_scan(&self, found: ScannedLink) -> ScannedMeeting {
        match self.feature_granted(FeatureConsent::ScanHistory) {
            Ok(true) => {
                if let Err(e) = self.with_store(|s| Ok(s.add_scan(&found.payload, now_unix())?)) {
                    log::warn!("scan record not saved: {e}");
                }
            }
            Ok(false) => {}
            Err(e) => log::warn!("scan record not saved: {e}"),
        }
        let link = &found.link;
        ScannedMeeting {
            input: link.to_string(),
            room: link.room,
            server: link.server_or(&self.config.default_server).to_string(),
            has_pin: link.pin.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_pictures_in_the_mailbox_are_skipped() {
        let mut frame = VideoFrame::new(2, 2).expect("frame");
        assert!(!read_picture(&[], &mut frame));
        assert!(!read_picture(&[0; FRAME_HEADER_BYTES + 3], &mut frame));
        let view = FrameMailbox::new();
        let picture = VideoFrame::new(64, 32).expect("frame");
        view.publish(&picture);
        let bytes = view.newer_than(0).expect("stored");
        assert!(read_picture(&bytes, &mut frame));
        assert_eq!((frame.width(), frame.height()), (64, 32));
        assert!(!read_picture(&bytes[..bytes.len() - 1], &mut frame));
    }
}
