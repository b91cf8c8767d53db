//! Media from the network: RTP into the jitter buffers and the decoders,
//! RTCP feedback into the filters that act on it.
//!
//! An input is a run of records, each a packet as it came off the wire
//! (after SRTP), with the time that passed before it:
//! `[length: u16 big-endian][milliseconds since the last packet: u8][packet]`.
//! A truncated last record is taken as it is.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::interceptor::{AttributedPacket, Packet, TaggedPacket};
use rtc::shared::TransportContext;
use rtc::shared::marshal::Unmarshal;
use talkline_media::VideoFrame;
use talkline_media::opus_codec::OpusDecoder;
use talkline_media::vp8::Vp8Decoder;
use talkline_meeting::congestion::{
    FeedbackCoverage, Missing, MissingAtServer, PathEstimate, mark_feedback, nack_budget,
    resend_missing,
};
use talkline_meeting::jitter::VideoJitterBuffer;
use talkline_meeting::jitter::audio::{AudioJitterBuffer, AudioPacket, Playback};

/// More packets than this in one input say nothing new and slow the search.
const MAX_RECORDS: usize = 512;

/// The records of an input, each with its arrival time.
fn records(mut data: &[u8]) -> impl Iterator<Item = (Instant, &[u8])> {
    let mut now = Instant::now();
    std::iter::from_fn(move || {
        if data.len() < 3 {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([data[0], data[1]]));
        now += Duration::from_millis(u64::from(data[2]));
        let end = (3 + len).min(data.len());
        let packet = &data[3..end];
        data = &data[end..];
        Some((now, packet))
    })
    .take(MAX_RECORDS)
}

fn rtp(packet: &[u8]) -> Option<rtc::rtp::packet::Packet> {
    rtc::rtp::packet::Packet::unmarshal(&mut Bytes::copy_from_slice(packet)).ok()
}

/// A VP8 video stream: depacketized and reassembled by the jitter buffer
/// (which reads each VP8 payload descriptor), its frames decoded.
pub fn rtp_video(data: &[u8]) {
    let Ok(mut decoder) = Vp8Decoder::new() else {
        return;
    };
    let Ok(mut picture) = VideoFrame::new(2, 2) else {
        return;
    };
    let mut buffer = VideoJitterBuffer::new().with_late_resends();
    let mut nacks = Vec::new();
    for (now, bytes) in records(data) {
        if let Some(p) = rtp(bytes) {
            buffer.insert(
                now,
                p.header.sequence_number,
                p.header.timestamp,
                p.header.marker,
                p.payload,
            );
        }
        while let Some(frame) = buffer.pop_frame(now) {
            if decoder.decode(&frame.data, &mut picture).is_err() {
                buffer.decoder_needs_keyframe();
            }
        }
        buffer.poll_nacks(now, &mut nacks);
        nacks.clear();
        let _ = buffer.poll_keyframe_request(now);
        let _ = buffer.next_timeout();
    }
    let _ = buffer.stats();
}

/// An Opus audio stream: the jitter buffer, then the decoder playing every
/// 20 ms (decoding, rebuilding from FEC, or concealing).
pub fn rtp_audio(data: &[u8]) {
    let Ok(mut decoder) = OpusDecoder::new() else {
        return;
    };
    let mut buffer = AudioJitterBuffer::new();
    for (now, bytes) in records(data) {
        if let Some(p) = rtp(bytes)
            && let Some(packet) = AudioPacket::new(
                p.header.sequence_number,
                p.header.timestamp,
                now,
                &p.payload,
            )
        {
            buffer.insert(packet);
        }
        let _ = match buffer.play_next() {
            Playback::Decode(packet) => decoder.decode(packet).map(|_| ()),
            Playback::Rebuild(next) => decoder.conceal(Some(next), 960).map(|_| ()),
            Playback::Conceal => decoder.conceal(None, 960).map(|_| ()),
            Playback::Silence => Ok(()),
        };
    }
    let _ = buffer.stats();
}

/// RTCP from the server (compound packets): the inbound filters that read
/// its transport-wide feedback and NACKs, and add NACKs of their own.
pub fn rtcp_feedback(data: &[u8]) {
    let coverage = Arc::new(FeedbackCoverage::default());
    let missing = Arc::new(MissingAtServer::default());
    let mut mark = mark_feedback(coverage);
    let mut resend = resend_missing(missing.clone());
    let mut budget = nack_budget(Arc::new(PathEstimate::default()));
    for (now, bytes) in records(data) {
        let Ok(packets) = rtc::rtcp::packet::unmarshal(&mut Bytes::copy_from_slice(bytes)) else {
            continue;
        };
        // Packets the estimator would have found missing, named by the
        // input itself so the search can reach the requests made of them.
        if let [a, b, c, ..] = *bytes {
            missing.add(std::iter::once(Missing {
                ssrc: u32::from(a),
                seq: u16::from_be_bytes([b, c]),
                sent: now.checked_sub(Duration::from_millis(50)).unwrap_or(now),
            }));
        }
        let mut msg = TaggedPacket {
            now,
            transport: TransportContext::default(),
            message: AttributedPacket::new(Packet::Rtcp(packets)),
        };
        let _ = mark(&mut msg) && resend(&mut msg) && budget(&mut msg);
    }
}
