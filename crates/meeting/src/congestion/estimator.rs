//! The estimator webrtc-rs's congestion control interceptor drives.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use rtc::interceptor::{BandwidthEstimator, EstimatorStats, Gcc, PacketReport};

use super::coverage::FeedbackCoverage;
use super::loss::{Feedback, LossBasedRate};
use super::resend::{MissingAtServer, Reported, ServerReceipts, missing_at_server};
use super::{PACING_FACTOR, PathEstimate};

/// Loss is published over this many reported packets (about three seconds
/// of video at 1 Mbps). Over 100, the few packets a path that reorders
/// reports lost now and then (one that arrives behind a later one, after
/// the feedback that covered it) read as 4% loss on a clean path, and the
/// lossy-path cap held video at 950 kbps.
const LOSS_WINDOW: u32 = 300;

/// GCC's delay half, our loss half (`LossBasedRate`), the lower of the two
/// published for the encoder, and `PACING_FACTOR` times it asked of the
/// pacer.
pub struct PathEstimator {
    gcc: Gcc,
    loss: LossBasedRate,
    min_bps: f64,
    max_bps: f64,
    target_bps: f64,
    published: Arc<PathEstimate>,
    coverage: Arc<FeedbackCoverage>,
    missing: Arc<MissingAtServer>,
    receipts: ServerReceipts,
    /// The reports the estimator reads, and whether feedback spoke of each,
    /// kept to reuse the allocations.
    reports: Vec<PacketReport>,
    covered: Vec<bool>,
    window_reports: u32,
    window_lost: u32,
    /// The loss of the last whole window, thousandths.
    last_window_permille: u32,
}

impl PathEstimator {
    pub fn new(
        start_bps: f64,
        min_bps: f64,
        max_bps: f64,
        published: Arc<PathEstimate>,
        coverage: Arc<FeedbackCoverage>,
        missing: Arc<MissingAtServer>,
    ) -> Self {
        published.forget();
        let start_bps = start_bps.clamp(min_bps, max_bps);
        Self {
            gcc: Gcc::new(start_bps, min_bps, max_bps),
            loss: LossBasedRate::new(start_bps, min_bps, max_bps),
            min_bps,
            max_bps,
            target_bps: start_bps,
            published,
            coverage,
            missing,
            receipts: ServerReceipts::default(),
            reports: Vec::new(),
            covered: Vec::new(),
            window_reports: 0,
            window_lost: 0,
            last_window_permille: 0,
        }
    }

    /// The published loss starts over from `level`.
    fn restart_loss_window(&mut self, level: f64) {
        self.window_lost = 0;
        self.window_reports = 0;
        let permille = (level * 1000.0) as u32;
        self.last_window_permille = permille;
        self.published
            .loss_permille
            .store(permille, Ordering::Relaxed);
        self.published
            .steady_loss_permille
            .store(permille, Ordering::Relaxed);
    }

    fn publish_loss(&mut self, lost: u32, total: u32) {
        self.window_reports += total;
        self.window_lost += lost;
        if self.window_reports >= LOSS_WINDOW {
            let permille = self.window_lost * 1000 / self.window_reports;
            self.published
                .loss_permille
                .store(permille, Ordering::Relaxed);
            self.published
                .steady_loss_permille
                .store(permille.min(self.last_window_permille), Ordering::Relaxed);
            self.last_window_permille = permille;
            self.window_reports = 0;
            self.window_lost = 0;
        }
    }
}

impl BandwidthEstimator for PathEstimator {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        // Only packets that carried a transport-wide sequence number can be
        // in TWCC feedback. webrtc-rs records every stream it sends (RFC
        // 8888 would cover them all) and reports the audio packets, which
        // Janus does not number, as lost: 70% "loss" on a perfect path.
        self.reports.clear();
        self.reports
            .extend(reports.iter().filter(|r| r.is_twcc).cloned());
        if self.reports.is_empty() {
            return;
        }
        self.gcc.on_reports(now, &self.reports);
        // A packet no feedback spoke of is not known lost (see `coverage`),
        // nor is a copy Janus dropped because one had arrived (see `resend`).
        // Loss is measured on first sends only, for the estimate as for
        // what the encoder and Opus's FEC follow: a copy of a packet that
        // arrived late is dropped unreported too (on a clean path those
        // held the published loss at 8-12%, and ended climbs after a cap
        // was lifted), while a policer drops first sends and copies alike.
        let mut total = 0;
        let mut lost = 0;
        let (mut first_total, mut first_lost) = (0, 0);
        self.covered.clear();
        for r in &self.reports {
            let covered = self.coverage.take(r.twcc_sequence_number);
            self.covered.push(covered);
            let reported = self.receipts.record(r);
            if (r.arrived || covered) && reported != Reported::Needless {
                total += 1;
                lost += usize::from(!r.arrived);
                if reported == Reported::First {
                    first_total += 1;
                    first_lost += u32::from(!r.arrived);
                }
            }
        }
        if lost > 0 {
            self.missing.add(missing_at_server(
                now,
                &self.reports,
                &self.covered,
                &self.receipts,
            ));
        }
        if first_total == 0 {
            return;
        }
        let departures = self.reports.iter().map(|r| r.departure);
        let feedback = Feedback {
            total: first_total as usize,
            lost: first_lost as usize,
            all_total: total,
            all_lost: lost,
            bytes: self.reports.iter().map(|r| r.size).sum(),
            sent_from: departures.clone().min().unwrap_or(now),
            sent_to: departures.max().unwrap_or(now),
        };
        let was_cleared = self.loss.cleared();
        let loss_based = self.loss.update(now, &feedback);
        self.published.inherent_permille.store(
            (self.loss.inherent_loss() * 1000.0) as u32,
            Ordering::Relaxed,
        );
        self.published
            .congested
            .store(self.loss.ceiling_trusted(), Ordering::Relaxed);
        self.published.ceiling_bps.store(
            self.loss.ceiling().map_or(0, |bps| bps as u64),
            Ordering::Relaxed,
        );
        let congestion = self.loss.take_congestion_judged();
        if self.loss.cleared() && !was_cleared {
            // A lifted cap: what its policer dropped is not the path's loss,
            // and must not hold video down while the window rolls over.
            self.restart_loss_window(0.0);
        } else if congestion {
            // Loss judged congestion is dealt with by the estimate. Left in
            // the window, a climb's burst past a 512 kbit/s cap read as a
            // lossy path's 15-30% and kept video at 200 kbit/s, half size,
            // for the 12 s the window took to fill at that rate. What is
            // left is the path's own.
            self.restart_loss_window(self.loss.inherent_loss());
        }
        let kbps = |bps: f64| (bps / 1000.0) as u32;
        self.published
            .delay_based_kbps
            .store(kbps(self.gcc.delay_based_bitrate()), Ordering::Relaxed);
        self.published
            .loss_based_kbps
            .store(kbps(loss_based), Ordering::Relaxed);
        let target_bps = self
            .gcc
            .delay_based_bitrate()
            .min(loss_based)
            .clamp(self.min_bps, self.max_bps);
        if (target_bps - self.target_bps).abs() > self.target_bps * 0.1 {
            log::debug!(
                "path estimate {} kbps: delay-based {}, loss-based {}, {lost} of {total} lost \
                 ({first_lost} of {first_total} first sends)",
                kbps(target_bps),
                kbps(self.gcc.delay_based_bitrate()),
                kbps(loss_based)
            );
        }
        self.target_bps = target_bps;
        self.published
            .estimate_bps
            .store(self.target_bps as u64, Ordering::Relaxed);
        self.publish_loss(first_lost, first_total);
    }

    fn target_bitrate(&self) -> f64 {
        self.target_bps * PACING_FACTOR
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.gcc.handle_timeout(now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.gcc.poll_timeout()
    }

    fn stats(&self) -> EstimatorStats {
        self.gcc.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtcp::transport_feedbacks::cc_feedback_report::Ecn;
    use std::time::Duration;

    /// Video packets every 5 ms, each `lost` when the closure says so,
    /// arriving 20 ms after they left; with the audio webrtc-rs reports lost.
    fn batch(start: Instant, first: u16, lost: impl Fn(u16) -> bool) -> Vec<PacketReport> {
        batch_every(start, first, 20, 5, lost)
    }

    /// `count` video packets of 1200 bytes, one every `gap_ms`, and audio.
    fn batch_every(
        start: Instant,
        first: u16,
        count: u16,
        gap_ms: u64,
        lost: impl Fn(u16) -> bool,
    ) -> Vec<PacketReport> {
        let video = (first..first + count).map(|i| PacketReport {
            ssrc: 1,
            id: u64::from(i),
            rtp_sequence_number: i,
            is_twcc: true,
            twcc_sequence_number: i,
            size: 1200,
            arrived: !lost(i),
            departure: start + Duration::from_millis(gap_ms * u64::from(i)),
            arrival: (!lost(i)).then(|| Duration::from_millis(20 + gap_ms * u64::from(i))),
            ecn: Ecn::NotEct,
        });
        let audio = (first..first + 5).map(|i| PacketReport {
            ssrc: 2,
            id: 100_000 + u64::from(i),
            rtp_sequence_number: i,
            is_twcc: false,
            twcc_sequence_number: 0,
            size: 100,
            arrived: false,
            departure: start + Duration::from_millis(20 * u64::from(i)),
            arrival: None,
            ecn: Ecn::NotEct,
        });
        video.chain(audio).collect()
    }

    fn estimator() -> (PathEstimator, Arc<PathEstimate>, Arc<FeedbackCoverage>) {
        let published = Arc::new(PathEstimate::default());
        let coverage = Arc::new(FeedbackCoverage::default());
        let estimator = PathEstimator::new(
            1_000_000.0,
            100_000.0,
            3_000_000.0,
            Arc::clone(&published),
            Arc::clone(&coverage),
            Arc::default(),
        );
        (estimator, published, coverage)
    }

    #[test]
    fn publishes_the_estimate_and_the_loss_of_numbered_packets_only() {
        let (mut estimator, published, coverage) = estimator();
        assert_eq!(published.estimate_bps(), None, "nothing before feedback");
        let start = Instant::now();
        for n in 0..16u16 {
            let at = start + Duration::from_millis(100 * u64::from(n) + 120);
            coverage.mark(n * 20, 20);
            estimator.on_reports(at, &batch(start, n * 20, |i| i % 10 == 0));
        }
        let estimate = published.estimate_bps().expect("an estimate");
        assert!(estimate >= 100_000, "{estimate}");
        assert!(
            (published.loss() - 0.1).abs() < 1e-9,
            "{}",
            published.loss()
        );
        assert_eq!(estimator.target_bitrate(), estimate as f64 * PACING_FACTOR);
    }

    #[test]
    fn packets_whose_feedback_was_lost_are_not_counted_lost() {
        let (mut estimator, published, coverage) = estimator();
        let start = Instant::now();
        for n in 0..24u16 {
            let at = start + Duration::from_millis(100 * u64::from(n) + 120);
            // Every third feedback packet lost: its packets come out of
            // webrtc-rs as lost, but nothing said they were.
            let feedback_lost = n % 3 == 0;
            if !feedback_lost {
                coverage.mark(n * 20, 20);
            }
            estimator.on_reports(at, &batch(start, n * 20, |i| feedback_lost || i % 20 == 0));
        }
        assert!(
            (published.loss() - 0.05).abs() < 1e-9,
            "{}",
            published.loss()
        );
        let (_, loss_based) = published.halves_kbps();
        assert!(loss_based >= 1000, "cut to {loss_based} kbps");
    }

    /// One window's burst of loss on a clean path is published for FEC to
    /// follow, but is not a lossy path's for the video to be held under;
    /// loss that stays is, from its second window.
    #[test]
    fn a_burst_of_loss_is_not_taken_for_a_lossy_path_and_loss_that_stays_is() {
        let (mut estimator, published, coverage) = estimator();
        let start = Instant::now();
        let mut seq = 0u16;
        // 15 batches of 20 packets: one published window each.
        let mut window = |lost_every: Option<u16>| {
            for _ in 0..15 {
                let at = start + Duration::from_millis(5 * u64::from(seq) + 120);
                coverage.mark(seq, 20);
                let reports = batch(start, seq, |i| lost_every.is_some_and(|n| i % n == 0));
                estimator.on_reports(at, &reports);
                seq += 20;
            }
            (published.loss(), published.lossy_path_loss())
        };
        assert_eq!(window(None), (0.0, 0.0));
        let (loss, lossy) = window(Some(20));
        assert!((loss - 0.05).abs() < 1e-9, "{loss}");
        assert_eq!(lossy, 0.0, "one window's burst held video down");
        assert_eq!(window(None), (0.0, 0.0));
        window(Some(20));
        let (loss, lossy) = window(Some(20));
        assert!((loss - 0.05).abs() < 1e-9, "{loss}");
        assert!((lossy - 0.05).abs() < 1e-9, "loss that stays: {lossy}");
    }

    /// A policer drops two packets in three for two seconds, then the cap
    /// is lifted. At 30 packets a second the published window (300) still
    /// holds the policer's drops when the climb finds the path cleared:
    /// they must not be published as the path's loss, which would cap
    /// video on a clean path.
    #[test]
    fn a_lifted_cap_s_drops_are_not_published_as_the_path_s_loss() {
        let (mut estimator, published, coverage) = estimator();
        let start = Instant::now();
        let mut seq = 0u16;
        let mut cleared_at = None;
        for n in 0..160u64 {
            let capped = n < 20;
            let at = start + Duration::from_millis(100 * n + 120);
            coverage.mark(seq, 3);
            let reports = batch_every(start, seq, 3, 33, |i| capped && i % 3 != 0);
            estimator.on_reports(at, &reports);
            seq += 3;
            if cleared_at.is_none() && estimator.loss.cleared() {
                cleared_at = Some(n);
            }
            if !capped {
                assert_eq!(
                    published.loss(),
                    0.0,
                    "batch {n}: the policer's drops published"
                );
            }
        }
        let cleared_at = cleared_at.expect("the lifted cap was found");
        // Found before a window of clean packets alone could have filled.
        assert!(cleared_at < 20 + 100, "cleared at batch {cleared_at}");
    }
}
