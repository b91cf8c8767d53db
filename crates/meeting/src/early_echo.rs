//! A receiver report sent at the start of a subscription, so that Janus
//! keeps packets to resend from the first second on.
//!
//! Janus keeps nothing for a subscriber's NACKs until it has a round trip
//! for it, and it computes one from the first receiver report whose "last
//! sender report" field is not zero. Its first sender report comes a second
//! after the connection is up, so every packet lost in that second, and
//! every keyframe sent in it, could not be repaired: at 5% loss on each hop
//! a subscription's first seconds froze for 1-1.5 s in half the calls.
//!
//! So the subscriber echoes, at once, a sender report that Janus never
//! sent: one stamped with our own clock (delay since it: none). Janus
//! reads the time since that stamp as the round trip, which is the one-way
//! delay when the clocks agree, and keeps packets for that plus 100 ms, at
//! least its `min_nack_queue` and at most a second (any clock difference
//! ends at one of those bounds). Janus uses the round trip for that queue
//! and its statistics only. The report is sent a few times in case one is
//! lost, and stops once the server's own sender report came: from then on
//! webrtc-rs's reports echo it and correct the round trip.
//!
//! Pure: the caller passes the time and sends what it is given.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::reception_report::ReceptionReport;

use crate::peer::RECEIVER_REPORT_INTERVAL;

/// Copies of the report, this far apart: one of three arrives at 20% loss
/// 99% of the time.
const COPIES: u8 = 3;
const SPACING: Duration = Duration::from_millis(100);

/// Seconds from 1900 (NTP's era) to 1970.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// A receiver report's way to the server, allowed for on top of the time
/// until it is sent.
const REPORT_ON_ITS_WAY: Duration = Duration::from_millis(20);

/// When to send the early reports of one received stream, and from when
/// the server keeps packets to resend (what the jitter buffer's
/// `resends_from` wants to know).
#[derive(Debug, Default)]
pub struct EarlyEcho {
    sent: u8,
    last: Option<Instant>,
    /// The server's own sender report came: reports echo it now.
    answered: bool,
}

impl EarlyEcho {
    /// A packet of the stream came at `now`. `Some` when a report is to go
    /// now: the server keeps packets from the time it gives.
    pub fn packet_arrived(&mut self, now: Instant) -> Option<Instant> {
        let due =
            !self.answered && self.sent < COPIES && self.last.is_none_or(|t| now >= t + SPACING);
        if !due {
            return None;
        }
        self.sent += 1;
        self.last = Some(now);
        Some(now + REPORT_ON_ITS_WAY)
    }

    /// The server's sender report came at `now`. The first time (`Some`),
    /// early reports stop: webrtc-rs's next receiver report echoes it, and
    /// the server keeps packets from the time given, if no early report
    /// told it sooner.
    pub fn sender_reported(&mut self, now: Instant) -> Option<Instant> {
        if std::mem::replace(&mut self.answered, true) {
            return None;
        }
        Some(now + RECEIVER_REPORT_INTERVAL + REPORT_ON_ITS_WAY)
    }
}

/// The middle 32 bits of an NTP timestamp of `at` (the "last sender
/// report" field's unit).
pub fn ntp_middle(at: SystemTime) -> u32 {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since.as_secs() + NTP_UNIX_OFFSET;
    let fraction = (u64::from(since.subsec_nanos()) << 32) / 1_000_000_000;
    (((seconds & 0xffff) << 16) | (fraction >> 16)) as u32
}

/// The report about stream `media_ssrc`, whose highest sequence number
/// so far is `highest` (extended). Sent "from" the media's own SSRC, as
/// our keyframe requests are (Janus 1.1 files feedback by its sender SSRC
/// first, and 0 is the audio's).
pub fn report(media_ssrc: u32, highest: u32, now: SystemTime) -> ReceiverReport {
    ReceiverReport {
        ssrc: media_ssrc,
        reports: vec![ReceptionReport {
            ssrc: media_ssrc,
            fraction_lost: 0,
            total_lost: 0,
            last_sequence_number: highest,
            jitter: 0,
            last_sender_report: ntp_middle(now),
            delay: 0,
        }],
        profile_extensions: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_copies_a_tenth_of_a_second_apart_until_the_server_reports() {
        let t0 = Instant::now();
        let mut echo = EarlyEcho::default();
        assert_eq!(echo.packet_arrived(t0), Some(t0 + REPORT_ON_ITS_WAY));
        assert_eq!(echo.packet_arrived(t0 + Duration::from_millis(99)), None);
        assert!(echo.packet_arrived(t0 + SPACING).is_some());
        assert!(echo.packet_arrived(t0 + SPACING * 2).is_some());
        assert_eq!(
            echo.packet_arrived(t0 + SPACING * 10),
            None,
            "more than three"
        );

        let mut answered = EarlyEcho::default();
        assert!(answered.packet_arrived(t0).is_some());
        let later = t0 + Duration::from_secs(1);
        assert_eq!(
            answered.sender_reported(later),
            Some(later + RECEIVER_REPORT_INTERVAL + REPORT_ON_ITS_WAY)
        );
        assert_eq!(
            answered.sender_reported(later + SPACING),
            None,
            "the first only"
        );
        assert_eq!(answered.packet_arrived(later + SPACING), None);
    }

    #[test]
    fn the_stamp_is_ntp_s_middle_bits() {
        // 1970 + 1.5 s: NTP seconds 2208988801 (low 16 bits 0x7e81), half
        // a second is 0x8000 in the top 16 bits of the fraction.
        let at = UNIX_EPOCH + Duration::from_millis(1_500);
        assert_eq!(ntp_middle(at), 0x7e81_8000);
        // As Janus reads it back: the time since, in 1/65536 s.
        let later = UNIX_EPOCH + Duration::from_millis(1_520);
        let elapsed = ntp_middle(later).wrapping_sub(ntp_middle(at));
        assert_eq!((u64::from(elapsed) * 1000) >> 16, 19, "about 20 ms");
        let r = report(42, 70_000, at);
        assert_eq!(r.reports[0].last_sender_report, 0x7e81_8000);
        assert_eq!((r.ssrc, r.reports[0].ssrc, r.reports[0].delay), (42, 42, 0));
    }
}
