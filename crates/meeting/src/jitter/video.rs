//! The video jitter buffer: holds RTP packets of VP8 frames by sequence
//! number, asks for the lost ones again (NACK), and releases frames in
//! decoding order as soon as each is complete. A frame with a hole waits for
//! its retransmission for a time bounded by the measured round trip; only
//! when that fails is the frame given up and a keyframe asked for, at a
//! paced rate. It never releases a frame whose references are missing, so
//! the decoder never decodes against a broken chain.
//!
//! When the sender marks temporal layers (TID, TL0PICIDX in the VP8
//! payload descriptor), a lost upper-layer frame costs that frame only:
//! the base layer does not reference it, so decoding goes on at the next
//! base frame, with no keyframe. The base layer's own continuity is checked
//! by TL0PICIDX.
//!
//! Pure: driven by packets and the time the caller passes in, no sockets
//! and no clock of its own.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::packetizer::Depacketizer;

use super::nack::{Arrival, NackScheduler};
use super::seq::SeqUnwrapper;

/// Packets held at most (a power of two; about 15 s of 640x360 video).
const CAPACITY: usize = 2048;
/// A frame of more packets than this is not a frame we can decode (half
/// the buffer: a 4K keyframe of a shared screen still fits).
const MAX_FRAME_PACKETS: u64 = CAPACITY as u64 / 2;
/// Keyframe requests are at least this far apart (Janus passes one a second
/// to the sender anyway).
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);
/// Bounds on how long a frame with a hole waits for its retransmission.
/// Janus answers a request for one packet at most once in 200 ms: a second
/// chance needs a little over 200 ms.
const MIN_WAIT: Duration = Duration::from_millis(250);
const MAX_WAIT: Duration = Duration::from_millis(1000);
/// On a path that loses much, a packet needs a third chance, or was lost
/// on the way to Janus and reaches it late: the wait grows with the share
/// of packets that went missing, from `MIN_WAIT` at `LOSSY_FROM` (about 5%
/// lost on each hop) to `LOSSY_WAIT` at `LOSSY_TO` (20% on each hop), just
/// under the 500 ms for which TalkLine's Janus keeps what it sent (a
/// request after that finds nothing; `min_nack_queue` in
/// tests/janus/janus.jcfg, where Janus's default is 200 ms). Latency for
/// frames: on such a path a lost base frame costs a keyframe, half a
/// second and more of nothing. On a simulated path through Janus
/// (`sfu_trace`, 8 seeds), frames shown went from 91% to 96% at 10% loss
/// on each hop and to 78% at 20%. Not from lower loss: a packet the wait
/// cannot bring back costs every frame of the longer wait.
const LOSSY_WAIT: Duration = Duration::from_millis(480);
const LOSSY_FROM: f64 = 0.12;
const LOSSY_TO: f64 = 0.30;
/// Weight of one sequence number in the share of packets that went
/// missing (about the last 200).
const MISSING_WEIGHT: f64 = 1.0 / 200.0;
/// Packets before the first one seen that may still arrive (reordered) and
/// start the first frame.
const STARTUP_REORDER: u64 = 16;
/// A frame nothing references waits for its retransmission about this many
/// round trips (within the budget above): the frames behind it need not.
const NON_REFERENCE_WAIT_RTTS: u32 = 3;
const NON_REFERENCE_MIN_WAIT: Duration = Duration::from_millis(100);

/// Through a server that keeps nothing to resend until it knows the round
/// trip (`with_late_resends`), the buffer's own keyframe requests wait for
/// that at most this long after the first packet: Janus sends its first
/// sender report a second in, and a lost one is followed by the next a
/// second later.
const MAX_KEYFRAME_HOLD: Duration = Duration::from_millis(1500);

/// The temporal-layer fields of a frame's payload descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TemporalInfo {
    temporal_id: u8,
    tl0_pic_idx: u8,
    /// Y: references only base-layer frames.
    layer_sync: bool,
    /// N: no frame references it.
    non_reference: bool,
}

/// What the decoder's chain of references holds, for streams with layers.
#[derive(Debug, Clone, Copy, Default)]
struct LayerChain {
    /// TL0PICIDX of the last base frame released; `None` when the stream
    /// has no layer fields (or they are not trusted yet).
    base: Option<u8>,
    /// Lowest layer of a frame given up since that base frame: upper
    /// frames at or above it may reference what is gone.
    broken_from: Option<u8>,
}

impl LayerChain {
    /// Whether a frame (not a keyframe) can be decoded on this chain.
    fn holds(&self, t: &TemporalInfo) -> Decodable {
        let Some(base) = self.base else {
            return Decodable::Yes;
        };
        if t.temporal_id == 0 {
            return if t.tl0_pic_idx == base.wrapping_add(1) {
                Decodable::Yes
            } else {
                Decodable::BaseLost
            };
        }
        if t.tl0_pic_idx != base {
            return Decodable::BaseLost;
        }
        match self.broken_from {
            Some(layer) if t.temporal_id >= layer && !t.layer_sync => Decodable::ReferenceLost,
            _ => Decodable::Yes,
        }
    }

    fn released(&mut self, keyframe: bool, t: Option<TemporalInfo>) {
        match t {
            Some(t) if keyframe || t.temporal_id == 0 => {
                self.base = Some(t.tl0_pic_idx);
                self.broken_from = None;
            }
            Some(_) => {}
            None => *self = Self::default(),
        }
    }

    /// A frame was given up; `None` when its first packet never came.
    /// Returns whether decoding can go on without a keyframe.
    fn lost(&mut self, t: Option<TemporalInfo>) -> bool {
        let Some(base) = self.base else {
            return false;
        };
        let layer = match t {
            // Its base is the one decoded last: only upper frames suffer.
            Some(t) if t.temporal_id > 0 && t.tl0_pic_idx == base => {
                if t.non_reference {
                    return true;
                }
                t.temporal_id
            }
            Some(_) => return false,
            // Unknown: every upper frame until the next base is suspect, and
            // that base's TL0PICIDX shows whether a base frame was lost.
            None => 1,
        };
        self.broken_from = Some(self.broken_from.map_or(layer, |b| b.min(layer)));
        true
    }
}

enum Decodable {
    Yes,
    /// A base frame is missing: only a keyframe helps.
    BaseLost,
    /// An upper frame it may reference was given up: skip it.
    ReferenceLost,
}

#[derive(Debug)]
struct Slot {
    seq: u64,
    timestamp: u32,
    marker: bool,
    /// The first packet of a frame (S bit, partition 0).
    frame_start: bool,
    keyframe: bool,
    /// Frame starts only, when the sender wrote them.
    temporal: Option<TemporalInfo>,
    /// The VP8 payload descriptor could not be read.
    corrupt: bool,
    /// The VP8 data, without the payload descriptor.
    data: Bytes,
}

/// A frame ready for the decoder: its references were all released before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasedFrame {
    pub data: Bytes,
    pub keyframe: bool,
    pub rtp_timestamp: u32,
}

/// Counters since the buffer was made.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JitterStats {
    pub frames_released: u64,
    /// Frames given up: a packet never came, or their references were lost.
    pub frames_lost: u64,
    pub packets_received: u64,
    /// Packets that arrived after they were asked for again.
    pub packets_recovered: u64,
    pub packets_reordered: u64,
    /// Packets that came after their frame was released or given up.
    pub packets_late: u64,
    pub duplicates: u64,
    /// Packets asked for again (each request counted).
    pub nacked: u64,
    pub keyframe_requests: u64,
    /// Of the frames lost, those the stream went on without (upper
    /// temporal layers): no keyframe was needed for them.
    pub upper_frames_skipped: u64,
}

enum Scan {
    /// Every packet from the head to a marker is here.
    Complete { end: u64, keyframe: bool },
    /// Still arriving; `hole` when a packet is missing before the newest
    /// one received (lost or reordered, not merely not yet sent).
    Incomplete { hole: bool },
    /// The packets at the head cannot make a frame (no frame start, a
    /// frame cut short, an unreadable descriptor).
    Broken,
}

pub struct VideoJitterBuffer {
    slots: Box<[Option<Slot>]>,
    unwrapper: SeqUnwrapper,
    /// A packet has been seen.
    started: bool,
    highest: Option<u64>,
    /// Everything before this was released or given up.
    done_below: u64,
    /// Where the next frame starts, once known.
    head: Option<u64>,
    /// Since when the frame at the head has had a hole.
    stalled_since: Option<Instant>,
    /// A frame was given up: only a keyframe can be decoded next.
    need_keyframe: bool,
    layers: LayerChain,
    last_keyframe_request: Option<Instant>,
    keyframe_asked_from_outside: bool,
    nacks: NackScheduler,
    nack_scratch: Vec<u64>,
    depacketizer: Vp8Packet,
    assembly: BytesMut,
    stats: JitterStats,
    /// Share of the latest packets that went missing on the way (whether
    /// or not a retransmission brought them later).
    missing_share: f64,
    late_resends: bool,
    first_packet_at: Option<Instant>,
    /// Since when the server keeps what it sends for resending.
    resends_from: Option<Instant>,
}

impl Default for VideoJitterBuffer {
    fn default() -> Self {
        Self::new()
    }
}

fn slot_index(seq: u64) -> usize {
    (seq % CAPACITY as u64) as usize
}

impl VideoJitterBuffer {
    pub fn new() -> Self {
        Self {
            slots: (0..CAPACITY).map(|_| None).collect(),
            unwrapper: SeqUnwrapper::default(),
            started: false,
            highest: None,
            done_below: 0,
            head: None,
            stalled_since: None,
            // The decoder starts with a keyframe.
            need_keyframe: true,
            layers: LayerChain::default(),
            last_keyframe_request: None,
            keyframe_asked_from_outside: false,
            nacks: NackScheduler::new(CAPACITY / 2),
            nack_scratch: Vec::with_capacity(CAPACITY / 2),
            depacketizer: Vp8Packet::default(),
            assembly: BytesMut::with_capacity(64 * 1024),
            stats: JitterStats::default(),
            missing_share: 0.0,
            late_resends: false,
            first_packet_at: None,
            resends_from: None,
        }
    }

    /// For a server that keeps nothing to resend until it has measured the
    /// round trip to this receiver. Janus learns it from a receiver report
    /// that echoes its first sender report, a second or more into the
    /// stream; until then every request for a packet goes unanswered, and a
    /// keyframe asked for then comes unrepairable: at 5% loss on each hop a
    /// keyframe of 25 packets arrives whole one time in four, and the
    /// picture stayed frozen until one did, often two or three seconds. So
    /// the buffer's own keyframe requests wait until the server keeps
    /// packets (`resends_from`), or `MAX_KEYFRAME_HOLD` after the first
    /// packet at most; a window's request does not.
    pub fn with_late_resends(mut self) -> Self {
        self.late_resends = true;
        self
    }

    /// The server keeps what it sends for resending from `at` on (the
    /// first report of it counts).
    pub fn resends_from(&mut self, at: Instant) {
        self.resends_from.get_or_insert(at);
    }

    /// When the hold on keyframe requests ends (see `with_late_resends`);
    /// `None` before the first packet.
    fn keyframe_hold_end(&self) -> Option<Instant> {
        let cap = self.first_packet_at? + MAX_KEYFRAME_HOLD;
        Some(self.resends_from.map_or(cap, |at| at.min(cap)))
    }

    fn holding_keyframe_requests(&self, now: Instant) -> bool {
        self.late_resends && self.keyframe_hold_end().is_none_or(|end| now < end)
    }

    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// The round trip measured from retransmissions (or the assumption
    /// made before one was timed).
    pub fn rtt(&self) -> Duration {
        self.nacks.rtt()
    }

    pub fn measured_rtt(&self) -> Option<Duration> {
        self.nacks.measured_rtt()
    }

    /// How long a frame with a hole waits for the missing packets: long
    /// enough for a few requests and answers (more on a lossy path), not so
    /// long that the picture freezes for good.
    pub fn wait_budget(&self) -> Duration {
        let lossy = (self.missing_share - LOSSY_FROM) / (LOSSY_TO - LOSSY_FROM);
        let for_loss = MIN_WAIT + (LOSSY_WAIT - MIN_WAIT).mul_f64(lossy.clamp(0.0, 1.0));
        (self.nacks.rtt() * 4 + Duration::from_millis(80))
            .max(for_loss)
            .clamp(MIN_WAIT, MAX_WAIT)
    }

    /// `missing` sequence numbers skipped, then one arrived.
    fn count_missing(&mut self, missing: u64) {
        let kept = (1.0 - MISSING_WEIGHT).powi(missing.min(1_000) as i32);
        self.missing_share = (1.0 - (1.0 - self.missing_share) * kept) * (1.0 - MISSING_WEIGHT);
    }

    /// How long the frame at `head` may hold the frames behind it.
    fn head_wait(&self, head: u64) -> Duration {
        let budget = self.wait_budget();
        if self.skippable(head) {
            (self.nacks.rtt() * NON_REFERENCE_WAIT_RTTS).clamp(NON_REFERENCE_MIN_WAIT, budget)
        } else {
            budget
        }
    }

    /// The frame at `head` is one the stream can go on without.
    fn skippable(&self, head: u64) -> bool {
        !self.need_keyframe
            && self.layers.base.is_some()
            && self
                .slot(head)
                .and_then(|p| p.temporal)
                .is_some_and(|t| t.non_reference)
    }

    fn slot(&self, seq: u64) -> Option<&Slot> {
        self.slots[slot_index(seq)]
            .as_ref()
            .filter(|s| s.seq == seq)
    }

    fn clear_range(&mut self, from: u64, to: u64) {
        for seq in from..to {
            let slot = &mut self.slots[slot_index(seq)];
            if slot.as_ref().is_some_and(|s| s.seq == seq) {
                *slot = None;
            }
        }
    }

    /// Forgets everything: the stream jumped (a new sender, a restart).
    fn restart_at(&mut self, seq: u64) {
        for slot in self.slots.iter_mut() {
            *slot = None;
        }
        self.nacks.clear();
        self.highest = None;
        self.done_below = seq;
        self.head = None;
        self.stalled_since = None;
        self.need_keyframe = true;
        self.layers = LayerChain::default();
    }

    /// Takes one received RTP packet of the stream.
    pub fn insert(&mut self, now: Instant, seq: u16, timestamp: u32, marker: bool, payload: Bytes) {
        if payload.is_empty() {
            return; // padding
        }
        self.stats.packets_received += 1;
        let raw = seq;
        let mut seq = self.unwrapper.extend(raw);
        if seq + (CAPACITY as u64) < self.done_below {
            // Far older than anything held: not a late packet but a new
            // stream numbered below the old one. Number it afresh.
            self.unwrapper = SeqUnwrapper::default();
            seq = self.unwrapper.extend(raw);
            self.restart_at(seq);
        }
        if !self.started {
            self.started = true;
            self.first_packet_at = Some(now);
            self.done_below = seq.saturating_sub(STARTUP_REORDER);
        }
        if seq < self.done_below {
            self.stats.packets_late += 1;
            let _ = self.nacks.arrived(now, seq);
            return;
        }
        if seq - self.done_below >= CAPACITY as u64 {
            self.restart_at(seq);
        }
        if self.slot(seq).is_some() {
            self.stats.duplicates += 1;
            return;
        }
        match self.highest {
            Some(highest) if seq > highest => {
                self.count_missing(seq - highest - 1);
                let from = (highest + 1).max(self.done_below);
                if from < seq && !self.nacks.gap(now, from, seq) {
                    // More lost than can be asked for: start over here.
                    log::debug!("video jitter buffer: {} packets lost at once", seq - from);
                    self.restart_at(seq);
                }
            }
            Some(_) => match self.nacks.arrived(now, seq) {
                Arrival::Recovered => self.stats.packets_recovered += 1,
                Arrival::Reordered => self.stats.packets_reordered += 1,
                Arrival::Expected => {}
            },
            None => {}
        }
        self.highest = Some(self.highest.map_or(seq, |h| h.max(seq)));
        // Fresh for each packet: it keeps the optional fields of the last
        // descriptor that had them.
        self.depacketizer = Vp8Packet::default();
        let (data, corrupt) = match self.depacketizer.depacketize(&payload) {
            Ok(data) => (data, false),
            Err(_) => (Bytes::new(), true),
        };
        let frame_start = !corrupt && self.depacketizer.s == 1 && self.depacketizer.pid == 0;
        let keyframe = frame_start && data.first().is_some_and(|b| b & 1 == 0);
        let d = &self.depacketizer;
        let temporal = (frame_start && d.t == 1 && d.l == 1).then_some(TemporalInfo {
            temporal_id: d.tid,
            tl0_pic_idx: d.tl0_pic_idx,
            layer_sync: d.y == 1,
            non_reference: d.n == 1,
        });
        self.slots[slot_index(seq)] = Some(Slot {
            seq,
            timestamp,
            marker,
            frame_start,
            keyframe,
            temporal,
            corrupt,
            data,
        });
    }

    fn scan(&self, head: u64) -> Scan {
        let Some(first) = self.slot(head) else {
            return Scan::Incomplete {
                hole: self.highest.is_some_and(|h| h > head),
            };
        };
        if !first.frame_start {
            return Scan::Broken;
        }
        let mut seq = head;
        loop {
            let Some(p) = self.slot(seq) else {
                return Scan::Incomplete {
                    hole: self.highest.is_some_and(|h| h > seq),
                };
            };
            if p.corrupt || p.timestamp != first.timestamp || (seq > head && p.frame_start) {
                return Scan::Broken;
            }
            if p.marker {
                return Scan::Complete {
                    end: seq,
                    keyframe: first.keyframe,
                };
            }
            seq += 1;
            if seq - head >= MAX_FRAME_PACKETS {
                return Scan::Broken;
            }
        }
    }

    /// The first packet after `after` that starts a frame.
    fn next_frame_start(&self, after: u64) -> Option<u64> {
        let highest = self.highest?;
        (after + 1..=highest).find(|&s| self.slot(s).is_some_and(|p| p.frame_start))
    }

    /// A keyframe after `after` whose packets are all here.
    fn complete_keyframe_after(&self, after: u64) -> Option<u64> {
        let highest = self.highest?;
        (after + 1..=highest).find(|&s| {
            self.slot(s).is_some_and(|p| p.keyframe)
                && matches!(self.scan(s), Scan::Complete { .. })
        })
    }

    /// Drops everything before `seq`, counting the frames lost with it
    /// (the one at `from`, and any other that started in between).
    fn skip_to(&mut self, from: u64, seq: u64) {
        let others = (from + 1..seq)
            .filter(|&s| self.slot(s).is_some_and(|p| p.frame_start))
            .count() as u64;
        self.stats.frames_lost += 1 + others;
        self.clear_range(from, seq);
        self.done_below = seq;
        self.nacks.forget_before(seq);
        self.stalled_since = None;
    }

    /// Gives up the frame at the head: the decoder needs a keyframe now,
    /// unless the frame was one the stream can go on without.
    fn give_up(&mut self, now: Instant, head: u64) {
        if log::log_enabled!(log::Level::Debug) {
            log::debug!(
                "video: gave up the frame at {}; missing {}",
                head as u16,
                self.nacks.describe(now)
            );
        }
        let temporal = self.slot(head).and_then(|p| p.temporal);
        if !self.need_keyframe && self.layers.lost(temporal) {
            self.stats.upper_frames_skipped += 1;
        } else {
            self.need_keyframe = true;
        }
        let next = self.next_frame_start(head).unwrap_or(head + 1);
        self.skip_to(head, next);
        self.head = None;
    }

    /// Finds where the next frame starts after a loss or at the start:
    /// the first frame start, or, while the decoder needs one, the first
    /// keyframe (frames before it could not be decoded). Until one is
    /// found nothing is dropped, so a reordered packet may still start it.
    fn find_head(&mut self) {
        if self.head.is_some() {
            return;
        }
        let start = self.done_below;
        let want_key = self.need_keyframe;
        let found = (start..=self.highest.unwrap_or(0)).find(|&s| {
            self.slot(s)
                .is_some_and(|p| p.frame_start && (p.keyframe || !want_key))
        });
        if let Some(head) = found {
            let skipped = (start..head)
                .filter(|&s| self.slot(s).is_some_and(|p| p.frame_start))
                .count() as u64;
            self.stats.frames_lost += skipped;
            self.clear_range(start, head);
            self.nacks.forget_before(head);
            self.done_below = head;
            self.head = Some(head);
        }
    }

    /// The next frame that can be decoded, if one is ready at `now`.
    pub fn pop_frame(&mut self, now: Instant) -> Option<ReleasedFrame> {
        loop {
            self.find_head();
            let head = self.head?;
            match self.scan(head) {
                Scan::Complete { end, keyframe } => {
                    let timestamp = self.slot(head).map_or(0, |p| p.timestamp);
                    self.head = Some(end + 1);
                    self.done_below = end + 1;
                    self.stalled_since = None;
                    self.nacks.forget_before(end + 1);
                    let temporal = self.slot(head).and_then(|p| p.temporal);
                    let decodable = match temporal {
                        _ if keyframe => Decodable::Yes,
                        _ if self.need_keyframe => Decodable::BaseLost,
                        Some(t) => self.layers.holds(&t),
                        None => Decodable::Yes,
                    };
                    match decodable {
                        Decodable::Yes => {}
                        Decodable::BaseLost => {
                            // Its references are gone: the decoder cannot use it.
                            self.need_keyframe = true;
                            self.clear_range(head, end + 1);
                            self.stats.frames_lost += 1;
                            continue;
                        }
                        Decodable::ReferenceLost => {
                            self.clear_range(head, end + 1);
                            self.stats.frames_lost += 1;
                            self.stats.upper_frames_skipped += 1;
                            continue;
                        }
                    }
                    self.layers.released(keyframe, temporal);
                    self.assembly.clear();
                    for seq in head..=end {
                        if let Some(p) = self.slots[slot_index(seq)].take() {
                            self.assembly.extend_from_slice(&p.data);
                        }
                    }
                    self.need_keyframe = false;
                    self.stats.frames_released += 1;
                    return Some(ReleasedFrame {
                        data: self.assembly.split().freeze(),
                        keyframe,
                        rtp_timestamp: timestamp,
                    });
                }
                Scan::Broken => self.give_up(now, head),
                Scan::Incomplete { hole } => {
                    if let Some(keyframe) = self.complete_keyframe_after(head) {
                        // A whole keyframe is here: nothing before it matters.
                        self.skip_to(head, keyframe);
                        self.head = Some(keyframe);
                        continue;
                    }
                    let useless =
                        self.need_keyframe && self.slot(head).is_some_and(|p| !p.keyframe);
                    if useless {
                        // It could not be decoded even once complete.
                        self.give_up(now, head);
                        continue;
                    }
                    if !hole {
                        // Filled since (or never broken): only still arriving.
                        self.stalled_since = None;
                        return None;
                    }
                    let since = *self.stalled_since.get_or_insert(now);
                    if now < since + self.head_wait(head) {
                        return None;
                    }
                    self.give_up(now, head);
                }
            }
        }
    }

    /// Appends the sequence numbers to ask for again now.
    pub fn poll_nacks(&mut self, now: Instant, out: &mut Vec<u16>) {
        self.nack_scratch.clear();
        self.nacks.poll(now, &mut self.nack_scratch);
        // On the wire, the low 16 bits.
        out.extend(self.nack_scratch.iter().map(|&s| s as u16));
        self.stats.nacked += self.nack_scratch.len() as u64;
    }

    /// The decoder lost its chain of references (it fell behind, or a
    /// frame failed to decode): release nothing but a keyframe next, and
    /// ask for one at the paced rate.
    pub fn decoder_needs_keyframe(&mut self) {
        self.need_keyframe = true;
    }

    /// Someone else (a window decoding the stream itself) needs a keyframe:
    /// the next `poll_keyframe_request` asks, whatever the pacing.
    pub fn request_keyframe(&mut self) {
        self.keyframe_asked_from_outside = true;
    }

    /// A keyframe at the head is being recovered: asking for another would
    /// only send more big frames into the same loss.
    fn keyframe_on_its_way(&self) -> bool {
        self.head
            .and_then(|h| self.slot(h))
            .is_some_and(|p| p.keyframe)
    }

    /// Whether to ask the sender for a keyframe now: the decoder needs one
    /// (recovery failed) and none was asked for lately.
    pub fn poll_keyframe_request(&mut self, now: Instant) -> bool {
        let keyframe_on_its_way = self.keyframe_on_its_way();
        let due = self.keyframe_asked_from_outside
            || (self.need_keyframe
                && !keyframe_on_its_way
                && !self.holding_keyframe_requests(now)
                && self
                    .last_keyframe_request
                    .is_none_or(|t| now >= t + KEYFRAME_REQUEST_INTERVAL));
        if due {
            self.keyframe_asked_from_outside = false;
            self.last_keyframe_request = Some(now);
            self.stats.keyframe_requests += 1;
        }
        due
    }

    /// When the buffer next has something to do without a new packet: a
    /// request to repeat, a stalled frame to give up, a keyframe to ask for.
    pub fn next_timeout(&self) -> Option<Instant> {
        let give_up = self
            .stalled_since
            .zip(self.head)
            .map(|(t, head)| t + self.head_wait(head));
        // A keyframe on its way is waited for by the stall above.
        let keyframe = (self.need_keyframe && !self.keyframe_on_its_way())
            .then(|| {
                let paced = self
                    .last_keyframe_request
                    .map(|t| t + KEYFRAME_REQUEST_INTERVAL);
                let held = self
                    .late_resends
                    .then(|| self.keyframe_hold_end())
                    .flatten();
                paced.max(held)
            })
            .flatten();
        [self.nacks.next_due(), give_up, keyframe]
            .into_iter()
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vp8_packetizer::{FrameLayer, Vp8Packetizer};
    use rtc::rtp::codec::vp8::Vp8Payloader;
    use rtc::rtp::packetizer::Payloader;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// One RTP packet of a synthetic VP8 stream.
    #[derive(Debug, Clone)]
    struct Pkt {
        seq: u16,
        ts: u32,
        marker: bool,
        payload: Bytes,
        frame: usize,
    }

    /// Frame `i` is a keyframe when `key(i)`; its bytes say which frame it
    /// is, and it spans `packets` packets.
    fn frame_bytes(i: usize, key: bool, len: usize) -> Vec<u8> {
        let mut data: Vec<u8> = (0..len).map(|j| (i * 7 + j) as u8).collect();
        // VP8 frame tag: bit 0 clear on a keyframe.
        data[0] = if key { 0x10 } else { 0x11 };
        data[1] = i as u8;
        data[2] = (i >> 8) as u8;
        data
    }

    fn stream(
        frames: usize,
        first_seq: u16,
        key: impl Fn(usize) -> bool,
    ) -> (Vec<Pkt>, Vec<Vec<u8>>) {
        let mut payloader = Vp8Payloader::default();
        let mut seq = first_seq;
        let mut packets = Vec::new();
        let mut sent = Vec::new();
        for i in 0..frames {
            let data = frame_bytes(i, key(i), 1000 + (i % 5) * 700);
            let parts = payloader
                .payload(600, &Bytes::copy_from_slice(&data))
                .expect("payload");
            let last = parts.len() - 1;
            for (j, payload) in parts.into_iter().enumerate() {
                packets.push(Pkt {
                    seq,
                    ts: 3000 * i as u32,
                    marker: j == last,
                    payload,
                    frame: i,
                });
                seq = seq.wrapping_add(1);
            }
            sent.push(data);
        }
        (packets, sent)
    }

    /// A two-layer stream as the sender packetizes it: keyframes where
    /// `key(i)`, otherwise upper and base frames in turn.
    fn layered_stream(frames: usize, first_seq: u16, key: impl Fn(usize) -> bool) -> Vec<Pkt> {
        layered(frames, first_seq, key, |since_key| {
            FrameLayer::two_layer((since_key % 2) as u8)
        })
    }

    /// The sender's three-layer pattern: base every 8th frame, layer 1 on
    /// even frames between, layer 2 (referenced by nothing) on odd ones.
    fn three_layer(since_key: usize) -> FrameLayer {
        match since_key % 8 {
            0 => FrameLayer {
                temporal_id: 0,
                non_reference: false,
                layer_sync: false,
            },
            i if i % 2 == 1 => FrameLayer {
                temporal_id: 2,
                non_reference: true,
                layer_sync: i == 1,
            },
            i => FrameLayer {
                temporal_id: 1,
                non_reference: false,
                layer_sync: i == 2,
            },
        }
    }

    fn layered(
        frames: usize,
        first_seq: u16,
        key: impl Fn(usize) -> bool,
        layer_of: impl Fn(usize) -> FrameLayer,
    ) -> Vec<Pkt> {
        let mut packetizer = Vp8Packetizer::new(1, 96, first_seq, 0);
        let start = Instant::now();
        let (mut staging, mut rtp) = (BytesMut::new(), Vec::new());
        let mut packets = Vec::new();
        let mut since_key = 0;
        for i in 0..frames {
            let keyframe = key(i);
            since_key = if keyframe { 0 } else { since_key + 1 };
            let layer = layer_of(since_key);
            let data = frame_bytes(i, keyframe, 1000 + (i % 3) * 900);
            rtp.clear();
            packetizer.packetize(
                &data,
                layer,
                start + ms(33 * i as u64),
                &mut staging,
                &mut rtp,
            );
            packets.extend(rtp.iter().map(|r| Pkt {
                seq: r.header.sequence_number,
                ts: r.header.timestamp,
                marker: r.header.marker,
                payload: r.payload.clone(),
                frame: i,
            }));
        }
        packets
    }

    /// Feeds `packets` less those `lost` says, 1 ms apart, then lets every
    /// wait run out; returns the frame numbers released.
    fn play(b: &mut VideoJitterBuffer, packets: &[Pkt], lost: impl Fn(&Pkt) -> bool) -> Vec<usize> {
        let t0 = Instant::now();
        let mut out = Vec::new();
        for (i, p) in packets.iter().enumerate() {
            if !lost(p) {
                feed(b, t0 + ms(i as u64), p, &mut out);
            }
        }
        // Each wait in turn runs out.
        let mut now = t0 + ms(packets.len() as u64);
        for _ in 0..500 {
            now += ms(10);
            while let Some(f) = b.pop_frame(now) {
                out.push(f);
            }
        }
        out.iter().map(frame_number).collect()
    }

    #[test]
    fn a_lost_upper_layer_frame_costs_that_frame_only() {
        let packets = layered_stream(20, 65_530, |i| i == 0);
        // Frame 5 lost whole; frame 7 (two packets) loses its tail.
        let tail_of_7 = last_seq_of(&packets, 7);
        let mut b = VideoJitterBuffer::new();
        assert!(b.poll_keyframe_request(Instant::now()), "the start asks");
        let shown = play(&mut b, &packets, |p| p.frame == 5 || p.seq == tail_of_7);
        let expected: Vec<usize> = (0..20).filter(|&i| i != 5 && i != 7).collect();
        assert_eq!(shown, expected);
        let stats = b.stats();
        assert_eq!((stats.frames_lost, stats.upper_frames_skipped), (2, 2));
        let later = Instant::now() + ms(10_000);
        assert!(!b.poll_keyframe_request(later), "no keyframe was needed");
    }

    #[test]
    fn a_lost_layer_one_frame_costs_the_rest_of_its_period_only() {
        let packets = layered(30, 900, |i| i == 0, three_layer);
        let mut b = VideoJitterBuffer::new();
        assert!(b.poll_keyframe_request(Instant::now()));
        // Frame 10 is the first layer-1 frame of the second period; 11-15
        // may depend on it, 16 is the next base frame.
        let shown = play(&mut b, &packets, |p| p.frame == 10);
        let expected: Vec<usize> = (0..30).filter(|i| !(10..16).contains(i)).collect();
        assert_eq!(shown, expected);
        assert_eq!(b.stats().upper_frames_skipped, 6);
        assert!(!b.poll_keyframe_request(Instant::now() + ms(10_000)));
        // A layer-2 frame that lost its tail is that frame alone...
        let tail_of_13 = last_seq_of(&packets, 13);
        let mut b = VideoJitterBuffer::new();
        let shown = play(&mut b, &packets, |p| p.seq == tail_of_13);
        let expected: Vec<usize> = (0..30).filter(|&i| i != 13).collect();
        assert_eq!(shown, expected);
        // ...and one lost whole could have been any layer: the frames up to
        // the next base frame may depend on it.
        let mut b = VideoJitterBuffer::new();
        let shown = play(&mut b, &packets, |p| p.frame == 13);
        let expected: Vec<usize> = (0..30).filter(|i| !(13..16).contains(i)).collect();
        assert_eq!(shown, expected);
        assert!(!b.poll_keyframe_request(Instant::now() + ms(10_000)));
    }

    #[test]
    fn a_lost_base_layer_frame_needs_a_keyframe() {
        let packets = layered_stream(20, 100, |i| i == 0 || i == 12);
        let tail_of_4 = last_seq_of(&packets, 4);
        // Lost whole (the next frames' TL0PICIDX shows it), or in part.
        for lost_whole in [true, false] {
            let mut b = VideoJitterBuffer::new();
            assert!(b.poll_keyframe_request(Instant::now()));
            let shown = play(&mut b, &packets, |p| {
                if lost_whole {
                    p.frame == 4
                } else {
                    p.seq == tail_of_4
                }
            });
            let expected: Vec<usize> = (0..4).chain(12..20).collect();
            assert_eq!(shown, expected, "lost whole: {lost_whole}");
            assert_eq!(b.stats().frames_lost, 8);
        }
        // Asked for while it waited, before the keyframe came.
        let mut b = VideoJitterBuffer::new();
        let t0 = Instant::now();
        assert!(b.poll_keyframe_request(t0));
        let mut out = Vec::new();
        for p in packets.iter().filter(|p| p.frame < 12 && p.frame != 4) {
            feed(&mut b, t0, p, &mut out);
        }
        let later = t0 + MAX_WAIT * 2;
        while b.pop_frame(later).is_some() {}
        assert!(b.poll_keyframe_request(later));
    }

    #[test]
    fn a_lost_base_frame_between_two_upper_frames_is_seen_by_its_index() {
        // Base frame 6 lost whole, with its neighbours 5 and 7 both upper:
        // frame 7 names a base the decoder never had.
        let packets = layered_stream(10, 4000, |i| i == 0);
        let mut b = VideoJitterBuffer::new();
        let shown = play(&mut b, &packets, |p| p.frame == 6);
        assert_eq!(shown, [0, 1, 2, 3, 4, 5]);
        assert!(b.poll_keyframe_request(Instant::now() + ms(10_000)));
    }

    /// The last packet of `frame`, which must span two or more.
    fn last_seq_of(packets: &[Pkt], frame: usize) -> u16 {
        assert!(packets.iter().filter(|p| p.frame == frame).count() >= 2);
        packets
            .iter()
            .rfind(|p| p.frame == frame)
            .map(|p| p.seq)
            .expect("the frame's packets")
    }

    fn feed(b: &mut VideoJitterBuffer, now: Instant, p: &Pkt, out: &mut Vec<ReleasedFrame>) {
        b.insert(now, p.seq, p.ts, p.marker, p.payload.clone());
        while let Some(f) = b.pop_frame(now) {
            out.push(f);
        }
    }

    fn frame_number(f: &ReleasedFrame) -> usize {
        f.data[1] as usize | (f.data[2] as usize) << 8
    }

    #[test]
    fn releases_every_frame_in_order_across_the_sequence_wrap() {
        let (packets, sent) = stream(40, 65_500, |i| i == 0);
        let mut b = VideoJitterBuffer::new();
        let t0 = Instant::now();
        let mut out = Vec::new();
        for (i, p) in packets.iter().enumerate() {
            feed(&mut b, t0 + ms(i as u64), p, &mut out);
        }
        let got: Vec<Vec<u8>> = out.iter().map(|f| f.data.to_vec()).collect();
        assert_eq!(got, sent);
        assert!(out[0].keyframe && !out[1].keyframe);
        assert_eq!(b.stats().frames_lost, 0);
        let mut nacks = Vec::new();
        b.poll_nacks(t0 + ms(1000), &mut nacks);
        assert!(nacks.is_empty());
    }

    #[test]
    fn a_lost_packet_is_asked_for_and_the_frames_behind_it_wait_for_it() {
        let (packets, sent) = stream(10, 100, |i| i == 0);
        let lost = packets
            .iter()
            .position(|p| p.frame == 3 && !p.marker)
            .expect("a packet of frame 3");
        let mut b = VideoJitterBuffer::new();
        let t0 = Instant::now();
        let mut out = Vec::new();
        for (i, p) in packets.iter().enumerate() {
            if i != lost {
                feed(&mut b, t0 + ms(i as u64), p, &mut out);
            }
        }
        assert_eq!(out.len(), 3, "frames behind the hole were released");
        let now = t0 + ms(packets.len() as u64);
        let mut nacks = Vec::new();
        b.poll_nacks(now, &mut nacks);
        assert_eq!(nacks, [packets[lost].seq]);
        assert_eq!(
            b.pop_frame(now + ms(100)),
            None,
            "gave up before the budget"
        );
        // The retransmission comes 40 ms after the request.
        feed(&mut b, now + ms(40), &packets[lost], &mut out);
        let got: Vec<Vec<u8>> = out.iter().map(|f| f.data.to_vec()).collect();
        assert_eq!(got, sent);
        let stats = b.stats();
        assert_eq!((stats.frames_lost, stats.packets_recovered), (0, 1));
        assert_eq!(b.rtt(), ms(40));
        assert_eq!(stats.keyframe_requests, 0);
    }

    #[test]
    fn a_packet_that_never_comes_costs_frames_until_the_next_keyframe_asked_for_once() {
        let (packets, _) = stream(30, 7, |i| i == 0 || i == 20);
        let lost = packets.iter().position(|p| p.frame == 5).expect("frame 5");
        let mut b = VideoJitterBuffer::new();
        let t0 = Instant::now();
        assert!(
            b.poll_keyframe_request(t0),
            "a new stream starts with a keyframe request"
        );
        let mut out = Vec::new();
        let mut now = t0;
        for (i, p) in packets.iter().enumerate() {
            now = t0 + ms(5 * i as u64);
            if i != lost {
                feed(&mut b, now, p, &mut out);
            }
            if p.frame == 10 && p.marker {
                // Frames 6..10 waited; the budget is over by now.
                assert_eq!(out.len(), 5);
                assert!(b.pop_frame(now + b.wait_budget()).is_none());
                assert!(b.poll_keyframe_request(now + b.wait_budget()));
                assert!(
                    !b.poll_keyframe_request(now + b.wait_budget() + ms(100)),
                    "not paced"
                );
            }
        }
        while let Some(f) = b.pop_frame(now) {
            out.push(f);
        }
        let numbers: Vec<usize> = out.iter().map(frame_number).collect();
        let expected: Vec<usize> = (0..5).chain(20..30).collect();
        assert_eq!(numbers, expected);
        assert_eq!(b.stats().frames_lost, 15);
        assert!(
            !b.poll_keyframe_request(now + ms(5000)),
            "asked after the keyframe came"
        );
    }

    #[test]
    fn through_a_server_that_resends_late_keyframe_requests_wait_until_it_keeps_packets() {
        // Frame 0, the keyframe, lost a packet for good; frames 1.. come.
        let (packets, _) = stream(20, 100, |i| i == 0);
        let broken = packets.iter().position(|p| p.frame == 0).expect("frame 0");
        let t0 = Instant::now();
        let mut late = VideoJitterBuffer::new().with_late_resends();
        let mut plain = VideoJitterBuffer::new();
        assert!(
            !late.poll_keyframe_request(t0),
            "nothing asked before a packet"
        );
        assert!(plain.poll_keyframe_request(t0));
        let mut out = Vec::new();
        let mut now = t0;
        for (i, p) in packets.iter().enumerate().filter(|&(i, _)| i != broken + 1) {
            now = t0 + ms(i as u64);
            feed(&mut late, now, p, &mut out);
            feed(&mut plain, now, p, &mut out);
            assert!(!late.poll_keyframe_request(now), "asked at {:?}", now - t0);
        }
        assert!(out.is_empty(), "a frame without its keyframe");
        // Both gave the keyframe up.
        let gave_up = now + MAX_WAIT;
        assert!(gave_up + ms(200) < t0 + MAX_KEYFRAME_HOLD);
        assert!(plain.pop_frame(gave_up).is_none() && late.pop_frame(gave_up).is_none());
        assert!(
            plain.poll_keyframe_request(gave_up),
            "the buffer without the hold asks at its pace"
        );
        assert!(!late.poll_keyframe_request(gave_up));
        // The server's sender report came; our report echoing it reaches
        // the server 200 ms later.
        let reported = gave_up + ms(200);
        late.resends_from(reported);
        late.resends_from(reported + ms(1_000));
        assert_eq!(late.next_timeout(), Some(reported));
        assert!(!late.poll_keyframe_request(reported - ms(1)));
        assert!(
            late.poll_keyframe_request(reported),
            "not asked once it keeps packets"
        );
        assert!(!late.poll_keyframe_request(reported + ms(1)), "not paced");

        // With no report, the hold ends 1.5 s after the first packet; a
        // window that starts decoding is not held.
        let (deltas, _) = stream(3, 7, |_| false);
        let mut unreported = VideoJitterBuffer::new().with_late_resends();
        let mut window = VideoJitterBuffer::new().with_late_resends();
        for p in &deltas {
            feed(&mut unreported, t0, p, &mut out);
            feed(&mut window, t0, p, &mut out);
        }
        assert!(out.is_empty());
        assert!(!unreported.poll_keyframe_request(t0 + MAX_KEYFRAME_HOLD - ms(1)));
        assert!(unreported.poll_keyframe_request(t0 + MAX_KEYFRAME_HOLD));
        window.request_keyframe();
        assert!(window.poll_keyframe_request(t0));
    }

    #[test]
    fn reordered_and_duplicated_packets_lose_nothing_and_ask_for_nothing() {
        let (mut packets, sent) = stream(20, 65_530, |i| i == 0);
        for pair in packets.chunks_mut(3) {
            pair.reverse();
        }
        let dup = packets[10].clone();
        packets.insert(14, dup);
        let mut b = VideoJitterBuffer::new();
        let t0 = Instant::now();
        let mut out = Vec::new();
        let mut nacks = Vec::new();
        for p in &packets {
            feed(&mut b, t0, p, &mut out);
            b.poll_nacks(t0, &mut nacks);
        }
        let got: Vec<Vec<u8>> = out.iter().map(|f| f.data.to_vec()).collect();
        assert_eq!(got, sent);
        assert!(nacks.is_empty(), "{nacks:?}");
        let stats = b.stats();
        assert_eq!(stats.duplicates, 1);
        assert!(stats.packets_reordered > 0);
    }

    #[test]
    fn a_whole_keyframe_ends_the_wait_for_older_frames() {
        let (packets, _) = stream(8, 500, |i| i == 0 || i == 4);
        let lost = packets.iter().position(|p| p.frame == 2).expect("frame 2");
        let mut b = VideoJitterBuffer::new();
        let t0 = Instant::now();
        let mut out = Vec::new();
        for (i, p) in packets.iter().enumerate() {
            if i != lost {
                feed(&mut b, t0, p, &mut out);
            }
        }
        let numbers: Vec<usize> = out.iter().map(frame_number).collect();
        assert_eq!(numbers, [0, 1, 4, 5, 6, 7]);
    }

    #[test]
    fn a_jump_in_sequence_numbers_restarts_at_the_next_keyframe() {
        // A new sender numbered ahead of the old one, then one behind it.
        let (a, _) = stream(5, 1000, |i| i == 0);
        let (ahead, _) = stream(5, 20_000, |i| i == 1);
        let (behind, _) = stream(5, 2_000, |i| i == 2);
        let mut b = VideoJitterBuffer::new();
        let t0 = Instant::now();
        let mut out = Vec::new();
        for p in a.iter().chain(&ahead).chain(&behind) {
            feed(&mut b, t0, p, &mut out);
        }
        let numbers: Vec<usize> = out.iter().map(frame_number).collect();
        assert_eq!(numbers, [0, 1, 2, 3, 4, 1, 2, 3, 4, 2, 3, 4]);
        let mut nacks = Vec::new();
        b.poll_nacks(t0 + ms(500), &mut nacks);
        assert!(nacks.is_empty(), "asked for the packets of the jump");
    }

    #[test]
    fn a_filled_hole_stops_the_give_up_clock_and_a_keyframe_being_recovered_is_not_asked_again() {
        let (packets, _) = stream(3, 300, |i| i == 0);
        let key: Vec<&Pkt> = packets.iter().filter(|p| p.frame == 0).collect();
        assert!(key.len() >= 2);
        let mut b = VideoJitterBuffer::new();
        let t0 = Instant::now();
        let mut out = Vec::new();
        assert!(b.poll_keyframe_request(t0));
        // The keyframe's first packet, then one after a hole.
        feed(&mut b, t0, key[0], &mut out);
        let after_hole = packets.iter().find(|p| p.frame == 1).expect("frame 1");
        feed(&mut b, t0, after_hole, &mut out);
        assert!(b.pop_frame(t0 + ms(10)).is_none());
        assert!(
            !b.poll_keyframe_request(t0 + ms(600)),
            "asked again while the keyframe was being recovered"
        );
        // The hole fills; the keyframe's tail is still on its way.
        for p in &key[1..key.len() - 1] {
            feed(&mut b, t0 + ms(20), p, &mut out);
        }
        if key.len() > 2 {
            assert!(b.pop_frame(t0 + ms(20)).is_none());
            let wake = b.next_timeout();
            assert!(
                wake.is_none_or(|t| t > t0 + ms(20)),
                "a deadline in the past: the receive task would spin"
            );
        }
        feed(&mut b, t0 + ms(30), key[key.len() - 1], &mut out);
        // The keyframe; frame 1 has only its first packet so far.
        assert_eq!(out.len(), 1);
        assert!(out[0].keyframe);
    }

    /// A synthetic call: a sender with a history answers requests after a
    /// round trip, and each way loses packets at random. Nearly every frame
    /// must come out, in order.
    #[test]
    fn recovers_nearly_everything_at_ten_percent_loss_each_way() {
        let (packets, _) = stream(600, 60_000, |i| i % 300 == 0);
        let mut rng = 0x2545_f491_u64;
        let mut lose = |percent: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % 100 < percent
        };
        let t0 = Instant::now();
        let one_way = ms(15);
        // (arrival time, packet index), kept sorted by time.
        let mut in_flight: Vec<(Instant, usize)> = Vec::new();
        for (i, p) in packets.iter().enumerate() {
            let sent = t0 + ms(33 * p.frame as u64) + Duration::from_micros(100 * i as u64 % 3000);
            if !lose(10) {
                in_flight.push((sent + one_way, i));
            }
        }
        in_flight.sort();
        let by_seq = |seq: u16| packets.iter().position(|p| p.seq == seq);
        let mut b = VideoJitterBuffer::new();
        let mut out = Vec::new();
        let mut nacks = Vec::new();
        let mut now = t0;
        let end = t0 + ms(33 * 600 + 2000);
        while now < end {
            while in_flight.first().is_some_and(|(t, _)| *t <= now) {
                let (_, i) = in_flight.remove(0);
                feed(&mut b, now, &packets[i], &mut out);
            }
            while let Some(f) = b.pop_frame(now) {
                out.push(f);
            }
            nacks.clear();
            b.poll_nacks(now, &mut nacks);
            for &seq in &nacks {
                // The request and the answer can each be lost.
                if let Some(i) = by_seq(seq).filter(|_| !lose(10) && !lose(10)) {
                    let at = now + one_way * 2;
                    let pos = in_flight.partition_point(|(t, _)| *t <= at);
                    in_flight.insert(pos, (at, i));
                }
            }
            now += ms(1);
        }
        let numbers: Vec<usize> = out.iter().map(frame_number).collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "out of order");
        let shown = out.len() as f64 / 600.0;
        assert!(
            shown >= 0.97,
            "only {:.1}% of frames came out",
            shown * 100.0
        );
        assert!(b.rtt() >= ms(29) && b.rtt() <= ms(32), "rtt {:?}", b.rtt());
    }

    #[test]
    fn garbage_never_panics() {
        let mut b = VideoJitterBuffer::new();
        let t0 = Instant::now();
        let mut seed = 7u32;
        let mut nacks = Vec::new();
        for i in 0..20_000u32 {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let len = (seed >> 24) as usize % 40;
            let payload: Vec<u8> = (0..len).map(|j| (seed >> (j % 24)) as u8).collect();
            let now = t0 + ms(u64::from(i / 10));
            b.insert(
                now,
                (seed >> 8) as u16,
                seed % 7,
                seed.is_multiple_of(3),
                Bytes::from(payload),
            );
            while b.pop_frame(now).is_some() {}
            b.poll_nacks(now, &mut nacks);
            nacks.clear();
            let _ = b.poll_keyframe_request(now);
            let _ = b.next_timeout();
        }
    }
}
