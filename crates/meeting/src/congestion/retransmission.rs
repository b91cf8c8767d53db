//! Retransmissions within the path's budget.
//!
//! Janus asks a publisher for every packet it missed (NACK), twice. On a
//! squeezed path most packets are missed, and answering every request
//! multiplies what is sent: measured under a 512 kbit/s cap, 3 Mbit/s left
//! while the encoder was set to 800 kbit/s, and the loss that caused the
//! requests only grew. Retransmissions get a share of the estimate; the
//! requests beyond it are dropped before webrtc-rs's NACK responder sees
//! them (the receiver's jitter buffer asks again, or asks for a keyframe).

use std::sync::Arc;
use std::time::Instant;

use rtc::interceptor::{Packet, TaggedPacket};
use rtc::rtcp::transport_feedbacks::transport_layer_nack::{NackPair, TransportLayerNack};

use super::PathEstimate;

/// Share of the estimate retransmissions may use.
const SHARE: f64 = 0.25;
/// The budget saved up at most: a quarter second's worth, so a burst of
/// loss after a quiet spell can still be repaired at once.
const SAVE_SECONDS: f64 = 0.25;
const MIN_SAVED_PACKETS: f64 = 4.0;
/// A video packet, as the budget counts it (the NACK does not say).
const PACKET_BITS: f64 = 1_200.0 * 8.0;

/// A token bucket in bits, filled at `SHARE` of the estimate.
#[derive(Debug, Default)]
pub struct RetransmissionBudget {
    bits: f64,
    last: Option<Instant>,
}

impl RetransmissionBudget {
    /// How many of `requested` packets may be sent again now.
    pub fn allow(&mut self, now: Instant, estimate_bps: Option<u64>, requested: usize) -> usize {
        let Some(estimate) = estimate_bps else {
            // No estimate yet: nothing is known to be squeezed.
            return requested;
        };
        let rate = estimate as f64 * SHARE;
        let elapsed = self.last.map_or(SAVE_SECONDS, |at| {
            now.saturating_duration_since(at).as_secs_f64()
        });
        self.last = Some(now);
        // Never less than a few packets: at the floor of the estimate a
        // quarter second holds less than one, and nothing would be resent.
        let most = (rate * SAVE_SECONDS).max(MIN_SAVED_PACKETS * PACKET_BITS);
        self.bits = (self.bits + elapsed * rate).min(most);
        let allowed = ((self.bits / PACKET_BITS) as usize).min(requested);
        self.bits -= allowed as f64 * PACKET_BITS;
        allowed
    }
}

/// The first `keep` sequence numbers a NACK asks for, as a NACK: the
/// oldest missing packet is the one the frames behind it wait for.
fn keep_first(nacks: &[NackPair], keep: usize) -> Vec<NackPair> {
    let mut kept = Vec::new();
    let mut left = keep;
    for pair in nacks {
        if left == 0 {
            break;
        }
        let mut trimmed = NackPair {
            packet_id: pair.packet_id,
            lost_packets: 0,
        };
        left -= 1;
        for bit in 0..16u16 {
            if left == 0 {
                break;
            }
            if pair.lost_packets & (1 << bit) != 0 {
                trimmed.lost_packets |= 1 << bit;
                left -= 1;
            }
        }
        kept.push(trimmed);
    }
    kept
}

fn requested(nacks: &[NackPair]) -> usize {
    nacks
        .iter()
        .map(|p| 1 + p.lost_packets.count_ones() as usize)
        .sum()
}

/// Trims NACKs from the server to the budget; an `InboundFilter` between
/// the pacer and the NACK responder. A compound packet left empty is an
/// attribute carrier (inert) and still carries what was attached below.
pub fn nack_budget(path: Arc<PathEstimate>) -> impl FnMut(&mut TaggedPacket) -> bool {
    let mut budget = RetransmissionBudget::default();
    move |msg| {
        let now = msg.now;
        if let Packet::Rtcp(packets) = &mut msg.message.packet {
            let estimate = path.estimate_bps();
            packets.retain_mut(|p| {
                let Some(nack) = p.as_any().downcast_ref::<TransportLayerNack>() else {
                    return true;
                };
                let asked = requested(&nack.nacks);
                let allowed = budget.allow(now, estimate, asked);
                if allowed == asked {
                    return true;
                }
                if allowed == 0 {
                    return false;
                }
                *p = Box::new(TransportLayerNack {
                    sender_ssrc: nack.sender_ssrc,
                    media_ssrc: nack.media_ssrc,
                    nacks: keep_first(&nack.nacks, allowed),
                });
                true
            });
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn retransmissions_get_a_share_of_the_estimate() {
        let start = Instant::now();
        let mut budget = RetransmissionBudget::default();
        // 500 kbit/s: 125 kbit/s for retransmissions, about 13 packets a
        // second; asked for 10 every 100 ms, about 1.3 are allowed each
        // time once the saved-up quarter second is spent.
        let mut allowed = 0;
        for i in 0..50u64 {
            allowed += budget.allow(start + Duration::from_millis(100 * i), Some(500_000), 10);
        }
        let per_second = allowed as f64 / 5.0;
        assert!((12.0..=16.0).contains(&per_second), "{per_second}");
        // At the floor of the estimate some are still resent.
        let mut floor = RetransmissionBudget::default();
        let resent: usize = (0..20u64)
            .map(|i| floor.allow(start + Duration::from_millis(100 * i), Some(100_000), 5))
            .sum();
        assert!(resent >= 4, "{resent}");
        // No estimate yet: every request is answered.
        let mut fresh = RetransmissionBudget::default();
        assert_eq!(fresh.allow(start, None, 40), 40);
    }

    #[test]
    fn a_trimmed_nack_keeps_its_first_requests() {
        // 100, 101, 103 and 116 (bits 0, 2, 15), then 200.
        let nacks = [
            NackPair {
                packet_id: 100,
                lost_packets: 0b1000_0000_0000_0101,
            },
            NackPair {
                packet_id: 200,
                lost_packets: 0,
            },
        ];
        assert_eq!(requested(&nacks), 5);
        let kept = keep_first(&nacks, 3);
        assert_eq!(requested(&kept), 3);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].packet_list(), vec![100, 101, 103]);
        assert_eq!(keep_first(&nacks, 5), nacks.to_vec());
        assert!(keep_first(&nacks, 0).is_empty());
    }
}
