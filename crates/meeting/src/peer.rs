//! webrtc-rs peer connections set up the way a Janus VideoRoom call needs
//! them: Opus and VP8 with the feedback Janus and browsers use, trickle ICE,
//! and keyframe requests from the SFU delivered to our encoder.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rtc::interceptor::{Attribute, AttributedPacket, Packet, Registry, Slot, TaggedPacket};

use crate::dtls_flights::HandshakeGuardRuntime;
use rtc::interceptor::{
    CongestionControlBuilder, NackResponderBuilder, PacerBuilder, ReceiverReportBuilder,
    SenderReportBuilder, TwccSenderBuilder,
};
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_simulcast_extension_headers, configure_twcc_receiver_only,
};
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_OPUS, MIME_TYPE_VP8, MediaEngine,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::{
    RTCConfiguration, RTCConfigurationBuilder, RTCIceServer, RTCIceTransportPolicy,
};
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use tokio::sync::mpsc;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceCandidateInit,
    RTCIceGatheringState, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
};

use crate::congestion::{
    FeedbackCoverage, MissingAtServer, PACING_FACTOR, PathEstimate, PathEstimator, mark_feedback,
    nack_budget, resend_missing,
};
use crate::error::MeetingError;
use crate::ice_servers::{IceServers, IceUrl};
use crate::janus::protocol::Trickle;
use crate::rtcp_filter::{InboundFilter, Split};
use crate::turn_stream::{self, TurnStreamRelay};

pub const OPUS_PAYLOAD_TYPE: u8 = 111;
pub const VP8_PAYLOAD_TYPE: u8 = 96;

/// Which of our two connections to the SFU an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerRole {
    Publisher,
    Subscriber,
}

/// What a peer connection reports to the call.
pub enum PeerEvent {
    Candidate(Trickle),
    State(RTCPeerConnectionState),
    Track(Arc<dyn TrackRemote>),
    /// A TURN server over TCP or TLS could not be reached; what the user
    /// should hear (see `turn_stream`).
    RelayUnreachable(String),
}

impl std::fmt::Debug for PeerEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerEvent::Candidate(c) => f.debug_tuple("Candidate").field(c).finish(),
            PeerEvent::State(s) => f.debug_tuple("State").field(s).finish(),
            PeerEvent::Track(_) => f.write_str("Track"),
            PeerEvent::RelayUnreachable(_) => f.write_str("RelayUnreachable"),
        }
    }
}

struct Handler {
    role: PeerRole,
    events: mpsc::UnboundedSender<(PeerRole, PeerEvent)>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(init) = event.candidate.to_json() {
            let trickle = Trickle::Candidate {
                candidate: init.candidate,
                sdp_mid: init.sdp_mid,
                sdp_mline_index: init.sdp_mline_index,
            };
            let _ = self.events.send((self.role, PeerEvent::Candidate(trickle)));
        }
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self
                .events
                .send((self.role, PeerEvent::Candidate(Trickle::Completed)));
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.events.send((self.role, PeerEvent::State(state)));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.events.send((self.role, PeerEvent::Track(track)));
    }
}

/// Hands the application the inbound RTCP it acts on, and drops the rest
/// after the default interceptors have used it: PLI and FIR from the SFU
/// (for our encoder), and each sender report on its own (so it reaches the
/// track it reports on: a compound is routed by its first packet, and
/// Janus puts the audio's and the video's in one; the video jitter buffer
/// learns from it when Janus begins to keep packets for resending).
fn application_rtcp(msg: TaggedPacket, out: &mut VecDeque<TaggedPacket>) {
    let Packet::Rtcp(packets) = &msg.message.packet else {
        out.push_back(msg);
        return;
    };
    let for_application = |packets: Vec<Box<dyn rtc::rtcp::Packet>>| TaggedPacket {
        now: msg.now,
        transport: msg.transport,
        message: AttributedPacket::new(Packet::Rtcp(packets)).with(Attribute::DeliverToApplication),
    };
    let requests: Vec<_> = packets
        .iter()
        .filter(|p| {
            let any = p.as_any();
            any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
        })
        .cloned()
        .collect();
    for report in packets.iter().filter(|p| p.as_any().is::<SenderReport>()) {
        out.push_back(for_application(vec![report.clone()]));
    }
    if !requests.is_empty() {
        out.push_back(for_application(requests));
    }
}

fn feedback(typ: &str, parameter: &str) -> RTCPFeedback {
    RTCPFeedback {
        typ: typ.into(),
        parameter: parameter.into(),
    }
}

pub fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

pub fn vp8_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_VP8.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![
            feedback("nack", ""),
            feedback("nack", "pli"),
            feedback("ccm", "fir"),
        ],
    }
}

pub(crate) fn webrtc_err(what: &str) -> impl Fn(rtc::shared::error::Error) -> MeetingError + '_ {
    move |e| MeetingError::WebRtc(format!("{what}: {e}"))
}

/// webrtc-rs's default interceptors less its NACK generator: lost packets
/// are asked for by our video jitter buffer, which times its requests by
/// the round trip it measures and stops asking for a frame it gave up. The
/// generator asked every 100 ms for anything missing, from an SSRC Janus
/// does not know. The responder stays: it answers Janus's requests from a
/// history of what we sent.
///
/// A publisher also runs congestion control: Janus reports every packet's
/// arrival (TWCC) to publishers, and `Gcc` turns that into the estimate the
/// encoder follows (see `congestion`). A subscriber only reports what it
/// receives; Janus does not act on a subscriber's estimate.
fn interceptors(
    media: &mut MediaEngine,
    congestion: Option<SendCongestion>,
) -> Result<Registry, MeetingError> {
    configure_simulcast_extension_headers(media).map_err(webrtc_err("header extensions"))?;
    // The sender's voice detector, on each audio packet (RFC 6464): Janus
    // relays it to subscribers, whose windows mark the speaker by it.
    media
        .register_header_extension(
            RTCRtpHeaderExtensionCapability {
                uri: rtc::sdp::extmap::AUDIO_LEVEL_URI.to_owned(),
            },
            RtpCodecKind::Audio,
            None,
        )
        .map_err(webrtc_err("header extensions"))?;
    let registry = Registry::new().with(Slot::NackResponder, NackResponderBuilder::new().build());
    let registry = match congestion {
        Some(c) => video_congestion_control(registry, media, c),
        None => configure_twcc_receiver_only(registry, media),
    }
    .map_err(webrtc_err("interceptors"))?;
    Ok(registry
        .with(
            Slot::ReceiverReport,
            ReceiverReportBuilder::new()
                .with_interval(RECEIVER_REPORT_INTERVAL)
                .build(),
        )
        .with(Slot::SenderReport, SenderReportBuilder::new().build()))
}

/// Janus answers a subscriber's NACKs only once it knows the round trip,
/// which it learns from a receiver report that echoes one of its sender
/// reports (sent once a second). With webrtc-rs's default of a report a
/// second, and a tenth of them lost on a lossy path, a subscription ran its
/// first 2-5 s with no retransmissions at all: every lost packet of the
/// first keyframes cost another keyframe. Four reports a second cost about
/// 3 kbit/s per stream.
pub(crate) const RECEIVER_REPORT_INTERVAL: Duration = Duration::from_millis(250);
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(50);
const ICE_CHECKS_PER_PAIR: u16 = 40;

/// Transport-wide sequence numbers on video only. Janus's VideoRoom
/// negotiates the extension on video and not on audio, but webrtc-rs numbers
/// every local stream it was registered for before the answer came: audio
/// packets took numbers Janus never saw, and its feedback reported them lost
/// (70% "loss" on a perfect path, and an estimate at the floor). webrtc-rs's
/// `configure_congestion_control` registers both kinds, so this is it less
/// audio and less the receive-side recorder a publisher has no use for.
fn video_congestion_control(
    registry: Registry,
    media: &mut MediaEngine,
    c: SendCongestion,
) -> Result<Registry, rtc::shared::error::Error> {
    media.register_feedback(feedback("transport-cc", ""), RtpCodecKind::Video);
    media.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: rtc::sdp::extmap::TRANSPORT_CC_URI.to_owned(),
        },
        RtpCodecKind::Video,
        None,
    )?;
    let budget = InboundFilter::new(nack_budget(Arc::clone(&c.path)));
    let coverage = Arc::new(FeedbackCoverage::default());
    let missing = Arc::new(MissingAtServer::default());
    let max_bps = c.max_bps.max(c.start_bps);
    let estimator = PathEstimator::new(
        c.start_bps,
        MIN_ESTIMATE_BPS,
        max_bps,
        c.path,
        Arc::clone(&coverage),
        Arc::clone(&missing),
    );
    Ok(registry
        .with(
            Slot::CongestionControl,
            CongestionControlBuilder::new(estimator).build(),
        )
        .with(
            Slot::Pacer,
            PacerBuilder::new()
                .with_target_bitrate(c.start_bps * PACING_FACTOR)
                .build(),
        )
        .with(Slot::TwccSender, TwccSenderBuilder::new().build())
        // Below the congestion controller, which turns the same feedback
        // into reports: it must know what the feedback covered first.
        .with(Slot::from(500), InboundFilter::new(mark_feedback(coverage)))
        // Above the congestion controller, which finds what the server
        // missed, and below the budget, which its requests then go through.
        .with(
            Slot::from(1_500),
            InboundFilter::new(resend_missing(missing)),
        )
        // Between the pacer and the NACK responder (whose answers the pacer
        // then paces).
        .with(Slot::from(3_500), budget))
}

/// Below this the estimate stops falling: audio and a minimal picture.
const MIN_ESTIMATE_BPS: f64 = 100_000.0;

/// Congestion control for a publisher: where its estimate goes, and what
/// it starts from (what the encoder sends now).
pub struct SendCongestion {
    pub path: Arc<PathEstimate>,
    pub start_bps: f64,
    pub max_bps: f64,
}

/// The TURN relays on this device a peer connection reaches its stream
/// (TCP and TLS) TURN servers through; they close when this is dropped,
/// so it lives beside the connection.
pub struct StreamRelays {
    open: Vec<(IceUrl, TurnStreamRelay)>,
}

impl StreamRelays {
    /// What webrtc-rs is given for `server`: its relay's URL.
    fn client_url(&self, server: &IceUrl) -> Option<String> {
        self.open
            .iter()
            .find(|(url, _)| url == server)
            .map(|(_, relay)| relay.client_url())
    }
}

/// Starts a relay for each TURN server over TCP or TLS. One that cannot
/// bind is left out with a warning: the call may still get through
/// another way.
async fn stream_relays(
    ice: &IceServers,
    local_ip: IpAddr,
    role: PeerRole,
    events: &mpsc::UnboundedSender<(PeerRole, PeerEvent)>,
) -> StreamRelays {
    let mut open = Vec::new();
    for url in ice.urls.iter().filter(|u| turn_stream::needs_stream(u)) {
        let events = events.clone();
        let report = move |why| {
            let _ = events.send((role, PeerEvent::RelayUnreachable(why)));
        };
        match TurnStreamRelay::start(url.clone(), local_ip, report).await {
            Ok(relay) => open.push((url.clone(), relay)),
            Err(e) => log::warn!("no relay for {url}: {e}"),
        }
    }
    StreamRelays { open }
}

/// The STUN and TURN servers as webrtc-rs is given them (a stream server
/// as its relay on this device), and the relay-only policy. Only a TURN
/// server is given the credentials.
fn ice_configuration(ice: &IceServers, relays: &StreamRelays) -> RTCConfiguration {
    let servers = ice
        .urls
        .iter()
        .filter_map(|url| {
            let secret = |v: &Option<String>| match v {
                Some(v) if url.is_turn() => v.clone(),
                _ => String::new(),
            };
            let client_url = if turn_stream::needs_stream(url) {
                relays.client_url(url)?
            } else {
                url.to_string()
            };
            Some(RTCIceServer {
                urls: vec![client_url],
                username: secret(&ice.username),
                credential: secret(&ice.credential),
            })
        })
        .collect();
    let policy = if ice.relay_only {
        RTCIceTransportPolicy::Relay
    } else {
        RTCIceTransportPolicy::All
    };
    RTCConfigurationBuilder::new()
        .with_ice_servers(servers)
        .with_ice_transport_policy(policy)
        .build()
}

/// Builds one peer connection whose ICE host candidate is `local_ip`.
/// webrtc-rs offers exactly the addresses it is bound to, so the caller
/// picks the interface that reaches the server (127.0.0.1 for a local one).
pub async fn new_peer(
    role: PeerRole,
    local_ip: IpAddr,
    ice: &IceServers,
    events: mpsc::UnboundedSender<(PeerRole, PeerEvent)>,
    congestion: Option<SendCongestion>,
) -> Result<(Arc<dyn PeerConnection>, StreamRelays), MeetingError> {
    let mut media = MediaEngine::default();
    media
        .register_codec(
            RTCRtpCodecParameters {
                rtp_codec: opus_codec(),
                payload_type: OPUS_PAYLOAD_TYPE,
            },
            RtpCodecKind::Audio,
        )
        .map_err(webrtc_err("opus codec"))?;
    media
        .register_codec(
            RTCRtpCodecParameters {
                rtp_codec: vp8_codec(),
                payload_type: VP8_PAYLOAD_TYPE,
            },
            RtpCodecKind::Video,
        )
        .map_err(webrtc_err("vp8 codec"))?;
    let registry = interceptors(&mut media, congestion)?;
    let registry = registry.with(
        Slot::from(14_000),
        InboundFilter::with(Split(application_rtcp)),
    );
    let settings = SettingEngineBuilder::new()
        // A call notices a dead path in 3 s and gives up on it after 10 s
        // (then restarts ICE), instead of the 5 s / 25 s defaults.
        .with_ice_timeouts(
            Some(Duration::from_secs(3)),
            Some(Duration::from_secs(10)),
            Some(Duration::from_secs(1)),
        )
        // A retransmission may come a keyframe or more behind the newest
        // packet; SRTP's default replay window (64 packets) would drop it
        // as a replay. The jitter buffer holds up to 2048.
        .with_srtp_replay_protection_window(2048)
        // A connectivity check every 50 ms (a browser's pace) instead of
        // 200: each one Janus receives makes its ICE agent check that pair
        // at once, where its own retransmissions back off from 200 ms to
        // 1.6 s. At 20% loss each way, ICE took 1.3-3 s before Janus began
        // the DTLS handshake. A pair is given up after 2 s of them (1.4 s
        // before).
        .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(ICE_CHECKS_PER_PAIR))
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .with_answering_dtls_role(rtc::peer_connection::transport::RTCDtlsRole::Server)
        .build();
    let bind = SocketAddr::new(local_ip, 0).to_string();
    let relays = stream_relays(ice, local_ip, role, &events).await;
    let pc = PeerConnectionBuilder::new()
        .with_configuration(ice_configuration(ice, &relays))
        .with_media_engine(media)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(Handler { role, events }))
        // Repeats our handshake flight when Janus repeats its own (see
        // `dtls_flights`): without it one handshake in ten hung at 10% loss.
        .with_runtime(Arc::new(HandshakeGuardRuntime::new()))
        .with_udp_addrs(vec![bind.clone()])
        // ICE over TCP as well, for networks that block UDP: webrtc-rs dials
        // the server's passive TCP candidates (Janus offers them with
        // `ice_tcp`), and UDP pairs win wherever UDP gets through.
        .with_tcp_addrs(vec![bind])
        .build()
        .await
        .map_err(webrtc_err("peer connection"))?;
    Ok((Arc::new(pc), relays))
}

pub fn candidate_init(trickle: &Trickle) -> Option<RTCIceCandidateInit> {
    match trickle {
        Trickle::Completed => None,
        Trickle::Candidate {
            candidate,
            sdp_mid,
            sdp_mline_index,
        } => Some(RTCIceCandidateInit {
            candidate: candidate.clone(),
            sdp_mid: sdp_mid.clone(),
            sdp_mline_index: *sdp_mline_index,
            ..Default::default()
        }),
    }
}
