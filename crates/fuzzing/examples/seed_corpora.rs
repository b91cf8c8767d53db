//! Writes the binary seeds of the fuzz corpora (`fuzz/corpus/*/seed-*`):
//! RTP of a real VP8 and Opus stream, RTCP feedback as Janus sends it,
//! pictures with a meeting QR code, WAV, Y4M and IVF files. The text seeds
//! (signaling, SDP, links, settings) are kept by hand beside them.
//!
//! `cargo run -p talkline-fuzzing --example seed_corpora`
//!
//! What libFuzzer adds to a corpus is kept as it found it; this only
//! rewrites the seeds, so running it again changes nothing that matters.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::reception_report::ReceptionReport;
use rtc::rtcp::transport_feedbacks::transport_layer_cc::{
    PacketStatusChunk, RecvDelta, RunLengthChunk, StatusChunkTypeTcc, SymbolTypeTcc,
    TransportLayerCc,
};
use rtc::rtcp::transport_feedbacks::transport_layer_nack::{NackPair, TransportLayerNack};
use rtc::shared::marshal::Marshal;
use talkline_media::ivf::IvfWriter;
use talkline_media::opus_codec::OpusEncoder;
use talkline_media::pattern::TestPattern;
use talkline_media::tone::ToneSource;
use talkline_media::vp8::{Vp8Config, Vp8Encoder};
use talkline_media::{AudioFrame, VideoFrame};
use talkline_meeting::vp8_packetizer::Vp8Packetizer;
use talkline_meeting::{MeetingLink, MeetingQrCode};

type Error = Box<dyn std::error::Error>;

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

fn write(target: &str, name: &str, bytes: &[u8]) -> Result<(), Error> {
    std::fs::create_dir_all(corpus(target))?;
    std::fs::write(corpus(target).join(format!("seed-{name}")), bytes)?;
    Ok(())
}

/// One record of a packet input: length, milliseconds since the last one,
/// the packet (see `talkline_fuzzing::packets`).
fn record(out: &mut Vec<u8>, gap_ms: u8, packet: &[u8]) {
    out.extend_from_slice(&(packet.len() as u16).to_be_bytes());
    out.push(gap_ms);
    out.extend_from_slice(packet);
}

fn pattern_frames(width: u32, height: u32, count: usize) -> Result<Vec<VideoFrame>, Error> {
    let mut pattern = TestPattern::new(width, height)?;
    (0..count)
        .map(|i| {
            let mut frame = VideoFrame::new(width, height)?;
            pattern.draw_next(&mut frame, i as u64 * 33_333)?;
            Ok(frame)
        })
        .collect()
}

fn video(frames: usize, temporal_layers: u8) -> Result<Vec<(Vec<u8>, bool)>, Error> {
    let mut encoder = Vp8Encoder::new(Vp8Config {
        width: 176,
        height: 144,
        frame_rate: 30,
        bitrate_kbps: 60,
        temporal_layers,
    })?;
    let mut encoded = Vec::new();
    for frame in pattern_frames(176, 144, frames)? {
        let mut out = Vec::new();
        if let Some(what) = encoder.encode(&frame, false, &mut out)? {
            encoded.push((out, what.keyframe));
        }
    }
    Ok(encoded)
}

fn rtp_video() -> Result<(), Error> {
    let mut encoder = Vp8Encoder::new(Vp8Config {
        width: 176,
        height: 144,
        frame_rate: 30,
        bitrate_kbps: 60,
        temporal_layers: 2,
    })?;
    let mut packetizer = Vp8Packetizer::new(0x1234, 96, 65_500, 1000);
    let start = Instant::now();
    let (mut staging, mut packets, mut out) = (BytesMut::new(), Vec::new(), Vec::new());
    for (i, frame) in pattern_frames(176, 144, 12)?.iter().enumerate() {
        let mut data = Vec::new();
        if let Some(what) = encoder.encode(frame, false, &mut data)? {
            let captured = start + Duration::from_millis(33 * i as u64);
            packetizer.packetize(&data, what.layer, captured, &mut staging, &mut packets);
        }
    }
    let wire: Vec<Vec<u8>> = packets
        .iter()
        .map(|p| p.marshal().map(|b| b.to_vec()))
        .collect::<Result<_, _>>()?;
    // In order, across the sequence number's wrap.
    for p in &wire {
        record(&mut out, 11, p);
    }
    write("rtp_video", "in-order", &out)?;
    // Reordered, one lost and one duplicated: what the jitter buffer is for.
    out.clear();
    for (i, p) in wire.iter().enumerate() {
        match i % 5 {
            1 => {}
            2 => {
                record(&mut out, 3, p);
                record(&mut out, 0, &wire[i - 1]);
            }
            3 => {
                record(&mut out, 9, p);
                record(&mut out, 0, p);
            }
            _ => record(&mut out, 20, p),
        }
    }
    write("rtp_video", "reordered-lost-duplicated", &out)?;
    Ok(())
}

fn rtp_audio() -> Result<(), Error> {
    let mut encoder = OpusEncoder::new(32_000)?;
    let mut tone = ToneSource::new(440.0)?;
    let (mut frame, mut packet, mut out) = (AudioFrame::default(), [0u8; 1500], Vec::new());
    let mut seq = 65_530u16;
    for i in 0..30 {
        tone.read(&mut frame);
        if let Some(len) = encoder.push(&frame, &mut packet)? {
            let rtp = rtc::rtp::packet::Packet {
                header: rtc::rtp::header::Header {
                    version: 2,
                    payload_type: 111,
                    sequence_number: seq,
                    timestamp: u32::from(seq) * 960,
                    ssrc: 0x5678,
                    marker: i == 1,
                    ..Default::default()
                },
                payload: bytes::Bytes::copy_from_slice(&packet[..len]),
            };
            seq = seq.wrapping_add(if i % 7 == 0 { 2 } else { 1 });
            record(&mut out, 20, &rtp.marshal()?);
        }
    }
    write("rtp_audio", "tone-with-gaps", &out)?;
    Ok(())
}

fn rtcp_feedback() -> Result<(), Error> {
    let nack: Box<dyn rtc::rtcp::Packet> = Box::new(TransportLayerNack {
        sender_ssrc: 1,
        media_ssrc: 0x1234,
        nacks: vec![NackPair {
            packet_id: 100,
            lost_packets: 0b1010,
        }],
    });
    let pli: Box<dyn rtc::rtcp::Packet> = Box::new(PictureLossIndication {
        sender_ssrc: 1,
        media_ssrc: 0x1234,
    });
    let rr: Box<dyn rtc::rtcp::Packet> = Box::new(ReceiverReport {
        ssrc: 1,
        reports: vec![ReceptionReport {
            ssrc: 0x1234,
            fraction_lost: 12,
            total_lost: 30,
            last_sequence_number: 70_000,
            jitter: 90,
            last_sender_report: 0x1234_5678,
            delay: 655,
        }],
        profile_extensions: Default::default(),
    });
    let twcc: Box<dyn rtc::rtcp::Packet> = Box::new(TransportLayerCc {
        sender_ssrc: 1,
        media_ssrc: 0x1234,
        base_sequence_number: 65_530,
        packet_status_count: 3,
        reference_time: 100,
        fb_pkt_count: 7,
        packet_chunks: vec![PacketStatusChunk::RunLengthChunk(RunLengthChunk {
            type_tcc: StatusChunkTypeTcc::RunLengthChunk,
            packet_status_symbol: SymbolTypeTcc::PacketReceivedSmallDelta,
            run_length: 3,
        })],
        recv_deltas: vec![
            RecvDelta {
                type_tcc_packet: SymbolTypeTcc::PacketReceivedSmallDelta,
                delta: 1000,
            };
            3
        ],
    });
    let mut out = Vec::new();
    for (gap, packets) in [(5, vec![rr, twcc]), (30, vec![nack, pli])] {
        record(&mut out, gap, &rtc::rtcp::packet::marshal(&packets)?);
    }
    write("rtcp_feedback", "report-twcc-nack-pli", &out)?;
    Ok(())
}

fn pictures() -> Result<(), Error> {
    let link = MeetingLink::parse("talkline://join?server=wss://meet.example.org/janus&room=1234")?;
    let code = MeetingQrCode::of(&link)?;
    let png = code.to_png(2)?;
    write("qr_picture", "meeting-link.png", &png)?;
    write("background_picture", "qr.png", &png)?;
    let photo =
        image::RgbImage::from_fn(24, 16, |x, y| image::Rgb([x as u8 * 10, y as u8 * 15, 90]));
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(photo).write_to(
        &mut std::io::Cursor::new(&mut jpeg),
        image::ImageFormat::Jpeg,
    )?;
    write("background_picture", "photo.jpg", &jpeg)?;
    write("qr_picture", "photo.jpg", &jpeg)?;
    Ok(())
}

fn wav() -> Result<(), Error> {
    let mut tone = ToneSource::new(440.0)?;
    let mut frame = AudioFrame::default();
    tone.read(&mut frame);
    let samples: Vec<u8> = frame.samples[..96]
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    for (name, channels, rate) in [("mono-48k", 1u16, 48_000u32), ("stereo-16k", 2, 16_000)] {
        let mut out = Vec::new();
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + samples.len() as u32).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&channels.to_le_bytes());
        out.extend_from_slice(&rate.to_le_bytes());
        out.extend_from_slice(&(rate * 2 * u32::from(channels)).to_le_bytes());
        out.extend_from_slice(&(2 * channels).to_le_bytes());
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(samples.len() as u32).to_le_bytes());
        out.extend_from_slice(&samples);
        write("wav", name, &out)?;
    }
    Ok(())
}

fn files() -> Result<(), Error> {
    let temp = std::env::temp_dir().join(format!("talkline-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&temp)?;
    let y4m = temp.join("clip.y4m");
    // Small: the seed is mutated thousands of times.
    let frames = [VideoFrame::new(8, 6)?, VideoFrame::new(8, 6)?];
    talkline_media::y4m::write_y4m(&y4m, &frames, 30)?;
    write("y4m", "two-frames", &std::fs::read(&y4m)?)?;
    let ivf = temp.join("clip.ivf");
    let mut writer = IvfWriter::create(&ivf, 176, 144, 30)?;
    for (frame, _) in video(4, 1)? {
        writer.write_frame(&frame)?;
    }
    writer.finish()?;
    write("ivf", "four-frames", &std::fs::read(&ivf)?)?;
    std::fs::remove_dir_all(&temp)?;
    Ok(())
}

fn main() -> Result<(), Error> {
    rtp_video()?;
    rtp_audio()?;
    rtcp_feedback()?;
    pictures()?;
    wav()?;
    files()?;
    Ok(())
}
