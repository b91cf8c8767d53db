//! The receiving half: one task per remote track on the network runtime;
//! video is reassembled there and decoded on its own thread, audio packets
//! go to the playout thread's jitter buffer and are decoded as they are due.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::{
    TransportLayerNack, nack_pairs_from_sequence_numbers,
};
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use talkline_media::VideoFrame;
use talkline_media::display::FrameMailbox;
use talkline_media::encoded_feed::EncodedFeed;
use talkline_media::pattern::read_stamp;
use talkline_media::vp8::Vp8Decoder;

use crate::early_echo::{self, EarlyEcho};
use crate::jitter::audio::AudioPacket;
use crate::jitter::{ReleasedFrame, VideoJitterBuffer};
use crate::playout::AudioFeed;
use crate::recording::RecordingTap;
use crate::stats::{CallStats, RemoteStats};

/// Where a remote video goes on screen: decoded pictures for a window that
/// draws I420, or the encoded frames for one that decodes them itself. The
/// second is used while the window reads it; the core then skips decoding.
pub struct Screen {
    pub pictures: Arc<FrameMailbox>,
    pub encoded: Arc<EncodedFeed>,
}

/// Where a remote video goes besides the decoder: the screen (when
/// pictures are shown), and a recording of the meeting (while one runs).
pub struct VideoOut {
    pub screen: Option<Screen>,
    pub recording: Arc<RecordingTap>,
}

/// Starts receiving one remote track; the task ends with the track.
/// `audio_level_id`: the id of the audio-level header extension on this
/// track, where the server sends it.
pub fn spawn_track_receiver(
    track: Arc<dyn TrackRemote>,
    kind: RtpCodecKind,
    remote: Arc<RemoteStats>,
    call: Arc<CallStats>,
    playout: Option<AudioFeed>,
    video: VideoOut,
    audio_level_id: Option<u8>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        match kind {
            RtpCodecKind::Video => receive_video(track, remote, call, video).await,
            _ => receive_audio(track, playout, remote, audio_level_id).await,
        }
    })
}

async fn receive_video(
    track: Arc<dyn TrackRemote>,
    remote: Arc<RemoteStats>,
    call: Arc<CallStats>,
    VideoOut { screen, recording }: VideoOut,
) {
    let media_ssrc = track.ssrcs().await.first().copied().unwrap_or(0);
    // The decoder cannot go on without a keyframe (a decode error, or the
    // window stopped decoding the stream itself).
    let decoder_wants_keyframe = Arc::new(AtomicBool::new(false));
    let (frames, decoder_input) = sync_channel::<ToDecode>(8);
    let (pictures, encoded) = screen.map(|s| (s.pictures, s.encoded)).unzip();
    let decoder = {
        let wants_keyframe = Arc::clone(&decoder_wants_keyframe);
        let remote = Arc::clone(&remote);
        let call = Arc::clone(&call);
        let encoded = encoded.clone();
        std::thread::Builder::new()
            .name("talkline-video-decode".into())
            .spawn(move || {
                decode_video(
                    decoder_input,
                    wants_keyframe,
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
    let mut buffer = VideoJitterBuffer::new().with_late_resends();
    let mut nacks: Vec<u16> = Vec::with_capacity(64);
    let mut lost_before = 0;
    // A frame was dropped before the decoder: the next one it gets says so.
    let mut decoder_gap = false;
    let mut early_echo = EarlyEcho::default();
    // One timer for the task, moved rather than made anew for each packet.
    let wake = tokio::time::sleep(IDLE_WAKE);
    tokio::pin!(wake);
    loop {
        // Wakes for the next packet, or when the buffer has something to
        // do without one (ask again, give a frame up, ask for a keyframe).
        // Never sooner than 1 ms: a deadline just passed waits for the
        // next turn rather than spinning.
        let now = Instant::now();
        let at = buffer
            .next_timeout()
            .unwrap_or(now + IDLE_WAKE)
            .max(now + MIN_WAKE);
        wake.as_mut().reset(at.into());
        let event = tokio::select! {
            event = track.poll() => match event {
                Some(event) => Some(event),
                None => break,
            },
            _ = &mut wake => None,
        };
        let now = Instant::now();
        let mut rtcp: Vec<Box<dyn rtc::rtcp::Packet>> = Vec::new();
        match event {
            Some(TrackRemoteEvent::OnRtpPacket(packet)) => {
                let h = &packet.header;
                if let Some(from) = early_echo.packet_arrived(now) {
                    let highest = u32::from(h.sequence_number);
                    rtcp.push(Box::new(early_echo::report(
                        media_ssrc,
                        highest,
                        SystemTime::now(),
                    )));
                    buffer.resends_from(from);
                }
                buffer.insert(
                    now,
                    h.sequence_number,
                    h.timestamp,
                    h.marker,
                    packet.payload,
                );
            }
            Some(TrackRemoteEvent::OnRtcpPacket(packets)) if reports_on(&packets, media_ssrc) => {
                if let Some(from) = early_echo.sender_reported(now) {
                    log::debug!("video: the server's first sender report");
                    buffer.resends_from(from);
                }
            }
            _ => {}
        }
        while let Some(frame) = buffer.pop_frame(now) {
            recording.video(remote.feed_id, &frame.data, frame.keyframe);
            if !deliver_frame(frame, encoded.as_deref(), &frames, &mut decoder_gap) {
                // The decoder fell behind and a frame was dropped: the
                // ones after it cannot be decoded until a keyframe.
                buffer.decoder_needs_keyframe();
            }
        }
        let lost = buffer.stats().frames_lost;
        if lost != lost_before {
            lost_before = lost;
            if let Some(feed) = &encoded {
                feed.mark_gap();
            }
        }
        if encoded.as_ref().is_some_and(|f| f.take_keyframe_request())
            || recording.take_keyframe_request(remote.feed_id)
        {
            // The window starts decoding: answer now, not at the next interval.
            buffer.request_keyframe();
        }
        if decoder_wants_keyframe.swap(false, Ordering::Relaxed) {
            buffer.decoder_needs_keyframe();
        }
        nacks.clear();
        buffer.poll_nacks(now, &mut nacks);
        if !nacks.is_empty() {
            // The sender SSRC is the media's own, as for the PLI below.
            rtcp.push(Box::new(TransportLayerNack {
                sender_ssrc: media_ssrc,
                media_ssrc,
                nacks: nack_pairs_from_sequence_numbers(&nacks),
            }));
        }
        if buffer.poll_keyframe_request(now) {
            // The sender SSRC is the media's own, not ours (we send nothing
            // on this connection). Janus 1.1 (Debian 12's) files a lone PLI
            // by its sender SSRC only; it learnt to read the media SSRC of
            // a PLI later (janus-gateway#3454). "From 0" matched the audio
            // medium, whose peer SSRC is 0 on a receive-only connection, so
            // no keyframe request ever reached the video's publisher.
            rtcp.push(Box::new(PictureLossIndication {
                sender_ssrc: media_ssrc,
                media_ssrc,
            }));
        }
        if !rtcp.is_empty() && track.write_rtcp(rtcp).await.is_err() {
            break;
        }
        remote.record_jitter(&buffer.stats(), buffer.measured_rtt());
    }
}

/// Whether a sender report about `ssrc` is among `packets`.
fn reports_on(packets: &[Box<dyn rtc::rtcp::Packet>], ssrc: u32) -> bool {
    packets.iter().any(|p| {
        p.as_any()
            .downcast_ref::<SenderReport>()
            .is_some_and(|r| r.ssrc == ssrc)
    })
}

/// How long the receive task sleeps when the buffer waits for nothing.
const IDLE_WAKE: Duration = Duration::from_secs(1);

/// How often a remote picture's brightness (`video_luma`) is sampled.
const LUMA_SAMPLED_EVERY: Duration = Duration::from_millis(500);

const MIN_WAKE: Duration = Duration::from_millis(1);

/// A frame for the decoder thread; `after_gap` when frames before it were
/// dropped on the way, so it must wait for a keyframe.
struct ToDecode {
    data: Bytes,
    after_gap: bool,
}

/// Hands a frame ready to decode to the window (while it decodes this
/// stream itself) and to the decoder thread. False when the decoder's
/// queue was full and the frame was dropped.
fn deliver_frame(
    frame: ReleasedFrame,
    encoded: Option<&EncodedFeed>,
    decoder: &SyncSender<ToDecode>,
    gap: &mut bool,
) -> bool {
    if let Some(feed) = encoded.filter(|f| f.is_watched()) {
        // Stamped when complete here, so the window can measure the
        // delay it adds on top (IPC, decoding, drawing).
        feed.push(
            frame.data.clone(),
            frame.keyframe,
            talkline_media::wall_clock_us(),
        );
    }
    let next = ToDecode {
        data: frame.data,
        after_gap: *gap,
    };
    match decoder.try_send(next) {
        Err(TrySendError::Full(_)) => {
            *gap = true;
            false
        }
        _ => {
            *gap = false;
            true
        }
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
    input: Receiver<ToDecode>,
    wants_keyframe: Arc<AtomicBool>,
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
    // When the picture's brightness was last sampled (`None`: not yet),
    // and at what size.
    let mut luma_sampled: Option<(Instant, (u32, u32))> = None;
    while let Ok(ToDecode { data, after_gap }) = input.recv() {
        if after_gap {
            waiting_for_keyframe = true;
        }
        let window_decodes = encoded.as_ref().is_some_and(|f| f.is_watched());
        if window_decodes != handed_over {
            handed_over = window_decodes;
            if !window_decodes {
                // Decoding resumes here, from a keyframe.
                wants_keyframe.store(true, Ordering::Relaxed);
            }
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
            remote.record_video_frame();
            call.mark_remote_frame();
            continue;
        }
        if waiting_for_keyframe && !is_vp8_keyframe(&data) {
            // Already asked for: by the network task for a gap, or below.
            continue;
        }
        match decoder.decode(&data, &mut frame) {
            Ok(true) => {
                waiting_for_keyframe = false;
                remote.video_frames_received.fetch_add(1, Ordering::Relaxed);
                remote.record_video_frame();
                remote.video_frames_decoded.fetch_add(1, Ordering::Relaxed);
                remote
                    .video_frames_since_recovery
                    .fetch_add(1, Ordering::Relaxed);
                remote.video_width.store(frame.width(), Ordering::Relaxed);
                remote.video_height.store(frame.height(), Ordering::Relaxed);
                // A few thousand reads, twice a second at most (a still
                // screen comes once a second: every picture of it), and at
                // once for a picture of a new size (another share).
                let (now, size) = (Instant::now(), (frame.width(), frame.height()));
                if luma_sampled.is_none_or(|(at, sampled_size)| {
                    now.duration_since(at) >= LUMA_SAMPLED_EVERY || sampled_size != size
                }) {
                    luma_sampled = Some((now, size));
                    let (luma, spread) = talkline_media::frame::sampled_luma(&frame);
                    remote.video_luma.store(u64::from(luma), Ordering::Relaxed);
                    remote
                        .video_luma_spread
                        .store(u64::from(spread), Ordering::Relaxed);
                }
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
                wants_keyframe.store(true, Ordering::Relaxed);
            }
        }
    }
}

/// Hands each audio packet, stamped with its arrival, to the playout.
async fn receive_audio(
    track: Arc<dyn TrackRemote>,
    playout: Option<AudioFeed>,
    remote: Arc<RemoteStats>,
    audio_level_id: Option<u8>,
) {
    let Some(playout) = playout else {
        log::warn!("no audio playout for a remote audio track");
        return;
    };
    while let Some(event) = track.poll().await {
        let TrackRemoteEvent::OnRtpPacket(packet) = event else {
            continue;
        };
        let header = &packet.header;
        // RFC 6464: one byte, the V bit (voice) and the level in -dBov.
        if let Some(byte) = audio_level_id
            .and_then(|id| header.get_extension(id))
            .and_then(|ext| ext.first().copied())
        {
            remote.record_voice_activity(byte & 0x80 != 0);
        }
        match AudioPacket::new(
            header.sequence_number,
            header.timestamp,
            Instant::now(),
            &packet.payload,
        ) {
            Some(p) => playout.push(p),
            None => log::debug!("an audio packet longer than any Opus packet"),
        }
    }
}
