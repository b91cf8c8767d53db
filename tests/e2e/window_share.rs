//! Sharing the screen from the real window, with a `talkline` CLI in the
//! meeting: the picker with its thumbnail, the share seen by the CLI at
//! the screen's size, the banner that stops it.

use super::*;

/// Bob, in the meeting with no camera, microphone or chat: he watches
/// Winnie's shares.
fn watching_bob(link: &str) -> support::Client {
    let bob = support::Client::join(
        link,
        "Bob",
        &[
            "--camera",
            "none",
            "--mic",
            "none",
            "--no-chat",
            "--duration",
            "120",
        ],
    );
    bob.wait_for("joined meeting 1234", LONG);
    bob
}

/// Waits until `bob` has decoded `frames` pictures of Winnie's share at
/// `w`x`h`, and checks the picture is one flat shade whose luma is in
/// `luma` (what was shared, and nothing around it); `what` says what.
fn bob_sees_winnies_share(
    bob: &mut support::Client,
    (w, h): (u64, u64),
    frames: u64,
    luma: std::ops::RangeInclusive<u64>,
    what: &str,
) {
    let deadline = Instant::now() + LONG;
    loop {
        let stats = bob.stats_now();
        let shared = stats["remote"].as_array().and_then(|r| {
            r.iter().find(|e| {
                e["display"] == "Winnie"
                    && e["video_width"] == w
                    && e["video_height"] == h
                    && e["video_frames_decoded"].as_u64().unwrap_or(0) >= frames
            })
        });
        if let Some(shared) = shared {
            let got = shared["video_luma"].as_u64().unwrap_or(0);
            assert!(
                luma.contains(&got) && shared["video_luma_spread"].as_u64().unwrap_or(255) <= 10,
                "not {what}: {shared}"
            );
            return;
        }
        assert!(Instant::now() < deadline, "no {w}x{h} share: {stats}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn the_window_shares_its_screen_and_stops() {
    let janus = support::Janus::start();
    let link = janus.link(1234);
    let mut bob = watching_bob(&link);

    let window = joined_window(&janus, &link);
    let driver = &window.driver;

    driver.click("#share-toggle");
    driver.wait_visible("#share-picker", LONG);
    driver.wait_for(
        "the screen's thumbnail",
        LONG,
        "const img = document.querySelector('#share-sources .share-source img'); return img !== null && img.naturalWidth > 0;",
    );
    let offered = driver.text("#share-sources");
    assert!(offered.contains("Entire screen (1280×800)"), "{offered}");
    shot(&window, "share-1-picker");
    driver.click("#share-sources .share-source");
    driver.wait_visible("#sharing-banner", LONG);
    assert!(!driver.visible("#share-picker"), "the picker stayed open");
    bob.wait_for("+ Winnie is sharing their screen", LONG);

    // Bob receives the whole X screen at its size. The app fills the
    // screen, and is blanked out of what is shared: a flat dark grey
    // (luma 40), not the meeting inside itself.
    bob_sees_winnies_share(
        &mut bob,
        (1280, 800),
        5,
        30..=50,
        "the screen without the app",
    );
    shot(&window, "share-2-sharing");

    driver.click("#sharing-stop");
    bob.wait_for("- Winnie stopped sharing their screen", LONG);
    driver.wait_for(
        "the banner gone and the button back",
        LONG,
        "return document.getElementById('sharing-banner').hidden && document.getElementById('share-toggle').getAttribute('aria-pressed') === 'false';",
    );
    assert!(
        !bob.output().iter().any(|l| l == "- Winnie left"),
        "{:?}",
        bob.output()
    );

    // One window: offered by its title with its thumbnail (the app's own
    // window is not offered), shared at its size, and only it.
    let notes = x11_window::TestWindow::show(
        &window.display,
        "Meeting notes 会议记录",
        (200, 150),
        (480, 320),
        0x2060ff,
    );
    driver.click("#share-toggle");
    driver.wait_visible("#share-windows", LONG);
    driver.wait_for(
        "the window's thumbnail",
        LONG,
        "const img = document.querySelector('#share-windows .share-source img'); return img !== null && img.naturalWidth > 0;",
    );
    let offered = driver.text("#share-windows");
    assert!(
        offered.contains("Meeting notes 会议记录") && offered.contains("Window, 480×320"),
        "{offered}"
    );
    assert!(
        !offered.contains("TalkLine"),
        "the app offered itself: {offered}"
    );
    shot(&window, "share-4-windows");
    driver.click("#share-windows .share-source");
    driver.wait_visible("#sharing-banner", LONG);
    bob.wait_for("+ Winnie is sharing their screen", LONG);
    // The window's blue (luma ~98), not the app's window under it.
    bob_sees_winnies_share(&mut bob, (480, 320), 3, 85..=110, "the window alone");
    // Closed by its owner: the share ends, and the window says why.
    notes.close();
    driver.wait_for(
        "the share's end said",
        LONG,
        "return document.getElementById('sharing-banner').hidden && document.body.textContent.includes('the shared window was closed');",
    );
    bob.wait_for("- Winnie stopped sharing their screen", LONG);

    // Bob shares: his screen takes the large tile, named as his screen.
    bob.send_line("share test:1280x720@10");
    bob.wait_for("sharing your screen", LONG);
    driver.wait_for(
        "Bob's screen large",
        LONG,
        "const t = [...document.querySelectorAll('#tiles .tile.shared-screen')].find(t => t.querySelector('.name').textContent === \"Bob's screen\"); return t !== undefined && t.dataset.role === 'main';",
    );
    driver.wait_for(
        "Bob's screen drawn",
        LONG,
        "const t = document.querySelector('#tiles .tile.shared-screen'); const s = t && window.__talkline.frames.tiles[t.dataset.tile]; return s && s.drawn > 10 && s.width === 1280;",
    );
    shot(&window, "share-3-watching");
    bob.send_line("share stop");
    driver.wait_for(
        "Bob's screen gone",
        LONG,
        "return document.querySelector('#tiles .tile.shared-screen') === null;",
    );
    bob.stop();
    close_window(&window);
}

/// On a Wayland desktop an app sees no other app's picture: the picker
/// offers the desktop's own, and what the desktop hands over through its
/// portal and PipeWire (here a red screen) is what Bob receives, until
/// the desktop's own "Stop sharing" ends it and the window says why.
#[test]
fn on_a_wayland_desktop_the_window_shares_what_the_desktop_chose() {
    let janus = support::Janus::start();
    let link = janus.link(1234);
    let mut bob = watching_bob(&link);
    let window = joined_window_with_env(&janus, &link, &[("XDG_SESSION_TYPE", "wayland")]);
    let driver = &window.driver;
    // The desktop's portal and PipeWire, on the app's session bus.
    let bus = std::fs::read_to_string(window.home.join("bus-address")).expect("the app's bus");
    let desktop = portal_desktop::PortalDesktop::start_on(
        &support::scratch_dir("window-portal"),
        "0xffff0000",
        Some(bus.trim()),
    );

    // The picker cancelled while the desktop's dialog is still open: when
    // the user answers there, nothing is shared, and the desktop's
    // session is closed again.
    desktop.hold_next();
    driver.click("#share-toggle");
    driver.wait_visible("#share-picker", LONG);
    driver.wait_for(
        "the desktop's picker offered",
        LONG,
        "return document.querySelector('#share-sources .share-source') !== null;",
    );
    driver.click("#share-sources .share-source");
    desktop.wait_for_call("Start", 1, LONG);
    driver.click("#share-cancel");
    desktop.wait_for_call("Close", 1, LONG);
    let (shared, closed) = desktop.sessions();
    assert_eq!(shared, closed, "{}", desktop.backend_log());
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        !bob.output().iter().any(|l| l.contains("Winnie is sharing")),
        "{:?}",
        bob.output()
    );
    assert!(
        !driver.visible("#sharing-banner"),
        "the banner shows a cancelled share"
    );

    driver.click("#share-toggle");
    driver.wait_visible("#share-picker", LONG);
    driver.wait_for(
        "the desktop's picker offered",
        LONG,
        "return document.querySelector('#share-sources .share-source') !== null;",
    );
    let offered = driver.text("#share-sources");
    assert!(
        offered.contains("Choose a screen or window…")
            && offered.contains("Your desktop shows what you can share and asks you."),
        "{offered}"
    );
    assert!(
        !driver.visible("#share-windows"),
        "X windows offered on Wayland"
    );
    shot(&window, "share-4-wayland-picker");
    driver.click("#share-sources .share-source");
    driver.wait_visible("#sharing-banner", LONG);
    bob.wait_for("+ Winnie is sharing their screen", LONG);
    // The desktop's red (luma ~82).
    bob_sees_winnies_share(
        &mut bob,
        (1280, 720),
        5,
        70..=95,
        "the desktop's red screen",
    );

    desktop.stop_sharing();
    driver.wait_for(
        "the share's end said",
        LONG,
        "return document.getElementById('sharing-banner').hidden && document.body.textContent.includes('the desktop stopped the screen share');",
    );
    bob.wait_for("- Winnie stopped sharing their screen", LONG);
    bob.stop();
    close_window(&window);
    drop(desktop);
}
