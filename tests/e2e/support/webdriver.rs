//! Just enough of a W3C WebDriver client to drive the app's window through
//! `tauri-driver` (which hands the session to Debian's WebKitWebDriver).
//! Loopback only; one HTTP/1.0 request per command keeps it dependency-free.

// Shared by tests and benchmarks; each uses part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct WebDriver {
    port: u16,
    session: String,
}

fn request(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect :{port}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .map_err(|e| format!("send {path}: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read {path}: {e}"))?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{path}: no HTTP header in {} bytes", raw.len()))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let mut payload = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        payload = dechunk(&payload);
    }
    let value: Value = serde_json::from_slice(&payload).map_err(|e| {
        format!(
            "{path}: not JSON ({e}): {}",
            String::from_utf8_lossy(&payload)
        )
    })?;
    let value = value.get("value").cloned().unwrap_or(Value::Null);
    if let Some(error) = value.get("error").and_then(Value::as_str) {
        return Err(format!(
            "{method} {path}: {error}: {}",
            value["message"].as_str().unwrap_or("")
        ));
    }
    Ok(value)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&data[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || data.len() < end + 2 + size {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[(end + 4 + size).min(data.len())..];
    }
    out
}

impl WebDriver {
    /// Starts the application at `app` in a new session.
    pub fn connect(port: u16, app: &std::path::Path) -> Result<Self, String> {
        Self::connect_with_args(port, app, &[])
    }

    /// A session whose app is started with `args` (a link, as the
    /// desktop's link handler starts it).
    pub fn connect_with_args(
        port: u16,
        app: &std::path::Path,
        args: &[&str],
    ) -> Result<Self, String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "wry",
                "tauri:options": { "application": app.display().to_string(), "args": args }
            } }
        });
        loop {
            match request(port, "POST", "/session", Some(&capabilities)) {
                Ok(v) => {
                    let session = v["sessionId"]
                        .as_str()
                        .unwrap_or_else(|| panic!("no session id in {v}"))
                        .to_string();
                    return Ok(Self { port, session });
                }
                Err(e) if Instant::now() > deadline => return Err(e.to_string()),
                Err(_) => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        request(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            body.as_ref(),
        )
    }

    pub fn find(&self, css: &str) -> Result<String, String> {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        )?;
        v[ELEMENT_KEY]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("{css}: {v}"))
    }

    /// Runs `script` (a function body) in the window and returns its value.
    pub fn eval(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Runs `script` like `eval`, for a script after which the window may
    /// close before it answers: the error is the caller's to judge.
    pub fn try_eval(&self, script: &str, args: Value) -> Result<Value, String> {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Waits until `script` returns something truthy, and returns it.
    pub fn wait_for(&self, what: &str, timeout: Duration, script: &str) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            match self.cmd(
                "POST",
                "/execute/sync",
                Some(json!({ "script": script, "args": [] })),
            ) {
                Ok(v) if !v.is_null() && v != json!(false) && v != json!(0) && v != json!("") => {
                    return v;
                }
                Ok(_) | Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                result => panic!("timed out waiting for {what}: last {result:?}"),
            }
        }
    }

    pub fn wait_visible(&self, css: &str, timeout: Duration) {
        self.wait_for(css, timeout, &visible_script(css));
    }

    /// Whether `css` is on screen now.
    #[allow(dead_code)] // the tests', not the benchmark's
    pub fn visible(&self, css: &str) -> bool {
        self.eval(&visible_script(css), json!([])) == Value::Bool(true)
    }

    pub fn click(&self, css: &str) {
        let id = self.find(css).unwrap_or_else(|e| panic!("{e}"));
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})))
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).unwrap_or_else(|e| panic!("{e}"));
        self.cmd("POST", &format!("/element/{id}/clear"), Some(json!({})))
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Picks `value` in the select `css` as a user does: its change
    /// handler runs.
    pub fn choose(&self, css: &str, value: &str) {
        let chosen = self.eval(
            r#"
            const s = document.querySelector(arguments[0]);
            if (![...s.options].some(o => o.value === arguments[1])) {
                return [...s.options].map(o => o.value).join(', ');
            }
            s.value = arguments[1];
            s.dispatchEvent(new Event('change'));
            return true;
            "#,
            json!([css, value]),
        );
        assert_eq!(chosen, Value::from(true), "{css} has no {value:?}");
    }

    /// On the pre-join: picks the test pattern and the test tone (a machine
    /// without devices starts on "No camera" and "No microphone"), answers
    /// the just-in-time prompt each opens, and waits for the live
    /// self-view.
    pub fn use_test_camera_and_microphone(&self, timeout: Duration) {
        for (picker, asks) in [
            ("#camera-select", "video conferencing"),
            ("#mic-select", "publishing audio"),
        ] {
            // The pickers are filled once the devices are listed.
            self.wait_for(
                &format!("{picker} listing the test source"),
                timeout,
                &format!(
                    "const s = document.querySelector({}); return !!s && [...s.options].some(o => o.value === 'test');",
                    Value::from(picker)
                ),
            );
            self.choose(picker, "test");
            self.wait_for(
                &format!("the prompt for {picker}"),
                timeout,
                &format!(
                    "return !document.getElementById('permission-prompt').hidden && document.getElementById('permission-purpose').textContent.includes({});",
                    Value::from(asks)
                ),
            );
            self.click("#permission-allow");
            self.wait_for(
                "the prompt to close",
                timeout,
                "return document.getElementById('permission-prompt').hidden;",
            );
        }
        self.wait_for(
            "the self-view",
            timeout,
            "const t = window.__talkline.frames.tiles.self; return t && t.drawn > 10;",
        );
    }

    /// Presses and releases one key, as the keyboard would.
    pub fn press(&self, key: &str) {
        self.try_press(key)
            .unwrap_or_else(|e| panic!("press {key:?}: {e}"));
    }

    /// The same, for a key that may end the app before it answers.
    pub fn try_press(&self, key: &str) -> Result<Value, String> {
        let actions = json!({ "actions": [{
            "type": "key", "id": "keyboard",
            "actions": [{ "type": "keyDown", "value": key }, { "type": "keyUp", "value": key }]
        }] });
        self.cmd("POST", "/actions", Some(actions))
    }

    /// Types `text` key by key into whatever has the focus.
    #[allow(dead_code)] // the tests', not the benchmark's
    pub fn type_keys(&self, text: &str) {
        let keys: Vec<Value> = text
            .chars()
            .flat_map(|c| {
                let key = c.to_string();
                [
                    json!({ "type": "keyDown", "value": key }),
                    json!({ "type": "keyUp", "value": key }),
                ]
            })
            .collect();
        let actions = json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": keys }] });
        self.cmd("POST", "/actions", Some(actions))
            .unwrap_or_else(|e| panic!("type {text:?}: {e}"));
    }

    /// Presses `key` while holding `modifier` (e.g. Control, `\u{E009}`).
    pub fn chord(&self, modifier: &str, key: &str) {
        let actions = json!({ "actions": [{
            "type": "key", "id": "keyboard",
            "actions": [
                { "type": "keyDown", "value": modifier },
                { "type": "keyDown", "value": key },
                { "type": "keyUp", "value": key },
                { "type": "keyUp", "value": modifier }
            ]
        }] });
        self.cmd("POST", "/actions", Some(actions))
            .unwrap_or_else(|e| panic!("press {modifier:?}+{key:?}: {e}"));
    }

    /// Holds `key` down until `release_keys`.
    pub fn key_down(&self, key: &str) {
        let actions = json!({ "actions": [{
            "type": "key", "id": "keyboard",
            "actions": [{ "type": "keyDown", "value": key }]
        }] });
        self.cmd("POST", "/actions", Some(actions))
            .unwrap_or_else(|e| panic!("key down {key:?}: {e}"));
    }

    /// Lets go of every key held with `key_down`.
    pub fn release_keys(&self) {
        self.cmd("DELETE", "/actions", None)
            .unwrap_or_else(|e| panic!("release keys: {e}"));
    }

    pub fn text(&self, css: &str) -> String {
        let script = format!(
            "const e = document.querySelector({}); return e ? e.textContent : null;",
            Value::from(css)
        );
        self.eval(&script, json!([]))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl WebDriver {
    /// Ends the session: the driver closes the app.
    #[allow(dead_code)] // the benchmark's, not every test's
    pub fn end(&self) {
        let _ = self.cmd("DELETE", "", None);
    }

    #[allow(dead_code)] // the benchmark's, not every test's
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for WebDriver {
    fn drop(&mut self) {
        self.end();
    }
}

/// Decodes standard base64 (what `btoa` makes).
pub fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Encodes standard base64 with padding (what `atob` reads).
pub fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn visible_script(css: &str) -> String {
    format!(
        "const e = document.querySelector({}); return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0;",
        Value::from(css)
    )
}

#[cfg(test)]
mod base64_tests {
    #[test]
    fn encoding_and_decoding_agree() {
        for text in [&b""[..], b"f", b"fo", b"foo", b"foob", b"\xff\x00\x80hello"] {
            assert_eq!(super::base64_decode(&super::base64_encode(text)), text);
        }
        assert_eq!(super::base64_encode(b"foob"), "Zm9vYg==");
    }
}
