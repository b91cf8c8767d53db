//! The meeting's side room, without sockets: raised hands, reactions and
//! files (see `files`). They travel in a TextRoom room of their own beside
//! the meeting's chat room (on the same data channel), so that people on a
//! plain chat page (a janus.js client) never see them as text, and a late
//! joiner is not replayed old reactions or a file's parts.
//!
//! That room is made by whoever needs it first: a join refused because
//! the room does not exist is followed by a `create` (with the meeting's
//! PIN, no history, not kept by the server across restarts) and a join
//! again; two people creating it at once both end up in the one room.
//!
//! The order of hands is the server's: everyone receives the room's
//! messages in the order the server relays them, our own included, so a
//! hand is put in the queue when its message comes back from the server,
//! not when the button is pressed. Someone who joins later learns who has
//! a hand up from those people themselves: each tells the newcomer
//! privately, with how many hands are ahead of theirs; those hands come
//! before any raised after the newcomer joined. A place is believed only
//! when told privately, so nobody can put their hand first for everyone.
//!
//! The room is made with a secret nobody is told, so nobody can destroy
//! or change it through the server's room management; one destroyed all
//! the same is made again (a few times at most).
//!
//! Every message is outside input: bounded before parsing, reactions only
//! from a fixed set, a sender's reactions rate-limited, one hand per person.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::files::{FileEvent, FileOffer, FileShare};
use super::recording_notice::{Recorders, RecordingNotices};
use crate::board::{BoardEvent, NewStroke, Surface, Whiteboard};
use crate::error::MeetingError;

/// The reactions one can send (what Zoom and Meet offer, near enough):
/// anything else that arrives is ignored.
pub const REACTIONS: [&str; 6] = ["👍", "👏", "😂", "❤️", "😮", "🎉"];

/// A message's text: a file's part (32 KiB in base64) and its envelope;
/// anything larger is not one of ours and is not parsed.
const MAX_SIDE_TEXT_BYTES: usize = 48 * 1024;
/// People in the room: more than any meeting holds.
const MAX_PEOPLE: usize = 1000;
/// A sender's reactions shown within `REACTION_WINDOW`; more are dropped
/// (a held key or a script must not fill everyone's screen).
const REACTIONS_PER_WINDOW: u32 = 4;
const REACTION_WINDOW: Duration = Duration::from_secs(2);
/// The envelope's version: a later TalkLine may say more.
const ENVELOPE: u64 = 1;
/// Times a destroyed side room is made again in one meeting.
const MAX_REMADE: u8 = 3;
/// Messages kept from before our join is confirmed (each person with a
/// hand up tells us once).
const MAX_EARLY: usize = 256;

/// The side room of the meeting in TextRoom room `room`: the same number
/// with bit 62 set (room numbers stay within Janus's signed 64-bit
/// integers). `None` for a room number that high.
pub fn side_room_number(room: u64) -> Option<u64> {
    const SIDE_BIT: u64 = 1 << 62;
    (room < SIDE_BIT).then_some(room | SIDE_BIT)
}

/// A message to the side room, or to one person in it.
#[derive(Debug, PartialEq)]
pub struct Outgoing {
    /// A username, or `None` for everyone.
    pub to: Option<String>,
    pub body: Value,
}

/// A message from someone in the side room.
pub struct Incoming<'a> {
    pub from: &'a str,
    pub display: &'a str,
    pub private: bool,
    pub body: &'a Value,
}

/// A raised hand, in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaisedHand {
    pub username: String,
    pub display: String,
    /// Their feed in the meeting (VideoRoom publisher id), as they said it:
    /// which tile to show the hand on.
    pub feed: Option<u64>,
    pub own: bool,
}

/// A reaction, to show for a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub username: String,
    pub display: String,
    pub feed: Option<u64>,
    /// One of `REACTIONS`.
    pub emoji: &'static str,
    pub own: bool,
}

/// What the side room reports.
#[derive(Debug)]
pub enum SideEvent {
    /// Hands can be raised, reactions and files sent.
    Ready,
    /// They cannot, in this meeting (the room cannot be made or joined).
    Unavailable(MeetingError),
    /// The queue of raised hands changed: all of them, first raised first;
    /// `raised` is someone else's hand just raised (news, to announce),
    /// not one we were told of on joining.
    Hands {
        hands: Vec<RaisedHand>,
        raised: Option<RaisedHand>,
    },
    Reaction(Reaction),
    File(FileEvent),
    Board(BoardEvent),
    /// Who records the meeting on their device changed.
    Recording(Recorders),
}

/// What one message from the server gives: events, and requests to send.
#[derive(Debug, Default)]
pub struct SideOutput {
    pub events: Vec<SideEvent>,
    pub send: Vec<String>,
}

/// A hand in the queue, with the place its owner said it had (when they
/// told us so: as newcomers we are told by each, in any order).
#[derive(Debug)]
struct Queued {
    hand: RaisedHand,
    place: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Joining,
    Creating,
    /// Joining once more, after the room was made.
    JoiningMade,
    Joined,
    Unavailable,
}

/// The side room of one meeting, for one participant.
pub struct SideRoom {
    room: u64,
    username: String,
    display: String,
    pin: Option<String>,
    /// What lets us in where the side room is kept to those let in.
    token: Option<String>,
    feed: Option<u64>,
    phase: Phase,
    next_transaction: u64,
    /// The request under way that `phase` waits for.
    waiting_for: String,
    /// Everyone else in the room: username → name shown.
    people: BTreeMap<String, String>,
    hands: Vec<Queued>,
    /// We want our hand up (it is in `hands` once the server relayed it).
    hand_up: bool,
    /// Times the room was made again after it was destroyed.
    remade: u8,
    /// Messages that came before our join was confirmed.
    early: Vec<Value>,
    /// Reactions shown per sender in the current window.
    reactions_seen: HashMap<String, (Instant, u32)>,
    files: FileShare,
    board: Whiteboard,
    recording: RecordingNotices,
}

impl SideRoom {
    /// Hands and reactions for the meeting whose chat is TextRoom room
    /// `room`, as `username` (the chat's) shown as `display`, publishing
    /// `feed`; with the join request to send on the open data channel.
    pub fn new(
        room: u64,
        username: &str,
        display: &str,
        pin: Option<&str>,
        token: Option<&str>,
        feed: Option<u64>,
    ) -> Result<(Self, String), MeetingError> {
        let room = side_room_number(room).ok_or_else(|| {
            MeetingError::HandsUnavailable("the meeting's number is too large".into())
        })?;
        let mut gestures = Self {
            room,
            username: username.to_string(),
            display: display.to_string(),
            pin: pin.map(str::to_string),
            token: token.map(str::to_string),
            feed,
            phase: Phase::Joining,
            next_transaction: 1,
            waiting_for: String::new(),
            people: BTreeMap::new(),
            hands: Vec::new(),
            hand_up: false,
            remade: 0,
            early: Vec::new(),
            reactions_seen: HashMap::new(),
            files: FileShare::default(),
            board: Whiteboard::new(),
            recording: RecordingNotices::default(),
        };
        let join = gestures.join_request();
        Ok((gestures, join))
    }

    /// The same side room on a new connection: our hand, if it was up, is
    /// raised again (and if it was down, said down, so that a lowering
    /// lost with the connection leaves no hand behind).
    pub fn continuing(mut self, hand_up: bool, recording: bool) -> Self {
        self.hand_up = hand_up;
        // Told to the room once joined.
        let _ = self.recording.set_own(recording, ENVELOPE);
        self
    }

    /// Whether we record the meeting (and say so).
    pub fn recording(&self) -> bool {
        self.recording.own()
    }

    /// We start or stop recording the meeting: the request that tells
    /// everyone (`None` when it is already so, or while joining: the room
    /// is told once joined). Nobody can be told where the room is not
    /// available, which is an error.
    pub fn set_recording(&mut self, on: bool) -> Result<Option<String>, MeetingError> {
        if self.phase == Phase::Unavailable && on {
            return Err(MeetingError::HandsUnavailable(
                "nobody could be told of a recording".into(),
            ));
        }
        let Some(body) = self.recording.set_own(on, ENVELOPE) else {
            return Ok(None);
        };
        Ok((self.phase == Phase::Joined).then(|| self.message(body, None)))
    }

    /// The files of the connection lost: our offers are said again once
    /// joined (we are someone new to the server), and those we saw can
    /// still be asked for.
    pub fn carry_files(&mut self, files: FileShare) {
        self.files = files;
    }

    /// The boards of the connection lost: kept if nobody is left to tell
    /// us them again.
    pub fn carry_board(&mut self, board: Whiteboard) {
        self.board = board;
    }

    /// The boards, for the next connection (see `carry_board`).
    pub fn take_board(&mut self) -> Whiteboard {
        std::mem::take(&mut self.board)
    }

    /// The boards as drawn.
    pub fn board(&self) -> &Whiteboard {
        &self.board
    }

    /// Forgets a shared screen's annotation (the share ended).
    pub fn forget_surface(&mut self, on: Surface) {
        self.board.forget(on);
    }

    /// Draws `stroke` on `on`: the request to send and the stroke's id.
    pub fn draw(
        &mut self,
        on: Surface,
        stroke: &NewStroke,
        now: Instant,
    ) -> Result<(String, String), MeetingError> {
        self.ready()?;
        let (out, id) = self.board.draw(on, stroke, now)?;
        Ok((self.wire(out), id))
    }

    /// Erases strokes (`ids`), takes back our last one (`ids` empty and
    /// `undo`), or clears `on`: the request to send, if anything changes.
    pub fn erase(
        &mut self,
        on: Surface,
        ids: &[String],
        undo: bool,
        now: Instant,
    ) -> Result<Option<String>, MeetingError> {
        self.ready()?;
        let out = if undo {
            self.board.undo(on, now)?
        } else {
            self.board.erase(on, ids, now)?
        };
        Ok(out.map(|o| self.wire(o)))
    }

    /// Clears `on` for everyone.
    pub fn clear_surface(&mut self, on: Surface, now: Instant) -> Result<String, MeetingError> {
        self.ready()?;
        let out = self.board.clear(on, now)?;
        Ok(self.wire(out))
    }

    /// Shows the whiteboard to everyone, or puts it away.
    pub fn show_board(&mut self, shown: bool, now: Instant) -> Result<String, MeetingError> {
        self.ready()?;
        let out = self.board.show(shown, now)?;
        Ok(self.wire(out))
    }

    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Joined
    }

    pub fn hand_up(&self) -> bool {
        self.hand_up
    }

    /// The queue of raised hands, first raised first.
    pub fn hands(&self) -> Vec<RaisedHand> {
        self.hands.iter().map(|q| q.hand.clone()).collect()
    }

    /// Whether our username is `username`.
    pub fn is_us(&self, username: &str) -> bool {
        username == self.username
    }

    fn transaction(&mut self) -> String {
        let t = format!("g{}", self.next_transaction);
        self.next_transaction += 1;
        t
    }

    fn join_request(&mut self) -> String {
        let transaction = self.transaction();
        self.waiting_for = transaction.clone();
        let mut join = json!({
            "textroom": "join",
            "transaction": transaction,
            "room": self.room,
            "username": self.username,
            "display": self.display,
            "history": false,
        });
        if let Some(pin) = &self.pin {
            join["pin"] = json!(pin);
        }
        if let Some(token) = &self.token {
            join["token"] = json!(token);
        }
        join.to_string()
    }

    fn create_request(&mut self) -> String {
        let transaction = self.transaction();
        self.waiting_for = transaction.clone();
        let mut create = json!({
            "textroom": "create",
            "transaction": transaction,
            "room": self.room,
            "description": "TalkLine hands, reactions and files",
            "secret": format!("{:032x}", rand::random::<u128>()),
            "is_private": true,
            "history": 0,
            "permanent": false,
        });
        if let Some(pin) = &self.pin {
            create["pin"] = json!(pin);
        }
        create.to_string()
    }

    /// A message to the room (or to `to` alone) carrying `body`.
    pub(crate) fn message(&mut self, body: Value, to: Option<&str>) -> String {
        let transaction = self.transaction();
        let mut request = json!({
            "textroom": "message",
            "transaction": transaction,
            "room": self.room,
            "text": body.to_string(),
            // The server confirms nothing: the message itself comes back.
            "ack": false,
        });
        if let Some(to) = to {
            request["to"] = json!(to);
        }
        request.to_string()
    }

    fn hand_body(&self, up: bool, ahead: Option<usize>) -> Value {
        let mut body = json!({"talkline": ENVELOPE, "hand": if up { "up" } else { "down" }});
        if let Some(feed) = self.feed {
            body["feed"] = json!(feed);
        }
        if let Some(ahead) = ahead {
            body["ahead"] = json!(ahead);
        }
        body
    }

    /// Raises or lowers our hand: the request to send (`None` when it is
    /// already so).
    pub fn raise(&mut self, up: bool) -> Result<Option<String>, MeetingError> {
        self.ready()?;
        if self.hand_up == up {
            return Ok(None);
        }
        self.hand_up = up;
        let body = self.hand_body(up, None);
        Ok(Some(self.message(body, None)))
    }

    /// Sends a reaction at `now`: the request to send and the reaction to
    /// show at once, or `None` when reactions come faster than anyone
    /// can see them.
    pub fn react(
        &mut self,
        emoji: &str,
        now: Instant,
    ) -> Result<Option<(String, Reaction)>, MeetingError> {
        // A heart typed without its emoji selector is the same heart.
        let emoji = if emoji == "\u{2764}" { "❤️" } else { emoji };
        let emoji = REACTIONS
            .iter()
            .copied()
            .find(|r| *r == emoji)
            .ok_or_else(|| MeetingError::UnknownReaction(emoji.chars().take(16).collect()))?;
        if self.phase != Phase::Joined {
            return Err(MeetingError::HandsNotReady);
        }
        let username = self.username.clone();
        if !self.within_rate(&username, now) {
            return Ok(None);
        }
        let mut body = json!({"talkline": ENVELOPE, "react": emoji});
        if let Some(feed) = self.feed {
            body["feed"] = json!(feed);
        }
        let wire = self.message(body, None);
        let reaction = Reaction {
            username,
            display: self.display.clone(),
            feed: self.feed,
            emoji,
            own: true,
        };
        Ok(Some((wire, reaction)))
    }

    fn ready(&self) -> Result<(), MeetingError> {
        match self.phase {
            Phase::Joined => Ok(()),
            Phase::Unavailable => Err(MeetingError::HandsUnavailable(
                "the server refused the room for them".into(),
            )),
            _ => Err(MeetingError::HandsNotReady),
        }
    }

    fn wire(&mut self, out: Outgoing) -> String {
        self.message(out.body, out.to.as_deref())
    }

    /// Offers a file to everyone, or to the person with username `to`:
    /// the requests to send and the offer as shown.
    pub fn offer_file(
        &mut self,
        name: &str,
        bytes: Vec<u8>,
        to: Option<&str>,
    ) -> Result<(Vec<String>, FileOffer), MeetingError> {
        self.ready()?;
        let to = match to {
            Some(username) => {
                let display = self.people.get(username).ok_or_else(|| {
                    MeetingError::ChatRecipientGone(username.chars().take(64).collect())
                })?;
                Some((username, display.as_str()))
            }
            None => None,
        };
        let (out, offer) = self.files.offer(
            name,
            bytes,
            to,
            (self.username.as_str(), self.display.as_str()),
        )?;
        let wires = out.into_iter().map(|o| self.wire(o)).collect();
        Ok((wires, offer))
    }

    /// The files offered and seen, for the next connection (see
    /// `continuing`).
    pub fn take_files(&mut self) -> FileShare {
        std::mem::take(&mut self.files)
    }

    /// Asks for the file offered as `id`: the request to send.
    pub fn download_file(&mut self, id: &str, now: Instant) -> Result<String, MeetingError> {
        self.ready()?;
        let out = self.files.download(id, now)?;
        Ok(self.wire(out))
    }

    /// Transfers that stopped moving by `now` are given up,
    /// and a newcomer told nothing about the boards draws what it has
    /// (and tells those it owes).
    pub fn expire(&mut self, now: Instant) -> SideOutput {
        let files = self.files.expire(now).into_iter().map(SideEvent::File);
        let board = self.board.expire(now).into_iter().map(SideEvent::Board);
        let events = files.chain(board).collect();
        let owed = self.board.owed_tellings();
        let send = owed.into_iter().map(|o| self.wire(o)).collect();
        SideOutput { events, send }
    }

    /// The connection is lost: transfers under way are said to fail.
    pub fn abandon(&mut self) -> Vec<SideEvent> {
        self.files
            .abandon()
            .into_iter()
            .map(SideEvent::File)
            .collect()
    }

    /// The request that leaves the room.
    pub fn leave(&mut self) -> String {
        let transaction = self.transaction();
        self.phase = Phase::Unavailable;
        json!({"textroom": "leave", "transaction": transaction, "room": self.room}).to_string()
    }

    /// What one data-channel message, already parsed, means for hands and
    /// reactions (anything about other rooms or requests is not ours and
    /// gives nothing).
    pub fn receive(&mut self, v: &Value, now: Instant) -> SideOutput {
        let mut out = SideOutput::default();
        let kind = v.get("textroom").and_then(Value::as_str).unwrap_or("");
        let transaction = v.get("transaction").and_then(Value::as_str);
        let answers_us = transaction.is_some_and(|t| t == self.waiting_for);
        match kind {
            "success" if answers_us => {
                self.answered(v, now, &mut out);
                // What came before our join was confirmed, now that we
                // know who is in the room.
                if self.phase == Phase::Joined {
                    for early in std::mem::take(&mut self.early) {
                        self.gesture(&early, now, &mut out);
                    }
                }
            }
            "error" if answers_us => self.refused(v, &mut out),
            // The server tells the room of a newcomer before it confirms
            // the newcomer's join: someone quick to tell us of their hand
            // can be here first. Kept until the join is confirmed.
            "message"
                if self.is_this_room(v)
                    && self.phase != Phase::Joined
                    && self.early.len() < MAX_EARLY =>
            {
                self.early.push(v.clone());
            }
            // More than that before the join: not ours to keep.
            "message" if self.is_this_room(v) && self.phase != Phase::Joined => {}
            "message" if self.is_this_room(v) => self.gesture(v, now, &mut out),
            "join" if self.is_this_room(v) => self.person_joined(v, &mut out),
            "leave" | "kicked" if self.is_this_room(v) => {
                let Some(username) = v.get("username").and_then(Value::as_str) else {
                    return out;
                };
                if username == self.username {
                    self.phase = Phase::Unavailable;
                    self.hands.clear();
                    out.events.push(SideEvent::Hands {
                        hands: Vec::new(),
                        raised: None,
                    });
                    out.events
                        .push(SideEvent::Unavailable(MeetingError::HandsUnavailable(
                            "taken out of the room".into(),
                        )));
                    return out;
                }
                self.people.remove(username);
                self.reactions_seen.remove(username);
                self.drop_hand(username, None, &mut out);
                if let Some(shown) = self.recording.left(username) {
                    out.events.push(SideEvent::Recording(shown));
                }
                out.events.extend(
                    self.files
                        .person_left(username)
                        .into_iter()
                        .map(SideEvent::File),
                );
                let (events, send) =
                    self.board
                        .person_left(username, self.people.keys().map(String::as_str), now);
                out.events.extend(events.into_iter().map(SideEvent::Board));
                for o in send {
                    let wire = self.wire(o);
                    out.send.push(wire);
                }
            }
            "destroyed" if self.is_this_room(v) => {
                self.hands.clear();
                self.people.clear();
                if let Some(shown) = self.recording.forget_others() {
                    out.events.push(SideEvent::Recording(shown));
                }
                out.events.push(SideEvent::Hands {
                    hands: Vec::new(),
                    raised: None,
                });
                out.events
                    .extend(self.files.abandon().into_iter().map(SideEvent::File));
                if self.remade < MAX_REMADE {
                    // Made again by whoever gets there first.
                    self.remade += 1;
                    self.phase = Phase::Joining;
                    out.send.push(self.join_request());
                } else {
                    self.phase = Phase::Unavailable;
                    out.events
                        .push(SideEvent::Unavailable(MeetingError::HandsUnavailable(
                            "the room was closed".into(),
                        )));
                }
            }
            _ => {}
        }
        out
    }

    fn is_this_room(&self, v: &Value) -> bool {
        v.get("room").and_then(Value::as_u64) == Some(self.room)
    }

    fn answered(&mut self, v: &Value, now: Instant, out: &mut SideOutput) {
        match self.phase {
            Phase::Joining | Phase::JoiningMade => self.joined(v, now, out),
            Phase::Creating => {
                self.phase = Phase::JoiningMade;
                out.send.push(self.join_request());
            }
            Phase::Joined | Phase::Unavailable => {}
        }
    }

    fn refused(&mut self, v: &Value, out: &mut SideOutput) {
        let code = v.get("error_code").and_then(Value::as_u64).unwrap_or(0);
        match (self.phase, code) {
            // No such room: make it.
            (Phase::Joining, 417) => {
                self.phase = Phase::Creating;
                out.send.push(self.create_request());
            }
            // Someone made it meanwhile: join it.
            (Phase::Creating, 418) => {
                self.phase = Phase::JoiningMade;
                out.send.push(self.join_request());
            }
            _ => {
                self.phase = Phase::Unavailable;
                let reason = super::room::server_words(v);
                out.events
                    .push(SideEvent::Unavailable(MeetingError::HandsUnavailable(
                        format!("{reason} (code {code})"),
                    )));
            }
        }
    }

    fn joined(&mut self, v: &Value, now: Instant, out: &mut SideOutput) {
        self.phase = Phase::Joined;
        self.people.clear();
        // Hands are learnt again from their owners (they tell newcomers).
        self.hands.clear();
        for p in super::room::listed(v) {
            if p.username != self.username {
                self.people.insert(p.username, p.display);
            }
        }
        self.board
            .joined(&self.username, self.people.keys().map(String::as_str), now);
        out.events.push(SideEvent::Ready);
        out.events.push(SideEvent::Hands {
            hands: Vec::new(),
            raised: None,
        });
        // Those recording are learnt again from them; ours is told.
        if let Some(shown) = self.recording.forget_others() {
            out.events.push(SideEvent::Recording(shown));
        }
        if let Some(body) = self.recording.to_tell(ENVELOPE) {
            out.send.push(self.message(body, None));
        }
        // Our hand as it was before the connection was lost: up again, or
        // said down (a lowering lost with the connection leaves nothing).
        if self.hand_up || self.feed.is_some() {
            let body = self.hand_body(self.hand_up, None);
            out.send.push(self.message(body, None));
        }
        for again in self.files.own_offers_again() {
            let wire = self.wire(again);
            out.send.push(wire);
        }
    }

    fn person_joined(&mut self, v: &Value, out: &mut SideOutput) {
        let Some((username, display)) = person(v) else {
            return;
        };
        if username == self.username {
            return;
        }
        if self.people.len() >= MAX_PEOPLE && !self.people.contains_key(&username) {
            return;
        }
        // Our hand is up: the newcomer learns it, and its place, from us.
        if self.phase == Phase::Joined
            && let Some(ahead) = self.hands.iter().position(|q| q.hand.own)
        {
            let body = self.hand_body(true, Some(ahead));
            out.send.push(self.message(body, Some(&username)));
        }
        // We record: the newcomer learns it from us.
        if self.phase == Phase::Joined
            && let Some(body) = self.recording.to_tell(ENVELOPE)
        {
            out.send.push(self.message(body, Some(&username)));
        }
        // The boards, from one of us (see `board`).
        if self.phase == Phase::Joined
            && self.board.tells_newcomers(
                self.people
                    .keys()
                    .map(String::as_str)
                    .filter(|u| **u != username),
            )
        {
            for part in self.board.newcomer(&username) {
                let wire = self.wire(part);
                out.send.push(wire);
            }
        }
        self.people.insert(username, display);
    }

    fn gesture(&mut self, v: &Value, now: Instant, out: &mut SideOutput) {
        let Some(from) = v.get("from").and_then(Value::as_str) else {
            return;
        };
        let Some(text) = v.get("text").and_then(Value::as_str) else {
            return;
        };
        if text.len() > MAX_SIDE_TEXT_BYTES {
            return;
        }
        let Ok(body) = serde_json::from_str::<Value>(text) else {
            return;
        };
        if body.get("talkline").and_then(Value::as_u64) != Some(ENVELOPE) {
            return;
        }
        let own = from == self.username;
        // The server sends our own whispers nowhere back; anything private
        // "from us" is not ours.
        let private = v.get("whisper").and_then(Value::as_bool).unwrap_or(false);
        if own && private {
            return;
        }
        let Some(display) = (if own {
            Some(self.display.clone())
        } else {
            self.people.get(from).cloned()
        }) else {
            // Not someone who joined the room: ignored.
            return;
        };
        let feed = body
            .get("feed")
            .and_then(Value::as_u64)
            .filter(|f| *f > 0 && *f < 1 << 53);
        // A place is believed only when told to us alone (see above).
        let ahead = body
            .get("ahead")
            .and_then(Value::as_u64)
            .and_then(|a| usize::try_from(a).ok())
            .filter(|_| private);
        if body.get("board").is_some() {
            let (events, send) = self.board.receive(
                Incoming {
                    from,
                    display: &display,
                    private,
                    body: &body,
                },
                now,
            );
            out.events.extend(events.into_iter().map(SideEvent::Board));
            for part in send.into_iter().chain(self.board.owed_tellings()) {
                let wire = self.wire(part);
                out.send.push(wire);
            }
            return;
        }
        let about_files = ["file", "file_get", "file_ack", "file_part", "file_cancel"]
            .iter()
            .any(|k| body.get(k).is_some());
        if about_files {
            // Our own offers to everyone come back from the server.
            if own {
                return;
            }
            let (events, send) = self.files.receive(
                Incoming {
                    from,
                    display: &display,
                    private,
                    body: &body,
                },
                now,
            );
            out.events.extend(events.into_iter().map(SideEvent::File));
            for o in send {
                let wire = self.wire(o);
                out.send.push(wire);
            }
            return;
        }
        if let Some(on) = body.get("recording").and_then(Value::as_bool) {
            // Ours is known here.
            if !own && let Some(shown) = self.recording.said(from, &display, on) {
                out.events.push(SideEvent::Recording(shown));
            }
            return;
        }
        if let Some(hand) = body.get("hand").and_then(Value::as_str) {
            match hand {
                "up" => {
                    // Ours comes back after a lowering asked meanwhile: it
                    // stays down.
                    if own && !self.hand_up {
                        return;
                    }
                    let hand = RaisedHand {
                        username: from.to_string(),
                        display,
                        feed: if own { self.feed } else { feed },
                        own,
                    };
                    self.put_hand(hand, ahead, out);
                }
                "down" => {
                    let gone = feed.map(|f| (f, display.as_str()));
                    self.drop_hand(from, gone, out);
                }
                _ => {}
            }
        } else if let Some(emoji) = body.get("react").and_then(Value::as_str) {
            // Ours was shown when sent.
            if own {
                return;
            }
            let Some(emoji) = REACTIONS.iter().copied().find(|r| *r == emoji) else {
                return;
            };
            if !self.within_rate(from, now) {
                return;
            }
            out.events.push(SideEvent::Reaction(Reaction {
                username: from.to_string(),
                display,
                feed,
                emoji,
                own: false,
            }));
        }
    }

    /// Puts a hand in the queue. One we are told of on joining goes where
    /// its owner says, among the others told of, all before any raised
    /// since; one raised now goes last. One hand per person: the same
    /// person back under a new username after a lost connection (the same
    /// feed and name, not us) keeps their place.
    fn put_hand(&mut self, hand: RaisedHand, told_place: Option<usize>, out: &mut SideOutput) {
        let same = self.hands.iter().position(|q| {
            q.hand.username == hand.username
                || (hand.feed.is_some()
                    && q.hand.feed == hand.feed
                    && q.hand.display == hand.display
                    && !q.hand.own
                    && !hand.own)
        });
        let raised = match same {
            // Already up: the same place.
            Some(at) => {
                if self.hands[at].hand == hand {
                    return;
                }
                self.hands[at].hand = hand;
                None
            }
            None => {
                if self.hands.len() >= MAX_PEOPLE {
                    return;
                }
                let at = match told_place {
                    Some(a) => self
                        .hands
                        .iter()
                        .position(|q| q.place.is_none_or(|p| p > a))
                        .unwrap_or(self.hands.len()),
                    None => self.hands.len(),
                };
                let news = (told_place.is_none() && !hand.own).then(|| hand.clone());
                self.hands.insert(
                    at,
                    Queued {
                        hand,
                        place: told_place,
                    },
                );
                news
            }
        };
        out.events.push(SideEvent::Hands {
            hands: self.hands(),
            raised,
        });
    }

    /// Takes `username`'s hand out of the queue, and with `same` (feed,
    /// name) the hand an earlier connection of theirs left.
    fn drop_hand(&mut self, username: &str, same: Option<(u64, &str)>, out: &mut SideOutput) {
        let before = self.hands.len();
        self.hands.retain(|q| {
            let earlier = same.is_some_and(|(feed, display)| {
                !q.hand.own && q.hand.feed == Some(feed) && q.hand.display == display
            });
            q.hand.username != username && !earlier
        });
        if self.hands.len() != before {
            out.events.push(SideEvent::Hands {
                hands: self.hands(),
                raised: None,
            });
        }
    }

    /// Whether one more reaction from `username` at `now` is shown.
    fn within_rate(&mut self, username: &str, now: Instant) -> bool {
        if !self.reactions_seen.contains_key(username) && self.reactions_seen.len() >= MAX_PEOPLE {
            return false;
        }
        let (since, count) = self
            .reactions_seen
            .entry(username.to_string())
            .or_insert((now, 0));
        if now.saturating_duration_since(*since) >= REACTION_WINDOW {
            *since = now;
            *count = 0;
        }
        if *count >= REACTIONS_PER_WINDOW {
            return false;
        }
        *count += 1;
        true
    }
}

fn person(v: &Value) -> Option<(String, String)> {
    super::room::person(v).map(|p| (p.username, p.display))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOM: u64 = 1234;
    const HANDS_ROOM: u64 = 1234 | 1 << 62;

    fn parsed(wire: &str) -> Value {
        serde_json::from_str(wire).expect("our own requests are JSON")
    }

    fn transaction_of(wire: &str) -> String {
        parsed(wire)["transaction"]
            .as_str()
            .expect("every request has a transaction")
            .to_string()
    }

    fn body_of(wire: &str) -> Value {
        let text = parsed(wire)["text"]
            .as_str()
            .expect("a message")
            .to_string();
        serde_json::from_str(&text).expect("a gesture's body is JSON")
    }

    /// Joined to the room with `others` (username, name) in it.
    fn joined(feed: Option<u64>, others: &[(&str, &str)]) -> SideRoom {
        let (mut g, join) =
            SideRoom::new(ROOM, "me", "Me", None, None, feed).expect("a small room");
        let listed: Vec<Value> = others
            .iter()
            .map(|(u, d)| json!({"username": u, "display": d}))
            .collect();
        let out = g.receive(
            &json!({"textroom": "success", "transaction": transaction_of(&join), "participants": listed}),
            Instant::now(),
        );
        assert!(matches!(out.events[0], SideEvent::Ready));
        g
    }

    fn from(who: &str, body: Value) -> Value {
        json!({"textroom": "message", "room": HANDS_ROOM, "from": who, "text": body.to_string(), "date": "2026-12-07T10:00:00+0000"})
    }

    fn whisper(who: &str, body: Value) -> Value {
        let mut m = from(who, body);
        m["whisper"] = json!(true);
        m
    }

    fn hand(up: bool, feed: Option<u64>, ahead: Option<usize>) -> Value {
        let mut b = json!({"talkline": 1, "hand": if up { "up" } else { "down" }});
        if let Some(f) = feed {
            b["feed"] = json!(f);
        }
        if let Some(a) = ahead {
            b["ahead"] = json!(a);
        }
        b
    }

    fn queue(out: &SideOutput) -> Option<Vec<String>> {
        out.events.iter().rev().find_map(|e| match e {
            SideEvent::Hands { hands, .. } => {
                Some(hands.iter().map(|h| h.display.clone()).collect())
            }
            _ => None,
        })
    }

    /// Someone else's hand raised just now, as the last change says.
    fn news(out: &SideOutput) -> Option<String> {
        out.events.iter().rev().find_map(|e| match e {
            SideEvent::Hands { raised, .. } => Some(raised.as_ref()?.display.clone()),
            _ => None,
        })
    }

    fn own_place(g: &SideRoom) -> Option<usize> {
        g.hands().iter().position(|h| h.own)
    }

    fn names(g: &SideRoom) -> Vec<String> {
        g.hands().into_iter().map(|h| h.display).collect()
    }

    #[test]
    fn the_room_is_made_by_whoever_needs_it_first() {
        let (mut g, join) =
            SideRoom::new(ROOM, "me", "Me", Some("secret"), None, Some(7)).expect("a small room");
        let request = parsed(&join);
        assert_eq!(request["room"], json!(HANDS_ROOM));
        assert_eq!(request["pin"], json!("secret"));
        assert_eq!(request["history"], json!(false));
        assert!(matches!(g.raise(true), Err(MeetingError::HandsNotReady)));

        let out = g.receive(
            &json!({"textroom": "error", "transaction": transaction_of(&join), "error_code": 417, "error": "No such room"}),
            Instant::now(),
        );
        let create = parsed(&out.send[0]);
        assert_eq!(create["textroom"], json!("create"));
        assert_eq!(create["room"], json!(HANDS_ROOM));
        assert_eq!(create["pin"], json!("secret"));
        assert_eq!(create["history"], json!(0));
        assert_eq!(create["permanent"], json!(false));
        // A secret nobody is told: nobody can destroy or change the room.
        assert_eq!(create["secret"].as_str().map(str::len), Some(32));

        let out = g.receive(
            &json!({"textroom": "success", "transaction": create["transaction"], "room": HANDS_ROOM}),
            Instant::now(),
        );
        let again = parsed(&out.send[0]);
        assert_eq!(again["textroom"], json!("join"));
        assert!(!g.is_ready());
        let out = g.receive(
            &json!({"textroom": "success", "transaction": again["transaction"], "participants": []}),
            Instant::now(),
        );
        assert!(matches!(out.events[0], SideEvent::Ready));
        assert!(g.is_ready());
    }

    #[test]
    fn a_room_made_meanwhile_by_someone_else_is_joined() {
        let (mut g, join) =
            SideRoom::new(ROOM, "me", "Me", None, None, None).expect("a small room");
        let out = g.receive(
            &json!({"textroom": "error", "transaction": transaction_of(&join), "error_code": 417}),
            Instant::now(),
        );
        let out = g.receive(
            &json!({"textroom": "error", "transaction": transaction_of(&out.send[0]), "error_code": 418, "error": "Room exists"}),
            Instant::now(),
        );
        assert_eq!(parsed(&out.send[0])["textroom"], json!("join"));
    }

    #[test]
    fn a_room_that_refuses_us_makes_them_unavailable_not_a_loop() {
        let (mut g, join) =
            SideRoom::new(ROOM, "me", "Me", None, None, None).expect("a small room");
        let out = g.receive(
            &json!({"textroom": "error", "transaction": transaction_of(&join), "error_code": 419, "error": "Unauthorized (wrong pin)\u{1b}[2J"}),
            Instant::now(),
        );
        assert!(out.send.is_empty());
        let Some(SideEvent::Unavailable(MeetingError::HandsUnavailable(why))) = out.events.first()
        else {
            panic!("unavailable, not {:?}", out.events);
        };
        assert!(!why.contains('\u{1b}'), "{why:?}");
        assert!(matches!(
            g.raise(true),
            Err(MeetingError::HandsUnavailable(_))
        ));
        assert!(side_room_number(u64::MAX).is_none());
        assert!(SideRoom::new(1 << 62, "me", "Me", None, None, None).is_err());
    }

    #[test]
    fn hands_are_queued_in_the_order_the_server_relays_them() {
        let mut g = joined(Some(7), &[("bob", "Bob"), ("carol", "Carol")]);
        let wire = g.raise(true).expect("joined").expect("a request");
        assert_eq!(body_of(&wire), hand(true, Some(7), None));
        assert_eq!(g.raise(true).expect("joined"), None, "already up");
        // Bob's raise reached the server before ours.
        let out = g.receive(&from("bob", hand(true, Some(2), None)), Instant::now());
        assert_eq!(queue(&out), Some(vec!["Bob".to_string()]));
        assert_eq!(news(&out).as_deref(), Some("Bob"));
        let out = g.receive(&from("me", hand(true, Some(7), None)), Instant::now());
        assert_eq!(queue(&out), Some(vec!["Bob".to_string(), "Me".to_string()]));
        assert_eq!(news(&out), None, "ours is not news to us");
        assert_eq!(own_place(&g), Some(1));
        assert_eq!(g.hands()[0].feed, Some(2));
        assert!(g.hands()[1].own);
        // Told again: no change, no event.
        let out = g.receive(&from("bob", hand(true, Some(2), None)), Instant::now());
        assert!(out.events.is_empty());
        // Bob lowers; Carol leaves without lowering.
        g.receive(&from("carol", hand(true, None, None)), Instant::now());
        assert_eq!(names(&g), ["Bob", "Me", "Carol"]);
        let out = g.receive(&from("bob", hand(false, None, None)), Instant::now());
        assert_eq!(
            queue(&out),
            Some(vec!["Me".to_string(), "Carol".to_string()])
        );
        let out = g.receive(
            &json!({"textroom": "leave", "room": HANDS_ROOM, "username": "carol"}),
            Instant::now(),
        );
        assert_eq!(queue(&out), Some(vec!["Me".to_string()]));
        // Ours down: out of the queue when the server relays it.
        let wire = g.raise(false).expect("joined").expect("a request");
        assert_eq!(body_of(&wire)["hand"], json!("down"));
        assert_eq!(own_place(&g), Some(0), "still queued until relayed");
        assert!(!g.hand_up());
        g.receive(&from("me", hand(false, Some(7), None)), Instant::now());
        assert!(g.hands().is_empty());
    }

    #[test]
    fn everyone_sees_who_records_newcomers_included_until_they_stop_or_leave() {
        let recorders = |out: &SideOutput| {
            out.events.iter().find_map(|e| match e {
                SideEvent::Recording(r) => Some(r.clone()),
                _ => None,
            })
        };
        // Said while joining: told to the room once joined.
        let (mut g, join) = SideRoom::new(ROOM, "me", "Me", None, None, Some(7)).expect("room");
        assert_eq!(g.set_recording(true).expect("joining"), None);
        let out = g.receive(
            &json!({"textroom": "success", "transaction": transaction_of(&join), "participants": [{"username": "bob", "display": "Bob"}]}),
            Instant::now(),
        );
        let told: Vec<Value> = out.send.iter().map(|w| body_of(w)).collect();
        assert!(
            told.contains(&json!({"talkline": 1, "recording": true})),
            "{told:?}"
        );
        // A newcomer is told privately.
        let out = g.receive(
            &json!({"textroom": "join", "room": HANDS_ROOM, "username": "cy", "display": "Cy"}),
            Instant::now(),
        );
        let whisper = out
            .send
            .iter()
            .find(|w| body_of(w).get("recording").is_some())
            .expect("told");
        assert_eq!(parsed(whisper)["to"], json!("cy"));
        // Ours coming back from the server is no news.
        let out = g.receive(
            &from("me", json!({"talkline": 1, "recording": true})),
            Instant::now(),
        );
        assert!(recorders(&out).is_none());
        // Bob records too: shown, as news.
        let out = g.receive(
            &from("bob", json!({"talkline": 1, "recording": true})),
            Instant::now(),
        );
        let shown = recorders(&out).expect("Bob records");
        assert_eq!(
            (shown.own, shown.others.clone(), shown.started),
            (true, vec!["Bob".to_string()], Some("Bob".to_string()))
        );
        // Someone not in the room is not believed.
        let out = g.receive(
            &from("eve", json!({"talkline": 1, "recording": true})),
            Instant::now(),
        );
        assert!(recorders(&out).is_none());
        // Bob leaves while recording: no longer shown.
        let out = g.receive(
            &json!({"textroom": "leave", "room": HANDS_ROOM, "username": "bob"}),
            Instant::now(),
        );
        assert_eq!(recorders(&out).map(|r| r.others), Some(Vec::new()));
        // We stop: said to everyone, and newcomers hear nothing of it.
        let wire = g.set_recording(false).expect("joined").expect("told");
        assert_eq!(body_of(&wire), json!({"talkline": 1, "recording": false}));
        let out = g.receive(
            &json!({"textroom": "join", "room": HANDS_ROOM, "username": "dee", "display": "Dee"}),
            Instant::now(),
        );
        assert!(
            out.send
                .iter()
                .all(|w| body_of(w).get("recording").is_none())
        );
    }

    #[test]
    fn a_hand_lowered_before_its_raise_came_back_stays_down() {
        let mut g = joined(None, &[]);
        g.raise(true).expect("joined");
        g.raise(false).expect("joined");
        let out = g.receive(&from("me", hand(true, None, None)), Instant::now());
        assert!(out.events.is_empty());
        assert!(g.hands().is_empty());
    }

    #[test]
    fn a_newcomer_is_told_our_hand_and_its_place() {
        let mut g = joined(Some(7), &[("bob", "Bob")]);
        let out = g.receive(
            &json!({"textroom": "join", "room": HANDS_ROOM, "username": "dan", "display": "Dan"}),
            Instant::now(),
        );
        assert!(out.send.is_empty(), "our hand is down: nothing to tell");
        g.raise(true).expect("joined");
        g.receive(&from("bob", hand(true, None, None)), Instant::now());
        g.receive(&from("me", hand(true, Some(7), None)), Instant::now());
        let out = g.receive(
            &json!({"textroom": "join", "room": HANDS_ROOM, "username": "eve", "display": "Eve"}),
            Instant::now(),
        );
        let told = parsed(&out.send[0]);
        assert_eq!(told["to"], json!("eve"));
        assert_eq!(body_of(&out.send[0]), hand(true, Some(7), Some(1)));
    }

    #[test]
    fn a_late_joiner_rebuilds_the_queue_from_what_each_says() {
        let people = [("ann", "Ann"), ("bob", "Bob"), ("carol", "Carol")];
        // Whatever order their whispers arrive in.
        for order in [[2, 0, 1], [1, 2, 0], [0, 1, 2], [2, 1, 0]] {
            let mut g = joined(None, &people);
            for i in order {
                // Their places, as each of them counts.
                let out = g.receive(
                    &whisper(people[i].0, hand(true, None, Some(i))),
                    Instant::now(),
                );
                assert_eq!(news(&out), None, "told, not news");
            }
            assert_eq!(names(&g), ["Ann", "Bob", "Carol"], "{order:?}");
        }
    }

    #[test]
    fn a_hand_told_before_our_join_is_confirmed_is_not_lost() {
        let (mut g, join) =
            SideRoom::new(ROOM, "me", "Me", None, None, None).expect("a small room");
        // Ann saw us join and told us before the server confirmed it.
        let out = g.receive(&whisper("ann", hand(true, None, Some(0))), Instant::now());
        assert!(out.events.is_empty());
        let out = g.receive(
            &json!({"textroom": "success", "transaction": transaction_of(&join), "participants": [{"username": "ann", "display": "Ann"}]}),
            Instant::now(),
        );
        assert_eq!(queue(&out), Some(vec!["Ann".to_string()]));
        // Nobody who is not in the room, even so.
        let (mut g, join) =
            SideRoom::new(ROOM, "me", "Me", None, None, None).expect("a small room");
        g.receive(
            &whisper("mallory", hand(true, None, Some(0))),
            Instant::now(),
        );
        g.receive(
            &json!({"textroom": "success", "transaction": transaction_of(&join), "participants": []}),
            Instant::now(),
        );
        assert!(g.hands().is_empty());
    }

    #[test]
    fn hands_told_on_joining_come_before_hands_raised_since() {
        let people = [
            ("ann", "Ann"),
            ("bob", "Bob"),
            ("carol", "Carol"),
            ("dan", "Dan"),
        ];
        let mut g = joined(None, &people);
        g.receive(&whisper("ann", hand(true, None, Some(0))), Instant::now());
        // Dan raises now, while the others' whispers are still on their way.
        g.receive(&from("dan", hand(true, None, None)), Instant::now());
        g.receive(&whisper("carol", hand(true, None, Some(2))), Instant::now());
        g.receive(&whisper("bob", hand(true, None, Some(1))), Instant::now());
        assert_eq!(names(&g), ["Ann", "Bob", "Carol", "Dan"]);
    }

    #[test]
    fn nobody_jumps_the_queue_or_takes_someone_elses_hand() {
        let mut g = joined(Some(7), &[("bob", "Bob"), ("mallory", "Bob")]);
        g.raise(true).expect("joined");
        g.receive(&from("bob", hand(true, Some(2), None)), Instant::now());
        g.receive(&from("me", hand(true, Some(7), None)), Instant::now());
        // A place said to everyone is not believed: last.
        g.receive(
            &from("mallory", hand(true, Some(9), Some(0))),
            Instant::now(),
        );
        assert_eq!(names(&g), ["Bob", "Me", "Bob"]);
        // Claiming our feed takes nothing from us; lowering "with" it
        // lowers nobody else's.
        g.receive(&from("mallory", hand(false, Some(7), None)), Instant::now());
        g.receive(&from("mallory", hand(true, Some(7), None)), Instant::now());
        assert!(g.hands().iter().any(|h| h.own && h.username == "me"));
        assert!(g.hand_up());
        let bobs = g.hands().iter().filter(|h| h.username == "bob").count();
        assert_eq!(bobs, 1, "{:?}", g.hands());
    }

    #[test]
    fn taken_out_of_the_room_clears_the_queue() {
        let mut g = joined(None, &[("bob", "Bob")]);
        g.receive(&from("bob", hand(true, None, None)), Instant::now());
        let out = g.receive(
            &json!({"textroom": "kicked", "room": HANDS_ROOM, "username": "me"}),
            Instant::now(),
        );
        assert_eq!(queue(&out), Some(Vec::new()));
        assert!(
            out.events
                .iter()
                .any(|e| matches!(e, SideEvent::Unavailable(_)))
        );
    }

    #[test]
    fn a_reconnected_person_keeps_their_place_under_their_new_name() {
        // We come back with our hand up: raised again; with it down: said
        // down, so a lowering lost with the connection leaves nothing.
        for up in [true, false] {
            let (g, join) =
                SideRoom::new(ROOM, "me2", "Me", None, None, Some(7)).expect("a small room");
            let mut g = g.continuing(up, false);
            let out = g.receive(
                &json!({"textroom": "success", "transaction": transaction_of(&join), "participants": [{"username": "bob"}]}),
                Instant::now(),
            );
            assert_eq!(body_of(&out.send[0]), hand(up, Some(7), None));
        }

        // Someone else sees our new username raise where the old one was.
        let mut other = joined(
            None,
            &[
                ("old-me", "Me"),
                ("me2", "Me"),
                ("bob", "Bob"),
                ("carol", "Carol"),
            ],
        );
        other.receive(&from("bob", hand(true, Some(2), None)), Instant::now());
        other.receive(&from("old-me", hand(true, Some(7), None)), Instant::now());
        other.receive(&from("carol", hand(true, None, None)), Instant::now());
        let out = other.receive(&from("me2", hand(true, Some(7), None)), Instant::now());
        assert_eq!(
            queue(&out),
            Some(vec![
                "Bob".to_string(),
                "Me".to_string(),
                "Carol".to_string()
            ])
        );
        assert_eq!(other.hands()[1].username, "me2");
        assert_eq!(news(&out), None, "not raised anew");
        // The old username timing out takes nothing with it.
        let out = other.receive(
            &json!({"textroom": "leave", "room": HANDS_ROOM, "username": "old-me"}),
            Instant::now(),
        );
        assert!(out.events.is_empty());
        assert_eq!(names(&other), ["Bob", "Me", "Carol"]);
        // Back with the hand down: the old connection's hand goes.
        other.receive(&from("old-me", hand(true, Some(7), None)), Instant::now());
        let mut other = joined(None, &[("old-me", "Me"), ("me2", "Me")]);
        other.receive(&from("old-me", hand(true, Some(7), None)), Instant::now());
        other.receive(&from("me2", hand(false, Some(7), None)), Instant::now());
        assert!(other.hands().is_empty());
    }

    #[test]
    fn reactions_come_from_the_set_from_people_in_the_room_at_a_bounded_rate() {
        let mut g = joined(Some(7), &[("bob", "Bob")]);
        let now = Instant::now();
        let react = |emoji: &str| json!({"talkline": 1, "react": emoji, "feed": 2});
        let shown = |out: &SideOutput| {
            out.events
                .iter()
                .filter(|e| matches!(e, SideEvent::Reaction(_)))
                .count()
        };
        let out = g.receive(&from("bob", react("👍")), now);
        let Some(SideEvent::Reaction(r)) = out.events.first() else {
            panic!("a reaction, not {:?}", out.events);
        };
        assert_eq!(
            (r.display.as_str(), r.emoji, r.feed),
            ("Bob", "👍", Some(2))
        );
        // Not one of ours; not from the room; not our envelope; too big;
        // our own echo (shown when sent); a feed no publisher can have.
        for ignored in [
            from("bob", react("💩")),
            from("mallory", react("👍")),
            from("bob", json!({"talkline": 2, "react": "👍"})),
            from("bob", json!({"react": "👍"})),
            json!({"textroom": "message", "room": HANDS_ROOM, "from": "bob", "text": "not json"}),
            json!({"textroom": "message", "room": HANDS_ROOM, "from": "bob", "text": format!("{{\"talkline\":1,\"react\":\"👍\",\"x\":\"{}\"}}", "a".repeat(MAX_SIDE_TEXT_BYTES))}),
            json!({"textroom": "message", "room": 1234, "from": "bob", "text": react("👍").to_string()}),
            from("me", react("👍")),
        ] {
            assert_eq!(shown(&g.receive(&ignored, now)), 0, "{ignored}");
        }
        let out = g.receive(
            &from(
                "bob",
                json!({"talkline": 1, "react": "🎉", "feed": u64::MAX}),
            ),
            now,
        );
        let Some(SideEvent::Reaction(r)) = out.events.first() else {
            panic!("a reaction");
        };
        assert_eq!(r.feed, None);
        // A flood: four in two seconds are shown, the rest dropped.
        let later = now + REACTION_WINDOW;
        let flood: usize = (0..50)
            .map(|_| shown(&g.receive(&from("bob", react("👏")), later)))
            .sum();
        assert_eq!(flood, REACTIONS_PER_WINDOW as usize);
        assert_eq!(
            shown(&g.receive(&from("bob", react("👏")), later + REACTION_WINDOW)),
            1
        );
    }

    #[test]
    fn our_reactions_are_checked_shown_at_once_and_bounded() {
        let mut g = joined(Some(7), &[]);
        let now = Instant::now();
        assert!(matches!(
            g.react("<script>", now),
            Err(MeetingError::UnknownReaction(_))
        ));
        let (wire, shown) = g.react("❤️", now).expect("joined").expect("sent");
        assert_eq!(
            body_of(&wire),
            json!({"talkline": 1, "react": "❤️", "feed": 7})
        );
        assert!(shown.own);
        let sent = (0..10)
            .filter(|_| g.react("❤️", now).expect("joined").is_some())
            .count();
        assert_eq!(sent, REACTIONS_PER_WINDOW as usize - 1);
    }

    #[test]
    fn a_room_destroyed_is_made_again_a_few_times_then_given_up() {
        let mut g = joined(None, &[("bob", "Bob")]);
        g.receive(&from("bob", hand(true, None, None)), Instant::now());
        for _ in 0..MAX_REMADE {
            let out = g.receive(
                &json!({"textroom": "destroyed", "room": HANDS_ROOM}),
                Instant::now(),
            );
            assert_eq!(queue(&out), Some(Vec::new()));
            assert_eq!(parsed(&out.send[0])["textroom"], json!("join"));
            assert!(!g.is_ready());
            let out = g.receive(
                &json!({"textroom": "success", "transaction": transaction_of(&out.send[0]), "participants": []}),
                Instant::now(),
            );
            assert!(matches!(out.events[0], SideEvent::Ready));
        }
        let out = g.receive(
            &json!({"textroom": "destroyed", "room": HANDS_ROOM}),
            Instant::now(),
        );
        assert!(out.send.is_empty());
        assert!(
            out.events
                .iter()
                .any(|e| matches!(e, SideEvent::Unavailable(_)))
        );
    }
}
