//! A meeting server that misbehaves: the client must answer every kind of
//! garbage with a clear error, never a panic or a hang.

// tungstenite's handshake callback type fixes the (large) error type.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use talkline_meeting::{CallConfig, MeetingError, ServerUrl};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// What the fake server does with the VideoRoom "join" and "publish".
#[derive(Clone, Copy)]
enum Misbehaviour {
    GarbageThenClose,
    JoinedWithoutId,
    AnswerWithBrokenSdp,
    SilentAfterCreate,
    ErrorForEverything,
    /// Not a Janus at all: a WebSocket server without the Janus subprotocol.
    NoSubprotocol,
    /// Answers the join with a message of 2 MiB.
    HugeReply,
    /// Sends 5000 events nobody asked for before answering the join.
    EventFlood,
    /// Acknowledges the join again and again, and never answers it.
    AcksForever,
}

async fn fake_janus(mode: Misbehaviour) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let with_subprotocol = |_: &Request, mut response: Response| {
                    if !matches!(mode, Misbehaviour::NoSubprotocol) {
                        response.headers_mut().insert(
                            "Sec-WebSocket-Protocol",
                            HeaderValue::from_static("janus-protocol"),
                        );
                    }
                    Ok(response)
                };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, with_subprotocol).await
                else {
                    return;
                };
                while let Some(Ok(Message::Text(text))) = ws.next().await {
                    let req: Value = serde_json::from_str(&text).unwrap_or_default();
                    let tx = req["transaction"].clone();
                    let replies: Vec<String> = match (mode, req["janus"].as_str(), req["body"]["request"].as_str()) {
                        (Misbehaviour::ErrorForEverything, _, _) => {
                            vec![json!({"janus": "error", "transaction": tx, "error": {"code": 490, "reason": "nope"}}).to_string()]
                        }
                        (_, Some("create"), _) => vec![json!({"janus": "success", "transaction": tx, "data": {"id": 1}}).to_string()],
                        (Misbehaviour::SilentAfterCreate, _, _) => vec![],
                        (_, Some("attach"), _) => vec![json!({"janus": "success", "transaction": tx, "data": {"id": 2}}).to_string()],
                        (Misbehaviour::GarbageThenClose, _, _) => {
                            let garbage = ["{", "null", "[]", "{\"janus\":\"event\"}", "\u{0}\u{1}", "{\"janus\":\"trickle\",\"sender\":2}"];
                            for g in garbage {
                                let _ = ws.send(Message::text(g)).await;
                            }
                            let _ = ws.close(None).await;
                            return;
                        }
                        (Misbehaviour::HugeReply, _, Some("join")) => vec![json!({"janus": "event", "sender": 2, "transaction": tx,
                            "plugindata": {"plugin": "janus.plugin.videoroom", "data": {"videoroom": "joined", "room": 1, "id": 5,
                                "description": "x".repeat(2 << 20), "publishers": []}}}).to_string()],
                        (Misbehaviour::EventFlood, _, Some("join")) => {
                            let talking = json!({"janus": "event", "sender": 2, "plugindata": {"plugin": "janus.plugin.videoroom",
                                "data": {"videoroom": "talking", "room": 1, "id": 9, "audio-level-dBov-avg": 30}}}).to_string();
                            let mut flood = vec![talking; 5000];
                            flood.push(json!({"janus": "event", "sender": 2, "transaction": tx,
                                "plugindata": {"plugin": "janus.plugin.videoroom", "data": {"videoroom": "joined", "room": 1, "id": 5, "private_id": 6, "publishers": []}}}).to_string());
                            flood
                        }
                        (Misbehaviour::AcksForever, _, Some("join")) => vec![json!({"janus": "ack", "transaction": tx}).to_string(); 400],
                        (Misbehaviour::JoinedWithoutId, _, Some("join")) => vec![
                            json!({"janus": "ack", "transaction": tx}).to_string(),
                            json!({"janus": "event", "sender": 2, "transaction": tx,
                                "plugindata": {"plugin": "janus.plugin.videoroom", "data": {"videoroom": "joined", "room": 1}}}).to_string(),
                        ],
                        (_, _, Some("join")) => vec![json!({"janus": "event", "sender": 2, "transaction": tx,
                            "plugindata": {"plugin": "janus.plugin.videoroom", "data": {"videoroom": "joined", "room": 1, "id": 5, "private_id": 6, "publishers": []}}}).to_string()],
                        (_, _, Some("publish")) => vec![json!({"janus": "event", "sender": 2, "transaction": tx,
                            "plugindata": {"plugin": "janus.plugin.videoroom", "data": {"videoroom": "event", "configured": "ok"}},
                            "jsep": {"type": "answer", "sdp": "v=0\r\nthis is not SDP\r\nm=video banana\r\n"}}).to_string()],
                        _ => vec![json!({"janus": "ack", "transaction": tx}).to_string()],
                    };
                    for r in replies {
                        if ws.send(Message::text(r)).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    port
}

async fn join(port: u16) -> Result<(), MeetingError> {
    let config = CallConfig {
        server: ServerUrl::parse(&format!("ws://127.0.0.1:{port}")).expect("url"),
        room: 1,
        pin: None,
        entry_token: None,
        wait_if_locked: None,
        display: "Probe".into(),
        video: talkline_meeting::Outgoing::From(Box::new(
            talkline_media::source::PatternSource::new(176, 144, 10.0).expect("pattern"),
        )),
        audio: talkline_meeting::Outgoing::Never,
        audio_out: None,
        video_bitrate_kbps: 100,
        simulcast: false,
        tiles: None,
        audio_muted: false,
        video_muted: false,
        subscribe: true,
        ice: Default::default(),
        voice: Default::default(),
        publish_as: Default::default(),
    };
    match tokio::time::timeout(Duration::from_secs(15), talkline_meeting::join(config)).await {
        Ok(Ok(call)) => {
            call.leave().await;
            Ok(())
        }
        Ok(Err(e)) => Err(e),
        Err(_) => panic!("join hung"),
    }
}

/// Joins the fake server misbehaving as `mode`: the join must fail.
async fn join_fails(mode: Misbehaviour) -> MeetingError {
    join(fake_janus(mode).await).await.expect_err("must fail")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_then_close_is_a_lost_connection() {
    let err = join_fails(Misbehaviour::GarbageThenClose).await;
    assert!(matches!(err, MeetingError::ConnectionLost(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joined_without_an_id_is_a_protocol_error() {
    let err = join_fails(Misbehaviour::JoinedWithoutId).await;
    assert!(matches!(err, MeetingError::Protocol(_)), "{err}");
    assert!(err.to_string().contains("joined without id"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_sdp_in_the_answer_is_a_media_error() {
    let err = join_fails(Misbehaviour::AnswerWithBrokenSdp).await;
    assert!(matches!(err, MeetingError::WebRtc(_)), "{err}");
    assert!(
        err.to_string().starts_with("media connection failed"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_answering_times_out() {
    let err = join_fails(Misbehaviour::SilentAfterCreate).await;
    assert!(err.to_string().contains("did not answer"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_errors_are_reported_with_their_reason() {
    let err = join_fails(Misbehaviour::ErrorForEverything).await;
    assert!(
        matches!(&err, MeetingError::Server { code: 490, reason } if reason == "nope"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_not_janus_is_refused() {
    let err = join_fails(Misbehaviour::NoSubprotocol).await;
    assert!(matches!(err, MeetingError::ServerUnreachable(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_the_limit_ends_the_connection_with_its_size() {
    let err = join_fails(Misbehaviour::HugeReply).await;
    assert!(matches!(err, MeetingError::ConnectionLost(_)), "{err}");
    let limit = talkline_meeting::MAX_SIGNALING_MESSAGE_BYTES.to_string();
    assert!(
        err.to_string().contains("bytes, more than the") && err.to_string().contains(&limit),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_events_ends_the_connection_instead_of_growing_a_queue() {
    let err = join_fails(Misbehaviour::EventFlood).await;
    assert!(matches!(err, MeetingError::ConnectionLost(_)), "{err}");
    assert!(
        err.to_string().contains(&format!(
            "more than {} events",
            talkline_meeting::MAX_WAITING_SIGNALING_EVENTS
        )),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_acknowledged_forever_still_times_out() {
    let started = std::time::Instant::now();
    let err = join_fails(Misbehaviour::AcksForever).await;
    assert!(err.to_string().contains("did not answer"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(12), "{err}");
}
