//! End-to-end calls through a real Janus on loopback with `talkline` CLI
//! clients. Every figure asserted here is read back from the media itself:
//! frame numbers stamped into the test pattern, tone frequencies heard.

#[path = "../../crates/media/tests/support/echo_room.rs"]
mod echo_room;
#[path = "support/playback.rs"]
mod playback;
#[path = "support/portal_desktop.rs"]
mod portal_desktop;
#[path = "../../crates/media/tests/support/pulse.rs"]
mod pulse;
#[path = "support/mod.rs"]
mod support;
#[path = "support/x11_window.rs"]
mod x11_window;

mod board;
mod chat;
mod hosting;
mod recording;
mod screen_share;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use support::{
    Client, Janus, assert_hears, assert_recovered, assert_sees, back_after_outage, outage_noticed,
    remote,
};

#[test]
fn two_clients_see_and_hear_each_other() {
    let janus = Janus::start();
    let link = janus.link(1234);
    let played = support::scratch_dir("speaker").join("alice-heard.wav");
    let played_arg = played.display().to_string();
    let mut alice = Client::join(
        &link,
        "Alice",
        &[
            "--mic",
            "test:440",
            "--duration",
            "16",
            "--speaker",
            &played_arg,
        ],
    );
    alice.wait_for("joined meeting 1234", Duration::from_secs(10));
    // Bob logs everything TalkLine itself logs; none of it may name anyone.
    let mut bob = Client::join_with_env(
        &link,
        "Bob",
        &["--mic", "test:1000", "--duration", "12"],
        &[(
            "RUST_LOG",
            "talkline=trace,talkline_meeting=trace,talkline_media=trace",
        )],
    );
    bob.wait_for("+ Alice joined", Duration::from_secs(10));
    alice.wait_for("+ Bob joined", Duration::from_secs(10));

    assert!(
        bob.wait(Duration::from_secs(25)).success(),
        "bob: {}",
        bob.errors()
    );
    alice.wait_for("- Bob left", Duration::from_secs(5));
    assert!(
        alice.wait(Duration::from_secs(25)).success(),
        "alice: {}",
        alice.errors()
    );

    let logs = bob.errors();
    assert!(
        logs.contains("participant") && logs.contains("joined"),
        "logging was not on: {logs}"
    );
    assert!(
        !logs.contains("Alice"),
        "a display name reached the logs: {logs}"
    );
    let (a, b) = (alice.stats(), bob.stats());
    // 10 s at 30 fps, with the first second of the call allowed for set-up.
    assert_sees(&a, "Bob", 270);
    assert_sees(&b, "Alice", 270);
    assert_hears(&a, "Bob", 1000.0);
    assert_hears(&b, "Alice", 440.0);
    // What Alice's speaker played is Bob's tone.
    let wav = std::fs::read(&played).expect("speaker recording");
    let samples = talkline_media::wav::decode_wav(&wav).expect("a valid WAV file");
    assert!(
        samples.len() >= 48_000 * 8,
        "only {} samples played",
        samples.len()
    );
    let mid = &samples[48_000 * 4..48_000 * 6];
    let hz = talkline_media::analysis::dominant_frequency_hz(mid).expect("not silent");
    assert!((hz - 1000.0).abs() < 10.0, "Alice's speaker played {hz} Hz");
    for s in [&a, &b] {
        assert!(s["joined_ms"].as_u64().is_some_and(|ms| ms < 3000), "{s:#}");
        assert!(s["first_remote_frame_ms"].as_u64().is_some(), "{s:#}");
    }
}

#[test]
fn late_joiner_gets_everyone_and_leaves_are_reported() {
    let janus = Janus::start();
    let link = janus.link(1234);
    let mut ann = Client::join(&link, "Ann", &["--mic", "test:300", "--duration", "20"]);
    ann.wait_for("joined meeting", Duration::from_secs(10));
    let mut ben = Client::join(&link, "Ben", &["--mic", "test:500", "--duration", "20"]);
    ann.wait_for("+ Ben joined", Duration::from_secs(10));
    let mut cat = Client::join(
        &link,
        "Cat",
        &["--mic", "test:700", "--camera", "none", "--duration", "8"],
    );
    cat.wait_for("+ Ann joined", Duration::from_secs(10));
    cat.wait_for("+ Ben joined", Duration::from_secs(10));
    assert!(
        cat.wait(Duration::from_secs(20)).success(),
        "cat: {}",
        cat.errors()
    );
    let c = cat.stats();
    assert_sees(&c, "Ann", 150);
    assert_sees(&c, "Ben", 150);
    assert_hears(&c, "Ann", 300.0);
    assert_hears(&c, "Ben", 500.0);

    // Ctrl-C leaves cleanly and the others hear of it.
    let started = Instant::now();
    assert!(ben.stop().success(), "ben: {}", ben.errors());
    ann.wait_for("- Ben left", Duration::from_secs(5));
    ann.wait_for("- Cat left", Duration::from_secs(1));
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(ann.stop().success());
    // Cat had no camera: Ann heard her, and saw no video from her.
    let a = ann.stats();
    assert_hears(&a, "Cat", 700.0);
    assert_eq!(remote(&a, "Cat")["video_frames_decoded"], 0);
}

#[test]
fn a_publish_only_client_is_seen_and_heard_but_receives_nothing() {
    let janus = Janus::start();
    let link = janus.link(1234);
    let mut ann = Client::join(&link, "Ann", &["--mic", "test:300", "--duration", "12"]);
    ann.wait_for("joined meeting", Duration::from_secs(10));
    let mut bot = Client::join(
        &link,
        "Bot",
        &["--mic", "test:900", "--publish-only", "--duration", "8"],
    );
    // Who is in the meeting still reaches a send-only client.
    bot.wait_for("+ Ann joined", Duration::from_secs(10));
    ann.wait_for("+ Bot joined", Duration::from_secs(10));
    assert!(
        bot.wait(Duration::from_secs(20)).success(),
        "bot: {}",
        bot.errors()
    );
    ann.wait_for("- Bot left", Duration::from_secs(5));
    assert!(ann.stop().success(), "ann: {}", ann.errors());
    let a = ann.stats();
    assert_sees(&a, "Bot", 150);
    assert_hears(&a, "Bot", 900.0);
    let b = bot.stats();
    let from_ann = remote(&b, "Ann");
    assert_eq!(from_ann["video_frames_received"], 0, "{from_ann:#}");
    assert_eq!(
        from_ann["audio_dominant_hz"].as_f64().unwrap_or(0.0),
        0.0,
        "{from_ann:#}"
    );
}

/// Runs a join that must fail; returns its exit code and stderr.
fn failing_join(link: &str, extra: &[&str]) -> (i32, String) {
    let started = Instant::now();
    let mut client = Client::join(link, "Eve", extra);
    let status = client.wait(Duration::from_secs(5));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    (status.code().unwrap_or(-1), client.errors())
}

#[test]
fn bad_joins_fail_fast_with_a_clear_message() {
    let janus = Janus::start();
    let (code, err) = failing_join(&format!("{}&pin=wrong", janus.link(4321)), &[]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("wrong meeting PIN"), "{err}");

    let (code, err) = failing_join(&janus.link(4321), &[]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("PIN"), "{err}");

    let (code, err) = failing_join(&janus.link(999_999), &[]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("meeting 999999 does not exist"), "{err}");

    let (code, err) = failing_join("talkline://join?server=ws://127.0.0.1:9&room=1234", &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("cannot reach the meeting server"), "{err}");

    for bad in [
        "talkline://join?room=1",
        "https://example.org/j/1",
        "https://example.org/join?room=1",
        "12ab",
        "",
    ] {
        let (code, err) = failing_join(bad, &[]);
        assert_eq!(code, 2, "{bad:?}: {err}");
        assert!(err.starts_with("error: "), "{bad:?}: {err}");
    }

    // The right PIN works, here in the web form of the invitation.
    let mut ok = Client::join(
        &format!(
            "https://meet.example/join?server={}&room=4321&pin=secret",
            janus.url()
        ),
        "Pat",
        &["--duration", "1"],
    );
    assert!(
        ok.wait(Duration::from_secs(10)).success(),
        "{}",
        ok.errors()
    );
}

#[test]
fn janus_restart_mid_call_rejoins_and_media_flows_again() {
    let mut janus = Janus::start();
    let link = janus.link(1234);
    let mut dan = Client::join(&link, "Dan", &["--mic", "test:600", "--duration", "22"]);
    dan.wait_for("joined meeting", Duration::from_secs(10));
    let mut eva = Client::join(&link, "Eva", &["--mic", "test:800", "--duration", "20"]);
    dan.wait_for("+ Eva joined", Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(3));

    janus.kill();
    let since = outage_noticed([&dan, &eva], Duration::from_secs(5));
    std::thread::sleep(Duration::from_secs(1));
    janus.restart();
    back_after_outage([&dan, &eva], since, Duration::from_secs(15));
    assert!(
        eva.wait(Duration::from_secs(30)).success(),
        "eva: {}",
        eva.errors()
    );
    assert!(
        dan.wait(Duration::from_secs(30)).success(),
        "dan: {}",
        dan.errors()
    );
    for (client, other, hz) in [(&dan, "Eva", 800.0), (&eva, "Dan", 600.0)] {
        let s = client.stats();
        assert!(s["rejoins"].as_u64().is_some_and(|n| n >= 1), "{s:#}");
        // At least 5 s of video after the rejoin.
        assert_recovered(&client.name, &s, other, hz, 150);
    }
}

#[test]
fn chromium_and_cli_decode_each_other() {
    let janus = Janus::start();
    let chrome = support::browser::BrowserPeer::join(&janus.url(), 1234, "Chrome");
    chrome.wait_for("joined and published", Duration::from_secs(20), |r| {
        r["joined"] == true && r["published"] == true
    });
    let mut tess = Client::join(
        &janus.link(1234),
        "Tess",
        &["--simulcast", "--mic", "test:880", "--duration", "12"],
    );
    tess.wait_for("+ Chrome joined", Duration::from_secs(10));
    // The browser decodes what the CLI sends.
    let report = chrome.wait_for(
        "CLI video and audio decoded",
        Duration::from_secs(15),
        |r| {
            r["remotes"]["video"]["framesDecoded"].as_u64().unwrap_or(0) >= 150
                && r["remotes"]["audio"]["totalSamplesReceived"]
                    .as_u64()
                    .unwrap_or(0)
                    >= 48_000
        },
    );
    assert!(
        report["errors"].as_array().is_some_and(Vec::is_empty),
        "{report:#}"
    );
    assert!(
        tess.wait(Duration::from_secs(25)).success(),
        "tess: {}",
        tess.errors()
    );
    // The CLI decodes what the browser sends.
    let s = tess.stats();
    let r = remote(&s, "Chrome");
    assert!(
        r["video_frames_decoded"].as_u64().unwrap_or(0) >= 150,
        "{s:#}"
    );
    assert!(
        r["audio_frames_decoded"].as_u64().unwrap_or(0) >= 500,
        "{s:#}"
    );
    assert!(r["video_width"].as_u64().unwrap_or(0) >= 320, "{s:#}");
}

/// Polls `client`'s stats until `who`'s video is relayed at `layer` and
/// decoded `width` wide; returns the last stats read.
fn received_at_layer(client: &mut Client, who: &str, layer: &str, width: u64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(25);
    loop {
        let s = client.stats_now();
        let r = remote(&s, who);
        if r["video_layer"] == layer && r["video_width"].as_u64() == Some(width) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "{who}'s video not received at the {layer} layer, {width} wide: {r:#}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// A viewer without camera or microphone that asks for the smallest layer
/// from the start, once `publisher` is in the meeting.
fn viewer_asking_low(janus: &Janus, publisher: &str) -> Client {
    let vera = Client::join(
        &janus.link(1234),
        "Vera",
        &[
            "--camera",
            "none",
            "--mic",
            "none",
            "--video-layer",
            "low",
            "--duration",
            "60",
        ],
    );
    vera.wait_for(&format!("+ {publisher} joined"), Duration::from_secs(10));
    vera
}

/// `who` is received at the low layer `widths[0]` wide, then switched
/// mid-call, up and down on the same subscription (Janus changes layer at
/// its next keyframe), to high and medium; it keeps moving at medium.
fn switches_layers(vera: &mut Client, who: &str, [low, medium, high]: [u64; 3]) {
    received_at_layer(vera, who, "low", low);
    vera.send_line("layer high");
    received_at_layer(vera, who, "high", high);
    vera.send_line("layer medium");
    let s = received_at_layer(vera, who, "medium", medium);
    assert_eq!(s["resubscriptions"].as_u64(), Some(0), "{s:#}");
    let decoded =
        |s: &serde_json::Value| remote(s, who)["video_frames_decoded"].as_u64().unwrap_or(0);
    std::thread::sleep(Duration::from_secs(2));
    let later = vera.stats_now();
    let r = remote(&later, who);
    assert!(decoded(&later) >= decoded(&s) + 30, "{r:#}");
    assert_eq!(r["video_width"].as_u64(), Some(medium), "{r:#}");
}

#[test]
fn a_simulcasting_browser_is_received_at_the_layer_asked_for() {
    let janus = Janus::start();
    let chrome = support::browser::BrowserPeer::join_simulcast(&janus.url(), 1234, "Chrome");
    chrome.wait_for("joined and published", Duration::from_secs(20), |r| {
        r["joined"] == true && r["published"] == true
    });
    // Chromium sends 1280x720 as 320x180, 640x360 and 1280x720.
    let mut vera = viewer_asking_low(&janus, "Chrome");
    switches_layers(&mut vera, "Chrome", [320, 640, 1280]);
    // One participant's own layer (a small tile) outlasts the layer
    // everyone else gets.
    vera.send_line("layer Chrome low");
    received_at_layer(&mut vera, "Chrome", "low", 320);
    vera.send_line("layer high");
    vera.wait_for("video layer: high", Duration::from_secs(5));
    std::thread::sleep(Duration::from_secs(2));
    let s = vera.stats_now();
    assert_eq!(remote(&s, "Chrome")["video_layer"], "low", "{s:#}");
    // Mistyped, the command says so and changes nothing.
    vera.send_line("layer Nobody low");
    vera.send_line("layer Chrome huge");
    vera.stop();
    let errors = vera.errors();
    assert!(errors.contains("nobody called \"Nobody\""), "{errors}");
    assert!(errors.contains("low, medium, high or paused"), "{errors}");
}

#[test]
fn a_simulcasting_talkline_is_received_at_the_layer_asked_for() {
    let janus = Janus::start();
    let mut sam = Client::join(
        &janus.link(1234),
        "Sam",
        &["--simulcast", "--mic", "test:700", "--duration", "60"],
    );
    sam.wait_for("joined meeting", Duration::from_secs(15));
    // The test pattern's 640x360 as 160x90, 320x180 and 640x360.
    let mut vera = viewer_asking_low(&janus, "Sam");
    switches_layers(&mut vera, "Sam", [160, 320, 640]);
    // The publisher sends all three, and says so.
    let sent = sam.stats_now();
    assert_eq!(sent["send"]["video_layers"].as_u64(), Some(3), "{sent:#}");
    // A tile out of sight: nothing of its video comes, its sound does,
    // and the silence is not taken for a broken subscription.
    vera.send_line("layer Sam paused");
    vera.wait_for("video layer of Sam: paused", Duration::from_secs(5));
    std::thread::sleep(Duration::from_secs(2));
    let packets = |s: &serde_json::Value| {
        remote(s, "Sam")["video_packets_received"]
            .as_u64()
            .unwrap_or(0)
    };
    let heard = |s: &serde_json::Value| {
        remote(s, "Sam")["audio_frames_decoded"]
            .as_u64()
            .unwrap_or(0)
    };
    let paused = vera.stats_now();
    std::thread::sleep(Duration::from_secs(6));
    let still = vera.stats_now();
    // Low: 30 fps at 120 kbit/s is 30-60 packets a second.
    assert!(packets(&still) <= packets(&paused) + 3, "{still:#}");
    assert!(heard(&still) >= heard(&paused) + 250, "{still:#}");
    assert_eq!(still["resubscriptions"].as_u64(), Some(0), "{still:#}");
    assert_eq!(remote(&still, "Sam")["video_paused"], true, "{still:#}");
    // Back in sight, at the layer its tile needs.
    vera.send_line("layer Sam low");
    let back = received_at_layer(&mut vera, "Sam", "low", 160);
    let decoded = |s: &serde_json::Value| {
        remote(s, "Sam")["video_frames_decoded"]
            .as_u64()
            .unwrap_or(0)
    };
    std::thread::sleep(Duration::from_secs(2));
    let moving = vera.stats_now();
    assert!(decoded(&moving) >= decoded(&back) + 30, "{moving:#}");
    assert_eq!(moving["resubscriptions"].as_u64(), Some(0), "{moving:#}");
    assert_eq!(remote(&moving, "Sam")["video_paused"], false, "{moving:#}");
    vera.stop();
    sam.stop();
}

#[test]
fn missing_devices_are_reported_and_the_call_goes_on() {
    let janus = Janus::start();
    let mut max = Client::join(
        &janus.link(1234),
        "Max",
        &["--camera", "7", "--mic", "missing.wav", "--duration", "2"],
    );
    let status = max.wait(Duration::from_secs(20));
    let err = max.errors();
    assert!(status.success(), "{err}");
    assert!(
        err.contains("camera 7") && err.contains("joining without video"),
        "{err}"
    );
    assert!(
        err.contains("missing.wav") && err.contains("joining without audio"),
        "{err}"
    );
    assert!(
        max.output()
            .iter()
            .any(|l| l.contains("joined meeting 1234")),
        "{:?}",
        max.output()
    );
}

#[test]
fn mute_and_camera_off_are_seen_by_the_others() {
    let janus = Janus::start();
    let link = janus.link(1234);
    let mut ivy = Client::join(&link, "Ivy", &["--duration", "30"]);
    ivy.wait_for("joined meeting", Duration::from_secs(10));
    let mut jon = Client::join(&link, "Jon", &["--duration", "30"]);
    jon.wait_for("+ Ivy joined", Duration::from_secs(10));
    ivy.wait_for("+ Jon joined", Duration::from_secs(10));
    ivy.send_line("mute");
    jon.wait_for("~ Ivy microphone muted, camera on", Duration::from_secs(5));
    ivy.send_line("camera off");
    jon.wait_for("~ Ivy microphone muted, camera off", Duration::from_secs(5));
    ivy.send_line("unmute");
    ivy.send_line("camera on");
    jon.wait_for("~ Ivy microphone on, camera on", Duration::from_secs(5));
    ivy.send_line("leave");
    assert!(
        ivy.wait(Duration::from_secs(10)).success(),
        "{}",
        ivy.errors()
    );
    jon.wait_for("- Ivy left", Duration::from_secs(5));
    assert!(jon.stop().success());
}

/// A camera that works for `frames` frames and then is unplugged.
struct UnpluggedCamera {
    inner: talkline_media::source::PatternSource,
    frames: u32,
}

impl talkline_media::VideoSource for UnpluggedCamera {
    fn next_frame(&mut self, frame: &mut talkline_media::VideoFrame) -> talkline_media::Result<()> {
        if self.frames == 0 {
            return Err(talkline_media::MediaError::Camera(
                "the device was unplugged".into(),
            ));
        }
        self.frames -= 1;
        self.inner.next_frame(frame)
    }
    fn frame_rate(&self) -> f64 {
        self.inner.frame_rate()
    }
    fn is_live(&self) -> bool {
        true
    }
    fn size(&self) -> (u32, u32) {
        self.inner.size()
    }
}

#[test]
fn a_camera_unplugged_mid_call_is_reported_and_replaced_live() {
    use talkline_media::devices::DeviceKind;
    use talkline_media::source::PatternSource;
    use talkline_meeting::{CallCommand, CallConfig, CallEvent, Outgoing, ServerUrl};

    let janus = Janus::start();
    let mut bob = Client::join(
        &janus.link(1234),
        "Bob",
        &["--camera", "none", "--mic", "none", "--duration", "14"],
    );
    bob.wait_for("joined meeting 1234", Duration::from_secs(10));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let camera = UnpluggedCamera {
            inner: PatternSource::new(640, 360, 30.0).expect("pattern"),
            frames: 90,
        };
        let mut call = talkline_meeting::join(CallConfig {
            server: ServerUrl::parse(&janus.url()).expect("url"),
            room: 1234,
            pin: None,
            entry_token: None,
            wait_if_locked: None,
            display: "App".into(),
            video: Outgoing::From(Box::new(camera)),
            audio: Outgoing::Never,
            audio_out: None,
            video_bitrate_kbps: 800,
            simulcast: false,
            tiles: None,
            audio_muted: false,
            video_muted: false,
            subscribe: true,
            ice: Default::default(),
            voice: Default::default(),
            publish_as: Default::default(),
        })
        .await
        .expect("join");
        let started = Instant::now();
        let lost = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match call.events.recv().await {
                    Some(CallEvent::DeviceLost(kind)) => break kind,
                    Some(CallEvent::Ended(e)) => panic!("the call ended: {e:?}"),
                    None => panic!("the call's events stopped"),
                    Some(_) => {}
                }
            }
        })
        .await
        .expect("the unplugged camera was never reported");
        assert_eq!(lost, DeviceKind::Camera);
        // What the app does: switch to another camera, without renegotiating.
        call.command(CallCommand::ReplaceVideoSource(Box::new(
            PatternSource::new(640, 360, 30.0).expect("pattern"),
        )));
        tokio::time::sleep(Duration::from_secs(11).saturating_sub(started.elapsed())).await;
        call.leave().await;
    });
    assert!(
        bob.wait(Duration::from_secs(20)).success(),
        "{}",
        bob.errors()
    );
    let stats = bob.stats();
    let decoded = remote(&stats, "App")["video_frames_decoded"]
        .as_u64()
        .unwrap_or(0);
    // ~3 s before the unplug and ~7 s after it, at 30 fps; without the
    // replacement Bob would have seen only the first ~90 frames.
    assert!(decoded >= 240, "Bob decoded {decoded} frames: {stats:#}");
}

/// A call joined before it has a camera or microphone (a computer without
/// them) still negotiates their tracks, and joins with both off: a camera
/// given mid-call and turned on is sent, with no rejoin, and released, it
/// sends nothing again. Joining muted is also what "join with camera off"
/// does: the others must see the camera once it is turned on (they did
/// not when the mute reached Janus before the connection was up).
#[test]
fn a_camera_given_to_a_call_joined_without_one_is_sent_without_a_rejoin() {
    use talkline_media::source::PatternSource;
    use talkline_meeting::{CallCommand, CallConfig, Outgoing, ServerUrl};

    let janus = Janus::start();
    let mut bob = Client::join(
        &janus.link(1234),
        "Bob",
        &["--camera", "none", "--mic", "none", "--duration", "16"],
    );
    bob.wait_for("joined meeting 1234", Duration::from_secs(10));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sent = runtime.block_on(async {
        let call = talkline_meeting::join(CallConfig {
            server: ServerUrl::parse(&janus.url()).expect("url"),
            room: 1234,
            pin: None,
            entry_token: None,
            wait_if_locked: None,
            display: "App".into(),
            video: Outgoing::NoDeviceYet,
            audio: Outgoing::NoDeviceYet,
            audio_out: None,
            video_bitrate_kbps: 800,
            simulcast: false,
            tiles: None,
            audio_muted: true,
            video_muted: true,
            subscribe: true,
            ice: Default::default(),
            voice: Default::default(),
            publish_as: Default::default(),
        })
        .await
        .expect("join");
        // An unmute before the connection is up: the room must still see
        // us (descriptions changed this early made Janus announce us before
        // we could be subscribed to), and learn of the unmute once it is.
        call.command(CallCommand::SetAudioMuted(false));
        let frames_sent = || call.stats.video_frames_sent.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let before = frames_sent();
        call.command(CallCommand::ReplaceVideoSource(Box::new(
            PatternSource::new(640, 360, 30.0).expect("pattern"),
        )));
        call.command(CallCommand::SetVideoMuted(false));
        tokio::time::sleep(Duration::from_secs(6)).await;
        call.command(CallCommand::ReleaseVideoSource);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let released = frames_sent();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = frames_sent();
        let rejoins = call.stats.rejoins.load(Ordering::Relaxed);
        call.leave().await;
        (before, released, after, rejoins)
    });
    let (before, released, after, rejoins) = sent;
    assert_eq!(rejoins, 0, "the camera was added by rejoining");
    assert!(
        bob.output()
            .iter()
            .any(|l| l.starts_with("~ App microphone on")),
        "the unmute before the connection was up never reached the room: {:?}",
        bob.output()
    );
    assert_eq!(before, 0, "frames sent without a camera");
    assert_eq!(after, released, "frames sent after the camera was released");
    assert!(
        bob.wait(Duration::from_secs(25)).success(),
        "{}",
        bob.errors()
    );
    let stats = bob.stats();
    let from_app = remote(&stats, "App");
    let decoded = from_app["video_frames_decoded"].as_u64().unwrap_or(0);
    // About 6 s at 30 fps.
    assert!(
        (120..=200).contains(&decoded),
        "Bob decoded {decoded} frames (App sent {released}): {from_app}"
    );
    assert_eq!(from_app["audio_frames_decoded"].as_u64(), Some(0));
}

/// The virtual background is applied before encoding: what the others
/// receive is the processed picture. A blurred background leaves the test
/// pattern (no person in it) without readable stamps, while its frames keep
/// arriving at the full rate; switched off mid-call, the stamps come back.
#[test]
fn the_background_is_blurred_before_the_picture_leaves_the_device() {
    let janus = Janus::start();
    let link = janus.link(1234);
    let mut alice = Client::join(&link, "Alice", &["--duration", "22"]);
    alice.wait_for("joined meeting 1234", Duration::from_secs(10));
    let mut bob = Client::join(
        &link,
        "Bob",
        &["--background", "blur:1", "--duration", "16"],
    );
    bob.wait_for("+ Alice joined", Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(8));
    bob.send_line("background none");
    bob.wait_for("effects: background none", Duration::from_secs(2));
    assert!(
        bob.wait(Duration::from_secs(25)).success(),
        "bob: {}",
        bob.errors()
    );
    assert!(alice.wait(Duration::from_secs(25)).success());
    let stats = alice.stats();
    let from_bob = support::remote(&stats, "Bob");
    let decoded = from_bob["video_frames_decoded"].as_u64().unwrap_or(0);
    // 16 s at 30 fps, with set-up allowed for: effects cost no frames.
    assert!(decoded >= 400, "only {decoded} frames of Bob: {from_bob}");
    // Stamps were readable only once the blur was off: about half of the
    // frames (8 of 16 s). Without effects it would be all of them; with the
    // blur never switched off, none (a smeared stamp can rarely pass its
    // check by chance, so this counts rather than asks for zero).
    let readable = from_bob["pattern_frames"].as_u64().unwrap_or(0);
    let share = readable as f64 / decoded.max(1) as f64;
    assert!(
        (0.25..0.75).contains(&share),
        "{readable} of {decoded} frames had a readable stamp: the blur did not apply, or did not switch off: {from_bob}"
    );
}

#[test]
fn a_background_that_cannot_be_used_is_a_usage_error() {
    let janus = Janus::start();
    let missing = support::scratch_dir("bg").join("missing.png");
    let not_a_picture = support::scratch_dir("bg").join("text.jpg");
    std::fs::write(&not_a_picture, "hello").expect("file");
    for (arg, says) in [
        (missing.display().to_string(), "No such file"),
        (not_a_picture.display().to_string(), "cannot be read"),
        ("beach".to_string(), "expected none, blur"),
        ("blur:3".to_string(), "0 to 1"),
    ] {
        let (code, err) = failing_join(&janus.link(1234), &["--background", &arg]);
        assert_eq!(code, 2, "{arg}: {err}");
        assert!(err.contains(says), "{arg}: {err}");
    }
    let (code, err) = failing_join(&janus.link(1234), &["--beauty", "2"]);
    assert_eq!(code, 2, "{err}");
}

/// Writes `samples` (48 kHz mono) as a WAV file at `path`.
fn write_wav(path: std::path::PathBuf, samples: &[f64]) -> std::path::PathBuf {
    let samples: Vec<i16> = samples.iter().map(|&s| s as i16).collect();
    let mut wav = talkline_media::wav::WavSink::create(&path).expect("a WAV file");
    wav.write(&samples).expect("write the WAV file");
    wav.finish().expect("finish the WAV file");
    path
}

/// A WAV file of a voice talking (espeak-ng), and its samples.
fn speech_file(dir: &std::path::Path) -> (std::path::PathBuf, Vec<i16>) {
    let voice = echo_room::speech("en-us", echo_room::FAR_TEXT, 12_000.0);
    let path = write_wav(dir.join("voice.wav"), &voice);
    (path, voice.iter().map(|&s| s as i16).collect())
}

/// A laptop's own microphone and speaker, no camera, for `seconds`.
fn laptop_args(seconds: &'static str) -> [&'static str; 8] {
    [
        "--mic",
        "default",
        "--speaker",
        "default",
        "--camera",
        "none",
        "--duration",
        seconds,
    ]
}

/// `client_env` as `Client::join_with_env` takes it.
fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// A voice heard back by its speaker, 100 ms at a time, in dB against the
/// voice itself.
struct VoiceBack {
    levels: Vec<f64>,
}

impl VoiceBack {
    /// Of a spell of a tenth of a second.
    const SPELL: usize = 4_800;

    fn measure(heard: &[f64], voice: &[f64]) -> Self {
        let voice = echo_room::power(voice);
        let levels = heard
            .chunks_exact(Self::SPELL)
            .map(|spell| echo_room::db(echo_room::power(spell) / voice))
            .collect::<Vec<_>>();
        // Seconds of it, or a second left out would be all of it.
        assert!(levels.len() >= 20, "{} spells heard back", levels.len());
        Self { levels }
    }

    /// Over all of it.
    fn overall_db(&self) -> f64 {
        self.without_loudest(0.0)
    }

    /// Over all but its loudest `seconds`: where the canceller works. A
    /// delay that moves under the canceller lets the echo through until
    /// it starts over (`echo_path`), up to 0.8 s.
    fn without_loudest(&self, seconds: f64) -> f64 {
        let mut powers: Vec<f64> = self.levels.iter().map(|db| 10f64.powf(db / 10.0)).collect();
        powers.sort_by(f64::total_cmp);
        let keep = powers.len().saturating_sub((seconds * 10.0) as usize);
        echo_room::db(powers[..keep].iter().sum::<f64>() / keep.max(1) as f64)
    }

    /// How long it came back louder than `db`.
    fn seconds_above(&self, db: f64) -> f64 {
        self.levels.iter().filter(|&&l| l > db).count() as f64 / 10.0
    }
}

/// How loud Alice hears her own voice come back, dB against her voice,
/// when Bob's speaker plays into his microphone: Bob has a PulseAudio of
/// his own whose default microphone is the monitor of its default speaker
/// (a laptop without headphones, at full volume), and says nothing.
/// Returns that, Bob's and Alice's `voice` stats, and Bob's voice log.
fn own_voice_back(
    janus: &Janus,
    label: &str,
    bob_extra: &[&str],
) -> (VoiceBack, serde_json::Value, serde_json::Value, String) {
    let dir = support::scratch_dir(&format!("echo-{label}"));
    let (voice_file, voice) = speech_file(&dir);
    let heard_file = dir.join("alice-heard.wav");
    let bob_home = dir.join("bob");
    std::fs::create_dir_all(&bob_home).expect("bob's folder");
    let speaker = pulse::Pulse::start_in(&bob_home);
    let link = janus.link(1234);
    let (voice_arg, heard_arg) = (
        voice_file.display().to_string(),
        heard_file.display().to_string(),
    );
    let mut alice = Client::join(
        &link,
        "Alice",
        &[
            "--mic",
            &voice_arg,
            "--speaker",
            &heard_arg,
            "--camera",
            "none",
            "--duration",
            "14",
        ],
    );
    alice.wait_for("joined meeting 1234", Duration::from_secs(10));
    let bob_args = [&laptop_args("12")[..], bob_extra].concat();
    let mut bob_env = speaker.client_env().to_vec();
    bob_env.push((support::VOICE_LOG.0, support::VOICE_LOG.1.to_string()));
    let mut bob = Client::join_with_env(&link, "Bob", &bob_args, &env_refs(&bob_env));
    alice.wait_for("+ Bob joined", Duration::from_secs(10));
    assert!(
        bob.wait(Duration::from_secs(25)).success(),
        "bob: {}",
        bob.errors()
    );
    assert!(
        alice.wait(Duration::from_secs(25)).success(),
        "alice: {}",
        alice.errors()
    );
    speaker.stop();
    assert!(
        remote(&bob.stats(), "Alice")["audio_frames_decoded"]
            .as_u64()
            .is_some_and(|n| n > 800),
        "Bob's speaker was not given Alice's voice: {:#}",
        bob.stats()
    );
    let heard = talkline_media::wav::decode_wav(&std::fs::read(&heard_file).expect("heard"))
        .expect("a valid WAV file");
    // From 5 s of Alice's call (Bob joined within about 2, the canceller
    // has had her voice for 3) to 11 (before Bob leaves).
    let window: Vec<f64> = heard
        .get(5 * 48_000..11 * 48_000)
        .expect("11 s of what Alice heard")
        .iter()
        .map(|&s| f64::from(s))
        .collect();
    let voice: Vec<f64> = voice.iter().map(|&s| f64::from(s)).collect();
    (
        VoiceBack::measure(&window, &voice),
        bob.stats()["voice"].clone(),
        alice.stats()["voice"].clone(),
        bob.voice_log(),
    )
}

#[test]
fn a_laptop_speaker_heard_by_its_microphone_does_not_send_the_far_end_back() {
    let janus = Janus::start();
    // With nothing done, the loop is closed: Alice hears herself.
    let (as_it_is, as_is, _, _) = own_voice_back(&janus, "as-is", &["--original-sound"]);
    let (back, voice, alice, bob_log) = own_voice_back(&janus, "processed", &[]);
    let nothing_done = as_it_is.overall_db();
    let (processed, where_it_works, audible) = (
        back.overall_db(),
        back.without_loudest(1.0),
        back.seconds_above(nothing_done - 15.0),
    );
    eprintln!(
        "Alice's own voice back: {nothing_done:+.1} dB with Bob's sound as it is, \
         {processed:+.1} dB with his voice processing ({where_it_works:+.1} dB without its \
         loudest second, {audible:.1} s within 15 dB of nothing done) ({voice}); Bob's sound as it is: \
         {as_is}; Alice: {alice}\nBob's microphone:\n{bob_log}"
    );
    // Voice activity, told by the detector on each one's processed
    // microphone: Alice talks; silent Bob's microphone hears her voice from
    // his speaker, a voice to the detector when left as it is, and nothing
    // once the echo is cancelled (he is not outlined as speaking, and
    // nobody is told "you are muted" for the far end's voice).
    let speech_ms = |v: &serde_json::Value| v["speech_ms"].as_u64().unwrap_or(0);
    assert!(
        speech_ms(&alice) >= 3000,
        "Alice's voice not heard: {alice}"
    );
    assert!(
        speech_ms(&as_is) >= 1000,
        "the far end's voice in Bob's untreated microphone not heard: {as_is}"
    );
    // At most one leak's worth: up to 0.8 s until the canceller starts
    // over for a delay that moved under it, and the detector's 400 ms
    // hangover.
    assert!(
        speech_ms(&voice) <= 1200,
        "Bob taken for speaking on the far end's echo: {voice} (untreated: {as_is})"
    );
    // Bob's stats say what his microphone went through.
    assert_eq!(as_is["echo_cancellation"], false, "{as_is}");
    assert_eq!(voice["echo_cancellation"], true, "{voice}");
    assert_eq!(voice["noise_suppression"], true, "{voice}");
    assert!(
        nothing_done > -15.0,
        "the echo path is not closed: {nothing_done:+.1} dB came back with nothing done"
    );
    // 25 dB down where the canceller works, and a moment at most where a
    // delay moved under it (it starts over within 0.8 s).
    assert!(
        where_it_works < nothing_done - 25.0 && audible <= 1.0,
        "Alice hears herself at {where_it_works:+.1} dB without the loudest second, \
         {audible:.1} s within 15 dB of the {nothing_done:+.1} dB with nothing done"
    );
}

/// A participant's room with a laptop's speaker and microphone, in a
/// PulseAudio of its own: TalkLine plays into a speaker whose sound goes
/// into the room (a loopback into the room's sink, as through the air),
/// someone can talk in the room (a WAV played into it), and the default
/// microphone hears the room: the voice and the far end from the speaker.
/// What TalkLine played is recorded apart.
struct LaptopRoom {
    pulse: pulse::Pulse,
    heard: std::path::PathBuf,
    recorder: Option<std::process::Child>,
}

impl LaptopRoom {
    const ROOM: &str = "talkline_test";
    const SPEAKER: &str = "talkline_speaker";

    fn new(dir: &std::path::Path, name: &str) -> Self {
        let home = dir.join(name);
        std::fs::create_dir_all(&home).expect("a room's folder");
        let pulse = pulse::Pulse::start_in(&home);
        for args in [
            vec![
                "load-module".to_string(),
                "module-null-sink".into(),
                format!("sink_name={}", Self::SPEAKER),
            ],
            vec![
                "load-module".into(),
                "module-loopback".into(),
                format!("source={}.monitor", Self::SPEAKER),
                format!("sink={}", Self::ROOM),
                "latency_msec=30".into(),
            ],
            vec!["set-default-sink".into(), Self::SPEAKER.into()],
        ] {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            assert!(pulse.pactl(&args).is_some(), "pactl {args:?}");
        }
        Self {
            pulse,
            heard: dir.join(format!("{name}-heard.raw")),
            recorder: None,
        }
    }

    fn pulse_tool(&self, tool: &str) -> std::process::Command {
        let mut command = std::process::Command::new(tool);
        command.envs(self.pulse.client_env());
        command
    }

    /// From now on, what TalkLine plays is recorded (48 kHz mono).
    fn record(&mut self) {
        let recorder = self
            .pulse_tool("parecord")
            .args(["--raw", "--format=s16le", "--rate=48000", "--channels=1"])
            .arg(format!("--device={}.monitor", Self::SPEAKER))
            .arg(&self.heard)
            .spawn()
            .expect("parecord (Debian package `pulseaudio-utils`)");
        self.recorder = Some(recorder);
    }

    /// Someone in the room says what `wav` holds.
    fn talk(&self, wav: &std::path::Path) {
        let status = self
            .pulse_tool("paplay")
            .arg(format!("--device={}", Self::ROOM))
            .arg(wav)
            .status()
            .expect("paplay (Debian package `pulseaudio-utils`)");
        assert!(status.success(), "paplay {}", wav.display());
    }

    /// What TalkLine played since `record`.
    fn heard(&mut self) -> Vec<f64> {
        if let Some(mut recorder) = self.recorder.take() {
            let _ = recorder.kill();
            let _ = recorder.wait();
        }
        std::fs::read(&self.heard)
            .expect("the recording")
            .chunks_exact(2)
            .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])))
            .collect()
    }
}

impl Drop for LaptopRoom {
    fn drop(&mut self) {
        if let Some(mut recorder) = self.recorder.take() {
            let _ = recorder.kill();
            let _ = recorder.wait();
        }
        self.pulse.stop();
    }
}

/// The end-to-end echo test: both participants on laptops without
/// headphones, each one's speaker heard by their own microphone, each
/// talking in turn. Neither hears their own voice come back; each hears
/// the other.
#[test]
fn two_laptops_talking_in_turn_neither_hears_itself_back() {
    let janus = Janus::start();
    let link = janus.link(1234);
    let dir = support::scratch_dir("echo-both");
    let alice_voice = echo_room::speech("en-us", echo_room::FAR_TEXT, 12_000.0);
    let bob_voice = echo_room::speech("en-gb+f3", echo_room::NEAR_TEXT, 12_000.0);
    let (alice_wav, bob_wav) = (
        write_wav(dir.join("alice.wav"), &alice_voice),
        write_wav(dir.join("bob.wav"), &bob_voice),
    );
    let mut rooms = [LaptopRoom::new(&dir, "alice"), LaptopRoom::new(&dir, "bob")];
    let args = laptop_args("60");
    let (mut alice_env, mut bob_env) = (
        rooms[0].pulse.client_env().to_vec(),
        rooms[1].pulse.client_env().to_vec(),
    );
    for env in [&mut alice_env, &mut bob_env] {
        env.push((support::VOICE_LOG.0, support::VOICE_LOG.1.to_string()));
    }
    let mut alice = Client::join_with_env(&link, "Alice", &args, &env_refs(&alice_env));
    alice.wait_for("joined meeting 1234", Duration::from_secs(10));
    let mut bob = Client::join_with_env(&link, "Bob", &args, &env_refs(&bob_env));
    alice.wait_for("+ Bob joined", Duration::from_secs(10));
    bob.wait_for("+ Alice joined", Duration::from_secs(10));
    // Each hears the other's silence for a second, so both cancellers
    // have a reference before anyone talks.
    std::thread::sleep(Duration::from_secs(2));
    for room in &mut rooms {
        room.record();
    }
    let started = Instant::now();
    rooms[0].talk(&alice_wav);
    let alice_until = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_millis(500));
    let bob_from = started.elapsed().as_secs_f64();
    rooms[1].talk(&bob_wav);
    let bob_until = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(1));
    let alice_heard = rooms[0].heard();
    let bob_heard = rooms[1].heard();
    let alice_stats = alice.stats_now();
    let bob_stats = bob.stats_now();
    bob.send_line("leave");
    alice.send_line("leave");
    let _ = bob.wait(Duration::from_secs(20));
    let _ = alice.wait(Duration::from_secs(20));

    // Over each voice's own time, past its first half second (the far
    // end's network and jitter buffer delay what is heard by about that).
    let span = |heard: &[f64], from: f64, until: f64| -> Vec<f64> {
        let at = |s: f64| ((s * 48_000.0) as usize).min(heard.len());
        heard[at(from + 0.5)..at(until)].to_vec()
    };
    let level_db = |heard: &[f64], voice: &[f64]| {
        echo_room::db(echo_room::power(heard) / echo_room::power(voice))
    };
    let alice_back = VoiceBack::measure(&span(&alice_heard, 0.0, alice_until), &alice_voice);
    let bob_hears_alice = level_db(&span(&bob_heard, 0.0, alice_until), &alice_voice);
    let bob_back = VoiceBack::measure(&span(&bob_heard, bob_from, bob_until), &bob_voice);
    let alice_hears_bob = level_db(&span(&alice_heard, bob_from, bob_until), &bob_voice);
    eprintln!(
        "Alice talks: Bob hears her at {bob_hears_alice:+.1} dB, she hears herself back at \
         {:+.1} dB ({:+.1} dB without the loudest second); Bob talks: Alice hears him at \
         {alice_hears_bob:+.1} dB, he hears himself back at {:+.1} dB ({:+.1} dB without the \
         loudest second)\nAlice: {}\nBob: {}\n\
         Alice's microphone:\n{}\nBob's microphone:\n{}",
        alice_back.overall_db(),
        alice_back.without_loudest(1.0),
        bob_back.overall_db(),
        bob_back.without_loudest(1.0),
        alice_stats["voice"],
        bob_stats["voice"],
        alice.voice_log(),
        bob.voice_log()
    );
    assert!(
        bob_hears_alice > -20.0 && alice_hears_bob > -20.0,
        "a voice did not get across: Bob hears Alice at {bob_hears_alice:+.1} dB, Alice \
         hears Bob at {alice_hears_bob:+.1} dB\nAlice: {}\nBob: {}",
        alice.errors(),
        bob.errors()
    );
    // Each one's voice activity is their own voice only: the other's,
    // from their speaker, is cancelled before the detector hears it.
    let speech_s =
        |stats: &serde_json::Value| stats["voice"]["speech_ms"].as_f64().unwrap_or(0.0) / 1000.0;
    let (alice_talked, bob_talked) = (alice_until, bob_until - bob_from);
    eprintln!(
        "voice heard: Alice {:.1} s (talked {alice_talked:.1}), Bob {:.1} s (talked {bob_talked:.1})",
        speech_s(&alice_stats),
        speech_s(&bob_stats)
    );
    for (who, stats, talked) in [
        ("Alice", &alice_stats, alice_talked),
        ("Bob", &bob_stats, bob_talked),
    ] {
        let heard = speech_s(stats);
        // The detector's 400 ms hangover, and the players' start and stop
        // (4.5 s heard for 3.8 s talked was seen); the other's talk, heard
        // from the speaker, would add seconds.
        assert!(
            heard > talked * 0.75 && heard < talked + 1.5,
            "{who} talked {talked:.1} s, the detector heard {heard:.1} s"
        );
    }
    // What each detector heard reached the other through Janus, on the
    // packets (RFC 6464's voice bit): the other's window marks the speaker
    // by it, not by loudness.
    for (who, speaker, listener) in [
        ("Alice", &alice_stats, &bob_stats),
        ("Bob", &bob_stats, &alice_stats),
    ] {
        let detected = speech_s(speaker);
        let announced = listener["remote"][0]["audio_voice_ms"]
            .as_f64()
            .unwrap_or(0.0)
            / 1000.0;
        eprintln!("{who}: {detected:.1} s of voice detected, {announced:.1} s announced");
        assert!(
            (announced - detected).abs() < 0.1 + detected * 0.2,
            "{who}'s detector heard {detected:.1} s of voice, the other was told {announced:.1} s"
        );
    }
    // 25 dB under what the other hears where the canceller works, and a
    // moment at most where a delay moved under it (`VoiceBack`).
    for (who, back, heard) in [
        ("Alice", &alice_back, bob_hears_alice),
        ("Bob", &bob_back, alice_hears_bob),
    ] {
        let (where_it_works, audible) =
            (back.without_loudest(1.0), back.seconds_above(heard - 15.0));
        assert!(
            where_it_works < heard - 25.0 && audible <= 1.0,
            "{who}'s voice came back at {where_it_works:+.1} dB without the loudest second, \
             {audible:.1} s within 15 dB of the {heard:+.1} dB the other hears"
        );
    }
}

#[test]
fn a_participant_turned_down_is_quieter_for_that_listener_only() {
    let janus = Janus::start();
    let link = janus.link(1234);
    let dir = support::scratch_dir("volume");
    let heard = dir.join("alice-heard.wav");
    let heard_arg = heard.display().to_string();
    let voice = speech_file(&dir).0.display().to_string();
    let mut alice = Client::join(
        &link,
        "Alice",
        &[
            "--mic",
            &voice,
            "--camera",
            "none",
            "--speaker",
            &heard_arg,
            "--duration",
            "12",
        ],
    );
    alice.wait_for("joined meeting 1234", Duration::from_secs(10));
    let joined = Instant::now();
    let mut bob = Client::join(
        &link,
        "Bob",
        &["--mic", "test:1000", "--camera", "none", "--duration", "13"],
    );
    alice.wait_for("+ Bob joined", Duration::from_secs(10));
    std::thread::sleep((joined + Duration::from_secs(6)).saturating_duration_since(Instant::now()));
    let turned = joined.elapsed().as_secs_f64();
    alice.send_line("volume Bob 20");
    alice.wait_for("volume of Bob: 20%", Duration::from_secs(5));
    alice.send_line("volume Nobody 50");
    alice.send_line("volume Bob 500");
    // Original sound mid-call, and back: the stats say what the
    // microphone goes through (the processing reports once a second).
    assert_eq!(alice.stats_now()["voice"]["echo_cancellation"], true);
    alice.send_line("original sound on");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(alice.stats_now()["voice"]["echo_cancellation"], false);
    alice.send_line("original sound off");
    assert!(
        alice.wait(Duration::from_secs(25)).success(),
        "alice: {}",
        alice.errors()
    );
    assert!(
        bob.wait(Duration::from_secs(25)).success(),
        "bob: {}",
        bob.errors()
    );
    let errors = alice.errors();
    assert!(errors.contains("nobody called \"Nobody\""), "{errors}");
    assert!(errors.contains("PERCENT 0 to 200"), "{errors}");

    let samples = talkline_media::wav::decode_wav(&std::fs::read(&heard).expect("heard"))
        .expect("a valid WAV file");
    let rms = |from: f64, to: f64| {
        let s = &samples[(from * 48_000.0) as usize..(to * 48_000.0) as usize];
        (s.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.len() as f64).sqrt()
    };
    // Around the change, with half a second either way for the time the
    // speaker file started before the join was reported.
    let (before, after) = (
        rms(turned - 2.5, turned - 0.5),
        rms(turned + 1.0, turned + 3.5),
    );
    assert!(before > 500.0, "Bob was not heard before: RMS {before:.0}");
    let ratio = after / before;
    assert!(
        (0.15..0.27).contains(&ratio),
        "turned down to {ratio:.3} of before"
    );
    // Only Alice turned Bob down: Bob hears Alice as she sends.
    assert_eq!(remote(&alice.stats(), "Bob")["volume_percent"], 20);
    assert_eq!(remote(&bob.stats(), "Alice")["volume_percent"], 100);
}
