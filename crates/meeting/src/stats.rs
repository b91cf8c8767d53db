//! Call statistics, written from media threads with atomics only (the hot
//! paths take no locks), read when the caller asks for a snapshot.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use talkline_media::analysis::dominant_frequency_hz;
use talkline_media::voice_processing::{EchoReport, VoiceSettings};
use talkline_media::{AUDIO_RATE_HZ, wall_clock_us};

use crate::congestion::PathEstimate;
use crate::jitter::audio::AudioJitterStats;

/// Latency histogram buckets: 1 ms each up to 5 s, the last one "5 s or more".
const LATENCY_BUCKETS: usize = 5_001;
/// The last second of a participant's audio, for the dominant frequency.
const RECENT_AUDIO: usize = AUDIO_RATE_HZ as usize;
/// Audio packets come every 20 ms: a level older than this is a
/// participant who stopped sending (muted, or gone), not one speaking.
const LEVEL_FRESH_MS: u64 = 300;
/// A participant whose packets do not say whether they carry a voice is
/// taken to speak above this loudness (the window's floor for the speaker).
const SPEAKING_LEVEL: f32 = 0.02;
/// What a participant's packets say of their voice (RFC 6464's V bit).
const VOICE_UNKNOWN: u8 = 0;
const VOICE_NO: u8 = 1;
const VOICE_YES: u8 = 2;
/// A pause between two pictures longer than this is a freeze to the eye.
const FREEZE_MS: u64 = 500;

/// The most a participant's volume can be raised: twice what they send.
pub const MAX_VOLUME_PERCENT: u32 = 200;

pub struct RemoteStats {
    pub feed_id: u64,
    display: Mutex<String>,
    /// A screen shared (by the person of the same name), not a person.
    pub screen: std::sync::atomic::AtomicBool,
    /// How bright their picture is, sampled now and then (see
    /// `talkline_media::frame::sampled_luma`): what a test reads to know
    /// what is in it.
    pub video_luma: AtomicU64,
    /// How far apart its darkest and brightest sampled points are (0: a
    /// flat picture).
    pub video_luma_spread: AtomicU64,
    pub video_frames_decoded: AtomicU64,
    /// Complete frames received: decoded here, or handed whole to a window
    /// that decodes them itself.
    pub video_frames_received: AtomicU64,
    /// Frames decoded since the call last recovered (ICE restart or rejoin).
    pub video_frames_since_recovery: AtomicU64,
    pub video_decode_errors: AtomicU64,
    pub audio_frames_decoded: AtomicU64,
    /// The audio jitter buffer, as the playout last left it (packets).
    audio_rebuilt: AtomicU64,
    audio_concealed: AtomicU64,
    audio_late: AtomicU64,
    audio_skipped: AtomicU64,
    audio_rebuffered: AtomicU64,
    audio_cushion_ms: AtomicU32,
    pub video_width: AtomicU32,
    pub video_height: AtomicU32,
    /// The simulcast layer Janus says it relays (its `substream`), or
    /// `u32::MAX` before it says (a publisher that sends one layer).
    pub video_substream: AtomicU32,
    /// Its video is paused on our request (a tile out of sight): no
    /// frames is what is expected, not a fault.
    pub video_paused: AtomicBool,
    /// The receive side of the network, from the video jitter buffer.
    pub video_packets_received: AtomicU64,
    /// Frames given up: a packet never came, or their references were lost.
    pub video_frames_lost: AtomicU64,
    /// Of those, upper temporal-layer frames skipped without a keyframe.
    pub video_upper_frames_skipped: AtomicU64,
    /// Packets that came after they were asked for again (NACK).
    pub video_packets_recovered: AtomicU64,
    pub video_nacks_sent: AtomicU64,
    pub video_keyframe_requests: AtomicU64,
    /// The round trip to the server, measured from retransmissions.
    pub rtt_ms: AtomicU32,
    /// Pauses between two pictures longer than `FREEZE_MS`, and the longest.
    pub video_freezes: AtomicU64,
    pub video_longest_freeze_ms: AtomicU64,
    /// When the last picture came, in ms since `created` (0: none yet).
    last_frame_at_ms: AtomicU64,
    /// Loudness of the latest audio packet (f32 bits, 0..1).
    level: AtomicU32,
    /// When that packet arrived: ms since `created`, a monotonic clock, so
    /// a wall clock set back or forward does not keep a stale level.
    level_at_ms: AtomicU64,
    /// Whether the latest audio packet carried a voice, by the sender's own
    /// detector (`VOICE_*`), and when it came (ms since `created`).
    voice: AtomicU8,
    voice_at_ms: AtomicU64,
    /// Packets that said they carry a voice.
    voice_packets: AtomicU64,
    /// When the first audio was played (ms since `created`; `u64::MAX`
    /// before), for the share played once it began.
    audio_first_ms: AtomicU64,
    created: Instant,
    /// How loud the user wants to hear this participant, in percent of
    /// what they send (0-200): a per-person volume, as in every meeting
    /// app, applied where the playout mixes.
    volume_percent: AtomicU32,
    latency: Box<[AtomicU32]>,
    latency_count: AtomicU64,
    pattern_first: AtomicU64,
    pattern_last: AtomicU64,
    recent_audio: Mutex<RecentAudio>,
}

struct RecentAudio {
    samples: Vec<i16>,
    at: usize,
    filled: bool,
}

impl RemoteStats {
    fn new(feed_id: u64, display: &str) -> Self {
        Self {
            feed_id,
            display: Mutex::new(display.to_string()),
            screen: std::sync::atomic::AtomicBool::new(false),
            video_luma: AtomicU64::new(0),
            video_luma_spread: AtomicU64::new(0),
            video_frames_decoded: AtomicU64::new(0),
            video_frames_received: AtomicU64::new(0),
            video_frames_since_recovery: AtomicU64::new(0),
            video_decode_errors: AtomicU64::new(0),
            audio_frames_decoded: AtomicU64::new(0),
            audio_rebuilt: AtomicU64::new(0),
            audio_concealed: AtomicU64::new(0),
            audio_late: AtomicU64::new(0),
            audio_skipped: AtomicU64::new(0),
            audio_rebuffered: AtomicU64::new(0),
            audio_cushion_ms: AtomicU32::new(0),
            video_width: AtomicU32::new(0),
            video_height: AtomicU32::new(0),
            video_substream: AtomicU32::new(u32::MAX),
            video_paused: AtomicBool::new(false),
            video_packets_received: AtomicU64::new(0),
            video_frames_lost: AtomicU64::new(0),
            video_upper_frames_skipped: AtomicU64::new(0),
            video_packets_recovered: AtomicU64::new(0),
            video_nacks_sent: AtomicU64::new(0),
            video_keyframe_requests: AtomicU64::new(0),
            rtt_ms: AtomicU32::new(0),
            video_freezes: AtomicU64::new(0),
            video_longest_freeze_ms: AtomicU64::new(0),
            last_frame_at_ms: AtomicU64::new(0),
            level: AtomicU32::new(0),
            level_at_ms: AtomicU64::new(0),
            voice: AtomicU8::new(VOICE_UNKNOWN),
            voice_at_ms: AtomicU64::new(0),
            voice_packets: AtomicU64::new(0),
            audio_first_ms: AtomicU64::new(u64::MAX),
            created: Instant::now(),
            volume_percent: AtomicU32::new(100),
            latency: (0..LATENCY_BUCKETS).map(|_| AtomicU32::new(0)).collect(),
            latency_count: AtomicU64::new(0),
            pattern_first: AtomicU64::new(u64::MAX),
            pattern_last: AtomicU64::new(0),
            recent_audio: Mutex::new(RecentAudio {
                samples: vec![0; RECENT_AUDIO],
                at: 0,
                filled: false,
            }),
        }
    }

    /// Sets how loud this participant plays, in percent (up to 200).
    pub fn set_volume_percent(&self, percent: u32) {
        self.volume_percent
            .store(percent.min(MAX_VOLUME_PERCENT), Ordering::Relaxed);
    }

    /// The gain the playout applies to this participant.
    pub fn volume(&self) -> f32 {
        self.volume_percent.load(Ordering::Relaxed) as f32 / 100.0
    }

    /// A picture of this participant is ready to show: a pause since the
    /// previous one longer than `FREEZE_MS` counts as a freeze.
    pub fn record_video_frame(&self) {
        // 1 + so that 0 stays "no picture yet".
        let now = 1 + self.ms_since_created();
        let last = self.last_frame_at_ms.swap(now, Ordering::Relaxed);
        let pause = now.saturating_sub(last);
        if last != 0 && pause > FREEZE_MS {
            self.video_freezes.fetch_add(1, Ordering::Relaxed);
            self.video_longest_freeze_ms
                .fetch_max(pause, Ordering::Relaxed);
        }
    }

    /// Whether this participant's video is moving: a picture came within
    /// the last two seconds (a camera turned off, or video not received,
    /// sends none).
    pub fn showing_video(&self) -> bool {
        let last = self.last_frame_at_ms.load(Ordering::Relaxed);
        last != 0 && self.ms_since_created().saturating_sub(last) < 2_000
    }

    /// The video jitter buffer's counters, as they are now.
    pub fn record_jitter(
        &self,
        stats: &crate::jitter::JitterStats,
        rtt: Option<std::time::Duration>,
    ) {
        let set = |a: &AtomicU64, v: u64| a.store(v, Ordering::Relaxed);
        set(&self.video_packets_received, stats.packets_received);
        set(&self.video_frames_lost, stats.frames_lost);
        set(&self.video_upper_frames_skipped, stats.upper_frames_skipped);
        set(&self.video_packets_recovered, stats.packets_recovered);
        set(&self.video_nacks_sent, stats.nacked);
        set(&self.video_keyframe_requests, stats.keyframe_requests);
        // 0: not measured yet (no packet had to be asked for again).
        let rtt_ms = rtt.map_or(0, |r| r.as_millis().clamp(1, u32::MAX as u128) as u32);
        self.rtt_ms.store(rtt_ms, Ordering::Relaxed);
    }

    /// Records a test-pattern frame: its number (to count what arrived of
    /// what was sent) and its glass-to-glass latency.
    pub fn record_pattern_frame(&self, frame_number: u32, capture_ms: u64) {
        self.pattern_first
            .fetch_min(frame_number as u64, Ordering::Relaxed);
        self.pattern_last
            .fetch_max(frame_number as u64, Ordering::Relaxed);
        self.record_latency(capture_ms);
    }

    fn record_latency(&self, capture_ms: u64) {
        let now_ms = wall_clock_us() / 1000;
        let latency = now_ms.saturating_sub(capture_ms) as usize;
        self.latency[latency.min(LATENCY_BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
        self.latency_count.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts what the playout played and keeps its most recent second.
    /// Called from the playout thread once per packet: the history is only
    /// written when its lock is free (see below), never waited for.
    pub fn record_audio(&self, samples: &[i16]) {
        self.audio_frames_decoded.fetch_add(
            (samples.len() / talkline_media::AUDIO_FRAME_SAMPLES) as u64,
            Ordering::Relaxed,
        );
        self.level
            .store(audio_level(samples).to_bits(), Ordering::Relaxed);
        let now_ms = self.ms_since_created();
        self.level_at_ms.store(now_ms, Ordering::Relaxed);
        self.audio_first_ms.fetch_min(now_ms, Ordering::Relaxed);
        // Called from the playout thread, which must not wait: a sample
        // missed while the analysis reads is of no consequence.
        if let Ok(mut recent) = self.recent_audio.try_lock() {
            for &s in samples {
                let at = recent.at;
                recent.samples[at] = s;
                recent.at = (at + 1) % RECENT_AUDIO;
                if recent.at == 0 {
                    recent.filled = true;
                }
            }
        }
    }

    fn percentile(&self, p: f64) -> Option<u64> {
        let total = self.latency_count.load(Ordering::Relaxed);
        if total == 0 {
            return None;
        }
        let target = ((total as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (ms, bucket) in self.latency.iter().enumerate() {
            seen += bucket.load(Ordering::Relaxed) as u64;
            if seen >= target {
                return Some(ms as u64);
            }
        }
        Some(LATENCY_BUCKETS as u64 - 1)
    }

    fn dominant_hz(&self) -> f64 {
        let Ok(recent) = self.recent_audio.lock() else {
            return 0.0;
        };
        let ordered: Vec<i16> = if recent.filled {
            recent.samples[recent.at..]
                .iter()
                .chain(&recent.samples[..recent.at])
                .copied()
                .collect()
        } else {
            recent.samples[..recent.at].to_vec()
        };
        dominant_frequency_hz(&ordered).unwrap_or(0.0)
    }

    /// Loudness of the latest audio packet, 0 (silence) to 1 (full scale).
    /// A participant who muted sends no more packets, so the last one's
    /// loudness is not theirs any more: without fresh audio it is silence.
    pub fn level(&self) -> f32 {
        let age_ms = self
            .ms_since_created()
            .saturating_sub(self.level_at_ms.load(Ordering::Relaxed));
        if age_ms > LEVEL_FRESH_MS {
            return 0.0;
        }
        f32::from_bits(self.level.load(Ordering::Relaxed))
    }

    /// The sender's detector says whether this packet carries a voice (the
    /// audio-level header extension's V bit).
    pub fn record_voice_activity(&self, voice: bool) {
        self.voice
            .store(if voice { VOICE_YES } else { VOICE_NO }, Ordering::Relaxed);
        if voice {
            self.voice_packets.fetch_add(1, Ordering::Relaxed);
        }
        self.voice_at_ms
            .store(self.ms_since_created(), Ordering::Relaxed);
    }

    /// Whether the participant speaks now: by their own voice detector,
    /// which tells a voice from a fan or music, when their packets say;
    /// by loudness when they never did (a client that sends no audio
    /// level).
    pub fn speaking(&self) -> bool {
        match self.voice.load(Ordering::Relaxed) {
            VOICE_UNKNOWN => self.level() > SPEAKING_LEVEL,
            state => {
                let age_ms = self
                    .ms_since_created()
                    .saturating_sub(self.voice_at_ms.load(Ordering::Relaxed));
                state == VOICE_YES && age_ms <= LEVEL_FRESH_MS
            }
        }
    }

    /// Loudness of the participant's voice: their level while they speak,
    /// silence otherwise (what the window picks the speaker by).
    pub fn voice_level(&self) -> f32 {
        if self.speaking() { self.level() } else { 0.0 }
    }

    /// What the audio jitter buffer has done so far, from the playout
    /// thread: relaxed stores, no lock.
    pub fn record_audio_buffer(&self, buffer: &AudioJitterStats, cushion: Duration) {
        self.audio_rebuilt.store(buffer.rebuilt, Ordering::Relaxed);
        self.audio_concealed
            .store(buffer.concealed, Ordering::Relaxed);
        self.audio_late.store(buffer.late, Ordering::Relaxed);
        self.audio_skipped.store(buffer.skipped, Ordering::Relaxed);
        self.audio_rebuffered
            .store(buffer.rebuffered, Ordering::Relaxed);
        self.audio_cushion_ms
            .store(cushion.as_millis() as u32, Ordering::Relaxed);
    }

    fn ms_since_created(&self) -> u64 {
        self.created.elapsed().as_millis() as u64
    }

    pub fn display(&self) -> String {
        self.display.lock().map(|d| d.clone()).unwrap_or_default()
    }

    fn snapshot(&self) -> Value {
        let mut v = json!({
            "feed_id": self.feed_id,
            "display": self.display(),
            "screen": self.screen.load(Ordering::Relaxed),
            "video_luma": self.video_luma.load(Ordering::Relaxed),
            "video_luma_spread": self.video_luma_spread.load(Ordering::Relaxed),
            "volume_percent": self.volume_percent.load(Ordering::Relaxed),
            "speaking": self.speaking(),
            // 20 ms a packet.
            "audio_voice_ms": self.voice_packets.load(Ordering::Relaxed) * 20,
            // From the first audio played to the last (plus that packet's
            // 20 ms): what `audio_frames_decoded` covers once audio began.
            "audio_span_ms": match self.audio_first_ms.load(Ordering::Relaxed) {
                u64::MAX => 0,
                first => self.level_at_ms.load(Ordering::Relaxed).saturating_sub(first) + 20,
            },
            "video_frames_decoded": self.video_frames_decoded.load(Ordering::Relaxed),
            "video_frames_received": self.video_frames_received.load(Ordering::Relaxed),
            "video_frames_since_recovery": self.video_frames_since_recovery.load(Ordering::Relaxed),
            "video_decode_errors": self.video_decode_errors.load(Ordering::Relaxed),
            "video_width": self.video_width.load(Ordering::Relaxed),
            "video_height": self.video_height.load(Ordering::Relaxed),
            "video_layer": crate::layers::VideoLayer::from_substream(u64::from(
                self.video_substream.load(Ordering::Relaxed),
            ))
            .map(|l| l.to_string()),
            "video_paused": self.video_paused.load(Ordering::Relaxed),
            "audio_frames_decoded": self.audio_frames_decoded.load(Ordering::Relaxed),
            "audio_dominant_hz": self.dominant_hz(),
            // The latest packet's level (RMS, 0 to 1).
            "audio_level": (f64::from(self.level()) * 1e4).round() / 1e4,
            "audio_packets_rebuilt": self.audio_rebuilt.load(Ordering::Relaxed),
            "audio_packets_concealed": self.audio_concealed.load(Ordering::Relaxed),
            "audio_packets_late": self.audio_late.load(Ordering::Relaxed),
            "audio_packets_skipped": self.audio_skipped.load(Ordering::Relaxed),
            "audio_rebuffers": self.audio_rebuffered.load(Ordering::Relaxed),
            "audio_cushion_ms": self.audio_cushion_ms.load(Ordering::Relaxed),
            "pattern_frames": self.latency_count.load(Ordering::Relaxed),
            "video_packets_received": self.video_packets_received.load(Ordering::Relaxed),
            "video_frames_lost": self.video_frames_lost.load(Ordering::Relaxed),
            "video_upper_frames_skipped": self.video_upper_frames_skipped.load(Ordering::Relaxed),
            "video_packets_recovered": self.video_packets_recovered.load(Ordering::Relaxed),
            "video_nacks_sent": self.video_nacks_sent.load(Ordering::Relaxed),
            "video_keyframe_requests": self.video_keyframe_requests.load(Ordering::Relaxed),
            "rtt_ms": match self.rtt_ms.load(Ordering::Relaxed) {
                0 => Value::Null,
                ms => json!(ms),
            },
            "video_freezes": self.video_freezes.load(Ordering::Relaxed),
            "video_longest_freeze_ms": self.video_longest_freeze_ms.load(Ordering::Relaxed),
        });
        if let (Some(p50), Some(p95)) = (self.percentile(0.5), self.percentile(0.95)) {
            v["latency_ms_p50"] = json!(p50);
            v["latency_ms_p95"] = json!(p95);
            let (first, last) = (
                self.pattern_first.load(Ordering::Relaxed),
                self.pattern_last.load(Ordering::Relaxed),
            );
            let span = last.saturating_sub(first) + 1;
            v["pattern_first"] = json!(first);
            v["pattern_last"] = json!(last);
            v["pattern_received_ratio"] =
                json!(self.latency_count.load(Ordering::Relaxed) as f64 / span as f64);
        }
        v
    }
}

pub use talkline_media::analysis::audio_level;

/// Statistics of one call.
pub struct CallStats {
    started: Instant,
    joined: OnceLock<Instant>,
    first_remote_frame: OnceLock<Instant>,
    pub rejoins: AtomicU64,
    pub ice_restarts: AtomicU64,
    /// Subscriptions made anew because video stalled at the start.
    pub resubscriptions: AtomicU64,
    pub video_frames_sent: AtomicU64,
    pub audio_packets_sent: AtomicU64,
    pub keyframes_requested: AtomicU64,
    /// The path to the server as congestion control sees it, and what the
    /// video encoder was set to follow it.
    pub path: Arc<PathEstimate>,
    /// Loudness of our own microphone (f32 bits, 0..1), muted or not, so
    /// the UI can say "you are muted" when someone talks into a muted mic.
    self_level: AtomicU32,
    /// The microphone's processing, as the send thread last reported it.
    pub voice: VoiceStats,
    remotes: Mutex<BTreeMap<u64, Arc<RemoteStats>>>,
}

/// What the voice processing does to the microphone and how well the echo
/// is removed, written by the audio send thread once a second.
#[derive(Debug)]
pub struct VoiceStats {
    /// `VoiceSettings::to_bits`, with `KNOWN` set once reported.
    settings: AtomicU8,
    /// ERLE in tenths of a dB, and the echo's delay in ms; `i32::MIN`
    /// while the canceller has no estimate.
    erle_tenths_db: AtomicI32,
    /// Restarts of the canceller for a delay that moved with no device
    /// change.
    echo_restarts: AtomicU32,
    delay_ms: AtomicI32,
    /// Whether the microphone carries a voice now (muted or not), and for
    /// how many 10 ms frames it did in the call.
    speaking: AtomicBool,
    speech_frames: AtomicU64,
}

const KNOWN: u8 = 0x80;

impl Default for VoiceStats {
    fn default() -> Self {
        Self {
            settings: AtomicU8::new(0),
            erle_tenths_db: AtomicI32::new(i32::MIN),
            echo_restarts: AtomicU32::new(0),
            delay_ms: AtomicI32::new(i32::MIN),
            speaking: AtomicBool::new(false),
            speech_frames: AtomicU64::new(0),
        }
    }
}

impl VoiceStats {
    pub fn report(&self, settings: VoiceSettings, echo: EchoReport) {
        self.settings
            .store(settings.to_bits() | KNOWN, Ordering::Relaxed);
        let tenths = echo
            .erle_db
            .map_or(i32::MIN, |db| (db * 10.0).round() as i32);
        self.erle_tenths_db.store(tenths, Ordering::Relaxed);
        self.echo_restarts
            .store(echo.unannounced_path_changes, Ordering::Relaxed);
        self.delay_ms
            .store(echo.delay_ms.unwrap_or(i32::MIN), Ordering::Relaxed);
    }

    /// One 10 ms frame's verdict.
    pub fn set_speaking(&self, speaking: bool) {
        self.speaking.store(speaking, Ordering::Relaxed);
        if speaking {
            self.speech_frames.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn speaking(&self) -> bool {
        self.speaking.load(Ordering::Relaxed)
    }

    fn snapshot(&self) -> Value {
        let bits = self.settings.load(Ordering::Relaxed);
        if bits & KNOWN == 0 {
            return Value::Null;
        }
        let on = VoiceSettings::from_bits(bits);
        let known = |v: i32| (v != i32::MIN).then_some(v);
        json!({
            "echo_cancellation": on.echo_cancellation,
            "noise_suppression": on.noise_suppression,
            "gain_control": on.gain_control,
            "high_pass_filter": on.high_pass_filter,
            "echo_erle_db": known(self.erle_tenths_db.load(Ordering::Relaxed)).map(|t| f64::from(t) / 10.0),
            "echo_restarts_for_a_moved_delay": self.echo_restarts.load(Ordering::Relaxed),
            "echo_delay_ms": known(self.delay_ms.load(Ordering::Relaxed)),
            "speaking": self.speaking(),
            "speech_ms": self.speech_frames.load(Ordering::Relaxed) * 10,
        })
    }
}

impl CallStats {
    pub fn new(started: Instant) -> Arc<Self> {
        Arc::new(Self {
            started,
            joined: OnceLock::new(),
            first_remote_frame: OnceLock::new(),
            rejoins: AtomicU64::new(0),
            ice_restarts: AtomicU64::new(0),
            resubscriptions: AtomicU64::new(0),
            video_frames_sent: AtomicU64::new(0),
            audio_packets_sent: AtomicU64::new(0),
            keyframes_requested: AtomicU64::new(0),
            path: Arc::default(),
            self_level: AtomicU32::new(0),
            voice: VoiceStats::default(),
            remotes: Mutex::new(BTreeMap::new()),
        })
    }

    pub fn mark_joined(&self) {
        let _ = self.joined.set(Instant::now());
    }

    pub fn mark_remote_frame(&self) {
        if self.first_remote_frame.get().is_none()
            && self.first_remote_frame.set(Instant::now()).is_ok()
        {
            log::debug!("first remote frame decoded");
        }
    }

    /// The stats of one remote participant, created on first use.
    pub fn remote(&self, feed_id: u64, display: &str) -> Arc<RemoteStats> {
        let Ok(mut map) = self.remotes.lock() else {
            return Arc::new(RemoteStats::new(feed_id, display));
        };
        let entry = map
            .entry(feed_id)
            .or_insert_with(|| Arc::new(RemoteStats::new(feed_id, display)));
        if !display.is_empty()
            && let Ok(mut d) = entry.display.lock()
            && *d != display
        {
            *d = display.to_string();
        }
        Arc::clone(entry)
    }

    pub fn set_self_level(&self, level: f32) {
        self.self_level.store(level.to_bits(), Ordering::Relaxed);
    }

    pub fn self_level(&self) -> f32 {
        f32::from_bits(self.self_level.load(Ordering::Relaxed))
    }

    /// The participant of `feed_id`, if seen in this call.
    pub fn remote_by_feed(&self, feed_id: u64) -> Option<Arc<RemoteStats>> {
        self.remotes.lock().ok()?.get(&feed_id).cloned()
    }

    /// The participant called `name`: of those seen so far (someone who
    /// left and came back is seen twice), the newest; a screen they share
    /// is not them.
    pub fn remote_named(&self, name: &str) -> Option<Arc<RemoteStats>> {
        self.remotes()
            .into_iter()
            .filter(|r| r.display() == name && !r.screen.load(Ordering::Relaxed))
            .min_by_key(|r| r.ms_since_created())
    }

    /// Every remote participant seen so far.
    pub fn remotes(&self) -> Vec<Arc<RemoteStats>> {
        self.remotes
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Counts restart from here for every remote (after a rejoin).
    pub fn reset_since_recovery(&self) {
        if let Ok(map) = self.remotes.lock() {
            for r in map.values() {
                r.video_frames_since_recovery.store(0, Ordering::Relaxed);
            }
        }
    }

    fn ms_since_start(&self, at: Option<&Instant>) -> Value {
        at.map_or(Value::Null, |t| {
            json!(t.duration_since(self.started).as_millis() as u64)
        })
    }

    /// What we send and what the path allows; `null` for what is not
    /// known yet (no feedback from the server so far).
    fn send_snapshot(&self) -> Value {
        let known = |v: u32| if v == 0 { Value::Null } else { json!(v) };
        let (delay_based, loss_based) = self.path.halves_kbps();
        json!({
            "bandwidth_estimate_kbps": self.path.estimate_bps().map(|bps| bps / 1000),
            "delay_based_kbps": known(delay_based),
            "loss_based_kbps": known(loss_based),
            // Where the path last filled up: video stays under it while
            // the estimate probes past it with copies.
            "path_ceiling_kbps": self.path.ceiling_kbps().map_or(Value::Null, |k| json!(k)),
            "loss": self.path.estimate_bps().map(|_| self.path.loss()),
            // Of it, what the path loses whatever is sent (the estimate's
            // judgement): the network's own loss, not congestion.
            "inherent_loss": self.path.estimate_bps().map(|_| self.path.inherent_loss()),
            "video_target_kbps": known(self.path.video_target_kbps()),
            "video_fps": known(self.path.video_fps()),
            "video_width": known(self.path.video_size().0),
            "video_height": known(self.path.video_size().1),
            // Under simulcast, how many of the three sizes go now.
            "video_layers": known(self.path.video_layers()),
        })
    }

    pub fn snapshot(&self) -> Value {
        let remote: Vec<Value> = self
            .remotes
            .lock()
            .map(|m| m.values().map(|r| r.snapshot()).collect())
            .unwrap_or_default();
        json!({
            "joined_ms": self.ms_since_start(self.joined.get()),
            "first_remote_frame_ms": self.ms_since_start(self.first_remote_frame.get()),
            "rejoins": self.rejoins.load(Ordering::Relaxed),
            "resubscriptions": self.resubscriptions.load(Ordering::Relaxed),
            "ice_restarts": self.ice_restarts.load(Ordering::Relaxed),
            "video_frames_sent": self.video_frames_sent.load(Ordering::Relaxed),
            "audio_packets_sent": self.audio_packets_sent.load(Ordering::Relaxed),
            "keyframes_requested": self.keyframes_requested.load(Ordering::Relaxed),
            "send": self.send_snapshot(),
            "voice": self.voice.snapshot(),
            "remote": remote,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_tone() {
        let stats = CallStats::new(Instant::now());
        let r = stats.remote(7, "Ann");
        let now = wall_clock_us() / 1000;
        // Frames 0..100 with every 10th lost: 90 at 40 ms, 10 (90..100) at 400 ms.
        for n in (0..90).filter(|n| n % 10 != 5) {
            r.record_pattern_frame(n, now.saturating_sub(40));
        }
        for n in 90..100 {
            r.record_pattern_frame(n, now.saturating_sub(400));
        }
        let p50 = r.percentile(0.5).expect("samples");
        let p95 = r.percentile(0.95).expect("samples");
        assert!((40..45).contains(&p50), "{p50}");
        assert!((400..405).contains(&p95), "{p95}");
        let ratio = stats.snapshot()["remote"][0]["pattern_received_ratio"].as_f64();
        assert_eq!(ratio, Some(0.91));
        let mut tone = talkline_media::tone::ToneSource::new(660.0).expect("tone");
        let mut frame = talkline_media::AudioFrame::default();
        for _ in 0..150 {
            tone.read(&mut frame);
            r.record_audio(&frame.samples);
        }
        let snap = stats.snapshot();
        let remote = &snap["remote"][0];
        assert_eq!(remote["display"], "Ann");
        assert_eq!(remote["audio_frames_decoded"], 150);
        let hz = remote["audio_dominant_hz"].as_f64().expect("number");
        assert!((hz - 660.0).abs() < 1.0, "{hz}");
        assert_eq!(snap["joined_ms"], Value::Null);
    }

    #[test]
    fn a_participant_who_stops_sending_audio_is_silent_not_stuck_loud() {
        let stats = CallStats::new(Instant::now());
        let r = stats.remote(8, "Bob");
        let mut tone = talkline_media::tone::ToneSource::new(440.0).expect("tone");
        let mut frame = talkline_media::AudioFrame::default();
        tone.read(&mut frame);
        r.record_audio(&frame.samples);
        assert!(r.level() > 0.02, "{}", r.level());
        std::thread::sleep(std::time::Duration::from_millis(LEVEL_FRESH_MS + 50));
        assert_eq!(r.level(), 0.0);
    }
}
