//! Which lost packets to ask the sender for again, and when: a packet is
//! asked for once it has been missing longer than reordering explains, then
//! again each time a retransmission had time to arrive, until the frame it
//! belongs to is given up. The round trip is measured from the answers.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Never fewer than this between two requests for one packet: a round trip
/// on loopback is below a millisecond, but the sender and the SFU need a
/// moment to answer.
const MIN_RETRY: Duration = Duration::from_millis(50);
/// After this many requests a packet is not asked for again.
const MAX_TRIES: u8 = 10;
/// The round trip assumed before the first retransmission is timed.
const INITIAL_RTT: Duration = Duration::from_millis(100);
/// Packets arriving out of order by less than this are not asked for.
const MIN_REORDER_WAIT: Duration = Duration::from_millis(5);
const MAX_REORDER_WAIT: Duration = Duration::from_millis(60);

#[derive(Debug, Clone, Copy)]
struct Missing {
    seq: u64,
    since: Instant,
    last_sent: Option<Instant>,
    tries: u8,
}

impl Missing {
    fn due(&self, reorder_wait: Duration, retry: Duration) -> Option<Instant> {
        if self.tries >= MAX_TRIES {
            return None;
        }
        Some(match self.last_sent {
            None => self.since + reorder_wait,
            Some(sent) => sent + retry,
        })
    }
}

/// What an arriving packet was to the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Not missing: the next packet, or one never counted as missing.
    Expected,
    /// Missing, but arrived before it was asked for: reordered.
    Reordered,
    /// Arrived after it was asked for.
    Recovered,
}

#[derive(Debug)]
pub struct NackScheduler {
    /// Missing packets in sequence order.
    missing: VecDeque<Missing>,
    capacity: usize,
    srtt: Option<Duration>,
    /// How late reordered packets have been lately (a decaying maximum).
    reorder: Duration,
}

impl NackScheduler {
    pub fn new(capacity: usize) -> Self {
        Self {
            missing: VecDeque::with_capacity(capacity),
            capacity,
            srtt: None,
            reorder: MIN_REORDER_WAIT,
        }
    }

    /// The round trip as retransmissions showed it (smoothed), or an
    /// assumption before the first one.
    pub fn rtt(&self) -> Duration {
        self.srtt.unwrap_or(INITIAL_RTT)
    }

    /// The round trip, once a retransmission has timed it.
    pub fn measured_rtt(&self) -> Option<Duration> {
        self.srtt
    }

    fn retry_interval(&self) -> Duration {
        (self.rtt() * 3 / 2 + Duration::from_millis(5)).max(MIN_RETRY)
    }

    fn reorder_wait(&self) -> Duration {
        self.reorder.clamp(MIN_REORDER_WAIT, MAX_REORDER_WAIT)
    }

    /// Packets `from..to` were skipped at `now`. Returns false when there
    /// are more than can be tracked (the caller should start over).
    pub fn gap(&mut self, now: Instant, from: u64, to: u64) -> bool {
        let count = to.saturating_sub(from) as usize;
        if self.missing.len() + count > self.capacity {
            return false;
        }
        self.missing.extend((from..to).map(|seq| Missing {
            seq,
            since: now,
            last_sent: None,
            tries: 0,
        }));
        true
    }

    /// A packet arrived; if it was missing, it no longer is.
    pub fn arrived(&mut self, now: Instant, seq: u64) -> Arrival {
        let Ok(i) = self.missing.binary_search_by_key(&seq, |m| m.seq) else {
            return Arrival::Expected;
        };
        let Some(m) = self.missing.remove(i) else {
            return Arrival::Expected;
        };
        match (m.last_sent, m.tries) {
            (None, _) => {
                let late = now.saturating_duration_since(m.since);
                self.reorder = late.max(self.reorder * 31 / 32);
                Arrival::Reordered
            }
            // Karn's rule: only an answer to the one request times the trip.
            (Some(sent), 1) => {
                let sample = now.saturating_duration_since(sent);
                self.srtt = Some(match self.srtt {
                    None => sample,
                    Some(s) => (s * 7 + sample) / 8,
                });
                Arrival::Recovered
            }
            (Some(_), _) => Arrival::Recovered,
        }
    }

    /// Stops asking for anything before `seq` (delivered or given up).
    pub fn forget_before(&mut self, seq: u64) {
        while self.missing.front().is_some_and(|m| m.seq < seq) {
            self.missing.pop_front();
        }
    }

    pub fn clear(&mut self) {
        self.missing.clear();
    }

    /// The packets still missing, how long since each went missing and how
    /// often it was asked for (for debugging logs).
    pub fn describe(&self, now: Instant) -> String {
        self.missing
            .iter()
            .take(8)
            .map(|m| {
                let ms = now.saturating_duration_since(m.since).as_millis();
                format!("{}:{ms}ms/{}", m.seq as u16, m.tries)
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// When the first packet still missing went missing.
    pub fn oldest_missing_since(&self) -> Option<Instant> {
        self.missing.front().map(|m| m.since)
    }

    /// Appends to `out` the packets to ask for now, and counts the request.
    pub fn poll(&mut self, now: Instant, out: &mut Vec<u64>) {
        let (reorder_wait, retry) = (self.reorder_wait(), self.retry_interval());
        for m in &mut self.missing {
            if m.due(reorder_wait, retry).is_some_and(|due| due <= now) {
                m.tries += 1;
                m.last_sent = Some(now);
                out.push(m.seq);
            }
        }
    }

    /// When `poll` next has something to send.
    pub fn next_due(&self) -> Option<Instant> {
        let (reorder_wait, retry) = (self.reorder_wait(), self.retry_interval());
        self.missing
            .iter()
            .filter_map(|m| m.due(reorder_wait, retry))
            .min()
    }

    pub fn len(&self) -> usize {
        self.missing.len()
    }

    pub fn is_empty(&self) -> bool {
        self.missing.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn asks_after_the_reorder_wait_and_again_after_a_round_trip() {
        let t0 = Instant::now();
        let mut n = NackScheduler::new(64);
        assert!(n.gap(t0, 10, 12));
        let mut out = Vec::new();
        n.poll(t0 + ms(1), &mut out);
        assert!(out.is_empty(), "asked before reordering could explain it");
        n.poll(t0 + ms(5), &mut out);
        assert_eq!(out, [10, 11]);
        out.clear();
        // Retransmission of 10 arrives after 30 ms: the round trip.
        assert_eq!(n.arrived(t0 + ms(35), 10), Arrival::Recovered);
        assert_eq!(n.rtt(), ms(30));
        // 11 is asked again one retry interval (1.5 RTT + 5 ms) later, not before.
        n.poll(t0 + ms(45), &mut out);
        assert!(out.is_empty());
        assert_eq!(n.next_due(), Some(t0 + ms(5) + ms(50)));
        n.poll(t0 + ms(55), &mut out);
        assert_eq!(out, [11]);
    }

    #[test]
    fn reordered_packets_are_not_recoveries_and_widen_the_wait() {
        let t0 = Instant::now();
        let mut n = NackScheduler::new(64);
        assert!(n.gap(t0, 5, 6));
        assert_eq!(n.arrived(t0 + ms(3), 5), Arrival::Reordered);
        assert_eq!(n.arrived(t0 + ms(4), 5), Arrival::Expected);
        assert!(n.gap(t0, 7, 8));
        assert!(n.gap(t0 + ms(10), 9, 10));
        // A packet 40 ms late: the next gaps wait about that long.
        assert_eq!(n.arrived(t0 + ms(40), 7), Arrival::Reordered);
        let mut out = Vec::new();
        n.poll(t0 + ms(45), &mut out);
        assert!(out.is_empty(), "{out:?}");
        n.poll(t0 + ms(51), &mut out);
        assert_eq!(out, [9]);
    }

    #[test]
    fn gives_up_after_max_tries_and_forgets_delivered_ranges() {
        let t0 = Instant::now();
        let mut n = NackScheduler::new(64);
        assert!(n.gap(t0, 100, 103));
        let mut out = Vec::new();
        let mut t = t0;
        for _ in 0..40 {
            t += ms(200);
            n.poll(t, &mut out);
        }
        assert_eq!(out.len(), 3 * MAX_TRIES as usize);
        assert_eq!(n.next_due(), None);
        n.forget_before(102);
        assert_eq!(n.len(), 1);
        assert!(!n.gap(t, 200, 300), "more than the capacity was accepted");
    }
}
