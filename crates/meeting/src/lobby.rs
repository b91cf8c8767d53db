//! The waiting room. A hosted meeting with one is locked from the start
//! (see `host`): a guest's join is refused, and the guest waits instead in
//! a TextRoom room of its own beside the meeting (`lobby_room_number`),
//! with the meeting's PIN. There they receive no media and send none: the
//! meeting's room is not joined at all.
//!
//! The host is in that room too, under `HOST_USERNAME` (taken when the
//! room is made, before anyone can know of it), and sees who waits. To
//! admit someone, the host puts a fresh entry token on the meeting's list
//! and tells it to them alone; they join with it. A token told by anyone
//! else is not on the list and gets nobody in, so only the host's word is
//! believed for a refusal.
//!
//! `GuestLobby` and `HostLobby` are the protocol without sockets; the rest
//! connects them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use webrtc::data_channel::DataChannelEvent;

use crate::chat::room::{clean_name, listed, username_for};
use crate::chat::{TextChannel, open_text_channel};
use crate::error::MeetingError;
use crate::host::{HostControls, Secret};
use crate::ice_servers::IceServers;
use crate::janus::connection::SignalEvent;
use crate::link::ServerUrl;

/// The host's name in the waiting room.
pub const HOST_USERNAME: &str = "talkline-host";
/// People shown waiting at once; more are told as a count only, and wait
/// their turn (a flood of joins must not bury the host's screen).
pub const MAX_SHOWN_WAITING: usize = 50;
/// Anything larger is not a waiting room's message: the host's join
/// answer lists everyone waiting, up to `MAX_WAITING` of them.
const MAX_LOBBY_MESSAGE_BYTES: usize = 256 * 1024;
/// People kept as waiting; more are not listed until some have gone.
const MAX_WAITING: usize = 1000;
/// A username longer than this is not one of ours: ignored.
const MAX_USERNAME_CHARS: usize = 128;

/// The waiting room of meeting `room`: the same number with bit 61 set
/// (the side room has bit 62). `None` for a number that high.
pub fn lobby_room_number(room: u64) -> Option<u64> {
    const LOBBY_BIT: u64 = 1 << 61;
    (room < LOBBY_BIT).then_some(room | LOBBY_BIT)
}

fn parse(text: &str) -> Option<Value> {
    if text.len() > MAX_LOBBY_MESSAGE_BYTES {
        return None;
    }
    serde_json::from_str(text).ok()
}

fn join_request(room: u64, username: &str, display: &str, pin: Option<&str>) -> String {
    let mut join = json!({"textroom": "join", "transaction": "join", "room": room,
        "username": username, "display": display});
    if let Some(pin) = pin {
        join["pin"] = json!(pin);
    }
    join.to_string()
}

/// What became of a guest's wait.
#[derive(Debug)]
pub enum GuestOutcome {
    /// In the waiting room: the host can see us.
    Waiting,
    /// Let in, with the token to join with, and the feed to join as (which
    /// the host takes the token back by, when removing us).
    Admitted { token: Secret, feed: Option<u64> },
    /// The host said no.
    Refused,
    /// This meeting has no waiting room: it is locked.
    NoWaitingRoom,
    /// The meeting ended while we waited.
    Ended,
}

/// A guest in the waiting room.
#[derive(Debug)]
pub struct GuestLobby {
    room: u64,
}

impl GuestLobby {
    /// In meeting `meeting`'s waiting room, as `display`; with the join
    /// request to send.
    pub fn new(
        meeting: u64,
        display: &str,
        pin: Option<&str>,
    ) -> Result<(Self, String), MeetingError> {
        let room = lobby_room_number(meeting).ok_or(MeetingError::MeetingLocked)?;
        let username = username_for(rand::random::<u64>(), display);
        let join = join_request(room, &username, &clean_name(display), pin);
        Ok((Self { room }, join))
    }

    /// What a message from the server means for our wait, if anything.
    pub fn receive(&mut self, text: &str) -> Option<GuestOutcome> {
        let v = parse(text)?;
        let kind = v.get("textroom").and_then(Value::as_str)?;
        let this_room = v.get("room").and_then(Value::as_u64) == Some(self.room);
        match kind {
            "success" if v.get("transaction").and_then(Value::as_str) == Some("join") => {
                Some(GuestOutcome::Waiting)
            }
            "error" if v.get("transaction").and_then(Value::as_str) == Some("join") => {
                match v.get("error_code").and_then(Value::as_u64) {
                    Some(419) => Some(GuestOutcome::Refused),
                    _ => Some(GuestOutcome::NoWaitingRoom),
                }
            }
            "destroyed" if this_room => Some(GuestOutcome::Ended),
            "message" if this_room => {
                // Only the host's word counts.
                if v.get("from").and_then(Value::as_str) != Some(HOST_USERNAME) {
                    return None;
                }
                let said = parse(v.get("text").and_then(Value::as_str)?)?;
                match said.get("talkline").and_then(Value::as_str)? {
                    "admit" => said
                        .get("token")
                        .and_then(Value::as_str)
                        .and_then(Secret::parse)
                        .map(|token| GuestOutcome::Admitted {
                            token,
                            feed: said
                                .get("feed")
                                .and_then(Value::as_u64)
                                .filter(|f| (1..1 << 53).contains(f)),
                        }),
                    "refuse" => Some(GuestOutcome::Refused),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// Someone waiting to be let in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingGuest {
    /// Who they are in the waiting room (what admitting names).
    pub username: String,
    pub display: String,
}

/// The host's side of the waiting room: who waits, first come first.
#[derive(Debug)]
pub struct HostLobby {
    room: u64,
    pin: Option<String>,
    host_key: Secret,
    /// username → (order of arrival, name shown).
    waiting: BTreeMap<String, (u64, String)>,
    arrivals: u64,
    next_transaction: u64,
}

impl HostLobby {
    /// The waiting room of `meeting`, with the host's join request.
    pub fn new(
        meeting: u64,
        pin: Option<&str>,
        host_key: Secret,
    ) -> Result<(Self, String), MeetingError> {
        let room = lobby_room_number(meeting)
            .ok_or_else(|| MeetingError::Protocol("no waiting room for this meeting".into()))?;
        let join = join_request(room, HOST_USERNAME, "host", pin);
        Ok((
            Self {
                room,
                pin: pin.map(str::to_string),
                host_key,
                waiting: BTreeMap::new(),
                arrivals: 0,
                next_transaction: 1,
            },
            join,
        ))
    }

    fn arrived(&mut self, username: &str, display: &str) -> bool {
        if username == HOST_USERNAME
            || username.chars().count() > MAX_USERNAME_CHARS
            || self.waiting.len() >= MAX_WAITING
            || self.waiting.contains_key(username)
        {
            return false;
        }
        self.arrivals += 1;
        self.waiting
            .insert(username.to_string(), (self.arrivals, clean_name(display)));
        true
    }

    /// A refusal of our join because the host's name is taken: the kick
    /// that frees it (the host key allows it).
    pub fn name_taken(&mut self, text: &str) -> Option<String> {
        let v = parse(text)?;
        let refused = v.get("textroom").and_then(Value::as_str) == Some("error")
            && v.get("transaction").and_then(Value::as_str) == Some("join")
            && v.get("error_code").and_then(Value::as_u64) == Some(420);
        refused.then(|| {
            json!({"textroom": "kick", "transaction": self.transaction(), "room": self.room,
                "secret": self.host_key.expose(), "username": HOST_USERNAME})
            .to_string()
        })
    }

    /// Our join, once more.
    pub fn join_again(&self) -> String {
        join_request(self.room, HOST_USERNAME, "host", self.pin.as_deref())
    }

    /// Whether `username` is waiting now.
    pub fn is_waiting(&self, username: &str) -> bool {
        self.waiting.contains_key(username)
    }

    /// Whether a message changed who waits.
    pub fn receive(&mut self, text: &str) -> bool {
        let Some(v) = parse(text) else {
            return false;
        };
        let kind = v.get("textroom").and_then(Value::as_str).unwrap_or("");
        if v.get("room")
            .and_then(Value::as_u64)
            .is_some_and(|r| r != self.room)
        {
            return false;
        }
        match kind {
            // Our own join: those already waiting.
            "success" if v.get("participants").is_some() => {
                let mut changed = false;
                for p in listed(&v) {
                    changed |= self.arrived(&p.username, &p.display);
                }
                changed
            }
            "join" => match (
                v.get("username").and_then(Value::as_str),
                v.get("display").and_then(Value::as_str),
            ) {
                (Some(u), display) => {
                    let display = display.unwrap_or(u).to_string();
                    self.arrived(u, &display)
                }
                _ => false,
            },
            "leave" | "kicked" => v
                .get("username")
                .and_then(Value::as_str)
                .is_some_and(|u| self.waiting.remove(u).is_some()),
            _ => false,
        }
    }

    /// Who waits, first come first; at most `MAX_SHOWN_WAITING`, and how
    /// many wait in all.
    pub fn waiting(&self) -> (Vec<WaitingGuest>, usize) {
        let mut all: Vec<(&u64, &String, &String)> = self
            .waiting
            .iter()
            .map(|(u, (order, display))| (order, u, display))
            .collect();
        all.sort();
        let shown = all
            .iter()
            .take(MAX_SHOWN_WAITING)
            .map(|(_, u, d)| WaitingGuest {
                username: (*u).clone(),
                display: (*d).clone(),
            })
            .collect();
        (shown, self.waiting.len())
    }

    fn transaction(&mut self) -> String {
        self.next_transaction += 1;
        format!("h{}", self.next_transaction)
    }

    fn whisper(&mut self, username: &str, said: Value) -> String {
        json!({"textroom": "message", "transaction": self.transaction(), "room": self.room,
            "to": username, "text": said.to_string(), "ack": false})
        .to_string()
    }

    /// What lets `username` in: tell them `token` (already on the list)
    /// and the feed to join as.
    pub fn admit(
        &mut self,
        username: &str,
        token: &Secret,
        feed: u64,
    ) -> Result<String, MeetingError> {
        if self.waiting.remove(username).is_none() {
            return Err(MeetingError::NotInMeeting);
        }
        Ok(self.whisper(
            username,
            json!({"talkline": "admit", "token": token.expose(), "feed": feed}),
        ))
    }

    /// What sends `username` away: told no, then taken out of the room.
    pub fn refuse(&mut self, username: &str) -> Result<[String; 2], MeetingError> {
        if self.waiting.remove(username).is_none() {
            return Err(MeetingError::NotInMeeting);
        }
        let told = self.whisper(username, json!({"talkline": "refuse"}));
        let kick = json!({"textroom": "kick", "transaction": self.transaction(),
            "room": self.room, "secret": self.host_key.expose(), "username": username})
        .to_string();
        Ok([told, kick])
    }
}

/// Waits in meeting `room`'s waiting room until the host lets us in (the
/// token to join with) or says no. `waiting` is told once we are seen
/// waiting. Dropping the future leaves the waiting room.
pub async fn wait_for_admission(
    server: &ServerUrl,
    room: u64,
    pin: Option<&str>,
    display: &str,
    ice: &IceServers,
    waiting: impl FnOnce(),
) -> Result<(Secret, Option<u64>), MeetingError> {
    let (mut lobby, join) = GuestLobby::new(room, display, pin)?;
    let mut text = open_text_channel(server, ice).await?;
    let result = async {
        text.channel
            .send_text(&join)
            .await
            .map_err(|e| MeetingError::WebRtc(format!("waiting room join: {e}")))?;
        let mut waiting = Some(waiting);
        loop {
            tokio::select! {
                event = text.channel.poll() => match event {
                    Some(DataChannelEvent::OnMessage(m)) => {
                        let Ok(message) = std::str::from_utf8(&m.data) else { continue };
                        match lobby.receive(message) {
                            Some(GuestOutcome::Waiting) => {
                                if let Some(told) = waiting.take() {
                                    told();
                                }
                            }
                            Some(GuestOutcome::Admitted { token, feed }) => return Ok((token, feed)),
                            Some(GuestOutcome::Refused) => return Err(MeetingError::AdmissionRefused),
                            Some(GuestOutcome::NoWaitingRoom) => return Err(MeetingError::MeetingLocked),
                            Some(GuestOutcome::Ended) => return Err(MeetingError::MeetingEnded),
                            None => {}
                        }
                    }
                    Some(DataChannelEvent::OnClose) | None => {
                        return Err(MeetingError::ConnectionLost("the waiting room closed".into()));
                    }
                    Some(_) => {}
                },
                signal = text.signals.recv() => match signal {
                    Some(SignalEvent::Closed(why)) | Some(SignalEvent::Message(crate::janus::protocol::Incoming::Hangup { reason: why, .. })) => {
                        return Err(MeetingError::ConnectionLost(why));
                    }
                    None => return Err(MeetingError::ConnectionLost("the waiting room closed".into())),
                    Some(_) => {}
                },
            }
        }
    }
    .await;
    // Closed aside: the join the host allowed goes on at once.
    tokio::spawn(text.close());
    result
}

/// What the host's waiting room reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LobbyEvent {
    /// Who waits now (at most `MAX_SHOWN_WAITING`), and how many in all.
    Waiting {
        shown: Vec<WaitingGuest>,
        total: usize,
    },
    /// The waiting room cannot be watched (the message says why).
    Unavailable(String),
}

enum LobbyCommand {
    Admit {
        username: Option<String>,
        reply: oneshot::Sender<Result<usize, MeetingError>>,
    },
    Refuse {
        username: String,
        reply: oneshot::Sender<Result<(), MeetingError>>,
    },
}

/// The host's watch over the waiting room, running until dropped.
pub struct Lobby {
    commands: mpsc::UnboundedSender<LobbyCommand>,
    pub events: mpsc::UnboundedReceiver<LobbyEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Lobby {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Lobby {
    /// Watches the waiting room of the meeting `host` hosts.
    pub fn open(host: std::sync::Arc<HostControls>, ice: IceServers) -> Self {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events_tx, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut commands = command_rx;
            // A lost connection is made again, waiting longer each time;
            // meanwhile the host is told, and what they ask is refused.
            let mut attempt = 0;
            loop {
                let started = std::time::Instant::now();
                match watch(&host, &ice, &mut commands, &events_tx).await {
                    Ok(()) => return,
                    Err(e) => {
                        log::info!("the waiting room is not watched: {}", e.for_logs());
                        let _ = events_tx.send(LobbyEvent::Unavailable(e.to_string()));
                    }
                }
                if started.elapsed() > Duration::from_secs(30) {
                    attempt = 0;
                }
                let wait = RECONNECT_AFTER[attempt.min(RECONNECT_AFTER.len() - 1)];
                attempt += 1;
                let pause = tokio::time::sleep(wait);
                tokio::pin!(pause);
                loop {
                    tokio::select! {
                        () = &mut pause => break,
                        command = commands.recv() => match command {
                            Some(LobbyCommand::Admit { reply, .. }) => {
                                let _ = reply.send(Err(MeetingError::ConnectionLost("the waiting room is reconnecting".into())));
                            }
                            Some(LobbyCommand::Refuse { reply, .. }) => {
                                let _ = reply.send(Err(MeetingError::ConnectionLost("the waiting room is reconnecting".into())));
                            }
                            None => return,
                        },
                    }
                }
            }
        });
        Self {
            commands,
            events,
            task,
        }
    }

    /// Lets `username` in, or everyone waiting (`None`); how many.
    pub async fn admit(&self, username: Option<&str>) -> Result<usize, MeetingError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(LobbyCommand::Admit {
                username: username.map(str::to_string),
                reply,
            })
            .map_err(|_| MeetingError::ConnectionLost("the waiting room is closed".into()))?;
        answer
            .await
            .map_err(|_| MeetingError::ConnectionLost("the waiting room is closed".into()))?
    }

    pub async fn refuse(&self, username: &str) -> Result<(), MeetingError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(LobbyCommand::Refuse {
                username: username.to_string(),
                reply,
            })
            .map_err(|_| MeetingError::ConnectionLost("the waiting room is closed".into()))?;
        answer
            .await
            .map_err(|_| MeetingError::ConnectionLost("the waiting room is closed".into()))?
    }
}

/// Waits before each new connection of the host's waiting room.
const RECONNECT_AFTER: [Duration; 4] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
    Duration::from_secs(10),
];

/// One connection of the host's waiting room, until it is lost (`Err`) or
/// the `Lobby` is dropped (`Ok`).
async fn watch(
    host: &HostControls,
    ice: &IceServers,
    commands: &mut mpsc::UnboundedReceiver<LobbyCommand>,
    events: &mpsc::UnboundedSender<LobbyEvent>,
) -> Result<(), MeetingError> {
    let meeting = host.meeting();
    let (mut lobby, join) = HostLobby::new(
        meeting.room,
        meeting.pin.as_deref(),
        meeting.host_key.clone(),
    )?;
    let mut text: TextChannel = open_text_channel(&meeting.server, ice).await?;
    let send = |text: &TextChannel, wire: String| {
        let channel = std::sync::Arc::clone(&text.channel);
        async move {
            channel
                .send_text(&wire)
                .await
                .map_err(|e| MeetingError::WebRtc(format!("waiting room: {e}")))
        }
    };
    send(&text, join).await?;
    let tell = |lobby: &HostLobby| {
        let (shown, total) = lobby.waiting();
        let _ = events.send(LobbyEvent::Waiting { shown, total });
    };
    loop {
        tokio::select! {
            event = text.channel.poll() => match event {
                Some(DataChannelEvent::OnMessage(m)) => {
                    let Ok(message) = std::str::from_utf8(&m.data) else { continue };
                    // Our name still held (our own connection lost a
                    // moment ago, or someone took it): whoever holds it
                    // is taken out of the room, and we join again.
                    if let Some(kick) = lobby.name_taken(message) {
                        send(&text, kick).await?;
                        send(&text, lobby.join_again()).await?;
                        continue;
                    }
                    if lobby.receive(message) {
                        tell(&lobby);
                    }
                }
                Some(DataChannelEvent::OnClose) | None => {
                    return Err(MeetingError::ConnectionLost("the waiting room closed".into()));
                }
                Some(_) => {}
            },
            signal = text.signals.recv() => if let Some(SignalEvent::Closed(why)) | Some(SignalEvent::Message(crate::janus::protocol::Incoming::Hangup { reason: why, .. })) = signal {
                return Err(MeetingError::ConnectionLost(why));
            },
            command = commands.recv() => match command {
                Some(LobbyCommand::Admit { username, reply }) => {
                    let names: Vec<String> = match username {
                        Some(u) => vec![u],
                        None => lobby.waiting.keys().cloned().collect(),
                    };
                    let mut admitted = 0;
                    let mut failure = None;
                    for name in names {
                        // Gone meanwhile: no token for nobody.
                        if !lobby.is_waiting(&name) {
                            failure = Some(MeetingError::NotInMeeting);
                            continue;
                        }
                        let token = Secret::random();
                        let feed = crate::call::random_publisher_id();
                        if let Err(e) = host.admit(feed, &token).await {
                            failure = Some(e);
                            break;
                        }
                        match lobby.admit(&name, &token, feed) {
                            Ok(wire) => {
                                send(&text, wire).await?;
                                admitted += 1;
                            }
                            Err(e) => failure = Some(e),
                        }
                    }
                    tell(&lobby);
                    let _ = reply.send(match (admitted, failure) {
                        (0, Some(e)) => Err(e),
                        (n, _) => Ok(n),
                    });
                }
                Some(LobbyCommand::Refuse { username, reply }) => {
                    let result = match lobby.refuse(&username) {
                        Ok(wires) => {
                            for wire in wires {
                                send(&text, wire).await?;
                            }
                            Ok(())
                        }
                        Err(e) => Err(e),
                    };
                    tell(&lobby);
                    let _ = reply.send(result);
                }
                None => {
                    text.close().await;
                    return Ok(());
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(v: Value) -> String {
        v.to_string()
    }

    #[test]
    fn a_guest_believes_only_the_host_and_hears_every_ending() {
        let (mut guest, join) = GuestLobby::new(42, "Gus\u{7}", Some("pear")).expect("lobby");
        let join: Value = serde_json::from_str(&join).expect("json");
        let room = lobby_room_number(42).expect("number");
        assert_eq!(
            (&join["room"], &join["pin"], &join["display"]),
            (&json!(room), &json!("pear"), &json!("Gus"))
        );
        assert!(matches!(
            guest.receive(&event(
                json!({"textroom": "success", "transaction": "join"})
            )),
            Some(GuestOutcome::Waiting)
        ));
        let token = Secret::random();
        let said = json!({"talkline": "admit", "token": token.expose()}).to_string();
        // Anyone else's word is not taken, nor a broken token.
        for (from, text) in [
            ("u9:Eve", said.clone()),
            (
                HOST_USERNAME,
                json!({"talkline": "admit", "token": "x"}).to_string(),
            ),
            (HOST_USERNAME, "not json".into()),
        ] {
            let msg = json!({"textroom": "message", "room": room, "from": from, "text": text});
            assert!(guest.receive(&event(msg)).is_none(), "{from}");
        }
        let other_room =
            json!({"textroom": "message", "room": room + 1, "from": HOST_USERNAME, "text": said});
        assert!(guest.receive(&event(other_room)).is_none());
        let msg = json!({"textroom": "message", "room": room, "from": HOST_USERNAME, "text": said});
        assert!(matches!(
            guest.receive(&event(msg)),
            Some(GuestOutcome::Admitted { token: t, feed: None }) if t == token
        ));
        let with_feed =
            json!({"talkline": "admit", "token": token.expose(), "feed": 77}).to_string();
        let msg =
            json!({"textroom": "message", "room": room, "from": HOST_USERNAME, "text": with_feed});
        assert!(matches!(
            guest.receive(&event(msg)),
            Some(GuestOutcome::Admitted { feed: Some(77), .. })
        ));
        let refuse = json!({"textroom": "message", "room": room, "from": HOST_USERNAME,
            "text": json!({"talkline": "refuse"}).to_string()});
        assert!(matches!(
            guest.receive(&event(refuse)),
            Some(GuestOutcome::Refused)
        ));
        assert!(matches!(
            guest.receive(&event(
                json!({"textroom": "error", "transaction": "join", "error_code": 417})
            )),
            Some(GuestOutcome::NoWaitingRoom)
        ));
        assert!(matches!(
            guest.receive(&event(json!({"textroom": "destroyed", "room": room}))),
            Some(GuestOutcome::Ended)
        ));
        assert!(guest.receive(&"x".repeat(10_000)).is_none());
    }

    #[test]
    fn the_host_sees_who_waits_in_order_and_a_flood_is_shown_as_a_count() {
        let key = Secret::random();
        let (mut host, _) = HostLobby::new(42, None, key.clone()).expect("lobby");
        let room = lobby_room_number(42).expect("number");
        assert!(host.receive(&event(json!({"textroom": "success", "transaction": "join",
            "participants": [{"username": "a", "display": "Ann"}, {"username": HOST_USERNAME, "display": "host"}]}))));
        for i in 0..200 {
            let join = json!({"textroom": "join", "room": room, "username": format!("u{i:03}"), "display": format!("Guest {i}")});
            assert!(host.receive(&event(join)));
        }
        // The same person twice, the host, and another room change nothing.
        assert!(!host.receive(&event(
            json!({"textroom": "join", "room": room, "username": "a", "display": "Ann"})
        )));
        assert!(!host.receive(&event(
            json!({"textroom": "join", "room": room, "username": HOST_USERNAME})
        )));
        assert!(!host.receive(&event(
            json!({"textroom": "join", "room": room + 1, "username": "z"})
        )));
        let (shown, total) = host.waiting();
        assert_eq!((shown.len(), total), (MAX_SHOWN_WAITING, 201));
        // Our name held by someone (or our last connection): freed with
        // the host key, then joined again.
        let taken = json!({"textroom": "error", "transaction": "join", "error_code": 420});
        let kick: Value =
            serde_json::from_str(&host.name_taken(&event(taken)).expect("a kick")).expect("json");
        assert_eq!(
            (&kick["username"], &kick["secret"]),
            (&json!(HOST_USERNAME), &json!(key.expose()))
        );
        let other = json!({"textroom": "error", "transaction": "join", "error_code": 419});
        assert!(host.name_taken(&event(other)).is_none());
        assert!(host.join_again().contains(HOST_USERNAME));
        assert_eq!(shown[0].display, "Ann");
        assert_eq!(shown[1].display, "Guest 0");

        let token = Secret::random();
        let wire: Value =
            serde_json::from_str(&host.admit("a", &token, 77).expect("admit")).expect("json");
        assert_eq!((&wire["to"], &wire["room"]), (&json!("a"), &json!(room)));
        let said: Value = serde_json::from_str(wire["text"].as_str().expect("text")).expect("json");
        assert_eq!(
            (&said["token"], &said["feed"]),
            (&json!(token.expose()), &json!(77))
        );
        assert!(matches!(
            host.admit("a", &token, 77),
            Err(MeetingError::NotInMeeting)
        ));
        let [told, kick] = host.refuse("u000").expect("refuse");
        assert!(told.contains("refuse"));
        let kick: Value = serde_json::from_str(&kick).expect("json");
        assert_eq!(
            (&kick["textroom"], &kick["secret"]),
            (&json!("kick"), &json!(key.expose()))
        );
        assert!(host.receive(&event(
            json!({"textroom": "leave", "room": room, "username": "u001"})
        )));
        assert_eq!(host.waiting().1, 198);
    }
}
