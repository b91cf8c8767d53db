//! The Janus API and VideoRoom plugin messages, as data. Parsing is total:
//! any JSON the server (or anything pretending to be it) sends becomes either
//! a typed message or a `ProtocolError`, never a panic.

use serde_json::{Value, json};

/// What could not be understood in a server message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed message from the meeting server: {0}")]
pub struct ProtocolError(pub String);

fn err(what: impl Into<String>) -> ProtocolError {
    ProtocolError(what.into())
}

/// A session description exchanged with Janus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jsep {
    pub kind: JsepKind,
    pub sdp: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsepKind {
    Offer,
    Answer,
}

impl Jsep {
    pub fn to_json(&self) -> Value {
        let kind = match self.kind {
            JsepKind::Offer => "offer",
            JsepKind::Answer => "answer",
        };
        json!({"type": kind, "sdp": self.sdp})
    }

    fn from_json(v: &Value) -> Result<Self, ProtocolError> {
        let kind = match v.get("type").and_then(Value::as_str) {
            Some("offer") => JsepKind::Offer,
            Some("answer") => JsepKind::Answer,
            other => return Err(err(format!("jsep type {other:?}"))),
        };
        let sdp = v
            .get("sdp")
            .and_then(Value::as_str)
            .ok_or_else(|| err("jsep without sdp"))?;
        if sdp.len() > 256 * 1024 {
            return Err(err("sdp larger than 256 KiB"));
        }
        Ok(Self {
            kind,
            sdp: sdp.to_string(),
        })
    }
}

/// A trickled ICE candidate, or the end of candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trickle {
    Candidate {
        candidate: String,
        sdp_mid: Option<String>,
        sdp_mline_index: Option<u16>,
    },
    Completed,
}

impl Trickle {
    pub fn to_json(&self) -> Value {
        match self {
            Trickle::Completed => json!({"completed": true}),
            Trickle::Candidate {
                candidate,
                sdp_mid,
                sdp_mline_index,
            } => {
                json!({"candidate": candidate, "sdpMid": sdp_mid, "sdpMLineIndex": sdp_mline_index})
            }
        }
    }

    fn from_json(v: &Value) -> Result<Self, ProtocolError> {
        if v.get("completed").and_then(Value::as_bool) == Some(true) {
            return Ok(Trickle::Completed);
        }
        let candidate = v
            .get("candidate")
            .and_then(Value::as_str)
            .ok_or_else(|| err("trickle without candidate"))?;
        Ok(Trickle::Candidate {
            candidate: candidate.to_string(),
            sdp_mid: v.get("sdpMid").and_then(Value::as_str).map(str::to_string),
            sdp_mline_index: v
                .get("sdpMLineIndex")
                .and_then(Value::as_u64)
                .and_then(|i| u16::try_from(i).ok()),
        })
    }
}

/// One stream a publisher offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedStream {
    pub mid: String,
    pub kind: MediaKind,
    pub codec: Option<String>,
    pub disabled: bool,
    /// Free text Janus relays to everyone; TalkLine puts the mute state here.
    pub description: Option<String>,
    /// The meeting's host stopped this stream: Janus relays none of it,
    /// whatever its publisher sends.
    pub moderated: bool,
}

/// Stream descriptions TalkLine publishers use to tell the room they muted.
/// Janus notifies every participant when a description changes, which
/// `send: false` alone does not.
pub const MUTED: &str = "muted";
pub const LIVE: &str = "live";
/// The video of a screen share (live; a share is stopped, not muted):
/// viewers show it large.
pub const SCREEN: &str = "screen";

impl PublishedStream {
    /// Muted: disabled by renegotiation, or described as muted.
    pub fn is_muted(&self) -> bool {
        self.disabled || self.description.as_deref() == Some(MUTED)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Audio,
    Video,
    Data,
}

impl MediaKind {
    fn parse(s: Option<&str>) -> Option<Self> {
        match s? {
            "audio" => Some(MediaKind::Audio),
            "video" => Some(MediaKind::Video),
            "data" => Some(MediaKind::Data),
            _ => None,
        }
    }
}

/// A participant who publishes media in the room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publisher {
    pub id: u64,
    pub display: String,
    pub streams: Vec<PublishedStream>,
}

impl Publisher {
    fn from_json(v: &Value) -> Result<Self, ProtocolError> {
        let id = v
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| err("publisher without id"))?;
        let display = v
            .get("display")
            .and_then(Value::as_str)
            .unwrap_or("")
            .chars()
            .take(128)
            .collect();
        let streams = v
            .get("streams")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|s| {
                        Some(PublishedStream {
                            mid: s.get("mid")?.as_str()?.to_string(),
                            kind: MediaKind::parse(s.get("type")?.as_str())?,
                            codec: s.get("codec").and_then(Value::as_str).map(str::to_string),
                            disabled: s.get("disabled").and_then(Value::as_bool).unwrap_or(false),
                            description: s
                                .get("description")
                                .and_then(Value::as_str)
                                .map(|d| d.chars().take(64).collect()),
                            moderated: s.get("moderated").and_then(Value::as_bool) == Some(true),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            id,
            display,
            streams,
        })
    }
}

fn publishers(v: Option<&Value>) -> Result<Vec<Publisher>, ProtocolError> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Array(list)) => list.iter().map(Publisher::from_json).collect(),
        Some(_) => Err(err("publishers is not a list")),
    }
}

/// One stream of a subscription, as Janus describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribedStream {
    pub mid: String,
    pub kind: MediaKind,
    pub feed_id: Option<u64>,
    pub feed_display: Option<String>,
    pub active: bool,
}

fn subscribed_streams(v: Option<&Value>) -> Vec<SubscribedStream> {
    v.and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|s| {
                    Some(SubscribedStream {
                        mid: s.get("mid")?.as_str()?.to_string(),
                        kind: MediaKind::parse(s.get("type")?.as_str())?,
                        feed_id: s.get("feed_id").and_then(Value::as_u64),
                        feed_display: s
                            .get("feed_display")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        active: s.get("active").and_then(Value::as_bool).unwrap_or(true),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What the VideoRoom plugin said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomEvent {
    Joined {
        room: u64,
        id: u64,
        private_id: u64,
        publishers: Vec<Publisher>,
    },
    /// Publishers appeared or changed their streams.
    Publishers(Vec<Publisher>),
    Leaving(u64),
    Unpublished(u64),
    /// Our own publisher was configured (answer in the jsep, if any).
    Configured,
    /// A subscription's stream list (first `attached`, later `updated`).
    Streams(Vec<SubscribedStream>),
    Started,
    /// A subscription's simulcast video stream now relays this layer
    /// (Janus's `substream`, 0 the lowest).
    Substream {
        mid: String,
        substream: u64,
    },
    /// The host removed this participant (others are told).
    Removed(u64),
    /// The host removed us.
    RemovedUs,
    /// The host ended the meeting: the room is gone.
    Destroyed,
    /// The host stopped (`held`) or released one stream of a participant
    /// (us included).
    Moderated {
        id: u64,
        mid: String,
        held: bool,
    },
    /// Anything else the plugin reports that needs no action.
    Other(String),
    Error {
        code: u32,
        reason: String,
    },
}

impl RoomEvent {
    fn from_plugindata(data: &Value) -> Result<Self, ProtocolError> {
        if let Some(code) = data.get("error_code").and_then(Value::as_u64) {
            return Ok(RoomEvent::Error {
                code: code as u32,
                reason: data
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown error")
                    .to_string(),
            });
        }
        // The chat's plugin (TextRoom) answers its setup with an offer: the
        // jsep is what matters.
        if let Some(kind) = data.get("textroom").and_then(Value::as_str) {
            return Ok(RoomEvent::Other(format!(
                "textroom {}",
                kind.chars().take(32).collect::<String>()
            )));
        }
        let kind = data
            .get("videoroom")
            .and_then(Value::as_str)
            .ok_or_else(|| err("plugin data without videoroom"))?;
        let u64_of = |key: &str| data.get(key).and_then(Value::as_u64);
        Ok(match kind {
            "joined" => RoomEvent::Joined {
                room: u64_of("room").ok_or_else(|| err("joined without room"))?,
                id: u64_of("id").ok_or_else(|| err("joined without id"))?,
                private_id: u64_of("private_id").unwrap_or(0),
                publishers: publishers(data.get("publishers"))?,
            },
            "attached" | "updated" => RoomEvent::Streams(subscribed_streams(data.get("streams"))),
            "event" => {
                if let Some(p) = data.get("publishers") {
                    RoomEvent::Publishers(publishers(Some(p))?)
                } else if let Some(moderation) = data.get("moderation") {
                    match (
                        u64_of("id"),
                        data.get("mid").and_then(Value::as_str),
                        moderation.as_str(),
                    ) {
                        (Some(id), Some(mid), Some(held @ ("muted" | "unmuted"))) => {
                            RoomEvent::Moderated {
                                id,
                                mid: mid.chars().take(16).collect(),
                                held: held == "muted",
                            }
                        }
                        _ => RoomEvent::Other("moderation".into()),
                    }
                } else if let Some(id) = data.get("kicked") {
                    match id.as_u64() {
                        Some(id) => RoomEvent::Removed(id),
                        None => RoomEvent::Other("kicked".into()),
                    }
                } else if data.get("leaving").and_then(Value::as_str) == Some("ok")
                    && data.get("reason").and_then(Value::as_str) == Some("kicked")
                {
                    RoomEvent::RemovedUs
                } else if let Some(id) = data.get("leaving") {
                    // "ok" is what Janus says when *we* leave.
                    match id.as_u64() {
                        Some(id) => RoomEvent::Leaving(id),
                        None => RoomEvent::Other("left".into()),
                    }
                } else if let Some(id) = data.get("unpublished") {
                    match id.as_u64() {
                        Some(id) => RoomEvent::Unpublished(id),
                        None => RoomEvent::Other("unpublished".into()),
                    }
                } else if data.get("configured").is_some() {
                    RoomEvent::Configured
                } else if data.get("started").is_some() {
                    RoomEvent::Started
                } else if let (Some(mid), Some(substream)) = (
                    data.get("mid").and_then(Value::as_str),
                    data.get("substream").and_then(Value::as_u64),
                ) {
                    RoomEvent::Substream {
                        mid: mid.chars().take(16).collect(),
                        substream,
                    }
                } else {
                    RoomEvent::Other("event".into())
                }
            }
            "destroyed" => RoomEvent::Destroyed,
            "talking" | "stopped-talking" | "slow_link" | "left" | "updating" => {
                RoomEvent::Other(kind.to_string())
            }
            other => RoomEvent::Other(other.chars().take(32).collect()),
        })
    }
}

/// Everything Janus can send us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// Reply to create/attach: the new session or handle id.
    Success {
        transaction: String,
        id: Option<u64>,
        plugin: Option<RoomEvent>,
    },
    Ack {
        transaction: String,
    },
    Error {
        transaction: Option<String>,
        code: u32,
        reason: String,
    },
    Event {
        transaction: Option<String>,
        sender: u64,
        room: RoomEvent,
        jsep: Option<Jsep>,
    },
    Trickle {
        sender: u64,
        trickle: Trickle,
    },
    WebrtcUp {
        sender: u64,
    },
    Media {
        sender: u64,
        kind: Option<MediaKind>,
        receiving: bool,
    },
    SlowLink {
        sender: u64,
    },
    Hangup {
        sender: u64,
        reason: String,
    },
    Detached {
        sender: u64,
    },
    /// The server dropped our session (keepalives missed).
    Timeout,
}

impl Incoming {
    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        if text.len() > 1024 * 1024 {
            return Err(err("message larger than 1 MiB"));
        }
        let v: Value = serde_json::from_str(text).map_err(|e| err(format!("not JSON: {e}")))?;
        Self::from_json(&v)
    }

    pub fn from_json(v: &Value) -> Result<Self, ProtocolError> {
        let janus = v
            .get("janus")
            .and_then(Value::as_str)
            .ok_or_else(|| err("no \"janus\" field"))?;
        let transaction = v
            .get("transaction")
            .and_then(Value::as_str)
            .map(str::to_string);
        let sender = || {
            v.get("sender")
                .and_then(Value::as_u64)
                .ok_or_else(|| err(format!("{janus} without sender")))
        };
        let plugin_event = || -> Result<Option<RoomEvent>, ProtocolError> {
            match v.get("plugindata").and_then(|p| p.get("data")) {
                Some(data) => Ok(Some(RoomEvent::from_plugindata(data)?)),
                None => Ok(None),
            }
        };
        Ok(match janus {
            "success" => Incoming::Success {
                transaction: transaction.ok_or_else(|| err("success without transaction"))?,
                id: v
                    .get("data")
                    .and_then(|d| d.get("id"))
                    .and_then(Value::as_u64),
                plugin: plugin_event()?,
            },
            "ack" => Incoming::Ack {
                transaction: transaction.ok_or_else(|| err("ack without transaction"))?,
            },
            "error" => {
                let e = v.get("error");
                Incoming::Error {
                    transaction,
                    code: e
                        .and_then(|e| e.get("code"))
                        .and_then(Value::as_u64)
                        .unwrap_or(0) as u32,
                    reason: e
                        .and_then(|e| e.get("reason"))
                        .and_then(Value::as_str)
                        .unwrap_or("unknown error")
                        .to_string(),
                }
            }
            "event" => Incoming::Event {
                transaction,
                sender: sender()?,
                room: plugin_event()?.ok_or_else(|| err("event without plugin data"))?,
                jsep: v.get("jsep").map(Jsep::from_json).transpose()?,
            },
            "trickle" => Incoming::Trickle {
                sender: sender()?,
                trickle: Trickle::from_json(
                    v.get("candidate")
                        .ok_or_else(|| err("trickle without candidate"))?,
                )?,
            },
            "webrtcup" => Incoming::WebrtcUp { sender: sender()? },
            "media" => Incoming::Media {
                sender: sender()?,
                kind: MediaKind::parse(v.get("type").and_then(Value::as_str)),
                receiving: v.get("receiving").and_then(Value::as_bool).unwrap_or(false),
            },
            "slowlink" => Incoming::SlowLink { sender: sender()? },
            "hangup" => Incoming::Hangup {
                sender: sender()?,
                reason: v
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            },
            "detached" => Incoming::Detached { sender: sender()? },
            "timeout" => Incoming::Timeout,
            other => {
                return Err(err(format!(
                    "unknown janus message {:?}",
                    other.chars().take(32).collect::<String>()
                )));
            }
        })
    }

    pub fn transaction(&self) -> Option<&str> {
        match self {
            Incoming::Success { transaction, .. } | Incoming::Ack { transaction } => {
                Some(transaction)
            }
            Incoming::Error { transaction, .. } | Incoming::Event { transaction, .. } => {
                transaction.as_deref()
            }
            _ => None,
        }
    }
}

/// VideoRoom request bodies.
pub mod request {
    use super::*;

    /// `token`: what lets us into a locked meeting (see `host`).
    pub fn join_publisher(
        room: u64,
        display: &str,
        pin: Option<&str>,
        token: Option<&str>,
    ) -> Value {
        let mut body =
            json!({"request": "join", "ptype": "publisher", "room": room, "display": display});
        if let Some(pin) = pin {
            body["pin"] = json!(pin);
        }
        if let Some(token) = token {
            body["token"] = json!(token);
        }
        body
    }

    /// Publishes our streams, each described as muted or `live` (`LIVE`,
    /// or `SCREEN` for a screen share) (`(mid, sending)`), so that the
    /// room learns our mute state with us.
    pub fn publish(streams: &[(&str, bool)], live: &str) -> Value {
        json!({"request": "publish", "audio": true, "video": true,
            "descriptions": descriptions(streams, live)})
    }

    fn descriptions(streams: &[(&str, bool)], live: &str) -> Vec<Value> {
        streams
            .iter()
            .map(|(mid, send)| json!({"mid": mid, "description": if *send { live } else { MUTED }}))
            .collect()
    }

    fn relay(streams: &[(&str, bool)]) -> Vec<Value> {
        streams
            .iter()
            .map(|(mid, send)| json!({"mid": mid, "send": send}))
            .collect()
    }

    /// Mute or unmute our streams: Janus stops relaying them, and the new
    /// descriptions tell everyone else.
    pub fn configure_sending(streams: &[(&str, bool)], live: &str) -> Value {
        json!({"request": "configure", "streams": relay(streams),
            "descriptions": descriptions(streams, live)})
    }

    /// Only which streams Janus relays, for a publisher whose connection
    /// is not up yet. New descriptions would make Janus announce the
    /// publisher at once, and whoever subscribed then would be refused
    /// ("no such feed") and never see us.
    pub fn configure_relay(streams: &[(&str, bool)]) -> Value {
        json!({"request": "configure", "streams": relay(streams)})
    }

    /// Which simulcast layer (substream) each of these video mids of a
    /// subscription relays; `None`: none, the stream is paused.
    pub fn configure_substreams(streams: &[(&str, Option<u8>)]) -> Value {
        let streams: Vec<Value> = streams
            .iter()
            .map(|(mid, substream)| match substream {
                Some(n) => json!({"mid": mid, "send": true, "substream": n}),
                None => json!({"mid": mid, "send": false}),
            })
            .collect();
        json!({"request": "configure", "streams": streams})
    }

    pub fn join_subscriber(room: u64, private_id: u64, pin: Option<&str>, feeds: &[u64]) -> Value {
        let streams: Vec<Value> = feeds.iter().map(|f| json!({"feed": f})).collect();
        let mut body = json!({"request": "join", "ptype": "subscriber", "room": room,
            "private_id": private_id, "use_msid": true, "streams": streams});
        if let Some(pin) = pin {
            body["pin"] = json!(pin);
        }
        body
    }

    pub fn subscribe(feeds: &[u64]) -> Value {
        let streams: Vec<Value> = feeds.iter().map(|f| json!({"feed": f})).collect();
        json!({"request": "subscribe", "streams": streams})
    }

    pub fn unsubscribe(feed: u64) -> Value {
        json!({"request": "unsubscribe", "streams": [{"feed": feed}]})
    }

    pub fn start() -> Value {
        json!({"request": "start"})
    }

    pub fn leave() -> Value {
        json!({"request": "leave"})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_joined_with_publishers() {
        let msg = r#"{"janus":"event","session_id":1,"sender":2,"transaction":"t1",
            "plugindata":{"plugin":"janus.plugin.videoroom","data":{"videoroom":"joined","room":1234,
            "description":"Demo","id":55,"private_id":66,"publishers":[{"id":77,"display":"Bob",
            "streams":[{"type":"audio","mindex":0,"mid":"0","codec":"opus","description":"muted"},
                       {"type":"video","mindex":1,"mid":"1","codec":"vp8","disabled":true}]}]}}}"#;
        let Incoming::Event {
            sender, room, jsep, ..
        } = Incoming::parse(msg).expect("valid")
        else {
            panic!("not an event");
        };
        assert_eq!((sender, jsep), (2, None));
        let RoomEvent::Joined {
            id,
            private_id,
            publishers,
            ..
        } = room
        else {
            panic!("not joined");
        };
        assert_eq!((id, private_id), (55, 66));
        assert_eq!(publishers[0].display, "Bob");
        assert_eq!(publishers[0].streams.len(), 2);
        assert!(publishers[0].streams[1].disabled);
        assert!(publishers[0].streams[0].is_muted() && publishers[0].streams[1].is_muted());
    }

    #[test]
    fn a_layer_switch_is_asked_and_its_confirmation_read() {
        assert_eq!(
            request::configure_substreams(&[("1", Some(0)), ("3", Some(2)), ("5", None)]),
            serde_json::json!({"request": "configure", "streams": [
                {"mid": "1", "send": true, "substream": 0},
                {"mid": "3", "send": true, "substream": 2},
                {"mid": "5", "send": false}]})
        );
        // What Janus 1.1.2 sends once the subscriber's stream switched.
        let msg = r#"{"janus":"event","sender":9,"plugindata":{"plugin":"janus.plugin.videoroom",
            "data":{"videoroom":"event","room":1234,"mid":"1","substream":0}}}"#;
        match Incoming::parse(msg).expect("valid") {
            Incoming::Event {
                room: RoomEvent::Substream { mid, substream },
                ..
            } => assert_eq!((mid.as_str(), substream), ("1", 0)),
            other => panic!("{other:?}"),
        }
        // Half of it, or a wrong type, is nothing to act on.
        for data in [
            r#"{"videoroom":"event","substream":1}"#,
            r#"{"videoroom":"event","mid":"1","substream":"x"}"#,
            r#"{"videoroom":"event","mid":1,"substream":1}"#,
        ] {
            let msg = format!(r#"{{"janus":"event","sender":9,"plugindata":{{"data":{data}}}}}"#);
            assert!(
                matches!(
                    Incoming::parse(&msg),
                    Ok(Incoming::Event {
                        room: RoomEvent::Other(_),
                        ..
                    })
                ),
                "{data}"
            );
        }
    }

    /// What Janus 1.1.2 sends when a host acts (`janus_videoroom.c`:
    /// kick, moderate, destroy), and broken versions of it.
    #[test]
    fn a_hosts_actions_are_read_as_the_server_tells_them() {
        let event = |data: &str| {
            let msg = format!(r#"{{"janus":"event","sender":9,"plugindata":{{"data":{data}}}}}"#);
            match Incoming::parse(&msg) {
                Ok(Incoming::Event { room, .. }) => room,
                other => panic!("{data}: {other:?}"),
            }
        };
        assert_eq!(
            event(r#"{"videoroom":"event","room":5,"id":77,"mid":"0","moderation":"muted"}"#),
            RoomEvent::Moderated {
                id: 77,
                mid: "0".into(),
                held: true
            }
        );
        assert_eq!(
            event(r#"{"videoroom":"event","room":5,"id":77,"mid":"1","moderation":"unmuted"}"#),
            RoomEvent::Moderated {
                id: 77,
                mid: "1".into(),
                held: false
            }
        );
        assert_eq!(
            event(r#"{"videoroom":"event","room":5,"kicked":77}"#),
            RoomEvent::Removed(77)
        );
        assert_eq!(
            event(r#"{"videoroom":"event","room":5,"leaving":"ok","reason":"kicked"}"#),
            RoomEvent::RemovedUs
        );
        // Our own leaving is not a removal.
        assert_eq!(
            event(r#"{"videoroom":"event","room":5,"leaving":"ok"}"#),
            RoomEvent::Other("left".into())
        );
        assert_eq!(
            event(r#"{"videoroom":"destroyed","room":5}"#),
            RoomEvent::Destroyed
        );
        for broken in [
            r#"{"videoroom":"event","id":77,"mid":"0","moderation":"maybe"}"#,
            r#"{"videoroom":"event","id":"77","mid":"0","moderation":"muted"}"#,
            r#"{"videoroom":"event","mid":"0","moderation":"muted"}"#,
            r#"{"videoroom":"event","id":77,"moderation":"muted"}"#,
            r#"{"videoroom":"event","kicked":"77"}"#,
        ] {
            assert!(matches!(event(broken), RoomEvent::Other(_)), "{broken}");
        }
        // A stream the host holds is said so in the publisher list.
        let listed = event(
            r#"{"videoroom":"event","publishers":[{"id":7,"streams":[
                {"type":"video","mid":"1","moderated":true},{"type":"audio","mid":"0"}]}]}"#,
        );
        let RoomEvent::Publishers(list) = listed else {
            panic!("{listed:?}")
        };
        assert!(list[0].streams[0].moderated && !list[0].streams[1].moderated);
    }

    #[test]
    fn parses_plugin_errors_and_core_errors() {
        let msg = r#"{"janus":"event","sender":2,"transaction":"t",
            "plugindata":{"plugin":"janus.plugin.videoroom","data":{"videoroom":"event","error_code":433,"error":"Unauthorized (wrong pin)"}}}"#;
        match Incoming::parse(msg).expect("valid") {
            Incoming::Event {
                room: RoomEvent::Error { code, .. },
                ..
            } => assert_eq!(code, 433),
            other => panic!("{other:?}"),
        }
        let msg = r#"{"janus":"error","transaction":"t","error":{"code":458,"reason":"No such session"}}"#;
        assert!(matches!(
            Incoming::parse(msg),
            Ok(Incoming::Error { code: 458, .. })
        ));
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        let bad = [
            "",
            "null",
            "[]",
            "{}",
            r#"{"janus":5}"#,
            r#"{"janus":"frobnicate"}"#,
            r#"{"janus":"ack"}"#,
            r#"{"janus":"event","sender":1}"#,
            r#"{"janus":"event","sender":"x","plugindata":{"data":{"videoroom":"joined"}}}"#,
            r#"{"janus":"event","sender":1,"plugindata":{"data":{"videoroom":"joined","room":1}}}"#,
            r#"{"janus":"event","sender":1,"plugindata":{"data":{"videoroom":"event","publishers":{}}}}"#,
            r#"{"janus":"event","sender":1,"plugindata":{"data":{"videoroom":"event","publishers":[{"display":"x"}]}}}"#,
            r#"{"janus":"event","sender":1,"plugindata":{"data":{"videoroom":"attached"}},"jsep":{"type":"pranswer","sdp":""}}"#,
            r#"{"janus":"event","sender":1,"plugindata":{"data":{"videoroom":"attached"}},"jsep":{"type":"offer"}}"#,
            r#"{"janus":"trickle","sender":1,"candidate":{"sdpMid":"0"}}"#,
            r#"{"janus":"webrtcup"}"#,
            "{\"janus\":\"success\"",
        ];
        for text in bad {
            assert!(Incoming::parse(text).is_err(), "{text} should be rejected");
        }
        // Streams with unknown types are skipped, not fatal.
        let msg = r#"{"janus":"event","sender":1,"plugindata":{"data":{"videoroom":"updated",
            "streams":[{"mid":"0","type":"hologram"},{"mid":"1","type":"video","feed_id":9}]}}}"#;
        match Incoming::parse(msg).expect("valid") {
            Incoming::Event {
                room: RoomEvent::Streams(s),
                ..
            } => assert_eq!(s.len(), 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn trickle_round_trip() {
        let t = Trickle::Candidate {
            candidate: "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
        };
        assert_eq!(Trickle::from_json(&t.to_json()), Ok(t));
        assert_eq!(
            Trickle::from_json(&Trickle::Completed.to_json()),
            Ok(Trickle::Completed)
        );
    }

    /// Our mute state reaches the room with the publish; what is sent
    /// before the connection is up only stops the relay, and announces
    /// nothing (Janus announces a publisher whose descriptions change).
    #[test]
    fn the_mute_state_goes_with_the_publish_and_an_early_configure_announces_nothing() {
        let streams = [("0", false), ("1", true)];
        let publish = request::publish(&streams, LIVE);
        assert_eq!(
            publish["descriptions"],
            json!([{"mid": "0", "description": MUTED}, {"mid": "1", "description": LIVE}])
        );
        let early = request::configure_relay(&streams);
        assert_eq!(
            early,
            json!({"request": "configure", "streams": [{"mid": "0", "send": false}, {"mid": "1", "send": true}]})
        );
        let later = request::configure_sending(&streams, LIVE);
        assert_eq!(later["streams"], early["streams"]);
        assert_eq!(later["descriptions"], publish["descriptions"]);
        // A screen share says so in the same place.
        let screen = request::publish(&[("0", true)], SCREEN);
        assert_eq!(
            screen["descriptions"],
            json!([{"mid": "0", "description": SCREEN}])
        );
    }
}
