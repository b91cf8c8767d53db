//! Reassembles VP8 frames from RTP as soon as their last packet (marker bit)
//! arrives. A generic jitter buffer would hold every frame until the next
//! one starts, adding a frame of latency; on a call we would rather drop an
//! incomplete frame and ask for a keyframe.

use bytes::{Bytes, BytesMut};
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::packetizer::Depacketizer;

#[derive(Debug, Default)]
pub struct Vp8Assembler {
    depacketizer: Vp8Packet,
    timestamp: Option<u32>,
    next_seq: u16,
    frame: BytesMut,
    /// A packet of the current frame is missing: drop it at its end.
    broken: bool,
    /// Frames dropped because a packet was missing.
    pub incomplete_frames: u64,
}

impl Vp8Assembler {
    /// Feeds one RTP packet; returns a complete frame when this packet ends it.
    pub fn push(
        &mut self,
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload: &Bytes,
    ) -> Option<Bytes> {
        if payload.is_empty() {
            return None;
        }
        let starts = self.depacketizer.is_partition_head(payload);
        if self.timestamp != Some(timestamp) {
            if self.timestamp.is_some() && !self.frame.is_empty() {
                // The previous frame never saw its marker packet.
                self.incomplete_frames += 1;
            }
            self.timestamp = Some(timestamp);
            self.frame.clear();
            self.broken = !starts;
        } else if seq != self.next_seq {
            self.broken = true;
        }
        self.next_seq = seq.wrapping_add(1);
        match self.depacketizer.depacketize(payload) {
            Ok(data) if !self.broken => self.frame.extend_from_slice(&data),
            Ok(_) => {}
            Err(_) => self.broken = true,
        }
        if !marker {
            return None;
        }
        let complete = !self.broken && !self.frame.is_empty();
        if !complete {
            self.incomplete_frames += 1;
        }
        // The frame's bytes go out as they are; the buffer is taken back for
        // later frames once the decoder has dropped them.
        let out = if complete {
            Some(self.frame.split().freeze())
        } else {
            self.frame.clear();
            None
        };
        self.timestamp = None;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtp::codec::vp8::Vp8Payloader;
    use rtc::rtp::packetizer::Payloader;

    fn packets(frame: &[u8], mtu: usize) -> Vec<Bytes> {
        let mut payloader = Vp8Payloader::default();
        payloader
            .payload(mtu, &Bytes::copy_from_slice(frame))
            .expect("payload")
    }

    #[test]
    fn reassembles_in_order_and_drops_gaps() {
        let frame: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let parts = packets(&frame, 1200);
        assert!(parts.len() > 3);
        let mut a = Vp8Assembler::default();
        let last = parts.len() - 1;
        let mut out = None;
        for (i, p) in parts.iter().enumerate() {
            out = a.push(100 + i as u16, 9000, i == last, p);
        }
        assert_eq!(out.as_deref(), Some(&frame[..]));

        // Lose the second packet of the next frame: nothing comes out.
        let mut out = None;
        for (i, p) in parts.iter().enumerate().filter(|(i, _)| *i != 1) {
            out = out.or(a.push(200 + i as u16, 12000, i == last, p));
        }
        assert_eq!(out, None);
        assert_eq!(a.incomplete_frames, 1);

        // Sequence numbers wrap; the frame after a loss is fine again.
        let mut out = None;
        for (i, p) in parts.iter().enumerate() {
            out = a.push((u16::MAX - 1).wrapping_add(i as u16), 15000, i == last, p);
        }
        assert_eq!(out.as_deref(), Some(&frame[..]));
    }

    #[test]
    fn garbage_never_panics() {
        let mut a = Vp8Assembler::default();
        let mut seed = 7u32;
        for i in 0..5000u32 {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let len = (seed >> 24) as usize % 40;
            let payload: Vec<u8> = (0..len).map(|j| (seed >> (j % 24)) as u8).collect();
            let _ = a.push(i as u16, seed % 7, seed % 3 == 0, &Bytes::from(payload));
        }
    }
}
