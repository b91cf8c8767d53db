//! VP8 frames into RTP packets (RFC 7741), with the payload descriptor's
//! picture ID and temporal-layer fields. webrtc-rs's packetizer writes a
//! picture ID only; without TID and TL0PICIDX a receiver (ours, or
//! Chromium's) cannot tell that a lost frame was one nothing references,
//! and waits for a keyframe after every unrecoverable loss.
//!
//! Pure: the caller passes the capture instant and gets packets back.

use std::time::Instant;

use bytes::{BufMut, BytesMut};
use rtc::rtp::header::Header;
use rtc::rtp::packet::Packet;

/// RTP payload bytes per packet, as webrtc-rs sends (1200 less the RTP
/// header): small enough for any path's MTU with TURN and SRTP overhead.
const MAX_PAYLOAD: usize = 1200 - 12;
/// X, I|L|T, two bytes of picture ID, TL0PICIDX, TID|Y.
const DESCRIPTOR_LEN: usize = 6;
const VIDEO_CLOCK_HZ: u64 = 90_000;

pub use talkline_media::vp8::FrameLayer;

#[derive(Debug)]
pub struct Vp8Packetizer {
    ssrc: u32,
    payload_type: u8,
    sequence: u16,
    /// 15 bits, one per frame.
    picture_id: u16,
    /// One per base-layer frame; upper-layer frames carry their base's.
    tl0_pic_idx: u8,
    /// The first frame's capture instant and RTP timestamp: the media clock
    /// follows capture times, so frames skipped on a squeezed path keep the
    /// timeline real.
    clock: Option<(Instant, u32)>,
    first_timestamp: u32,
}

impl Vp8Packetizer {
    /// Sequence numbers and timestamps start where the caller says (random
    /// in a call, RFC 3550 §5.1).
    pub fn new(ssrc: u32, payload_type: u8, first_sequence: u16, first_timestamp: u32) -> Self {
        Self {
            ssrc,
            payload_type,
            sequence: first_sequence,
            picture_id: first_sequence & 0x7fff,
            tl0_pic_idx: first_timestamp as u8,
            clock: None,
            first_timestamp,
        }
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    fn timestamp(&mut self, captured: Instant) -> u32 {
        let (start, base) = *self.clock.get_or_insert((captured, self.first_timestamp));
        let ticks = captured.saturating_duration_since(start).as_micros() as u64 * VIDEO_CLOCK_HZ
            / 1_000_000;
        base.wrapping_add(ticks as u32)
    }

    /// Appends the packets of one encoded frame to `out`, payloads cut from
    /// `staging` (its capacity is reused once the packets are gone).
    pub fn packetize(
        &mut self,
        frame: &[u8],
        layer: FrameLayer,
        captured: Instant,
        staging: &mut BytesMut,
        out: &mut Vec<Packet>,
    ) {
        if frame.is_empty() {
            return;
        }
        let timestamp = self.timestamp(captured);
        if layer.temporal_id == 0 {
            self.tl0_pic_idx = self.tl0_pic_idx.wrapping_add(1);
        }
        // Equal shares rather than full packets and a runt: the loss of any
        // one costs the same.
        let room = MAX_PAYLOAD - DESCRIPTOR_LEN;
        let count = frame.len().div_ceil(room);
        let share = frame.len().div_ceil(count);
        for (index, chunk) in frame.chunks(share).enumerate() {
            staging.reserve(DESCRIPTOR_LEN + chunk.len());
            let mut first = 0x80; // X: the extension byte follows
            if layer.non_reference {
                first |= 0x20;
            }
            if index == 0 {
                first |= 0x10; // S, partition 0
            }
            staging.put_u8(first);
            staging.put_u8(0xe0); // I, L, T
            staging.put_u16(0x8000 | self.picture_id);
            staging.put_u8(self.tl0_pic_idx);
            staging.put_u8((layer.temporal_id & 0x03) << 6 | u8::from(layer.layer_sync) << 5);
            staging.put_slice(chunk);
            out.push(Packet {
                header: Header {
                    version: 2,
                    marker: index + 1 == count,
                    payload_type: self.payload_type,
                    sequence_number: self.sequence,
                    timestamp,
                    ssrc: self.ssrc,
                    ..Header::default()
                },
                payload: staging.split().freeze(),
            });
            self.sequence = self.sequence.wrapping_add(1);
        }
        self.picture_id = (self.picture_id + 1) & 0x7fff;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use rtc::rtp::codec::vp8::Vp8Packet;
    use rtc::rtp::packetizer::Depacketizer;

    use super::*;

    fn depacketize(packet: &Packet) -> (Vp8Packet, Bytes) {
        let mut descriptor = Vp8Packet::default();
        let data = descriptor
            .depacketize(&packet.payload)
            .expect("a readable descriptor");
        (descriptor, data)
    }

    #[test]
    fn a_frame_is_cut_into_equal_packets_that_reassemble() {
        let mut p = Vp8Packetizer::new(7, 96, 65_534, 1000);
        let frame: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        let (mut staging, mut out) = (BytesMut::new(), Vec::new());
        p.packetize(
            &frame,
            FrameLayer::two_layer(0),
            Instant::now(),
            &mut staging,
            &mut out,
        );
        assert_eq!(out.len(), 3);
        let seqs: Vec<u16> = out.iter().map(|p| p.header.sequence_number).collect();
        assert_eq!(seqs, [65_534, 65_535, 0], "numbers wrap");
        let markers: Vec<bool> = out.iter().map(|p| p.header.marker).collect();
        assert_eq!(markers, [false, false, true]);
        let mut joined = Vec::new();
        for (i, packet) in out.iter().enumerate() {
            assert!(packet.payload.len() <= MAX_PAYLOAD);
            assert_eq!(packet.header.ssrc, 7);
            assert_eq!(packet.header.payload_type, 96);
            assert_eq!(packet.header.timestamp, 1000);
            let (d, data) = depacketize(packet);
            assert_eq!(d.s, u8::from(i == 0));
            assert_eq!((d.i, d.l, d.t), (1, 1, 1));
            assert_eq!(data.len(), 1000, "equal shares");
            joined.extend_from_slice(&data);
        }
        assert_eq!(joined, frame);
    }

    #[test]
    fn descriptors_carry_the_layer_pattern() {
        let start = Instant::now();
        let mut p = Vp8Packetizer::new(1, 96, 10, 0);
        let (mut staging, mut out) = (BytesMut::new(), Vec::new());
        for i in 0..5u32 {
            let at = start + Duration::from_millis(u64::from(i) * 100);
            p.packetize(
                &[0u8; 10],
                FrameLayer::two_layer((i % 2) as u8),
                at,
                &mut staging,
                &mut out,
            );
        }
        let frames: Vec<_> = out
            .iter()
            .map(|packet| {
                let (d, _) = depacketize(packet);
                (
                    packet.header.timestamp,
                    d.picture_id,
                    d.tl0_pic_idx,
                    d.tid,
                    d.y,
                    d.n,
                )
            })
            .collect();
        // Timestamps from capture times at 90 kHz; picture IDs one per frame;
        // TL0PICIDX moves on each base frame and upper frames carry their
        // base's; upper frames are sync frames nothing references.
        assert_eq!(
            frames,
            [
                (0, 10, 1, 0, 0, 0),
                (9_000, 11, 1, 1, 1, 1),
                (18_000, 12, 2, 0, 0, 0),
                (27_000, 13, 2, 1, 1, 1),
                (36_000, 14, 3, 0, 0, 0),
            ]
        );
    }

    #[test]
    fn picture_ids_wrap_at_fifteen_bits() {
        let mut p = Vp8Packetizer::new(1, 96, 0x7fff, 0);
        let (mut staging, mut out) = (BytesMut::new(), Vec::new());
        let now = Instant::now();
        for _ in 0..2 {
            p.packetize(&[1], FrameLayer::two_layer(0), now, &mut staging, &mut out);
        }
        let ids: Vec<u16> = out.iter().map(|p| depacketize(p).0.picture_id).collect();
        assert_eq!(ids, [0x7fff, 0]);
        // Nothing to send is no packet.
        p.packetize(&[], FrameLayer::two_layer(0), now, &mut staging, &mut out);
        assert_eq!(out.len(), 2);
    }
}
