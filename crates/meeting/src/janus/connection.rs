//! One WebSocket to Janus: a writer, a reader that routes replies to the
//! requests waiting for them, and a keepalive well under the server's 60 s
//! session timeout. Everything that is not a reply goes out as a
//! `SignalEvent` to the one task that drives the call.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest, http::HeaderValue};

use super::protocol::{Incoming, Jsep, Trickle};
use crate::error::MeetingError;
use crate::link::ServerUrl;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(4);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const KEEPALIVE_EVERY: Duration = Duration::from_secs(25);
/// The largest signaling message taken from the server. Janus's biggest are
/// a 25-person room's subscription offer and participant lists, tens of
/// KiB; anything past this is a broken or hostile server, refused before it
/// is held in memory (the WebSocket library would take 64 MiB).
pub const MAX_SIGNALING_MESSAGE_BYTES: usize = 1 << 20;
/// Events (not replies) waiting for the call to handle them. A server that
/// sends more than this faster than the call can take them is flooding:
/// the connection is closed rather than the queue grown without bound.
pub const MAX_WAITING_SIGNALING_EVENTS: usize = 1024;

/// What the connection reports to the call.
#[derive(Debug)]
pub enum SignalEvent {
    Message(Incoming),
    /// The socket is gone; every later request fails.
    Closed(String),
}

struct Pending {
    reply: oneshot::Sender<Result<Incoming, MeetingError>>,
    /// Plugin messages are acked first and answered by a later event.
    wait_past_ack: bool,
}

type PendingMap = Arc<Mutex<HashMap<String, Pending>>>;

pub struct JanusConnection {
    outgoing: mpsc::UnboundedSender<Message>,
    pending: PendingMap,
    /// Why the connection closed, once it has: later requests fail with it.
    closed: Arc<std::sync::OnceLock<String>>,
    next_transaction: AtomicU64,
    session_id: AtomicU64,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for JanusConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JanusConnection")
            .field("session_id", &self.session_id.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl JanusConnection {
    /// Connects and creates a Janus session.
    pub async fn open(
        server: &ServerUrl,
    ) -> Result<(Self, mpsc::Receiver<SignalEvent>), MeetingError> {
        let url = server.to_string();
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| MeetingError::ServerUnreachable(format!("{url}: {e}")))?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_static("janus-protocol"),
        );
        let connector = if server.is_secure() {
            Connector::Rustls(super::tls::client_config()?)
        } else {
            Connector::Plain
        };
        let limits = WebSocketConfig::default()
            .max_message_size(Some(MAX_SIGNALING_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_SIGNALING_MESSAGE_BYTES));
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(limits),
            false,
            Some(connector),
        );
        let (socket, _) = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| {
                MeetingError::ServerUnreachable(format!(
                    "{url}: no answer within {CONNECT_TIMEOUT:?}"
                ))
            })?
            .map_err(
                |e| match super::tls::describe_certificate_failure(&e, server.host()) {
                    Some(why) => MeetingError::UntrustedServer(why),
                    None => {
                        MeetingError::ServerUnreachable(format!("{url}: {}", describe_ws_error(&e)))
                    }
                },
            )?;
        let (mut sink, mut stream) = socket.split();
        let (outgoing, mut to_send) = mpsc::unbounded_channel::<Message>();
        // One place more than the events it may hold: the last says why
        // the connection was closed.
        let (events, events_rx) = mpsc::channel(MAX_WAITING_SIGNALING_EVENTS + 1);
        let pending: PendingMap = Arc::default();

        let writer = tokio::spawn(async move {
            while let Some(msg) = to_send.recv().await {
                if sink.send(msg).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let reader_pending = Arc::clone(&pending);
        let closed: Arc<std::sync::OnceLock<String>> = Arc::default();
        let reader_closed = Arc::clone(&closed);
        let reader_outgoing = outgoing.clone();
        let reader = tokio::spawn(async move {
            let reason = loop {
                let text = match stream.next().await {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(frame))) => {
                        break frame
                            .map_or("closed by the server".to_string(), |f| f.reason.to_string());
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => break describe_ws_error(&e),
                    None => break "connection closed".to_string(),
                };
                let msg = match Incoming::parse(&text) {
                    Ok(m) => m,
                    Err(e) => {
                        // A malformed answer to a request fails that request
                        // now; anything else malformed is dropped.
                        if let Some(p) = take_pending_for(&reader_pending, &text).await {
                            let _ = p.reply.send(Err(MeetingError::Protocol(e.0)));
                        } else {
                            log::warn!("ignoring {e}");
                        }
                        continue;
                    }
                };
                let Some(msg) = route_reply(&reader_pending, msg).await else {
                    continue;
                };
                if events.is_closed() {
                    return;
                }
                // Never waits: the call may itself be waiting for a reply
                // that only this reader can hand it.
                if events.capacity() <= 1 {
                    break format!(
                        "the server sent more than {MAX_WAITING_SIGNALING_EVENTS} events faster than they could be handled"
                    );
                }
                let _ = events.try_send(SignalEvent::Message(msg));
            };
            // Waiting requests fail now, with the reason, rather than at
            // their timeout, and later ones at once (set before the drain:
            // a request inserts under the same lock after checking it).
            let _ = reader_closed.set(reason.clone());
            let _ = reader_outgoing.send(Message::Close(None));
            for (_, p) in reader_pending.lock().await.drain() {
                let _ = p
                    .reply
                    .send(Err(MeetingError::ConnectionLost(reason.clone())));
            }
            let _ = events.try_send(SignalEvent::Closed(reason));
        });

        let mut conn = Self {
            outgoing,
            pending,
            closed,
            next_transaction: AtomicU64::new(1),
            session_id: AtomicU64::new(0),
            tasks: vec![writer, reader],
        };
        let created = conn.request(json!({"janus": "create"}), false).await?;
        let session_id = match created {
            Incoming::Success { id: Some(id), .. } => id,
            other => return Err(unexpected("create", &other)),
        };
        conn.session_id.store(session_id, Ordering::Relaxed);
        let keepalive_out = conn.outgoing.clone();
        conn.tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(KEEPALIVE_EVERY);
            tick.tick().await;
            let mut n = 0u64;
            loop {
                tick.tick().await;
                n += 1;
                let msg = json!({"janus": "keepalive", "session_id": session_id, "transaction": format!("ka{n}")});
                if keepalive_out.send(Message::text(msg.to_string())).is_err() {
                    break;
                }
            }
        }));
        Ok((conn, events_rx))
    }

    pub fn session_id(&self) -> u64 {
        self.session_id.load(Ordering::Relaxed)
    }

    async fn request(
        &self,
        mut body: Value,
        wait_past_ack: bool,
    ) -> Result<Incoming, MeetingError> {
        let transaction = format!("t{}", self.next_transaction.fetch_add(1, Ordering::Relaxed));
        body["transaction"] = json!(transaction);
        let session_id = self.session_id();
        if session_id != 0 {
            body["session_id"] = json!(session_id);
        }
        let (reply, wait) = oneshot::channel();
        {
            let mut pending = self.pending.lock().await;
            if let Some(reason) = self.closed.get() {
                return Err(MeetingError::ConnectionLost(reason.clone()));
            }
            pending.insert(
                transaction.clone(),
                Pending {
                    reply,
                    wait_past_ack,
                },
            );
        }
        let lost = || {
            MeetingError::ConnectionLost(
                self.closed
                    .get()
                    .cloned()
                    .unwrap_or_else(|| "signaling connection closed".into()),
            )
        };
        self.outgoing
            .send(Message::text(body.to_string()))
            .map_err(|_| lost())?;
        let result = tokio::time::timeout(REQUEST_TIMEOUT, wait).await;
        self.pending.lock().await.remove(&transaction);
        match result {
            Err(_) if self.closed.get().is_some() => Err(lost()),
            Err(_) => Err(MeetingError::ConnectionLost(format!(
                "the server did not answer within {REQUEST_TIMEOUT:?}"
            ))),
            Ok(Err(_)) => Err(lost()),
            Ok(Ok(Err(e))) => Err(e),
            Ok(Ok(Ok(Incoming::Error { code, reason, .. }))) => {
                Err(MeetingError::Server { code, reason })
            }
            Ok(Ok(Ok(msg))) => Ok(msg),
        }
    }

    /// Attaches to the VideoRoom plugin; returns the handle id.
    pub async fn attach_videoroom(&self) -> Result<u64, MeetingError> {
        self.attach("janus.plugin.videoroom").await
    }

    /// Attaches to `plugin` (its package name); returns the handle id.
    pub async fn attach(&self, plugin: &str) -> Result<u64, MeetingError> {
        match self
            .request(json!({"janus": "attach", "plugin": plugin}), false)
            .await?
        {
            Incoming::Success { id: Some(id), .. } => Ok(id),
            other => Err(unexpected("attach", &other)),
        }
    }

    /// Sends a plugin message and waits for its answer (event or success).
    pub async fn message(
        &self,
        handle: u64,
        body: Value,
        jsep: Option<&Jsep>,
    ) -> Result<Incoming, MeetingError> {
        let mut msg = json!({"janus": "message", "handle_id": handle, "body": body});
        if let Some(jsep) = jsep {
            msg["jsep"] = jsep.to_json();
        }
        self.request(msg, true).await
    }

    /// Trickles a local candidate; fire and forget (Janus acks it).
    pub fn trickle(&self, handle: u64, candidate: &Trickle) {
        let tx = format!("t{}", self.next_transaction.fetch_add(1, Ordering::Relaxed));
        let msg = json!({"janus": "trickle", "session_id": self.session_id(), "handle_id": handle,
            "transaction": tx, "candidate": candidate.to_json()});
        let _ = self.outgoing.send(Message::text(msg.to_string()));
    }

    pub async fn detach(&self, handle: u64) -> Result<(), MeetingError> {
        self.request(json!({"janus": "detach", "handle_id": handle}), false)
            .await
            .map(|_| ())
    }

    /// Destroys the session and closes the socket; best effort.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            self.request(json!({"janus": "destroy"}), false),
        )
        .await;
        let _ = self.outgoing.send(Message::Close(None));
        for task in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_millis(500), task).await;
        }
    }
}

impl Drop for JanusConnection {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The request a raw (unparseable as a message) reply answers, if any.
async fn take_pending_for(pending: &PendingMap, text: &str) -> Option<Pending> {
    let v: Value = serde_json::from_str(text).ok()?;
    let tx = v.get("transaction")?.as_str()?;
    pending.lock().await.remove(tx)
}

/// Hands a reply to its waiting request; returns what nobody waits for.
async fn route_reply(pending: &PendingMap, msg: Incoming) -> Option<Incoming> {
    let Some(tx) = msg.transaction() else {
        return Some(msg);
    };
    let mut map = pending.lock().await;
    let is_ack = matches!(msg, Incoming::Ack { .. });
    match map.get(tx) {
        Some(p) if is_ack && p.wait_past_ack => None,
        Some(_) => {
            let tx = tx.to_string();
            match map.remove(&tx) {
                Some(p) => {
                    let _ = p.reply.send(Ok(msg));
                    None
                }
                None => Some(msg),
            }
        }
        // Acks of trickles and keepalives.
        None if is_ack => None,
        None => Some(msg),
    }
}

fn describe_ws_error(e: &tungstenite::Error) -> String {
    match e {
        tungstenite::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused (is the meeting server running?)".into()
        }
        tungstenite::Error::Io(io) => io.to_string(),
        tungstenite::Error::Http(resp) => format!("the server answered HTTP {}", resp.status()),
        tungstenite::Error::Capacity(tungstenite::error::CapacityError::MessageTooLong {
            size,
            max_size,
        }) => format!(
            "the server sent a message of {size} bytes, more than the {max_size} a meeting server sends"
        ),
        other => other.to_string(),
    }
}

fn unexpected(what: &str, msg: &Incoming) -> MeetingError {
    MeetingError::Protocol(format!("unexpected reply to {what}: {msg:?}"))
}
