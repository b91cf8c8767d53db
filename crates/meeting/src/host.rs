//! Meetings someone hosts. The host makes the meeting's room on the server
//! with a secret, the host key, that stays on the host's device: it is in
//! no link, QR code or invitation, and never in a log. Janus checks it on
//! every room-management request (mute, remove, lock, end), so a guest who
//! forges one is refused by the server, not only by our own interface.
//!
//! Locking uses the room's list of entry tokens: while it is enabled, only
//! a join that gives a token on the list gets in. The host's own token is
//! put on the list when the meeting is made, so the host (and the host's
//! screen share, and their rejoin after a network change) always gets in.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc};

use crate::error::MeetingError;
use crate::janus::connection::{JanusConnection, SignalEvent};
use crate::janus::protocol::{Incoming, RoomEvent};
use crate::link::{MeetingLink, ServerUrl};

/// Meeting IDs a host is given: ten digits, easy to read out, far below
/// the numbers the meeting's side rooms use (see `chat::side_room`).
const ROOM_IDS: std::ops::Range<u64> = 1_000_000_000..10_000_000_000;
/// Tries at a free meeting ID before giving up.
const CREATE_TRIES: usize = 5;
/// People who may publish at once in a hosted meeting: a 5x5 gallery.
const PUBLISHERS: u32 = 25;
/// What one publisher may send (bit/s): full HD camera or a screen.
const PUBLISHER_BITRATE: u32 = 2_000_000;
/// A keyframe every few seconds at most for a newcomer or a lost picture.
const FIR_SECONDS: u32 = 5;
/// Chat messages a latecomer is given on joining.
const CHAT_HISTORY: u32 = 100;

/// A secret of 128 random bits, in hex. Its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn random() -> Self {
        Self(format!("{:032x}", rand::random::<u128>()))
    }

    /// A secret as it was kept: 32 hex digits, or `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        (text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(text.to_ascii_lowercase()))
    }

    /// The secret itself, to send to the server or keep on this device.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A meeting this device hosts: where it is, and the secrets that make
/// this device its host.
#[derive(Clone, PartialEq, Eq)]
pub struct HostedMeeting {
    pub server: ServerUrl,
    pub room: u64,
    /// What guests must give to join (in their link).
    pub pin: Option<String>,
    /// Lets room-management requests through.
    pub host_key: Secret,
    /// The host's own way into the meeting while it is locked.
    pub entry_token: Secret,
    /// Guests wait to be let in (see `lobby`).
    pub waiting_room: bool,
}

impl std::fmt::Debug for HostedMeeting {
    /// Neither the PIN nor the secrets, nor where: only which meeting.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedMeeting")
            .field("room", &self.room)
            .field("waiting_room", &self.waiting_room)
            .finish_non_exhaustive()
    }
}

impl HostedMeeting {
    /// What guests are given: the server, the meeting and its PIN. Neither
    /// secret is in it.
    pub fn guest_link(&self) -> MeetingLink {
        MeetingLink {
            server: Some(self.server.clone()),
            room: self.room,
            pin: self.pin.clone(),
            ice: Default::default(),
        }
    }
}

/// The bodies of the requests only a host may make.
pub mod request {
    use super::*;

    /// A new meeting room: not listed, not kept across server restarts;
    /// a subscriber must name its own publisher (`require_pvtid`), so
    /// someone removed loses what they receive too.
    pub fn create_room(room: u64, host_key: &Secret, pin: Option<&str>) -> Value {
        let mut body = json!({"request": "create", "room": room,
            "description": "TalkLine meeting", "secret": host_key.expose(),
            "is_private": true, "permanent": false, "require_pvtid": true,
            "publishers": PUBLISHERS, "bitrate": PUBLISHER_BITRATE, "fir_freq": FIR_SECONDS,
            "audiocodec": "opus", "videocodec": "vp8", "notify_joining": true});
        if let Some(pin) = pin {
            body["pin"] = json!(pin);
        }
        body
    }

    /// The meeting's chat room (TextRoom), with the same number and PIN.
    pub fn create_chat(room: u64, host_key: &Secret, pin: Option<&str>) -> Value {
        let mut body = json!({"request": "create", "room": room,
            "description": "TalkLine meeting", "secret": host_key.expose(),
            "is_private": true, "permanent": false, "history": CHAT_HISTORY});
        if let Some(pin) = pin {
            body["pin"] = json!(pin);
        }
        body
    }

    /// A TextRoom room kept to those let in: only joins giving one of the
    /// tokens on its list (to start with, `first`) get in.
    pub fn keep_to_tokens(mut create: Value, first: &Secret) -> Value {
        create["allowed"] = json!([first.expose()]);
        create
    }

    /// Puts tokens on a TextRoom room's list (`add`), or takes them off.
    pub fn chat_tokens(room: u64, host_key: &Secret, add: bool, tokens: &[&str]) -> Value {
        json!({"request": "allowed", "room": room, "secret": host_key.expose(),
            "action": if add { "add" } else { "remove" }, "allowed": tokens})
    }

    /// Takes tokens off the meeting room's list.
    pub fn disallow(room: u64, host_key: &Secret, tokens: &[&str]) -> Value {
        json!({"request": "allowed", "room": room, "secret": host_key.expose(),
            "action": "remove", "allowed": tokens})
    }

    /// Stops (`held`) or releases one stream of a participant.
    pub fn hold(room: u64, host_key: &Secret, feed: u64, mid: &str, held: bool) -> Value {
        json!({"request": "moderate", "room": room, "secret": host_key.expose(),
            "id": feed, "mid": mid, "mute": held})
    }

    pub fn remove(room: u64, host_key: &Secret, feed: u64) -> Value {
        json!({"request": "kick", "room": room, "secret": host_key.expose(), "id": feed})
    }

    /// Puts tokens on the room's entry list (whether it is checked or not).
    pub fn allow(room: u64, host_key: &Secret, tokens: &[&str]) -> Value {
        json!({"request": "allowed", "room": room, "secret": host_key.expose(),
            "action": "add", "allowed": tokens})
    }

    /// Checks the entry list on every join from now on, or stops checking it.
    pub fn lock(room: u64, host_key: &Secret, locked: bool) -> Value {
        json!({"request": "allowed", "room": room, "secret": host_key.expose(),
            "action": if locked { "enable" } else { "disable" }})
    }

    pub fn destroy(room: u64, host_key: &Secret) -> Value {
        json!({"request": "destroy", "room": room, "secret": host_key.expose(),
            "permanent": false})
    }
}

/// The two plugins a host speaks to: their error numbers differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plugin {
    VideoRoom,
    TextRoom,
}

/// What a host request's answer means for the user.
fn check(reply: Incoming, room: u64, plugin: Plugin) -> Result<Incoming, MeetingError> {
    let error = match &reply {
        Incoming::Success {
            plugin: Some(RoomEvent::Error { code, reason }),
            ..
        }
        | Incoming::Event {
            room: RoomEvent::Error { code, reason },
            ..
        } => Some((*code, reason.clone())),
        _ => None,
    };
    let Some((code, reason)) = error else {
        return Ok(reply);
    };
    Err(match (plugin, code) {
        // A wrong secret, or a missing one (the same numbers say any
        // missing element: only the secret's is a refusal of a host).
        (Plugin::VideoRoom, 433) | (Plugin::TextRoom, 419) => MeetingError::NotHost,
        (Plugin::VideoRoom, 429) | (Plugin::TextRoom, 413) if reason.contains("secret") => {
            MeetingError::NotHost
        }
        (Plugin::VideoRoom, 426) | (Plugin::TextRoom, 417) => MeetingError::MeetingEnded,
        (Plugin::VideoRoom, 428) => MeetingError::NotInMeeting,
        _ => MeetingError::from_room_error(room, code, reason),
    })
}

/// Makes a new meeting on `server`, with `pin` for its guests if given,
/// and a waiting room if asked (the meeting is then locked from the start).
pub async fn create_meeting(
    server: &ServerUrl,
    pin: Option<String>,
    waiting_room: bool,
) -> Result<HostedMeeting, MeetingError> {
    let (conn, _events) = JanusConnection::open(server).await?;
    let result = create_on(&conn, server, pin, waiting_room).await;
    conn.close().await;
    result
}

async fn create_on(
    conn: &JanusConnection,
    server: &ServerUrl,
    pin: Option<String>,
    waiting_room: bool,
) -> Result<HostedMeeting, MeetingError> {
    let rooms = conn.attach_videoroom().await?;
    let host_key = Secret::random();
    let entry_token = Secret::random();
    let mut tries = 0;
    let room = loop {
        let room = ROOM_IDS.start + rand::random::<u64>() % (ROOM_IDS.end - ROOM_IDS.start);
        let reply = conn
            .message(
                rooms,
                request::create_room(room, &host_key, pin.as_deref()),
                None,
            )
            .await?;
        match reply {
            Incoming::Success {
                plugin: Some(RoomEvent::Error { code: 427, .. }),
                ..
            } if tries + 1 < CREATE_TRIES => tries += 1,
            reply => {
                check(reply, room, Plugin::VideoRoom)?;
                break room;
            }
        }
    };
    let allowed = conn
        .message(
            rooms,
            request::allow(room, &host_key, &[entry_token.expose()]),
            None,
        )
        .await
        .and_then(|reply| check(reply, room, Plugin::VideoRoom));
    let chat = match allowed {
        Ok(_) => {
            create_chat_on(
                conn,
                room,
                &host_key,
                pin.as_deref(),
                waiting_room.then_some(&entry_token),
            )
            .await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = chat {
        // Half a meeting is no meeting: what was made goes again.
        let _ = conn
            .message(rooms, request::destroy(room, &host_key), None)
            .await;
        if let Ok(chats) = conn.attach("janus.plugin.textroom").await {
            let text_rooms = [
                Some(room),
                crate::chat::side_room::side_room_number(room),
                crate::lobby::lobby_room_number(room),
            ];
            for text_room in text_rooms.into_iter().flatten() {
                let destroy = json!({"request": "destroy", "room": text_room,
                    "secret": host_key.expose()});
                let _ = conn.message(chats, destroy, None).await;
            }
        }
        return Err(e);
    }
    Ok(HostedMeeting {
        server: server.clone(),
        room,
        pin,
        host_key,
        entry_token,
        waiting_room,
    })
}

/// The meeting's chat room and, with a waiting room (`kept_to`: the
/// host's entry token), the waiting room; the chat and the side room (hands,
/// reactions, files) are then kept to those let in, and the meeting locked,
/// so that guests wait in the waiting room and see nothing of the meeting.
async fn create_chat_on(
    conn: &JanusConnection,
    room: u64,
    host_key: &Secret,
    pin: Option<&str>,
    kept_to: Option<&Secret>,
) -> Result<Incoming, MeetingError> {
    let chats = conn.attach("janus.plugin.textroom").await?;
    let create = request::create_chat(room, host_key, pin);
    let create = match kept_to {
        Some(first) => request::keep_to_tokens(create, first),
        None => create,
    };
    let reply = conn.message(chats, create, None).await?;
    let reply = check(reply, room, Plugin::TextRoom)?;
    let Some(first) = kept_to else {
        return Ok(reply);
    };
    let side = crate::chat::side_room::side_room_number(room)
        .ok_or_else(|| MeetingError::Protocol("no side room for this meeting".into()))?;
    let mut create = request::keep_to_tokens(request::create_chat(side, host_key, pin), first);
    create["history"] = json!(0);
    let reply = conn.message(chats, create, None).await?;
    check(reply, room, Plugin::TextRoom)?;
    let lobby = crate::lobby::lobby_room_number(room)
        .ok_or_else(|| MeetingError::Protocol("no waiting room for this meeting".into()))?;
    let mut create = request::create_chat(lobby, host_key, pin);
    create["history"] = json!(0);
    let reply = conn.message(chats, create, None).await?;
    check(reply, room, Plugin::TextRoom)?;
    let rooms = conn.attach_videoroom().await?;
    let reply = conn
        .message(rooms, request::lock(room, host_key, true), None)
        .await?;
    check(reply, room, Plugin::VideoRoom)
}

/// A host's controls over a meeting: their own connection to the server,
/// beside the call's, made again once if it was lost.
pub struct HostControls {
    meeting: HostedMeeting,
    link: Mutex<Option<ControlLink>>,
    /// The token each person let in from the waiting room joined with, by
    /// the feed they were told to join as: removing them takes it back.
    admitted: std::sync::Mutex<std::collections::HashMap<u64, Secret>>,
}

struct ControlLink {
    conn: JanusConnection,
    rooms: u64,
    chats: u64,
    /// Nothing comes on it but what the server says on its own; kept so
    /// the connection stays open.
    _events: mpsc::Receiver<SignalEvent>,
}

impl std::fmt::Debug for HostControls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostControls").finish_non_exhaustive()
    }
}

fn lock_std<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How long a host's request may take, its reconnection included.
const REQUEST_WITHIN: Duration = Duration::from_secs(12);

impl HostControls {
    pub fn new(meeting: HostedMeeting) -> Self {
        Self {
            meeting,
            link: Mutex::new(None),
            admitted: Default::default(),
        }
    }

    /// The TextRoom rooms kept to those let in (a meeting with a waiting
    /// room): its chat and its side room.
    fn kept_chat_rooms(&self) -> Vec<u64> {
        let room = self.meeting.room;
        if !self.meeting.waiting_room {
            return Vec::new();
        }
        std::iter::once(room)
            .chain(crate::chat::side_room::side_room_number(room))
            .collect()
    }

    pub fn meeting(&self) -> &HostedMeeting {
        &self.meeting
    }

    async fn connect(&self) -> Result<ControlLink, MeetingError> {
        let (conn, events) = JanusConnection::open(&self.meeting.server).await?;
        let rooms = conn.attach_videoroom().await?;
        let chats = conn.attach("janus.plugin.textroom").await?;
        Ok(ControlLink {
            conn,
            rooms,
            chats,
            _events: events,
        })
    }

    /// Sends one request to the VideoRoom (or, `chat`, the TextRoom),
    /// on a connection made anew if the last one was lost.
    async fn send(&self, body: Value, chat: bool) -> Result<Incoming, MeetingError> {
        let attempt = async {
            let mut link = self.link.lock().await;
            for fresh in [false, true] {
                if link.is_none() || fresh {
                    *link = Some(self.connect().await?);
                }
                let Some(l) = link.as_ref() else { continue };
                let handle = if chat { l.chats } else { l.rooms };
                match l.conn.message(handle, body.clone(), None).await {
                    Err(MeetingError::ConnectionLost(_)) if !fresh => continue,
                    Err(e) => return Err(e),
                    Ok(reply) => {
                        let plugin = if chat {
                            Plugin::TextRoom
                        } else {
                            Plugin::VideoRoom
                        };
                        return check(reply, self.meeting.room, plugin);
                    }
                }
            }
            Err(MeetingError::ConnectionLost(
                "the meeting server did not answer".into(),
            ))
        };
        tokio::time::timeout(REQUEST_WITHIN, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(MeetingError::ConnectionLost(
                    "the meeting server did not answer in time".into(),
                ))
            })
    }

    /// Stops one stream of a participant (`held`), or lets it go again:
    /// their own app then asks them whether to turn it back on.
    pub async fn hold(&self, feed: u64, mid: &str, held: bool) -> Result<(), MeetingError> {
        let m = &self.meeting;
        self.send(request::hold(m.room, &m.host_key, feed, mid, held), false)
            .await
            .map(drop)
    }

    /// Takes a participant out of the meeting. In a locked meeting they
    /// cannot come back.
    pub async fn remove(&self, feed: u64) -> Result<(), MeetingError> {
        let m = &self.meeting;
        let removed = self
            .send(request::remove(m.room, &m.host_key, feed), false)
            .await
            .map(drop);
        // Gone already or not, what let them in is taken back.
        self.revoke(feed).await;
        removed
    }

    /// Lets in someone from the waiting room, who will join as `feed`
    /// with `token`: the token goes on the meeting's list (and its chat's,
    /// and its side room's), and is kept against the feed.
    pub async fn admit(&self, feed: u64, token: &Secret) -> Result<(), MeetingError> {
        let m = &self.meeting;
        self.send(
            request::allow(m.room, &m.host_key, &[token.expose()]),
            false,
        )
        .await?;
        for room in self.kept_chat_rooms() {
            self.send(
                request::chat_tokens(room, &m.host_key, true, &[token.expose()]),
                true,
            )
            .await?;
        }
        lock_std(&self.admitted).insert(feed, token.clone());
        Ok(())
    }

    /// Takes back the token someone let in as `feed` joined with, if any:
    /// they cannot come back with it (nor into the chat).
    async fn revoke(&self, feed: u64) {
        let Some(token) = lock_std(&self.admitted).remove(&feed) else {
            return;
        };
        let m = &self.meeting;
        let token = token.expose();
        if let Err(e) = self
            .send(request::disallow(m.room, &m.host_key, &[token]), false)
            .await
        {
            log::warn!("a removed person's token stays: {}", e.for_logs());
        }
        for room in self.kept_chat_rooms() {
            if let Err(e) = self
                .send(
                    request::chat_tokens(room, &m.host_key, false, &[token]),
                    true,
                )
                .await
            {
                log::warn!("a removed person's chat token stays: {}", e.for_logs());
            }
        }
    }

    /// Locked: nobody else can join (or rejoin) until it is unlocked.
    pub async fn set_locked(&self, locked: bool) -> Result<(), MeetingError> {
        let m = &self.meeting;
        self.send(request::lock(m.room, &m.host_key, locked), false)
            .await
            .map(drop)
    }

    /// Ends the meeting for everyone: its room and chat are gone.
    pub async fn end(&self) -> Result<(), MeetingError> {
        let m = &self.meeting;
        let chat = self
            .send(
                json!({"request": "destroy", "room": m.room, "secret": m.host_key.expose()}),
                true,
            )
            .await;
        if let Err(e) = chat {
            log::info!("the meeting's chat was not destroyed: {}", e.for_logs());
        }
        let side = m
            .waiting_room
            .then(|| crate::chat::side_room::side_room_number(m.room))
            .flatten();
        let lobby = m
            .waiting_room
            .then(|| crate::lobby::lobby_room_number(m.room))
            .flatten();
        for lobby in side.into_iter().chain(lobby) {
            let destroyed = self
                .send(
                    json!({"request": "destroy", "room": lobby, "secret": m.host_key.expose()}),
                    true,
                )
                .await;
            if let Err(e) = destroyed {
                log::info!("a text room was not destroyed: {}", e.for_logs());
            }
        }
        self.send(request::destroy(m.room, &m.host_key), false)
            .await
            .map(drop)
    }

    pub async fn close(self) {
        if let Some(link) = self.link.into_inner() {
            link.conn.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_never_shown_and_is_read_back_only_whole() {
        let key = Secret::random();
        assert_eq!(key.expose().len(), 32);
        assert!(!format!("{key:?}").contains(key.expose()));
        let meeting = HostedMeeting {
            server: ServerUrl::parse("ws://127.0.0.1:8188").expect("url"),
            room: 1_234_567_890,
            pin: Some("pear".into()),
            host_key: key.clone(),
            entry_token: Secret::random(),
            waiting_room: false,
        };
        let shown = format!("{meeting:?}");
        assert!(!shown.contains(key.expose()), "{shown}");
        assert!(
            !shown.contains("pear") && !shown.contains("8188"),
            "{shown}"
        );
        assert!(!shown.contains(meeting.entry_token.expose()), "{shown}");
        assert_eq!(Secret::parse(&format!(" {} ", key.expose())), Some(key));
        for bad in ["", "abc", &"g".repeat(32), &"a".repeat(33), "ａ"] {
            assert_eq!(Secret::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn guests_are_given_the_meeting_and_its_pin_but_no_secret() {
        let meeting = HostedMeeting {
            server: ServerUrl::parse("wss://meet.example.org/janus").expect("url"),
            room: 4_242_424_242,
            pin: Some("pear 7".into()),
            host_key: Secret::random(),
            entry_token: Secret::random(),
            waiting_room: false,
        };
        let link = meeting.guest_link().to_string();
        assert_eq!(
            link,
            "talkline://join?server=wss://meet.example.org/janus&room=4242424242&pin=pear%207"
        );
        assert_eq!(
            MeetingLink::parse(&link).expect("a link"),
            meeting.guest_link()
        );
    }

    #[test]
    fn host_requests_carry_the_key_and_ask_what_janus_expects() {
        let key = Secret::random();
        let k = key.expose();
        let create = request::create_room(5, &key, Some("p"));
        assert_eq!(
            (
                &create["secret"],
                &create["pin"],
                &create["require_pvtid"],
                &create["permanent"]
            ),
            (&json!(k), &json!("p"), &json!(true), &json!(false))
        );
        assert!(request::create_room(5, &key, None).get("pin").is_none());
        assert_eq!(
            request::hold(5, &key, 9, "0", true),
            json!({"request": "moderate", "room": 5, "secret": k, "id": 9, "mid": "0", "mute": true})
        );
        assert_eq!(
            request::remove(5, &key, 9),
            json!({"request": "kick", "room": 5, "secret": k, "id": 9})
        );
        assert_eq!(request::lock(5, &key, true)["action"], "enable");
        assert_eq!(request::lock(5, &key, false)["action"], "disable");
        assert_eq!(request::allow(5, &key, &["t"])["allowed"], json!(["t"]));
        assert_eq!(request::destroy(5, &key)["request"], "destroy");
    }

    #[test]
    fn the_servers_refusals_are_said_as_the_host_needs_them() {
        let refused = |code: u32| Incoming::Success {
            transaction: "t".into(),
            id: None,
            plugin: Some(RoomEvent::Error {
                code,
                reason: "Unauthorized (wrong secret)".into(),
            }),
        };
        use Plugin::{TextRoom, VideoRoom};
        for (plugin, code) in [
            (VideoRoom, 433),
            (VideoRoom, 429),
            (TextRoom, 419),
            (TextRoom, 413),
        ] {
            assert!(
                matches!(check(refused(code), 1, plugin), Err(MeetingError::NotHost)),
                "{code}"
            );
        }
        for (plugin, code) in [(VideoRoom, 426), (TextRoom, 417)] {
            assert!(matches!(
                check(refused(code), 1, plugin),
                Err(MeetingError::MeetingEnded)
            ));
        }
        assert!(matches!(
            check(refused(428), 1, VideoRoom),
            Err(MeetingError::NotInMeeting)
        ));
        // The same number from the other plugin is not the same refusal.
        assert!(matches!(
            check(refused(428), 1, TextRoom),
            Err(MeetingError::Server { code: 428, .. })
        ));
        let fine = Incoming::Success {
            transaction: "t".into(),
            id: None,
            plugin: Some(RoomEvent::Other("success".into())),
        };
        assert!(check(fine, 1, VideoRoom).is_ok());
    }
}
