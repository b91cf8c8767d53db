//! A call on a Janus VideoRoom: one publisher handle and peer connection for
//! what we send, one multistream subscriber handle and peer connection for
//! everyone else. A single task drives it; the `SessionMachine` decides, this
//! module carries out.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCOfferOptions;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::sdp::extmap::AUDIO_LEVEL_URI;
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{PeerConnection, RTCPeerConnectionState};

use talkline_media::devices::DeviceKind;
use talkline_media::display::Tiles;
use talkline_media::sink::AudioSink;
use talkline_media::voice_processing::{EchoReference, VoiceSettings};
use talkline_media::{AudioSource, VideoSource};

use crate::congestion;
use crate::error::MeetingError;
use crate::host::Secret;
use crate::ice_servers::IceServers;
use crate::janus::connection::{JanusConnection, SignalEvent};
use crate::janus::protocol::{
    Incoming, Jsep, JsepKind, LIVE, MediaKind, Publisher, RoomEvent, SCREEN, SubscribedStream,
    request,
};
use crate::layers::VideoLayer;
use crate::link::ServerUrl;
use crate::peer::{
    self, OPUS_PAYLOAD_TYPE, PeerEvent, PeerRole, SendCongestion, StreamRelays, VP8_PAYLOAD_TYPE,
    webrtc_err,
};
use crate::playout::Playout;
use crate::receive::{Screen, VideoOut, spawn_track_receiver};
use crate::recording::RecordingTap;
use crate::sdp;
use crate::send::{
    CaptureOutputs, Outgoing, SendPipeline, SimulcastTarget, TrackTarget, VideoContent, VideoPlan,
    VoiceInput,
};
use crate::session::{
    Breakage, CallState, Participant, SessionInput, SessionMachine, SessionOutput,
};
use crate::simulcast::{self, StreamIds};
use crate::stall::VideoStallWatch;
use crate::stats::CallStats;

/// How long an ICE restart may take before the call rejoins instead.
const ICE_RESTART_GRACE: Duration = Duration::from_secs(8);
/// How long a new connection may take to come up before the call rejoins.
/// On a lossy path a DTLS handshake can stall for good after ICE connected
/// (no state change follows, so nothing else would notice).
const CONNECT_GRACE: Duration = Duration::from_secs(10);
/// A subscription that has not come up by then is made anew, which costs
/// less than a rejoin: the publisher's connection and the room stay. Half
/// of `CONNECT_GRACE`, so a second try still comes before the rejoin.
const SUBSCRIBE_GRACE: Duration = Duration::from_secs(5);
/// Rejoin attempts back off up to this interval and give up after the limit.
const REJOIN_MAX_BACKOFF: Duration = Duration::from_secs(5);
const REJOIN_GIVE_UP: Duration = Duration::from_secs(120);

pub struct CallConfig {
    pub server: ServerUrl,
    pub room: u64,
    pub pin: Option<String>,
    /// What gets us into a locked meeting: the host's own (see `host`).
    pub entry_token: Option<Secret>,
    /// A locked meeting with a waiting room is waited in (see `lobby`)
    /// rather than refused: this is called once we wait there, and the
    /// join returns once the host lets us in. `None`: refused at once.
    pub wait_if_locked: Option<Box<dyn FnOnce() + Send>>,
    pub display: String,
    pub video: Outgoing<Box<dyn VideoSource>>,
    pub audio: Outgoing<Box<dyn AudioSource>>,
    /// Where everyone else's audio is played; `None` decodes and measures only.
    pub audio_out: Option<Box<dyn AudioSink>>,
    pub video_bitrate_kbps: u32,
    /// Send video at full, half and quarter size at once, so everyone gets
    /// the size their tile needs (`simulcast`).
    pub simulcast: bool,
    /// Where pictures are shown: "self" for the camera, the participant id
    /// for everyone else. `None` for headless use.
    pub tiles: Option<Arc<Tiles>>,
    /// Join with the microphone muted / camera off: nothing of them is sent.
    pub audio_muted: bool,
    pub video_muted: bool,
    /// Receive everyone else's audio and video. `false` makes a send-only
    /// participant (a bot, a load generator): it still sees who is in the
    /// meeting, but the server forwards it no media.
    pub subscribe: bool,
    /// STUN and TURN servers (see `ice_servers`).
    pub ice: IceServers,
    /// What the microphone's signal goes through before it is sent.
    pub voice: VoiceSettings,
    /// A person, or a screen they share.
    pub publish_as: PublishAs,
}

/// What a call publishes as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PublishAs {
    /// A person: camera and microphone.
    #[default]
    Person,
    /// A screen shared by the person of the same name, with this feed id
    /// (chosen beforehand, so that the person's own call can be told
    /// not to receive it: `CallCommand::OwnFeed`). Its video is
    /// described as a screen, and it receives nothing.
    Screen { feed: u64 },
}

pub enum CallCommand {
    SetAudioMuted(bool),
    SetVideoMuted(bool),
    /// Another camera or microphone, switched to without renegotiating.
    ReplaceVideoSource(Box<dyn VideoSource>),
    ReplaceAudioSource(Box<dyn AudioSource>),
    /// Lets go of the camera or microphone (the user chose none): nothing
    /// of it is sent until another is given.
    ReleaseVideoSource,
    ReleaseAudioSource,
    ReplaceAudioOutput(Box<dyn AudioSink>),
    /// Echo cancellation, noise suppression, gain control on or off.
    SetVoiceSettings(VoiceSettings),
    /// The simulcast layer to receive of everyone's video, from now on
    /// (a participant given their own keeps it).
    SetVideoLayer(VideoLayer),
    /// The simulcast layer to receive of one participant's video (their
    /// tile's size), from now on.
    SetVideoLayerOf {
        feed: u64,
        layer: VideoLayer,
    },
    /// A feed of ours besides this call (our screen share, see
    /// `PublishAs::Screen`): not received, not listed as someone else.
    OwnFeed(u64),
    Leave,
}

impl std::fmt::Debug for CallCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SetAudioMuted(m) => write!(f, "SetAudioMuted({m})"),
            Self::SetVideoMuted(m) => write!(f, "SetVideoMuted({m})"),
            Self::ReplaceVideoSource(_) => f.write_str("ReplaceVideoSource"),
            Self::ReplaceAudioSource(_) => f.write_str("ReplaceAudioSource"),
            Self::ReleaseVideoSource => f.write_str("ReleaseVideoSource"),
            Self::ReleaseAudioSource => f.write_str("ReleaseAudioSource"),
            Self::ReplaceAudioOutput(_) => f.write_str("ReplaceAudioOutput"),
            Self::SetVoiceSettings(s) => write!(f, "SetVoiceSettings({s:?})"),
            Self::SetVideoLayer(l) => write!(f, "SetVideoLayer({l})"),
            Self::SetVideoLayerOf { feed, layer } => write!(f, "SetVideoLayerOf({feed}, {layer})"),
            Self::OwnFeed(feed) => write!(f, "OwnFeed({feed})"),
            Self::Leave => f.write_str("Leave"),
        }
    }
}

/// What the user of a call hears about.
#[derive(Debug)]
pub enum CallEvent {
    State(CallState),
    ParticipantJoined(Participant),
    ParticipantChanged(Participant),
    ParticipantLeft(Participant),
    /// A device stopped delivering (unplugged); the call goes on without
    /// it until a replacement is given.
    DeviceLost(DeviceKind),
    /// A device could not be switched to (the message says why).
    DeviceSwitchFailed(DeviceKind, String),
    /// The host turned our microphone or camera off (`held`; the server
    /// relays nothing of it), or let it go again: the host asks us to turn
    /// it back on, which is ours to do or not.
    HostHeld {
        kind: DeviceKind,
        held: bool,
    },
    /// What the user asked could not be done (the error says why); the
    /// call goes on.
    Refused(MeetingError),
    /// A TURN server could not be reached (the message says which and
    /// why); the call tries the other ways it has. Told once per problem.
    RelayUnreachable(String),
    /// The call is over; `Some` when it ended on an error.
    Ended(Option<MeetingError>),
    /// We rejoined under another id (the server still held ours): others
    /// see us as this feed now.
    NewId(u64),
}

pub struct CallHandle {
    /// Our id in the room, as others see it.
    pub self_id: u64,
    pub events: mpsc::UnboundedReceiver<CallEvent>,
    commands: mpsc::UnboundedSender<CallCommand>,
    pub stats: Arc<CallStats>,
    /// What this call's speaker plays: for taking the meeting out of the
    /// computer's sound when it is shared with a screen.
    pub played: EchoReference,
    /// Where a recording of the meeting on this device takes it from
    /// (`recording::Recorder`).
    pub recording: Arc<RecordingTap>,
    /// What got us into the locked meeting (the host's, or the one the
    /// host gave us in the waiting room): our screen share needs it too.
    pub entry_token: Option<Secret>,
    task: tokio::task::JoinHandle<()>,
}

impl CallHandle {
    pub fn command(&self, command: CallCommand) {
        let _ = self.commands.send(command);
    }

    /// A sender of commands that outlives a borrow of the handle.
    pub fn commands(&self) -> mpsc::UnboundedSender<CallCommand> {
        self.commands.clone()
    }

    /// Leaves the meeting and waits (bounded) for the goodbye to go out.
    pub async fn leave(self) {
        let _ = self.commands.send(CallCommand::Leave);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

/// Janus's "no such feed": a publisher it announced before its connection
/// was up (or one gone since).
const NO_SUCH_FEED: u32 = 428;

/// Whether the server refused a subscribe or subscriber join because a
/// feed in it is not (yet) there; other errors are logged where the reply
/// is handled.
fn refused(reply: &Incoming) -> bool {
    let refused = matches!(
        reply,
        Incoming::Event {
            room: RoomEvent::Error {
                code: NO_SUCH_FEED,
                ..
            },
            ..
        }
    );
    if refused {
        // Not the reason: it quotes ids of the room.
        log::info!("subscription refused: a feed is not up yet");
    }
    refused
}

/// Everything that belongs to one signaling session; a rejoin replaces it.
struct Link {
    conn: JanusConnection,
    signals: mpsc::Receiver<SignalEvent>,
    publisher_handle: u64,
    private_id: u64,
    publisher_pc: Arc<dyn PeerConnection>,
    _publisher_relays: StreamRelays,
    mids: Mids,
    /// Janus said our publisher's connection is up ("webrtcup"): only
    /// then may our descriptions change (see `request::configure_relay`).
    publisher_up: bool,
    /// A mute changed before that: the room is told once it is up.
    descriptions_stale: bool,
    subscriber: Option<Subscription>,
    restart_started: Option<Instant>,
    /// Since when each connection has been trying to connect.
    connecting_since: HashMap<PeerRole, Instant>,
}

/// The mids of what we publish, from our offer.
#[derive(Debug, Default)]
struct Mids {
    audio: Option<String>,
    video: Option<String>,
}

impl Mids {
    fn of(offer_sdp: &str) -> Self {
        Self {
            audio: sdp::first_mid(offer_sdp, "audio"),
            video: sdp::first_mid(offer_sdp, "video"),
        }
    }
}

struct Subscription {
    handle: u64,
    pc: Arc<dyn PeerConnection>,
    _relays: StreamRelays,
    /// The last offer Janus made, to match tracks (by SSRC) to mids.
    offer_sdp: String,
    /// mid → stream as Janus describes it (feed id, display).
    streams: HashMap<String, SubscribedStream>,
    receivers: Vec<tokio::task::JoinHandle<()>>,
    /// Janus gave a stream's place (its mid, and its SSRC with it) to
    /// another feed: a participant who left, then one who came; a share
    /// stopped, then another. No new track is told for it, so what it
    /// carries would go on being counted and shown as the one who left's.
    /// Mended by subscribing anew.
    mid_reused: bool,
    /// The feed each mid's track was taken for (mid → feed).
    tracked: HashMap<String, u64>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        for r in &self.receivers {
            r.abort();
        }
    }
}

/// The local address the OS would use to reach the server: the interface
/// to offer ICE candidates on (127.0.0.1 when the server is local). A
/// connected UDP socket answers this without sending anything.
pub(crate) async fn local_ip_towards(server: &ServerUrl) -> IpAddr {
    let host = server.host().trim_start_matches('[').trim_end_matches(']');
    let port = server
        .port()
        .unwrap_or(if server.is_secure() { 443 } else { 80 });
    let fallback = IpAddr::from([0, 0, 0, 0]);
    let Ok(mut addrs) = tokio::net::lookup_host((host, port)).await else {
        return fallback;
    };
    let Some(target) = addrs.next() else {
        return fallback;
    };
    let any: SocketAddr = if target.is_ipv4() {
        (IpAddr::from([0, 0, 0, 0]), 0).into()
    } else {
        (IpAddr::from([0u16; 8]), 0).into()
    };
    std::net::UdpSocket::bind(any)
        .and_then(|s| s.connect(target).and_then(|()| s.local_addr()))
        .map_or(fallback, |a| a.ip())
}

/// A publisher id of our own choosing keeps our identity across a server
/// restart; kept below 2^53 so JavaScript peers read it exactly.
pub(crate) fn random_publisher_id() -> u64 {
    rand::random::<u64>() % (1u64 << 53) + 1
}

/// Where and as whom: the part of the config a rejoin needs again (the
/// chat's reconnections too).
pub(crate) struct Target {
    pub(crate) server: ServerUrl,
    pub(crate) room: u64,
    pub(crate) pin: Option<String>,
    pub(crate) entry_token: Option<Secret>,
    pub(crate) display: String,
    pub(crate) ice: IceServers,
}

struct Driver {
    target: Target,
    publisher_id: u64,
    session: SessionMachine,
    stats: Arc<CallStats>,
    pipeline: SendPipeline,
    playout: Playout,
    recording: Arc<RecordingTap>,
    tiles: Option<Arc<Tiles>>,
    subscribe: bool,
    publish_as: PublishAs,
    /// The simulcast layer asked of every video subscribed...
    video_layer: VideoLayer,
    /// ...but these participants' (feed id).
    video_layer_of: HashMap<u64, VideoLayer>,
    peer_tx: mpsc::UnboundedSender<(PeerRole, PeerEvent)>,
    events: mpsc::UnboundedSender<CallEvent>,
    stalls: VideoStallWatch,
    /// What `CallEvent::RelayUnreachable` has told, so each is told once.
    relay_problems: HashSet<String>,
    /// Our microphone and camera as the host holds them.
    held: HeldByHost,
    /// Why the call ended when the server ended it (the host removed us,
    /// or ended the meeting).
    ended: Option<MeetingError>,
}

/// Which of our streams the host turned off.
#[derive(Debug, Default, Clone, Copy)]
struct HeldByHost {
    microphone: bool,
    camera: bool,
}

/// Joins a meeting. Returns once joined (so a wrong PIN, an unknown room or
/// an unreachable server is an error here); the call then runs on its own.
pub async fn join(config: CallConfig) -> Result<CallHandle, MeetingError> {
    let stats = CallStats::new(Instant::now());
    let (lost_tx, mut device_lost) = mpsc::unbounded_channel();
    // What the speaker plays, for the echo canceller on the capture side.
    let echo = EchoReference::default();
    // Idle until the meeting is recorded on this device.
    let recording = Arc::new(RecordingTap::default());
    let pipeline = SendPipeline::start(
        config.video,
        config.audio,
        VideoPlan {
            bitrate_kbps: config.video_bitrate_kbps,
            simulcast: config.simulcast,
            content: match config.publish_as {
                PublishAs::Person => VideoContent::Camera,
                PublishAs::Screen { .. } => VideoContent::Screen,
            },
        },
        Arc::clone(&stats),
        VoiceInput {
            settings: config.voice,
            echo: echo.clone(),
        },
        CaptureOutputs {
            self_view: config.tiles.as_ref().map(|t| t.get_or_create("self")),
            self_encoded: config.tiles.as_ref().map(|t| t.encoded_feed("self")),
            device_lost: Some(lost_tx.clone()),
            recording: Some(Arc::clone(&recording)),
        },
    )?;
    let controls = &pipeline.controls;
    controls
        .audio_muted
        .store(config.audio_muted, Ordering::Relaxed);
    controls
        .video_muted
        .store(config.video_muted, Ordering::Relaxed);
    // A call with nowhere to play audio still runs the playout, into
    // nothing: what is heard is counted there, and an output can be given
    // later.
    let sink = config
        .audio_out
        .unwrap_or_else(|| Box::new(talkline_media::sink::Discard));
    let playout = Playout::start(
        sink,
        Some(lost_tx),
        Some(echo.clone()),
        Some(Arc::clone(&recording)),
    )
    .map_err(|e| MeetingError::WebRtc(format!("cannot start audio playout: {e}")))?;
    let target = Target {
        server: config.server,
        room: config.room,
        pin: config.pin,
        entry_token: config.entry_token,
        display: config.display,
        ice: config.ice,
    };
    let (peer_tx, mut peer_rx) = mpsc::unbounded_channel();
    let (events_tx, events) = mpsc::unbounded_channel();
    let (commands, mut command_rx) = mpsc::unbounded_channel();
    let mut driver = Driver {
        target,
        publisher_id: match config.publish_as {
            PublishAs::Person => random_publisher_id(),
            PublishAs::Screen { feed } => feed,
        },
        publish_as: config.publish_as,
        session: SessionMachine::new(),
        stats: Arc::clone(&stats),
        pipeline,
        playout,
        recording: Arc::clone(&recording),
        tiles: config.tiles,
        stalls: VideoStallWatch::default(),
        relay_problems: HashSet::new(),
        held: HeldByHost::default(),
        ended: None,
        subscribe: config.subscribe,
        video_layer: VideoLayer::default(),
        video_layer_of: HashMap::new(),
        peer_tx,
        events: events_tx,
    };
    let (link, publishers) = match driver.establish().await {
        Err(MeetingError::MeetingLocked) if config.wait_if_locked.is_some() => {
            let waiting = config.wait_if_locked.unwrap_or_else(|| Box::new(|| {}));
            let t = &driver.target;
            let token = crate::lobby::wait_for_admission(
                &t.server,
                t.room,
                t.pin.as_deref(),
                &t.display,
                &t.ice,
                waiting,
            )
            .await?;
            let (token, feed) = token;
            driver.target.entry_token = Some(token);
            // The feed the host let in: what it takes the token back by.
            if let Some(feed) = feed {
                driver.publisher_id = feed;
            }
            driver.establish().await?
        }
        other => other?,
    };
    driver.stats.mark_joined();
    let outputs = driver.session.handle(SessionInput::Joined {
        self_id: driver.publisher_id,
        publishers,
    });
    let mut link = Some(link);
    driver.apply(&mut link, outputs).await;
    let self_id = driver.publisher_id;
    let entry_token = driver.target.entry_token.clone();

    let task = tokio::spawn(async move {
        let ended = driver
            .run(&mut link, &mut peer_rx, &mut command_rx, &mut device_lost)
            .await;
        // Told before the teardown, which can take half a second: the user
        // learns at once that the host removed them or ended the meeting.
        // `CallHandle::leave` still waits for the teardown.
        let _ = driver.events.send(CallEvent::Ended(ended.err()));
        driver.shutdown(link).await;
    });
    Ok(CallHandle {
        self_id,
        events,
        commands,
        stats,
        played: echo,
        recording,
        entry_token,
        task,
    })
}

impl Driver {
    fn emit(&self, event: CallEvent) {
        let _ = self.events.send(event);
    }

    /// Connects, joins as publisher and starts publishing.
    async fn establish(&mut self) -> Result<(Link, Vec<Publisher>), MeetingError> {
        let (conn, signals) = JanusConnection::open(&self.target.server).await?;
        let handle = conn.attach_videoroom().await?;
        let room = self.target.room;
        let mut body = request::join_publisher(
            room,
            &self.target.display,
            self.target.pin.as_deref(),
            self.target.entry_token.as_ref().map(Secret::expose),
        );
        body["id"] = serde_json::json!(self.publisher_id);
        let mut reply = conn.message(handle, body.clone(), None).await?;
        if let Incoming::Event {
            room: RoomEvent::Error { code: 436, .. },
            ..
        } = reply
        {
            // Our old session still holds the id (it has not timed out yet).
            self.publisher_id = random_publisher_id();
            self.emit(CallEvent::NewId(self.publisher_id));
            body["id"] = serde_json::json!(self.publisher_id);
            reply = conn.message(handle, body, None).await?;
        }
        let (private_id, publishers) = match reply {
            Incoming::Event {
                room:
                    RoomEvent::Joined {
                        id,
                        private_id,
                        publishers,
                        ..
                    },
                ..
            } => {
                if id != self.publisher_id {
                    self.emit(CallEvent::NewId(id));
                }
                self.publisher_id = id;
                (private_id, publishers)
            }
            Incoming::Event {
                room: RoomEvent::Error { code, reason },
                ..
            } => return Err(MeetingError::from_room_error(room, code, reason)),
            other => {
                return Err(MeetingError::Protocol(format!(
                    "unexpected reply to join: {other:?}"
                )));
            }
        };

        let local_ip = local_ip_towards(&self.target.server).await;
        // Starts from what the encoder sends now (after a rejoin on a
        // squeezed path, not the full rate), and may climb to twice what
        // the settings allow.
        let path = &self.stats.path;
        let congestion = SendCongestion {
            path: Arc::clone(path),
            start_bps: congestion::start_bps(path.video_target_kbps()),
            max_bps: 2.0 * congestion::start_bps(path.video_max_kbps()),
        };
        let (pc, relays) = peer::new_peer(
            PeerRole::Publisher,
            local_ip,
            &self.target.ice,
            self.peer_tx.clone(),
            Some(congestion),
        )
        .await?;
        let mut targets = Vec::new();
        for (kind, codec, pt, slot) in [
            (
                RtpCodecKind::Audio,
                peer::opus_codec(),
                OPUS_PAYLOAD_TYPE,
                &self.pipeline.audio_slot,
            ),
            (
                RtpCodecKind::Video,
                peer::vp8_codec(),
                VP8_PAYLOAD_TYPE,
                &self.pipeline.video_slot,
            ),
        ] {
            if slot.receiver_count() == 0 {
                continue;
            }
            // Simulcast: three encodings, largest first, each its own SSRC.
            let simulcast = kind == RtpCodecKind::Video && self.pipeline.simulcast;
            let ssrcs: [u32; 3] = std::array::from_fn(|_| rand::random());
            let ssrc = ssrcs[0];
            let encodings = if simulcast {
                simulcast::RIDS
                    .iter()
                    .zip(ssrcs)
                    .map(|(rid, ssrc)| RTCRtpEncodingParameters {
                        rtp_coding_parameters: RTCRtpCodingParameters {
                            rid: (*rid).to_string(),
                            ssrc: Some(ssrc),
                            ..Default::default()
                        },
                        codec: codec.clone(),
                        ..Default::default()
                    })
                    .collect()
            } else {
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec,
                    ..Default::default()
                }]
            };
            let track = Arc::new(
                TrackLocalStaticSample::new(
                    Instant::now(),
                    MediaStreamTrack::new(
                        format!("talkline-{}", self.publisher_id),
                        format!("talkline-{kind}"),
                        format!("talkline-{kind}"),
                        kind,
                        encodings,
                    ),
                )
                .map_err(webrtc_err("local track"))?,
            );
            pc.add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
                .await
                .map_err(webrtc_err("add track"))?;
            targets.push((
                kind,
                TrackTarget {
                    track,
                    ssrc,
                    payload_type: pt,
                    // Known once the server has answered.
                    simulcast: None,
                },
                simulcast.then_some(ssrcs),
            ));
        }
        // Someone without camera and microphone joins to watch and listen:
        // nothing to publish.
        let (offer_sdp, answer_sdp) = if targets.is_empty() {
            (String::new(), String::new())
        } else {
            let offer = pc.create_offer(None).await.map_err(webrtc_err("offer"))?;
            pc.set_local_description(offer.clone())
                .await
                .map_err(webrtc_err("local offer"))?;
            let jsep = Jsep {
                kind: JsepKind::Offer,
                sdp: offer.sdp.clone(),
            };
            let mids = Mids::of(&offer.sdp);
            let publish = request::publish(&self.sending(&mids), self.live_description());
            let answer = match conn.message(handle, publish, Some(&jsep)).await? {
                Incoming::Event {
                    jsep:
                        Some(
                            jsep @ Jsep {
                                kind: JsepKind::Answer,
                                ..
                            },
                        ),
                    ..
                } => jsep,
                Incoming::Event {
                    room: RoomEvent::Error { code, reason },
                    ..
                } => return Err(MeetingError::from_room_error(room, code, reason)),
                other => {
                    return Err(MeetingError::Protocol(format!(
                        "publish without an answer: {other:?}"
                    )));
                }
            };
            log::debug!("publish answered");
            let answer_sdp = answer.sdp.clone();
            let remote = RTCSessionDescription::answer(answer.sdp).map_err(webrtc_err("answer"))?;
            pc.set_remote_description(remote)
                .await
                .map_err(webrtc_err("remote answer"))?;
            (offer.sdp, answer_sdp)
        };
        let video_mid = Mids::of(&offer_sdp).video;
        for (kind, mut target, simulcast_ssrcs) in targets {
            if let Some(ssrcs) = simulcast_ssrcs {
                let ids = video_mid
                    .as_deref()
                    .and_then(|mid| StreamIds::negotiated(&answer_sdp, mid));
                if ids.is_none() {
                    self.pipeline
                        .controls
                        .simulcast_refused
                        .store(true, Ordering::Relaxed);
                }
                target.simulcast = ids.map(|ids| SimulcastTarget { ssrcs, ids });
            }
            let track = Arc::clone(&target.track);
            let controls = Arc::clone(&self.pipeline.controls);
            let stats = Arc::clone(&self.stats);
            if kind == RtpCodecKind::Video {
                // Keyframe requests (PLI/FIR) relayed by the SFU.
                tokio::spawn(async move {
                    while let Some(event) = track.poll().await {
                        if matches!(
                            event,
                            webrtc::media_stream::track_local::TrackLocalEvent::OnRtcpPacket(_)
                        ) {
                            controls.keyframe_requested.store(true, Ordering::Relaxed);
                            stats.keyframes_requested.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
                self.pipeline.video_slot.send_replace(Some(target));
                let controls = &self.pipeline.controls;
                controls.keyframe_requested.store(true, Ordering::Relaxed);
                // A new feed (a join, a rejoin): everyone in the room
                // subscribes to it afresh, as newcomers do.
                controls.someone_joined.store(true, Ordering::Relaxed);
            } else {
                self.pipeline.audio_slot.send_replace(Some(target));
            }
        }
        let link = Link {
            conn,
            signals,
            publisher_handle: handle,
            private_id,
            mids: Mids::of(&offer_sdp),
            publisher_up: false,
            descriptions_stale: false,
            publisher_pc: pc,
            _publisher_relays: relays,
            subscriber: None,
            restart_started: None,
            // From the offer on: a connection whose negotiation stalls
            // before it starts connecting counts against the grace too.
            connecting_since: if offer_sdp.is_empty() {
                HashMap::new()
            } else {
                HashMap::from([(PeerRole::Publisher, Instant::now())])
            },
        };
        // Mute state survives a rejoin. The descriptions went with the
        // publish; this only stops the relay of what is muted.
        let muted = self.sending(&link.mids).iter().any(|(_, send)| !send);
        if muted {
            let body = request::configure_relay(&self.sending(&link.mids));
            self.configure(&link, body).await;
        }
        Ok((link, publishers))
    }

    /// Each stream we publish, by mid, and whether it is sent (not muted).
    fn sending<'m>(&self, mids: &'m Mids) -> Vec<(&'m str, bool)> {
        let c = &self.pipeline.controls;
        let mut streams = Vec::new();
        if let Some(mid) = &mids.audio {
            streams.push((mid.as_str(), !c.audio_muted.load(Ordering::Relaxed)));
        }
        if let Some(mid) = &mids.video {
            streams.push((mid.as_str(), !c.video_muted.load(Ordering::Relaxed)));
        }
        streams
    }

    fn switch_camera(&self, source: Option<Box<dyn VideoSource>>) {
        if self.pipeline.replace_video(source).is_err() {
            self.emit(CallEvent::DeviceSwitchFailed(
                DeviceKind::Camera,
                "this call was joined without video; rejoin to add a camera".into(),
            ));
        }
    }

    fn switch_microphone(&self, source: Option<Box<dyn AudioSource>>) {
        if self.pipeline.replace_audio(source).is_err() {
            self.emit(CallEvent::DeviceSwitchFailed(
                DeviceKind::Microphone,
                "this call was joined without audio; rejoin to add a microphone".into(),
            ));
        }
    }

    /// Tells Janus what to relay, and the room what is muted, as soon as
    /// our publisher is up (until then, only what to relay).
    async fn configure_sending(&self, link: &mut Link) {
        let streams = self.sending(&link.mids);
        let body = if link.publisher_up {
            request::configure_sending(&streams, self.live_description())
        } else {
            link.descriptions_stale = true;
            request::configure_relay(&streams)
        };
        self.configure(link, body).await;
    }

    /// How our live streams are described: a person's, or a screen.
    fn live_description(&self) -> &'static str {
        match self.publish_as {
            PublishAs::Person => LIVE,
            PublishAs::Screen { .. } => SCREEN,
        }
    }

    async fn configure(&self, link: &Link, body: serde_json::Value) {
        if let Err(e) = link.conn.message(link.publisher_handle, body, None).await {
            log::warn!("configure failed: {}", e.for_logs());
        }
    }

    /// Carries out what the session machine decided.
    async fn apply(&mut self, link: &mut Option<Link>, outputs: Vec<SessionOutput>) {
        let mut queue: std::collections::VecDeque<SessionOutput> = outputs.into();
        while let Some(output) = queue.pop_front() {
            match output {
                SessionOutput::State(state) => self.emit(CallEvent::State(state)),
                SessionOutput::ParticipantJoined(p) => {
                    // Logs name participants by id only: names are personal data.
                    log::debug!("participant {} joined", p.id);
                    self.stats
                        .remote(p.id, &p.display)
                        .screen
                        .store(p.screen, Ordering::Relaxed);
                    self.pipeline
                        .controls
                        .someone_joined
                        .store(true, Ordering::Relaxed);
                    self.emit(CallEvent::ParticipantJoined(p));
                }
                SessionOutput::ParticipantChanged(p) => self.emit(CallEvent::ParticipantChanged(p)),
                SessionOutput::ParticipantLeft(p) => {
                    log::debug!("participant {} left", p.id);
                    self.video_layer_of.remove(&p.id);
                    self.emit(CallEvent::ParticipantLeft(p));
                }
                SessionOutput::Subscribe(feeds) => {
                    if !self.subscribe {
                        continue;
                    }
                    if let Some(l) = link.as_mut() {
                        match self.subscribe(l, &feeds).await {
                            Ok(true) => {}
                            Ok(false) => queue
                                .extend(self.session.handle(SessionInput::SubscribeRefused(feeds))),
                            Err(e) => {
                                log::warn!("subscribing failed: {}", e.for_logs());
                                queue.extend(
                                    self.session
                                        .handle(SessionInput::Broken(Breakage::Signaling)),
                                );
                            }
                        }
                    }
                }
                SessionOutput::Unsubscribe(feed) => {
                    self.video_layer_of.remove(&feed);
                    let Some(l) = link.as_mut() else { continue };
                    let Some(handle) = l.subscriber.as_ref().map(|s| s.handle) else {
                        continue;
                    };
                    // Janus answers with an "updated" offer without the feed.
                    match l
                        .conn
                        .message(handle, request::unsubscribe(feed), None)
                        .await
                    {
                        Ok(reply) => self.handle_subscriber_reply(l, reply).await,
                        Err(e) => log::debug!("unsubscribe failed: {e}"),
                    }
                }
                SessionOutput::RestartIce => {
                    if let Some(l) = link.as_mut() {
                        self.stats.ice_restarts.fetch_add(1, Ordering::Relaxed);
                        l.restart_started = Some(Instant::now());
                        if let Err(e) = self.restart_ice(l).await {
                            log::warn!("ICE restart failed: {}; rejoining", e.for_logs());
                            queue.extend(
                                self.session
                                    .handle(SessionInput::Broken(Breakage::Signaling)),
                            );
                        }
                    }
                }
                SessionOutput::Rejoin => {
                    if let Some(old) = link.take() {
                        close_link(old).await;
                    }
                    self.pipeline.audio_slot.send_replace(None);
                    self.pipeline.video_slot.send_replace(None);
                    match self.rejoin().await {
                        Ok((l, publishers)) => {
                            *link = Some(l);
                            self.stats.rejoins.fetch_add(1, Ordering::Relaxed);
                            self.stats.reset_since_recovery();
                            queue.extend(self.session.handle(SessionInput::Joined {
                                self_id: self.publisher_id,
                                publishers,
                            }));
                        }
                        Err(e) => {
                            queue.extend(self.session.handle(SessionInput::Leave));
                            self.emit(CallEvent::Ended(Some(e)));
                        }
                    }
                }
            }
        }
    }

    async fn rejoin(&mut self) -> Result<(Link, Vec<Publisher>), MeetingError> {
        let started = Instant::now();
        let mut backoff = Duration::from_millis(250);
        loop {
            match self.establish().await {
                Ok(ok) => return Ok(ok),
                Err(
                    e @ (MeetingError::WrongPin
                    | MeetingError::PinRequired
                    | MeetingError::MeetingLocked
                    | MeetingError::NoSuchRoom(_)),
                ) => return Err(e),
                Err(e) if started.elapsed() > REJOIN_GIVE_UP => return Err(e),
                Err(e) => {
                    log::info!("rejoin failed ({}); retrying in {backoff:?}", e.for_logs());
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(REJOIN_MAX_BACKOFF);
                }
            }
        }
    }

    async fn restart_ice(&self, link: &mut Link) -> Result<(), MeetingError> {
        let pc = &link.publisher_pc;
        let offer = pc
            .create_offer(Some(RTCOfferOptions { ice_restart: true }))
            .await
            .map_err(webrtc_err("restart offer"))?;
        pc.set_local_description(offer.clone())
            .await
            .map_err(webrtc_err("restart local"))?;
        let jsep = Jsep {
            kind: JsepKind::Offer,
            sdp: offer.sdp,
        };
        let body = serde_json::json!({"request": "configure"});
        if let Incoming::Event {
            jsep: Some(answer), ..
        } = link
            .conn
            .message(link.publisher_handle, body, Some(&jsep))
            .await?
        {
            let remote =
                RTCSessionDescription::answer(answer.sdp).map_err(webrtc_err("restart answer"))?;
            pc.set_remote_description(remote)
                .await
                .map_err(webrtc_err("restart remote"))?;
        }
        if let Some(sub) = &link.subscriber {
            let reply = link
                .conn
                .message(
                    sub.handle,
                    serde_json::json!({"request": "configure", "restart": true}),
                    None,
                )
                .await?;
            self.handle_subscriber_reply(link, reply).await;
        }
        Ok(())
    }

    /// Adds feeds to our one subscription, creating it on first use.
    /// `Ok(false)`: the server refused them (see `SessionInput::SubscribeRefused`).
    async fn subscribe(&mut self, link: &mut Link, feeds: &[u64]) -> Result<bool, MeetingError> {
        log::debug!("subscribing to {} feeds", feeds.len());
        if link.subscriber.is_some() {
            let handle = link
                .subscriber
                .as_ref()
                .map(|s| s.handle)
                .unwrap_or_default();
            let reply = link
                .conn
                .message(handle, request::subscribe(feeds), None)
                .await?;
            if refused(&reply) {
                return Ok(false);
            }
            self.handle_subscriber_reply(link, reply).await;
            return Ok(true);
        }
        let handle = link.conn.attach_videoroom().await?;
        let body = request::join_subscriber(
            self.target.room,
            link.private_id,
            self.target.pin.as_deref(),
            feeds,
        );
        let reply = link.conn.message(handle, body, None).await?;
        if refused(&reply) {
            // A handle whose join was refused takes no later subscribe:
            // the next try makes a new one.
            if let Err(e) = link.conn.detach(handle).await {
                log::debug!("detaching a refused subscriber: {}", e.for_logs());
            }
            return Ok(false);
        }
        let (pc, relays) = peer::new_peer(
            PeerRole::Subscriber,
            local_ip_towards(&self.target.server).await,
            &self.target.ice,
            self.peer_tx.clone(),
            None,
        )
        .await?;
        link.connecting_since
            .insert(PeerRole::Subscriber, Instant::now());
        link.subscriber = Some(Subscription {
            handle,
            pc,
            _relays: relays,
            offer_sdp: String::new(),
            streams: HashMap::new(),
            receivers: Vec::new(),
            mid_reused: false,
            tracked: HashMap::new(),
        });
        self.handle_subscriber_reply(link, reply).await;
        Ok(true)
    }

    /// A connected subscription whose video for some feed died at birth
    /// (see `stall`).
    fn video_stalled(&mut self, link: &Link) -> bool {
        let Some(sub) = link.subscriber.as_ref() else {
            return false;
        };
        if link.connecting_since.contains_key(&PeerRole::Subscriber) {
            return false;
        }
        let now = Instant::now();
        let mut stalled = false;
        // Every feed is observed, so each one's counters stay current.
        for stream in sub.streams.values() {
            let (MediaKind::Video, Some(feed)) = (stream.kind, stream.feed_id) else {
                continue;
            };
            let r = self.stats.remote(feed, "");
            // A video we paused (an off-screen tile) is silent by our
            // wish; watched afresh once it is asked for again.
            let paused = self.video_layer_of(Some(feed)) == VideoLayer::Paused;
            r.video_paused.store(paused, Ordering::Relaxed);
            if paused {
                self.stalls.forget(feed);
                continue;
            }
            let video_on = self
                .session
                .participants()
                .any(|p| p.id == feed && p.has_video && !p.video_muted);
            stalled |= self.stalls.observe(
                now,
                feed,
                r.video_packets_received.load(Ordering::Relaxed),
                r.audio_frames_decoded.load(Ordering::Relaxed),
                video_on,
            );
        }
        stalled && self.stalls.resubscribe()
    }

    /// Replaces the subscription with a new one to the same feeds: a new
    /// handle, connection and SRTP session.
    async fn resubscribe(&mut self, link: &mut Link, why: &str) -> Vec<SessionOutput> {
        let Some(old) = link.subscriber.take() else {
            return Vec::new();
        };
        log::info!("{why}: subscribing again");
        self.stats.resubscriptions.fetch_add(1, Ordering::Relaxed);
        let mut feeds: Vec<u64> = old.streams.values().filter_map(|s| s.feed_id).collect();
        feeds.sort_unstable();
        feeds.dedup();
        if let Err(e) = link.conn.detach(old.handle).await {
            log::debug!("detaching a stalled subscriber: {}", e.for_logs());
        }
        let _ = old.pc.close().await;
        drop(old);
        link.connecting_since.remove(&PeerRole::Subscriber);
        match self.subscribe(link, &feeds).await {
            Ok(true) => Vec::new(),
            Ok(false) => self.session.handle(SessionInput::SubscribeRefused(feeds)),
            Err(e) => {
                log::warn!("subscribing again failed: {}", e.for_logs());
                self.session
                    .handle(SessionInput::Broken(Breakage::Signaling))
            }
        }
    }

    /// Applies an attached/updated event with its offer: answer and start;
    /// then asks new video streams for the layer wanted.
    async fn handle_subscriber_reply(&self, link: &mut Link, reply: Incoming) {
        let new_streams = matches!(
            &reply,
            Incoming::Event {
                room: RoomEvent::Streams(_),
                ..
            }
        );
        self.answer_subscriber(link, reply).await;
        // Janus relays the highest layer unless told otherwise.
        if new_streams {
            self.ask_video_layers(link, |_, layer| layer != VideoLayer::default())
                .await;
        }
    }

    /// Marks in the stats whose video is paused on our request: their
    /// silence is no fault (the stall watch's, the quality indicator's).
    fn note_paused(&self) {
        for r in self.stats.remotes() {
            let paused = self.video_layer_of(Some(r.feed_id)) == VideoLayer::Paused;
            r.video_paused.store(paused, Ordering::Relaxed);
        }
    }

    /// The layer asked for a participant's video.
    fn video_layer_of(&self, feed: Option<u64>) -> VideoLayer {
        feed.and_then(|f| self.video_layer_of.get(&f).copied())
            .unwrap_or(self.video_layer)
    }

    /// Asks Janus for each video stream's layer, of the streams `which`
    /// picks (by feed and layer).
    async fn ask_video_layers(
        &self,
        link: &mut Link,
        which: impl Fn(Option<u64>, VideoLayer) -> bool,
    ) {
        let Some(sub) = link.subscriber.as_ref() else {
            return;
        };
        let streams: Vec<(&str, Option<u8>)> = sub
            .streams
            .values()
            .filter(|s| s.kind == MediaKind::Video)
            .map(|s| (s, self.video_layer_of(s.feed_id)))
            .filter(|(s, layer)| which(s.feed_id, *layer))
            .map(|(s, layer)| (s.mid.as_str(), layer.substream()))
            .collect();
        if streams.is_empty() {
            return;
        }
        let body = request::configure_substreams(&streams);
        log::debug!("asking Janus for video layers: {body}");
        if let Err(e) = link.conn.message(sub.handle, body, None).await {
            log::warn!("asking for video layers failed: {}", e.for_logs());
        }
    }

    async fn answer_subscriber(&self, link: &mut Link, reply: Incoming) {
        let Incoming::Event { room, jsep, .. } = reply else {
            return;
        };
        let Some(sub) = link.subscriber.as_mut() else {
            return;
        };
        match room {
            RoomEvent::Streams(streams) => {
                // A stream new to this subscription (a resubscription, a
                // rejoin) has no layer until Janus says which it relays.
                let is_new = |s: &SubscribedStream| {
                    sub.streams
                        .get(&s.mid)
                        .is_none_or(|old| old.feed_id != s.feed_id)
                };
                let reused = streams.iter().any(|s| {
                    let tracked = sub.tracked.get(&s.mid);
                    tracked.is_some() && s.feed_id.is_some() && s.feed_id.as_ref() != tracked
                });
                if reused {
                    log::info!("Janus gave a stream's place to another feed");
                    sub.mid_reused = true;
                    // Nothing more is counted for the feeds tracked so far
                    // until the new subscription is up.
                    for r in &sub.receivers {
                        r.abort();
                    }
                }
                for s in streams
                    .iter()
                    .filter(|s| s.kind == MediaKind::Video && is_new(s))
                {
                    if let Some(remote) = s.feed_id.and_then(|f| self.stats.remote_by_feed(f)) {
                        remote.video_substream.store(u32::MAX, Ordering::Relaxed);
                    }
                }
                sub.streams = streams.into_iter().map(|s| (s.mid.clone(), s)).collect();
            }
            RoomEvent::Error { code, reason } => {
                log::warn!("subscription error {code}: {reason}");
                return;
            }
            RoomEvent::Substream { mid, substream } => {
                if let Some(stream) = sub.streams.get(&mid)
                    && let Some(feed) = stream.feed_id
                {
                    let display = stream.feed_display.clone().unwrap_or_default();
                    let layer = u32::try_from(substream).unwrap_or(u32::MAX);
                    log::debug!("Janus relays substream {substream} of mid {mid}");
                    self.stats
                        .remote(feed, &display)
                        .video_substream
                        .store(layer, Ordering::Relaxed);
                }
            }
            _ => {}
        }
        let Some(offer) = jsep.filter(|j| j.kind == JsepKind::Offer) else {
            return;
        };
        let result = async {
            let remote = RTCSessionDescription::offer(offer.sdp.clone())
                .map_err(webrtc_err("subscriber offer"))?;
            sub.pc
                .set_remote_description(remote)
                .await
                .map_err(webrtc_err("subscriber remote"))?;
            let answer = sub
                .pc
                .create_answer(None)
                .await
                .map_err(webrtc_err("subscriber answer"))?;
            sub.pc
                .set_local_description(answer.clone())
                .await
                .map_err(webrtc_err("subscriber local"))?;
            sub.offer_sdp = offer.sdp;
            let jsep = Jsep {
                kind: JsepKind::Answer,
                sdp: answer.sdp,
            };
            link.conn
                .message(sub.handle, request::start(), Some(&jsep))
                .await
        }
        .await;
        if let Err(e) = result {
            log::warn!("subscriber negotiation failed: {}", e.for_logs());
        }
    }

    async fn on_remote_track(&self, link: &mut Link, track: Arc<dyn TrackRemote>) {
        let Some(sub) = link.subscriber.as_mut() else {
            return;
        };
        let kind = track.kind().await;
        let ssrc = track.ssrcs().await.first().copied().unwrap_or(0);
        let mid = sdp::mid_of_ssrc(&sub.offer_sdp, ssrc);
        let stream = mid.as_ref().and_then(|mid| sub.streams.get(mid).cloned());
        let (Some(mid), Some(stream)) = (mid, stream) else {
            log::warn!("a remote track (ssrc {ssrc}) matches no subscribed stream");
            return;
        };
        let Some(feed) = stream.feed_id else { return };
        sub.tracked.insert(mid, feed);
        let display = stream.feed_display.unwrap_or_default();
        let remote = self.stats.remote(feed, &display);
        let expected = match stream.kind {
            MediaKind::Audio => RtpCodecKind::Audio,
            MediaKind::Video => RtpCodecKind::Video,
            MediaKind::Data => return,
        };
        if expected != kind {
            log::warn!("track kind {kind} does not match stream kind");
        }
        let screen = (expected == RtpCodecKind::Video)
            .then(|| {
                self.tiles.as_ref().map(|t| {
                    let tile = feed.to_string();
                    Screen {
                        pictures: t.get_or_create(&tile),
                        encoded: t.encoded_feed(&tile),
                    }
                })
            })
            .flatten();
        let audio = (expected == RtpCodecKind::Audio)
            .then(|| match self.playout.add_input(Arc::clone(&remote)) {
                Ok(feed) => Some(feed),
                Err(e) => {
                    log::warn!("cannot play a participant's audio: {e}");
                    None
                }
            })
            .flatten();
        let audio_level_id = sdp::extension_id(&sub.offer_sdp, ssrc, AUDIO_LEVEL_URI);
        sub.receivers.push(spawn_track_receiver(
            track,
            expected,
            remote,
            Arc::clone(&self.stats),
            audio,
            VideoOut {
                screen,
                recording: Arc::clone(&self.recording),
            },
            audio_level_id,
        ));
    }

    async fn on_signal(&mut self, link: &mut Option<Link>, msg: Incoming) -> Vec<SessionOutput> {
        let Some(l) = link.as_mut() else {
            return Vec::new();
        };
        let sub_handle = l.subscriber.as_ref().map(|s| s.handle);
        match msg {
            Incoming::Event { sender, room, .. } if sender == l.publisher_handle => match room {
                RoomEvent::Publishers(list) => self.session.handle(SessionInput::Publishers(list)),
                RoomEvent::Leaving(id) | RoomEvent::Unpublished(id) | RoomEvent::Removed(id) => {
                    self.session.handle(SessionInput::Gone(id))
                }
                RoomEvent::Moderated { id, mid, held } if id == self.publisher_id => {
                    self.held_by_host(l, &mid, held).await;
                    Vec::new()
                }
                RoomEvent::Moderated { id, mid, held } => self
                    .session
                    .handle(SessionInput::Moderated { id, mid, held }),
                // Ends the call for good: no rejoin.
                RoomEvent::RemovedUs => {
                    self.ended = Some(MeetingError::RemovedByHost);
                    self.session.handle(SessionInput::Leave)
                }
                RoomEvent::Destroyed => {
                    self.ended = Some(MeetingError::MeetingEnded);
                    self.session.handle(SessionInput::Leave)
                }
                _ => Vec::new(),
            },
            msg @ Incoming::Event { .. } => {
                if let Incoming::Event { sender, .. } = &msg
                    && Some(*sender) == sub_handle
                {
                    self.handle_subscriber_reply(l, msg).await;
                }
                Vec::new()
            }
            Incoming::Trickle { sender, trickle } => {
                log::trace!("remote candidate for handle {sender}: {trickle:?}");
                let pc = if sender == l.publisher_handle {
                    Some(&l.publisher_pc)
                } else if Some(sender) == sub_handle {
                    l.subscriber.as_ref().map(|s| &s.pc)
                } else {
                    None
                };
                if let (Some(pc), Some(init)) = (pc, peer::candidate_init(&trickle))
                    && let Err(e) = pc.add_ice_candidate(init).await
                {
                    log::debug!("ignoring a remote candidate: {e}");
                }
                Vec::new()
            }
            Incoming::WebrtcUp { sender } if sender == l.publisher_handle => {
                l.publisher_up = true;
                if std::mem::take(&mut l.descriptions_stale) {
                    self.configure_sending(l).await;
                }
                Vec::new()
            }
            Incoming::Hangup { sender, .. }
                if sender == l.publisher_handle || Some(sender) == sub_handle =>
            {
                if sender == l.publisher_handle {
                    // Down until Janus says "webrtcup" again.
                    l.publisher_up = false;
                }
                self.session
                    .handle(SessionInput::Broken(Breakage::MediaPath))
            }
            Incoming::Timeout => self
                .session
                .handle(SessionInput::Broken(Breakage::Signaling)),
            _ => Vec::new(),
        }
    }

    /// The host turned one of our streams off, or let it go. Off: we stop
    /// sending it too, and the room is told it is muted. Let go: it stays
    /// off until the user turns it on.
    async fn held_by_host(&mut self, link: &mut Link, mid: &str, held: bool) {
        let controls = &self.pipeline.controls;
        let kind = if link.mids.audio.as_deref() == Some(mid) {
            self.held.microphone = held;
            if held {
                controls.audio_muted.store(true, Ordering::Relaxed);
            }
            DeviceKind::Microphone
        } else if link.mids.video.as_deref() == Some(mid) {
            self.held.camera = held;
            if held {
                controls.video_muted.store(true, Ordering::Relaxed);
            }
            DeviceKind::Camera
        } else {
            return;
        };
        if held {
            self.configure_sending(link).await;
        }
        self.emit(CallEvent::HostHeld { kind, held });
    }

    fn on_peer_state(
        &mut self,
        link: &mut Option<Link>,
        role: PeerRole,
        state: RTCPeerConnectionState,
    ) -> Vec<SessionOutput> {
        log::debug!("peer connection {state}");
        if let Some(l) = link.as_mut() {
            match state {
                RTCPeerConnectionState::Connecting => {
                    l.connecting_since.entry(role).or_insert_with(Instant::now);
                }
                // webrtc-rs reports New for a connection whose transports
                // are all new: one negotiating has not come up yet either.
                RTCPeerConnectionState::New => {}
                _ => {
                    l.connecting_since.remove(&role);
                }
            }
        }
        match state {
            RTCPeerConnectionState::Connected => {
                // Media after an ICE restart counts as after a recovery.
                if link
                    .as_mut()
                    .and_then(|l| l.restart_started.take())
                    .is_some()
                {
                    self.stats.reset_since_recovery();
                }
                self.session.handle(SessionInput::Restored)
            }
            RTCPeerConnectionState::Failed => self
                .session
                .handle(SessionInput::Broken(Breakage::MediaPath)),
            _ => Vec::new(),
        }
    }

    async fn run(
        &mut self,
        link: &mut Option<Link>,
        peer_rx: &mut mpsc::UnboundedReceiver<(PeerRole, PeerEvent)>,
        commands: &mut mpsc::UnboundedReceiver<CallCommand>,
        device_lost: &mut mpsc::UnboundedReceiver<DeviceKind>,
    ) -> Result<(), MeetingError> {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            if self.session.state() == CallState::Left {
                return self.ended.take().map_or(Ok(()), Err);
            }
            let outputs = tokio::select! {
                signal = async {
                    match link.as_mut() {
                        Some(l) => l.signals.recv().await,
                        None => std::future::pending().await,
                    }
                } => match signal {
                    Some(SignalEvent::Message(msg)) => self.on_signal(link, msg).await,
                    Some(SignalEvent::Closed(reason)) => {
                        log::info!("signaling connection closed: {reason}");
                        self.session.handle(SessionInput::Broken(Breakage::Signaling))
                    }
                    None => self.session.handle(SessionInput::Broken(Breakage::Signaling)),
                },
                Some((role, event)) = peer_rx.recv() => match event {
                    PeerEvent::Candidate(c) => {
                        log::trace!("local candidate ({role:?}): {c:?}");
                        if let Some(l) = link.as_ref() {
                            let handle = match role {
                                PeerRole::Publisher => Some(l.publisher_handle),
                                PeerRole::Subscriber => l.subscriber.as_ref().map(|s| s.handle),
                            };
                            if let Some(h) = handle {
                                l.conn.trickle(h, &c);
                            }
                        }
                        Vec::new()
                    }
                    PeerEvent::State(state) => self.on_peer_state(link, role, state),
                    PeerEvent::RelayUnreachable(why) => {
                        if self.relay_problems.insert(why.clone()) {
                            self.emit(CallEvent::RelayUnreachable(why));
                        }
                        Vec::new()
                    }
                    PeerEvent::Track(track) => {
                        if let Some(l) = link.as_mut() {
                            self.on_remote_track(l, track).await;
                        }
                        Vec::new()
                    }
                },
                command = commands.recv() => match command {
                    Some(CallCommand::SetAudioMuted(false)) if self.held.microphone => {
                        self.emit(CallEvent::Refused(MeetingError::MicrophoneHeldByHost));
                        Vec::new()
                    }
                    Some(CallCommand::SetVideoMuted(false)) if self.held.camera => {
                        self.emit(CallEvent::Refused(MeetingError::CameraHeldByHost));
                        Vec::new()
                    }
                    Some(CallCommand::SetAudioMuted(m)) => {
                        self.pipeline.controls.audio_muted.store(m, Ordering::Relaxed);
                        if let Some(l) = link.as_mut() { self.configure_sending(l).await; }
                        Vec::new()
                    }
                    Some(CallCommand::SetVideoMuted(m)) => {
                        self.pipeline.controls.video_muted.store(m, Ordering::Relaxed);
                        if let Some(l) = link.as_mut() { self.configure_sending(l).await; }
                        Vec::new()
                    }
                    Some(CallCommand::ReplaceVideoSource(source)) => {
                        self.switch_camera(Some(source));
                        Vec::new()
                    }
                    Some(CallCommand::ReleaseVideoSource) => {
                        self.switch_camera(None);
                        Vec::new()
                    }
                    Some(CallCommand::ReplaceAudioSource(source)) => {
                        self.switch_microphone(Some(source));
                        Vec::new()
                    }
                    Some(CallCommand::ReleaseAudioSource) => {
                        self.switch_microphone(None);
                        Vec::new()
                    }
                    Some(CallCommand::ReplaceAudioOutput(sink)) => {
                        self.playout.replace_sink(sink);
                        Vec::new()
                    }
                    Some(CallCommand::SetVoiceSettings(settings)) => {
                        self.pipeline.controls.set_voice(settings);
                        Vec::new()
                    }
                    Some(CallCommand::SetVideoLayer(layer)) => {
                        self.video_layer = layer;
                        self.note_paused();
                        if let Some(l) = link.as_mut() {
                            let own: HashSet<u64> = self.video_layer_of.keys().copied().collect();
                            self.ask_video_layers(l, |feed, _| !feed.is_some_and(|f| own.contains(&f))).await;
                        }
                        Vec::new()
                    }
                    Some(CallCommand::OwnFeed(feed)) => self.session.handle(SessionInput::OwnFeed(feed)),
                    // Only for someone in the meeting: a window's late
                    // request for one who left is dropped.
                    Some(CallCommand::SetVideoLayerOf { feed, layer }) => {
                        if !self.session.participants().any(|p| p.id == feed) {
                            continue;
                        }
                        self.video_layer_of.insert(feed, layer);
                        self.note_paused();
                        if let Some(l) = link.as_mut() {
                            self.ask_video_layers(l, |f, _| f == Some(feed)).await;
                        }
                        Vec::new()
                    }
                    Some(CallCommand::Leave) | None => self.session.handle(SessionInput::Leave),
                },
                Some(kind) = device_lost.recv() => {
                    self.emit(CallEvent::DeviceLost(kind));
                    Vec::new()
                },
                _ = tick.tick() => {
                    let restart_stuck = link.as_ref().and_then(|l| l.restart_started).is_some_and(|t| t.elapsed() > ICE_RESTART_GRACE);
                    let connect_stuck = link.as_ref().is_some_and(|l| {
                        l.connecting_since.values().any(|t| t.elapsed() > CONNECT_GRACE)
                    });
                    if connect_stuck {
                        log::info!("a media connection never came up: rejoining");
                    }
                    let subscription_stuck = link.as_ref().and_then(|l| l.connecting_since.get(&PeerRole::Subscriber)).is_some_and(|t| t.elapsed() > SUBSCRIBE_GRACE);
                    if restart_stuck || connect_stuck {
                        self.session.handle(SessionInput::Broken(Breakage::Signaling))
                    } else if let Some(l) = link.as_mut().filter(|_| subscription_stuck) {
                        if self.stalls.resubscribe() {
                            self.resubscribe(l, "a subscription never came up").await
                        } else {
                            Vec::new()
                        }
                    } else if let Some(l) = link.as_mut().filter(|l| self.video_stalled(l)) {
                        self.resubscribe(l, "video from a feed stalled at the start").await
                    } else {
                        Vec::new()
                    }
                }
            };
            self.apply(link, outputs).await;
            // Whatever was handled may have shown a stream given to another
            // feed (see `Subscription::mid_reused`): mended at once.
            if let Some(l) = link
                .as_mut()
                .filter(|l| l.subscriber.as_ref().is_some_and(|s| s.mid_reused))
            {
                let outputs = self
                    .resubscribe(l, "a stream now carries another feed")
                    .await;
                self.apply(link, outputs).await;
            }
        }
    }

    async fn shutdown(&mut self, link: Option<Link>) {
        self.pipeline.stop();
        if let Some(l) = link {
            let _ = tokio::time::timeout(
                Duration::from_secs(2),
                l.conn.message(l.publisher_handle, request::leave(), None),
            )
            .await;
            close_link(l).await;
        }
    }
}

async fn close_link(link: Link) {
    let _ = link.publisher_pc.close().await;
    if let Some(sub) = &link.subscriber {
        let _ = sub.pc.close().await;
    }
    drop(link.subscriber);
    link.conn.close().await;
}
