//! Video packets the server never got, sent again without its asking.
//!
//! Janus asks a publisher for a missing packet twice (12 ms after the gap,
//! then 155 ms later) and then gives up (janus-gateway's `ice.c`). On a
//! path losing 10% each way a request or its answer is lost about one time
//! in five, so about one lost packet in 25 never reached Janus; on a
//! base-layer frame that cost every receiver a keyframe.
//!
//! The TWCC feedback that drives the estimate says which packets Janus
//! missed. A video packet it reports missing, with no later copy sent before
//! the feedback and no request (from Janus or this) made after the reported
//! copy left, is handed to webrtc-rs's NACK responder as if Janus had asked
//! for it. The feedback on
//! that copy decides the next step the same way, until one copy arrives,
//! this has asked twice, or the packet is too old for any receiver to wait
//! for it. A copy of a packet that did arrive after all costs bytes only:
//! Janus's SRTP replay check drops it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtc::interceptor::{Packet, PacketReport, TaggedPacket};
use rtc::rtcp::transport_feedbacks::transport_layer_nack::{
    TransportLayerNack, nack_pairs_from_sequence_numbers,
};

/// A packet older than this is not sent again: receivers wait at most
/// about this long for a frame's missing packet (`jitter::video`).
const RESEND_WITHIN: Duration = Duration::from_millis(400);
/// Requests from Janus (or this) are remembered this long: a request made
/// after the reported copy left means a newer copy is on its way, whose
/// feedback has not come back yet. Older ones cannot matter (`RESEND_WITHIN`).
const RECENTLY_ASKED: Duration = RESEND_WITHIN;
/// Times this asks for one packet at most. Past that a copy is likely
/// being dropped by Janus's replay check (its first copy arrived unreported,
/// or it has fallen out of the replay window): asking again would resend
/// it every feedback interval for as long as the history holds it.
const MAX_OWN_REQUESTS: usize = 2;
/// How long this remembers what it asked for (longer than `RESEND_WITHIN`
/// plus a feedback interval).
const OWN_REQUESTS_KEPT: Duration = Duration::from_millis(1_000);
/// Packets waiting to be asked for at most. Past it the path is dropping
/// far more than retransmissions can repair, and the estimate's business.
const MAX_PENDING: usize = 256;

/// What feedback has said of each of our video packets, by SSRC and RTP
/// sequence number: whether it was reported before (so this report is of a
/// copy), and whether any copy arrived.
///
/// A copy that reaches Janus after another copy did is dropped by its SRTP
/// replay check before its feedback is written, and reported missing. That
/// is no loss of the path; counted as one (with copies sent over and over)
/// it held the measured loss at 8% on a clean path. (The estimate now counts
/// first sends only; this still keeps such copies from being asked for
/// again.)
#[derive(Default)]
pub struct ServerReceipts {
    /// Two bits per sequence number of each stream (a few video streams).
    streams: Vec<StreamReceipts>,
}

struct StreamReceipts {
    ssrc: u32,
    seen: SeqBits,
    received: SeqBits,
    /// The newest sequence number reported.
    newest: u16,
}

type SeqBits = Box<[u64]>;

const WORDS: usize = (u16::MAX as usize + 1) / 64;

fn position(seq: u16) -> (usize, u64) {
    (usize::from(seq) / 64, 1 << (seq % 64))
}

/// What one report was of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reported {
    /// The packet's first report.
    First,
    /// A later copy's.
    Copy,
    /// A copy's, reported missing after an earlier copy arrived.
    Needless,
}

impl ServerReceipts {
    /// Takes in one report, in send order. Numbers half the sequence space
    /// away are forgotten, so they are clean when the stream comes round;
    /// after a gap in the feedback (an outage, a burst of lost feedback),
    /// those of every number skipped too.
    pub fn record(&mut self, r: &PacketReport) -> Reported {
        let seq = r.rtp_sequence_number;
        let at = match self.streams.iter().position(|s| s.ssrc == r.ssrc) {
            Some(at) => at,
            None => {
                let bits = || vec![0; WORDS].into_boxed_slice();
                self.streams.push(StreamReceipts {
                    ssrc: r.ssrc,
                    seen: bits(),
                    received: bits(),
                    newest: seq.wrapping_sub(1),
                });
                self.streams.len() - 1
            }
        };
        let StreamReceipts {
            seen,
            received,
            newest,
            ..
        } = &mut self.streams[at];
        // Forward by under half the space: newer. (A copy's report comes
        // with an older number, and clears only its own far side.)
        let ahead = seq.wrapping_sub(*newest);
        let first_cleared = if ahead != 0 && ahead < 1 << 15 {
            let from = newest.wrapping_add(1);
            *newest = seq;
            from
        } else {
            seq
        };
        let mut n = first_cleared;
        loop {
            let (word, bit) = position(n.wrapping_add(1 << 15));
            seen[word] &= !bit;
            received[word] &= !bit;
            if n == seq {
                break;
            }
            n = n.wrapping_add(1);
        }
        let (word, bit) = position(seq);
        let reported = if seen[word] & bit == 0 {
            Reported::First
        } else if !r.arrived && received[word] & bit != 0 {
            Reported::Needless
        } else {
            Reported::Copy
        };
        seen[word] |= bit;
        if r.arrived {
            received[word] |= bit;
        }
        reported
    }

    pub fn received(&self, ssrc: u32, seq: u16) -> bool {
        let (word, bit) = position(seq);
        self.streams
            .iter()
            .find(|s| s.ssrc == ssrc)
            .is_some_and(|s| s.received[word] & bit != 0)
    }
}

/// Which packets reported in one batch of feedback to send again: those
/// reported missing in feedback that spoke of them (`covered`, one entry
/// per report), of which no copy has arrived (`receipts`, already holding
/// this batch), young enough to matter; each once, at its last report.
/// Reports are in send order, so a later report of the same packet is a
/// copy sent after it.
pub fn missing_at_server<'a>(
    now: Instant,
    reports: &'a [PacketReport],
    covered: &'a [bool],
    receipts: &'a ServerReceipts,
) -> impl Iterator<Item = Missing> + 'a {
    reports
        .iter()
        .zip(covered)
        .enumerate()
        .filter(move |&(i, (r, &covered))| {
            !r.arrived
                && covered
                && !receipts.received(r.ssrc, r.rtp_sequence_number)
                && now.saturating_duration_since(r.departure) <= RESEND_WITHIN
                && !reports[i + 1..]
                    .iter()
                    .any(|l| l.ssrc == r.ssrc && l.rtp_sequence_number == r.rtp_sequence_number)
        })
        .map(|(_, (r, _))| Missing {
            ssrc: r.ssrc,
            seq: r.rtp_sequence_number,
            sent: r.departure,
        })
}

/// A packet reported missing, and when the copy so reported left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missing {
    pub ssrc: u32,
    pub seq: u16,
    pub sent: Instant,
}

/// Packets the estimator found missing, waiting for the next inbound RTCP
/// packet to carry a request for them. Both sides run on webrtc-rs's task,
/// one after the other, a few times a second: the lock is never contended.
#[derive(Default)]
pub struct MissingAtServer {
    pending: Mutex<Vec<Missing>>,
}

impl MissingAtServer {
    pub fn add(&self, missing: impl Iterator<Item = Missing>) {
        if let Ok(mut pending) = self.pending.lock() {
            let room = MAX_PENDING.saturating_sub(pending.len());
            pending.extend(missing.take(room));
        }
    }

    fn take_into(&self, into: &mut Vec<Missing>) {
        if let Ok(mut pending) = self.pending.lock() {
            into.append(&mut pending);
        }
    }
}

/// Requests for packets, each with when it was made, kept for a while.
struct Requests {
    kept: Duration,
    asked: VecDeque<(Instant, u32, u16)>,
}

impl Requests {
    fn new(kept: Duration) -> Self {
        Self {
            kept,
            asked: VecDeque::new(),
        }
    }

    fn note(&mut self, now: Instant, ssrc: u32, seq: u16) {
        self.asked.push_back((now, ssrc, seq));
    }

    fn forget_before(&mut self, now: Instant) {
        while self
            .asked
            .front()
            .is_some_and(|&(at, _, _)| now.saturating_duration_since(at) > self.kept)
        {
            self.asked.pop_front();
        }
    }

    /// Whether a request came after `sent`: the copy it brings left later.
    /// (The request that brought the copy sent at `sent` came before it.)
    fn asked_since(&self, ssrc: u32, seq: u16, sent: Instant) -> bool {
        self.asked
            .iter()
            .any(|&(at, s, q)| s == ssrc && q == seq && at > sent)
    }

    fn count(&self, ssrc: u32, seq: u16) -> usize {
        self.asked
            .iter()
            .filter(|&&(_, s, q)| s == ssrc && q == seq)
            .count()
    }
}

/// The inbound filter, above the congestion controller and below the NACK
/// budget: notes the NACKs Janus sends, and adds to each inbound RTCP
/// packet a NACK per stream for what the estimator found missing and
/// nobody asked for lately. The budget then treats them as Janus's own.
pub fn resend_missing(missing: Arc<MissingAtServer>) -> impl FnMut(&mut TaggedPacket) -> bool {
    // By Janus or by this, lately; and by this, at all.
    let mut recent = Requests::new(RECENTLY_ASKED);
    let mut own = Requests::new(OWN_REQUESTS_KEPT);
    let mut wanted: Vec<Missing> = Vec::new();
    move |msg| {
        let now = msg.now;
        let Packet::Rtcp(packets) = &mut msg.message.packet else {
            return true;
        };
        recent.forget_before(now);
        own.forget_before(now);
        for p in packets.iter() {
            if let Some(nack) = p.as_any().downcast_ref::<TransportLayerNack>() {
                for pair in &nack.nacks {
                    for seq in pair.packet_list() {
                        recent.note(now, nack.media_ssrc, seq);
                    }
                }
            }
        }
        wanted.clear();
        missing.take_into(&mut wanted);
        wanted.retain(|m| {
            !recent.asked_since(m.ssrc, m.seq, m.sent)
                && own.count(m.ssrc, m.seq) < MAX_OWN_REQUESTS
        });
        // One NACK per stream; sequence numbers in send order within it.
        while let Some(&Missing { ssrc, .. }) = wanted.first() {
            let seqs: Vec<u16> = wanted
                .iter()
                .filter(|m| m.ssrc == ssrc)
                .map(|m| m.seq)
                .collect();
            wanted.retain(|m| m.ssrc != ssrc);
            for &seq in &seqs {
                recent.note(now, ssrc, seq);
                own.note(now, ssrc, seq);
            }
            log::trace!("asking ourselves to resend {} packets", seqs.len());
            packets.push(Box::new(TransportLayerNack {
                sender_ssrc: 0,
                media_ssrc: ssrc,
                nacks: nack_pairs_from_sequence_numbers(&seqs),
            }));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::interceptor::AttributedPacket;
    use rtc::rtcp::transport_feedbacks::cc_feedback_report::Ecn;
    use rtc::rtcp::transport_feedbacks::transport_layer_nack::NackPair;
    use rtc::shared::TransportContext;

    fn report(at: Instant, seq: u16, arrived: bool) -> PacketReport {
        PacketReport {
            ssrc: 7,
            id: 0,
            rtp_sequence_number: seq,
            is_twcc: true,
            twcc_sequence_number: seq,
            size: 1200,
            arrived,
            departure: at,
            arrival: arrived.then(|| Duration::from_millis(10)),
            ecn: Ecn::NotEct,
        }
    }

    fn requested(msg: &TaggedPacket) -> Vec<(u32, u16)> {
        let Packet::Rtcp(packets) = &msg.message.packet else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for p in packets {
            if let Some(nack) = p.as_any().downcast_ref::<TransportLayerNack>() {
                for pair in &nack.nacks {
                    for seq in pair.packet_list() {
                        out.push((nack.media_ssrc, seq));
                    }
                }
            }
        }
        out
    }

    fn rtcp(now: Instant, nack: Option<(u32, u16)>) -> TaggedPacket {
        let packets: Vec<Box<dyn rtc::rtcp::Packet>> = nack
            .map(|(ssrc, seq)| {
                Box::new(TransportLayerNack {
                    sender_ssrc: 1,
                    media_ssrc: ssrc,
                    nacks: vec![NackPair::new(seq)],
                }) as Box<dyn rtc::rtcp::Packet>
            })
            .into_iter()
            .collect();
        TaggedPacket {
            now,
            transport: TransportContext::default(),
            message: AttributedPacket::new(Packet::Rtcp(packets)),
        }
    }

    #[test]
    fn only_packets_still_missing_after_their_last_copy_are_sent_again() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let reports = [
            report(ms(0), 1, true),
            report(ms(5), 2, false),
            // 3 was missing, and Janus's request brought a copy that arrived.
            report(ms(10), 3, false),
            report(ms(30), 3, true),
            // 4's copy went missing too: send it again.
            report(ms(15), 4, false),
            report(ms(40), 4, false),
            // Feedback never spoke of 5: not known missing.
            report(ms(20), 5, false),
            // 1 again: a needless copy Janus dropped unreported.
            report(ms(50), 1, false),
        ];
        let covered = [true, true, true, true, true, true, false, true];
        let mut receipts = ServerReceipts::default();
        let kinds: Vec<Reported> = reports.iter().map(|r| receipts.record(r)).collect();
        use Reported::{Copy, First, Needless};
        assert_eq!(
            kinds,
            [First, First, First, Copy, First, Copy, First, Needless],
            "3 and 4 sent again, and 1 after it had arrived"
        );
        let found: Vec<(u16, Instant)> = missing_at_server(ms(200), &reports, &covered, &receipts)
            .map(|m| (m.seq, m.sent))
            .collect();
        assert_eq!(
            found,
            vec![(2, ms(5)), (4, ms(40))],
            "each at its last copy"
        );
        // Too old for a receiver to still be waiting for it.
        let too_late = ms(40) + RESEND_WITHIN + Duration::from_millis(1);
        assert_eq!(
            missing_at_server(too_late, &reports, &covered, &receipts).count(),
            0
        );
        // A copy of 3 in a later batch, reported missing: 3 had arrived.
        let again = [report(ms(220), 3, false)];
        assert_eq!(receipts.record(&again[0]), Reported::Needless);
        assert_eq!(
            missing_at_server(ms(300), &again, &[true], &receipts).count(),
            0
        );
    }

    #[test]
    fn receipts_are_kept_per_stream_and_forgotten_half_a_wrap_later() {
        let t0 = Instant::now();
        let mut receipts = ServerReceipts::default();
        receipts.record(&report(t0, 65_535, true));
        assert!(receipts.received(7, 65_535));
        assert!(!receipts.received(8, 65_535), "another stream");
        // The stream goes on past the wrap, half the space further on.
        let far = report(t0, 32_767, true);
        receipts.record(&far);
        assert!(!receipts.received(7, 65_535), "forgotten");
        assert!(receipts.received(7, 32_767));
    }

    #[test]
    fn numbers_skipped_by_a_gap_in_the_feedback_are_forgotten_too() {
        let t0 = Instant::now();
        let mut receipts = ServerReceipts::default();
        for seq in 40_000..40_010 {
            assert_eq!(receipts.record(&report(t0, seq, true)), Reported::First);
        }
        // Feedback resumes 20 000 numbers on (the stream went on without
        // it), then the stream comes round past the wrap.
        receipts.record(&report(t0, 60_000, true));
        for seq in (0..=8_000).step_by(100) {
            receipts.record(&report(t0, seq, false));
        }
        assert!(!receipts.received(7, 40_005), "stale receipt");
        // (Cleared when the stream passed 40 005 + 32 768, wrapped: 7 237,
        // which no report named.) Round to the old numbers themselves:
        let come_round = report(t0, 40_005, false);
        for seq in (8_100..=40_004).step_by(100) {
            receipts.record(&report(t0, seq, false));
        }
        assert_eq!(
            receipts.record(&come_round),
            Reported::First,
            "not seen before"
        );
        // A copy's report (an older number) clears nothing else.
        assert_eq!(receipts.record(&come_round), Reported::Copy);
        assert_eq!(receipts.record(&report(t0, 40_004, true)), Reported::First);
        assert_eq!(
            receipts.record(&report(t0, 40_004, false)),
            Reported::Needless
        );
    }

    fn missing(ssrc: u32, seq: u16, sent: Instant) -> Missing {
        Missing { ssrc, seq, sent }
    }

    #[test]
    fn missing_packets_ride_the_next_rtcp_packet_unless_a_newer_copy_is_on_its_way() {
        let queue = Arc::new(MissingAtServer::default());
        let mut filter = resend_missing(Arc::clone(&queue));
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        // Janus asks for 10 itself at 20 ms.
        let mut janus = rtcp(ms(20), Some((7, 10)));
        assert!(filter(&mut janus));
        assert_eq!(
            requested(&janus),
            vec![(7, 10)],
            "Janus's NACK passes as it was"
        );
        // Feedback then reports the first sends of 10, 11 and 12 (another
        // stream) missing: 10's answer left after them and is not reported.
        queue.add(
            [
                missing(7, 10, ms(0)),
                missing(7, 11, ms(5)),
                missing(9, 12, ms(8)),
            ]
            .into_iter(),
        );
        let mut next = rtcp(ms(40), None);
        assert!(filter(&mut next));
        let mut asked = requested(&next);
        asked.sort_unstable();
        assert_eq!(
            asked,
            vec![(7, 11), (9, 12)],
            "Janus asked for 10 after it left"
        );
        // The copy of 11 that left at 41 ms is reported missing too: asked
        // again, however soon the report comes (Janus's feedback is 200 ms
        // apart; a window of 150 ms after a request used to hold it back).
        queue.add([missing(7, 11, ms(41))].into_iter());
        let mut again = rtcp(ms(120), None);
        filter(&mut again);
        assert_eq!(requested(&again), vec![(7, 11)]);
        // A report of the first send, coming late, while that copy is out.
        queue.add([missing(7, 11, ms(5))].into_iter());
        let mut stale = rtcp(ms(130), None);
        filter(&mut stale);
        assert!(requested(&stale).is_empty(), "a newer copy is on its way");
        // Twice is all: a copy that keeps going missing is likely being
        // dropped as a replay.
        queue.add([missing(7, 11, ms(121))].into_iter());
        let mut third = rtcp(ms(300), None);
        filter(&mut third);
        assert!(requested(&third).is_empty(), "asked twice already");
    }

    #[test]
    fn a_flood_of_missing_packets_is_bounded() {
        let missing = MissingAtServer::default();
        let now = Instant::now();
        missing.add((0..10_000u32).map(|i| super::Missing {
            ssrc: 7,
            seq: i as u16,
            sent: now,
        }));
        let mut taken = Vec::new();
        missing.take_into(&mut taken);
        assert_eq!(taken.len(), MAX_PENDING);
    }
}
