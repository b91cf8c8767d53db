//! A meeting's chat as Janus's TextRoom plugin runs it, without sockets:
//! what we send over the data channel (join, a message to everyone or to
//! one person) and what we make of what arrives (messages, people coming
//! and going, the history a late joiner is given, refusals). The data
//! channel's text goes in, events and requests come out, so the whole
//! protocol is tested on recorded exchanges.
//!
//! Everything that arrives is outside input: it is parsed with bounds
//! (a message's size before parsing, its text and names after), and
//! nothing malformed is more than a line in the log.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::error::MeetingError;

/// The longest message a user may send, in characters (Zoom and Teams
/// allow a few thousand; a pasted paragraph fits, a pasted file does not).
pub const MAX_CHAT_CHARS: usize = 4000;
/// A data-channel message larger than this is not parsed at all: no
/// message of ours, escaped, comes near it.
pub const MAX_CHAT_WIRE_BYTES: usize = 64 * 1024;
/// Messages kept for the length of the meeting (the oldest go first), by
/// whoever keeps them (the app; the window's panel).
pub const MAX_CHAT_HISTORY: usize = 1000;
/// A message the server has not confirmed by then is said not to have
/// been sent (the server may be gone without the channel knowing it).
pub const CHAT_CONFIRM_WITHIN: Duration = Duration::from_secs(10);
/// A name as shown, in characters.
const MAX_NAME_CHARS: usize = 64;
/// People in the chat: more than any room holds.
const MAX_PEOPLE: usize = 1000;
/// Messages sent and not yet confirmed by the server.
const MAX_UNCONFIRMED: usize = 256;

/// Someone in the meeting's chat: their TextRoom username (unique in the
/// room, what a private message is addressed to) and the name they show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatPerson {
    pub username: String,
    pub display: String,
}

/// One message, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Ours, counting from 1 in this meeting: the order they are shown in.
    pub id: u64,
    /// The sender's username, and the name they had.
    pub from: String,
    pub display: String,
    pub text: String,
    /// Sent to one person only (to us, or by us to `to`).
    pub private: bool,
    /// Whom we sent a private message to (our own messages only).
    pub to: Option<ChatPerson>,
    /// We sent it.
    pub own: bool,
    /// The server's time stamp (ISO 8601), where it gave one.
    pub at: Option<String>,
    /// Longer than `MAX_CHAT_CHARS` when it arrived: cut there.
    pub cut: bool,
    /// Said before we joined: the history a late joiner is given (not news).
    pub history: bool,
}

/// What the chat reports.
#[derive(Debug)]
pub enum ChatEvent {
    /// We are in the room; these were there already.
    Joined(Vec<ChatPerson>),
    /// Could not join the room's chat.
    JoinRefused(MeetingError),
    Message(ChatMessage),
    PersonJoined(ChatPerson),
    PersonLeft(ChatPerson),
    /// The server refused a message we sent (`id` as shown).
    NotSent {
        id: u64,
        why: MeetingError,
    },
    /// The connection was lost; the chat is connecting again (`Joined`
    /// follows once it is back).
    Reconnecting,
    /// Raised hands and reactions, which travel on the chat's channel.
    Side(super::side_room::SideEvent),
}

/// The chat of one room, for one participant.
#[derive(Debug)]
pub struct ChatRoom {
    room: u64,
    username: String,
    display: String,
    next_transaction: u64,
    next_id: u64,
    join_transaction: String,
    joined: bool,
    people: BTreeMap<String, String>,
    /// Messages we sent, by transaction, until the server confirms them.
    unconfirmed: HashMap<String, Unconfirmed>,
    /// Our usernames on earlier connections of this chat: the server may
    /// list them a while longer, and they are us, not someone else.
    earlier: Vec<String>,
}

#[derive(Debug)]
struct Unconfirmed {
    /// As shown.
    id: u64,
    /// Sent to this person alone (username, name).
    to: Option<ChatPerson>,
    sent_at: Instant,
}

impl ChatRoom {
    /// A chat for `room` where we are `username` (unique in the room)
    /// shown as `display`; with the join request to send once the data
    /// channel is open (asking for the room's history).
    /// `token`: what lets us into a meeting whose chat is kept to those let
    /// in (a meeting with a waiting room, see `crate::host`).
    pub fn new(
        room: u64,
        username: &str,
        display: &str,
        pin: Option<&str>,
        token: Option<&str>,
    ) -> (Self, String) {
        let mut chat = Self {
            room,
            username: username.to_string(),
            display: clean_name(display),
            next_transaction: 1,
            next_id: 1,
            join_transaction: String::new(),
            joined: false,
            people: BTreeMap::new(),
            unconfirmed: HashMap::new(),
            earlier: Vec::new(),
        };
        let transaction = chat.transaction();
        chat.join_transaction = transaction.clone();
        let mut join = json!({
            "textroom": "join",
            "transaction": transaction,
            "room": room,
            "username": chat.username,
            "display": chat.display,
            "history": true,
        });
        if let Some(pin) = pin {
            join["pin"] = json!(pin);
        }
        if let Some(token) = token {
            join["token"] = json!(token);
        }
        (chat, join.to_string())
    }

    fn transaction(&mut self) -> String {
        let t = format!("c{}", self.next_transaction);
        self.next_transaction += 1;
        t
    }

    /// The same chat on a new connection: its messages numbered on from
    /// `next_id`, and our `earlier` usernames known as us.
    pub fn continuing(mut self, next_id: u64, earlier: &[String]) -> Self {
        self.next_id = next_id.max(1);
        self.earlier = earlier.to_vec();
        self
    }

    /// The id the next message shown will have.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    fn is_us(&self, username: &str) -> bool {
        username == self.username || self.earlier.iter().any(|u| u == username)
    }

    /// The connection is lost: what the server had not confirmed may not
    /// have reached anyone, and is said so.
    pub fn abandon(&mut self) -> Vec<ChatEvent> {
        let mut ids: Vec<u64> = self.unconfirmed.drain().map(|(_, u)| u.id).collect();
        ids.sort_unstable();
        self.joined = false;
        ids.into_iter()
            .map(|id| ChatEvent::NotSent {
                id,
                why: MeetingError::ChatNotConfirmed,
            })
            .collect()
    }

    pub fn is_joined(&self) -> bool {
        self.joined
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    /// Everyone else in the chat now, by name.
    pub fn people(&self) -> Vec<ChatPerson> {
        let mut people: Vec<ChatPerson> = self
            .people
            .iter()
            .map(|(username, display)| ChatPerson {
                username: username.clone(),
                display: display.clone(),
            })
            .collect();
        people.sort_by(|a, b| a.display.cmp(&b.display).then(a.username.cmp(&b.username)));
        people
    }

    /// A message to everyone, or to the person with username `to`, sent
    /// at `now`: the request to send, and the message as shown (the
    /// server's echo of it is not shown twice).
    pub fn send(
        &mut self,
        text: &str,
        to: Option<&str>,
        now: Instant,
    ) -> Result<(String, ChatMessage), MeetingError> {
        if !self.joined {
            return Err(MeetingError::ChatNotReady);
        }
        let text = text.trim_end();
        if text.trim().is_empty() {
            return Err(MeetingError::ChatEmpty);
        }
        if text.chars().count() > MAX_CHAT_CHARS {
            return Err(MeetingError::ChatTooLong(MAX_CHAT_CHARS));
        }
        let to = match to {
            Some(username) => {
                let display = self.people.get(username).ok_or_else(|| {
                    MeetingError::ChatRecipientGone(username.chars().take(MAX_NAME_CHARS).collect())
                })?;
                Some(ChatPerson {
                    username: username.to_string(),
                    display: display.clone(),
                })
            }
            None => None,
        };
        if self.unconfirmed.len() >= MAX_UNCONFIRMED {
            return Err(MeetingError::ChatBusy);
        }
        let transaction = self.transaction();
        let mut request = json!({
            "textroom": "message",
            "transaction": transaction,
            "room": self.room,
            "text": text,
            "ack": true,
        });
        if let Some(to) = &to {
            request["to"] = json!(to.username);
        }
        let message = ChatMessage {
            id: self.take_id(),
            from: self.username.clone(),
            display: self.display.clone(),
            text: text.to_string(),
            private: to.is_some(),
            to: to.clone(),
            own: true,
            at: None,
            cut: false,
            history: false,
        };
        self.unconfirmed.insert(
            transaction,
            Unconfirmed {
                id: message.id,
                to,
                sent_at: now,
            },
        );
        Ok((request.to_string(), message))
    }

    /// The message shown as `id` could not be handed to the channel: the
    /// server will not confirm it.
    pub fn unsent(&mut self, id: u64) {
        self.unconfirmed.retain(|_, u| u.id != id);
    }

    /// Messages the server has not confirmed within `CHAT_CONFIRM_WITHIN`
    /// of `now`: said not sent.
    pub fn expire(&mut self, now: Instant) -> Vec<ChatEvent> {
        let mut late: Vec<u64> = Vec::new();
        self.unconfirmed.retain(|_, u| {
            let waiting = now.saturating_duration_since(u.sent_at) < CHAT_CONFIRM_WITHIN;
            if !waiting {
                late.push(u.id);
            }
            waiting
        });
        late.sort_unstable();
        late.into_iter()
            .map(|id| ChatEvent::NotSent {
                id,
                why: MeetingError::ChatNotConfirmed,
            })
            .collect()
    }

    /// The request that leaves the room.
    pub fn leave(&mut self) -> String {
        let transaction = self.transaction();
        self.joined = false;
        json!({"textroom": "leave", "transaction": transaction, "room": self.room}).to_string()
    }

    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// What one data-channel message from the server means. Malformed or
    /// foreign input yields nothing (and a line in the log).
    pub fn receive(&mut self, wire: &str) -> Vec<ChatEvent> {
        if wire.len() > MAX_CHAT_WIRE_BYTES {
            log::warn!("ignored a chat message of {} bytes", wire.len());
            return Vec::new();
        }
        let Ok(v) = serde_json::from_str::<Value>(wire) else {
            log::warn!("ignored a chat message that is not JSON");
            return Vec::new();
        };
        let kind = v.get("textroom").and_then(Value::as_str).unwrap_or("");
        let transaction = v.get("transaction").and_then(Value::as_str);
        match kind {
            "success" if transaction == Some(self.join_transaction.as_str()) => self.joined(&v),
            "success" => self.confirmed(&v, transaction),
            "error" => self.refused(&v, transaction),
            "message" | "announcement" if self.is_this_room(&v) => self
                .message(&v)
                .map(ChatEvent::Message)
                .into_iter()
                .collect(),
            "join" if self.is_this_room(&v) => self.person_joined(&v).into_iter().collect(),
            "leave" | "kicked" if self.is_this_room(&v) => {
                // We were taken out of the room (or left it on the server's
                // side): nothing more gets through.
                if v.get("username").and_then(Value::as_str) == Some(self.username.as_str()) {
                    self.joined = false;
                    return vec![ChatEvent::JoinRefused(MeetingError::ChatClosed)];
                }
                self.person_left(&v).into_iter().collect()
            }
            "destroyed" if self.is_this_room(&v) => {
                self.joined = false;
                vec![ChatEvent::JoinRefused(MeetingError::ChatClosed)]
            }
            _ => {
                log::debug!("ignored a chat message of kind {:?}", truncated(kind, 32));
                Vec::new()
            }
        }
    }

    fn is_this_room(&self, v: &Value) -> bool {
        v.get("room").and_then(Value::as_u64) == Some(self.room)
    }

    fn joined(&mut self, v: &Value) -> Vec<ChatEvent> {
        self.joined = true;
        self.people.clear();
        for person in listed(v) {
            if !self.is_us(&person.username) {
                self.people.insert(person.username, person.display);
            }
        }
        vec![ChatEvent::Joined(self.people())]
    }

    /// A message confirmed; one sent to a person who has gone meanwhile
    /// is confirmed as not delivered to them (`"sent": {"them": false}`).
    fn confirmed(&mut self, v: &Value, transaction: Option<&str>) -> Vec<ChatEvent> {
        let Some(sent) = transaction.and_then(|t| self.unconfirmed.remove(t)) else {
            return Vec::new();
        };
        let delivered = |to: &ChatPerson| {
            v.get("sent")
                .and_then(|s| s.get(&to.username))
                .and_then(Value::as_bool)
                .unwrap_or(true)
        };
        match &sent.to {
            Some(to) if !delivered(to) => vec![ChatEvent::NotSent {
                id: sent.id,
                why: MeetingError::ChatRecipientGone(to.display.clone()),
            }],
            _ => Vec::new(),
        }
    }

    fn refused(&mut self, v: &Value, transaction: Option<&str>) -> Vec<ChatEvent> {
        let code = v.get("error_code").and_then(Value::as_u64).unwrap_or(0);
        let reason = server_words(v);
        let why = match code {
            // Unauthorized: the room has a PIN we do not have.
            419 => MeetingError::WrongPin,
            417 => MeetingError::ChatNoRoom,
            _ => MeetingError::ChatUnavailable(format!("{reason} (code {code})")),
        };
        match transaction {
            Some(t) if t == self.join_transaction => vec![ChatEvent::JoinRefused(why)],
            Some(t) => match self.unconfirmed.remove(t) {
                Some(sent) => vec![ChatEvent::NotSent { id: sent.id, why }],
                None => Vec::new(),
            },
            None => Vec::new(),
        }
    }

    fn message(&mut self, v: &Value) -> Option<ChatMessage> {
        let text = v.get("text").and_then(Value::as_str)?;
        let announcement = v.get("textroom").and_then(Value::as_str) == Some("announcement");
        let from = if announcement {
            String::new()
        } else {
            truncated(v.get("from").and_then(Value::as_str)?, 128)
        };
        let private = v.get("whisper").and_then(Value::as_bool).unwrap_or(false);
        // Our own message to everyone, back from the server: shown already.
        if !from.is_empty() && from == self.username && !private {
            return None;
        }
        // The name the message came with (the history carries it too),
        // else the one they joined with, else what TalkLine's usernames
        // carry after the first ':'.
        let display = v
            .get("display")
            .and_then(Value::as_str)
            .map(clean_name)
            .filter(|d| !d.is_empty())
            .or_else(|| self.people.get(&from).cloned())
            .unwrap_or_else(|| {
                clean_name(from.split_once(':').map_or(from.as_str(), |(_, name)| name))
            });
        let cut = text.chars().count() > MAX_CHAT_CHARS;
        let message = ChatMessage {
            id: self.take_id(),
            from,
            display,
            text: text.chars().take(MAX_CHAT_CHARS).collect(),
            private,
            to: None,
            own: false,
            at: v
                .get("date")
                .and_then(Value::as_str)
                .map(|d| truncated(d, 40)),
            cut,
            // The server sends the history before it confirms the join.
            history: !self.joined,
        };
        Some(message)
    }

    fn person_joined(&mut self, v: &Value) -> Option<ChatEvent> {
        let person = person(v)?;
        if self.is_us(&person.username) {
            return None;
        }
        if self.people.len() >= MAX_PEOPLE && !self.people.contains_key(&person.username) {
            log::warn!("more than {MAX_PEOPLE} people in the chat: not listing more");
            return None;
        }
        self.people
            .insert(person.username.clone(), person.display.clone());
        Some(ChatEvent::PersonJoined(person))
    }

    fn person_left(&mut self, v: &Value) -> Option<ChatEvent> {
        let username = v.get("username").and_then(Value::as_str)?;
        let display = self.people.remove(username)?;
        Some(ChatEvent::PersonLeft(ChatPerson {
            username: username.to_string(),
            display,
        }))
    }
}

/// The server's words in a refusal, to show: no control or invisible
/// characters, at most 200.
pub(crate) fn server_words(v: &Value) -> String {
    v.get("error")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control() && !is_invisible_format(*c))
        .take(200)
        .collect()
}

/// The people a join's confirmation lists (at most `MAX_PEOPLE`).
pub(crate) fn listed(v: &Value) -> impl Iterator<Item = ChatPerson> + '_ {
    v.get("participants")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .take(MAX_PEOPLE)
        .filter_map(person)
}

/// Someone as a TextRoom message names them (username and name), with
/// bounds: `None` for a message that names nobody sensible.
pub(crate) fn person(v: &Value) -> Option<ChatPerson> {
    let username = v.get("username").and_then(Value::as_str)?;
    if username.is_empty() || username.len() > 128 {
        return None;
    }
    let display = v
        .get("display")
        .and_then(Value::as_str)
        .filter(|d| !d.trim().is_empty())
        .unwrap_or(username);
    Some(ChatPerson {
        username: username.to_string(),
        display: clean_name(display),
    })
}

/// A name as shown: no control characters (a name must not break the
/// line it is shown in) and no invisible ones that reorder or hide text,
/// at most `MAX_NAME_CHARS`.
pub(crate) fn clean_name(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control() && !is_invisible_format(*c))
        .take(MAX_NAME_CHARS)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Unicode's invisible formatting characters: bidirectional overrides and
/// isolates (which make "evil.exe" read "exe.live"), zero-width ones.
pub fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

fn truncated(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// The messages to everyone shown so far, by sender's name and text, as
/// many times as each was shown: after a reconnection the server gives
/// the room's history again, and what was shown already is not shown twice
/// (exactly as many times as it was, so a repeated "ok" still counts).
/// The newest are remembered; the oldest are forgotten first.
#[derive(Debug, Default)]
pub struct SeenMessages {
    counts: HashMap<(String, String), u32>,
    /// In the order seen: what to forget first.
    order: std::collections::VecDeque<(String, String)>,
}

impl SeenMessages {
    /// Remembered at most: more than a server's history holds.
    const MAX: usize = 4 * MAX_CHAT_HISTORY;

    pub fn saw(&mut self, message: &ChatMessage) {
        if message.private {
            return;
        }
        if self.order.len() >= Self::MAX
            && let Some(oldest) = self.order.pop_front()
        {
            self.forget_one(&oldest);
        }
        let key = (message.display.clone(), message.text.clone());
        *self.counts.entry(key.clone()).or_default() += 1;
        self.order.push_back(key);
    }

    fn forget_one(&mut self, key: &(String, String)) {
        if let Some(n) = self.counts.get_mut(key) {
            *n -= 1;
            if *n == 0 {
                self.counts.remove(key);
            }
        }
    }

    /// Whether `message`, given again as history, was shown already (and
    /// so is not to be shown again).
    pub fn shown_before(&mut self, message: &ChatMessage) -> bool {
        if !message.history || message.private {
            return false;
        }
        let key = (message.display.clone(), message.text.clone());
        if !self.counts.contains_key(&key) {
            return false;
        }
        self.forget_one(&key);
        if let Some(at) = self.order.iter().position(|k| *k == key) {
            self.order.remove(at);
        }
        true
    }
}

/// A username for `display` in a room: unique (`unique`, random), and
/// readable where the sender has left (the name after the ':').
pub fn username_for(unique: u64, display: &str) -> String {
    format!("{unique:016x}:{}", clean_name(display))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(room: u64, me: &str, others: &[(&str, &str)]) -> ChatRoom {
        let (mut chat, _) = ChatRoom::new(room, me, "Me", None, None);
        let mut listed: Vec<Value> = others
            .iter()
            .map(|(u, d)| json!({"username": u, "display": d}))
            .collect();
        listed.push(json!({"username": me, "display": "Me"}));
        let events = chat.receive(
            &json!({"textroom": "success", "transaction": "c1", "participants": listed})
                .to_string(),
        );
        assert!(
            matches!(events.as_slice(), [ChatEvent::Joined(_)]),
            "{events:?}"
        );
        chat
    }

    fn message(from: &str, text: &str, whisper: bool) -> String {
        json!({"textroom": "message", "room": 1234, "from": from, "date": "2026-12-07T03:00:00+0000",
            "text": text, "whisper": whisper})
        .to_string()
    }

    #[test]
    fn joining_asks_for_the_history_and_lists_the_others() {
        let (mut chat, join) = ChatRoom::new(1234, "u1:Ann", "Ann\n\u{7}", Some("secret"), None);
        let join: Value = serde_json::from_str(&join).expect("JSON");
        assert_eq!(join["textroom"], "join");
        assert_eq!(join["room"], 1234);
        assert_eq!(join["username"], "u1:Ann");
        assert_eq!(join["display"], "Ann");
        assert_eq!(join["history"], true);
        assert_eq!(join["pin"], "secret");
        assert!(!chat.is_joined());
        assert!(matches!(
            chat.send("hi", None, Instant::now()),
            Err(MeetingError::ChatNotReady)
        ));

        let events = chat.receive(
            &json!({"textroom": "success", "transaction": join["transaction"], "participants": [
                {"username": "u2:Bob", "display": "Bob"}, {"username": "u1:Ann", "display": "Ann"}]})
            .to_string(),
        );
        let [ChatEvent::Joined(people)] = events.as_slice() else {
            panic!("{events:?}");
        };
        assert_eq!(
            people,
            &vec![ChatPerson {
                username: "u2:Bob".into(),
                display: "Bob".into()
            }]
        );
        assert!(chat.is_joined());
    }

    #[test]
    fn messages_arrive_with_their_sender_and_ours_are_not_shown_twice() {
        let mut chat = joined(1234, "me:Me", &[("u2:Bob", "Bob")]);
        let (wire, mine) = chat
            .send("大家好 👋 שלום", None, Instant::now())
            .expect("sent");
        let wire: Value = serde_json::from_str(&wire).expect("JSON");
        assert_eq!(wire["text"], "大家好 👋 שלום");
        assert_eq!(wire["room"], 1234);
        assert!(wire.get("to").is_none());
        assert!(mine.own && !mine.private);
        // The server's echo of it.
        assert!(
            chat.receive(&message("me:Me", "大家好 👋 שלום", false))
                .is_empty()
        );
        let events = chat.receive(&message("u2:Bob", "hello\nthere", false));
        let [ChatEvent::Message(m)] = events.as_slice() else {
            panic!("{events:?}");
        };
        assert_eq!(
            (m.display.as_str(), m.text.as_str(), m.private),
            ("Bob", "hello\nthere", false)
        );
        assert_eq!(m.at.as_deref(), Some("2026-12-07T03:00:00+0000"));
        assert!(m.id > mine.id, "shown in order");
        // To us alone.
        let events = chat.receive(&message("u2:Bob", "psst", true));
        assert!(matches!(events.as_slice(), [ChatEvent::Message(m)] if m.private && !m.own));
    }

    #[test]
    fn a_private_message_goes_to_one_person_who_is_there() {
        let mut chat = joined(1234, "me:Me", &[("u2:Bob", "Bob")]);
        let (wire, mine) = chat
            .send("just you", Some("u2:Bob"), Instant::now())
            .expect("sent");
        let wire: Value = serde_json::from_str(&wire).expect("JSON");
        assert_eq!(wire["to"], "u2:Bob");
        assert!(mine.private);
        assert_eq!(mine.to.as_ref().map(|p| p.display.as_str()), Some("Bob"));
        let left = chat
            .receive(&json!({"textroom": "leave", "room": 1234, "username": "u2:Bob"}).to_string());
        assert!(matches!(left.as_slice(), [ChatEvent::PersonLeft(p)] if p.display == "Bob"));
        assert!(matches!(
            chat.send("still there?", Some("u2:Bob"), Instant::now()),
            Err(MeetingError::ChatRecipientGone(_))
        ));
    }

    #[test]
    fn what_cannot_be_sent_is_said() {
        let mut chat = joined(1234, "me:Me", &[]);
        assert!(matches!(
            chat.send("  \n ", None, Instant::now()),
            Err(MeetingError::ChatEmpty)
        ));
        let long = "字".repeat(MAX_CHAT_CHARS + 1);
        assert!(matches!(
            chat.send(&long, None, Instant::now()),
            Err(MeetingError::ChatTooLong(MAX_CHAT_CHARS))
        ));
        assert!(
            chat.send(&"字".repeat(MAX_CHAT_CHARS), None, Instant::now())
                .is_ok()
        );
    }

    #[test]
    fn a_refused_message_is_marked_and_a_confirmed_one_forgotten() {
        let mut chat = joined(1234, "me:Me", &[]);
        let (wire, first) = chat.send("one", None, Instant::now()).expect("sent");
        let t1: Value = serde_json::from_str(&wire).expect("JSON");
        let (wire, second) = chat.send("two", None, Instant::now()).expect("sent");
        let t2: Value = serde_json::from_str(&wire).expect("JSON");
        assert!(
            chat.receive(
                &json!({"textroom": "success", "transaction": t1["transaction"]}).to_string()
            )
            .is_empty()
        );
        let events = chat.receive(
            &json!({"textroom": "error", "transaction": t2["transaction"], "error_code": 422, "error": "Not in room"})
                .to_string(),
        );
        assert!(
            matches!(events.as_slice(), [ChatEvent::NotSent { id, .. }] if *id == second.id),
            "{events:?}"
        );
        // Neither is pending any more: a late answer changes nothing.
        for t in [&t1["transaction"], &t2["transaction"]] {
            let late =
                json!({"textroom": "error", "transaction": t, "error_code": 499, "error": "x"});
            assert!(chat.receive(&late.to_string()).is_empty());
        }
        assert!(first.id < second.id);
    }

    #[test]
    fn a_refused_join_says_why() {
        let (mut chat, _) = ChatRoom::new(4321, "me:Me", "Me", None, None);
        let events = chat.receive(
            &json!({"textroom": "error", "transaction": "c1", "error_code": 419, "error": "Unauthorized (wrong pin)"})
                .to_string(),
        );
        assert!(
            matches!(
                events.as_slice(),
                [ChatEvent::JoinRefused(MeetingError::WrongPin)]
            ),
            "{events:?}"
        );
        assert!(!chat.is_joined());
    }

    #[test]
    fn the_history_names_those_who_have_left() {
        let mut chat = joined(1234, "me:Me", &[]);
        let events = chat.receive(&message("0123456789abcdef:Cai 蔡", "earlier", false));
        assert!(matches!(events.as_slice(), [ChatEvent::Message(m)] if m.display == "Cai 蔡"));
        // Someone else's client: its username as it is.
        let events = chat.receive(&message("janusjs-7f3a", "from a browser", false));
        assert!(
            matches!(events.as_slice(), [ChatEvent::Message(m)] if m.display == "janusjs-7f3a")
        );
        assert_eq!(
            username_for(0xab, "Ann\u{1b}[31m"),
            "00000000000000ab:Ann[31m"
        );
    }

    #[test]
    fn people_come_and_go() {
        let mut chat = joined(1234, "me:Me", &[]);
        let join =
            json!({"textroom": "join", "room": 1234, "username": "u3:Cat", "display": "Cat"});
        assert!(
            matches!(chat.receive(&join.to_string()).as_slice(), [ChatEvent::PersonJoined(p)] if p.display == "Cat")
        );
        assert_eq!(chat.people().len(), 1);
        // Our own join, and another room's, are not news.
        let own = json!({"textroom": "join", "room": 1234, "username": "me:Me", "display": "Me"});
        assert!(chat.receive(&own.to_string()).is_empty());
        let other = json!({"textroom": "join", "room": 99, "username": "u4:Dan", "display": "Dan"});
        assert!(chat.receive(&other.to_string()).is_empty());
        assert!(
            chat.receive(
                &json!({"textroom": "leave", "room": 1234, "username": "nobody"}).to_string()
            )
            .is_empty()
        );
    }

    #[test]
    fn malformed_and_hostile_input_is_ignored_or_bounded() {
        let mut chat = joined(1234, "me:Me", &[("u2:Bob", "Bob")]);
        for wire in [
            "",
            "not json",
            "[]",
            "{}",
            r#"{"textroom": 7}"#,
            r#"{"textroom": "message", "room": 1234}"#,
            r#"{"textroom": "message", "room": "1234", "from": "u2:Bob", "text": "x"}"#,
            r#"{"textroom": "join", "room": 1234}"#,
            r#"{"textroom": "join", "room": 1234, "username": ""}"#,
            r#"{"textroom": "success", "transaction": "c1", "participants": "all"}"#,
        ] {
            let events = chat.receive(wire);
            assert!(
                events.iter().all(|e| matches!(e, ChatEvent::Joined(_))),
                "{wire:?}: {events:?}"
            );
        }
        let huge = message("u2:Bob", &"x".repeat(MAX_CHAT_WIRE_BYTES), false);
        assert!(chat.receive(&huge).is_empty());
        let long = message("u2:Bob", &"y".repeat(MAX_CHAT_CHARS + 10), false);
        let events = chat.receive(&long);
        assert!(
            matches!(events.as_slice(), [ChatEvent::Message(m)] if m.cut && m.text.chars().count() == MAX_CHAT_CHARS)
        );
        // A name that would reorder or hide text is shown without those
        // characters.
        let sneaky = json!({"textroom": "message", "room": 1234, "from": "u9:x",
            "display": "Bob\u{202e}exe.txt\u{200b}", "text": "hi"});
        let events = chat.receive(&sneaky.to_string());
        assert!(
            matches!(events.as_slice(), [ChatEvent::Message(m)] if m.display == "Bobexe.txt"),
            "{events:?}"
        );
    }

    #[test]
    fn a_message_the_server_never_confirms_is_said_not_sent() {
        let mut chat = joined(1234, "me:Me", &[]);
        let start = Instant::now();
        let (_, first) = chat.send("one", None, start).expect("sent");
        let (_, second) = chat
            .send("two", None, start + Duration::from_secs(5))
            .expect("sent");
        assert!(chat.expire(start + Duration::from_secs(9)).is_empty());
        let late = chat.expire(start + CHAT_CONFIRM_WITHIN);
        assert!(
            matches!(late.as_slice(), [ChatEvent::NotSent { id, why: MeetingError::ChatNotConfirmed }] if *id == first.id),
            "{late:?}"
        );
        // One that never reached the channel is not waited for.
        chat.unsent(second.id);
        assert!(chat.expire(start + Duration::from_secs(60)).is_empty());
    }

    #[test]
    fn a_private_message_to_someone_who_has_just_left_is_said_not_delivered() {
        let mut chat = joined(1234, "me:Me", &[("u2:Bob", "Bob")]);
        let (wire, sent) = chat
            .send("still there?", Some("u2:Bob"), Instant::now())
            .expect("sent");
        let wire: Value = serde_json::from_str(&wire).expect("JSON");
        let events = chat.receive(
            &json!({"textroom": "success", "transaction": wire["transaction"], "sent": {"u2:Bob": false}}).to_string(),
        );
        assert!(
            matches!(events.as_slice(), [ChatEvent::NotSent { id, why: MeetingError::ChatRecipientGone(who) }] if *id == sent.id && who == "Bob"),
            "{events:?}"
        );
    }

    #[test]
    fn history_comes_before_the_join_and_is_marked_so() {
        let (mut chat, _) = ChatRoom::new(1234, "me:Me", "Me", None, None);
        let old = json!({"textroom": "message", "room": 1234, "from": "browser-1f", "display": "Chrome", "text": "earlier"});
        let events = chat.receive(&old.to_string());
        assert!(
            matches!(events.as_slice(), [ChatEvent::Message(m)] if m.history && m.display == "Chrome"),
            "{events:?}"
        );
        chat.receive(
            &json!({"textroom": "success", "transaction": "c1", "participants": []}).to_string(),
        );
        let events = chat.receive(&message("browser-1f", "now", false));
        assert!(
            matches!(events.as_slice(), [ChatEvent::Message(m)] if !m.history),
            "{events:?}"
        );
    }

    #[test]
    fn history_given_again_after_a_reconnection_is_not_shown_twice() {
        let shown = |display: &str, text: &str, history: bool| ChatMessage {
            id: 0,
            from: String::new(),
            display: display.into(),
            text: text.into(),
            private: false,
            to: None,
            own: false,
            at: None,
            cut: false,
            history,
        };
        let mut seen = SeenMessages::default();
        for (who, text) in [("Ann", "ok"), ("Bob", "hi"), ("Ann", "ok")] {
            seen.saw(&shown(who, text, false));
        }
        // The server's history, given again: each shown once already.
        assert!(seen.shown_before(&shown("Ann", "ok", true)));
        assert!(seen.shown_before(&shown("Bob", "hi", true)));
        assert!(seen.shown_before(&shown("Ann", "ok", true)));
        // A third "ok" in the history was said while we were away.
        assert!(!seen.shown_before(&shown("Ann", "ok", true)));
        // Live messages are always shown.
        seen.saw(&shown("Cat", "new", false));
        assert!(!seen.shown_before(&shown("Cat", "new", false)));
    }

    #[test]
    fn a_new_connection_goes_on_numbering_and_knows_its_old_self() {
        let (chat, _) = ChatRoom::new(1234, "new:Me", "Me", None, None);
        let mut chat = chat.continuing(42, &["old:Me".to_string()]);
        let events = chat.receive(
            &json!({"textroom": "success", "transaction": "c1", "participants": [
                {"username": "old:Me", "display": "Me"}, {"username": "u2:Bob", "display": "Bob"}]})
            .to_string(),
        );
        assert!(
            matches!(events.as_slice(), [ChatEvent::Joined(p)] if p.len() == 1 && p[0].display == "Bob"),
            "{events:?}"
        );
        let again =
            json!({"textroom": "join", "room": 1234, "username": "old:Me", "display": "Me"});
        assert!(chat.receive(&again.to_string()).is_empty());
        let (_, m) = chat.send("hi", None, Instant::now()).expect("sent");
        assert_eq!(m.id, 42);
        assert_eq!(chat.next_id(), 43);
        // Lost before the server confirmed it: said.
        let abandoned = chat.abandon();
        assert!(
            matches!(
                abandoned.as_slice(),
                [ChatEvent::NotSent {
                    id: 42,
                    why: MeetingError::ChatNotConfirmed
                }]
            ),
            "{abandoned:?}"
        );
        assert!(!chat.is_joined());
    }

    #[test]
    fn being_taken_out_of_the_room_ends_the_chat() {
        let mut chat = joined(1234, "me:Me", &[]);
        let events = chat
            .receive(&json!({"textroom": "kicked", "room": 1234, "username": "me:Me"}).to_string());
        assert!(
            matches!(
                events.as_slice(),
                [ChatEvent::JoinRefused(MeetingError::ChatClosed)]
            ),
            "{events:?}"
        );
        assert!(matches!(
            chat.send("hello?", None, Instant::now()),
            Err(MeetingError::ChatNotReady)
        ));
    }
}
