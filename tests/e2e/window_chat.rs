//! The meeting's chat in the real window, with a `talkline` CLI in the
//! same meeting: a message that arrives while the panel is closed counts
//! as unread; a web link in it opens in the desktop's browser only when
//! clicked (through xdg-open and the handler the desktop names for
//! https); answers go to everyone, or to one person alone.

use super::*;

/// A desktop whose browser is a script that writes down what it was
/// asked to open: xdg-open finds it as the https handler, as it would
/// find Firefox.
fn with_recording_browser(home: &std::path::Path) {
    let opened = home.join("browser-opened.txt");
    let script = home.join("record-browser.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n",
            opened.display()
        ),
    )
    .expect("browser script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("executable");
    let applications = home.join("data/applications");
    std::fs::create_dir_all(&applications).expect("applications folder");
    std::fs::write(
        applications.join("record-browser.desktop"),
        format!(
            "[Desktop Entry]\nType=Application\nName=Recording browser\nExec={} %u\nMimeType=x-scheme-handler/http;x-scheme-handler/https;\n",
            script.display()
        ),
    )
    .expect("desktop entry");
    std::fs::create_dir_all(home.join("config")).expect("config folder");
    std::fs::write(
        home.join("config/mimeapps.list"),
        "[Default Applications]\nx-scheme-handler/https=record-browser.desktop\nx-scheme-handler/http=record-browser.desktop\n",
    )
    .expect("mimeapps.list");
}

#[test]
fn the_window_chats_with_a_cli_participant() {
    let janus = support::Janus::start();
    let link = janus.link(1234);
    let quiet = ["--camera", "none", "--mic", "none", "--duration", "120"];
    let mut bob = support::Client::join(&link, "Bob", &quiet);
    bob.wait_for("chat ready", LONG);

    let window = AppWindow::launch_prepared(&janus.url(), with_recording_browser);
    let driver = &window.driver;
    to_prejoin_with_devices(driver, &link);
    driver.click("#join-now");
    driver.wait_visible("#screen-meeting", LONG);
    driver.wait_for(
        "the chat to connect",
        LONG,
        "return document.getElementById('chat-send').disabled === false;",
    );

    // While the panel is closed: counted, and told.
    bob.send_line("say 你好 Winnie, the notes: https://example.org/notes?id=7.");
    driver.wait_for(
        "one unread message",
        LONG,
        "const b = document.getElementById('chat-unread'); return !b.hidden && b.textContent === '1';",
    );
    shot(&window, "chat-1-unread");
    driver.click("#chat-toggle");
    driver.wait_visible("#chat-log", LONG);
    assert!(!driver.visible("#chat-unread"), "still unread once opened");
    let said = driver.text("#chat-log");
    assert!(said.contains("你好 Winnie, the notes:"), "{said}");

    // The link opens in the browser on a click, never before.
    let opened = window.home.join("browser-opened.txt");
    assert!(!opened.exists(), "the browser opened before any click");
    driver.click("#chat-log a");
    let deadline = Instant::now() + LONG;
    loop {
        let text = std::fs::read_to_string(&opened).unwrap_or_default();
        if text.contains("https://example.org/notes?id=7") {
            assert_eq!(text.lines().count(), 1, "{text}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the browser was not asked to open the link: {text:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        driver.visible("#screen-meeting"),
        "the window navigated away"
    );

    // To everyone; then to Bob alone, picked by name.
    // Typed (WebKitWebDriver types no characters beyond the BMP), then
    // pasted with an emoji.
    driver.type_into("#chat-input", "hello Bob שלום 你好");
    driver.click("#chat-send");
    bob.wait_for("[chat] Winnie: hello Bob שלום 你好", LONG);
    driver.eval(
        "document.getElementById('chat-input').value = 'wave 👋'; return true;",
        json!([]),
    );
    driver.click("#chat-send");
    bob.wait_for("[chat] Winnie: wave 👋", LONG);
    driver.eval(
        "const s = document.getElementById('chat-to'); s.value = [...s.options].find(o => o.text === 'Bob').value; s.dispatchEvent(new Event('change')); return true;",
        json!([]),
    );
    driver.type_into("#chat-input", "just you");
    driver.click("#chat-send");
    bob.wait_for("[chat, to you] Winnie: just you", LONG);
    driver.wait_for(
        "the private message shown as sent to Bob",
        LONG,
        "return document.getElementById('chat-log').textContent.includes('to Bob only');",
    );
    // Too long: said, and what was typed stays.
    let long = "长".repeat(4001);
    driver.eval(
        "document.getElementById('chat-input').value = arguments[0]; document.getElementById('chat-form').requestSubmit(); return true;",
        json!([long]),
    );
    driver.wait_visible("#chat-error", LONG);
    assert!(
        driver.text("#chat-error").contains("4000"),
        "{}",
        driver.text("#chat-error")
    );
    shot(&window, "chat-2-conversation");

    bob.stop();
    close_window(&window);
}

/// Raised hands and reactions between the window and a CLI: the hand
/// button and H, the queue in People and a hand on each tile, reactions
/// floating over the sender's tile.
#[test]
fn the_window_raises_hands_and_reacts_with_a_cli_participant() {
    let janus = support::Janus::start();
    let link = janus.link(1234);
    let mut bob = support::Client::join(&link, "Bob", &["--mic", "none", "--duration", "120"]);
    bob.wait_for("hands ready", LONG);

    let window = joined_window(&janus, &link);
    let driver = &window.driver;
    driver.wait_for(
        "the hand button to be ready",
        LONG,
        "return document.getElementById('hand-toggle').disabled === false;",
    );
    driver.wait_visible("#tiles .tile:not(.self)", LONG);

    // Bob first, then us: the same order on both sides.
    bob.send_line("hand up");
    driver.wait_for(
        "Bob's hand on his tile",
        LONG,
        "const h = document.querySelector('#tiles .tile:not(.self) .hand'); return h !== null && h.textContent === '✋ 1';",
    );
    driver.click("#hand-toggle");
    bob.wait_for_last("[hands] ", "you, Winnie", LONG);
    driver.wait_for(
        "our hand second",
        LONG,
        "const h = document.querySelector('#tiles .tile.self .hand'); return h !== null && h.textContent === '✋ 2' && document.getElementById('hand-toggle').getAttribute('aria-pressed') === 'true';",
    );
    driver.click("#participants-toggle");
    let queue = driver.text("#hand-list");
    assert!(
        queue
            .find("Bob")
            .is_some_and(|bob| queue.find("You").is_some_and(|you| bob < you)),
        "{queue:?}"
    );

    // Reactions both ways.
    bob.send_line("react 🎉");
    driver.wait_for(
        "Bob's reaction over his tile",
        LONG,
        "const r = document.querySelector('#tiles .tile:not(.self) .reaction'); return r !== null && r.textContent === '🎉';",
    );
    shot(&window, "hands-1-raised");
    driver.click("#reactions-toggle");
    driver.wait_visible("#reactions-menu", LONG);
    driver.click("#reactions-menu button[data-emoji='👍']");
    bob.wait_for("[reaction] Winnie: 👍", LONG);

    // H lowers our hand (the menu closed first, as Esc does).
    driver.press("\u{E00C}");
    driver.press("h");
    bob.wait_for_last("[hands] ", "you", LONG);
    driver.wait_for(
        "our hand down",
        LONG,
        "return document.querySelector('#tiles .tile.self .hand') === null && document.getElementById('hand-toggle').getAttribute('aria-pressed') === 'false';",
    );

    bob.stop();
    close_window(&window);
}

/// Files between the window and a CLI: one offered by the CLI, saved from
/// the chat panel into Downloads; one picked in the panel, saved by the
/// CLI; both byte-identical.
#[test]
fn the_window_shares_and_saves_files_with_a_cli_participant() {
    let janus = support::Janus::start();
    let link = janus.link(1234);
    let dir = support::scratch_dir("window-files");
    let from_bob: Vec<u8> = (0..300_001u32).map(|i| (i * 31 + i / 7) as u8).collect();
    let bob_file = dir.join("agenda 议程.pdf");
    std::fs::write(&bob_file, &from_bob).expect("Bob's file");
    let quiet = ["--camera", "none", "--mic", "none", "--duration", "120"];
    let mut bob = support::Client::join(&link, "Bob", &quiet);
    bob.wait_for("hands ready", LONG);

    let window = joined_window(&janus, &link);
    let driver = &window.driver;
    driver.wait_for(
        "the side room to be ready",
        LONG,
        "return document.getElementById('hand-toggle').disabled === false;",
    );

    bob.send_line(&format!("file {}", bob_file.display()));
    driver.wait_for(
        "Bob's file counted as unread",
        LONG,
        "const b = document.getElementById('chat-unread'); return !b.hidden && b.textContent === '1';",
    );
    driver.click("#chat-toggle");
    driver.wait_visible("#chat-log li.file .file-save", LONG);
    let shown = driver.text("#chat-log li.file");
    assert!(shown.contains("agenda 议程.pdf (300.0 KB)"), "{shown}");
    driver.click("#chat-log li.file .file-save");
    let saved = driver.wait_for(
        "the file saved",
        LONG,
        "const s = document.querySelector('#chat-log li.file .file-status'); return s && s.textContent.startsWith('Saved as ') ? s.textContent.slice('Saved as '.length) : false;",
    );
    let saved = saved.as_str().expect("a path").to_string();
    assert!(saved.ends_with("agenda 议程.pdf"), "{saved}");
    assert_eq!(
        std::fs::read(&saved).expect("saved"),
        from_bob,
        "not the same bytes"
    );
    bob.wait_for("[file, delivered] \"agenda 议程.pdf\" to Winnie", LONG);
    shot(&window, "files-1-saved");

    // Picked in the panel (the system's file dialog stands in for a File).
    driver.eval(
        "const text = 'from the window 你好\\n'.repeat(5000);
         const dt = new DataTransfer();
         dt.items.add(new File([text], 'minutes.txt', { type: 'text/plain' }));
         const input = document.getElementById('chat-file');
         input.files = dt.files;
         input.dispatchEvent(new Event('change'));
         return true;",
        json!([]),
    );
    bob.wait_for("Winnie offers \"minutes.txt\"", LONG);
    let inbox = dir.join("inbox");
    std::fs::create_dir_all(&inbox).expect("inbox");
    bob.send_line(&format!("save 1 {}", inbox.display()));
    bob.wait_for("[file, saved]", LONG);
    assert_eq!(
        std::fs::read_to_string(inbox.join("minutes.txt")).expect("saved by Bob"),
        "from the window 你好\n".repeat(5000)
    );
    driver.wait_for(
        "ours said received",
        LONG,
        "return [...document.querySelectorAll('#chat-log li.file.own')].some(li => li.textContent.includes('Received by 1'));",
    );

    bob.stop();
    close_window(&window);
}
