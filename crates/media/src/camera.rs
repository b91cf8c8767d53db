//! A camera (nokhwa: V4L2, AVFoundation, Media Foundation) as a
//! `VideoSource`. Capture runs on a thread of its own and hands I420 frames
//! through a drop-oldest queue, so a slow consumer never delays the device
//! and a late frame is replaced by a newer one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nokhwa::Camera;
use nokhwa::utils::{
    CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution,
};

use crate::convert::{nv12_to_i420, yuyv_to_i420};
use crate::devices::DeviceKey;
use crate::error::{MediaError, Result};
use crate::frame::VideoFrame;
use crate::queue::DropOldestQueue;
use crate::source::{VideoSource, wall_clock_us};

/// A camera that delivers nothing for this long is gone (unplugged).
const STALL_TIMEOUT: Duration = Duration::from_secs(3);

pub struct CameraSource {
    frames: Arc<DropOldestQueue<VideoFrame>>,
    spare: Arc<DropOldestQueue<VideoFrame>>,
    stop: Arc<AtomicBool>,
    failed: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    size: (u32, u32),
    frame_rate: f64,
}

impl CameraSource {
    /// Opens the camera `key` names, wherever it is in the system's list now.
    pub fn open_named(key: &DeviceKey, width: u32, height: u32, fps: u32) -> Result<Self> {
        let found = crate::devices::cameras()?
            .into_iter()
            .find(|d| d.key == *key)
            .ok_or_else(|| {
                MediaError::Camera(format!(
                    "the camera {:?} is not connected (unplugged?)",
                    key.name()
                ))
            })?;
        Self::open(found.index, width, height, fps)
    }

    /// Opens camera `index` at the format closest to `width`x`height`@`fps`.
    /// Formats converted here: YUYV and NV12 (what webcams offer uncompressed).
    pub fn open(index: usize, width: u32, height: u32, fps: u32) -> Result<Self> {
        let wanted = CameraFormat::new(Resolution::new(width, height), FrameFormat::YUYV, fps);
        let request = RequestedFormat::with_formats(
            RequestedFormatType::Closest(wanted),
            &[FrameFormat::YUYV, FrameFormat::NV12],
        );
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let frames = DropOldestQueue::new(2);
        let spare = DropOldestQueue::new(3);
        let stop = Arc::new(AtomicBool::new(false));
        let failed = Arc::new(AtomicBool::new(false));
        let (frames_t, spare_t, stop_t, failed_t) = (
            Arc::clone(&frames),
            Arc::clone(&spare),
            Arc::clone(&stop),
            Arc::clone(&failed),
        );
        let thread = std::thread::Builder::new()
            .name("talkline-camera".into())
            .spawn(move || {
                let opened =
                    Camera::new(CameraIndex::Index(index as u32), request).and_then(|mut c| {
                        c.open_stream()?;
                        Ok(c)
                    });
                let mut camera = match opened {
                    Ok(c) => {
                        let f = c.camera_format();
                        let _ = ready_tx.send(Ok((f.width(), f.height(), f.frame_rate())));
                        c
                    }
                    Err(e) => {
                        let _ =
                            ready_tx.send(Err(MediaError::Camera(format!("camera {index}: {e}"))));
                        return;
                    }
                };
                while !stop_t.load(Ordering::Relaxed) {
                    let buffer = match camera.frame() {
                        Ok(b) => b,
                        Err(e) => {
                            log::warn!("camera stopped: {e}");
                            failed_t.store(true, Ordering::Relaxed);
                            break;
                        }
                    };
                    let res = buffer.resolution();
                    let mut frame = match spare_t.pop() {
                        Some(f) => f,
                        None => match VideoFrame::new(2, 2) {
                            Ok(f) => f,
                            Err(_) => break,
                        },
                    };
                    let converted = match buffer.source_frame_format() {
                        FrameFormat::YUYV => {
                            yuyv_to_i420(buffer.buffer(), res.width(), res.height(), &mut frame)
                        }
                        FrameFormat::NV12 => {
                            nv12_to_i420(buffer.buffer(), res.width(), res.height(), &mut frame)
                        }
                        other => Err(MediaError::Camera(format!(
                            "unsupported camera format {other}"
                        ))),
                    };
                    match converted {
                        Ok(()) => {
                            frame.capture_time_us = wall_clock_us();
                            if let Some(old) = frames_t.push(frame) {
                                spare_t.push(old);
                            }
                        }
                        Err(e) => log::debug!("dropping a camera frame: {e}"),
                    }
                }
                let _ = camera.stop_stream();
            })
            .map_err(|e| MediaError::Camera(e.to_string()))?;
        let (w, h, rate) = ready_rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| {
                MediaError::Camera(format!("camera {index} did not open within 10 s"))
            })??;
        Ok(Self {
            frames,
            spare,
            stop,
            failed,
            thread: Some(thread),
            size: (w & !1, h & !1),
            frame_rate: rate.max(1) as f64,
        })
    }
}

impl VideoSource for CameraSource {
    fn next_frame(&mut self, frame: &mut VideoFrame) -> Result<()> {
        let started = Instant::now();
        loop {
            if let Some(mut captured) = self.frames.pop() {
                std::mem::swap(frame, &mut captured);
                self.spare.push(captured);
                return Ok(());
            }
            if self.failed.load(Ordering::Relaxed) || started.elapsed() > STALL_TIMEOUT {
                return Err(MediaError::Camera(
                    "the camera stopped delivering video (unplugged?)".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    fn frame_rate(&self) -> f64 {
        self.frame_rate
    }
    fn is_live(&self) -> bool {
        true
    }
    fn size(&self) -> (u32, u32) {
        self.size
    }
}

impl Drop for CameraSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
