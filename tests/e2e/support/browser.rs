//! A headless Chromium participant (Debian's `chromium`, fake camera and
//! microphone, Debian's janus.js) that reports its WebRTC stats to us.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{repo_root, scratch_dir};

const JANUS_JS: &str = "/usr/share/javascript/janus-gateway/janus.js";
const ADAPTER_JS: &str = "/usr/share/javascript/webrtc-adapter/adapter.js";

pub struct BrowserPeer {
    child: Child,
    report: Arc<Mutex<Option<serde_json::Value>>>,
    _profile: PathBuf,
}

fn serve(listener: TcpListener, report: Arc<Mutex<Option<serde_json::Value>>>) {
    for stream in listener.incoming().map_while(Result::ok) {
        let report = Arc::clone(&report);
        std::thread::spawn(move || {
            let _ = handle(stream, &report);
        });
    }
}

fn handle(stream: TcpStream, report: &Mutex<Option<serde_json::Value>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let path = target.split('?').next().unwrap_or("/");
    let (status, kind, body): (&str, &str, Vec<u8>) = match (method, path) {
        ("POST", "/report") => {
            let mut body = vec![0; content_length.min(1 << 20)];
            reader.read_exact(&mut body)?;
            if let Ok(v) = serde_json::from_slice(&body) {
                *report.lock().expect("report") = Some(v);
            }
            ("204 No Content", "text/plain", Vec::new())
        }
        ("GET", "/") => (
            "200 OK",
            "text/html",
            std::fs::read(repo_root().join("tests/e2e/browser/peer.html"))?,
        ),
        ("GET", "/janus.js") => ("200 OK", "text/javascript", std::fs::read(JANUS_JS)?),
        ("GET", "/adapter.js") => ("200 OK", "text/javascript", std::fs::read(ADAPTER_JS)?),
        _ => ("404 Not Found", "text/plain", Vec::new()),
    };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    out.write_all(&body)
}

/// Whether the browser is a benchmark's anchor, whose camera must send what
/// talkline's does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Anchor {
    No,
    ThirtyFps,
}

impl BrowserPeer {
    pub fn join(server: &str, room: u64, name: &str) -> Self {
        Self::join_with(server, room, name, "")
    }

    /// Publishes its camera at 1280x720 as three simulcast layers
    /// (janus.js `simulcast`: rid-based, full, half and quarter size).
    pub fn join_simulcast(server: &str, room: u64, name: &str) -> Self {
        Self::join_with(server, room, name, "&simulcast=1")
    }

    /// Publishes its camera at `width`x`height`, in three simulcast layers
    /// or one, at 30 fps (a benchmark's anchor).
    pub fn join_publishing(
        server: &str,
        room: u64,
        name: &str,
        (width, height): (u32, u32),
        simulcast: bool,
    ) -> Self {
        let layers = if simulcast { "&simulcast=1" } else { "" };
        let query = format!("&size={width}x{height}{layers}");
        Self::start(server, room, name, &query, None, Anchor::ThirtyFps, &[])
    }

    /// Publishes 640x360 at 30 fps and, `after_s` seconds after its first
    /// remote frame, records the meeting as a web app does (MediaRecorder):
    /// the recording benchmark's anchor.
    #[allow(dead_code)] // the recording benchmark's
    pub fn join_recording(server: &str, room: u64, name: &str, after_s: u64) -> Self {
        let query = format!("&size=640x360&recordAfter={after_s}");
        Self::start(server, room, name, &query, None, Anchor::ThirtyFps, &[])
    }

    /// A participant who also joins the meeting's chat (janus.js and the
    /// TextRoom plugin), and answers "ping X" there with "pong: ping X".
    #[allow(dead_code)] // the chat tests', not every test's
    pub fn join_chatting(server: &str, room: u64, name: &str) -> Self {
        Self::join_with(server, room, name, "&chat=1")
    }

    /// The chat alone, no media: `send` sends 100 timed messages once
    /// someone else is in the chat; otherwise it notes their delays.
    #[allow(dead_code)] // the chat benchmark's
    pub fn chat_only(server: &str, room: u64, name: &str, send: bool) -> Self {
        let query = if send {
            "&chatOnly=1&chatBench=send"
        } else {
            "&chatOnly=1"
        };
        Self::join_with(server, room, name, query)
    }

    /// A headful Chromium drawing on X display `display` (an Xvfb): its
    /// <video> elements are painted, as on a desktop; its camera at 30 fps
    /// (a benchmark's anchor).
    pub fn join_on_display(server: &str, room: u64, name: &str, display: &str) -> Self {
        Self::start(
            server,
            room,
            name,
            "",
            Some(display),
            Anchor::ThirtyFps,
            &[],
        )
    }

    /// Headful on `display`, publishing its camera at 640x360 in three
    /// simulcast layers, as the app does (a benchmark's anchor).
    pub fn join_on_display_simulcast(server: &str, room: u64, name: &str, display: &str) -> Self {
        Self::start(
            server,
            room,
            name,
            "&size=640x360&simulcast=1",
            Some(display),
            Anchor::ThirtyFps,
            &[],
        )
    }

    /// Headful on `display`, sharing that X screen at 10 fps with
    /// getDisplayMedia (the whole screen chosen without a picker), its own
    /// window off the screen so that it is not in the picture (a
    /// benchmark's anchor). Chromium's X11 capturer needs an Xvfb without
    /// RANDR (`-extension RANDR`).
    #[allow(dead_code)] // the screen-share benchmark's
    pub fn share_screen_of(server: &str, room: u64, name: &str, display: &str) -> Self {
        Self::start(
            server,
            room,
            name,
            "&screen=1",
            Some(display),
            Anchor::No,
            &[
                "--auto-select-desktop-capture-source=Entire screen",
                "--window-position=4000,4000",
                "--window-size=320,240",
            ],
        )
    }

    fn join_with(server: &str, room: u64, name: &str, query: &str) -> Self {
        Self::start(server, room, name, query, None, Anchor::No, &[])
    }

    fn start(
        server: &str,
        room: u64,
        name: &str,
        query: &str,
        display: Option<&str>,
        anchor: Anchor,
        extra: &[&str],
    ) -> Self {
        for file in [JANUS_JS, ADAPTER_JS] {
            assert!(
                Path::new(file).exists(),
                "{file} missing: run scripts/setup-debian.sh"
            );
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("page server");
        let port = listener.local_addr().expect("addr").port();
        let report = Arc::new(Mutex::new(None));
        {
            let report = Arc::clone(&report);
            std::thread::spawn(move || serve(listener, report));
        }
        let profile = scratch_dir("chromium");
        let url =
            format!("http://127.0.0.1:{port}/?server={server}&room={room}&name={name}{query}");
        let mut cmd = Command::new("chromium");
        match display {
            None => cmd.args(super::chromium_flags::HEADLESS_MEDIA),
            Some(display) => cmd
                .args(
                    super::chromium_flags::HEADLESS_MEDIA
                        .iter()
                        .filter(|f| !f.starts_with("--headless"))
                        // A screen shared is the real one, not a fake.
                        .filter(|f| {
                            !(query.contains("screen=1")
                                && f.starts_with("--use-fake-device-for-media-stream"))
                        }),
                )
                .args(["--window-size=1280,800", "--window-position=0,0"])
                .env("DISPLAY", display)
                .env_remove("WAYLAND_DISPLAY"),
        };
        if anchor == Anchor::ThirtyFps {
            // Its fake camera gives 20 fps unless told (whatever the page
            // asks); a benchmark compares with talkline's 30. The last of
            // a repeated switch counts.
            cmd.arg("--use-fake-device-for-media-stream=fps=30");
        }
        let child = cmd
            .args(extra)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium (Debian package `chromium`)");
        Self {
            child,
            report,
            _profile: profile,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn report(&self) -> Option<serde_json::Value> {
        self.report.lock().expect("report").clone()
    }

    /// Waits until the page's report satisfies `ok`; returns that report.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        ok: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(r) = self.report()
                && ok(&r)
            {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "browser: {what} not seen within {timeout:?}; last report: {:?}",
                self.report()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for BrowserPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
