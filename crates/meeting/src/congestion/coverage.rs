//! Which of our packets the server's feedback has spoken of.
//!
//! webrtc-rs reports a packet whose feedback never came (the feedback was
//! lost on the way back) as lost, the same as one the server said it never
//! got. On a path losing 5% each way that doubled the measured loss and,
//! when two feedback packets in a row went missing, made a burst of "loss"
//! that cut the rate to a quarter. So an inbound filter below the
//! congestion controller marks the transport-wide sequence numbers each
//! TWCC feedback covers, and the estimator counts a packet as lost only if
//! feedback covered it; the others say nothing about the path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rtc::interceptor::{Packet, TaggedPacket};
use rtc::rtcp::transport_feedbacks::transport_layer_cc::TransportLayerCc;

const WORDS: usize = (u16::MAX as usize + 1) / 64;

/// One bit per transport-wide sequence number. Written by the inbound
/// filter, read by the estimator (both on webrtc-rs's task): atomics, no
/// lock, no allocation after creation.
pub struct FeedbackCoverage {
    words: Box<[AtomicU64]>,
}

impl Default for FeedbackCoverage {
    fn default() -> Self {
        Self {
            words: (0..WORDS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

fn position(seq: u16) -> (usize, u64) {
    (usize::from(seq) / 64, 1 << (seq % 64))
}

impl FeedbackCoverage {
    /// Feedback spoke of `count` packets from `base` on.
    pub fn mark(&self, base: u16, count: u16) {
        for i in 0..count {
            let (word, bit) = position(base.wrapping_add(i));
            self.words[word].fetch_or(bit, Ordering::Relaxed);
        }
    }

    /// Whether feedback spoke of `seq`; forgets it either way, so the
    /// number is clean when it comes round again.
    pub fn take(&self, seq: u16) -> bool {
        let (word, bit) = position(seq);
        self.words[word].fetch_and(!bit, Ordering::Relaxed) & bit != 0
    }
}

/// The inbound filter that marks what each TWCC feedback packet covers.
/// It changes and drops nothing.
pub fn mark_feedback(coverage: Arc<FeedbackCoverage>) -> impl FnMut(&mut TaggedPacket) -> bool {
    move |msg| {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            for p in packets {
                if let Some(cc) = p.as_any().downcast_ref::<TransportLayerCc>() {
                    coverage.mark(cc.base_sequence_number, cc.packet_status_count);
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covered_numbers_are_told_apart_once_and_across_the_wrap() {
        let c = FeedbackCoverage::default();
        c.mark(65_530, 10);
        assert!(c.take(65_535));
        assert!(c.take(0) && c.take(3));
        assert!(!c.take(4), "past the end");
        assert!(!c.take(65_529), "before the base");
        assert!(!c.take(65_535), "taken once");
    }
}
