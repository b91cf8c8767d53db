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

/// Copies of the report, this far apart: one of three arrives at 20% loss
/// 99% of the time.
const COPIES: u8 = 3;
const SPACING: Duration = Duration::from_millis(100);

/// Seconds from 1900 (NTP's era) to 1970.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// When to send the early reports of one received stream.
#[derive(Debug, Default)]
pub struct EarlyEcho {
    sent: u8,
    last: Option<Instant>,
    /// The server's own sender report came: reports echo it now.
    answered: bool,
}

impl EarlyEcho {
    /// Whether to send a report now (a packet of the stream has come).
    pub fn due(&mut self, now: Instant) -> bool {
        let due =
            !self.answered && self.sent < COPIES && self.last.is_none_or(|t| now >= t + SPACING);
        if due {
            self.sent += 1;
            self.last = Some(now);
        }
        due
    }

    /// When the next report is due, if one is.
    pub fn next_due(&self) -> Option<Instant> {
        if self.answered || self.sent >= COPIES {
            return None;
        }
        self.last.map(|t| t + SPACING)
    }

    /// The server's first sender report came.
    pub fn sender_reported(&mut self) {
        self.answered = true;
    }

    /// When the first report went out.
    pub fn first_sent(&self) -> Option<Instant> {
        self.last
            .map(|t| t - SPACING * u32::from(self.sent.saturating_sub(1)))
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
        assert_eq!(echo.next_due(), None);
        assert!(echo.due(t0));
        assert!(!echo.due(t0 + Duration::from_millis(99)));
        assert_eq!(echo.next_due(), Some(t0 + SPACING));
        assert!(echo.due(t0 + SPACING));
        assert!(echo.due(t0 + SPACING * 2));
        assert!(!echo.due(t0 + SPACING * 10), "more than three");
        assert_eq!(echo.next_due(), None);
        assert_eq!(echo.first_sent(), Some(t0));

        let mut answered = EarlyEcho::default();
        assert!(answered.due(t0));
        answered.sender_reported();
        assert!(!answered.due(t0 + SPACING));
        assert_eq!(answered.next_due(), None);
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
