//! The sending half of a call: capture and encoding on dedicated threads,
//! handing encoded frames to the network side through bounded channels.
//! The threads outlive any one peer connection, so a rejoin only swaps the
//! track they write to.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rtc::media::Sample;
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;

use talkline_media::opus_codec::{OPUS_MAX_PACKET, OpusEncoder};
use talkline_media::vp8::{Vp8Config, Vp8Encoder};
use talkline_media::{AudioFrame, AudioSource, VideoFrame, VideoSource};

use crate::stats::CallStats;

/// Where encoded media goes now: the current publisher track, or nowhere
/// while (re)connecting.
#[derive(Clone)]
pub struct TrackTarget {
    pub track: Arc<TrackLocalStaticSample>,
    pub ssrc: u32,
    pub payload_type: u8,
}

pub type TrackSlot = watch::Sender<Option<TrackTarget>>;

struct Encoded {
    data: Bytes,
    duration: Duration,
    captured: Instant,
}

/// Controls shared between the call and the media threads.
#[derive(Default)]
pub struct SendControls {
    pub stop: AtomicBool,
    pub audio_muted: AtomicBool,
    pub video_muted: AtomicBool,
    pub keyframe_requested: AtomicBool,
}

pub struct SendPipeline {
    pub controls: Arc<SendControls>,
    pub audio_slot: TrackSlot,
    pub video_slot: TrackSlot,
    threads: Vec<JoinHandle<()>>,
    writers: Vec<tokio::task::JoinHandle<()>>,
}

/// Copies a packet into shared bytes without a fresh allocation once the
/// previous frames have been sent: `BytesMut` takes its buffer back when it
/// is the only owner left.
fn reuse(staging: &mut BytesMut, packet: &[u8]) -> Bytes {
    staging.reserve(packet.len());
    staging.extend_from_slice(packet);
    staging.split().freeze()
}

/// Sleeps until the next tick of a fixed schedule; if the thread fell more
/// than a period behind, the schedule restarts from now instead of bursting.
fn pace(next: &mut Instant, period: Duration) {
    let now = Instant::now();
    if *next > now {
        std::thread::sleep(*next - now);
        *next += period;
    } else if now - *next > period {
        *next = now + period;
    } else {
        *next += period;
    }
}

fn spawn_writer(
    mut encoded: mpsc::Receiver<Encoded>,
    slot: watch::Receiver<Option<TrackTarget>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(chunk) = encoded.recv().await {
            let target = slot.borrow().clone();
            let Some(target) = target else { continue };
            let sample = Sample {
                data: chunk.data,
                duration: chunk.duration,
                ..Sample::new(chunk.captured)
            };
            if let Err(e) = target
                .track
                .write_sample(target.ssrc, target.payload_type, &sample, &[])
                .await
            {
                log::debug!("dropping a sample: {e}");
            }
        }
    })
}

impl SendPipeline {
    pub fn start(
        video: Option<Box<dyn VideoSource>>,
        audio: Option<Box<dyn AudioSource>>,
        video_bitrate_kbps: u32,
        stats: Arc<CallStats>,
    ) -> Result<Self, crate::MeetingError> {
        let controls = Arc::new(SendControls::default());
        let (audio_slot, audio_rx) = watch::channel(None);
        let (video_slot, video_rx) = watch::channel(None);
        let mut threads = Vec::new();
        let mut writers = Vec::new();

        if let Some(source) = video {
            let (w, h) = source.size();
            let rate = source.frame_rate().round().clamp(1.0, 120.0) as u32;
            let encoder = Vp8Encoder::new(Vp8Config {
                width: w,
                height: h,
                frame_rate: rate,
                bitrate_kbps: video_bitrate_kbps,
            })?;
            let (tx, rx) = mpsc::channel(4);
            writers.push(spawn_writer(rx, video_rx));
            let controls = Arc::clone(&controls);
            let stats = Arc::clone(&stats);
            threads.push(
                std::thread::Builder::new()
                    .name("talkline-video-send".into())
                    .spawn(move || video_thread(source, encoder, tx, controls, stats))
                    .map_err(|e| {
                        crate::MeetingError::WebRtc(format!("cannot start video thread: {e}"))
                    })?,
            );
        }
        if let Some(source) = audio {
            let encoder = OpusEncoder::new(32_000)?;
            let (tx, rx) = mpsc::channel(8);
            writers.push(spawn_writer(rx, audio_rx));
            let controls = Arc::clone(&controls);
            threads.push(
                std::thread::Builder::new()
                    .name("talkline-audio-send".into())
                    .spawn(move || audio_thread(source, encoder, tx, controls, stats))
                    .map_err(|e| {
                        crate::MeetingError::WebRtc(format!("cannot start audio thread: {e}"))
                    })?,
            );
        }
        Ok(Self {
            controls,
            audio_slot,
            video_slot,
            threads,
            writers,
        })
    }

    pub fn stop(&mut self) {
        self.controls.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        for w in self.writers.drain(..) {
            w.abort();
        }
    }
}

impl Drop for SendPipeline {
    fn drop(&mut self) {
        self.stop();
    }
}

fn video_thread(
    mut source: Box<dyn VideoSource>,
    mut encoder: Vp8Encoder,
    out: mpsc::Sender<Encoded>,
    controls: Arc<SendControls>,
    stats: Arc<CallStats>,
) {
    let period = Duration::from_secs_f64(1.0 / source.frame_rate().clamp(1.0, 120.0));
    let (w, h) = source.size();
    let Ok(mut frame) = VideoFrame::new(w, h) else {
        return;
    };
    let mut packet = Vec::with_capacity(256 * 1024);
    let mut staging = BytesMut::with_capacity(256 * 1024);
    let mut next = Instant::now();
    let mut was_muted = false;
    while !controls.stop.load(Ordering::Relaxed) {
        if !source.is_live() {
            pace(&mut next, period);
        }
        if let Err(e) = source.next_frame(&mut frame) {
            log::warn!("video source stopped: {e}");
            break;
        }
        let muted = controls.video_muted.load(Ordering::Relaxed);
        if muted {
            was_muted = true;
            continue;
        }
        let captured = Instant::now();
        let force = controls.keyframe_requested.swap(false, Ordering::Relaxed) || was_muted;
        was_muted = false;
        match encoder.encode(&frame, force, &mut packet) {
            Ok(Some(_)) => {
                let chunk = Encoded {
                    data: reuse(&mut staging, &packet),
                    duration: period,
                    captured,
                };
                if out.try_send(chunk).is_err() {
                    // The network side is behind: the next frame must be
                    // decodable on its own.
                    controls.keyframe_requested.store(true, Ordering::Relaxed);
                } else {
                    stats.video_frames_sent.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(None) => {}
            Err(e) => log::warn!("video encode failed: {e}"),
        }
    }
}

fn audio_thread(
    mut source: Box<dyn AudioSource>,
    mut encoder: OpusEncoder,
    out: mpsc::Sender<Encoded>,
    controls: Arc<SendControls>,
    stats: Arc<CallStats>,
) {
    let period = Duration::from_millis(10);
    let mut frame = AudioFrame::default();
    let mut packet = [0u8; OPUS_MAX_PACKET];
    let mut staging = BytesMut::with_capacity(64 * OPUS_MAX_PACKET);
    let mut next = Instant::now();
    while !controls.stop.load(Ordering::Relaxed) {
        if !source.is_live() {
            pace(&mut next, period);
        }
        if let Err(e) = source.read(&mut frame) {
            log::warn!("audio source stopped: {e}");
            break;
        }
        if controls.audio_muted.load(Ordering::Relaxed) {
            frame.samples.fill(0);
        }
        match encoder.push(&frame, &mut packet) {
            Ok(Some(n)) => {
                let chunk = Encoded {
                    data: reuse(&mut staging, &packet[..n]),
                    duration: Duration::from_millis(20),
                    captured: Instant::now(),
                };
                if out.try_send(chunk).is_ok() {
                    stats.audio_packets_sent.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(None) => {}
            Err(e) => log::warn!("audio encode failed: {e}"),
        }
    }
}
