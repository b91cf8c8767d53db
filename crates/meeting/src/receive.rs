//! The receiving half: one task per remote track on the network runtime;
//! video is reassembled there and decoded on its own thread, audio is
//! decoded in the task (Opus takes microseconds).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use talkline_media::VideoFrame;
use talkline_media::display::FrameMailbox;
use talkline_media::encoded_feed::EncodedFeed;
use talkline_media::opus_codec::{OPUS_PACKET_SAMPLES, OpusDecoder};
use talkline_media::pattern::read_stamp;
use talkline_media::ring::RingProducer;
use talkline_media::vp8::Vp8Decoder;

use crate::stats::{CallStats, RemoteStats};
use crate::vp8_assembler::Vp8Assembler;

/// Keyframe requests to the sender are spaced at least this far apart.
const PLI_INTERVAL: Duration = Duration::from_millis(500);

/// Where a remote video goes on screen: decoded pictures for a window that
/// draws I420, or the encoded frames for one that decodes them itself. The
/// second is used while the window reads it; the core then skips decoding.
pub struct Screen {
    pub pictures: Arc<FrameMailbox>,
    pub encoded: Arc<EncodedFeed>,
}

/// Starts receiving one remote track; the task ends with the track.
pub fn spawn_track_receiver(
    track: Arc<dyn TrackRemote>,
    kind: RtpCodecKind,
    remote: Arc<RemoteStats>,
    call: Arc<CallStats>,
    playout: Option<RingProducer>,
    screen: Option<Screen>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        match kind {
            RtpCodecKind::Video => receive_video(track, remote, call, screen).await,
            _ => receive_audio(track, remote, playout).await,
        }
    })
}

async fn receive_video(
    track: Arc<dyn TrackRemote>,
    remote: Arc<RemoteStats>,
    call: Arc<CallStats>,
    screen: Option<Screen>,
) {
    let media_ssrc = track.ssrcs().await.first().copied().unwrap_or(0);
    let need_keyframe = Arc::new(AtomicBool::new(true));
    let (frames, decoder_input) = sync_channel::<Bytes>(8);
    let (pictures, encoded) = screen.map(|s| (s.pictures, s.encoded)).unzip();
    let decoder = {
        let need_keyframe = Arc::clone(&need_keyframe);
        let remote = Arc::clone(&remote);
        let call = Arc::clone(&call);
        let encoded = encoded.clone();
        std::thread::Builder::new()
            .name("talkline-video-decode".into())
            .spawn(move || {
                decode_video(
                    decoder_input,
                    need_keyframe,
                    remote,
                    call,
                    pictures,
                    encoded,
                )
            })
    };
    if let Err(e) = decoder {
        log::warn!("cannot start a video decoder thread: {e}");
        return;
    }
    let mut assembler = Vp8Assembler::default();
    let mut last_pli: Option<Instant> = None;
    while let Some(event) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(packet) = event else {
            continue;
        };
        let now = Instant::now();
        let h = &packet.header;
        let lost_before = assembler.incomplete_frames;
        if let Some(frame) =
            assembler.push(h.sequence_number, h.timestamp, h.marker, &packet.payload)
        {
            if let Some(feed) = encoded.as_ref().filter(|f| f.is_watched()) {
                // Stamped when complete here, so the window can measure the
                // delay it adds on top (IPC, decoding, drawing).
                let ready = talkline_media::wall_clock_us();
                let keyframe = is_vp8_keyframe(&frame);
                feed.push(frame.clone(), keyframe, ready);
                if keyframe {
                    // The decoder here is idle while the window decodes, so
                    // the keyframe it was waiting for is answered here.
                    need_keyframe.store(false, Ordering::Relaxed);
                }
            }
            forward_frame(&frames, frame, &need_keyframe);
            if encoded.as_ref().is_some_and(|f| f.take_keyframe_request()) {
                need_keyframe.store(true, Ordering::Relaxed);
                // The window asked: answer now rather than at the next interval.
                last_pli = None;
            }
        }
        if assembler.incomplete_frames != lost_before {
            call.incomplete_video_frames
                .fetch_add(assembler.incomplete_frames - lost_before, Ordering::Relaxed);
            // An empty frame tells the decoder the chain of references broke.
            forward_frame(&frames, Bytes::new(), &need_keyframe);
            if let Some(feed) = &encoded {
                feed.mark_gap();
            }
            need_keyframe.store(true, Ordering::Relaxed);
        }
        if need_keyframe.load(Ordering::Relaxed) && last_pli.is_none_or(|t| now - t >= PLI_INTERVAL)
        {
            last_pli = Some(now);
            // The sender SSRC is the media's own, not ours (we send nothing
            // on this connection). Janus 1.1 (Debian 12's) files a lone PLI
            // by its sender SSRC only; it learnt to read the media SSRC of
            // a PLI later (janus-gateway#3454). "From 0" matched the audio
            // medium, whose peer SSRC is 0 on a receive-only connection, so
            // no keyframe request ever reached the video's publisher.
            let pli = PictureLossIndication {
                sender_ssrc: media_ssrc,
                media_ssrc,
            };
            if track.write_rtcp(vec![Box::new(pli)]).await.is_err() {
                break;
            }
        }
    }
}

fn forward_frame(frames: &SyncSender<Bytes>, data: Bytes, need_keyframe: &AtomicBool) {
    if let Err(TrySendError::Full(_)) = frames.try_send(data) {
        // The decoder is behind: drop, and ask for a fresh start.
        need_keyframe.store(true, Ordering::Relaxed);
    }
}

fn is_vp8_keyframe(data: &[u8]) -> bool {
    data.first().is_some_and(|b| b & 1 == 0)
}

/// The picture size a VP8 keyframe declares (RFC 6386 §9.1: a 3-byte
/// frame tag, the start code 9d 01 2a, then 14-bit width and height).
fn vp8_keyframe_size(data: &[u8]) -> Option<(u32, u32)> {
    if !is_vp8_keyframe(data) || data.get(3..6)? != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u16::from_le_bytes([*data.get(6)?, *data.get(7)?]) & 0x3fff;
    let height = u16::from_le_bytes([*data.get(8)?, *data.get(9)?]) & 0x3fff;
    Some((u32::from(width), u32::from(height)))
}

fn decode_video(
    input: Receiver<Bytes>,
    need_keyframe: Arc<AtomicBool>,
    remote: Arc<RemoteStats>,
    call: Arc<CallStats>,
    screen: Option<Arc<FrameMailbox>>,
    encoded: Option<Arc<EncodedFeed>>,
) {
    let Ok(mut decoder) = Vp8Decoder::new() else {
        log::warn!("cannot create a VP8 decoder");
        return;
    };
    let Ok(mut frame) = VideoFrame::new(2, 2) else {
        return;
    };
    let mut waiting_for_keyframe = true;
    let mut handed_over = false;
    while let Ok(data) = input.recv() {
        if data.is_empty() {
            waiting_for_keyframe = true;
            continue;
        }
        let window_decodes = encoded.as_ref().is_some_and(|f| f.is_watched());
        if window_decodes != handed_over {
            handed_over = window_decodes;
            log::info!(
                "remote video: {}",
                if window_decodes {
                    "the window decodes it"
                } else {
                    "decoded here"
                }
            );
        }
        if window_decodes {
            // The window decodes this stream itself. Not decoding it twice
            // saves a core's worth of work in a large call; the stream is
            // still counted, and decoding resumes at the next keyframe once
            // the window stops reading.
            waiting_for_keyframe = true;
            remote.video_frames_received.fetch_add(1, Ordering::Relaxed);
            remote
                .video_frames_since_recovery
                .fetch_add(1, Ordering::Relaxed);
            if let Some((width, height)) = vp8_keyframe_size(&data) {
                remote.video_width.store(width, Ordering::Relaxed);
                remote.video_height.store(height, Ordering::Relaxed);
            }
            call.mark_remote_frame();
            continue;
        }
        if waiting_for_keyframe && !is_vp8_keyframe(&data) {
            need_keyframe.store(true, Ordering::Relaxed);
            continue;
        }
        match decoder.decode(&data, &mut frame) {
            Ok(true) => {
                waiting_for_keyframe = false;
                remote.video_frames_received.fetch_add(1, Ordering::Relaxed);
                need_keyframe.store(false, Ordering::Relaxed);
                remote.video_frames_decoded.fetch_add(1, Ordering::Relaxed);
                remote
                    .video_frames_since_recovery
                    .fetch_add(1, Ordering::Relaxed);
                remote.video_width.store(frame.width(), Ordering::Relaxed);
                remote.video_height.store(frame.height(), Ordering::Relaxed);
                call.mark_remote_frame();
                if let Some(screen) = &screen {
                    // The window sees when the frame was ready here, so it
                    // can measure the delay it adds on top (IPC, drawing).
                    frame.capture_time_us = talkline_media::wall_clock_us();
                    screen.publish(&frame);
                }
                if let Some(stamp) = read_stamp(&frame) {
                    remote.record_pattern_frame(stamp.frame_number, stamp.capture_time_ms);
                }
            }
            Ok(false) => {}
            Err(e) => {
                log::debug!("video decode error: {e}");
                remote.video_decode_errors.fetch_add(1, Ordering::Relaxed);
                waiting_for_keyframe = true;
                need_keyframe.store(true, Ordering::Relaxed);
            }
        }
    }
}

async fn receive_audio(
    track: Arc<dyn TrackRemote>,
    remote: Arc<RemoteStats>,
    mut playout: Option<RingProducer>,
) {
    let Ok(mut decoder) = OpusDecoder::new() else {
        log::warn!("cannot create an Opus decoder");
        return;
    };
    let mut last_seq: Option<u16> = None;
    while let Some(event) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(packet) = event else {
            continue;
        };
        let seq = packet.header.sequence_number;
        // One lost packet is rebuilt from the FEC in this one.
        if last_seq.is_some_and(|prev| seq.wrapping_sub(prev) == 2) {
            if let Ok(pcm) = decoder.conceal(Some(&packet.payload), OPUS_PACKET_SAMPLES) {
                remote.record_audio(pcm);
                if let Some(p) = playout.as_mut() {
                    p.push(pcm);
                }
            }
        }
        if last_seq.is_none_or(|prev| seq.wrapping_sub(prev) < 0x8000) {
            last_seq = Some(seq);
        }
        match decoder.decode(&packet.payload) {
            Ok(pcm) => {
                remote.record_audio(pcm);
                if let Some(p) = playout.as_mut() {
                    p.push(pcm);
                }
            }
            Err(e) => log::debug!("audio decode error: {e}"),
        }
    }
}
