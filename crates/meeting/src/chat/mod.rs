//! A meeting's chat, raised hands, reactions and files: Janus's TextRoom
//! plugin in the meeting's room (and a room beside it for the rest, see
//! `side_room`), over a data channel of its own. The chat keeps its own signaling session on
//! the meeting's server, beside the call's, so the call's state machine
//! knows nothing of it and a chat that fails leaves the call as it was.
//!
//! `room` is the protocol without sockets; this module connects it: the
//! plugin's setup (Janus offers a data-only session, we answer), a data
//! channel opened from our side, and a task that hands the room what
//! arrives and sends what the user writes.

pub mod files;
pub mod recording_notice;
pub mod room;
pub mod side_room;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::peer_connection::sdp::RTCSessionDescription;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::peer_connection::{PeerConnection, RTCPeerConnectionState};

pub use files::{FileEvent, FileOffer, MAX_FILE_BYTES};
pub use recording_notice::Recorders;
pub use room::{
    ChatEvent, ChatMessage, ChatPerson, ChatRoom, MAX_CHAT_CHARS, MAX_CHAT_HISTORY,
    MAX_CHAT_WIRE_BYTES, SeenMessages,
};
pub use side_room::{REACTIONS, RaisedHand, Reaction, SideEvent, SideRoom};

use crate::board::{NewStroke, Stroke, Surface, Whiteboard};
use crate::call::Target;
use crate::error::MeetingError;
use crate::ice_servers::IceServers;
use crate::janus::connection::{JanusConnection, SignalEvent};
use crate::janus::protocol::{Incoming, Jsep, JsepKind};
use crate::link::ServerUrl;
use crate::peer::{self, PeerEvent, PeerRole, StreamRelays, webrtc_err};

/// How long the data channel may take to open once answered.
const OPEN_TIMEOUT: Duration = Duration::from_secs(15);
/// Events waiting for the application: beyond this a flood from the
/// server is dropped, not queued.
const MAX_WAITING_CHAT_EVENTS: usize = 1024;
/// How often messages the server has not confirmed are looked at.
const CONFIRMATIONS_CHECKED_EVERY: Duration = Duration::from_secs(2);

enum ChatCommand {
    Send {
        text: String,
        to: Option<String>,
        reply: oneshot::Sender<Result<ChatMessage, MeetingError>>,
    },
    Hand {
        up: bool,
        reply: oneshot::Sender<Result<(), MeetingError>>,
    },
    Recording {
        on: bool,
        reply: oneshot::Sender<Result<(), MeetingError>>,
    },
    React {
        emoji: String,
        reply: oneshot::Sender<Result<(), MeetingError>>,
    },
    OfferFile {
        name: String,
        bytes: Vec<u8>,
        to: Option<String>,
        reply: oneshot::Sender<Result<FileOffer, MeetingError>>,
    },
    Download {
        id: String,
        reply: oneshot::Sender<Result<(), MeetingError>>,
    },
    Board {
        action: BoardAction,
        reply: oneshot::Sender<Result<Option<String>, MeetingError>>,
    },
    Strokes {
        on: Surface,
        reply: oneshot::Sender<BoardView>,
    },
    Forget(Surface),
    Leave(oneshot::Sender<()>),
}

/// Something done to the boards (see `crate::board`).
#[derive(Debug, Clone)]
pub enum BoardAction {
    Draw(Surface, NewStroke),
    /// The eraser: these strokes, anyone's.
    Erase(Surface, Vec<String>),
    /// Takes back our last stroke.
    Undo(Surface),
    Clear(Surface),
    /// Shows the whiteboard to everyone, or puts it away.
    Show(bool),
}

/// A surface as drawn, and who shows the whiteboard.
#[derive(Debug, Clone, Default)]
pub struct BoardView {
    pub strokes: Vec<Stroke>,
    /// The name of whoever shows the whiteboard, and whether it is us.
    pub shown_by: Option<(String, bool)>,
}

/// The chat of a meeting, connected.
pub struct Chat {
    commands: mpsc::UnboundedSender<ChatCommand>,
    /// What happens in the chat, in order.
    pub events: mpsc::Receiver<ChatEvent>,
}

impl Chat {
    /// Sends `text` to everyone, or to the person with username `to`;
    /// the message as shown.
    pub async fn send(&self, text: &str, to: Option<&str>) -> Result<ChatMessage, MeetingError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(ChatCommand::Send {
                text: text.to_string(),
                to: to.map(str::to_string),
                reply,
            })
            .map_err(|_| MeetingError::ChatClosed)?;
        answer.await.map_err(|_| MeetingError::ChatClosed)?
    }

    /// Raises our hand (or lowers it): it is in the queue once the server
    /// has relayed it (`SideEvent::Hands`).
    pub async fn raise_hand(&self, up: bool) -> Result<(), MeetingError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(ChatCommand::Hand { up, reply })
            .map_err(|_| MeetingError::ChatClosed)?;
        answer.await.map_err(|_| MeetingError::ChatClosed)?
    }

    /// Tells everyone in the meeting that we record it on this device, or
    /// that we stopped (and each newcomer while we do). An error when
    /// nobody can be told: a recording must not start then.
    pub async fn set_recording(&self, on: bool) -> Result<(), MeetingError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(ChatCommand::Recording { on, reply })
            .map_err(|_| MeetingError::ChatClosed)?;
        answer.await.map_err(|_| MeetingError::ChatClosed)?
    }

    /// Sends one of `REACTIONS` to everyone (shown to us at once; dropped
    /// when sent faster than anyone can see them).
    pub async fn react(&self, emoji: &str) -> Result<(), MeetingError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(ChatCommand::React {
                emoji: emoji.to_string(),
                reply,
            })
            .map_err(|_| MeetingError::ChatClosed)?;
        answer.await.map_err(|_| MeetingError::ChatClosed)?
    }

    /// Offers a file (at most `MAX_FILE_BYTES`) to everyone, or to the
    /// person with username `to`; it stays offered while we are in the
    /// meeting. The offer as shown.
    pub async fn offer_file(
        &self,
        name: &str,
        bytes: Vec<u8>,
        to: Option<&str>,
    ) -> Result<FileOffer, MeetingError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(ChatCommand::OfferFile {
                name: name.to_string(),
                bytes,
                to: to.map(str::to_string),
                reply,
            })
            .map_err(|_| MeetingError::ChatClosed)?;
        answer.await.map_err(|_| MeetingError::ChatClosed)?
    }

    /// Asks for a file offered to us: it arrives as
    /// `FileEvent::Received` (or `Failed`), to be saved by the caller.
    pub async fn download(&self, id: &str) -> Result<(), MeetingError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(ChatCommand::Download {
                id: id.to_string(),
                reply,
            })
            .map_err(|_| MeetingError::ChatClosed)?;
        answer.await.map_err(|_| MeetingError::ChatClosed)?
    }

    /// Draws on a board, erases, undoes, clears, or shows the whiteboard:
    /// a stroke's id when drawing (it is drawn when the server relays it,
    /// `BoardEvent::Drawn`).
    pub async fn board(&self, action: BoardAction) -> Result<Option<String>, MeetingError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(ChatCommand::Board { action, reply })
            .map_err(|_| MeetingError::ChatClosed)?;
        answer.await.map_err(|_| MeetingError::ChatClosed)?
    }

    /// The strokes on `on` as drawn now.
    pub async fn strokes(&self, on: Surface) -> Result<BoardView, MeetingError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(ChatCommand::Strokes { on, reply })
            .map_err(|_| MeetingError::ChatClosed)?;
        answer.await.map_err(|_| MeetingError::ChatClosed)
    }

    /// Forgets a shared screen's annotation once the share ended.
    pub fn forget_surface(&self, on: Surface) {
        let _ = self.commands.send(ChatCommand::Forget(on));
    }

    /// Leaves the room and closes the chat's connection.
    pub async fn leave(self) {
        let (done, wait) = oneshot::channel();
        if self.commands.send(ChatCommand::Leave(done)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(3), wait).await;
        }
    }
}

/// Joins the chat of `room` on `server` as `display`, publishing `feed`
/// in the meeting (what tile our hand and reactions are shown on). It stays joined
/// for as long as the `Chat` is kept: a connection lost (the network, the
/// server restarted) is reconnected, and what the server gives again is
/// not shown twice.
pub async fn open(
    server: &ServerUrl,
    room: u64,
    pin: Option<&str>,
    entry_token: Option<&crate::host::Secret>,
    display: &str,
    feed: Option<u64>,
    ice: &IceServers,
) -> Result<Chat, MeetingError> {
    let target = Target {
        server: server.clone(),
        room,
        pin: pin.map(str::to_string),
        entry_token: entry_token.cloned(),
        display: display.to_string(),
        ice: ice.clone(),
    };
    // A first connection that did not come up (its data channel slow to
    // open on a lossy path) is tried again, as a lost one would be; a
    // refusal is final at once.
    let mut failures = 0;
    let link = loop {
        match connect(&target, feed, &mut Resume::default()).await {
            Ok(link) => break link,
            Err(
                e @ (MeetingError::ChatUnavailable(_)
                | MeetingError::WebRtc(_)
                | MeetingError::ChatClosed
                | MeetingError::ConnectionLost(_)),
            ) if failures < FIRST_CONNECT_TRIES - 1 => {
                log::info!("the chat did not connect yet: {}", e.for_logs());
                tokio::time::sleep(RECONNECT_AFTER[failures]).await;
                failures += 1;
            }
            Err(e) => return Err(e),
        }
    };
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (events_tx, events) = mpsc::channel(MAX_WAITING_CHAT_EVENTS);
    tokio::spawn(supervise(target, feed, link, command_rx, events_tx));
    Ok(Chat { commands, events })
}

/// Closes a peer connection dropped before it is part of a `Link` (an
/// attempt that failed, or was abandoned): webrtc-rs would keep its
/// sockets and ICE agent running otherwise.
struct PeerGuard {
    pc: Arc<dyn PeerConnection>,
    armed: bool,
}

impl PeerGuard {
    fn keep(mut self) {
        self.armed = false;
    }
}

impl Drop for PeerGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let pc = Arc::clone(&self.pc);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = pc.close().await;
            });
        }
    }
}

/// What a new connection carries on from the one lost.
#[derive(Default)]
struct Resume {
    /// The id the next message shown gets.
    next_id: u64,
    /// Our usernames on earlier connections.
    earlier: Vec<String>,
    hand_up: bool,
    /// We record the meeting, and say so.
    recording: bool,
    /// Files offered and seen.
    files: files::FileShare,
    /// The boards as drawn (kept when nobody is left to tell them).
    board: Whiteboard,
}

/// A TextRoom session with its data channel open, before any room is
/// joined: the chat's, and the waiting room's (`crate::lobby`). Until it
/// is kept, dropping it closes the peer connection.
pub(crate) struct TextChannel {
    pub(crate) conn: JanusConnection,
    pub(crate) handle: u64,
    pub(crate) pc: Arc<dyn PeerConnection>,
    pub(crate) channel: Arc<dyn DataChannel>,
    pub(crate) relays: StreamRelays,
    pub(crate) signals: mpsc::Receiver<SignalEvent>,
    pub(crate) peer_rx: mpsc::UnboundedReceiver<(PeerRole, PeerEvent)>,
    guard: PeerGuard,
}

impl TextChannel {
    /// Closes the channel, the peer connection and the session, best effort.
    pub(crate) async fn close(self) {
        let _ = self.channel.close().await;
        let _ = self.pc.close().await;
        let _ = self.conn.detach(self.handle).await;
        self.conn.close().await;
    }
}

/// Opens a TextRoom session on `server` and its data channel.
pub(crate) async fn open_text_channel(
    server: &ServerUrl,
    ice: &IceServers,
) -> Result<TextChannel, MeetingError> {
    let (conn, mut signals) = JanusConnection::open(server).await?;
    let handle = conn.attach("janus.plugin.textroom").await?;
    let offer = match conn
        .message(handle, json!({"request": "setup"}), None)
        .await?
    {
        Incoming::Event {
            jsep: Some(jsep), ..
        } if jsep.kind == JsepKind::Offer => jsep,
        other => {
            return Err(MeetingError::Protocol(format!(
                "the chat's setup had no offer: {other:?}"
            )));
        }
    };
    let (peer_events, mut peer_rx) = mpsc::unbounded_channel();
    let local_ip = crate::call::local_ip_towards(server).await;
    // The relays (TURN over TCP or TLS) carry the chat for as long as it
    // runs: they are kept with it.
    let (pc, relays) =
        peer::new_peer(PeerRole::Subscriber, local_ip, ice, peer_events, None).await?;
    let guard = PeerGuard {
        pc: Arc::clone(&pc),
        armed: true,
    };
    let answer = async {
        let remote =
            RTCSessionDescription::offer(offer.sdp.clone()).map_err(webrtc_err("chat offer"))?;
        pc.set_remote_description(remote)
            .await
            .map_err(webrtc_err("chat remote"))?;
        let answer = pc
            .create_answer(None)
            .await
            .map_err(webrtc_err("chat answer"))?;
        pc.set_local_description(answer.clone())
            .await
            .map_err(webrtc_err("chat local"))?;
        Ok::<_, MeetingError>(answer)
    }
    .await?;
    let jsep = Jsep {
        kind: JsepKind::Answer,
        sdp: answer.sdp,
    };
    conn.message(handle, json!({"request": "ack"}), Some(&jsep))
        .await?;
    let channel = pc
        .create_data_channel("JanusDataChannel", None)
        .await
        .map_err(webrtc_err("chat channel"))?;

    // Until the channel opens: candidates both ways, and the state.
    let opened = async {
        loop {
            tokio::select! {
                event = channel.poll() => match event {
                    Some(DataChannelEvent::OnOpen) => return Ok(()),
                    Some(DataChannelEvent::OnClose) | None => {
                        return Err(MeetingError::ChatClosed);
                    }
                    Some(_) => {}
                },
                Some((_, event)) = peer_rx.recv() => match event {
                    PeerEvent::Candidate(c) => conn.trickle(handle, &c),
                    PeerEvent::State(RTCPeerConnectionState::Failed) => {
                        return Err(MeetingError::WebRtc("the chat's connection failed".into()));
                    }
                    _ => {}
                },
                Some(signal) = signals.recv() => match signal {
                    SignalEvent::Message(Incoming::Trickle { sender, trickle }) if sender == handle => {
                        if let Some(init) = peer::candidate_init(&trickle) {
                            let _ = pc.add_ice_candidate(init).await;
                        }
                    }
                    SignalEvent::Closed(why) => return Err(MeetingError::ConnectionLost(why)),
                    SignalEvent::Message(_) => {}
                },
            }
        }
    };
    tokio::time::timeout(OPEN_TIMEOUT, opened)
        .await
        .map_err(|_| MeetingError::ChatUnavailable("the chat's channel did not open".into()))??;
    Ok(TextChannel {
        conn,
        handle,
        pc,
        channel,
        relays,
        signals,
        peer_rx,
        guard,
    })
}

/// Connects once, carrying on from `resume`.
async fn connect(
    target: &Target,
    feed: Option<u64>,
    resume: &mut Resume,
) -> Result<Link, MeetingError> {
    let Target {
        server,
        room,
        pin,
        display,
        ice,
        entry_token,
    } = target;
    let (room, pin) = (*room, pin.as_deref());
    let TextChannel {
        conn,
        handle,
        pc,
        channel,
        relays,
        signals,
        peer_rx,
        guard,
    } = open_text_channel(server, ice).await?;
    let username = room::username_for(rand::random::<u64>(), display);
    let token = entry_token.as_ref().map(crate::host::Secret::expose);
    let (chat_room, join) = ChatRoom::new(room, &username, display, pin, token);
    let chat_room = chat_room.continuing(resume.next_id, &resume.earlier);
    channel
        .send_text(&join)
        .await
        .map_err(webrtc_err("chat join"))?;
    // Hands and reactions are an extra: without them the chat still runs.
    let side = match SideRoom::new(room, &username, display, pin, token, feed) {
        Ok((side, join)) => {
            channel
                .send_text(&join)
                .await
                .map_err(webrtc_err("hands join"))?;
            Some(side.continuing(resume.hand_up, resume.recording))
        }
        Err(e) => {
            log::info!("no hands or reactions: {}", e.for_logs());
            None
        }
    };
    guard.keep();
    // Connected: the files carry over (an attempt that failed kept them).
    let mut side = side;
    if let Some(side) = side.as_mut() {
        side.carry_files(std::mem::take(&mut resume.files));
        side.carry_board(std::mem::take(&mut resume.board));
    }
    Ok(Link {
        room: chat_room,
        side,
        channel,
        pc,
        _relays: relays,
        conn,
        handle,
        signals,
        peer_rx,
    })
}

/// One connection of the chat: its signaling session, the plugin's handle,
/// the data-only peer connection and its channel, and the room joined.
struct Link {
    room: ChatRoom,
    side: Option<SideRoom>,
    channel: Arc<dyn DataChannel>,
    pc: Arc<dyn PeerConnection>,
    _relays: StreamRelays,
    conn: JanusConnection,
    handle: u64,
    signals: mpsc::Receiver<SignalEvent>,
    peer_rx: mpsc::UnboundedReceiver<(PeerRole, PeerEvent)>,
}

impl Link {
    /// Leaves the room (if still in it) and closes everything, best effort.
    async fn close(mut self) {
        if self.room.is_joined() {
            let _ = self.channel.send_text(&self.room.leave()).await;
        }
        if let Some(side) = self.side.as_mut().filter(|g| g.is_ready()) {
            let _ = self.channel.send_text(&side.leave()).await;
        }
        let _ = self.channel.close().await;
        let _ = self.pc.close().await;
        let _ = self.conn.detach(self.handle).await;
        self.conn.close().await;
    }
}

/// How one connection of the chat ended.
enum Ended {
    /// The user left.
    Left(oneshot::Sender<()>),
    /// The `Chat` was dropped, or the room is closed to us for good
    /// (taken out of it, the room destroyed): nothing to reconnect.
    Over,
    /// The connection was lost: connect again.
    Lost,
}

/// A connection that joined and lasted this long was a good one: the next
/// loss waits from the first step again.
const STEADY_AFTER: Duration = Duration::from_secs(30);
/// The server confirms a join at once; one that does not within this is
/// a connection that does not work.
const JOIN_TIMEOUT: Duration = Duration::from_secs(15);
/// Our usernames of earlier connections remembered (the server lists a
/// lost one only until it times out).
const EARLIER_USERNAMES: usize = 16;

/// Attempts at the first connection before the chat is said unavailable.
const FIRST_CONNECT_TRIES: usize = 3;

/// Waits before each attempt to connect again (the last repeats).
const RECONNECT_AFTER: [Duration; 5] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(15),
];

fn emit(events: &mpsc::Sender<ChatEvent>, event: ChatEvent) {
    if events.try_send(event).is_err() {
        log::warn!("chat events are not being read: one dropped");
    }
}

async fn supervise(
    target: Target,
    feed: Option<u64>,
    mut link: Link,
    mut commands: mpsc::UnboundedReceiver<ChatCommand>,
    events: mpsc::Sender<ChatEvent>,
) {
    let mut seen = SeenMessages::default();
    let mut earlier: Vec<String> = Vec::new();
    // How many connections in a row were lost before they were steady.
    let mut failures = 0;
    loop {
        let started = Instant::now();
        let ended = serve(&mut link, &mut commands, &events, &mut seen).await;
        let steady = link.room.is_joined() && started.elapsed() >= STEADY_AFTER;
        match ended {
            Ended::Left(done) => {
                link.close().await;
                let _ = done.send(());
                return;
            }
            Ended::Over => {
                link.close().await;
                return;
            }
            Ended::Lost => {}
        }
        // Said at once; the lost connection is closed aside (a half-open
        // socket can take seconds to give up).
        for event in link.room.abandon() {
            emit(&events, event);
        }
        if let Some(side) = link.side.as_mut() {
            for event in side.abandon() {
                emit(&events, ChatEvent::Side(event));
            }
        }
        emit(&events, ChatEvent::Reconnecting);
        earlier.push(link.room.username().to_string());
        if earlier.len() > EARLIER_USERNAMES {
            earlier.remove(0);
        }
        let mut resume = Resume {
            next_id: link.room.next_id(),
            earlier: earlier.clone(),
            hand_up: link.side.as_ref().is_some_and(SideRoom::hand_up),
            recording: link.side.as_ref().is_some_and(SideRoom::recording),
            files: link
                .side
                .as_mut()
                .map(SideRoom::take_files)
                .unwrap_or_default(),
            board: link
                .side
                .as_mut()
                .map(SideRoom::take_board)
                .unwrap_or_default(),
        };
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), link.close()).await;
        });
        failures = if steady { 0 } else { failures + 1 };
        link = match reconnect(&target, feed, &mut resume, failures, &mut commands).await {
            Some(link) => link,
            None => return,
        };
    }
}

/// Connects again, waiting longer after each failure (from step
/// `failures`); `None` when the user left (or dropped the chat)
/// meanwhile, even in the middle of an attempt. Messages written
/// meanwhile are refused as not ready.
async fn reconnect(
    target: &Target,
    feed: Option<u64>,
    resume: &mut Resume,
    failures: usize,
    commands: &mut mpsc::UnboundedReceiver<ChatCommand>,
) -> Option<Link> {
    // The boards as they were, shown while the connection is away.
    let drawn = resume.board.clone();
    // A recording that stopped meanwhile: said so once connected again.
    let mut stopped_recording = false;
    for attempt in failures.saturating_sub(1).. {
        let wait = RECONNECT_AFTER[attempt.min(RECONNECT_AFTER.len() - 1)];
        let pause = tokio::time::sleep(wait);
        tokio::pin!(pause);
        let attempt = async {
            pause.as_mut().await;
            connect(target, feed, resume).await
        };
        tokio::pin!(attempt);
        loop {
            tokio::select! {
                result = &mut attempt => match result {
                    Ok(mut link) => {
                        if stopped_recording
                            && let Some(Ok(Some(wire))) = link.side.as_mut().map(|s| s.set_recording(false))
                        {
                            let _ = link.channel.send_text(&wire).await;
                        }
                        return Some(link);
                    }
                    Err(e) => {
                        log::info!("the chat did not reconnect yet: {}", e.for_logs());
                        break;
                    }
                },
                command = commands.recv() => match command {
                    Some(ChatCommand::Send { reply, .. }) => {
                        let _ = reply.send(Err(MeetingError::ChatNotReady));
                    }
                    Some(
                        ChatCommand::Hand { reply, .. }
                        | ChatCommand::React { reply, .. }
                        | ChatCommand::Download { reply, .. },
                    ) => {
                        let _ = reply.send(Err(MeetingError::HandsNotReady));
                    }
                    Some(ChatCommand::OfferFile { reply, .. }) => {
                        let _ = reply.send(Err(MeetingError::HandsNotReady));
                    }
                    Some(ChatCommand::Board { reply, .. }) => {
                        let _ = reply.send(Err(MeetingError::HandsNotReady));
                    }
                    // Nobody can be told of a recording starting now; one
                    // that stops is told once the side room is back.
                    Some(ChatCommand::Recording { on: true, reply }) => {
                        let _ = reply.send(Err(MeetingError::HandsNotReady));
                    }
                    Some(ChatCommand::Recording { on: false, reply }) => {
                        stopped_recording = true;
                        let _ = reply.send(Ok(()));
                    }
                    Some(ChatCommand::Strokes { on, reply }) => {
                        let _ = reply.send(board_view(&drawn, on));
                    }
                    // Only memory: the share's annotation is no longer shown.
                    Some(ChatCommand::Forget(_)) => {}
                    // An attempt under way is dropped: its peer connection
                    // closes itself (PeerGuard).
                    Some(ChatCommand::Leave(done)) => {
                        let _ = done.send(());
                        return None;
                    }
                    None => return None,
                },
            }
        }
    }
    None
}

/// Runs one connection: what arrives, what the user sends, until it ends.
async fn serve(
    r: &mut Link,
    commands: &mut mpsc::UnboundedReceiver<ChatCommand>,
    events: &mpsc::Sender<ChatEvent>,
    seen: &mut SeenMessages,
) -> Ended {
    let mut confirmations = tokio::time::interval(CONFIRMATIONS_CHECKED_EVERY);
    let join_by = Instant::now() + JOIN_TIMEOUT;
    loop {
        tokio::select! {
            _ = confirmations.tick() => {
                for event in r.room.expire(Instant::now()) {
                    emit(events, event);
                }
                if let Some(side) = r.side.as_mut() {
                    let out = side.expire(Instant::now());
                    for event in out.events {
                        emit(events, ChatEvent::Side(event));
                    }
                    for wire in out.send {
                        let _ = r.channel.send_text(&wire).await;
                    }
                }
                if !r.room.is_joined() && Instant::now() >= join_by {
                    log::info!("the chat's join was not answered");
                    return Ended::Lost;
                }
            }
            event = r.channel.poll() => match event {
                Some(DataChannelEvent::OnMessage(message)) => {
                    let Ok(text) = std::str::from_utf8(&message.data) else {
                        log::warn!("ignored a chat message that is not UTF-8");
                        continue;
                    };
                    if let Err(e) = side_room_receive(r, text, events).await {
                        log::info!("the side room could not be answered: {}", e.for_logs());
                    }
                    for event in r.room.receive(text) {
                        match event {
                            ChatEvent::Message(m) if seen.shown_before(&m) => {}
                            ChatEvent::Message(m) => {
                                seen.saw(&m);
                                emit(events, ChatEvent::Message(m));
                            }
                            // Taken out of the room, or the room is gone.
                            ChatEvent::JoinRefused(e) => {
                                emit(events, ChatEvent::JoinRefused(e));
                                return Ended::Over;
                            }
                            other => emit(events, other),
                        }
                    }
                }
                Some(DataChannelEvent::OnClose) | None => return Ended::Lost,
                Some(_) => {}
            },
            command = commands.recv() => match command {
                Some(ChatCommand::Send { text, to, reply }) => {
                    let sent = match r.room.send(&text, to.as_deref(), Instant::now()) {
                        Ok((wire, message)) => match r.channel.send_text(&wire).await {
                            Ok(()) => {
                                seen.saw(&message);
                                Ok(message)
                            }
                            Err(_) => {
                                r.room.unsent(message.id);
                                Err(MeetingError::ChatNotReady)
                            }
                        },
                        Err(e) => Err(e),
                    };
                    let _ = reply.send(sent);
                }
                Some(ChatCommand::Hand { up, reply }) => {
                    let _ = reply.send(raise_hand(r, up).await);
                }
                Some(ChatCommand::Recording { on, reply }) => {
                    let _ = reply.send(tell_recording(r, on).await);
                }
                Some(ChatCommand::React { emoji, reply }) => {
                    let _ = reply.send(react(r, &emoji, events).await);
                }
                Some(ChatCommand::OfferFile { name, bytes, to, reply }) => {
                    let _ = reply.send(offer_file(r, &name, bytes, to.as_deref()).await);
                }
                Some(ChatCommand::Download { id, reply }) => {
                    let _ = reply.send(download(r, &id).await);
                }
                Some(ChatCommand::Board { action, reply }) => {
                    let _ = reply.send(act_on_board(r, action).await);
                }
                Some(ChatCommand::Strokes { on, reply }) => {
                    let view = r
                        .side
                        .as_ref()
                        .map(|side| board_view(side.board(), on))
                        .unwrap_or_default();
                    let _ = reply.send(view);
                }
                Some(ChatCommand::Forget(on)) => {
                    if let Some(side) = r.side.as_mut() {
                        side.forget_surface(on);
                    }
                }
                Some(ChatCommand::Leave(done)) => return Ended::Left(done),
                None => return Ended::Over,
            },
            Some((_, event)) = r.peer_rx.recv() => match event {
                PeerEvent::Candidate(c) => r.conn.trickle(r.handle, &c),
                // The path is gone: the data channel may never say so.
                PeerEvent::State(RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed) => {
                    return Ended::Lost;
                }
                _ => {}
            },
            Some(signal) = r.signals.recv() => match signal {
                SignalEvent::Message(Incoming::Trickle { sender, trickle }) if sender == r.handle => {
                    if let Some(init) = peer::candidate_init(&trickle) {
                        let _ = r.pc.add_ice_candidate(init).await;
                    }
                }
                // The signaling connection or the session is gone, or the
                // server hung up the chat's connection.
                SignalEvent::Closed(_) | SignalEvent::Message(Incoming::Timeout) => return Ended::Lost,
                SignalEvent::Message(Incoming::Hangup { sender, .. } | Incoming::Detached { sender })
                    if sender == r.handle =>
                {
                    return Ended::Lost;
                }
                SignalEvent::Message(_) => {}
            },
        }
    }
}

/// Hands a data-channel message to the hands and reactions, and sends
/// what they answer.
async fn side_room_receive(
    r: &mut Link,
    text: &str,
    events: &mpsc::Sender<ChatEvent>,
) -> Result<(), MeetingError> {
    let Some(side) = r.side.as_mut() else {
        return Ok(());
    };
    // Bounded as the chat bounds it (the chat says why it is ignored).
    if text.len() > MAX_CHAT_WIRE_BYTES {
        return Ok(());
    }
    let Ok(v) = serde_json::from_str::<serde_json::Value>(text) else {
        return Ok(());
    };
    let out = side.receive(&v, Instant::now());
    for event in out.events {
        emit(events, ChatEvent::Side(event));
    }
    for wire in out.send {
        r.channel
            .send_text(&wire)
            .await
            .map_err(webrtc_err("hands"))?;
    }
    Ok(())
}

async fn raise_hand(r: &mut Link, up: bool) -> Result<(), MeetingError> {
    if let Some(wire) = side_of(r)?.raise(up)? {
        r.channel
            .send_text(&wire)
            .await
            .map_err(|_| MeetingError::HandsNotReady)?;
    }
    Ok(())
}

async fn tell_recording(r: &mut Link, on: bool) -> Result<(), MeetingError> {
    if let Some(wire) = side_of(r)?.set_recording(on)? {
        r.channel
            .send_text(&wire)
            .await
            .map_err(|_| MeetingError::HandsNotReady)?;
    }
    Ok(())
}

async fn react(
    r: &mut Link,
    emoji: &str,
    events: &mpsc::Sender<ChatEvent>,
) -> Result<(), MeetingError> {
    if let Some((wire, reaction)) = side_of(r)?.react(emoji, Instant::now())? {
        r.channel
            .send_text(&wire)
            .await
            .map_err(|_| MeetingError::HandsNotReady)?;
        emit(events, ChatEvent::Side(SideEvent::Reaction(reaction)));
    }
    Ok(())
}

fn side_of(r: &mut Link) -> Result<&mut SideRoom, MeetingError> {
    r.side.as_mut().ok_or_else(|| {
        MeetingError::HandsUnavailable("the meeting's number does not allow them".into())
    })
}

async fn offer_file(
    r: &mut Link,
    name: &str,
    bytes: Vec<u8>,
    to: Option<&str>,
) -> Result<FileOffer, MeetingError> {
    let (wires, offer) = side_of(r)?.offer_file(name, bytes, to)?;
    for wire in wires {
        r.channel
            .send_text(&wire)
            .await
            .map_err(|_| MeetingError::HandsNotReady)?;
    }
    Ok(offer)
}

async fn download(r: &mut Link, id: &str) -> Result<(), MeetingError> {
    let wire = side_of(r)?.download_file(id, Instant::now())?;
    r.channel
        .send_text(&wire)
        .await
        .map_err(|_| MeetingError::HandsNotReady)?;
    Ok(())
}

fn board_view(board: &Whiteboard, on: Surface) -> BoardView {
    BoardView {
        strokes: board.strokes(on).to_vec(),
        shown_by: board.shown_by().map(|(name, own)| (name.to_string(), own)),
    }
}

async fn act_on_board(r: &mut Link, action: BoardAction) -> Result<Option<String>, MeetingError> {
    let side = side_of(r)?;
    let now = Instant::now();
    let (wire, id) = match action {
        BoardAction::Draw(on, stroke) => {
            let (wire, id) = side.draw(on, &stroke, now)?;
            (Some(wire), Some(id))
        }
        BoardAction::Erase(on, ids) => (side.erase(on, &ids, false, now)?, None),
        BoardAction::Undo(on) => (side.erase(on, &[], true, now)?, None),
        BoardAction::Clear(on) => (Some(side.clear_surface(on, now)?), None),
        BoardAction::Show(shown) => (Some(side.show_board(shown, now)?), None),
    };
    if let Some(wire) = wire {
        r.channel
            .send_text(&wire)
            .await
            .map_err(|_| MeetingError::HandsNotReady)?;
    }
    Ok(id)
}
