//! Send-side congestion control: what the path to the server carries, and
//! how the video encoder follows it.
//!
//! Janus sends transport-wide congestion control feedback (TWCC) to every
//! publisher; webrtc-rs turns it into per-packet reports. `PathEstimator`
//! reads them: the delay half of Google Congestion Control (webrtc-rs's
//! `Gcc`) and a loss half of our own that tells congestion from loss the
//! path has anyway (`loss`). It publishes the estimate through atomics; the
//! video thread reads them once a frame and `VideoRateController` decides
//! the encoder's bitrate, picture size and frame rate. Audio (32 kbps Opus) is taken off
//! the top first, so a squeezed path costs picture, never speech.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod coverage;
mod estimator;
mod layer_allocation;
mod loss;
mod resend;
mod retransmission;

pub use coverage::{FeedbackCoverage, mark_feedback};
pub use estimator::PathEstimator;
pub use layer_allocation::{LAYER_DIVISORS, LayerAllocation, LayerRates};
pub use resend::{Missing, MissingAtServer, resend_missing};
pub use retransmission::nack_budget;

/// The pacer releases packets at this many times the estimate. At exactly
/// the estimate a keyframe (10-20 frames' worth of bytes) would queue for
/// half a second; libwebrtc paces at 2.5x for the same reason. The encoder,
/// not the pacer, keeps the average under the estimate.
pub const PACING_FACTOR: f64 = 2.5;
/// What Opus needs, with its packet overhead, before video gets any.
const AUDIO_KBPS: u32 = 40;
/// Share of the estimate video may use: RTP and SRTP headers, and
/// retransmissions of lost packets, take the rest.
const VIDEO_SHARE: f64 = 0.85;
/// Below this a VP8 picture is mush at any frame rate.
pub const MIN_VIDEO_KBPS: u32 = 60;
/// A picture keeps its full size while the budget gives it this many kbps
/// per megapixel (at 30 fps): 300 kbps for 640x360, where libwebrtc steps
/// down too. Below, it is sent at half the width and height, at the full
/// frame rate: a quarter of the pixels, smaller frames with fewer packets
/// to lose, and motion kept.
const FULL_SIZE_KBPS_PER_MEGAPIXEL: f64 = 1_300.0;
/// ...but a large camera under a modest setting is not halved for good:
/// full size never needs more than this share of the most video allowed.
const FULL_SIZE_AT_MOST_OF_MAX: f64 = 0.5;
/// Frame rate steps, once the picture is small: below these budgets a
/// frame is sent in one of 2, then one of 3. Fewer, sharper frames read
/// better than many blurred ones.
const HALF_RATE_BELOW_KBPS: u32 = 120;
const THIRD_RATE_BELOW_KBPS: u32 = 80;
/// A step back up waits until the budget is this much above the threshold,
/// so an estimate hovering at a threshold does not flip the rate.
const STEP_UP_MARGIN: f64 = 1.25;
/// Raising the bitrate waits this long after the last change; lowering it
/// never waits.
const RAISE_EVERY: Duration = Duration::from_millis(1000);
/// On a path that loses packets whatever is sent (loss the loss half of the
/// estimate does not count as congestion), every packet of a frame is one
/// more chance to lose the frame, and a lost base-layer frame costs a
/// keyframe. The video bitrate is then kept to this divided by the loss
/// rate: 800 kbps at 5%, 400 at 10% (two packets a frame at 30 fps), 200
/// at 20% (half the size, one packet a frame), the full rate under 3%. A
/// smooth picture with less detail beats a sharp one that stops; browsers
/// come down further still, and a browser receiving 640x360 at 400 kbit/s
/// through 20% loss on each hop showed 11% of its frames. Never under
/// `LOSS_CAP_FLOOR_KBPS`: loss alone does not cost frame rate, and loss
/// that comes from congestion is the estimate's business. Under
/// `SMALLER_FROM_LOSS` never under `LOSS_CAP_FULL_SIZE_FLOOR_KBPS`: the
/// picture keeps its size through 10% loss, whose readings swing from 8%
/// to 12%, where 20% reads 16-22%.
const LOSS_CAP_KBPS_AT_FULL_LOSS: f64 = 40.0;
const LOSS_CAP_FLOOR_KBPS: u32 = 200;
const LOSS_CAP_FULL_SIZE_FLOOR_KBPS: u32 = 400;
const SMALLER_FROM_LOSS: f64 = 0.14;
/// Loss under this is not worth a sharper picture's cost.
const LOSS_CAP_FROM: f64 = 0.02;
/// Loss over this is a policer or an outage, not a lossy radio: the
/// estimate deals with it, and a cap lingering on the loss of the last
/// window would only slow the climb once the path clears. A radio losing
/// 30% (20% read with the noise of a few seconds) is still a radio.
const LOSS_CAP_TO: f64 = 0.35;

/// From this much loss the path has whatever is sent (the estimate's
/// judgement, not a reading), the packets of base-layer frames (keyframes
/// among them) are sent twice: Janus keeps the first copy to arrive (its
/// SRTP replay check drops the other), so a base frame lost on the way to
/// Janus, which costs every receiver a wait for a resend Janus asks for
/// twice at most, or a keyframe, becomes rare. Upper-layer frames cost one
/// frame when lost and go once.
pub(crate) const BASE_TWICE_FROM_LOSS: f64 = 0.08;
/// The copies only where the estimate leaves room for them: base frames
/// carry about 60% of the video's bytes.
const BASE_TWICE_COST: f64 = 1.6;

/// Whether base-layer packets go twice: the path loses packets whatever
/// is sent, and the estimate carries the video with the copies.
pub fn send_base_twice(estimate_bps: Option<u64>, inherent_loss: f64, video_kbps: u32) -> bool {
    let Some(estimate) = estimate_bps else {
        return false;
    };
    let needed =
        (f64::from(video_kbps) * BASE_TWICE_COST + f64::from(AUDIO_KBPS)) * 1000.0 / VIDEO_SHARE;
    inherent_loss >= BASE_TWICE_FROM_LOSS && estimate as f64 >= needed
}

/// A probe sends each video packet at most this many more times: past the
/// twice the ceiling the loss half needs to have been sent before it takes
/// a cap for lifted (`loss::PAST_BUCKET`), with room to spare (2.6 times a
/// 480 kbit/s ceiling with three), and still past it under a low ceiling,
/// where audio is much of what is sent and video is at its floor (three
/// reached 2.1 times a 150 kbit/s ceiling).
const MAX_PROBE_COPIES: f64 = 4.0;

/// Where a new connection's estimate starts: what the encoder sends now,
/// with audio and overhead, so a rejoin neither floods a path that was
/// squeezed nor starts a wide one at a crawl.
pub fn start_bps(video_kbps: u32) -> f64 {
    let video = video_kbps.max(MIN_VIDEO_KBPS);
    f64::from(video + AUDIO_KBPS) * 1000.0 / VIDEO_SHARE
}

/// The path estimate as the rest of the call reads it. Written by the
/// estimator on webrtc-rs's task, read by the video thread and the stats:
/// atomics only.
#[derive(Debug, Default)]
pub struct PathEstimate {
    /// Bits per second; 0 until the first feedback.
    pub(crate) estimate_bps: AtomicU64,
    /// Share of our packets the server reported lost, in thousandths.
    pub(crate) loss_permille: AtomicU32,
    /// The lower of the last two such windows: loss that stays.
    pub(crate) steady_loss_permille: AtomicU32,
    /// Of it, what the loss half of the estimate judged the path's own
    /// (lost whatever is sent), in thousandths.
    pub(crate) inherent_permille: AtomicU32,
    /// The loss half of the estimate holds a ceiling it trusts: the path
    /// fills up, and loss past the inherent level is congestion.
    pub(crate) congested: AtomicBool,
    /// What the path delivered when it last filled up, bits per second; 0
    /// when it has no known ceiling.
    pub(crate) ceiling_bps: AtomicU64,
    /// The two halves of the estimate, kbps: which one holds the call
    /// back is the first question when a call is poor.
    pub(crate) delay_based_kbps: AtomicU32,
    pub(crate) loss_based_kbps: AtomicU32,
    /// What the encoder was last set to.
    video_target_kbps: AtomicU32,
    /// Frames per second the encoder is sending at.
    video_fps: AtomicU32,
    /// The size of the pictures sent (the camera's, or half of it).
    video_width: AtomicU32,
    video_height: AtomicU32,
    /// Encodings sent: 1, or up to 3 under simulcast; 0 before video.
    video_layers: AtomicU32,
    /// The most video the user's settings allow.
    video_max_kbps: AtomicU32,
}

impl PathEstimate {
    pub fn estimate_bps(&self) -> Option<u64> {
        match self.estimate_bps.load(Ordering::Relaxed) {
            0 => None,
            bps => Some(bps),
        }
    }

    /// The delay-based and the loss-based halves, kbps.
    pub fn halves_kbps(&self) -> (u32, u32) {
        (
            self.delay_based_kbps.load(Ordering::Relaxed),
            self.loss_based_kbps.load(Ordering::Relaxed),
        )
    }

    pub fn loss(&self) -> f64 {
        f64::from(self.loss_permille.load(Ordering::Relaxed)) / 1000.0
    }

    pub fn inherent_loss(&self) -> f64 {
        f64::from(self.inherent_permille.load(Ordering::Relaxed)) / 1000.0
    }

    /// The loss the video follows as a lossy path's: on a path known to
    /// fill up, only what it loses whatever is sent. A probe's burst of
    /// loss past a 512 kbit/s cap, read as a lossy path's, held video at
    /// 400 kbit/s while the estimate climbed, then let it jump past the cap.
    /// Otherwise loss that lasted two windows: a radio's loss stays, a
    /// burst does not, and one window of 3.6% on a clean path took video
    /// from 1200 kbit/s to 1111. The price: a path that turns lossy is
    /// followed after two windows, 5-6 s at 1 Mbit/s (longer at a low
    /// rate, where a window of 300 packets takes longer to fill).
    pub fn lossy_path_loss(&self) -> f64 {
        if self.congested.load(Ordering::Relaxed) {
            self.inherent_loss()
        } else {
            f64::from(self.steady_loss_permille.load(Ordering::Relaxed)) / 1000.0
        }
    }

    /// The path fills up (a rate cap, a queue): past its inherent loss,
    /// what it loses is congestion.
    pub fn fills_up(&self) -> bool {
        self.congested.load(Ordering::Relaxed)
    }

    /// Where the path last filled up, kbps.
    pub fn ceiling_kbps(&self) -> Option<u64> {
        match self.ceiling_bps.load(Ordering::Relaxed) {
            0 => None,
            bps => Some(bps / 1000),
        }
    }

    /// What the media may use of the estimate. While the path has a
    /// ceiling (a policer, a full queue), no more than the share of it the
    /// loss half holds at after finding it (`loss::UNDER_CEILING`), which
    /// leaves room for the resends of a probe's loss: the estimate's
    /// climb past it, which finds out whether the path has widened, is
    /// made of copies of packets already sent (`probe_copies`), which
    /// Janus drops as replays. When a probe meets the ceiling, the policer
    /// drops copies and originals alike for the few hundred milliseconds
    /// the loss takes to be reported, an original whose copy got through
    /// is not lost, and the picture goes on unchanged. With the encoder
    /// following the climb, every probe took it to 2-3 times a 512 kbit/s
    /// cap and back under it at half the size, each step a new encoder and
    /// a keyframe into an empty bucket: 1.3 s of a browser's picture lost
    /// every 9 s (BENCHMARKS.md, session 24). Media at the ceiling itself
    /// left no room: the probe's losses were never repaired, and a
    /// receiver gave up a frame at every probe.
    pub fn media_estimate_bps(&self) -> Option<u64> {
        let estimate = self.estimate_bps()?;
        let ceiling = self.ceiling_bps.load(Ordering::Relaxed);
        if ceiling == 0 || !self.fills_up() {
            return Some(estimate);
        }
        Some(estimate.min((ceiling as f64 * loss::UNDER_CEILING) as u64))
    }

    /// Copies of each video packet (a share: 0.5 is one packet in two) that
    /// fill the estimate above what the media may use, for video really
    /// sent at `video_bps` (`VideoSendRate`: the encoder often codes under
    /// its target, and copies counted from the target filled less than
    /// the climb asked, which slows finding a lifted cap).
    pub fn probe_copies(&self, video_bps: f64) -> f32 {
        let (Some(all), Some(media)) = (self.estimate_bps(), self.media_estimate_bps()) else {
            return 0.0;
        };
        let extra = all.saturating_sub(media) as f64;
        let video = video_bps.max(f64::from(MIN_VIDEO_KBPS) * 1000.0);
        (extra / video).clamp(0.0, MAX_PROBE_COPIES) as f32
    }

    /// Whether the packets of a base-layer frame go twice now.
    pub fn send_base_twice(&self, video_kbps: u32) -> bool {
        send_base_twice(self.estimate_bps(), self.inherent_loss(), video_kbps)
    }

    /// What the encoder sends now, from the camera's frame rate and size.
    pub fn record_video(&self, rate: VideoRate, native_fps: u32, native_size: (u32, u32)) {
        self.video_target_kbps
            .store(rate.bitrate_kbps, Ordering::Relaxed);
        self.video_fps
            .store(native_fps / rate.keep_one_in.max(1), Ordering::Relaxed);
        let (w, h) = rate.picture_size(native_size);
        self.video_width.store(w, Ordering::Relaxed);
        self.video_height.store(h, Ordering::Relaxed);
    }

    /// Width and height of the pictures sent; 0 before the first.
    pub fn video_size(&self) -> (u32, u32) {
        (
            self.video_width.load(Ordering::Relaxed),
            self.video_height.load(Ordering::Relaxed),
        )
    }

    pub fn record_video_layers(&self, layers: usize) {
        self.video_layers.store(layers as u32, Ordering::Relaxed);
    }

    pub fn video_layers(&self) -> u32 {
        self.video_layers.load(Ordering::Relaxed)
    }

    pub fn set_video_max_kbps(&self, kbps: u32) {
        self.video_max_kbps.store(kbps, Ordering::Relaxed);
    }

    pub fn video_max_kbps(&self) -> u32 {
        self.video_max_kbps.load(Ordering::Relaxed)
    }

    pub fn video_target_kbps(&self) -> u32 {
        self.video_target_kbps.load(Ordering::Relaxed)
    }

    pub fn video_fps(&self) -> u32 {
        self.video_fps.load(Ordering::Relaxed)
    }

    /// A new connection starts from nothing known.
    pub fn forget(&self) {
        self.estimate_bps.store(0, Ordering::Relaxed);
        self.loss_permille.store(0, Ordering::Relaxed);
        self.steady_loss_permille.store(0, Ordering::Relaxed);
        self.congested.store(false, Ordering::Relaxed);
        self.ceiling_bps.store(0, Ordering::Relaxed);
        self.delay_based_kbps.store(0, Ordering::Relaxed);
        self.loss_based_kbps.store(0, Ordering::Relaxed);
    }
}

/// What the video encoder really sends, over whole seconds: bytes counted
/// per frame, the rate of the last full second.
#[derive(Debug, Default)]
pub struct VideoSendRate {
    bytes: u64,
    since: Option<Instant>,
    last_bps: Option<f64>,
}

impl VideoSendRate {
    pub fn record(&mut self, bytes: usize, now: Instant) {
        let since = *self.since.get_or_insert(now);
        let elapsed = now.saturating_duration_since(since);
        if elapsed >= Duration::from_secs(1) {
            self.last_bps = Some(self.bytes as f64 * 8.0 / elapsed.as_secs_f64());
            self.bytes = 0;
            self.since = Some(now);
        }
        self.bytes += bytes as u64;
    }

    /// Bits per second over the last full second; none before one passed.
    pub fn bps(&self) -> Option<f64> {
        self.last_bps
    }
}

/// What the video encoder is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoRate {
    pub bitrate_kbps: u32,
    /// Encode one frame in this many (1: every frame).
    pub keep_one_in: u32,
    /// The camera's picture made this many times smaller each way (1 or 2).
    pub size_divisor: u32,
}

impl VideoRate {
    /// The size pictures are sent at, from the camera's.
    pub fn picture_size(self, (width, height): (u32, u32)) -> (u32, u32) {
        if self.size_divisor <= 1 || width == 0 || height == 0 {
            (width, height)
        } else {
            talkline_media::frame::scaled_size(width, height, self.size_divisor)
        }
    }
}

/// A picture under this width is not made smaller.
const MIN_SCALED_WIDTH: u32 = 160;

/// Turns the path estimate into the encoder's settings. Pure: the caller
/// brings the estimate and the time, so a test can drive it with a trace.
#[derive(Debug)]
pub struct VideoRateController {
    max_kbps: u32,
    /// The camera's picture size.
    native_size: (u32, u32),
    current: VideoRate,
    last_change: Option<Instant>,
    /// A shared screen: text must stay sharp, so its size is never
    /// reduced; its frame rate drops instead (see `keep_size`).
    keep_size: bool,
}

/// A shared screen under pressure sends one frame in at most this many.
const MAX_SCREEN_FRAME_DIVISOR: u32 = 6;

impl VideoRateController {
    /// `max_kbps`: the most the user's settings allow for video.
    pub fn new(max_kbps: u32) -> Self {
        let max_kbps = max_kbps.max(MIN_VIDEO_KBPS);
        Self {
            max_kbps,
            native_size: (640, 360),
            current: VideoRate {
                bitrate_kbps: max_kbps,
                keep_one_in: 1,
                size_divisor: 1,
            },
            last_change: None,
            keep_size: false,
        }
    }

    /// Content (a shared screen): the picture keeps its size whatever the
    /// path, and its frame rate falls as far as one frame in six instead,
    /// so text stays readable (what browsers do for a "detail" track).
    pub fn keep_size(&mut self) {
        self.keep_size = true;
    }

    /// A new most the settings allow (a simulcast publisher's, which
    /// depends on the camera's size); the next update keeps to it.
    pub fn set_max_kbps(&mut self, max_kbps: u32) {
        self.max_kbps = max_kbps.max(MIN_VIDEO_KBPS);
        self.current.bitrate_kbps = self.current.bitrate_kbps.min(self.max_kbps);
    }

    /// A new camera's size: what the size steps are measured against.
    pub fn set_native_size(&mut self, width: u32, height: u32) {
        self.native_size = (width, height);
    }

    pub fn native_size(&self) -> (u32, u32) {
        self.native_size
    }

    /// The budget the camera's full-size picture needs.
    fn full_size_kbps(&self) -> u32 {
        let (w, h) = self.native_size;
        let megapixels = f64::from(w) * f64::from(h) / 1e6;
        (megapixels * FULL_SIZE_KBPS_PER_MEGAPIXEL)
            .min(f64::from(self.max_kbps) * FULL_SIZE_AT_MOST_OF_MAX) as u32
    }

    fn size_divisor(&self, budget: u32) -> u32 {
        if self.keep_size || self.native_size.0 / 2 < MIN_SCALED_WIDTH {
            return 1;
        }
        let full = self.full_size_kbps();
        match self.current.size_divisor {
            // Down at once; up with the margin.
            1 if budget < full => 2,
            1 => 1,
            _ if f64::from(budget) >= f64::from(full) * STEP_UP_MARGIN => 1,
            _ => 2,
        }
    }

    pub fn current(&self) -> VideoRate {
        self.current
    }

    /// The video budget an estimate and the path's loss rate leave, kbps.
    fn budget_kbps(&self, estimate_bps: u64, loss: f64) -> u32 {
        let kbps = (estimate_bps as f64 * VIDEO_SHARE / 1000.0) as u32;
        let lossy_path_cap = if (LOSS_CAP_FROM..=LOSS_CAP_TO).contains(&loss) {
            let floor = if loss < SMALLER_FROM_LOSS {
                LOSS_CAP_FULL_SIZE_FLOOR_KBPS
            } else {
                LOSS_CAP_FLOOR_KBPS
            };
            ((LOSS_CAP_KBPS_AT_FULL_LOSS / loss) as u32).max(floor)
        } else {
            u32::MAX
        };
        kbps.saturating_sub(AUDIO_KBPS)
            .min(lossy_path_cap)
            .clamp(MIN_VIDEO_KBPS, self.max_kbps)
    }

    /// A shared screen's: one frame in as many as the full size needs of
    /// the budget (down at once; up with the margin).
    fn screen_frame_divisor(&self, budget: u32) -> u32 {
        let full = f64::from(self.full_size_kbps().max(1));
        let budget = f64::from(budget.max(1));
        let needed = ((full / budget).ceil() as u32).clamp(1, MAX_SCREEN_FRAME_DIVISOR);
        let current = self.current.keep_one_in;
        if needed >= current {
            return needed;
        }
        (needed..current)
            .find(|&n| budget >= full / f64::from(n) * STEP_UP_MARGIN)
            .unwrap_or(current)
    }

    fn frame_divisor(&self, budget: u32) -> u32 {
        if self.keep_size {
            return self.screen_frame_divisor(budget);
        }
        let up = |threshold: u32| (f64::from(threshold) * STEP_UP_MARGIN) as u32;
        match self.current.keep_one_in {
            // Stepping down is immediate; stepping up needs the margin.
            1 if budget < THIRD_RATE_BELOW_KBPS => 3,
            1 if budget < HALF_RATE_BELOW_KBPS => 2,
            1 => 1,
            2 if budget < THIRD_RATE_BELOW_KBPS => 3,
            2 if budget >= up(HALF_RATE_BELOW_KBPS) => 1,
            2 => 2,
            _ if budget >= up(HALF_RATE_BELOW_KBPS) => 1,
            _ if budget >= up(THIRD_RATE_BELOW_KBPS) => 2,
            _ => 3,
        }
    }

    /// The settings for this estimate and loss rate (0..1, as the path's
    /// feedback shows it), if they differ from the current ones. No
    /// estimate yet: the encoder keeps what it started with.
    pub fn update(
        &mut self,
        estimate_bps: Option<u64>,
        loss: f64,
        now: Instant,
    ) -> Option<VideoRate> {
        let budget = self.budget_kbps(estimate_bps?, loss);
        let wanted = VideoRate {
            bitrate_kbps: budget,
            keep_one_in: self.frame_divisor(budget),
            size_divisor: self.size_divisor(budget),
        };
        let raising = wanted.bitrate_kbps > self.current.bitrate_kbps
            || wanted.keep_one_in < self.current.keep_one_in
            || wanted.size_divisor < self.current.size_divisor;
        let too_soon = self
            .last_change
            .is_some_and(|at| now.saturating_duration_since(at) < RAISE_EVERY);
        if raising && too_soon {
            return None;
        }
        // Changes under 5% are noise to the encoder's rate control.
        let small = wanted.keep_one_in == self.current.keep_one_in
            && wanted.size_divisor == self.current.size_divisor
            && wanted.bitrate_kbps.abs_diff(self.current.bitrate_kbps)
                < self.current.bitrate_kbps / 20;
        if small {
            return None;
        }
        self.current = wanted;
        self.last_change = Some(now);
        Some(wanted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        controller: &mut VideoRateController,
        trace: &[(u64, u64)],
        start: Instant,
    ) -> Vec<VideoRate> {
        trace
            .iter()
            .map(|&(ms, kbps)| {
                controller.update(Some(kbps * 1000), 0.0, start + Duration::from_millis(ms));
                controller.current()
            })
            .collect()
    }

    fn rate(bitrate_kbps: u32, keep_one_in: u32, size_divisor: u32) -> VideoRate {
        VideoRate {
            bitrate_kbps,
            keep_one_in,
            size_divisor,
        }
    }

    #[test]
    fn a_wide_path_sends_the_configured_rate_at_full_frame_rate() {
        let mut c = VideoRateController::new(1200);
        assert_eq!(
            c.update(None, 0.0, Instant::now()),
            None,
            "no estimate: no change"
        );
        let rates = run(&mut c, &[(0, 5_000), (100, 20_000)], Instant::now());
        for r in rates {
            assert_eq!(r, rate(1200, 1, 1));
        }
    }

    #[test]
    fn a_squeezed_path_lowers_bitrate_then_size_then_frame_rate_and_keeps_room_for_audio() {
        let start = Instant::now();
        let mut c = VideoRateController::new(1200);
        // 512 kbit/s: 435 kbps after overhead, 395 for video: 640x360 as it is.
        let r = run(&mut c, &[(0, 512)], start)[0];
        assert_eq!((r.keep_one_in, r.size_divisor), (1, 1));
        assert!((380..=400).contains(&r.bitrate_kbps), "{r:?}");
        // 256 kbit/s: 320x180, every frame.
        let r = run(&mut c, &[(50, 256)], start)[0];
        assert_eq!((r.keep_one_in, r.size_divisor), (1, 2), "{r:?}");
        assert_eq!(r.picture_size((640, 360)), (320, 180));
        assert!(r.bitrate_kbps < 200, "{r:?}");
        // 160 kbit/s: half the frames, each with twice the bits.
        let r = run(&mut c, &[(75, 160)], start)[0];
        assert_eq!((r.keep_one_in, r.size_divisor), (2, 2), "{r:?}");
        // 128 kbit/s: a third of the frames.
        let r = run(&mut c, &[(100, 128)], start)[0];
        assert_eq!(r, rate(68, 3, 2));
        // 100 kbit/s: never under the floor.
        let r = run(&mut c, &[(150, 100)], start)[0];
        assert_eq!(r, rate(MIN_VIDEO_KBPS, 3, 2));
    }

    #[test]
    fn a_shared_screen_keeps_its_size_and_loses_frames_instead() {
        let start = Instant::now();
        let mut c = VideoRateController::new(1500);
        c.set_native_size(1280, 800);
        c.keep_size();
        // Plenty: every frame.
        let r = run(&mut c, &[(0, 2_500)], start)[0];
        assert_eq!((r.keep_one_in, r.size_divisor), (1, 1), "{r:?}");
        // Squeezed ever harder: the size stays, frames go, never past one in six.
        let squeezed = run(&mut c, &[(50, 600), (100, 300), (150, 120)], start);
        assert!(squeezed.iter().all(|r| r.size_divisor == 1), "{squeezed:?}");
        let divisors: Vec<u32> = squeezed.iter().map(|r| r.keep_one_in).collect();
        assert!(divisors.windows(2).all(|w| w[0] <= w[1]), "{divisors:?}");
        assert_eq!(divisors.last(), Some(&MAX_SCREEN_FRAME_DIVISOR));
        // Back up, as far as the margin allows at once.
        let back = run(&mut c, &[(5_000, 2_500)], start)[0];
        assert_eq!((back.keep_one_in, back.size_divisor), (1, 1), "{back:?}");
    }

    #[test]
    fn the_size_steps_follow_the_camera_and_the_setting() {
        let start = Instant::now();
        // 1280x720 under the CLI's 1200 kbps: full size down to 600.
        let mut c = VideoRateController::new(1200);
        c.set_native_size(1280, 720);
        assert_eq!(run(&mut c, &[(0, 800)], start)[0].size_divisor, 1);
        let r = run(&mut c, &[(50, 700)], start)[0];
        assert_eq!(r.size_divisor, 2);
        assert_eq!(r.picture_size((1280, 720)), (640, 360));
        // A small camera is never made smaller.
        let mut c = VideoRateController::new(1200);
        c.set_native_size(176, 144);
        assert_eq!(run(&mut c, &[(0, 150)], start)[0].size_divisor, 1);
    }

    #[test]
    fn recovery_waits_between_raises_and_needs_a_margin_to_step_up() {
        let start = Instant::now();
        let mut c = VideoRateController::new(1200);
        run(&mut c, &[(0, 300)], start);
        assert_eq!((c.current().keep_one_in, c.current().size_divisor), (1, 2));
        // Just above the threshold: bitrate may rise, the size stays.
        let r = run(&mut c, &[(1_100, 420)], start)[0];
        assert_eq!(r.size_divisor, 2, "{r:?}");
        assert!(r.bitrate_kbps > 300, "{r:?}");
        // A higher estimate 200 ms later is held back...
        let held = run(&mut c, &[(1_300, 2_000)], start)[0];
        assert_eq!(held, r);
        // ...and taken a second after the last change.
        let r = run(&mut c, &[(2_200, 2_000)], start)[0];
        assert_eq!(r, rate(1200, 1, 1));
        // The frame rate steps up with a margin too.
        run(&mut c, &[(2_300, 160)], start);
        assert_eq!(c.current().keep_one_in, 2);
        let r = run(&mut c, &[(3_400, 200)], start)[0];
        assert_eq!(r.keep_one_in, 2, "{r:?}");
    }

    #[test]
    fn base_frames_go_twice_on_a_path_that_loses_whatever_is_sent() {
        let wide = Some(3_000_000);
        assert!(send_base_twice(wide, 0.20, 400));
        assert!(send_base_twice(wide, 0.08, 400));
        assert!(!send_base_twice(wide, 0.05, 800), "little loss");
        assert!(!send_base_twice(None, 0.20, 400), "no estimate yet");
        // 400 kbit/s of video and its copies need about 800 kbit/s.
        assert!(!send_base_twice(Some(700_000), 0.20, 400), "no room");
        assert!(send_base_twice(Some(820_000), 0.20, 400));
    }

    #[test]
    fn the_path_s_ceiling_is_published_until_forgotten() {
        let path = PathEstimate::default();
        assert_eq!(path.ceiling_kbps(), None);
        path.ceiling_bps.store(500_000, Ordering::Relaxed);
        assert_eq!(path.ceiling_kbps(), Some(500));
        path.forget();
        assert_eq!(path.ceiling_kbps(), None, "a new connection knows none");
    }

    #[test]
    fn past_a_ceiling_the_estimate_is_probed_with_copies_and_the_media_stays_under_it() {
        let path = PathEstimate::default();
        let set = |estimate: u64, ceiling: u64, fills_up: bool| {
            path.estimate_bps.store(estimate, Ordering::Relaxed);
            path.ceiling_bps.store(ceiling, Ordering::Relaxed);
            path.congested.store(fills_up, Ordering::Relaxed);
        };
        set(0, 0, false);
        assert_eq!(
            (path.media_estimate_bps(), path.probe_copies(300e3)),
            (None, 0.0)
        );
        // No ceiling: all of it is the media's.
        set(900_000, 0, false);
        assert_eq!(path.media_estimate_bps(), Some(900_000));
        assert_eq!(path.probe_copies(700e3), 0.0);
        // A ceiling whose cut is not judged yet is not trusted.
        set(900_000, 400_000, false);
        assert_eq!(path.media_estimate_bps(), Some(900_000));
        // Climbing past a trusted ceiling: the media keeps under it, and
        // 560 kbit/s more than it may use, with video at 280, is two
        // copies of each packet.
        set(900_000, 400_000, true);
        assert_eq!(path.media_estimate_bps(), Some(340_000));
        assert!((path.probe_copies(280e3) - 2.0).abs() < 1e-6);
        assert!((path.probe_copies(560e3) - 1.0).abs() < 1e-6);
        // ...never more than `MAX_PROBE_COPIES`.
        set(3_000_000, 400_000, true);
        assert_eq!(path.probe_copies(250e3), MAX_PROBE_COPIES as f32);
        // The hold under the ceiling after a probe: nothing is probed.
        set(340_000, 400_000, true);
        assert_eq!(path.media_estimate_bps(), Some(340_000));
        assert_eq!(path.probe_copies(250e3), 0.0);
        // A cut well under the ceiling is followed.
        set(250_000, 400_000, true);
        assert_eq!(path.media_estimate_bps(), Some(250_000));
        assert_eq!(path.probe_copies(150e3), 0.0);
    }

    #[test]
    fn the_video_really_sent_is_measured_over_whole_seconds() {
        let t = Instant::now();
        let mut rate = VideoSendRate::default();
        assert_eq!(rate.bps(), None);
        // 30 frames a second of 1250 bytes: 300 kbit/s.
        for frame in 0..45u64 {
            rate.record(1250, t + Duration::from_millis(frame * 1000 / 30));
        }
        let bps = rate.bps().expect("a second passed");
        assert!((bps - 300_000.0).abs() < 3_000.0, "{bps}");
    }

    #[test]
    fn a_lossy_path_gets_fewer_packets_a_frame() {
        let start = Instant::now();
        let mut c = VideoRateController::new(1200);
        let wide = Some(20_000_000);
        let at = |ms: u64| start + Duration::from_millis(ms);
        assert_eq!(
            c.update(wide, 0.015, at(0)),
            None,
            "a little loss: full rate"
        );
        let r = c.update(wide, 0.05, at(100)).expect("lowered at once");
        assert_eq!(r.bitrate_kbps, 800);
        let r = c.update(wide, 0.10, at(200)).expect("lowered at once");
        assert_eq!(r, rate(400, 1, 1));
        assert_eq!(c.update(wide, 0.13, at(250)), None, "still full size");
        let r = c.update(wide, 0.20, at(300)).expect("lowered at once");
        assert_eq!(r, rate(200, 1, 2), "half the size, never the frame rate");
        let r = c.update(wide, 0.30, at(400));
        assert_eq!(r, None, "loss alone never costs frame rate");
        // The path clears: back up, a second after the last change.
        assert_eq!(c.update(wide, 0.0, at(700)), None);
        let r = c.update(wide, 0.0, at(1_300)).expect("raised");
        assert_eq!(r.bitrate_kbps, 1200);
        // A squeezed path and loss: the lower of the two.
        let r = c.update(Some(512_000), 0.05, at(2_400)).expect("lowered");
        assert!((380..=400).contains(&r.bitrate_kbps), "{r:?}");
        // A policer's 40% is the estimate's business: once it lets more
        // through, nothing else holds the rate down.
        let r = c.update(wide, 0.41, at(3_500)).expect("raised");
        assert_eq!(r.bitrate_kbps, 1200);
    }

    #[test]
    fn a_hovering_estimate_does_not_flip_the_size_or_frame_rate() {
        let start = Instant::now();
        for (low, high) in [(380, 420), (170, 200)] {
            let mut c = VideoRateController::new(1200);
            let trace: Vec<(u64, u64)> = (0..40)
                .map(|i| (i * 1_100, if i % 2 == 0 { low } else { high }))
                .collect();
            let rates = run(&mut c, &trace, start);
            let flips = rates
                .windows(2)
                .filter(|w| {
                    (w[0].keep_one_in, w[0].size_divisor) != (w[1].keep_one_in, w[1].size_divisor)
                })
                .count();
            assert!(flips <= 2, "{low}/{high}: {flips} flips: {rates:?}");
        }
    }
}
