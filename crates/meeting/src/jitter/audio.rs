//! The audio jitter buffer: Opus packets in as they arrive, and every 20 ms
//! what to play next.
//!
//! Audio used to be decoded as it arrived and queued as samples behind a
//! fixed 40 ms cushion. A packet later than the cushion became a gap of
//! silence, after which everything behind it played that much later, for the
//! rest of the call: the delay only ever grew. Here the packets wait in
//! order, and the playout asks for one each 20 ms:
//!
//! - the cushion it keeps (`target`) follows how much arrival times vary:
//!   the 95th percentile of the last two seconds' delays over the fastest
//!   one, plus a packet, between 40 and 400 ms;
//! - a missing packet is waited for (concealed meanwhile, which is how the
//!   cushion grows) while fewer packets than the target sit behind it;
//!   then it is given up: rebuilt from the in-band FEC of the one after it
//!   when that is here, concealed by Opus otherwise;
//! - when nothing at all is here, up to 100 ms is concealed while waiting;
//!   past that the stream is re-buffered from silence;
//! - when two packets more than the cushion are held, one packet in ten is
//!   skipped until they are not, so a burst of delay does not stay in the
//!   call;
//! - a sender in DTX sends a packet of one to three bytes and then nothing
//!   for a while: that is silence to wait through, not loss to conceal.
//!
//! Pure code: no clock, no allocation after creation.

use std::time::{Duration, Instant};

use super::seq::SeqUnwrapper;

/// One Opus packet of ours or a browser's: 20 ms.
pub const PACKET_MS: u32 = 20;
/// The longest Opus packet (RFC 6716, 3.4: 1275 bytes of frames, plus TOC).
pub const MAX_PAYLOAD: usize = 1_276;
/// Packets held at most: 1.28 s.
const SLOTS: usize = 64;
/// The cushion's bounds, in packets.
const MIN_TARGET: u32 = 2;
const MAX_TARGET: u32 = 20;
/// Arrivals the cushion is sized from: two seconds of packets.
const DELAY_WINDOW: usize = 100;
/// Packets concealed while nothing arrives before re-buffering: 100 ms.
const MAX_WAIT_CONCEALED: u32 = 5;
/// Held packets over the target before skipping, and how often at most.
const SKIP_ABOVE_TARGET: u32 = 2;
const SKIP_EVERY: u32 = 10;
/// Late packets in a row that mean the sender's numbers went back.
const RESTART_AFTER_LATE: u32 = 8;
/// An Opus packet this short carries no audio: DTX (RFC 7587, 3.1.3;
/// libopus sends one to three bytes).
const DTX_BYTES: usize = 3;

/// An Opus packet as it crossed from the network to the playout thread.
#[derive(Clone)]
pub struct AudioPacket {
    pub seq: u16,
    pub timestamp: u32,
    pub arrival: Instant,
    len: u16,
    data: [u8; MAX_PAYLOAD],
}

impl AudioPacket {
    /// None for a payload longer than any Opus packet.
    pub fn new(seq: u16, timestamp: u32, arrival: Instant, payload: &[u8]) -> Option<Self> {
        if payload.len() > MAX_PAYLOAD {
            return None;
        }
        let mut data = [0; MAX_PAYLOAD];
        data[..payload.len()].copy_from_slice(payload);
        Some(Self {
            seq,
            timestamp,
            arrival,
            len: payload.len() as u16,
            data,
        })
    }

    pub fn payload(&self) -> &[u8] {
        &self.data[..usize::from(self.len)]
    }
}

/// What to play for the next 20 ms.
#[derive(Debug, PartialEq, Eq)]
pub enum Playback<'a> {
    /// Decode this packet.
    Decode(&'a [u8]),
    /// The packet is lost: rebuild it from the FEC in this one, its
    /// successor (which is then decoded next time as usual).
    Rebuild(&'a [u8]),
    /// Nothing to rebuild from: let the decoder conceal.
    Conceal,
    /// Nothing is playing (starting, re-buffering, or the sender is silent).
    Silence,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AudioJitterStats {
    pub decoded: u64,
    pub rebuilt: u64,
    pub concealed: u64,
    /// Packets that came after their turn had passed.
    pub late: u64,
    /// Packets skipped to bring the delay back down.
    pub skipped: u64,
    /// Times the stream ran dry and started again from silence.
    pub rebuffered: u64,
}

#[derive(Clone)]
struct Slot {
    seq: u64,
    packet: Option<AudioPacket>,
}

/// How much later than the fastest packet each packet of the last two
/// seconds arrived, by its RTP timestamp.
struct ArrivalDelays {
    /// Milliseconds between arrival and the sender's clock (from an
    /// arbitrary origin), per packet, in a ring.
    transit: [i64; DELAY_WINDOW],
    count: usize,
    at: usize,
    scratch: [i64; DELAY_WINDOW],
    origin: Option<Instant>,
    last_timestamp: u32,
    /// The sender's clock in ms, unwrapped.
    sender_ms: i64,
    sender_rest: i64,
}

impl ArrivalDelays {
    fn new() -> Self {
        Self {
            transit: [0; DELAY_WINDOW],
            count: 0,
            at: 0,
            scratch: [0; DELAY_WINDOW],
            origin: None,
            last_timestamp: 0,
            sender_ms: 0,
            sender_rest: 0,
        }
    }

    fn add(&mut self, timestamp: u32, arrival: Instant) {
        let origin = *self.origin.get_or_insert_with(|| {
            self.last_timestamp = timestamp;
            arrival
        });
        // 48 kHz: signed steps, so a reordered packet steps back.
        let step = i64::from(timestamp.wrapping_sub(self.last_timestamp) as i32);
        self.last_timestamp = timestamp;
        self.sender_rest += step;
        self.sender_ms += self.sender_rest / 48;
        self.sender_rest %= 48;
        let arrived_ms = arrival.saturating_duration_since(origin).as_millis() as i64;
        self.transit[self.at] = arrived_ms - self.sender_ms;
        self.at = (self.at + 1) % DELAY_WINDOW;
        self.count = (self.count + 1).min(DELAY_WINDOW);
    }

    /// The 95th percentile of delays over the fastest, in ms.
    fn spread_ms(&mut self) -> u32 {
        if self.count < 2 {
            return 0;
        }
        let window = &mut self.scratch[..self.count];
        window.copy_from_slice(&self.transit[..self.count]);
        let fastest = window.iter().copied().min().unwrap_or(0);
        let at = (self.count * 95).div_ceil(100) - 1;
        let (_, p95, _) = window.select_nth_unstable(at);
        (*p95 - fastest).clamp(0, i64::from(u32::MAX)) as u32
    }
}

pub struct AudioJitterBuffer {
    unwrap: SeqUnwrapper,
    slots: Box<[Slot]>,
    /// The next packet to play.
    next: Option<u64>,
    playing: bool,
    /// Whether anything has been played yet.
    started: bool,
    late_in_a_row: u32,
    waited: u32,
    since_skip: u32,
    /// Whether the newest packet was DTX (the sender went quiet).
    quiet: bool,
    delays: ArrivalDelays,
    target: u32,
    stats: AudioJitterStats,
}

impl Default for AudioJitterBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl AudioJitterBuffer {
    pub fn new() -> Self {
        Self {
            unwrap: SeqUnwrapper::default(),
            slots: vec![
                Slot {
                    seq: 0,
                    packet: None,
                };
                SLOTS
            ]
            .into_boxed_slice(),
            next: None,
            playing: false,
            started: false,
            late_in_a_row: 0,
            waited: 0,
            since_skip: 0,
            quiet: false,
            delays: ArrivalDelays::new(),
            target: MIN_TARGET,
            stats: AudioJitterStats::default(),
        }
    }

    /// False while starting, re-buffering, or after the sender went quiet
    /// and nothing is left.
    pub fn is_playing(&self) -> bool {
        self.playing && self.held() > 0
    }

    pub fn stats(&self) -> AudioJitterStats {
        self.stats
    }

    /// The cushion kept now.
    pub fn target_delay(&self) -> Duration {
        Duration::from_millis(u64::from(self.target * PACKET_MS))
    }

    fn slot(&self, seq: u64) -> Option<&AudioPacket> {
        let slot = &self.slots[seq as usize % SLOTS];
        (slot.seq == seq).then_some(slot.packet.as_ref()).flatten()
    }

    /// Plays on from the packet numbered `seq` after a silence, forgetting
    /// what was held and the numbering before it; returns its new place.
    fn restart(&mut self, seq: u16) -> u64 {
        for slot in self.slots.iter_mut() {
            slot.packet = None;
        }
        self.unwrap = SeqUnwrapper::default();
        let seq = self.unwrap.extend(seq);
        self.next = Some(seq);
        self.playing = false;
        self.waited = 0;
        seq
    }

    fn has(&self, seq: u64) -> bool {
        self.slot(seq).is_some()
    }

    /// Packets from the next to play to the newest, whether here or not.
    fn held(&self) -> u32 {
        match (self.next, self.unwrap.highest()) {
            (Some(next), Some(highest)) if highest >= next => (highest - next + 1) as u32,
            _ => 0,
        }
    }

    /// Takes in a packet; one whose turn has passed is dropped.
    pub fn insert(&mut self, packet: AudioPacket) {
        let mut seq = self.unwrap.extend(packet.seq);
        // A late packet says most about how big the cushion must be.
        self.delays.add(packet.timestamp, packet.arrival);
        let spread = self.delays.spread_ms();
        self.target = (spread.div_ceil(PACKET_MS) + 1).clamp(MIN_TARGET, MAX_TARGET);
        // Once playing has begun, a packet before the next one had its turn,
        // unless they all come from there now: the sender's numbers went
        // back (it restarted), and the stream starts over from them.
        if self.started && self.next.is_some_and(|next| seq < next) {
            self.late_in_a_row += 1;
            if self.late_in_a_row < RESTART_AFTER_LATE {
                self.stats.late += 1;
                return;
            }
            seq = self.restart(packet.seq);
        }
        self.late_in_a_row = 0;
        match self.next {
            // Far ahead of what plays (the sender restarted, or a long
            // outage): start over from this packet.
            Some(next) if seq >= next + SLOTS as u64 => seq = self.restart(packet.seq),
            // Before playing, the oldest packet here is the first to play.
            Some(next) if !self.playing && seq < next => self.next = Some(seq),
            None => self.next = Some(seq),
            _ => {}
        }
        if Some(seq) == self.unwrap.highest() {
            self.quiet = packet.payload().len() <= DTX_BYTES;
        }
        self.slots[seq as usize % SLOTS] = Slot {
            seq,
            packet: Some(packet),
        };
    }

    /// What to play for the next 20 ms.
    pub fn play_next(&mut self) -> Playback<'_> {
        let (Some(mut next), Some(highest)) = (self.next, self.unwrap.highest()) else {
            return Playback::Silence;
        };
        if !self.playing {
            // Start (again) from the oldest packet here.
            while next <= highest && !self.has(next) {
                next += 1;
            }
            self.next = Some(next);
            // A sender that went quiet sends a packet now and then: it
            // plays at once, there is nothing to cushion.
            if self.held() >= self.target || (self.quiet && self.has(next)) {
                self.playing = true;
                self.started = true;
                self.waited = 0;
            } else {
                return Playback::Silence;
            }
        }
        let held = self.held();
        if self.has(next) {
            self.waited = 0;
            self.since_skip = self.since_skip.saturating_add(1);
            let mut play = next;
            if held > self.target + SKIP_ABOVE_TARGET
                && self.since_skip >= SKIP_EVERY
                && self.has(next + 1)
            {
                self.since_skip = 0;
                self.stats.skipped += 1;
                play = next + 1;
            }
            self.next = Some(play + 1);
            self.stats.decoded += 1;
            return match self.slot(play) {
                Some(p) => Playback::Decode(p.payload()),
                None => Playback::Conceal,
            };
        }
        // Behind the missing packet: `held - 1`. With a full cushion there,
        // or after waiting as long as the cushion, it is lost or too late.
        if held > self.target || (held > 1 && self.waited >= self.target) {
            self.waited = 0;
            self.next = Some(next + 1);
            if self.has(next + 1) {
                self.stats.rebuilt += 1;
            } else {
                self.stats.concealed += 1;
            }
            return match self.slot(next + 1) {
                Some(following) => Playback::Rebuild(following.payload()),
                None => Playback::Conceal,
            };
        }
        if held > 1 {
            // The cushion is short of the target: wait for it here (a late
            // packet then plays), which is how the cushion grows.
            self.waited += 1;
            self.stats.concealed += 1;
            return Playback::Conceal;
        }
        // Nothing here at all.
        if self.quiet {
            return Playback::Silence;
        }
        if self.waited < MAX_WAIT_CONCEALED {
            self.waited += 1;
            self.stats.concealed += 1;
            return Playback::Conceal;
        }
        self.playing = false;
        self.stats.rebuffered += 1;
        Playback::Silence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trace: packets sent every 20 ms from `t0`, each arriving after the
    /// delay `arrive` gives (None: lost), replayed against a playout that
    /// asks every 20 ms. Returns what was played per packet sent, in order.
    struct Trace {
        buffer: AudioJitterBuffer,
        t0: Instant,
        /// Payload: the packet's number, so playback can be checked.
        arrivals: Vec<(Instant, AudioPacket)>,
    }

    fn payload(n: u32) -> [u8; 4] {
        n.to_be_bytes()
    }

    fn number(p: &[u8]) -> u32 {
        let mut b = [0; 4];
        b.copy_from_slice(&p[..4]);
        u32::from_be_bytes(b)
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Heard {
        Packet(u32),
        Rebuilt(u32),
        Concealed,
        Silence,
    }

    impl Trace {
        fn new(count: u32, first_seq: u16, arrive: impl Fn(u32) -> Option<u64>) -> Self {
            let t0 = Instant::now();
            let mut arrivals: Vec<(Instant, AudioPacket)> = (0..count)
                .filter_map(|n| {
                    let delay = arrive(n)?;
                    let at = t0 + Duration::from_millis(u64::from(n * PACKET_MS) + delay);
                    let seq = first_seq.wrapping_add(n as u16);
                    let timestamp = 1_000u32.wrapping_add(n * 960);
                    Some((at, AudioPacket::new(seq, timestamp, at, &payload(n))?))
                })
                .collect();
            arrivals.sort_by_key(|(at, _)| *at);
            Self {
                buffer: AudioJitterBuffer::new(),
                t0,
                arrivals,
            }
        }

        /// Plays for `ms`, one request each 20 ms, taking in packets first.
        fn play(&mut self, ms: u64) -> Vec<Heard> {
            let mut heard = Vec::new();
            let mut arrivals = self.arrivals.drain(..).peekable();
            for tick in 0..ms / u64::from(PACKET_MS) {
                let now = self.t0 + Duration::from_millis(tick * u64::from(PACKET_MS));
                while let Some((_, p)) = arrivals.next_if(|(at, _)| *at <= now) {
                    self.buffer.insert(p);
                }
                heard.push(match self.buffer.play_next() {
                    Playback::Decode(p) => Heard::Packet(number(p)),
                    Playback::Rebuild(p) => Heard::Rebuilt(number(p) - 1),
                    Playback::Conceal => Heard::Concealed,
                    Playback::Silence => Heard::Silence,
                });
            }
            heard
        }
    }

    fn packets(heard: &[Heard]) -> Vec<u32> {
        heard
            .iter()
            .filter_map(|h| match h {
                Heard::Packet(n) | Heard::Rebuilt(n) => Some(*n),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_steady_stream_plays_every_packet_in_order_after_a_short_cushion() {
        let mut trace = Trace::new(100, 65_500, |_| Some(5));
        // Until the last packet's turn: after it the stream has ended, and
        // its end is concealed and re-buffered like any other silence.
        let heard = trace.play(2_040);
        assert_eq!(
            packets(&heard),
            (0..100).collect::<Vec<_>>(),
            "across the wrap"
        );
        let start = heard.iter().position(|h| *h != Heard::Silence);
        assert!(start.is_some_and(|s| s <= 3), "{heard:?}");
        assert_eq!(trace.buffer.target_delay(), Duration::from_millis(40));
        let stats = trace.buffer.stats();
        assert_eq!((stats.concealed, stats.late, stats.skipped), (0, 0, 0));
    }

    #[test]
    fn a_lost_packet_is_rebuilt_from_the_next_and_a_lost_pair_half_concealed() {
        let mut trace = Trace::new(60, 10, |n| (![20, 40, 41].contains(&n)).then_some(5));
        let heard = trace.play(1_400);
        assert!(heard.contains(&Heard::Rebuilt(20)), "{heard:?}");
        assert!(heard.contains(&Heard::Concealed), "40 concealed");
        assert!(heard.contains(&Heard::Rebuilt(41)), "41 from 42's FEC");
        let played = packets(&heard);
        assert_eq!(played.len(), 59, "every packet but 40: {played:?}");
        assert!(played.windows(2).all(|w| w[0] < w[1]), "in order");
    }

    #[test]
    fn jitter_grows_the_cushion_and_late_packets_still_play() {
        // Every 5th packet 90 ms late: reordered behind the next four.
        let jitter = |n: u32| Some(if n.is_multiple_of(5) { 95 } else { 5 });
        let mut trace = Trace::new(150, 7, jitter);
        let heard = trace.play(3_400);
        let target = trace.buffer.target_delay();
        assert!(
            (Duration::from_millis(100)..=Duration::from_millis(140)).contains(&target),
            "{target:?}"
        );
        // Once the cushion has grown (the first second), nothing is lost.
        let played = packets(&heard);
        let missing_late: Vec<u32> = (50..150).filter(|n| !played.contains(n)).collect();
        assert!(missing_late.is_empty(), "{missing_late:?}");
        let decoded_late = heard
            .iter()
            .filter(|h| matches!(h, Heard::Packet(n) if n % 5 == 0 && *n >= 50))
            .count();
        assert_eq!(decoded_late, 20, "the late ones are decoded, not rebuilt");
    }

    #[test]
    fn a_burst_of_delay_is_played_out_then_skipped_back_down() {
        // A 300 ms stall at packet 50, then the stream resumes on time: the
        // stalled packets arrive in a burst.
        let stall = |n: u32| {
            Some(if (50..65).contains(&n) {
                5 + u64::from(65 - n) * 20
            } else {
                5
            })
        };
        let mut trace = Trace::new(400, 0, stall);
        let heard = trace.play(8_400);
        let stats = trace.buffer.stats();
        assert!(stats.concealed > 0, "the stall was concealed: {stats:?}");
        assert!(stats.skipped > 0, "the delay came back down: {stats:?}");
        // By the end the cushion is what it was: the last packet plays
        // within 100 ms of its arrival.
        let last = heard.iter().rposition(|h| *h == Heard::Packet(399));
        assert!(last.is_some(), "{stats:?}");
        let played_at = last.map_or(0, |t| t as u64 * 20);
        let arrived_at = 399 * 20 + 5;
        assert!(played_at <= arrived_at + 100, "{played_at} vs {arrived_at}");
    }

    #[test]
    fn an_outage_rebuffers_instead_of_concealing_it_all() {
        // Nothing from 100 to 160 (1.2 s), then the stream resumes.
        let mut trace = Trace::new(300, 0, |n| (!(100..160).contains(&n)).then_some(5));
        let heard = trace.play(6_400);
        let stats = trace.buffer.stats();
        assert_eq!(stats.rebuffered, 2, "the outage, and the end: {stats:?}");
        let concealed_in_a_row = heard
            .split(|h| *h != Heard::Concealed)
            .map(<[Heard]>::len)
            .max()
            .unwrap_or(0);
        assert!(
            concealed_in_a_row <= MAX_WAIT_CONCEALED as usize + 1,
            "{concealed_in_a_row}"
        );
        assert!(
            packets(&heard).contains(&299),
            "playing again after the outage"
        );
    }

    #[test]
    fn dtx_silence_is_waited_through_not_concealed() {
        let t0 = Instant::now();
        let mut buffer = AudioJitterBuffer::new();
        let at = |ms| t0 + Duration::from_millis(ms);
        let packet = |seq: u16, ts: u32, ms: u64, body: &[u8]| {
            AudioPacket::new(seq, ts, at(ms), body).expect("short")
        };
        // Speech, then the sender goes quiet: one DTX packet, then nothing
        // for 400 ms, then another, then speech again.
        for i in 0..5u16 {
            buffer.insert(packet(
                i,
                u32::from(i) * 960,
                u64::from(i) * 20,
                &[1, 2, 3, 4],
            ));
        }
        buffer.insert(packet(5, 5 * 960, 100, &[8]));
        let mut heard = Vec::new();
        for _ in 0..30 {
            heard.push(matches!(buffer.play_next(), Playback::Conceal));
        }
        assert!(heard.iter().filter(|c| **c).count() == 0, "{heard:?}");
        buffer.insert(packet(6, 25 * 960, 500, &[8]));
        buffer.insert(packet(7, 26 * 960, 520, &[1, 2, 3, 4]));
        buffer.insert(packet(8, 27 * 960, 540, &[1, 2, 3, 4]));
        let next: Vec<bool> = (0..3)
            .map(|_| matches!(buffer.play_next(), Playback::Decode(_)))
            .collect();
        assert_eq!(next, [true, true, true]);
        assert_eq!(buffer.stats().concealed, 0);
    }

    #[test]
    fn a_sender_gone_after_a_loss_is_not_concealed_for_ever() {
        // Jitter grew the cushion to 4 packets; then 99 is lost, 100 comes,
        // and nothing more.
        let t0 = Instant::now();
        let mut buffer = AudioJitterBuffer::new();
        let jitter = |n: u32| if n.is_multiple_of(4) { 50 } else { 0 };
        for n in (0..99u32).chain([100]) {
            let at = t0 + Duration::from_millis(u64::from(n * PACKET_MS + jitter(n)));
            let p = AudioPacket::new(n as u16, n * 960, at, &[1, 2, 3, 4]);
            buffer.insert(p.expect("short"));
        }
        assert!(buffer.target_delay() >= Duration::from_millis(60));
        let mut concealed_in_a_row = 0;
        let mut longest = 0;
        for _ in 0..200 {
            match buffer.play_next() {
                Playback::Conceal => concealed_in_a_row += 1,
                _ => concealed_in_a_row = 0,
            }
            longest = longest.max(concealed_in_a_row);
        }
        assert!(!buffer.is_playing(), "still playing: {:?}", buffer.stats());
        assert!(longest <= 10, "{longest} packets concealed in a row");
    }

    #[test]
    fn a_sender_whose_numbers_go_back_is_played_from_there() {
        let t0 = Instant::now();
        let mut buffer = AudioJitterBuffer::new();
        let packet = |seq: u16| AudioPacket::new(seq, u32::from(seq) * 960, t0, &[seq as u8, 7, 7]);
        for seq in 5_000..5_010u16 {
            buffer.insert(packet(seq).expect("short"));
        }
        for _ in 0..10 {
            buffer.play_next();
        }
        // The sender restarted its numbering 1,000 back.
        for seq in 4_000..4_020u16 {
            buffer.insert(packet(seq).expect("short"));
        }
        let played: Vec<u8> = (0..20)
            .filter_map(|_| match buffer.play_next() {
                Playback::Decode(p) => Some(p[0]),
                _ => None,
            })
            .collect();
        assert!(played.len() >= 10, "{played:?}: {:?}", buffer.stats());
        assert!(buffer.stats().late < 10, "{:?}", buffer.stats());
    }

    #[test]
    fn packets_reordered_before_the_start_all_play() {
        let t0 = Instant::now();
        let mut buffer = AudioJitterBuffer::new();
        for seq in [1u16, 0, 2] {
            let p = AudioPacket::new(seq, u32::from(seq) * 960, t0, &[seq as u8 + 1, 9, 9]);
            buffer.insert(p.expect("short"));
        }
        let first: Vec<u8> = (0..3)
            .filter_map(|_| match buffer.play_next() {
                Playback::Decode(p) => Some(p[0]),
                _ => None,
            })
            .collect();
        assert_eq!(first, [1, 2, 3], "0 first, though it came second");
        assert_eq!(buffer.stats().late, 0);
    }

    #[test]
    fn late_duplicate_and_oversized_packets_are_refused() {
        let t0 = Instant::now();
        assert!(AudioPacket::new(1, 0, t0, &[0; MAX_PAYLOAD + 1]).is_none());
        let mut buffer = AudioJitterBuffer::new();
        for seq in 0..4u16 {
            let p = AudioPacket::new(seq, u32::from(seq) * 960, t0, &[1, 2, 3]);
            buffer.insert(p.expect("short"));
        }
        for _ in 0..3 {
            assert!(matches!(buffer.play_next(), Playback::Decode(_)));
        }
        // 1 again: its turn has passed.
        buffer.insert(AudioPacket::new(1, 960, t0, &[1, 2, 3]).expect("short"));
        assert_eq!(buffer.stats().late, 1);
        assert!(matches!(buffer.play_next(), Playback::Decode(_)));
    }
}
