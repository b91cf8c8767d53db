//! The window's commands through Tauri's mock runtime: the same IPC path,
//! argument parsing and error serialisation the real window uses, with the
//! real core behind it (an encrypted store, the test camera, a real Janus).

#[path = "../../tests/support/dependency_closure.rs"]
mod dependency_closure;
#[path = "../../tests/e2e/support/qr_picture.rs"]
mod qr_picture;
#[path = "../../tests/e2e/support/mod.rs"]
mod support;

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use talkline_client::{AppCore, AppEvent, CoreConfig, EventSink};
use talkline_media::VideoFrame;
use talkline_media::display::{FRAME_HEADER_BYTES, parse_header};
use talkline_media::encoded_feed::parse_tiles;
use talkline_media::pattern::read_stamp;
use talkline_media::vp8::Vp8Decoder;
use talkline_meeting::ServerUrl;
use talkline_store::{DatabaseKey, KeyVault, MemoryVault};
use tauri::Manager;
use tauri::ipc::{CallbackFn, InvokeBody, InvokeResponseBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::{InvokeRequest, WebviewWindow, WebviewWindowBuilder};

struct TestApp {
    _app: tauri::App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    core: Arc<AppCore>,
}

impl TestApp {
    fn new(data_dir: &std::path::Path, server: &str, vault: Arc<dyn KeyVault>) -> Self {
        Self::with_config(CoreConfig::in_dir(
            data_dir.into(),
            ServerUrl::parse(server).expect("server url"),
            vault,
        ))
    }

    fn with_config(config: CoreConfig) -> Self {
        let core = AppCore::new(config).expect("core");
        let app = talkline_app::with_commands(mock_builder())
            .build(mock_context(noop_assets()))
            .expect("mock app");
        app.manage(Arc::clone(&core));
        let window = WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("mock window");
        Self {
            _app: app,
            window,
            core,
        }
    }

    fn fresh(server: &str) -> Self {
        Self::new(
            &support::scratch_dir("app"),
            server,
            Arc::new(MemoryVault::default()),
        )
    }

    fn invoke(&self, cmd: &str, args: Value) -> Result<InvokeResponseBody, Value> {
        self.invoke_body(cmd, InvokeBody::Json(args))
    }

    fn invoke_raw(&self, cmd: &str, bytes: Vec<u8>) -> Result<InvokeResponseBody, Value> {
        self.invoke_body(cmd, InvokeBody::Raw(bytes))
    }

    fn invoke_body(&self, cmd: &str, body: InvokeBody) -> Result<InvokeResponseBody, Value> {
        get_ipc_response(
            &self.window,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().expect("url"),
                body,
                headers: Default::default(),
                invoke_key: INVOKE_KEY.into(),
            },
        )
    }

    /// A fresh app whose events are recorded.
    fn recording(server: &str) -> (Self, Arc<Recorder>) {
        let app = Self::fresh(server);
        let events = Arc::new(Recorder::default());
        app.core
            .set_event_sink(Arc::clone(&events) as Arc<dyn EventSink>);
        (app, events)
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        match self.invoke(cmd, args) {
            Ok(body) => body.deserialize::<Value>().expect("a JSON reply"),
            Err(e) => panic!("{cmd} failed: {e}"),
        }
    }

    /// The error a command replies with: `{kind, message, ...}`.
    fn err(&self, cmd: &str, args: Value) -> Value {
        match self.invoke(cmd, args) {
            Ok(body) => panic!("{cmd} succeeded: {body:?}"),
            Err(e) => {
                assert!(
                    e["message"].as_str().is_some_and(|m| !m.is_empty()),
                    "{cmd}: an error without a message: {e}"
                );
                e
            }
        }
    }

    fn accept_policy(&self) {
        let version = self.ok("app_status", json!({}))["policy"]["version"].clone();
        self.ok("accept_policy", json!({ "version": version }));
    }

    /// Calls `command`, which must stop to ask for `permission` first;
    /// returns the question (title, purpose) for the caller to check.
    fn asks_first(&self, command: &str, args: Value, permission: &str) -> Value {
        let ask = self.err(command, args);
        assert_eq!(
            (ask["kind"].as_str(), ask["permission"].as_str()),
            (Some("consent_needed"), Some(permission)),
            "{command}: {ask}"
        );
        ask
    }

    fn grant(&self, permission: &str) {
        self.ok(
            "set_privacy_choice",
            json!({ "id": permission, "granted": true }),
        );
    }

    /// Waits for the next picture of `tile` after `after`; `None` after 500 ms.
    fn next_frame(&self, tile: &str, after: u64) -> Option<(u64, VideoFrame)> {
        let bytes = match self.invoke("next_frame", json!({ "tile": tile, "after": after })) {
            Ok(InvokeResponseBody::Raw(bytes)) => bytes,
            other => panic!("next_frame did not reply with bytes: {other:?}"),
        };
        if bytes.is_empty() {
            return None;
        }
        let (seq, width, height) = parse_header(&bytes).expect("a valid frame header");
        let mut frame = VideoFrame::new(width, height).expect("frame size");
        frame
            .as_bytes_mut()
            .copy_from_slice(&bytes[FRAME_HEADER_BYTES..]);
        Some((seq, frame))
    }

    /// One `next_encoded` read of several tiles: per tile index with frames,
    /// its records.
    fn next_encoded(&self, cursors: &[(&str, u64)]) -> Vec<(u32, Vec<EncodedFrame>)> {
        let tiles: Vec<Value> = cursors
            .iter()
            .map(|(tile, after)| json!({ "tile": tile, "after": after }))
            .collect();
        let bytes = match self.invoke("next_encoded", json!({ "tiles": tiles })) {
            Ok(InvokeResponseBody::Raw(bytes)) => bytes,
            other => panic!("next_encoded did not reply with bytes: {other:?}"),
        };
        parse_tiles(&bytes)
            .expect("a well-formed reply")
            .into_iter()
            .map(|(index, records)| {
                let frames = records
                    .into_iter()
                    .map(|r| (r.seq, r.keyframe, r.data.to_vec()))
                    .collect();
                (index, frames)
            })
            .collect()
    }

    /// Counts pictures of `tile` that carry a readable, advancing test-pattern stamp.
    fn count_stamped_frames(&self, tile: &str, within: Duration) -> u32 {
        let deadline = Instant::now() + within;
        let (mut seq, mut last_stamp, mut stamped) = (0, None, 0);
        while Instant::now() < deadline {
            let Some((next, frame)) = self.next_frame(tile, seq) else {
                continue;
            };
            assert!(next > seq, "sequence went from {seq} to {next}");
            seq = next;
            if let Some(stamp) = read_stamp(&frame) {
                if last_stamp.is_none_or(|n| stamp.frame_number > n) {
                    stamped += 1;
                }
                last_stamp = Some(stamp.frame_number);
            }
        }
        stamped
    }
}

/// A record of a `next_encoded` reply: (sequence, keyframe, VP8 bytes).
type EncodedFrame = (u64, bool, Vec<u8>);

#[derive(Default)]
struct Recorder(Mutex<Vec<AppEvent>>);

impl EventSink for Recorder {
    fn emit(&self, event: AppEvent) {
        self.0.lock().expect("recorder").push(event);
    }
}

impl Recorder {
    /// Where the events recorded so far end, for `wait_for_after`.
    fn mark(&self) -> usize {
        self.0.lock().expect("recorder").len()
    }

    /// Like `wait_for`, among the events after `mark` only.
    fn wait_for_after(
        &self,
        mark: usize,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&AppEvent) -> bool,
    ) -> AppEvent {
        let deadline = Instant::now() + timeout;
        loop {
            let events = self.0.lock().expect("recorder");
            if let Some(e) = events.iter().skip(mark).find(|e| pred(e)) {
                return e.clone();
            }
            drop(events);
            assert!(
                Instant::now() < deadline,
                "no {what} event within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&AppEvent) -> bool,
    ) -> AppEvent {
        self.wait_for_after(0, what, timeout, pred)
    }
}

#[test]
fn nothing_is_kept_or_contacted_before_the_policy_is_accepted() {
    // A "server" that must never see a connection.
    let listener = TcpListener::bind("127.0.0.1:0").expect("listener");
    listener.set_nonblocking(true).expect("nonblocking");
    let server = format!("ws://{}", listener.local_addr().expect("addr"));
    let app = TestApp::fresh(&server);

    let status = app.ok("app_status", json!({}));
    assert_eq!(status["policy"]["accepted"], false);
    assert!(
        status["policy"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("Appendix II") || t.len() > 500),
        "the policy text is not shown: {status}"
    );
    let join = json!({ "request": { "input": "1234", "displayName": "Ada", "camera": "none", "microphone": "none", "speaker": "none" } });
    for (cmd, args) in [
        ("join", join.clone()),
        (
            "start_preview",
            json!({ "camera": "test", "microphone": "test" }),
        ),
        ("get_settings", json!({})),
        ("recent_meetings", json!({})),
        (
            "set_privacy_choice",
            json!({ "id": "camera", "granted": true }),
        ),
    ] {
        assert_eq!(app.err(cmd, args)["kind"], "policy", "{cmd}");
    }
    assert!(
        listener.accept().is_err(),
        "the app connected to the server before the policy was accepted"
    );

    assert_eq!(
        app.err("accept_policy", json!({ "version": 999 }))["kind"],
        "invalid"
    );
    app.accept_policy();
    assert_eq!(app.ok("app_status", json!({}))["policy"]["accepted"], true);
    assert_eq!(
        app.err(
            "set_privacy_choice",
            json!({ "id": "contacts", "granted": true })
        )["kind"],
        "invalid"
    );
}

#[test]
fn the_policy_prompts_and_choices_speak_the_language_chosen_and_it_is_kept() {
    let dir = support::scratch_dir("language");
    let vault: Arc<dyn KeyVault> = Arc::new(MemoryVault::default());
    let english_version;
    {
        let app = TestApp::new(&dir, "ws://127.0.0.1:9", Arc::clone(&vault));
        let status = app.ok("app_status", json!({}));
        // Nothing chosen: the system's language.
        assert_eq!(status["language"], status["systemLanguage"], "{status}");
        english_version = status["policy"]["version"].clone();

        // Chosen on the policy screen, before anything may be kept.
        app.ok("set_language", json!({ "language": "zh-CN" }));
        let status = app.ok("app_status", json!({}));
        assert_eq!(status["language"], "zh-CN");
        assert_eq!(status["policy"]["title"], "TalkLine 隐私政策（第 1 版）");
        assert!(
            status["policy"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("仅在本设备上计算")),
            "{status}"
        );
        // The same policy: accepting it in Chinese is accepting it.
        assert_eq!(status["policy"]["version"], english_version);
        for refused in ["fr", "zh", "中文", "en-US"] {
            let e = app.err("set_language", json!({ "language": refused }));
            assert_eq!(e["kind"], "invalid", "{refused:?}: {e}");
        }
        app.accept_policy();

        // Appendix II's words in Chinese, asked just in time.
        let preview = json!({ "camera": "test", "microphone": "test" });
        let ask = app.asks_first("start_preview", preview, "camera");
        assert_eq!(ask["title"], "使用摄像头", "{ask}");
        assert_eq!(ask["purpose"], "用于视频会议、视频美颜、虚拟背景等场景");
        let choices = app.ok("privacy_choices", json!({}));
        let title_of = |id: &str| {
            choices
                .as_array()
                .and_then(|all| all.iter().find(|c| c["id"] == id))
                .map(|c| c["title"].clone())
        };
        assert_eq!(title_of("microphone"), Some(json!("手机麦克风权限")));
        assert_eq!(title_of("beauty"), Some(json!("美颜面部处理")));
        let backgrounds = app.ok("background_options", json!({}));
        assert_eq!(backgrounds[0], json!({ "id": "none", "label": "无" }));
        assert_eq!(backgrounds[1], json!({ "id": "blur", "label": "模糊" }));
        // Errors come in both languages: the page shows the one it speaks.
        let e = app.err(
            "parse_meeting",
            json!({ "input": "talkline://join?room=1" }),
        );
        assert_eq!(e["kind"], "link", "{e}");
        assert_eq!(e["message"], "the link has no server", "{e}");
        assert_eq!(e["chinese"], "链接缺少服务器（server）", "{e}");
        // Chosen before acceptance, kept at acceptance.
        assert_eq!(app.ok("get_settings", json!({}))["language"], "zh-CN");
    }
    // A second start speaks it from the first moment.
    let app = TestApp::new(&dir, "ws://127.0.0.1:9", vault);
    assert_eq!(app.ok("app_status", json!({}))["language"], "zh-CN");
    // Back to English from Settings; a language the app does not speak is
    // refused, saying which it does.
    let mut settings = app.ok("get_settings", json!({}));
    settings["language"] = json!("en");
    app.ok("set_settings", json!({ "settings": settings.clone() }));
    let status = app.ok("app_status", json!({}));
    assert_eq!(status["language"], "en");
    assert_eq!(
        status["policy"]["title"],
        "TalkLine privacy policy (version 1)"
    );
    assert_eq!(status["policy"]["version"], english_version);
    let ask = app.asks_first(
        "start_preview",
        json!({ "camera": "test", "microphone": "test" }),
        "camera",
    );
    assert_eq!(ask["title"], "Using the camera");
    settings["language"] = json!("tlh");
    let e = app.err("set_settings", json!({ "settings": settings }));
    assert_eq!(e["kind"], "invalid");
    assert!(e.to_string().contains("zh-CN"), "{e}");
    assert_eq!(app.ok("get_settings", json!({}))["language"], "en");
}

#[test]
fn the_camera_is_asked_for_just_in_time_with_its_purpose() {
    let app = TestApp::fresh("ws://127.0.0.1:9");
    app.accept_policy();
    let preview = json!({ "camera": "test", "microphone": "test" });

    let ask = app.asks_first("start_preview", preview.clone(), "camera");
    assert_eq!(ask["title"], "Using the camera");
    assert!(
        ask["purpose"]
            .as_str()
            .is_some_and(|p| p.contains("video conferencing")),
        "{ask}"
    );

    app.ok(
        "set_privacy_choice",
        json!({ "id": "camera", "granted": false }),
    );
    let denied = app.err("start_preview", preview.clone());
    assert_eq!(denied["kind"], "consent_denied", "{denied}");
    assert!(
        app.next_frame("self", 0).is_none(),
        "a frame without consent"
    );

    app.grant("camera");
    let ask = app.err("start_preview", preview.clone());
    assert_eq!(ask["permission"], "microphone", "{ask}");
    app.grant("microphone");
    app.ok("start_preview", preview);

    // The self-view is the live test pattern at its full rate (30 fps).
    let stamped = app.count_stamped_frames("self", Duration::from_secs(2));
    assert!(
        stamped >= 45,
        "only {stamped} stamped self-view frames in 2 s"
    );
    app.ok("stop_preview", json!({}));
}

#[test]
fn settings_persist_and_bad_input_gets_a_clear_error() {
    let dir = support::scratch_dir("settings");
    let vault: Arc<dyn KeyVault> = Arc::new(MemoryVault::default());
    {
        let app = TestApp::new(&dir, "ws://127.0.0.1:9", Arc::clone(&vault));
        app.accept_policy();
        let settings = json!({
            "displayName": "Ada Lovelace", "camera": "test", "microphone": null, "speaker": "none",
            "logUploadUrl": "", "iceServers": ["turn:turn.example.org:3478"],
            "iceUsername": "ada", "iceCredential": "s3cret", "relayOnly": true,
            "originalSound": true, "language": "",
            "recordingsFolder": dir.display().to_string(),
        });
        app.ok("set_settings", json!({ "settings": settings }));
        assert_eq!(app.ok("get_settings", json!({})), settings);
        // Recordings go into a folder that exists, named in full.
        for folder in ["videos", "/no/such/folder"] {
            let mut elsewhere = settings.clone();
            elsewhere["recordingsFolder"] = json!(folder);
            assert_eq!(
                app.err("set_settings", json!({ "settings": elsewhere }))["kind"],
                "invalid"
            );
        }
        let bad = json!({ "settings": { "displayName": "Ada\u{7}", "camera": null, "microphone": null, "speaker": null } });
        assert_eq!(app.err("set_settings", bad)["kind"], "invalid");
        // A relay the call could not use is refused when saved, saying why.
        let mut no_password = settings.clone();
        no_password["iceCredential"] = json!("");
        let err = app.err("set_settings", json!({ "settings": no_password }));
        assert_eq!(err["kind"], "invalid");
        assert!(err.to_string().contains("credential"), "{err}");
        // A reply the command cannot parse is an error, not a panic.
        assert!(
            app.invoke("set_settings", json!({ "settings": 5 }))
                .is_err()
        );
    }
    // A second start reads what the first saved (same key, same file).
    let app = TestApp::new(&dir, "ws://127.0.0.1:9", vault);
    assert_eq!(app.ok("app_status", json!({}))["policy"]["accepted"], true);
    let kept = app.ok("get_settings", json!({}));
    assert_eq!(kept["displayName"], "Ada Lovelace");
    assert_eq!(kept["originalSound"], true);

    let target = app.ok(
        "parse_meeting",
        json!({ "input": "talkline://join?server=ws%3A%2F%2F127.0.0.1%3A8188&room=42&pin=x" }),
    );
    assert_eq!(
        target,
        json!({ "room": 42, "server": "ws://127.0.0.1:8188", "hasPin": true })
    );
    assert_eq!(
        app.ok("parse_meeting", json!({ "input": " 98-76 " }))["server"],
        "ws://127.0.0.1:9"
    );
    for input in [
        "",
        "abc",
        "talkline://join?room=1",
        "talkline://join?server=http://x&room=1",
        "https://example.org/j/1",
        "talkline://join?server=ws://h&room=99999999999999999999",
    ] {
        let e = app.err("parse_meeting", json!({ "input": input }));
        assert_eq!(e["kind"], "link", "{input:?}: {e}");
    }
    let no_name = json!({ "request": { "input": "1234", "displayName": "  ", "camera": "none", "microphone": "none", "speaker": "none" } });
    assert_eq!(app.err("join", no_name)["kind"], "invalid");
    assert_eq!(app.err("leave", json!({}))["kind"], "state");
    assert_eq!(
        app.err("switch_device", json!({ "kind": "toaster", "id": null }))["kind"],
        "invalid"
    );
    // "No output" has nothing to test; an output that is not there says so.
    let e = app.err("test_speaker", json!({ "speaker": "none" }));
    assert_eq!(e["kind"], "invalid", "{e}");
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("choose a speaker")),
        "{e}"
    );
    let e = app.err("test_speaker", json!({ "speaker": "speaker:Nowhere" }));
    assert_eq!(e["kind"], "media", "{e}");
}

#[test]
fn a_server_that_is_down_is_reported_quickly_as_unreachable() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let app = TestApp::fresh(&format!("ws://127.0.0.1:{port}"));
    app.accept_policy();
    let started = Instant::now();
    let e = app.err(
        "join",
        json!({ "request": { "input": "1234", "displayName": "Ada", "camera": "none", "microphone": "none", "speaker": "none" } }),
    );
    assert_eq!(e["kind"], "unreachable", "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(app.ok("app_status", json!({}))["inMeeting"], false);
}

#[test]
fn the_app_joins_a_janus_room_and_shows_who_is_there() {
    let janus = support::Janus::start();
    let mut bob = support::Client::join(&janus.link(1234), "Bob", &["--duration", "40"]);
    bob.wait_for("joined meeting 1234", Duration::from_secs(10));

    let (app, events) = TestApp::recording(&janus.url());
    app.accept_policy();
    app.grant("camera");
    app.grant("microphone");
    let joined = app.ok(
        "join",
        json!({ "request": { "input": janus.link(1234), "displayName": "App", "camera": "test", "microphone": "test", "speaker": "none" } }),
    );
    assert_eq!(joined["room"], 1234);
    assert_eq!(app.ok("app_status", json!({}))["inMeeting"], true);
    let again = json!({ "request": { "input": "1234", "displayName": "App", "camera": "none", "microphone": "none", "speaker": "none" } });
    assert_eq!(app.err("join", again)["kind"], "state");

    let bob_id = match events.wait_for("participant_joined", Duration::from_secs(10), |e| {
        matches!(e, AppEvent::ParticipantJoined { participant } if participant.display == "Bob")
    }) {
        AppEvent::ParticipantJoined { participant } => participant.id,
        _ => unreachable!(),
    };
    bob.wait_for("+ App joined", Duration::from_secs(10));

    // Bob's test pattern, decoded, on Bob's tile at (nearly) its full rate.
    let stamped = app.count_stamped_frames(&bob_id.to_string(), Duration::from_secs(4));
    assert!(stamped >= 60, "only {stamped} stamped frames of Bob in 4 s");
    // Our own camera, on the self tile, while in the call.
    assert!(app.count_stamped_frames("self", Duration::from_secs(1)) >= 15);
    reads_every_tile_encoded_in_one_request(&app, &bob_id.to_string());

    // Bob's volume here: a participant in the call, up to 200%.
    app.ok(
        "set_participant_volume",
        json!({ "feedId": bob_id, "percent": 150 }),
    );
    let too_loud = app.err(
        "set_participant_volume",
        json!({ "feedId": bob_id, "percent": 500 }),
    );
    assert_eq!(too_loud["kind"], "invalid", "{too_loud}");
    let nobody = app.err(
        "set_participant_volume",
        json!({ "feedId": 7, "percent": 50 }),
    );
    assert_eq!(nobody["kind"], "state", "{nobody}");
    // The layer of Bob's video his tile needs (Bob sends one layer, which
    // Janus relays whatever is asked; the CLI's simulcast test shows the
    // switch).
    app.ok(
        "set_video_layer",
        json!({ "feedId": bob_id, "layer": "low" }),
    );
    let no_layer = app.err(
        "set_video_layer",
        json!({ "feedId": bob_id, "layer": "huge" }),
    );
    assert_eq!(no_layer["kind"], "invalid", "{no_layer}");
    let nobody = app.err("set_video_layer", json!({ "feedId": 7, "layer": "low" }));
    assert_eq!(nobody["kind"], "state", "{nobody}");
    // Original sound from the meeting: taken by the call, kept for later.
    app.ok("set_original_sound", json!({ "on": true }));
    assert_eq!(app.ok("get_settings", json!({}))["originalSound"], true);
    app.ok("set_original_sound", json!({ "on": false }));

    let seen = bob.output().len();
    app.ok("set_audio_muted", json!({ "muted": true }));
    bob.wait_for_since("~ App microphone muted", seen, Duration::from_secs(5));
    events.wait_for("self_muted", Duration::from_secs(2), |e| {
        matches!(
            e,
            AppEvent::SelfMuted {
                audio_muted: true,
                ..
            }
        )
    });
    events.wait_for("levels", Duration::from_secs(2), |e| {
        matches!(e, AppEvent::Levels { remotes, .. } if remotes.contains_key(&bob_id.to_string()))
    });

    app.ok("leave", json!({}));
    bob.wait_for("- App left", Duration::from_secs(5));
    assert_eq!(app.ok("app_status", json!({}))["inMeeting"], false);
    let recent = app.ok("recent_meetings", json!({}));
    assert_eq!(recent[0]["room"], 1234, "{recent}");
    bob.stop();
}

/// A user with no camera and no microphone joins: nothing stands in for
/// them (no test card, no tone), everyone sees both off, and unmuting says
/// why it cannot. A camera chosen mid-call is sent at once, without a
/// rejoin, and "No camera" lets go of it again.
#[test]
fn a_user_without_devices_joins_with_both_off_and_adds_a_camera_mid_call() {
    let janus = support::Janus::start();
    let mut bob = support::Client::join(
        &janus.link(1234),
        "Bob",
        &["--camera", "none", "--mic", "none", "--duration", "30"],
    );
    bob.wait_for("joined meeting 1234", Duration::from_secs(10));

    let (app, events) = TestApp::recording(&janus.url());
    app.accept_policy();
    app.grant("camera");
    let joined = app.ok(
        "join",
        json!({ "request": { "input": "1234", "displayName": "App", "camera": "none", "microphone": "none", "speaker": "none" } }),
    );
    // Asked to join with both on, the app joins with both off: it has
    // neither.
    assert_eq!(
        (&joined["audioMuted"], &joined["videoMuted"]),
        (&json!(true), &json!(true)),
        "{joined}"
    );
    bob.wait_for("+ App joined", Duration::from_secs(10));
    // The invitation names the server the bare ID joined on.
    let invitation = app.ok("meeting_invitation", json!({}));
    assert_eq!(
        invitation["link"],
        json!(format!("talkline://join?server={}&room=1234", janus.url()))
    );
    let width = invitation["qrWidth"].as_u64().unwrap_or(0) as usize;
    let rows = invitation["qrRows"].as_str().unwrap_or_default();
    assert!(width >= 21 && rows.len() == width * width, "{invitation}");
    assert!(rows.chars().all(|c| c == '0' || c == '1'), "{invitation}");
    for (cmd, device) in [
        ("set_audio_muted", "microphone"),
        ("set_video_muted", "camera"),
    ] {
        let e = app.err(cmd, json!({ "muted": false }));
        assert_eq!(e["kind"], "state", "{e}");
        let message = e["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&format!("no {device}")) && message.contains("Devices"),
            "{message}"
        );
    }
    std::thread::sleep(Duration::from_secs(2));

    // The test pattern, chosen now, goes out on the track negotiated at
    // the join: Bob sees the camera come on and decodes its frames.
    let seen = bob.output().len();
    app.ok("switch_device", json!({ "kind": "camera", "id": "test" }));
    app.ok("set_video_muted", json!({ "muted": false }));
    bob.wait_for_since(
        "~ App microphone muted, camera on",
        seen,
        Duration::from_secs(5),
    );
    std::thread::sleep(Duration::from_secs(5));

    // "No camera" again: released, and shown off to everyone.
    let seen = bob.output().len();
    let mark = events.mark();
    app.ok("switch_device", json!({ "kind": "camera", "id": "none" }));
    bob.wait_for_since(
        "~ App microphone muted, camera off",
        seen,
        Duration::from_secs(5),
    );
    events.wait_for_after(mark, "self_muted", Duration::from_secs(2), |e| {
        matches!(
            e,
            AppEvent::SelfMuted {
                audio_muted: true,
                video_muted: true,
            }
        )
    });
    assert_eq!(
        app.err("set_video_muted", json!({ "muted": false }))["kind"],
        "state"
    );

    // The window's close button in the meeting asks first; the page's
    // answer lets the next close ask again instead of closing.
    assert!(!app.core.window_may_close(), "closed mid-meeting unasked");
    events.wait_for("close_requested", Duration::from_secs(2), |e| {
        matches!(e, AppEvent::CloseRequested)
    });
    app.ok("close_request_answered", json!({}));
    std::thread::sleep(talkline_client::close_guard::UNANSWERED_AFTER);
    assert!(!app.core.window_may_close(), "an answered question closed");
    std::thread::sleep(Duration::from_secs(1));
    app.ok("leave", json!({}));
    bob.wait_for("- App left", Duration::from_secs(5));
    assert!(app.core.window_may_close(), "kept open outside a meeting");
    assert_eq!(app.err("meeting_invitation", json!({}))["kind"], "state");
    bob.stop();
    let stats = bob.stats();
    let from_app = support::remote(&stats, "App");
    let decoded = from_app["video_frames_decoded"].as_u64().unwrap_or(0);
    // About 5 s at 30 fps with the camera on; none before, none after.
    assert!(
        (100..=240).contains(&decoded),
        "Bob decoded {decoded} frames of App: {from_app}"
    );
    assert_eq!(
        from_app["audio_frames_decoded"].as_u64(),
        Some(0),
        "a user without a microphone sent sound: {from_app}"
    );
}

/// The window's VP8 path: one request for Bob's tile and the self-view
/// brings both, each starting at a keyframe, then every frame in order;
/// what arrives decodes to the stamped test pattern.
fn reads_every_tile_encoded_in_one_request(app: &TestApp, bob: &str) {
    let mut cursors = [(bob, 0u64), ("self", 0u64)];
    let mut decoders = [
        Vp8Decoder::new().expect("decoder"),
        Vp8Decoder::new().expect("decoder"),
    ];
    let mut picture = VideoFrame::new(2, 2).expect("frame");
    let mut stamped = [0u32; 2];
    let deadline = Instant::now() + Duration::from_secs(6);
    while Instant::now() < deadline && stamped.iter().any(|&n| n < 30) {
        let reply = app.next_encoded(&cursors);
        for (index, frames) in reply {
            let i = index as usize;
            let (tile, after) = cursors[i];
            let first = frames.first().expect("a tile in the reply has frames");
            if after == 0 {
                assert!(first.1, "{tile}: a new reader starts at a keyframe");
            } else {
                assert!(
                    first.0 == after + 1 || first.1,
                    "{tile}: after {after} came {} without a keyframe",
                    first.0
                );
            }
            for (seq, _, data) in &frames {
                if decoders[i]
                    .decode(data, &mut picture)
                    .expect("decodable VP8")
                    && read_stamp(&picture).is_some()
                {
                    stamped[i] += 1;
                }
                cursors[i].1 = *seq;
            }
        }
    }
    assert!(
        stamped.iter().all(|&n| n >= 30),
        "stamped frames decoded: {stamped:?}"
    );
    // A window that comes back after a while gets both tiles' frames in
    // one reply, each following on from where it stopped.
    std::thread::sleep(Duration::from_millis(200));
    let reply = app.next_encoded(&cursors);
    let continued: Vec<(u32, bool)> = reply
        .iter()
        .map(|(i, frames)| (*i, frames[0].0 == cursors[*i as usize].1 + 1 || frames[0].1))
        .collect();
    assert_eq!(
        continued,
        vec![(0, true), (1, true)],
        "one reply, both tiles"
    );
    // The window turning to pictures hands Bob's stream back to the core,
    // which asks Bob for a keyframe to start from: through Janus, which
    // passes on one request a second, well before its own 5 s schedule.
    let decoded_here = app.count_stamped_frames(bob, Duration::from_secs(4));
    assert!(
        decoded_here >= 45,
        "{decoded_here} frames decoded after the handover"
    );

    // A tile with nothing to show: the window says how long to wait, and
    // the core never waits longer than half a second.
    for (wait_ms, within) in [(8u64, 250u128), (60_000, 1500)] {
        let started = Instant::now();
        let reply = app.invoke(
            "next_encoded",
            json!({ "tiles": [{ "tile": "nobody", "after": 0 }], "waitMs": wait_ms }),
        );
        let took = started.elapsed().as_millis();
        assert!(
            matches!(reply, Ok(InvokeResponseBody::Raw(ref b)) if b.is_empty()),
            "{reply:?}"
        );
        assert!(took < within, "waited {took} ms for waitMs {wait_ms}");
    }

    let too_many: Vec<Value> = (0..65)
        .map(|i| json!({ "tile": format!("t{i}"), "after": 0 }))
        .collect();
    let e = app.err("next_encoded", json!({ "tiles": too_many }));
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("65 tiles")),
        "{e}"
    );
    // Malformed arguments are refused by Tauri before the core sees them.
    for (args, says) in [
        (
            json!({ "tiles": [{ "tile": bob }] }),
            "missing field `after`",
        ),
        (json!({ "tiles": "all" }), "invalid type"),
    ] {
        match app.invoke("next_encoded", args) {
            Err(Value::String(e)) => assert!(e.contains(says), "{e}"),
            other => panic!("next_encoded took malformed arguments: {other:?}"),
        }
    }
}

#[test]
fn withdrawing_consent_mid_call_leaves_no_personal_data_and_exits() {
    let janus = support::Janus::start();
    let mut bob = support::Client::join(&janus.link(1234), "Bob", &["--duration", "40"]);
    bob.wait_for("joined meeting 1234", Duration::from_secs(10));

    let root = support::scratch_dir("withdraw");
    let vault = Arc::new(MemoryVault::default());
    let mut config = CoreConfig::in_dir(
        root.join("data"),
        ServerUrl::parse(&janus.url()).expect("server url"),
        Arc::clone(&vault) as Arc<dyn KeyVault>,
    );
    config.cache_dirs = vec![root.join("cache")];
    config.webview_dirs = vec![root.join("webview")];
    config.export_dir = root.join("downloads");
    let logs = Arc::clone(&config.logs);
    let app = TestApp::with_config(config);
    let exited = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = Arc::clone(&exited);
    app.core.set_exit_hook(Box::new(move || {
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    }));

    const NAME: &str = "Zelda Quintana";
    app.accept_policy();
    app.grant("camera");
    app.grant("microphone");
    app.ok(
        "set_privacy_choice",
        json!({ "id": "beauty", "granted": true }),
    );
    app.ok(
        "set_settings",
        json!({ "settings": { "displayName": NAME, "camera": "test", "microphone": null, "speaker": null } }),
    );
    app.ok(
        "join",
        json!({ "request": { "input": "1234", "displayName": NAME, "camera": "test", "microphone": "test", "speaker": "none" } }),
    );
    bob.wait_for(&format!("+ {NAME} joined"), Duration::from_secs(10));
    // What else the app keeps: a cache, the webview's storage, a custom
    // background, a log line.
    for dir in ["cache", "webview", "data/backgrounds"] {
        std::fs::create_dir_all(root.join(dir)).expect("dir");
    }
    std::fs::write(root.join("cache/page.bin"), NAME).expect("cache file");
    std::fs::write(root.join("webview/storage.db"), NAME).expect("webview file");
    std::fs::write(root.join("data/backgrounds/me.jpg"), NAME).expect("background");
    logs.append(b"joined a meeting\n", 1_796_000_000)
        .expect("log");

    // Everything kept is shown, and a complete copy can be taken.
    let data = app.ok("personal_data", json!({}));
    assert_eq!(data["meetings"][0]["display_name"], NAME, "{data}");
    assert_eq!(data["backgrounds"], json!(["me.jpg"]));
    assert_eq!(data["logs"][0]["name"], "talkline-2026-11-30.log", "{data}");
    assert!(
        data["consent"]
            .as_array()
            .is_some_and(|c| c.iter().any(|r| r["subject"] == "feature:beauty")),
        "{data}"
    );
    let export = app.ok("export_personal_data", json!({}));
    let export: Value = serde_json::from_slice(
        &std::fs::read(export.as_str().expect("the export's path")).expect("export file"),
    )
    .expect("JSON export");
    assert_eq!(export["meetings"][0]["room"], 1234);
    assert_eq!(export["logs"][0]["text"], "joined a meeting\n");

    let report = app.ok("withdraw_consent", json!({}));
    assert!(
        exited.load(std::sync::atomic::Ordering::SeqCst),
        "the app did not exit"
    );
    assert!(
        report["deleted"].as_array().is_some_and(|d| d.len() >= 4),
        "{report}"
    );
    bob.wait_for(&format!("- {NAME} left"), Duration::from_secs(5));
    assert!(
        vault.load().expect("vault").is_none(),
        "the key is still kept"
    );
    for dir in ["data", "cache", "webview"] {
        assert!(!root.join(dir).exists(), "{dir} is still there");
    }
    // Only the user's own export remains.
    let left: Vec<_> = std::fs::read_dir(&root)
        .expect("root")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, ["downloads"], "left behind: {left:?}");
    // Nothing is written again, and the app refuses to keep anything.
    logs.append(b"after\n", 1_796_000_000).expect("log");
    assert_eq!(app.err("get_settings", json!({}))["kind"], "state");
    assert!(!root.join("data").exists(), "data written after withdrawal");
    bob.stop();
}

/// A one-request HTTP server on 127.0.0.1: returns the port and a handle
/// that yields the request it received (or `None` if none came).
fn one_request_server(
    status: &'static str,
    wait: Duration,
) -> (u16, std::thread::JoinHandle<Option<String>>) {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    let handle = std::thread::spawn(move || {
        let deadline = Instant::now() + wait;
        let (mut conn, _) = loop {
            match listener.accept() {
                Ok(c) => break c,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(_) => return None,
            }
        };
        conn.set_nonblocking(false).ok()?;
        conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let mut request = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            let n = conn.read(&mut buf).ok()?;
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request);
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length = text[..head_end]
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if request.len() >= head_end + 4 + length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let reply = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        conn.write_all(reply.as_bytes()).ok()?;
        Some(String::from_utf8_lossy(&request).into_owned())
    });
    (port, handle)
}

#[test]
fn logs_are_uploaded_only_when_the_user_asks_with_consent_on() {
    let root = support::scratch_dir("upload");
    let config = CoreConfig::in_dir(
        root.join("data"),
        ServerUrl::parse("ws://127.0.0.1:9").expect("server url"),
        Arc::new(MemoryVault::default()),
    );
    let logs = Arc::clone(&config.logs);
    let app = TestApp::with_config(config);
    app.accept_policy();
    logs.append(b"call ended: 2 participants\n", 1_796_000_000)
        .expect("log");
    // Off by default: asking is refused, and nothing reaches the server.
    let (port, trap) = one_request_server("200 OK", Duration::from_secs(1));
    let url = format!("http://127.0.0.1:{port}/logs");
    let settings = |url: &str| json!({ "settings": { "displayName": "", "camera": null, "microphone": null, "speaker": null, "logUploadUrl": url } });
    assert_eq!(
        app.err("set_settings", settings("ftp://127.0.0.1/x"))["kind"],
        "invalid"
    );
    assert_eq!(
        app.err("set_settings", settings("http://support.example/logs"))["kind"],
        "invalid",
        "logs may leave the machine only over https"
    );
    app.ok("set_settings", settings(&url));
    assert_eq!(app.err("upload_logs", json!({}))["kind"], "consent_denied");
    assert!(
        trap.join().expect("server thread").is_none(),
        "logs were sent without consent"
    );
    app.ok(
        "set_privacy_choice",
        json!({ "id": "log-upload", "granted": true }),
    );
    let (port, server) = one_request_server("200 OK", Duration::from_secs(15));
    app.ok(
        "set_settings",
        settings(&format!("http://127.0.0.1:{port}/logs")),
    );
    let sent = app.ok("upload_logs", json!({}));
    let request = server.join().expect("server thread").expect("a request");
    assert!(request.starts_with("POST /logs HTTP/1.1"), "{request}");
    assert!(
        request.contains("===== talkline-2026-11-30.log =====\ncall ended: 2 participants\n"),
        "{request}"
    );
    assert!(sent.as_u64().is_some_and(|n| n > 20), "{sent}");

    // A server that refuses, and one that is not there, are told apart.
    let (port, server) = one_request_server("403 Forbidden", Duration::from_secs(15));
    app.ok(
        "set_settings",
        settings(&format!("http://127.0.0.1:{port}/logs")),
    );
    let refused = app.err("upload_logs", json!({}));
    assert_eq!(refused["kind"], "refused", "{refused}");
    assert!(server.join().expect("server thread").is_some());
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead = closed.local_addr().expect("addr").port();
    drop(closed);
    app.ok(
        "set_settings",
        settings(&format!("http://127.0.0.1:{dead}/logs")),
    );
    assert_eq!(app.err("upload_logs", json!({}))["kind"], "unreachable");
}

#[test]
fn beauty_and_backgrounds_need_their_consent_and_apply_live_to_the_self_view() {
    let app = TestApp::fresh("ws://127.0.0.1:9");
    app.accept_policy();
    app.grant("camera");
    assert_eq!(
        app.ok("get_effects", json!({})),
        json!({ "background": "none", "beauty": 0.0 })
    );
    app.ok(
        "start_preview",
        json!({ "camera": "test", "microphone": "none" }),
    );
    // Whether the self-view's latest pictures carry a readable stamp. The
    // model takes about three quarters of the test pattern for a person;
    // the stamp cells are in the rest, which a blurred background smears.
    let mut after = 0;
    let mut stamped = |app: &TestApp| {
        let mut readable = 0;
        for _ in 0..5 {
            let (seq, frame) = app.next_frame("self", after).expect("a self-view frame");
            after = seq;
            readable += usize::from(read_stamp(&frame).is_some());
        }
        readable
    };
    assert_eq!(stamped(&app), 5, "the plain test pattern is stamped");
    let choice = |background: &str, beauty: f64| json!({ "choice": { "background": background, "beauty": beauty } });
    // Applied from the next frame; pictures already on their way, or a
    // smeared stamp that passes its check by chance, may still read: five
    // in a row without a stamp, within a bound, say the blur is on.
    let mut settles = |app: &TestApp, readable: usize, failure: &str| {
        let deadline = Instant::now() + Duration::from_secs(3);
        while stamped(app) != readable {
            assert!(Instant::now() < deadline, "{failure}");
        }
    };
    app.ok("set_effects", choice("blur", 0.0));
    settles(&app, 0, "the blur did not reach the running camera");
    // The choice is kept for the next start, and switching it off is live.
    assert_eq!(app.ok("get_effects", json!({}))["background"], "blur");
    app.ok("set_effects", choice("none", 0.0));
    settles(&app, 5, "the blur did not switch off");

    // Beauty processes the face: it asks first, with its own explanation.
    let asked = app.asks_first("set_effects", choice("none", 0.5), "beauty");
    assert!(
        asked["purpose"]
            .as_str()
            .is_some_and(|p| p.contains("on this device only"))
    );
    app.ok(
        "set_privacy_choice",
        json!({ "id": "beauty", "granted": true }),
    );
    app.ok("set_effects", choice("none", 0.5));
    assert_eq!(app.ok("get_effects", json!({}))["beauty"], 0.5);

    // Your own photo: refused without its consent, garbage refused always.
    let photo =
        std::fs::read(support::repo_root().join("assets/backgrounds/meadow.jpg")).expect("a JPEG");
    let refused = app.invoke_raw("add_background", photo.clone());
    assert_eq!(
        refused.expect_err("no consent yet")["permission"],
        "custom-backgrounds"
    );
    app.ok(
        "set_privacy_choice",
        json!({ "id": "custom-backgrounds", "granted": true }),
    );
    let garbage = app.invoke_raw("add_background", b"GIF89a not really".to_vec());
    assert_eq!(garbage.expect_err("not a photo")["kind"], "invalid");
    let id = match app.invoke_raw("add_background", photo) {
        Ok(body) => body.deserialize::<Value>().expect("JSON"),
        Err(e) => panic!("add_background: {e}"),
    };
    let id = id.as_str().expect("the photo's id").to_string();
    assert!(id.starts_with("photo:"), "{id}");
    let options = app.ok("background_options", json!({}));
    assert!(
        options
            .as_array()
            .is_some_and(|o| o.iter().any(|b| b["id"] == id.as_str())),
        "{options}"
    );
    app.ok("set_effects", choice(&id, 0.0));
    assert_eq!(
        app.ok("personal_data", json!({}))["backgrounds"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    for bad in ["photo:../talkline.db", "beach"] {
        let e = app.err("set_effects", choice(bad, 0.0));
        assert_eq!(e["kind"], "invalid", "{bad}: {e}");
    }
    app.ok("stop_preview", json!({}));
}

/// A Y4M recording played as the scan camera: a second of an empty scene,
/// then `payload` held up as a QR code.
fn recording_of_a_code(dir: &std::path::Path, name: &str, payload: &str) -> String {
    use qr_picture::{Placement, frame_with_qr};
    let empty = VideoFrame::new(640, 360).expect("frame");
    let code = frame_with_qr(
        payload,
        640,
        360,
        Placement {
            angle_deg: 12.0,
            noise: 12,
            ..Default::default()
        },
    );
    let mut frames = vec![empty; 30];
    frames.extend(std::iter::repeat_n(code, 10));
    let path = dir.join(name);
    talkline_media::y4m::write_y4m(&path, &frames, 30).expect("the recording");
    format!("file:{}", path.display())
}

#[test]
fn a_meeting_qr_code_is_scanned_from_the_camera_or_a_picture_and_kept_only_with_consent() {
    const LINK: &str = "talkline://join?server=ws://10.1.2.3:8188&room=5150&pin=open%20sesame";
    let dir = support::scratch_dir("scan");
    let mut config = CoreConfig::in_dir(
        dir.join("data"),
        ServerUrl::parse("ws://127.0.0.1:9").expect("server"),
        Arc::new(MemoryVault::default()),
    );
    config.file_cameras = true;
    let app = TestApp::with_config(config);
    let events = Arc::new(Recorder::default());
    app.core
        .set_event_sink(Arc::clone(&events) as Arc<dyn EventSink>);
    let camera = recording_of_a_code(&dir, "meeting.y4m", LINK);
    let code_picture = qr_picture::png_of(&qr_picture::frame_with_qr(
        LINK,
        480,
        480,
        Default::default(),
    ));

    // Nothing before the policy, not even reading a picture.
    let early = app.invoke_raw("scan_qr_image", code_picture.clone());
    assert_eq!(early.expect_err("before the policy")["kind"], "policy");
    app.accept_policy();

    // The camera, just in time, with Appendix II's words, as for the pre-join.
    app.asks_first("start_scan", json!({ "camera": camera }), "camera");
    app.grant("camera");
    let started = Instant::now();
    app.ok("start_scan", json!({ "camera": camera }));
    // The window shows what the camera sees while it scans.
    assert!(
        app.next_frame("scan", 0).is_some(),
        "no picture in the scan tile"
    );
    let found = events.wait_for("qr_scanned", Duration::from_secs(10), |e| {
        matches!(e, AppEvent::QrScanned { .. })
    });
    eprintln!("code found {:?} after the camera opened", started.elapsed());
    let AppEvent::QrScanned { meeting } = found else {
        unreachable!()
    };
    assert_eq!(meeting.room, 5150);
    assert_eq!(meeting.server, "ws://10.1.2.3:8188");
    assert!(meeting.has_pin);
    // What the window fills in parses to the same meeting.
    let target = app.ok("parse_meeting", json!({ "input": meeting.input }));
    assert_eq!(
        target,
        json!({ "room": 5150, "server": "ws://10.1.2.3:8188", "hasPin": true })
    );
    app.ok("stop_scan", json!({}));
    assert!(
        app.next_frame("scan", 0).is_none(),
        "the camera's last picture outlived the scan"
    );
    let scans = app.ok("personal_data", json!({}))["scans"].clone();
    assert_eq!(scans.as_array().map(Vec::len), Some(1), "{scans}");
    assert_eq!(scans[0]["payload"], LINK);

    // A foreign code in view is explained, once, and nothing is kept.
    let foreign = recording_of_a_code(&dir, "shop.y4m", "https://shop.example/deal?id=7");
    app.ok("start_scan", json!({ "camera": foreign }));
    let refused = events.wait_for("qr_refused", Duration::from_secs(10), |e| {
        matches!(e, AppEvent::QrRefused { .. })
    });
    let AppEvent::QrRefused { message } = refused else {
        unreachable!()
    };
    assert!(
        message.contains("not a TalkLine meeting") && message.contains("shop.example"),
        "{message}"
    );
    std::thread::sleep(Duration::from_millis(700));
    app.ok("stop_scan", json!({}));
    let refusals = events
        .0
        .lock()
        .expect("recorder")
        .iter()
        .filter(|e| matches!(e, AppEvent::QrRefused { .. }))
        .count();
    assert_eq!(
        refusals, 1,
        "the same foreign code was reported again and again"
    );

    // A picked picture: the same meeting; foreign or broken pictures say why.
    let picked = match app.invoke_raw("scan_qr_image", code_picture.clone()) {
        Ok(body) => body.deserialize::<Value>().expect("JSON"),
        Err(e) => panic!("scan_qr_image: {e}"),
    };
    assert_eq!(picked["room"], 5150, "{picked}");
    assert_eq!(picked["input"], meeting.input.as_str());
    let shop = qr_picture::png_of(&qr_picture::frame_with_qr(
        "https://shop.example/",
        320,
        320,
        Default::default(),
    ));
    for (bytes, says) in [
        (shop, "not a TalkLine meeting"),
        (b"\x89PNG but not really".to_vec(), "cannot be opened"),
        (
            qr_picture::png_of(&VideoFrame::new(64, 64).expect("frame")),
            "no QR code",
        ),
    ] {
        let e = app
            .invoke_raw("scan_qr_image", bytes)
            .expect_err("not a meeting");
        assert_eq!(e["kind"], "link", "{e}");
        assert!(
            e["message"].as_str().is_some_and(|m| m.contains(says)),
            "{e}"
        );
    }
    let kept = |app: &TestApp| {
        app.ok("personal_data", json!({}))["scans"]
            .as_array()
            .map_or(0, Vec::len)
    };
    assert_eq!(kept(&app), 2, "the picked code was not kept");

    // Scan history off: codes still join, and nothing is kept.
    app.ok(
        "set_privacy_choice",
        json!({ "id": "scan-history", "granted": false }),
    );
    assert!(
        app.invoke_raw("scan_qr_image", code_picture.clone())
            .is_ok()
    );
    app.ok("start_scan", json!({ "camera": camera }));
    let scanned = |e: &AppEvent| matches!(e, AppEvent::QrScanned { .. });
    let deadline = Instant::now() + Duration::from_secs(10);
    while events
        .0
        .lock()
        .expect("recorder")
        .iter()
        .filter(|e| scanned(e))
        .count()
        < 2
    {
        assert!(
            Instant::now() < deadline,
            "the second camera scan found nothing"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    app.ok("stop_scan", json!({}));
    assert_eq!(kept(&app), 2, "a scan was kept with scan history off");

    // Delete history removes the records.
    app.ok("delete_history", json!({}));
    assert_eq!(kept(&app), 0);
    assert_eq!(
        app.err("start_scan", json!({ "camera": "none" }))["kind"],
        "invalid"
    );
}

#[test]
fn file_cameras_are_refused_unless_the_core_allows_them() {
    let dir = support::scratch_dir("file-camera");
    let camera = recording_of_a_code(&dir, "code.y4m", "talkline://join?server=ws://h&room=1");
    let app = TestApp::fresh("ws://127.0.0.1:9");
    app.accept_policy();
    app.grant("camera");
    let e = app.err("start_scan", json!({ "camera": camera }));
    assert_eq!(e["kind"], "invalid", "{e}");
    let e = app.err(
        "start_preview",
        json!({ "camera": camera, "microphone": "none" }),
    );
    assert_eq!(e["kind"], "invalid", "{e}");
}

#[test]
fn meetings_are_scheduled_listed_deleted_and_added_to_the_calendar_with_consent() {
    let dir = support::scratch_dir("schedule");
    let mut config = CoreConfig::in_dir(
        dir.join("data"),
        ServerUrl::parse("ws://127.0.0.1:9").expect("server"),
        Arc::new(MemoryVault::default()),
    );
    config.export_dir = dir.join("Downloads");
    let app = TestApp::with_config(config);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let request = |title: &str, starts_at: i64, minutes: u32, input: &str| json!({ "request": { "title": title, "startsAt": starts_at, "durationMinutes": minutes, "input": input } });
    assert_eq!(
        app.err(
            "schedule_meeting",
            request("Standup", now + 600, 15, "1234")
        )["kind"],
        "policy"
    );
    app.accept_policy();
    for (bad, kind) in [
        (request("  ", now + 600, 15, "1234"), "invalid"),
        (request("Standup", now + 600, 0, "1234"), "invalid"),
        (
            request("Standup", now + 600, 24 * 60 + 1, "1234"),
            "invalid",
        ),
        (request("Standup", now - 3600, 15, "1234"), "invalid"),
        (
            request("Standup", now + 600, 15, "https://example.org/j/1"),
            "link",
        ),
    ] {
        assert_eq!(
            app.err("schedule_meeting", bad.clone())["kind"],
            kind,
            "{bad}"
        );
    }

    let title = "Budget; Q3, final \\ draft";
    let later = app.ok(
        "schedule_meeting",
        request(
            title,
            now + 7200,
            45,
            "talkline://join?server=ws://10.0.0.9:8188&room=77&pin=p%3Bq",
        ),
    );
    let sooner = app.ok(
        "schedule_meeting",
        request("Standup", now + 600, 15, " 98-76 "),
    );
    // A bare ID is kept with the server it means today.
    assert_eq!(
        sooner["input"],
        "talkline://join?server=ws://127.0.0.1:9&room=9876"
    );
    assert_eq!(sooner["endsAt"], now + 600 + 15 * 60);
    let upcoming = app.ok("upcoming_meetings", json!({}));
    let titles: Vec<&str> = upcoming
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|m| m["title"].as_str())
        .collect();
    assert_eq!(titles, ["Standup", title], "soonest first");
    // Joining from the list uses the stored link as typed input.
    assert_eq!(
        app.ok("parse_meeting", json!({ "input": later["input"] })),
        json!({ "room": 77, "server": "ws://10.0.0.9:8188", "hasPin": true })
    );

    // The calendar is its own consent, asked with its explanation, and it
    // is the one "calendar" toggle Settings shows on a desktop.
    let ask = app.asks_first("add_to_calendar", json!({ "id": later["id"] }), "calendar");
    assert!(
        ask["purpose"]
            .as_str()
            .is_some_and(|p| p.contains("Downloads")),
        "{ask}"
    );
    let choices = app.ok("privacy_choices", json!({}));
    let calendar: Vec<&Value> = choices
        .as_array()
        .expect("choices")
        .iter()
        .filter(|c| c["id"] == "calendar")
        .collect();
    assert_eq!(calendar.len(), 1, "{choices}");
    assert_eq!(
        (
            calendar[0]["kind"].as_str(),
            calendar[0]["granted"].as_bool()
        ),
        (Some("feature"), Some(false))
    );
    assert!(
        !dir.join("Downloads").exists(),
        "a file was written without consent"
    );
    app.ok(
        "set_privacy_choice",
        json!({ "id": "calendar", "granted": true }),
    );
    let path = app.ok("add_to_calendar", json!({ "id": later["id"] }));
    let path = std::path::PathBuf::from(path.as_str().expect("a path"));
    assert!(
        path.starts_with(dir.join("Downloads")),
        "{}",
        path.display()
    );
    assert_eq!(path.extension().and_then(|e| e.to_str()), Some("ics"));
    let ics = std::fs::read_to_string(&path).expect("the .ics file");
    let unfolded = ics.replace("\r\n ", "");
    assert!(
        unfolded.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"),
        "{ics}"
    );
    assert!(
        unfolded.contains("SUMMARY:Budget\\; Q3\\, final \\\\ draft\r\n"),
        "{ics}"
    );
    assert!(
        unfolded.contains("URL:talkline://join?server=ws://10.0.0.9:8188&room=77&pin=p%3Bq\r\n"),
        "{ics}"
    );
    let starts = later["startsAt"].as_i64().expect("start");
    let dtstart = unfolded
        .lines()
        .find_map(|l| l.strip_prefix("DTSTART:"))
        .expect("DTSTART");
    assert!(dtstart.ends_with('Z') && dtstart.len() == 16, "{dtstart}");
    // The time of day, in UTC, of the start.
    let secs = starts.rem_euclid(86_400);
    assert_eq!(
        &dtstart[9..15],
        format!("{:02}{:02}{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    );

    // Your data shows them; deleting one leaves the other.
    let data = app.ok("personal_data", json!({}));
    assert_eq!(
        data["schedules"].as_array().map(Vec::len),
        Some(2),
        "{data}"
    );
    app.ok("delete_schedule", json!({ "id": sooner["id"] }));
    assert_eq!(
        app.err("delete_schedule", json!({ "id": sooner["id"] }))["kind"],
        "state"
    );
    assert_eq!(
        app.err("add_to_calendar", json!({ "id": sooner["id"] }))["kind"],
        "state"
    );
    let upcoming = app.ok("upcoming_meetings", json!({}));
    assert_eq!(upcoming.as_array().map(Vec::len), Some(1), "{upcoming}");
    assert_eq!(upcoming[0]["id"], later["id"]);
}

#[test]
fn system_settings_open_only_where_the_system_has_a_privacy_page() {
    let app = TestApp::fresh("ws://127.0.0.1:9");
    app.accept_policy();
    let e = app.err("open_system_settings", json!({ "permission": "toaster" }));
    assert_eq!(e["kind"], "invalid", "{e}");
    // Linux has no system-wide per-app camera page: nothing is launched,
    // and the window shows no button for it (settingsPage is false).
    if cfg!(target_os = "linux") {
        let e = app.err("open_system_settings", json!({ "permission": "camera" }));
        assert_eq!(e["kind"], "state", "{e}");
    }
}

/// The commands the UI calls (ui/src/api.ts), the ones the window's
/// capability allows, and the ones the app declares (build.rs) are one
/// list: nothing allowed that the UI does not use, nothing used that is
/// not allowed.
#[test]
fn the_capability_allows_exactly_what_the_ui_calls() {
    use std::collections::BTreeSet;
    let root = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo test"),
    );
    let read = |path: &str| {
        std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let api = read("../ui/src/api.ts");
    let called: BTreeSet<String> = api
        .split("call<")
        .skip(1)
        .filter_map(|rest| {
            let name = rest.split_once(">(\"")?.1;
            Some(name.split_once('"')?.0.to_string())
        })
        .collect();
    let capability: Value = serde_json::from_str(&read("capabilities/main.json")).expect("JSON");
    let allowed: BTreeSet<String> = capability["permissions"]
        .as_array()
        .expect("a permission list")
        .iter()
        .map(|p| {
            let p = p.as_str().expect("permission names");
            p.strip_prefix("allow-")
                .unwrap_or_else(|| panic!("{p} is not one of the app's commands"))
                .replace('-', "_")
        })
        .collect();
    let build = read("build.rs");
    let declared: BTreeSet<String> = build
        .split_once("const COMMANDS")
        .and_then(|(_, rest)| rest.split_once("];"))
        .expect("COMMANDS in build.rs")
        .0
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    assert!(called.len() > 30, "found only {called:?} in api.ts");
    assert_eq!(
        allowed.difference(&called).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "allowed but never called by the UI"
    );
    assert_eq!(
        called.difference(&allowed).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "called by the UI but not allowed"
    );
    assert_eq!(declared, allowed, "build.rs and the capability differ");
}

/// What Settings → About lists as the Rust crates built into the app: the
/// normal-dependency closure of talkline-app on every platform (proc
/// macros run at build time and ship nothing), grouped by licence, in
/// ui/src/licences.json. `TALKLINE_UPDATE_LICENCES=1` rewrites the file
/// after a dependency change; the test fails until it is rewritten.
#[test]
fn the_licence_list_is_the_dependency_tree() {
    use std::collections::{BTreeMap, BTreeSet};
    let root = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo test"),
    );
    let mut by_licence: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for krate in dependency_closure::shipped_with(&root.join("Cargo.toml"), "talkline-app") {
        // Our own crates are the app itself, not a bundled component.
        if krate.ours {
            continue;
        }
        let licence = krate.licence.map_or_else(
            || "its own licence file".to_string(),
            // The old "A/B" form means "A OR B".
            |l| l.split('/').map(str::trim).collect::<Vec<_>>().join(" OR "),
        );
        by_licence
            .entry(licence)
            .or_default()
            .insert(format!("{} {}", krate.name, krate.version));
    }
    let list: Vec<Value> = by_licence
        .into_iter()
        .map(|(licence, crates)| json!({ "licence": licence, "crates": crates }))
        .collect();
    let expected = serde_json::to_string_pretty(&list).expect("JSON") + "\n";
    let path = root.join("../ui/src/licences.json");
    if std::env::var_os("TALKLINE_UPDATE_LICENCES").is_some() {
        std::fs::write(&path, &expected).expect("write ui/src/licences.json");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "ui/src/licences.json is not the app's dependency tree: run \
         TALKLINE_UPDATE_LICENCES=1 cargo test --workspace --test commands licence"
    );
}

/// Every record logged in this test process: TalkLine's own from trace
/// level, the libraries' from info (what a user's log file can hold).
struct CapturedLogs(Mutex<String>);

impl log::Log for CapturedLogs {
    fn enabled(&self, meta: &log::Metadata) -> bool {
        meta.target().starts_with("talkline") || meta.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            let line = format!(
                "{} {}: {}\n",
                record.level(),
                record.target(),
                record.args()
            );
            self.0.lock().expect("log buffer").push_str(&line);
        }
    }

    fn flush(&self) {}
}

static CAPTURED_LOGS: CapturedLogs = CapturedLogs(Mutex::new(String::new()));

/// Turns capture on (once per process) and returns how much is already
/// captured, so a test reads only its own records.
fn capture_logs() -> usize {
    static ON: std::sync::Once = std::sync::Once::new();
    ON.call_once(|| {
        log::set_logger(&CAPTURED_LOGS).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Trace);
    });
    CAPTURED_LOGS.0.lock().expect("log buffer").len()
}

#[test]
fn no_personal_data_reaches_the_logs_in_a_call_and_a_consent_journey() {
    const NAME: &str = "Ottoline Vasquez-Brandt";
    const BOB: &str = "Bartholomew Quixley";
    const PIN: &str = "kumquat-7391";
    const TITLE: &str = "Merger with Initech";
    let janus = support::Janus::start();
    let link = format!("{}&pin={PIN}", janus.link(5678));
    let mut bob = support::Client::join(&link, BOB, &["--duration", "60"]);
    bob.wait_for("joined meeting 5678", Duration::from_secs(10));

    let from = capture_logs();
    let root = support::scratch_dir("private-logs");
    let mut config = CoreConfig::in_dir(
        root.join("data"),
        ServerUrl::parse(&janus.url()).expect("server url"),
        Arc::new(MemoryVault::default()),
    );
    config.export_dir = root.join("downloads");
    let app = TestApp::with_config(config);
    app.core.set_exit_hook(Box::new(|| {}));
    app.accept_policy();
    app.grant("camera");
    app.grant("microphone");
    app.ok(
        "set_settings",
        json!({ "settings": { "displayName": NAME, "camera": "test", "microphone": "test", "speaker": null } }),
    );
    let parsed = app.ok("parse_meeting", json!({ "input": link }));
    assert_eq!(parsed["room"], 5678, "{parsed}");
    app.ok(
        "join",
        json!({ "request": { "input": link, "displayName": NAME, "camera": "test", "microphone": "test", "speaker": "none" } }),
    );
    bob.wait_for(&format!("+ {NAME} joined"), Duration::from_secs(10));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    app.ok(
        "schedule_meeting",
        json!({ "request": { "title": TITLE, "startsAt": now + 3600, "durationMinutes": 30, "input": link } }),
    );
    // A wrong PIN and a malformed link are errors the log may tell of.
    let wrong = link.replace(PIN, "kumquat-0000");
    app.ok("leave", json!({}));
    bob.wait_for(&format!("- {NAME} left"), Duration::from_secs(5));
    let refused = app.err(
        "join",
        json!({ "request": { "input": wrong, "displayName": NAME, "camera": "none", "microphone": "none", "speaker": "none" } }),
    );
    assert_eq!(refused["kind"], "refused", "{refused}");
    app.ok("personal_data", json!({}));
    app.ok("export_personal_data", json!({}));
    app.ok("withdraw_consent", json!({}));
    bob.stop();
    // What the call's tasks log as they wind down counts too.
    std::thread::sleep(Duration::from_secs(2));

    let logs = CAPTURED_LOGS.0.lock().expect("log buffer")[from..].to_string();
    assert!(
        logs.contains("talkline_meeting::call") && logs.contains("participant"),
        "logging was not on: {logs}"
    );
    // Whole or in part, plain or as a link carries it; the room's
    // description (the server's title for it) too.
    let secrets = [
        NAME,
        "Ottoline",
        "Vasquez",
        "Ottoline%20Vasquez",
        BOB,
        "Bartholomew",
        "Quixley",
        PIN,
        "kumquat",
        TITLE,
        "Initech",
        link.as_str(),
        "whose PIN must never reach a log",
    ];
    for secret in secrets {
        assert!(
            !logs.contains(secret),
            "{secret:?} reached the logs:\n{}",
            logs.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn a_damaged_database_is_set_aside_at_the_users_word_never_deleted() {
    let dir = support::scratch_dir("damaged");
    std::fs::create_dir_all(&dir).expect("scratch");
    let database = dir.join("talkline.db");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&database, &garbage).expect("a damaged file");
    let vault: Arc<dyn KeyVault> = Arc::new(MemoryVault::default());
    let key = DatabaseKey::random();
    vault.save(&key).expect("a key");
    let app = TestApp::new(&dir, "ws://127.0.0.1:1", Arc::clone(&vault));

    // Said, with the way on offer; nothing else works meanwhile.
    let status = app.ok("app_status", json!({}));
    let message = status["storeError"].as_str().expect("a store error");
    assert!(message.contains("not a TalkLine database"), "{message}");
    assert_eq!(status["storeCanBeSetAside"], json!(true));
    assert_eq!(status["policy"]["accepted"], json!(false));
    let version = status["policy"]["version"].clone();
    app.err("accept_policy", json!({ "version": version }));

    let kept = app.ok("set_aside_database", json!({}));
    let kept = std::path::PathBuf::from(kept.as_str().expect("where the file is"));
    assert_eq!(std::fs::read(&kept).expect("the old file is kept"), garbage);
    assert!(
        kept.starts_with(&dir),
        "kept beside the new one: {}",
        kept.display()
    );
    // The key stays: it may be the one that opens the file set aside.
    let still = vault.load().expect("the vault").map(|k| k.to_hex());
    assert_eq!(still, Some(key.to_hex()), "the key was deleted");

    // A fresh start: the policy is asked for again and the store works.
    let status = app.ok("app_status", json!({}));
    assert_eq!(status["storeError"], Value::Null);
    assert_eq!(status["storeCanBeSetAside"], json!(false));
    app.accept_policy();
    app.ok("delete_history", json!({}));
    // A database that opens is never set aside.
    let refused = app.err("set_aside_database", json!({}));
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("nothing to set aside")),
        "{refused}"
    );
    assert_eq!(std::fs::read(&kept).expect("still kept"), garbage);
}

#[test]
fn a_database_another_talkline_holds_is_not_offered_to_be_set_aside() {
    let dir = support::scratch_dir("locked");
    let vault: Arc<dyn KeyVault> = Arc::new(MemoryVault::default());
    let first = TestApp::new(&dir, "ws://127.0.0.1:1", Arc::clone(&vault));
    first.accept_policy();
    let key = vault.load().expect("vault").expect("the first app's key");
    // Another process holding a write lock on the file, as a second app
    // in the middle of a write would.
    let holder = rusqlite_hold_write_lock(&dir.join("talkline.db"), &key);
    let second = TestApp::new(&dir, "ws://127.0.0.1:1", Arc::clone(&vault));
    let status = second.ok("app_status", json!({}));
    let message = status["storeError"].as_str().expect("a store error");
    assert!(message.contains("in use by another TalkLine"), "{message}");
    assert_eq!(status["storeCanBeSetAside"], json!(false));
    let refused = second.err("set_aside_database", json!({}));
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("left where it is")),
        "{refused}"
    );
    drop(holder);
    assert!(dir.join("talkline.db").exists(), "the file stays");
}

/// A second connection to the database that holds its write lock until
/// dropped.
fn rusqlite_hold_write_lock(path: &std::path::Path, key: &DatabaseKey) -> rusqlite::Connection {
    let other = rusqlite::Connection::open(path).expect("a second connection");
    other
        .execute_batch(&format!(
            "PRAGMA key = \"x'{}'\"; BEGIN EXCLUSIVE;",
            key.to_hex()
        ))
        .expect("an exclusive lock");
    other
}

/// Every icon the bundles list (tauri.conf.json) and the desktop sizes the
/// .deb installs: there, square, at the size its name says, drawn from
/// the one SVG by scripts/icons.sh; Windows' .ico and macOS' .icns hold
/// the sizes those systems ask for.
#[test]
fn every_icon_the_packages_list_is_there_at_its_size() {
    let shell = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("run by cargo test"),
    );
    let conf: Value = serde_json::from_str(
        &std::fs::read_to_string(shell.join("tauri.conf.json")).expect("tauri.conf.json"),
    )
    .expect("tauri.conf.json is JSON");
    let listed: Vec<&str> = conf["bundle"]["icon"]
        .as_array()
        .expect("bundle.icon")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let png_side = |path: &std::path::Path| {
        let (w, h) = image::image_dimensions(path)
            .unwrap_or_else(|e| panic!("{}: {e} (run scripts/icons.sh)", path.display()));
        assert_eq!(w, h, "{} is not square", path.display());
        w
    };
    for name in [
        "icon.png",
        "32x32.png",
        "128x128.png",
        "128x128@2x.png",
        "icon.ico",
        "icon.icns",
    ] {
        assert!(
            listed.contains(&format!("icons/{name}").as_str()),
            "bundle.icon lacks {name}"
        );
    }
    for icon in &listed {
        let path = shell.join(icon);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{icon}: {e}"));
        match icon.rsplit('.').next() {
            Some("png") => {
                let side = png_side(&path);
                let wanted = match *icon {
                    "icons/32x32.png" => 32,
                    "icons/128x128.png" => 128,
                    "icons/128x128@2x.png" => 256,
                    _ => 512,
                };
                assert_eq!(side, wanted, "{icon}");
            }
            Some("ico") => {
                // ICONDIR: reserved 0, type 1, count; then 16-byte entries
                // whose first byte is the width (0 for 256).
                assert_eq!(&bytes[..4], &[0, 0, 1, 0], "{icon} is not an icon file");
                let count = usize::from(u16::from_le_bytes([bytes[4], bytes[5]]));
                let sides: Vec<u32> = (0..count)
                    .map(|i| match bytes[6 + 16 * i] {
                        0 => 256,
                        w => u32::from(w),
                    })
                    .collect();
                for side in [16, 32, 48, 256] {
                    assert!(sides.contains(&side), "{icon} lacks {side}px: {sides:?}");
                }
            }
            Some("icns") => {
                assert_eq!(&bytes[..4], b"icns", "{icon} is not an icns file");
                let total = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
                assert_eq!(total, bytes.len(), "{icon}'s length");
                let mut types = Vec::new();
                let mut at = 8;
                while at + 8 <= bytes.len() {
                    types.push(String::from_utf8_lossy(&bytes[at..at + 4]).into_owned());
                    let len = u32::from_be_bytes([
                        bytes[at + 4],
                        bytes[at + 5],
                        bytes[at + 6],
                        bytes[at + 7],
                    ]);
                    at += (len as usize).max(8);
                }
                // 16, 32, 128, 256, 512 and 1024 (512@2x) pixels.
                for (side, kinds) in [
                    (16, ["is32", "icp4"]),
                    (32, ["il32", "icp5"]),
                    (128, ["it32", "ic07"]),
                    (256, ["ic08", "ic08"]),
                    (512, ["ic09", "ic09"]),
                    (1024, ["ic10", "ic10"]),
                ] {
                    assert!(
                        kinds.iter().any(|k| types.iter().any(|t| t == k)),
                        "{icon} lacks {side}px: {types:?}"
                    );
                }
            }
            other => panic!("{icon}: an icon of kind {other:?}"),
        }
    }
    let hicolor = shell.join("icons/hicolor");
    for side in [16, 24, 32, 48, 64, 128, 256, 512] {
        let path = hicolor.join(format!("{side}x{side}.png"));
        assert_eq!(png_side(&path), side, "{}", path.display());
    }
}
