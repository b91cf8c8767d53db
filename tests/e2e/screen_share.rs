//! Screen sharing through a real Janus: a share is a second publisher
//! beside its sharer, described as a screen; others receive it at its own
//! size and rate; the sharer never receives it back.

use super::*;

const UP: Duration = Duration::from_secs(20);

/// The remote entries of `display` in a stats snapshot: (camera, screen)
/// told apart by their size.
fn feeds_of<'a>(stats: &'a serde_json::Value, display: &str) -> Vec<&'a serde_json::Value> {
    stats["remote"]
        .as_array()
        .map(|r| r.iter().filter(|e| e["display"] == display).collect())
        .unwrap_or_default()
}

/// Waits until `client` has decoded at least `frames` of a `w`x`h`
/// picture from `display`; that feed's stats.
pub(super) fn waits_for_picture(
    client: &mut Client,
    display: &str,
    (w, h): (u64, u64),
    frames: u64,
) -> serde_json::Value {
    let deadline = Instant::now() + UP;
    loop {
        let stats = client.stats_now();
        if let Some(feed) = feeds_of(&stats, display).into_iter().find(|f| {
            f["video_width"] == w
                && f["video_height"] == h
                && f["video_frames_decoded"].as_u64().unwrap_or(0) >= frames
        }) {
            return feed.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no {w}x{h} picture from {display}: {stats}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_shared_screen_reaches_the_others_at_its_size_and_rate_and_not_its_sharer() {
    let janus = Janus::start();
    let link = janus.link(1234);
    let mut ann = Client::join(
        &link,
        "Ann",
        &[
            "--camera",
            "test",
            "--mic",
            "none",
            "--no-chat",
            "--share-screen",
            "test:1280x720@10",
            "--duration",
            "60",
        ],
    );
    ann.wait_for("sharing your screen (1280x720, 10 fps)", UP);
    let mut bob = Client::join(
        &link,
        "Bob",
        &[
            "--camera",
            "none",
            "--mic",
            "none",
            "--no-chat",
            "--duration",
            "60",
        ],
    );
    bob.wait_for("+ Ann is sharing their screen", UP);
    // The camera and the screen, each at its own size.
    waits_for_picture(&mut bob, "Ann", (640, 360), 30);
    let first = waits_for_picture(&mut bob, "Ann", (1280, 720), 10);
    let started = Instant::now();
    let first_frames = first["video_frames_decoded"].as_u64().unwrap_or(0);
    std::thread::sleep(Duration::from_secs(4));
    let later = waits_for_picture(&mut bob, "Ann", (1280, 720), first_frames + 1);
    let rate = (later["video_frames_decoded"].as_u64().unwrap_or(0) - first_frames) as f64
        / started.elapsed().as_secs_f64();
    assert!(
        (7.0..=12.0).contains(&rate),
        "{rate:.1} fps of a 10 fps share"
    );

    // The sharer receives neither the share nor word of it.
    let own = ann.stats_now();
    assert!(feeds_of(&own, "Ann").is_empty(), "{own}");
    assert!(
        !ann.output()
            .iter()
            .any(|l| l.contains("is sharing their screen")),
        "{:?}",
        ann.output()
    );

    // Stopped: gone for the others; the call goes on.
    ann.send_line("share stop");
    ann.wait_for("stopped sharing your screen", UP);
    bob.wait_for("- Ann stopped sharing their screen", UP);
    assert!(
        !bob.output().iter().any(|l| l == "- Ann left"),
        "{:?}",
        bob.output()
    );
    for client in [&mut ann, &mut bob] {
        assert!(client.stop().success(), "{}", client.errors());
    }
}

/// A white X screen (so what arrives must be white, not a black picture
/// of the right size), and Ann, on it, and Bob in a meeting, neither
/// sending anything of their own.
struct OnAWhiteScreen {
    display: String,
    ann: Client,
    bob: Client,
    // Dropped last: the clients go before the server and the screen.
    _janus: Janus,
    _xvfb: support::xvfb::Killed,
}

fn on_a_white_screen(label: &str) -> OnAWhiteScreen {
    let (xvfb, display) = support::xvfb::start_xvfb(&support::scratch_dir(label), &["-wr"]);
    let janus = Janus::start();
    let link = janus.link(1234);
    let quiet = [
        "--camera",
        "none",
        "--mic",
        "none",
        "--no-chat",
        "--duration",
        "90",
    ];
    let ann = Client::join_with_env(&link, "Ann", &quiet, &[("DISPLAY", display.as_str())]);
    ann.wait_for("joined meeting 1234", UP);
    let bob = Client::join(&link, "Bob", &quiet);
    bob.wait_for("joined meeting 1234", UP);
    OnAWhiteScreen {
        display,
        ann,
        bob,
        _janus: janus,
        _xvfb: xvfb,
    }
}

#[test]
fn the_x11_screen_is_shared_whole_and_a_bad_source_is_said() {
    let OnAWhiteScreen {
        display,
        mut ann,
        mut bob,
        _janus,
        _xvfb,
    } = on_a_white_screen("shared-screen");

    // A source that cannot be: said, and nothing is shared.
    ann.send_line("share x11::4242");
    ann.wait_for_error("cannot capture the screen: no X display :4242", UP);
    ann.send_line("share nonsense");
    ann.wait_for_error(
        "expected test, test:WxH@FPS, a .y4m file, x11[:DISPLAY], window:ID|TITLE or portal",
        UP,
    );

    ann.send_line(&format!("share x11:{display}"));
    ann.wait_for("sharing your screen (1280x800, 10 fps)", UP);
    bob.wait_for("+ Ann is sharing their screen", UP);
    let screen = waits_for_picture(&mut bob, "Ann", (1280, 800), 3);
    assert_eq!(screen["screen"], true, "{screen}");
    let luma = screen["video_luma"].as_u64().unwrap_or(0);
    assert!(
        luma >= 225 && screen["video_luma_spread"].as_u64().unwrap_or(255) <= 10,
        "a white screen arrived with luma {luma}: {screen}"
    );
    // A still screen is not sent at its full rate: once a second, but for
    // two seconds at the full rate after each keyframe, while the encoder
    // sharpens it (this Janus asks for one every 5 s): about 46 pictures in
    // 10 s, not 100.
    let before = screen["video_frames_decoded"].as_u64().unwrap_or(0);
    std::thread::sleep(Duration::from_secs(10));
    let after = waits_for_picture(&mut bob, "Ann", (1280, 800), before + 1);
    let still = after["video_frames_decoded"].as_u64().unwrap_or(0) - before;
    assert!(
        (10..=70).contains(&still),
        "{still} pictures of a still screen in 10 s"
    );
    // A change goes at once, and at the full rate while it goes on.
    let changing =
        super::x11_window::TestWindow::show(&display, "changes", (0, 0), (1280, 800), 0x000000);
    let deadline = Instant::now() + UP;
    loop {
        let now = waits_for_picture(&mut bob, "Ann", (1280, 800), 1);
        if now["video_luma"].as_u64().unwrap_or(255) <= 30 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the change did not arrive: {now}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    changing.close();
    for client in [&mut ann, &mut bob] {
        assert!(client.stop().success(), "{}", client.errors());
    }
}

/// One window shared, not the screen around it: found by a part of its
/// title, sent at its size and following it, kept while it is minimised,
/// and the share ends, said, when the window is closed.
#[test]
fn one_window_is_shared_at_its_size_until_it_is_closed() {
    use super::x11_window::TestWindow;
    // A red window on the white screen: what arrives must be red.
    let OnAWhiteScreen {
        display,
        mut ann,
        mut bob,
        _janus,
        _xvfb,
    } = on_a_white_screen("shared-window");

    let report = TestWindow::show(
        &display,
        "季度报告 Quarterly report",
        (100, 50),
        (640, 480),
        0xff0000,
    );
    ann.send_line("windows");
    ann.wait_for(
        &format!(
            "window 0x{:x} 640x480: 季度报告 Quarterly report",
            report.id
        ),
        UP,
    );
    ann.send_line("share window:no such title");
    ann.wait_for_error("no shown window with the id or title \"no such title\"", UP);

    ann.send_line("share window:Quarterly");
    ann.wait_for("sharing your screen (640x480, 10 fps)", UP);
    bob.wait_for("+ Ann is sharing their screen", UP);
    let red = |feed: &serde_json::Value| {
        let luma = feed["video_luma"].as_u64().unwrap_or(0);
        (70..=95).contains(&luma) && feed["video_luma_spread"].as_u64().unwrap_or(255) <= 10
    };
    let shared = waits_for_picture(&mut bob, "Ann", (640, 480), 3);
    assert!(
        red(&shared),
        "the window, not the white screen around it: {shared}"
    );

    // Made bigger: the picture follows.
    report.resize(800, 600);
    let bigger = waits_for_picture(&mut bob, "Ann", (800, 600), 2);
    assert!(red(&bigger), "{bigger}");

    // Dragged partly off the screen: the picture keeps its size (no new
    // encoder at every step), the part off the screen blank.
    report.move_to(-300, 50);
    let moved_at = bigger["video_frames_decoded"].as_u64().unwrap_or(0);
    let deadline = Instant::now() + UP;
    let bigger = loop {
        let part = waits_for_picture(&mut bob, "Ann", (800, 600), moved_at + 1);
        let luma = part["video_luma"].as_u64().unwrap_or(0);
        if (45..=75).contains(&luma) {
            break part;
        }
        assert!(Instant::now() < deadline, "no part-grey picture: {part}");
        std::thread::sleep(Duration::from_millis(300));
    };
    report.move_to(100, 50);
    let back_at = bigger["video_frames_decoded"].as_u64().unwrap_or(0);
    let deadline = Instant::now() + UP;
    let bigger = loop {
        let whole = waits_for_picture(&mut bob, "Ann", (800, 600), back_at + 1);
        if red(&whole) {
            break whole;
        }
        assert!(Instant::now() < deadline, "not red again: {whole}");
        std::thread::sleep(Duration::from_millis(300));
    };

    // Minimised: the last picture stays and the share goes on.
    report.hide();
    let hidden_at = bigger["video_frames_decoded"].as_u64().unwrap_or(0);
    std::thread::sleep(Duration::from_secs(3));
    let kept = waits_for_picture(&mut bob, "Ann", (800, 600), hidden_at + 2);
    assert!(red(&kept), "{kept}");
    report.unhide();

    // Closed: the share ends and says why; the call goes on.
    report.close();
    ann.wait_for_error("the shared window was closed", UP);
    bob.wait_for("- Ann stopped sharing their screen", UP);
    for client in [&mut ann, &mut bob] {
        assert!(client.stop().success(), "{}", client.errors());
    }
}

/// A Wayland desktop's screen, as its portal hands it over: the desktop
/// asks the user (here its test backend answers), the picture comes over
/// PipeWire, and the share ends when the user cancels the dialog, when
/// the desktop's own "Stop sharing" is used, and when TalkLine stops it
/// (which closes the desktop's session, so its "sharing" sign goes).
#[test]
fn a_screen_the_desktop_portal_hands_over_is_shared_until_either_side_stops_it() {
    let dir = support::scratch_dir("portal-screen");
    // A red screen.
    let desktop = super::portal_desktop::PortalDesktop::start(&dir, "0xffff0000");
    let janus = Janus::start();
    let link = janus.link(1234);
    let quiet = [
        "--camera",
        "none",
        "--mic",
        "none",
        "--no-chat",
        "--duration",
        "120",
    ];
    let on_the_desktop = desktop.env();
    let on_the_desktop: Vec<(&str, &str)> = on_the_desktop
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let mut ann = Client::join_with_env(&link, "Ann", &quiet, &on_the_desktop);
    ann.wait_for("joined meeting 1234", UP);
    let mut bob = Client::join(&link, "Bob", &quiet);
    bob.wait_for("joined meeting 1234", UP);

    // The user cancels the desktop's dialog: said, nothing shared.
    desktop.refuse_next();
    ann.send_line("share portal");
    ann.wait_for_error(
        "the screen share was cancelled or not allowed on this desktop",
        UP,
    );
    let bob_saw = bob.output().join("\n");
    assert!(!bob_saw.contains("Ann is sharing"), "{bob_saw}");

    // A desktop that names a stream it never makes: said within seconds,
    // not waited for forever, and its session closed.
    desktop.name_a_missing_stream_next();
    ann.send_line("share portal");
    ann.wait_for_error("the desktop sent no picture of the screen", UP);
    let deadline = Instant::now() + UP;
    loop {
        let (shared, closed) = desktop.sessions();
        if shared.iter().all(|s| closed.contains(s)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the session of a missing stream stays open: {}",
            desktop.backend_log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    ann.send_line("share portal");
    ann.wait_for("asking your desktop what to share…", UP);
    ann.wait_for("sharing your screen (1280x720, 10 fps)", UP);
    bob.wait_for("+ Ann is sharing their screen", UP);
    let red = |feed: &serde_json::Value| {
        let luma = feed["video_luma"].as_u64().unwrap_or(0);
        (70..=95).contains(&luma) && feed["video_luma_spread"].as_u64().unwrap_or(255) <= 10
    };
    let shared = waits_for_picture(&mut bob, "Ann", (1280, 720), 20);
    assert!(red(&shared), "the desktop's red screen: {shared}");
    // The desktop sends its still screen 10 times a second; a picture the
    // same as the last is not sent at the full rate (about 46 in 10 s, as
    // for X11), not 100.
    let before = shared["video_frames_decoded"].as_u64().unwrap_or(0);
    std::thread::sleep(Duration::from_secs(10));
    let after = waits_for_picture(&mut bob, "Ann", (1280, 720), before + 1);
    let still = after["video_frames_decoded"].as_u64().unwrap_or(0) - before;
    assert!(
        (10..=70).contains(&still),
        "{still} pictures of a still screen in 10 s"
    );
    let log = desktop.backend_log();
    // Not remembered: the desktop keeps no token to share again unasked.
    assert!(log.contains("persist_mode=0"), "persist mode: {log}");

    // The desktop's own "Stop sharing".
    desktop.stop_sharing();
    ann.wait_for_error(
        "your screen share ended: the desktop stopped the screen share",
        UP,
    );
    bob.wait_for("- Ann stopped sharing their screen", UP);

    // Shared again and stopped here: the desktop's session is closed.
    let (ann_since, bob_since) = (ann.lines_so_far(), bob.lines_so_far());
    ann.send_line("share portal");
    ann.wait_for_since("sharing your screen (1280x720, 10 fps)", ann_since, UP);
    bob.wait_for_since("+ Ann is sharing their screen", bob_since, UP);
    desktop.wait_for_call("Start", 4, UP);
    ann.send_line("share stop");
    ann.wait_for("stopped sharing your screen", UP);
    bob.wait_for_since("- Ann stopped sharing their screen", bob_since, UP);
    // The session this share had, not another.
    let deadline = Instant::now() + UP;
    loop {
        let (shared, closed) = desktop.sessions();
        let last = shared.last().expect("a session shared");
        if closed.contains(last) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "session {last} not closed: {}",
            desktop.backend_log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for client in [&mut ann, &mut bob] {
        assert!(client.stop().success(), "{}", client.errors());
    }
    drop(janus);
    drop(desktop);
}

/// The computer's sound shared with a screen (` +sound`): what the
/// computer plays reaches the others, and the meeting it also plays (Bob's
/// voice, from Ann's speaker) is taken out of it, or Bob would hear
/// himself. A voice, not a tone: a steady tone repeats every period, so no
/// canceller can tell its delay (tried: it let it through).
#[test]
fn the_computers_sound_is_shared_without_the_meeting_in_it() {
    let dir = support::scratch_dir("computer-sound");
    let ann_home = dir.join("ann");
    std::fs::create_dir_all(&ann_home).expect("Ann's folder");
    let pulse = super::pulse::Pulse::start_in(&ann_home);
    let (voice_file, _) = speech_file(&dir);
    let voice_arg = voice_file.display().to_string();
    let janus = Janus::start();
    let link = janus.link(1234);
    let ann_env = pulse.client_env().to_vec();
    let quiet = [
        "--camera",
        "none",
        "--mic",
        "none",
        "--no-chat",
        "--duration",
        "90",
    ];
    let ann_args = [&quiet[..], &["--speaker", "default"]].concat();
    let mut ann = Client::join_with_env(&link, "Ann", &ann_args, &env_refs(&ann_env));
    ann.wait_for("joined meeting 1234", UP);
    let bob_args = [
        "--camera",
        "none",
        "--mic",
        &voice_arg,
        "--no-chat",
        "--duration",
        "90",
    ];
    let mut bob = Client::join(&link, "Bob", &bob_args);
    bob.wait_for("joined meeting 1234", UP);
    let remote_of = |client: &mut Client, who: &str, screen: bool| {
        let stats = client.stats_now();
        stats["remote"]
            .as_array()
            .and_then(|r| {
                r.iter()
                    .find(|e| e["display"] == who && e["screen"] == screen)
                    .cloned()
            })
            .unwrap_or_default()
    };
    // Ann's speaker plays Bob's voice: that is in her computer's sound.
    let deadline = Instant::now() + UP;
    while remote_of(&mut ann, "Bob", false)["audio_frames_decoded"]
        .as_u64()
        .unwrap_or(0)
        < 200
    {
        assert!(Instant::now() < deadline, "Ann does not hear Bob");
        std::thread::sleep(Duration::from_millis(500));
    }

    ann.send_line("share test +sound");
    ann.wait_for("and your computer's sound", UP);
    bob.wait_for("+ Ann is sharing their screen", UP);
    // The canceller has a few seconds to learn the speaker's path; then
    // what is left of Bob's voice in the share is a whisper: the levels
    // of a few seconds, as Ann plays Bob and as Bob gets Ann's share.
    std::thread::sleep(Duration::from_secs(8));
    let (mut voice, mut echo) = (0.0, 0.0);
    for _ in 0..20 {
        voice += remote_of(&mut ann, "Bob", false)["audio_level"]
            .as_f64()
            .unwrap_or(0.0);
        let share = remote_of(&mut bob, "Ann", true);
        assert!(
            share["audio_frames_decoded"].as_u64().unwrap_or(0) > 200,
            "no sound in the share: {share}"
        );
        echo += share["audio_level"].as_f64().unwrap_or(1.0);
        std::thread::sleep(Duration::from_millis(300));
    }
    eprintln!(
        "Bob's voice as Ann plays it {voice:.3}, what is left of it in her share {echo:.3} (sums of 20 levels)"
    );
    assert!(
        voice > 20.0 * 0.01,
        "Bob's voice is too quiet to tell: {voice}"
    );
    assert!(
        echo < voice / 10.0,
        "Bob hears himself in Ann's share: level {echo}, his voice {voice} (sums of 20); Ann's log:\n{}",
        ann.errors()
    );

    // Music on Ann's computer: it reaches Bob in the share.
    let music = pulse
        .pactl(&[
            "load-module",
            "module-sine",
            "sink=talkline_test",
            "frequency=500",
        ])
        .expect("module-sine");
    let deadline = Instant::now() + UP;
    loop {
        let share = remote_of(&mut bob, "Ann", true);
        let hz = share["audio_dominant_hz"].as_f64().unwrap_or(0.0);
        let level = share["audio_level"].as_f64().unwrap_or(0.0);
        if (hz - 500.0).abs() < 5.0 && level > 0.05 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the computer's 500 Hz did not reach Bob: {share}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = pulse.pactl(&["unload-module", music.trim()]);
    for client in [&mut ann, &mut bob] {
        assert!(client.stop().success(), "{}", client.errors());
    }
    pulse.stop();
}

/// Janus gives a stream's place in a subscription (its mid and SSRC) to
/// the next feed once the one before is gone: a share stopped, then
/// another; someone who left, then someone new. No new track is told for
/// it: the call subscribes anew, and each one's pictures are theirs.
#[test]
fn a_stream_given_to_the_next_feed_is_that_feeds() {
    let janus = Janus::start();
    let link = janus.link(1234);
    let args = |camera: &'static str| {
        [
            "--camera",
            camera,
            "--mic",
            "none",
            "--no-chat",
            "--duration",
            "60",
        ]
    };
    let mut ann = Client::join(&link, "Ann", &args("test"));
    ann.wait_for("joined meeting 1234", UP);
    let mut bob = Client::join(&link, "Bob", &args("none"));
    bob.wait_for("joined meeting 1234", UP);
    ann.send_line("share test:1280x720@10");
    let first = waits_for_picture(&mut bob, "Ann", (1280, 720), 10);
    ann.send_line("share stop");
    bob.wait_for("- Ann stopped sharing their screen", UP);
    ann.send_line("share test:640x480@10");
    let second = waits_for_picture(&mut bob, "Ann", (640, 480), 20);
    assert_ne!(first["feed_id"], second["feed_id"], "{second}");
    // What the first share's stream carries next was never counted as it.
    let of_feed = |client: &mut Client, feed: &serde_json::Value| {
        let stats = client.stats_now();
        stats["remote"]
            .as_array()
            .and_then(|r| r.iter().find(|e| &e["feed_id"] == feed).cloned())
            .unwrap_or_default()
    };
    let first_now = of_feed(&mut bob, &first["feed_id"]);
    assert_eq!(first_now["video_width"], 1280, "{first_now}");

    let mut carl = Client::join(&link, "Carl", &args("test:640x360@15"));
    carl.wait_for("joined meeting 1234", UP);
    let carls = waits_for_picture(&mut bob, "Carl", (640, 360), 20);
    assert!(carl.stop().success(), "{}", carl.errors());
    bob.wait_for("- Carl left", UP);
    let mut dan = Client::join(&link, "Dan", &args("test:320x240@15"));
    dan.wait_for("joined meeting 1234", UP);
    waits_for_picture(&mut bob, "Dan", (320, 240), 20);
    let carls_now = of_feed(&mut bob, &carls["feed_id"]);
    assert!(
        carls_now.is_null() || carls_now["video_width"] == 640,
        "Dan's video was counted as Carl's: {carls_now}"
    );
    for client in [&mut ann, &mut bob, &mut dan] {
        assert!(client.stop().success(), "{}", client.errors());
    }
}
