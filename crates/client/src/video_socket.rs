//! Encoded video to the window over a loopback WebSocket, beside the shell's
//! IPC rather than through it.
//!
//! Every IPC reply of the shell is handled on its UI thread (in WebKitGTK,
//! the GTK main thread of the app's own process), the thread that also runs
//! the window's input and layout. With a grid of tiles, video replies kept
//! it busy (BENCHMARKS.md). A WebSocket from the webview goes from the core's
//! runtime to WebKit's network process and on to the page, and the UI thread
//! never sees a frame.
//!
//! The protocol is the IPC's `next_encoded`, request by request: the window
//! sends its tiles' cursors (JSON text), the socket answers with one binary
//! message in `encoded_feed::read_tiles` form, possibly empty after a wait.
//! One request is served at a time per connection and nothing is pushed
//! unasked, so a window that stops reading stops the reads: its frames wait
//! in each tile's bounded feed (which drops the oldest and restarts at a
//! keyframe), never in a queue here.
//!
//! Only the app's own window may read: the socket listens on 127.0.0.1 at a
//! port the system picks, a browser page of another origin is refused at
//! the handshake, and a connection must send this launch's secret (256
//! random bits, handed to the window over the IPC) as its first message
//! within `AUTH_TIMEOUT`, or it is closed before it can ask for anything.
//! The secret is never logged.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use talkline_media::display::Tiles;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::window_video::{self, TileCursor};

/// A connection that has not shaken hands and proven itself within this
/// time is closed.
const AUTH_TIMEOUT: Duration = Duration::from_secs(2);

/// The window reads continuously (each read waits at most half a second in
/// the core): a connection silent this long, or that stops taking replies
/// for `SEND_TIMEOUT`, is gone and gives its place back.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// The origins of the app's own page: the bundled UI (Linux and macOS,
/// then Windows and Android) and the development server. A browser always
/// names the page's origin; a page of any other is refused outright.
const APP_ORIGINS: &[&str] = &[
    "tauri://localhost",
    "http://tauri.localhost",
    "https://tauri.localhost",
    "http://localhost:1420",
];

/// A request names at most 64 tiles of at most a few hundred bytes each;
/// anything larger is not the window's.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The window opens one connection (a reload, another). Connections still
/// proving themselves and proven ones are counted apart, so strangers
/// cannot take the window's place for longer than `AUTH_TIMEOUT`.
const MAX_CONNECTIONS: usize = 4;
const MAX_UNPROVEN: usize = 8;

/// Where the window reads its video, and the secret it proves itself with.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoSocketAddress {
    pub url: String,
    pub secret: String,
}

impl std::fmt::Debug for VideoSocketAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoSocketAddress")
            .field("url", &self.url)
            .field("secret", &"(not shown)")
            .finish()
    }
}

/// One read, as the window asks for it (the IPC's `next_encoded` arguments).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReadRequest {
    tiles: Vec<TileCursor>,
    #[serde(default)]
    wait_ms: Option<u64>,
}

/// The listening socket; stops listening when dropped (open connections end
/// with their next read).
pub struct VideoSocket {
    address: VideoSocketAddress,
    accepting: JoinHandle<()>,
}

impl VideoSocket {
    /// Listens on a free loopback port and serves `tiles`' encoded feeds to
    /// whoever presents the secret. Needs a tokio runtime.
    pub async fn start(tiles: Arc<Tiles>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        let secret = new_secret();
        let accepting = tokio::spawn(accept_loop(listener, Arc::from(secret.as_str()), tiles));
        log::info!("video for the window: a loopback socket on port {port}");
        Ok(Self {
            address: VideoSocketAddress {
                url: format!("ws://127.0.0.1:{port}/video"),
                secret,
            },
            accepting,
        })
    }

    pub fn address(&self) -> &VideoSocketAddress {
        &self.address
    }
}

impl Drop for VideoSocket {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares without stopping at the first difference, so the time taken
/// says nothing about how much of a guess was right.
fn same_secret(offered: &str, secret: &str) -> bool {
    offered.len() == secret.len()
        && offered
            .bytes()
            .zip(secret.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

async fn accept_loop(listener: TcpListener, secret: Arc<str>, tiles: Arc<Tiles>) {
    let proven = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let unproven = Arc::new(Semaphore::new(MAX_UNPROVEN));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, mostly: wait instead of spinning.
                log::warn!("video socket: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Refusals are logged at debug only: whoever floods the port must
        // not flood the log files as well.
        let Ok(trial) = Arc::clone(&unproven).try_acquire_owned() else {
            log::debug!("video socket: a connection refused, {MAX_UNPROVEN} are unproven");
            continue;
        };
        let secret = Arc::clone(&secret);
        let tiles = Arc::clone(&tiles);
        let proven = Arc::clone(&proven);
        tokio::spawn(async move {
            let ws = match prove(stream, &secret).await {
                Ok(ws) => ws,
                Err(why) => {
                    log::debug!("video socket: a connection refused: {why}");
                    return;
                }
            };
            drop(trial);
            let Ok(slot) = proven.try_acquire_owned() else {
                log::warn!(
                    "video socket: {MAX_CONNECTIONS} windows read already; one more refused"
                );
                return;
            };
            if let Err(why) = serve(ws, &tiles).await {
                log::warn!("video socket: a connection closed: {why}");
            }
            drop(slot);
        });
    }
}

/// Why a connection ended other than by the window closing it.
#[derive(Debug)]
enum Ended {
    Handshake(String),
    NotAuthorised,
    Broken(String),
}

impl std::fmt::Display for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Handshake(e) => write!(f, "not a WebSocket handshake ({e})"),
            Self::NotAuthorised => f.write_str("no valid secret in time"),
            Self::Broken(e) => f.write_str(e),
        }
    }
}

type Socket = WebSocketStream<TcpStream>;

/// Refuses a browser page of another origin. A client that names none is
/// no browser, and must still know the secret.
#[allow(clippy::result_large_err)] // tungstenite's callback signature
fn origin_check(request: &Request, response: Response) -> Result<Response, ErrorResponse> {
    match request.headers().get("origin") {
        Some(o) if !APP_ORIGINS.iter().any(|a| a.as_bytes() == o.as_bytes()) => {
            let mut refusal = ErrorResponse::new(Some("origin not allowed".into()));
            *refusal.status_mut() = StatusCode::FORBIDDEN;
            Err(refusal)
        }
        _ => Ok(response),
    }
}

/// The handshake and the secret, within `AUTH_TIMEOUT` together.
async fn prove(stream: TcpStream, secret: &str) -> Result<Socket, Ended> {
    // Nagle would hold a small reply back for the window's ack.
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_REQUEST_BYTES))
        .max_frame_size(Some(MAX_REQUEST_BYTES));
    let proving = async {
        let mut ws =
            tokio_tungstenite::accept_hdr_async_with_config(stream, origin_check, Some(config))
                .await
                .map_err(|e| Ended::Handshake(e.to_string()))?;
        let first = ws.next().await;
        let authorised =
            matches!(&first, Some(Ok(Message::Text(t))) if same_secret(t.as_str(), secret));
        if !authorised {
            close(&mut ws, CloseCode::Policy, "not authorised").await;
            return Err(Ended::NotAuthorised);
        }
        Ok(ws)
    };
    tokio::time::timeout(AUTH_TIMEOUT, proving)
        .await
        .unwrap_or(Err(Ended::NotAuthorised))
}

async fn serve(mut ws: Socket, tiles: &Tiles) -> Result<(), Ended> {
    loop {
        let Ok(message) = tokio::time::timeout(IDLE_TIMEOUT, ws.next()).await else {
            close(&mut ws, CloseCode::Away, "idle").await;
            return Err(Ended::Broken("no request for 30 s".into()));
        };
        let request = match message {
            None => return Ok(()),
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) => {
                // Sends the close reply tungstenite queued.
                let _ = tokio::time::timeout(SEND_TIMEOUT, ws.flush()).await;
                return Ok(());
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            Some(Ok(Message::Binary(_))) => {
                close(&mut ws, CloseCode::Unsupported, "requests are JSON text").await;
                return Err(Ended::Broken("a binary request".into()));
            }
            // Too large, or not WebSocket: nothing to answer.
            Some(Err(e)) => return Err(Ended::Broken(e.to_string())),
        };
        let request: ReadRequest = match serde_json::from_str(request.as_str()) {
            Ok(r) => r,
            Err(e) => {
                close(&mut ws, CloseCode::Invalid, "malformed request").await;
                return Err(Ended::Broken(format!("a malformed request: {e}")));
            }
        };
        let read = window_video::next_encoded(tiles, &request.tiles, request.wait_ms).await;
        let frames = match read {
            Ok(frames) => frames,
            Err(e) => {
                close(&mut ws, CloseCode::Policy, "request refused").await;
                return Err(Ended::Broken(e.to_string()));
            }
        };
        let sent =
            tokio::time::timeout(SEND_TIMEOUT, ws.send(Message::Binary(frames.into()))).await;
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(Ended::Broken(e.to_string())),
            Err(_) => return Err(Ended::Broken("the window stopped taking replies".into())),
        }
    }
}

async fn close(ws: &mut Socket, code: CloseCode, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(SEND_TIMEOUT, ws.close(Some(frame))).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use talkline_media::encoded_feed::parse_tiles;
    use tokio_tungstenite::connect_async;

    type Client = WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

    async fn connect(socket: &VideoSocket) -> Client {
        let (ws, _) = connect_async(socket.address().url.as_str())
            .await
            .expect("the socket accepts connections");
        ws
    }

    fn read_of(tile: &str, after: u64, wait_ms: u64) -> Message {
        Message::text(format!(
            r#"{{"tiles":[{{"tile":"{tile}","after":{after}}}],"waitMs":{wait_ms}}}"#
        ))
    }

    /// The next message other than a ping; None once the server closed.
    async fn reply(ws: &mut Client) -> Option<Message> {
        let next = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("the socket answers within 5 s");
        match next {
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => None,
            Some(Ok(m)) => Some(m),
        }
    }

    async fn binary_reply(ws: &mut Client) -> Bytes {
        match reply(ws).await {
            Some(Message::Binary(bytes)) => bytes,
            other => panic!("a binary reply, not {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_window_with_the_secret_reads_every_frame_of_its_tiles() {
        let tiles = Tiles::new();
        let socket = VideoSocket::start(Arc::clone(&tiles))
            .await
            .expect("listens");
        assert!(socket.address().url.starts_with("ws://127.0.0.1:"));
        let feed = tiles.encoded_feed("alice");
        // As after a first read: the receiver fills only a watched feed.
        feed.watch();
        feed.push(Bytes::from_static(b"key"), true, 10);
        feed.push(Bytes::from_static(b"delta"), false, 20);

        let mut ws = connect(&socket).await;
        ws.send(Message::text(socket.address().secret.clone()))
            .await
            .expect("sends");
        ws.send(read_of("alice", 0, 100)).await.expect("sends");
        let bytes = binary_reply(&mut ws).await;
        let tiles_read = parse_tiles(&bytes).expect("the IPC's wire form");
        assert_eq!(tiles_read.len(), 1);
        let (index, records) = &tiles_read[0];
        assert_eq!(*index, 0);
        let data: Vec<&[u8]> = records.iter().map(|r| r.data).collect();
        assert_eq!(data, [b"key".as_slice(), b"delta".as_slice()]);

        // Nothing new: after the wait, an empty answer, and the next
        // frame comes on the next read.
        ws.send(read_of("alice", 2, 50)).await.expect("sends");
        assert_eq!(reply(&mut ws).await, Some(Message::binary(Vec::new())));
        feed.push(Bytes::from_static(b"next"), false, 30);
        ws.send(read_of("alice", 2, 50)).await.expect("sends");
        let bytes = binary_reply(&mut ws).await;
        let read = parse_tiles(&bytes).expect("wire form");
        assert_eq!(read[0].1[0].data, b"next");
    }

    #[tokio::test]
    async fn a_connection_without_the_secret_reads_nothing() {
        let tiles = Tiles::new();
        let socket = VideoSocket::start(Arc::clone(&tiles))
            .await
            .expect("listens");
        tiles
            .encoded_feed("alice")
            .push(Bytes::from_static(b"key"), true, 10);

        // A wrong secret of the right length, then a read anyway.
        let mut ws = connect(&socket).await;
        let wrong: String = socket
            .address()
            .secret
            .chars()
            .map(|c| if c == '0' { '1' } else { '0' })
            .collect();
        ws.send(Message::text(wrong)).await.expect("sends");
        let _ = ws.send(read_of("alice", 0, 10)).await;
        assert_eq!(reply(&mut ws).await, None, "closed without an answer");

        // A read first, as if the secret were not needed.
        let mut ws = connect(&socket).await;
        ws.send(read_of("alice", 0, 10)).await.expect("sends");
        assert_eq!(reply(&mut ws).await, None, "closed without an answer");

        // Nothing at all: closed once the time to prove itself is over.
        let mut ws = connect(&socket).await;
        assert_eq!(reply(&mut ws).await, None);

        assert!(
            !tiles.encoded_feed("alice").is_watched(),
            "no frame was handed over"
        );
    }

    #[tokio::test]
    async fn a_broken_request_closes_that_connection_only() {
        let tiles = Tiles::new();
        let socket = VideoSocket::start(Arc::clone(&tiles))
            .await
            .expect("listens");
        let secret = socket.address().secret.clone();
        let too_many: Vec<String> = (0..65)
            .map(|i| format!(r#"{{"tile":"t{i}","after":0}}"#))
            .collect();
        let bad = [
            Message::text("{\"tiles\": [{\"tile\": 5}]}"),
            Message::text("not json"),
            Message::binary(vec![0u8; 16]),
            Message::text(format!("{{\"tiles\":[{}]}}", too_many.join(","))),
            // Well-formed but too large: refused for its size alone.
            Message::text(format!(
                r#"{{"tiles":[]{}}}"#,
                " ".repeat(MAX_REQUEST_BYTES)
            )),
        ];
        for message in bad {
            let mut ws = connect(&socket).await;
            ws.send(Message::text(secret.clone())).await.expect("sends");
            let _ = ws.send(message).await;
            assert_eq!(reply(&mut ws).await, None, "closed without an answer");
        }
        // The socket still serves a well-behaved window.
        let feed = tiles.encoded_feed("bob");
        feed.watch();
        feed.push(Bytes::from_static(b"key"), true, 10);
        let mut ws = connect(&socket).await;
        ws.send(Message::text(secret)).await.expect("sends");
        ws.send(read_of("bob", 0, 10)).await.expect("sends");
        assert!(matches!(reply(&mut ws).await, Some(Message::Binary(b)) if !b.is_empty()));
    }

    #[tokio::test]
    async fn a_page_of_another_origin_is_refused_at_the_handshake() {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::http::HeaderValue;

        let socket = VideoSocket::start(Tiles::new()).await.expect("listens");
        let from = |origin: &'static str| {
            let mut request = socket
                .address()
                .url
                .as_str()
                .into_client_request()
                .expect("a request");
            request
                .headers_mut()
                .insert("origin", HeaderValue::from_static(origin));
            request
        };
        let refused = connect_async(from("https://example.com")).await;
        assert!(
            matches!(&refused, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == StatusCode::FORBIDDEN),
            "{refused:?}"
        );
        assert!(connect_async(from("tauri://localhost")).await.is_ok());
        assert!(!format!("{:?}", socket.address()).contains(&socket.address().secret));
    }

    #[test]
    fn secrets_are_long_random_and_compared_whole() {
        let a = new_secret();
        let b = new_secret();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
        assert!(!same_secret(&a, &a[..63]));
        assert!(!same_secret(&a, ""));
    }
}
