//! The sending half of a call: capture and encoding on dedicated threads,
//! handing encoded frames to the network side through bounded channels.
//! The threads outlive any one peer connection, so a rejoin only swaps the
//! track they write to.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use crossbeam_queue::ArrayQueue;
use rtc::media::Sample;
use rtc::rtp::extension::HeaderExtension;
use rtc::rtp::extension::audio_level_extension::AudioLevelExtension;
use rtc::rtp::packet::Packet;
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;

use talkline_media::devices::DeviceKind;
use talkline_media::display::FrameMailbox;
use talkline_media::encoded_feed::EncodedFeed;
use talkline_media::frame::downscale;
use talkline_media::opus_codec::{
    AudioContent, MIN_EXPECTED_LOSS_PERCENT, OPUS_MAX_PACKET, OpusEncoder, VOICE_BITRATE_BPS,
};
use talkline_media::voice_activity::VoiceActivity;
use talkline_media::voice_processing::{
    CaptureLevels, EchoReference, EchoReport, VoiceProcessor, VoiceSettings,
};
use talkline_media::vp8::{Vp8Config, Vp8Encoder};
use talkline_media::{AudioFrame, AudioSource, VideoFrame, VideoSource};

use crate::congestion::{
    LAYER_DIVISORS, LayerAllocation, PathEstimate, VideoRate, VideoRateController, VideoSendRate,
};
use crate::keyframes::KeyframeRequests;
use crate::recording::RecordingTap;
use crate::simulcast::{SmallerLayers, StreamIds};
use crate::stats::CallStats;
use crate::vp8_packetizer::{FrameLayer, Vp8Packetizer};

/// How long a thread without a device sleeps before it looks again on its
/// own; a replacement (or the call's end) wakes it at once.
const REPLACEMENT_WAIT: Duration = Duration::from_secs(1);

/// What a call sends of one kind: the camera's pictures or the
/// microphone's sound.
pub enum Outgoing<S> {
    /// Nothing of this kind, for the whole call: no track is negotiated
    /// (a listener, a bot).
    Never,
    /// A track with no device on it yet. Nothing is sent until one is given
    /// (`CallCommand::ReplaceVideoSource`), so a user who joined without a
    /// camera or microphone can pick one mid-call, without a rejoin.
    NoDeviceYet,
    From(S),
}

/// `None` is `Never`: a caller with no device and no wish to add one.
impl<S> From<Option<S>> for Outgoing<S> {
    fn from(source: Option<S>) -> Self {
        source.map_or(Self::Never, Self::From)
    }
}

impl<S> Outgoing<S> {
    fn track(self) -> Option<Option<S>> {
        match self {
            Self::Never => None,
            Self::NoDeviceYet => Some(None),
            Self::From(s) => Some(Some(s)),
        }
    }
}

/// Two temporal layers on a lossy path: a lost upper frame (one in two)
/// costs that frame only. Three (a lost base frame is one in 8) asked for
/// 2-4 times fewer keyframes at 10% loss in trials, for about the same
/// share of frames shown, but froze more under a rate cap, where its larger
/// base frames meet the policer: not used until that is understood.
const LOSSY_PATH_LAYERS: u8 = 2;
/// One layer on a path that loses little: Chromium does not wait for the
/// retransmission of a frame nothing references; it decodes the next base
/// frame and drops the late one. At 5% loss per hop it showed 71-75% of our
/// two-layer frames against 84-85% of one-layer ones (and 84-87% of another
/// Chromium's, which sends one layer). Our own receivers wait for such a
/// frame; they showed 97-100% of one-layer frames at 5%, 99-100% of
/// two-layer ones (BENCHMARKS.md, session 23).
const CLEAN_PATH_LAYERS: u8 = 1;
/// Layers from this much loss on the way to the server (where base frames
/// also start to go twice, `congestion::send_base_twice`), or while the path
/// fills up (under a rate cap every probe past it loses packets: one layer
/// showed 70-88% of the frames there against 88-97% with two); one again
/// below `ONE_LAYER_BELOW_LOSS` on a path that does not fill up.
const LAYERS_FROM_LOSS: f64 = crate::congestion::BASE_TWICE_FROM_LOSS;
const ONE_LAYER_BELOW_LOSS: f64 = 0.04;

/// The temporal layers for a path losing `loss` (steadily), which `fills_up`
/// or not, sent with `current` now.
fn temporal_layers_for(current: u8, loss: f64, fills_up: bool) -> u8 {
    if fills_up || loss >= LAYERS_FROM_LOSS {
        LOSSY_PATH_LAYERS
    } else if loss < ONE_LAYER_BELOW_LOSS {
        CLEAN_PATH_LAYERS
    } else {
        current
    }
}

/// The size and rate a video track is prepared for before it has a camera;
/// the first camera given sets its own.
const NO_CAMERA_YET: (u32, u32, u32) = (640, 360, 30);

/// Where encoded media goes now: the current publisher track, or nowhere
/// while (re)connecting.
#[derive(Clone)]
pub struct TrackTarget {
    pub track: Arc<TrackLocalStaticSample>,
    pub ssrc: u32,
    pub payload_type: u8,
    /// Video sent at three sizes: each encoding's SSRC (the first is
    /// `ssrc`) and how packets name their stream.
    pub simulcast: Option<SimulcastTarget>,
}

#[derive(Debug, Clone)]
pub struct SimulcastTarget {
    pub ssrcs: [u32; 3],
    pub ids: StreamIds,
}

pub type TrackSlot = watch::Sender<Option<TrackTarget>>;

struct Encoded {
    data: Bytes,
    duration: Duration,
    captured: Instant,
    /// Video only: where the frame sits in the temporal layers.
    layer: Option<FrameLayer>,
    /// Video only: copies of each packet to send after it, as a share (0.5:
    /// one packet in two goes twice): base frames on a lossy path
    /// (`congestion::send_base_twice`), and a probe past the path's
    /// ceiling (`PathEstimate::probe_copies`).
    copies: f32,
    /// Video only: which encoding of a simulcast (0: full size, the only
    /// one without simulcast).
    encoding: usize,
    /// Audio only: how loud, and whether a voice (RFC 6464).
    audio_level: Option<AudioLevelExtension>,
}

/// Controls shared between the call and the media threads.
pub struct SendControls {
    pub stop: AtomicBool,
    pub audio_muted: AtomicBool,
    pub video_muted: AtomicBool,
    pub keyframe_requested: AtomicBool,
    /// The server answered our simulcast offer without the stream ids:
    /// only the full size can reach it.
    pub simulcast_refused: AtomicBool,
    /// Someone joined the meeting and subscribes to us next
    /// (`keyframes::KeyframeRequests::someone_joined`).
    pub someone_joined: AtomicBool,
    /// A new camera or microphone for the running thread to switch to, or
    /// `None` to let go of the one in use (the user chose "No camera"); the
    /// threads take it between frames without locking.
    video_replacement: ArrayQueue<Option<Box<dyn VideoSource>>>,
    audio_replacement: ArrayQueue<Option<Box<dyn AudioSource>>>,
    /// `VoiceSettings` as bits: the audio thread reads them each frame.
    voice: AtomicU8,
}

impl SendControls {
    /// Switches echo cancellation, noise suppression and gain control from
    /// the next 10 ms on.
    pub fn set_voice(&self, settings: VoiceSettings) {
        self.voice.store(settings.to_bits(), Ordering::Relaxed);
    }

    fn voice(&self) -> VoiceSettings {
        VoiceSettings::from_bits(self.voice.load(Ordering::Relaxed))
    }
}

/// What the microphone's signal goes through, and what the speaker plays
/// (the echo to take out of it).
#[derive(Debug, Default)]
pub struct VoiceInput {
    pub settings: VoiceSettings,
    pub echo: EchoReference,
}

impl Default for SendControls {
    fn default() -> Self {
        Self {
            stop: AtomicBool::new(false),
            audio_muted: AtomicBool::new(false),
            video_muted: AtomicBool::new(false),
            keyframe_requested: AtomicBool::new(false),
            simulcast_refused: AtomicBool::new(false),
            someone_joined: AtomicBool::new(false),
            video_replacement: ArrayQueue::new(1),
            audio_replacement: ArrayQueue::new(1),
            voice: AtomicU8::new(VoiceSettings::default().to_bits()),
        }
    }
}

/// What the sending side reports: a device that stopped delivering.
pub type DeviceLossReporter = mpsc::UnboundedSender<DeviceKind>;

/// Where captured pictures go besides the encoder: the self-view, and who
/// hears about a device that goes away.
#[derive(Clone, Default)]
pub struct CaptureOutputs {
    pub self_view: Option<Arc<FrameMailbox>>,
    /// The self-view as the frames just encoded for the meeting, for a
    /// window that decodes them itself: while it reads them, the raw
    /// pictures (345 kB each at 640x360) are not copied out at all.
    pub self_encoded: Option<Arc<EncodedFeed>>,
    pub device_lost: Option<DeviceLossReporter>,
    /// What was sent goes here too while the meeting is recorded here.
    pub recording: Option<Arc<RecordingTap>>,
}

pub struct SendPipeline {
    pub controls: Arc<SendControls>,
    pub audio_slot: TrackSlot,
    pub video_slot: TrackSlot,
    /// Video goes at three sizes (`simulcast`).
    pub simulcast: bool,
    /// The send threads, to wake when a device is given to them.
    video_thread: Option<Thread>,
    audio_thread: Option<Thread>,
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

/// webrtc-rs's write errors carry the whole packet in their text.
fn brief(e: &impl std::fmt::Display) -> String {
    e.to_string().chars().take(60).collect()
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
            let extensions = chunk.audio_level.map(HeaderExtension::AudioLevel);
            if let Err(e) = target
                .track
                .write_sample(
                    target.ssrc,
                    target.payload_type,
                    &sample,
                    extensions.as_slice(),
                )
                .await
            {
                log::debug!("dropping a sample: {}", brief(&e));
            }
        }
    })
}

/// Copies of a frame's packets older than this when the next frame comes
/// are not sent: no receiver waits for them any more.
const STALE_COPIES: Duration = Duration::from_millis(250);

/// One encoding's stream on the wire: its packetizer, and the copies of
/// its last frame's packets still to send.
#[derive(Default)]
struct EncodingWriter {
    packetizer: Option<Vp8Packetizer>,
    // Copies of the last frame's packets, sent after the next frame's:
    // a frame apart, a copy never overtakes its original on the way
    // (sent 1 ms behind it, one in three arrived first, Janus dropped
    // the original as the replay, and its feedback read as loss).
    // Copies whose next frame never came (video stopped) are dropped:
    // late, they only cost bytes.
    copies: Vec<Packet>,
    copies_of: Option<Instant>,
    // The part of a copy owed from the packets before (shares add up).
    owed: f32,
}

impl EncodingWriter {
    /// The packets of `chunk` for the stream `ssrc`, then the copies due
    /// from the frame before, into `out`.
    fn write(
        &mut self,
        chunk: &Encoded,
        ssrc: u32,
        payload_type: u8,
        staging: &mut BytesMut,
        out: &mut Vec<Packet>,
    ) {
        // A new publisher track (a rejoin) is a new stream.
        let p = match self.packetizer.as_mut() {
            Some(p) if p.ssrc() == ssrc => p,
            _ => {
                // Copies of the old stream's packets have no place in the
                // new one.
                self.copies.clear();
                self.packetizer.insert(Vp8Packetizer::new(
                    ssrc,
                    payload_type,
                    rand::random(),
                    rand::random(),
                ))
            }
        };
        let layer = chunk.layer.unwrap_or(FrameLayer::BASE);
        let first = out.len();
        p.packetize(&chunk.data, layer, chunk.captured, staging, out);
        let mut due = std::mem::take(&mut self.copies);
        let stale = self
            .copies_of
            .is_some_and(|at| chunk.captured.saturating_duration_since(at) > STALE_COPIES);
        if stale {
            due.clear();
        }
        self.copies_of = (chunk.copies > 0.0).then_some(chunk.captured);
        if chunk.copies <= 0.0 {
            self.owed = 0.0;
        }
        for packet in &out[first..] {
            self.owed += chunk.copies;
            while self.owed >= 1.0 {
                self.copies.push(packet.clone());
                self.owed -= 1.0;
            }
        }
        out.append(&mut due);
        // The vector's capacity comes back for the next frame's copies.
        if self.copies.is_empty() {
            self.copies = due;
        }
    }
}

/// Video is packetized here rather than by webrtc-rs, whose VP8 payload
/// descriptor has no temporal-layer fields (see `vp8_packetizer`), and
/// which leaves a simulcast stream's mid and rid extensions to us.
fn spawn_video_writer(
    mut encoded: mpsc::Receiver<Encoded>,
    slot: watch::Receiver<Option<TrackTarget>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut writers: [EncodingWriter; 3] = Default::default();
        let (mut staging, mut packets) = (BytesMut::new(), Vec::new());
        while let Some(chunk) = encoded.recv().await {
            let target = slot.borrow().clone();
            let Some(target) = target else { continue };
            let index = chunk.encoding.min(writers.len() - 1);
            let (ssrc, ids) = match (&target.simulcast, index) {
                (Some(s), _) => (s.ssrcs[index], Some(&s.ids)),
                (None, 0) => (target.ssrc, None),
                // The server took no simulcast: only the full size goes.
                (None, _) => continue,
            };
            writers[index].write(
                &chunk,
                ssrc,
                target.payload_type,
                &mut staging,
                &mut packets,
            );
            for mut packet in packets.drain(..) {
                if let Some(ids) = ids {
                    ids.stamp(&mut packet.header, index);
                }
                if let Err(e) = target.track.write_rtp(packet).await {
                    log::debug!("dropping a video packet: {}", brief(&e));
                }
            }
        }
    })
}

/// How video is sent: its most, in one size or three, of what.
#[derive(Debug, Clone, Copy)]
pub struct VideoPlan {
    pub bitrate_kbps: u32,
    /// Full, half and quarter size at once.
    pub simulcast: bool,
    pub content: VideoContent,
}

/// What the video shows, which decides what gives way under pressure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoContent {
    /// A camera: motion first (the picture gets smaller before it gets
    /// jerky).
    Camera,
    /// A shared screen: detail first (the picture keeps its size; frames
    /// go instead).
    Screen,
}

impl SendPipeline {
    pub fn start(
        video: Outgoing<Box<dyn VideoSource>>,
        audio: Outgoing<Box<dyn AudioSource>>,
        plan: VideoPlan,
        stats: Arc<CallStats>,
        voice: VoiceInput,
        outputs: CaptureOutputs,
    ) -> Result<Self, crate::MeetingError> {
        let VideoPlan {
            bitrate_kbps: video_bitrate_kbps,
            simulcast,
            content,
        } = plan;
        let controls = Arc::new(SendControls::default());
        controls.set_voice(voice.settings);
        stats.path.set_video_max_kbps(video_bitrate_kbps);
        let (audio_slot, audio_rx) = watch::channel(None);
        let (video_slot, video_rx) = watch::channel(None);
        let mut threads = Vec::new();
        let mut writers = Vec::new();
        let (video, audio) = (video.track(), audio.track());
        let (mut video_thread, mut audio_thread) = (None, None);

        if let Some(source) = video {
            let (w, h, rate) = source.as_ref().map_or(NO_CAMERA_YET, |s| {
                let (w, h) = s.size();
                (w, h, s.frame_rate().round().clamp(1.0, 120.0) as u32)
            });
            let mut encoder = Vp8Encoder::new(Vp8Config {
                width: w,
                height: h,
                frame_rate: rate,
                bitrate_kbps: video_bitrate_kbps,
                temporal_layers: CLEAN_PATH_LAYERS,
            })?;
            if content == VideoContent::Screen {
                encoder.tune_for_screen()?;
            }
            // Four frames, of each encoding.
            let (tx, rx) = mpsc::channel(if simulcast { 12 } else { 4 });
            writers.push(spawn_video_writer(rx, video_rx));
            let controls = Arc::clone(&controls);
            let stats = Arc::clone(&stats);
            let outputs = outputs.clone();
            let layers = if simulcast {
                Some(Simulcast::new(video_bitrate_kbps, (w, h))?)
            } else {
                None
            };
            // Simulcast: the controller's budget is every layer's together.
            let max_kbps = layers
                .as_ref()
                .map_or(video_bitrate_kbps, |s| s.allocation.total_max_kbps());
            let mut video = VideoSend {
                encoder,
                content,
                full_size_sent: true,
                largest_sent: 0,
                simulcast: layers,
                rate: {
                    let mut rate = VideoRateController::new(max_kbps);
                    if content == VideoContent::Screen {
                        rate.keep_size();
                    }
                    rate
                },
                path: Arc::clone(&stats.path),
                native_fps: rate,
                temporal_layers: CLEAN_PATH_LAYERS,
                smaller: VideoFrame::new(2, 2)?,
                frame_index: 0,
                last_sent_index: 0,
                last_sent_at: Instant::now(),
                sharpening_until: Instant::now(),
                sent_rate: VideoSendRate::default(),
                out: tx,
            };
            video.rate.set_native_size(w, h);
            video
                .path
                .record_video(video.rate.current(), video.native_fps, (w, h));
            video.path.record_video_layers(1);
            // The smaller layers from the start: a gallery subscribes to
            // them before the path's first estimate.
            video.follow_the_allocation(video.rate.current());
            let thread = std::thread::Builder::new()
                .name("talkline-video-send".into())
                .spawn(move || video_loop(source, video, controls, stats, outputs))
                .map_err(|e| {
                    crate::MeetingError::WebRtc(format!("cannot start video thread: {e}"))
                })?;
            video_thread = Some(thread.thread().clone());
            threads.push(thread);
        }
        if let Some(source) = audio {
            let encoder = OpusEncoder::new(VOICE_BITRATE_BPS)?;
            let (tx, rx) = mpsc::channel(8);
            writers.push(spawn_writer(rx, audio_rx));
            let controls = Arc::clone(&controls);
            let echo = voice.echo;
            let thread = std::thread::Builder::new()
                .name("talkline-audio-send".into())
                .spawn(move || audio_loop(source, encoder, tx, controls, stats, echo, outputs))
                .map_err(|e| {
                    crate::MeetingError::WebRtc(format!("cannot start audio thread: {e}"))
                })?;
            audio_thread = Some(thread.thread().clone());
            threads.push(thread);
        }
        Ok(Self {
            controls,
            audio_slot,
            video_slot,
            simulcast,
            video_thread,
            audio_thread,
            threads,
            writers,
        })
    }

    /// Switches the camera without renegotiating (`None`: releases it and
    /// sends nothing): the encoder restarts with the new size at the next
    /// frame, which is a keyframe. Returns the source back if there is no
    /// video thread to take it.
    pub fn replace_video(
        &self,
        source: Option<Box<dyn VideoSource>>,
    ) -> Result<(), Option<Box<dyn VideoSource>>> {
        let Some(thread) = &self.video_thread else {
            return Err(source);
        };
        // A replacement not yet taken is superseded by the newer choice.
        let _ = self.controls.video_replacement.force_push(source);
        thread.unpark();
        Ok(())
    }

    /// Switches the microphone (`None`: releases it and sends nothing).
    pub fn replace_audio(
        &self,
        source: Option<Box<dyn AudioSource>>,
    ) -> Result<(), Option<Box<dyn AudioSource>>> {
        let Some(thread) = &self.audio_thread else {
            return Err(source);
        };
        let _ = self.controls.audio_replacement.force_push(source);
        thread.unpark();
        Ok(())
    }

    pub fn stop(&mut self) {
        self.controls.stop.store(true, Ordering::Relaxed);
        for t in &self.threads {
            t.thread().unpark();
        }
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

struct VideoSend {
    /// A camera or a shared screen: how the encoder is tuned.
    content: VideoContent,
    encoder: Vp8Encoder,
    /// Follows the path estimate: bitrate first, then size, then frame rate.
    rate: VideoRateController,
    path: Arc<PathEstimate>,
    /// The camera's own frame rate (its size is the rate controller's).
    native_fps: u32,
    /// Temporal layers sent now (`temporal_layers_for`).
    temporal_layers: u8,
    /// The camera's picture made smaller, when the encoder is smaller.
    smaller: VideoFrame,
    frame_index: u64,
    last_sent_index: u64,
    /// When the last picture was encoded.
    last_sent_at: Instant,
    /// Until when pictures go at the full rate, still or not: the encoder
    /// sharpens a picture over the frames after a change or a keyframe.
    sharpening_until: Instant,
    /// What the encoder really sends: what a probe's copies fill up from.
    sent_rate: VideoSendRate,
    out: mpsc::Sender<Encoded>,
    /// Whether `encoder` (the full size) is sent: under simulcast a
    /// squeezed path stops it before the smaller layers.
    full_size_sent: bool,
    /// The largest encoding the last frame was sent in.
    largest_sent: usize,
    simulcast: Option<Simulcast>,
}

/// The parts of a simulcast publisher beyond the full-size encoder.
struct Simulcast {
    allocation: LayerAllocation,
    smaller: SmallerLayers,
}

impl Simulcast {
    fn new(full_size_max_kbps: u32, native: (u32, u32)) -> Result<Self, crate::MeetingError> {
        Ok(Self {
            allocation: LayerAllocation::new(full_size_max_kbps, native),
            smaller: SmallerLayers::new()?,
        })
    }
}

impl VideoSend {
    fn follow_the_path(&mut self, now: Instant) {
        let layers = temporal_layers_for(
            self.temporal_layers,
            self.path.lossy_path_loss(),
            self.path.fills_up(),
        );
        if layers != self.temporal_layers {
            log::debug!("video in {layers} temporal layers");
            self.temporal_layers = layers;
            // Its first frame is a keyframe: receivers start on the new
            // pattern at once.
            if let Err(e) = self.new_encoder() {
                log::warn!("cannot change the temporal layers: {e}");
            }
            let (native, fps) = (self.rate.native_size(), self.native_fps);
            if let Some(s) = self.simulcast.as_mut() {
                s.smaller.restart(native, fps, layers);
            }
            // The new full-size encoder starts at the whole budget: back to
            // its share.
            if self.simulcast.is_some() {
                self.follow_the_allocation(self.rate.current());
            }
        }
        let divisor = self.rate.current().size_divisor;
        let Some(rate) = self.rate.update(
            self.path.media_estimate_bps(),
            self.path.lossy_path_loss(),
            now,
        ) else {
            return;
        };
        log::debug!(
            "video follows the path: {} kbps, one frame in {}, 1/{} size",
            rate.bitrate_kbps,
            rate.keep_one_in,
            rate.size_divisor
        );
        if self.simulcast.is_some() {
            self.follow_the_allocation(rate);
            return;
        }
        let changed = if rate.size_divisor != divisor {
            // A new size is a new encoder; its first frame is a keyframe,
            // which receivers need to follow the change anyway.
            self.new_encoder()
        } else {
            self.encoder.set_bitrate_kbps(rate.bitrate_kbps)
        };
        if let Err(e) = changed {
            log::warn!("cannot change what video is sent: {e}");
        }
        self.path
            .record_video(rate, self.native_fps, self.rate.native_size());
    }

    /// Simulcast: the budget shared between the layers, each started,
    /// retuned or stopped. The full size never shrinks (the smaller layers
    /// are the smaller sizes); it stops when its share cannot carry it.
    fn follow_the_allocation(&mut self, rate: VideoRate) {
        let Some(s) = self.simulcast.as_mut() else {
            return;
        };
        let rates = s.allocation.allocate(rate.bitrate_kbps);
        let native = self.rate.native_size();
        if let Err(e) = s
            .smaller
            .follow(&rates, native, self.native_fps, self.temporal_layers)
        {
            log::warn!("cannot change the smaller video layers: {e}");
        }
        let smaller_sent = s.smaller.sending();
        let largest = rates.iter().position(Option::is_some).unwrap_or(0);
        let full_size = rates[0];
        let changed = match full_size {
            Some(kbps) if !self.full_size_sent => {
                self.full_size_sent = true;
                // Back on a keyframe.
                self.new_encoder()
                    .and_then(|()| self.encoder.set_bitrate_kbps(kbps))
            }
            Some(kbps) => self.encoder.set_bitrate_kbps(kbps),
            None => {
                self.full_size_sent = false;
                Ok(())
            }
        };
        if let Err(e) = changed {
            log::warn!("cannot change the full-size video layer: {e}");
        }
        log::debug!("video layers: {rates:?} kbps");
        let layers = usize::from(self.full_size_sent) + smaller_sent;
        self.path.record_video_layers(layers);
        // The stats show the largest picture sent.
        let shown = VideoRate {
            size_divisor: LAYER_DIVISORS[largest],
            ..rate
        };
        self.path.record_video(shown, self.native_fps, native);
    }

    /// The server took no simulcast: the full size alone, with the whole
    /// budget, from now on (the smaller sizes would never leave).
    fn send_one_layer(&mut self) {
        log::warn!("the server took no simulcast: video goes at one size");
        self.simulcast = None;
        self.full_size_sent = true;
        self.largest_sent = 0;
        self.rate.set_max_kbps(self.path.video_max_kbps());
        self.path.record_video_layers(1);
        if let Err(e) = self.new_encoder() {
            log::warn!("cannot restart the video encoder: {e}");
        }
    }

    /// An encoder for the camera's rate and the size and bitrate the path
    /// allows now (on a camera switch or a size step, not per frame).
    /// Under simulcast the full size, always.
    fn new_encoder(&mut self) -> Result<(), talkline_media::MediaError> {
        let mut sending = self.rate.current();
        if self.simulcast.is_some() {
            sending.size_divisor = 1;
        }
        let (width, height) = sending.picture_size(self.rate.native_size());
        self.encoder = Vp8Encoder::new(Vp8Config {
            width,
            height,
            frame_rate: self.native_fps,
            bitrate_kbps: sending.bitrate_kbps,
            temporal_layers: self.temporal_layers,
        })?;
        if self.content == VideoContent::Screen {
            self.encoder.tune_for_screen()?;
        }
        Ok(())
    }
}

/// Waits for a device after the current one failed, or while there is
/// none; `None` once the call stops.
fn await_device<T>(queue: &ArrayQueue<Option<T>>, controls: &SendControls) -> Option<T> {
    while !controls.stop.load(Ordering::Relaxed) {
        if let Some(Some(next)) = queue.pop() {
            return Some(next);
        }
        std::thread::park_timeout(REPLACEMENT_WAIT);
    }
    None
}

fn report_lost(outputs: &CaptureOutputs, kind: DeviceKind) {
    if let Some(reporter) = &outputs.device_lost {
        let _ = reporter.send(kind);
    }
}

fn frame_period(source: &dyn VideoSource) -> Duration {
    Duration::from_secs_f64(1.0 / source.frame_rate().clamp(1.0, 120.0))
}

fn video_loop(
    mut source: Option<Box<dyn VideoSource>>,
    mut video: VideoSend,
    controls: Arc<SendControls>,
    stats: Arc<CallStats>,
    outputs: CaptureOutputs,
) {
    let (w, h) = source
        .as_ref()
        .map_or((NO_CAMERA_YET.0, NO_CAMERA_YET.1), |s| s.size());
    let Ok(mut frame) = VideoFrame::new(w, h) else {
        return;
    };
    let mut period = source
        .as_deref()
        .map_or(Duration::from_secs(1) / NO_CAMERA_YET.2, frame_period);
    let mut packets: [Vec<u8>; 3] = std::array::from_fn(|_| Vec::with_capacity(256 * 1024));
    let mut staging = BytesMut::with_capacity(256 * 1024);
    let mut next = Instant::now();
    let mut requests = KeyframeRequests::default();
    let mut dropped = false;
    let mut was_muted = false;
    // The next device to switch to; `Some(None)` lets go of the one in use.
    let mut replacement = None;
    while !controls.stop.load(Ordering::Relaxed) {
        if let Some(chosen) = replacement
            .take()
            .or_else(|| controls.video_replacement.pop())
        {
            match chosen {
                // Dropped here: the camera is released at once.
                None => source = None,
                Some(new) => match switch_video(new, &mut video, &mut frame) {
                    Ok(new) => {
                        period = frame_period(new.as_ref());
                        source = Some(new);
                        was_muted = true; // the next frame must be a keyframe
                    }
                    Err(e) => {
                        log::warn!("cannot switch camera: {e}");
                        if source.is_none() {
                            report_lost(&outputs, DeviceKind::Camera);
                        }
                    }
                },
            }
        }
        if video.simulcast.is_some() && controls.simulcast_refused.load(Ordering::Relaxed) {
            video.send_one_layer();
        }
        let Some(camera) = source.as_mut() else {
            // No camera: nothing is sent until one is given.
            match await_device(&controls.video_replacement, &controls) {
                Some(new) => {
                    replacement = Some(Some(new));
                    continue;
                }
                None => break,
            }
        };
        if !camera.is_live() {
            pace(&mut next, period);
        }
        // Every encoding sent, largest first (one without simulcast).
        let mut encoded = [None; 3];
        // A replayed recording comes encoded: sent as it is.
        let replay = camera.as_encoded().is_some();
        let read = match camera.as_encoded() {
            Some(recording) => recording.next_encoded(&mut packets, &mut encoded),
            None => camera.next_frame(&mut frame),
        };
        if let Err(e) = read {
            log::warn!("video source stopped: {e}");
            // A replacement already on its way (a switch, or the device
            // watch's) takes the place of the failed camera: no loss.
            if controls.video_replacement.is_empty() {
                report_lost(&outputs, DeviceKind::Camera);
            }
            // The dead device goes; the top of the loop waits for the next.
            source = None;
            continue;
        }
        // A source whose size changed (a shared window made bigger or
        // smaller) is adopted again as a switch is: a new encoder at the
        // new size, starting on a keyframe. This picture is not sent.
        if !replay && camera.size() != video.rate.native_size() {
            replacement = source.take().map(Some);
            continue;
        }
        let muted = controls.video_muted.load(Ordering::Relaxed);
        if muted {
            was_muted = true;
            continue;
        }
        let encoded_view = outputs.self_encoded.as_ref().filter(|f| f.is_watched());
        if let Some(view) = outputs
            .self_view
            .as_ref()
            .filter(|_| encoded_view.is_none() && !replay)
        {
            view.publish(&frame);
        }
        let captured = Instant::now();
        // A replay keeps its own keyframes (one a second) and rate.
        let (network_keyframe, span) = if replay {
            // After a pause (muted, or a frame the network side could not
            // take) the replay goes on from its next keyframe.
            let keyframe = encoded.iter().flatten().next().is_some_and(|e| e.keyframe);
            if (was_muted || dropped) && !keyframe {
                continue;
            }
            (was_muted, dropped) = (false, false);
            (None, 1)
        } else {
            video.follow_the_path(captured);
            // A window starting its self-view needs a keyframe to begin with.
            let window_wants_keyframe = encoded_view.is_some_and(|f| f.take_keyframe_request());
            if controls.keyframe_requested.swap(false, Ordering::Relaxed) {
                requests.asked();
            }
            if controls.someone_joined.swap(false, Ordering::Relaxed) {
                requests.someone_joined(captured);
            }
            let network_keyframe = requests.due(captured);
            // A frame we dropped ourselves broke the chain for everyone: no
            // waiting for the interval then.
            let force = network_keyframe.is_some()
                || was_muted
                || window_wants_keyframe
                || std::mem::take(&mut dropped);
            was_muted = false;
            // On a squeezed path one frame in `keep_one_in` is sent; a keyframe
            // someone is waiting for never waits for its turn.
            video.frame_index += 1;
            let keep_one_in = u64::from(video.rate.current().keep_one_in);
            // A still screen is sent again once a second, not at its rate:
            // nothing in it changed (a change goes at once). Not while the
            // encoder still sharpens the picture after a change or a
            // keyframe: each frame after one refines it (measured: held
            // at once to one a second, a page of text stayed at 31 dB).
            if !camera.unchanged() || force {
                video.sharpening_until = captured + STILL_PICTURE_SHARPENED_FOR;
            }
            let still = camera.unchanged()
                && captured >= video.sharpening_until
                && captured.duration_since(video.last_sent_at) < STILL_PICTURE_RESENT_EVERY;
            if !force && (still || !video.frame_index.is_multiple_of(keep_one_in)) {
                continue;
            }
            // The camera frames this one stands for: its RTP duration (the
            // media clock must keep real time when frames are skipped) and the
            // bits rate control gives it.
            let span = video
                .frame_index
                .saturating_sub(video.last_sent_index)
                .clamp(1, 120);
            video.last_sent_index = video.frame_index;
            video.last_sent_at = captured;
            if video.full_size_sent {
                video.encoder.set_frame_span(span as u32);
                match picture_for(video.encoder.config(), &mut video.smaller, &frame) {
                    Ok(picture) => match video.encoder.encode(picture, force, &mut packets[0]) {
                        Ok(frame) => encoded[0] = frame,
                        Err(e) => log::warn!("video encode failed: {e}"),
                    },
                    Err(e) => log::warn!("cannot make the picture smaller: {e}"),
                }
            }
            if let Some(s) = video.simulcast.as_mut() {
                s.smaller
                    .encode(&frame, force, span as u32, &mut packets, &mut encoded);
            }
            // The encoder's own keyframes (its safety net) start over too.
            if encoded.iter().flatten().any(|e| e.keyframe) {
                video.sharpening_until = captured + STILL_PICTURE_SHARPENED_FOR;
            }
            (network_keyframe, span)
        };
        // The self-view and the frame count follow the largest encoding; a
        // self-view moved to another one starts on its keyframe.
        let largest = encoded.iter().position(Option::is_some);
        let view_follows = largest.is_some_and(|i| {
            let moved = i != video.largest_sent;
            video.largest_sent = i;
            !moved || encoded[i].is_some_and(|e| e.keyframe)
        });
        if !view_follows && largest.is_some() && encoded_view.is_some() {
            dropped = true;
        }
        let video_kbps = video.rate.current().bitrate_kbps;
        // A request is answered when every encoding sent starts anew, not
        // when one smaller encoder (re)starts on a keyframe of its own.
        if largest.is_some() && encoded.iter().flatten().all(|e| e.keyframe) {
            requests.sent(captured);
            log::debug!("keyframe sent (for the network: {network_keyframe:?})");
        }
        for (index, frame_sent) in encoded.iter().enumerate() {
            let Some(sent) = frame_sent else { continue };
            // A replay's smaller clips go only where simulcast goes.
            if index > 0 && video.simulcast.is_none() {
                continue;
            }
            let packet = &packets[index];
            let keyframe = sent.keyframe;
            let base = keyframe || sent.layer.temporal_id == 0;
            let twice = base && video.path.send_base_twice(video_kbps);
            // A probe's copies of a keyframe would send the largest
            // frame up to five times in one burst into a policer.
            video.sent_rate.record(packet.len(), captured);
            let probe = if keyframe {
                0.0
            } else {
                let sent = video.sent_rate.bps();
                let video_bps = sent.unwrap_or(f64::from(video_kbps) * 1000.0);
                video.path.probe_copies(video_bps)
            };
            let copies = probe.max(if twice { 1.0 } else { 0.0 });
            let chunk = Encoded {
                data: reuse(&mut staging, packet),
                duration: period * span as u32,
                captured,
                layer: Some(sent.layer),
                copies,
                encoding: index,
                audio_level: None,
            };
            let largest = Some(index) == largest;
            if let Some(view) = encoded_view.filter(|_| largest && view_follows) {
                view.push(chunk.data.clone(), keyframe, frame.capture_time_us);
            }
            if video.out.try_send(chunk).is_err() {
                // The network side is behind: the next frame must be
                // decodable on its own.
                dropped = true;
            } else if largest {
                stats.video_frames_sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// What the encoder (configured as `config`) takes of `frame`: the frame
/// itself, or it made as small as the encoder is, in `smaller`. The
/// encoder's size decides, so a size step whose new encoder could not be
/// made goes on at the old size.
fn picture_for<'a>(
    config: Vp8Config,
    smaller: &'a mut VideoFrame,
    frame: &'a VideoFrame,
) -> Result<&'a VideoFrame, talkline_media::MediaError> {
    let Vp8Config { width, height, .. } = config;
    if (width, height) == (frame.width(), frame.height()) {
        return Ok(frame);
    }
    // Allocates only when the size changed.
    smaller.reshape(width, height)?;
    downscale(frame, frame.width() / width.max(1), smaller)?;
    smaller.capture_time_us = frame.capture_time_us;
    Ok(smaller)
}

/// Adopts a new camera: a new encoder and frame only when the size or rate
/// changed (a device switch, not a per-frame cost).
fn switch_video(
    source: Box<dyn VideoSource>,
    video: &mut VideoSend,
    frame: &mut VideoFrame,
) -> Result<Box<dyn VideoSource>, talkline_media::MediaError> {
    let (w, h) = source.size();
    let rate = source.frame_rate().round().clamp(1.0, 120.0) as u32;
    video.native_fps = rate;
    video.rate.set_native_size(w, h);
    video.new_encoder()?;
    video.path.record_video(video.rate.current(), rate, (w, h));
    // Every layer's floor and cap follow the camera's size; the smaller
    // encoders start anew, each on a keyframe.
    let total = video.simulcast.as_mut().map(|s| {
        s.allocation.set_native_size(w, h);
        s.smaller.stop();
        s.allocation.total_max_kbps()
    });
    if let Some(total) = total {
        video.rate.set_max_kbps(total);
        video.full_size_sent = true;
        video.follow_the_allocation(video.rate.current());
    }
    if (frame.width(), frame.height()) != (w, h) {
        *frame = VideoFrame::new(w, h)?;
    }
    Ok(source)
}

/// How often a picture that did not change (a still screen) is sent all
/// the same: receivers see the share is alive, and one that lost a packet
/// of the last picture gets it whole again within a second.
const STILL_PICTURE_RESENT_EVERY: Duration = Duration::from_secs(1);

/// How long pictures go at the full rate after a change or a keyframe,
/// still or not, while the encoder sharpens them.
const STILL_PICTURE_SHARPENED_FOR: Duration = Duration::from_secs(2);

/// A source that is not a voice (a test tone) is "speaking" above this
/// level, as the window showed the loudest tile before voices were told.
const NOT_A_VOICE_SPEAKING_LEVEL: f32 = 0.02;

/// The voice processing's settings and echo figures reach the stats once a
/// second (100 frames).
const VOICE_REPORT_EVERY: u64 = 100;

/// Opus's in-band FEC follows the loss Janus reports on our uplink, once a
/// second (50 packets).
const FEC_FOLLOWS_LOSS_EVERY: u64 = 50;

fn follow_loss(encoder: &mut OpusEncoder, stats: &CallStats, expected: &mut i32) {
    // Some headroom over what was measured: loss comes in bursts.
    let wanted = ((stats.path.loss() * 150.0).round() as i32).max(MIN_EXPECTED_LOSS_PERCENT);
    if wanted != *expected && encoder.set_expected_loss(wanted).is_ok() {
        *expected = wanted;
    }
}

/// The microphone's last second, for the debug log: how loud it was
/// before and after processing, and how much of it was taken for a voice.
/// A canceller that lets an echo through shows here second by second,
/// where the call's stats only give its state at the end.
#[derive(Default)]
struct VoiceSecond {
    loudest_heard: f32,
    loudest_sent: f32,
    speech_frames: u32,
}

impl VoiceSecond {
    fn add(&mut self, levels: CaptureLevels, speaking: bool) {
        self.loudest_heard = self.loudest_heard.max(levels.heard);
        self.loudest_sent = self.loudest_sent.max(levels.sent);
        self.speech_frames += u32::from(speaking);
    }

    fn log(&mut self, frames: u64, echo: &EchoReport) {
        let db = |level: f32| 20.0 * level.max(1e-5).log10();
        log::debug!(
            "voice at {} s: microphone {:.0} dBFS, sent {:.0} dBFS, speech {} ms; echo erle {:?} dB, delay {:?} ms, restarts {}",
            frames / VOICE_REPORT_EVERY,
            db(self.loudest_heard),
            db(self.loudest_sent),
            self.speech_frames * 10,
            echo.erle_db.map(|e| (e * 10.0).round() / 10.0),
            echo.delay_ms,
            echo.unannounced_path_changes,
        );
        *self = Self::default();
    }
}

fn audio_loop(
    mut source: Option<Box<dyn AudioSource>>,
    mut encoder: OpusEncoder,
    out: mpsc::Sender<Encoded>,
    controls: Arc<SendControls>,
    stats: Arc<CallStats>,
    echo: EchoReference,
    outputs: CaptureOutputs,
) {
    let period = Duration::from_millis(10);
    let mut frame = AudioFrame::default();
    // On this thread, not the device's callback: the processing module
    // allocates while it adapts. The microphone's ring buffer sits between.
    let mut voice = VoiceProcessor::new(controls.voice());
    let mut activity = VoiceActivity::new();
    let mut packet = [0u8; OPUS_MAX_PACKET];
    let mut staging = BytesMut::with_capacity(64 * OPUS_MAX_PACKET);
    let mut next = Instant::now();
    let mut sent: u64 = 0;
    let mut expected_loss = MIN_EXPECTED_LOSS_PERCENT;
    let mut content = AudioContent::Voice;
    let mut processed: u64 = 0;
    let mut loudness = PacketLoudness::default();
    let mut second = VoiceSecond::default();
    // The next device to switch to; `Some(None)` lets go of the one in use.
    let mut replacement = None;
    while !controls.stop.load(Ordering::Relaxed) {
        if let Some(chosen) = replacement
            .take()
            .or_else(|| controls.audio_replacement.pop())
        {
            source = chosen;
            // Another microphone: another echo path and another voice.
            echo.path_changed();
            activity.reset();
        }
        let Some(microphone) = source.as_mut() else {
            // No microphone: nothing is sent until one is given.
            stats.set_self_level(0.0);
            stats.voice.set_speaking(false);
            match await_device(&controls.audio_replacement, &controls) {
                Some(new) => {
                    replacement = Some(Some(new));
                    continue;
                }
                None => break,
            }
        };
        if !microphone.is_live() {
            pace(&mut next, period);
        }
        if let Err(e) = microphone.read(&mut frame) {
            log::warn!("audio source stopped: {e}");
            if controls.audio_replacement.is_empty() {
                report_lost(&outputs, DeviceKind::Microphone);
            }
            source = None;
            continue;
        }
        // Processed while muted too: the echo canceller keeps up with the
        // room, and "you are muted" listens to the cleaned signal.
        voice.set_settings(if microphone.is_voice() {
            controls.voice()
        } else {
            VoiceSettings::original_sound()
        });
        // Original sound asked for (a musician; the computer's sound a
        // share carries): coded as music, at a music's bitrate. A test
        // tone stays on the call profile.
        let wanted = if controls.voice() == VoiceSettings::original_sound() {
            AudioContent::Music
        } else {
            AudioContent::Voice
        };
        if wanted != content {
            // Tried once a change: a failure is said, not retried at
            // every frame.
            if let Err(e) = encoder.set_content(wanted) {
                log::warn!("audio encoder not retuned for {wanted:?}: {e}");
            }
            content = wanted;
        }
        voice.take_playout(&echo);
        let levels = voice.capture(&mut frame);
        processed += 1;
        if processed.is_multiple_of(VOICE_REPORT_EVERY) {
            let report = voice.echo_report();
            stats.voice.report(voice.settings(), report);
            second.log(processed, &report);
        }
        let level = levels.sent;
        stats.set_self_level(level);
        // A voice is told from a fan or a keyboard by the detector, on the
        // cleaned signal; a test tone, which is no voice, by its level.
        let speaking = if microphone.is_voice() {
            activity.analyze(&frame.samples)
        } else {
            level > NOT_A_VOICE_SPEAKING_LEVEL
        };
        stats.voice.set_speaking(speaking);
        second.add(levels, speaking);
        if controls.audio_muted.load(Ordering::Relaxed) {
            frame.samples.fill(0);
            // Nobody learns from a muted microphone that its user talks.
            loudness.add(0.0, false);
        } else {
            loudness.add(level, speaking);
        }
        if let Some(recording) = &outputs.recording {
            recording.said(&frame);
        }
        match encoder.push(&frame, &mut packet) {
            Ok(Some(n)) => {
                sent += 1;
                if sent.is_multiple_of(FEC_FOLLOWS_LOSS_EVERY) {
                    follow_loss(&mut encoder, &stats, &mut expected_loss);
                }
                let chunk = Encoded {
                    data: reuse(&mut staging, &packet[..n]),
                    duration: Duration::from_millis(20),
                    captured: Instant::now(),
                    layer: None,
                    copies: 0.0,
                    encoding: 0,
                    audio_level: Some(loudness.take()),
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

/// The audio level of one packet's frames, as RFC 6464 sends it: the
/// loudest frame's level in -dBov (0 loudest, 127 silence) and whether any
/// of them was a voice.
#[derive(Debug, Default)]
struct PacketLoudness {
    loudest: f32,
    voice: bool,
}

impl PacketLoudness {
    fn add(&mut self, level: f32, voice: bool) {
        self.loudest = self.loudest.max(level);
        self.voice |= voice;
    }

    /// The extension for the packet the frames went into; starts afresh.
    fn take(&mut self) -> AudioLevelExtension {
        let taken = std::mem::take(self);
        // `audio_level` reads a full-scale sine as 0.707; RFC 6464's 0 dBov
        // is a full-scale square wave, whose level here is 1.
        let dbov = if taken.loudest > 0.0 {
            (-20.0 * taken.loudest.log10()).clamp(0.0, 127.0) as u8
        } else {
            127
        };
        AudioLevelExtension {
            level: dbov,
            voice: taken.voice,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use talkline_media::source::PatternSource;
    use talkline_media::tone::ToneSource;

    #[test]
    fn layers_on_a_lossy_or_full_path_and_one_on_a_clean_one_with_a_margin_between() {
        assert_eq!(temporal_layers_for(1, 0.0, false), 1);
        assert_eq!(temporal_layers_for(1, 0.05, false), 1, "not yet lossy");
        assert_eq!(temporal_layers_for(1, 0.08, false), 2);
        assert_eq!(temporal_layers_for(2, 0.05, false), 2, "still lossy enough");
        assert_eq!(temporal_layers_for(2, 0.039, false), 1);
        assert_eq!(temporal_layers_for(1, 0.0, true), 2, "a path that fills up");
    }

    #[test]
    fn a_packet_s_level_is_its_loudest_frame_in_dbov_and_a_voice_if_any_frame_was() {
        let mut l = PacketLoudness::default();
        assert_eq!(
            l.take(),
            AudioLevelExtension {
                level: 127,
                voice: false
            }
        );
        l.add(0.01, false);
        l.add(0.1, true);
        assert_eq!(
            l.take(),
            AudioLevelExtension {
                level: 20,
                voice: true
            }
        );
        l.add(1.0, false);
        assert_eq!(
            l.take(),
            AudioLevelExtension {
                level: 0,
                voice: false
            }
        );
        l.add(1e-9, false);
        assert_eq!(l.take().level, 127, "below -127 dBov is silence");
    }

    #[test]
    fn the_encoder_s_size_decides_what_it_is_given() {
        let config = |width, height| Vp8Config {
            width,
            height,
            frame_rate: 30,
            bitrate_kbps: 300,
            temporal_layers: LOSSY_PATH_LAYERS,
        };
        let mut frame = VideoFrame::new(640, 360).expect("valid size");
        frame.capture_time_us = 42;
        let mut smaller = VideoFrame::new(2, 2).expect("valid size");
        let same = picture_for(config(640, 360), &mut smaller, &frame).expect("as it is");
        assert!(std::ptr::eq(same, &frame));
        let half = picture_for(config(320, 180), &mut smaller, &frame).expect("halved");
        assert_eq!(
            (half.width(), half.height(), half.capture_time_us),
            (320, 180, 42)
        );
        // A size that is no whole fraction of the camera's is an error.
        assert!(picture_for(config(500, 300), &mut smaller, &frame).is_err());
    }

    /// A camera that says when it is let go of (its device closed).
    struct Watched {
        inner: PatternSource,
        dropped: Arc<AtomicBool>,
    }

    impl VideoSource for Watched {
        fn next_frame(&mut self, frame: &mut VideoFrame) -> talkline_media::Result<()> {
            self.inner.next_frame(frame)
        }
        fn frame_rate(&self) -> f64 {
            self.inner.frame_rate()
        }
        fn is_live(&self) -> bool {
            false
        }
        fn size(&self) -> (u32, u32) {
            self.inner.size()
        }
    }

    impl Drop for Watched {
        fn drop(&mut self) {
            self.dropped.store(true, Ordering::Relaxed);
        }
    }

    fn sent(stats: &CallStats) -> (u64, u64) {
        (
            stats.video_frames_sent.load(Ordering::Relaxed),
            stats.audio_packets_sent.load(Ordering::Relaxed),
        )
    }

    /// With no track taken yet (not connected), encoded media is counted
    /// as it leaves the threads and then dropped: enough to see what the
    /// threads send.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_track_without_a_device_sends_nothing_until_one_is_given_and_after_it_is_released() {
        let stats = CallStats::new(Instant::now());
        let mut pipeline = SendPipeline::start(
            Outgoing::NoDeviceYet,
            Outgoing::NoDeviceYet,
            VideoPlan {
                bitrate_kbps: 300,
                simulcast: true,
                content: VideoContent::Camera,
            },
            Arc::clone(&stats),
            VoiceInput::default(),
            CaptureOutputs::default(),
        )
        .expect("pipeline");
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(sent(&stats), (0, 0), "sent without a device");

        let dropped = Arc::new(AtomicBool::new(false));
        let camera = Watched {
            inner: PatternSource::new(320, 180, 30.0).expect("pattern"),
            dropped: Arc::clone(&dropped),
        };
        let microphone = ToneSource::new(440.0).expect("tone");
        assert!(pipeline.replace_video(Some(Box::new(camera))).is_ok());
        assert!(pipeline.replace_audio(Some(Box::new(microphone))).is_ok());
        tokio::time::sleep(Duration::from_millis(600)).await;
        let (video, audio) = sent(&stats);
        // 0.6 s at 30 fps and 50 packets a second, on a busy machine.
        assert!(video >= 5 && audio >= 10, "{video} frames, {audio} packets");

        assert!(pipeline.replace_video(None).is_ok());
        assert!(pipeline.replace_audio(None).is_ok());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(dropped.load(Ordering::Relaxed), "the camera is still open");
        let released = sent(&stats);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            sent(&stats),
            released,
            "sent after the devices were released"
        );
        pipeline.stop();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_without_a_track_cannot_be_given_a_device() {
        let stats = CallStats::new(Instant::now());
        let pipeline = SendPipeline::start(
            Outgoing::Never,
            Outgoing::Never,
            VideoPlan {
                bitrate_kbps: 300,
                simulcast: false,
                content: VideoContent::Camera,
            },
            stats,
            VoiceInput::default(),
            CaptureOutputs::default(),
        )
        .expect("pipeline");
        let camera = PatternSource::new(320, 180, 30.0).expect("pattern");
        assert!(pipeline.replace_video(Some(Box::new(camera))).is_err());
        let microphone = ToneSource::new(440.0).expect("tone");
        assert!(pipeline.replace_audio(Some(Box::new(microphone))).is_err());
    }
}
