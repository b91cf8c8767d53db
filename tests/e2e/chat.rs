//! The meeting's chat through a real Janus (its TextRoom plugin, one chat
//! room beside each meeting room): messages to everyone and to one
//! person, a late joiner given the meeting's messages so far, text in any
//! script, and what may not be sent said on the spot.

use super::*;

const CHAT_UP: Duration = Duration::from_secs(20);
const DELIVERED: Duration = Duration::from_secs(10);
/// A file of a megabyte or so, relayed part by part through the server.
const LONG_TRANSFER: Duration = Duration::from_secs(60);

fn waits_for_error(client: &Client, needle: &str) {
    client.wait_for_error(needle, DELIVERED);
}

#[test]
fn chat_reaches_everyone_one_person_and_those_who_come_later() {
    let janus = Janus::start();
    let link = janus.link(1234);
    let quiet = ["--camera", "none", "--mic", "none", "--duration", "60"];
    let mut ann = Client::join(&link, "Ann", &quiet);
    ann.wait_for("chat ready", CHAT_UP);
    let mut bob = Client::join(&link, "Bob", &quiet);
    bob.wait_for("chat ready", CHAT_UP);

    // Any script survives the trip: Chinese, emoji, right-to-left.
    let hello = "大家好 👋 שלום עולם — hello";
    bob.send_line(&format!("say {hello}"));
    bob.wait_for(&format!("[chat, sent] {hello}"), DELIVERED);
    ann.wait_for(&format!("[chat] Bob: {hello}"), DELIVERED);
    // Shown once to its sender, not again when the server echoes it.
    std::thread::sleep(Duration::from_millis(500));
    let shown = bob.output().iter().filter(|l| l.contains(hello)).count();
    assert_eq!(shown, 1, "{:?}", bob.output());

    // To one person: only they get it.
    ann.send_line("whisper Bob: just for you");
    ann.wait_for("[chat, sent to Bob] just for you", DELIVERED);
    bob.wait_for("[chat, to you] Ann: just for you", DELIVERED);

    // Someone who joins later reads what was said to everyone, not what
    // was said to one person.
    let mut cat = Client::join(&link, "Cat", &quiet);
    cat.wait_for("chat ready", CHAT_UP);
    cat.wait_for(&format!("[chat] Bob: {hello}"), DELIVERED);
    cat.send_line("say hi all");
    ann.wait_for("[chat] Cat: hi all", DELIVERED);
    bob.wait_for("[chat] Cat: hi all", DELIVERED);
    assert!(
        !cat.output().iter().any(|l| l.contains("just for you")),
        "a private message reached a late joiner: {:?}",
        cat.output()
    );

    // What may not be sent is said, and the chat goes on.
    ann.send_line(&format!("say {}", "长".repeat(4001)));
    waits_for_error(&ann, "at most 4000 characters");
    ann.send_line("whisper Nobody: hello?");
    waits_for_error(&ann, "nobody called \"Nobody\" in the chat");
    // A message that would drive a terminal is shown, not obeyed.
    bob.send_line("say \u{1b}]0;owned\u{7}colour\u{1b}[31m");
    ann.wait_for(
        "[chat] Bob: \u{fffd}]0;owned\u{fffd}colour\u{fffd}[31m",
        DELIVERED,
    );
    bob.send_line("say still here");
    ann.wait_for("[chat] Bob: still here", DELIVERED);

    for client in [&mut ann, &mut bob, &mut cat] {
        assert!(client.stop().success(), "{}", client.errors());
    }
}

#[test]
fn the_chat_of_a_meeting_with_a_pin_is_joined_with_it_and_bots_stay_out() {
    let janus = Janus::start();
    let with_pin = format!("{}&pin=secret", janus.link(4321));
    let quiet = ["--camera", "none", "--mic", "none", "--duration", "30"];
    let mut dee = Client::join(&with_pin, "Dee", &quiet);
    dee.wait_for("chat ready", CHAT_UP);
    // A load generator publishes without joining the chat.
    let mut bot = Client::join(&with_pin, "Bot", &["--publish-only", "--duration", "30"]);
    bot.wait_for("joined meeting 4321", CHAT_UP);
    let mut eve = Client::join(&with_pin, "Eve", &quiet);
    eve.wait_for("chat ready", CHAT_UP);
    eve.send_line("whisper Bot: are you there?");
    waits_for_error(&eve, "nobody called \"Bot\" in the chat");
    eve.send_line("say the PIN let me in");
    dee.wait_for("[chat] Eve: the PIN let me in", DELIVERED);
    assert!(
        !bot.output().iter().any(|l| l.contains("chat")),
        "{:?}",
        bot.output()
    );
    for client in [&mut dee, &mut bot, &mut eve] {
        assert!(client.stop().success(), "{}", client.errors());
    }
}

#[test]
fn chat_with_a_browser_on_a_janus_js_page_goes_both_ways() {
    let janus = Janus::start();
    let link = janus.link(1234);
    let mut ann = Client::join(
        &link,
        "Ann",
        &["--camera", "none", "--mic", "none", "--duration", "60"],
    );
    ann.wait_for("chat ready", CHAT_UP);
    let chrome = support::browser::BrowserPeer::join_chatting(&janus.url(), 1234, "Chrome");
    chrome.wait_for("the browser in the chat", CHAT_UP, |r| {
        r["chat"]["joined"] == true
    });

    // Ours reaches the browser whole; its answer reaches us, by its name.
    let ping = "ping 你好 👋 مرحبا";
    ann.send_line(&format!("say {ping}"));
    let report = chrome.wait_for("the CLI's message in the browser", DELIVERED, |r| {
        r["chat"]["received"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["text"] == ping))
    });
    let received = &report["chat"]["received"];
    assert!(
        received
            .as_array()
            .is_some_and(|m| m.iter().all(|m| m["whisper"] == false)),
        "{received}"
    );
    ann.wait_for(&format!("[chat] Chrome: pong: {ping}"), DELIVERED);

    // To the browser alone.
    ann.send_line("whisper Chrome: only for the browser");
    chrome.wait_for("the private message", DELIVERED, |r| {
        r["chat"]["received"].as_array().is_some_and(|m| {
            m.iter()
                .any(|m| m["text"] == "only for the browser" && m["whisper"] == true)
        })
    });
    assert!(ann.stop().success(), "{}", ann.errors());
}

#[test]
fn the_chat_comes_back_after_the_server_does() {
    let mut janus = Janus::start();
    let link = janus.link(1234);
    let quiet = ["--camera", "none", "--mic", "none", "--duration", "90"];
    let mut ann = Client::join(&link, "Ann", &quiet);
    ann.wait_for("chat ready", CHAT_UP);
    let mut bob = Client::join(&link, "Bob", &quiet);
    bob.wait_for("chat ready", CHAT_UP);
    bob.send_line("say before");
    ann.wait_for("[chat] Bob: before", DELIVERED);

    let (ann_seen, bob_seen) = (ann.lines_so_far(), bob.lines_so_far());
    janus.kill();
    std::thread::sleep(Duration::from_secs(2));
    janus.restart();
    // Each connects again on its own, and says so.
    for client in [&ann, &bob] {
        waits_for_error(client, "the chat's connection was lost: reconnecting");
    }
    ann.wait_for_since("chat ready", ann_seen, Duration::from_secs(60));
    bob.wait_for_since("chat ready", bob_seen, Duration::from_secs(60));
    bob.send_line("say after");
    ann.wait_for("[chat] Bob: after", DELIVERED);
    ann.send_line("whisper Bob: still here");
    bob.wait_for("[chat, to you] Ann: still here", DELIVERED);
    // What was said before is not shown again.
    let before = ann
        .output()
        .iter()
        .filter(|l| l.contains("Bob: before"))
        .count();
    assert_eq!(before, 1, "{:?}", ann.output());
    for client in [&mut ann, &mut bob] {
        assert!(client.stop().success(), "{}", client.errors());
    }
}

/// Waits until the last queue of hands `client` printed is `expected`.
fn waits_for_hands(client: &Client, expected: &str) {
    client.wait_for_last("[hands] ", expected, DELIVERED);
}

#[test]
fn hands_are_queued_alike_for_everyone_and_reactions_reach_the_others() {
    let janus = Janus::start();
    // A room with a PIN: the room for hands is made with it.
    let link = format!("{}&pin=secret", janus.link(4321));
    let quiet = ["--camera", "none", "--mic", "none", "--duration", "60"];
    let mut ann = Client::join(&link, "Ann", &quiet);
    let mut bob = Client::join(&link, "Bob", &quiet);
    ann.wait_for("hands ready", CHAT_UP);
    bob.wait_for("hands ready", CHAT_UP);

    bob.send_line("hand up");
    waits_for_hands(&bob, "you");
    waits_for_hands(&ann, "Bob");
    ann.send_line("hand up");
    waits_for_hands(&ann, "Bob, you");
    waits_for_hands(&bob, "you, Ann");

    // Someone who comes later is told the queue as it stands.
    let mut cat = Client::join(&link, "Cat", &quiet);
    cat.wait_for("hands ready", CHAT_UP);
    waits_for_hands(&cat, "Bob, Ann");
    bob.send_line("hand down");
    for (client, queue) in [(&ann, "you"), (&bob, "Ann"), (&cat, "Ann")] {
        waits_for_hands(client, queue);
    }

    // Reactions reach the others; ours is shown at once.
    ann.send_line("react 👏");
    ann.wait_for("[reaction, sent] 👏", DELIVERED);
    bob.wait_for("[reaction] Ann: 👏", DELIVERED);
    cat.wait_for("[reaction] Ann: 👏", DELIVERED);
    cat.send_line("react 💩");
    waits_for_error(&cat, "is not one of the reactions");
    // Not a chat message: the chat shows nothing of them.
    assert!(
        !cat.output().iter().any(|l| l.starts_with("[chat]")),
        "{:?}",
        cat.output()
    );

    // A hand leaves with its owner.
    assert!(ann.stop().success(), "{}", ann.errors());
    waits_for_hands(&cat, "none");
    waits_for_hands(&bob, "none");
    for client in [&mut bob, &mut cat] {
        assert!(client.stop().success(), "{}", client.errors());
    }
}

#[test]
fn a_file_offered_in_the_meeting_arrives_byte_identical_where_the_receiver_says() {
    let janus = Janus::start();
    let link = janus.link(1234);
    let dir = support::scratch_dir("shared-files");
    let outbox = dir.join("outbox");
    let inbox = dir.join("inbox");
    std::fs::create_dir_all(&outbox).expect("outbox");
    std::fs::create_dir_all(&inbox).expect("inbox");
    // Not a whole number of parts, bytes of every value.
    let bytes: Vec<u8> = (0..1_234_567u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let sent = outbox.join("slides 会议.bin");
    std::fs::write(&sent, &bytes).expect("a file to share");
    // A name that would climb out of the folder on Windows and is reserved there.
    let hostile = outbox.join("..\\..\\CON.txt");
    std::fs::write(&hostile, b"hello").expect("a hostile name");
    // Already in the receiver's folder: not overwritten.
    std::fs::write(inbox.join("slides 会议.bin"), b"mine").expect("an existing file");
    let too_big = outbox.join("too-big.iso");
    std::fs::File::create(&too_big)
        .and_then(|f| f.set_len(16 * 1024 * 1024 + 1))
        .expect("a file over the limit");

    let quiet = ["--camera", "none", "--mic", "none", "--duration", "90"];
    let mut ann = Client::join(&link, "Ann", &quiet);
    let mut bob = Client::join(&link, "Bob", &quiet);
    let mut cat = Client::join(&link, "Cat", &quiet);
    for client in [&ann, &bob, &cat] {
        client.wait_for("hands ready", CHAT_UP);
        client.wait_for("chat ready", CHAT_UP);
    }

    ann.send_line(&format!("file {}", sent.display()));
    ann.wait_for("[file, offered] \"slides 会议.bin\" (1.2 MB)", DELIVERED);
    bob.wait_for(
        "[file 1] Ann offers \"slides 会议.bin\" (1.2 MB)",
        DELIVERED,
    );
    cat.wait_for(
        "[file 1] Ann offers \"slides 会议.bin\" (1.2 MB)",
        DELIVERED,
    );
    bob.send_line(&format!("save 1 {}", inbox.display()));
    let saved = inbox.join("slides 会议 (1).bin");
    bob.wait_for(&format!("[file, saved] {}", saved.display()), LONG_TRANSFER);
    assert_eq!(
        std::fs::read(&saved).expect("saved"),
        bytes,
        "not the same bytes"
    );
    assert_eq!(
        std::fs::read(inbox.join("slides 会议.bin")).expect("kept"),
        b"mine"
    );
    ann.wait_for("[file, delivered] \"slides 会议.bin\" to Bob", DELIVERED);

    // To one person: only they see it; the name is made safe.
    ann.send_line(&format!("file-to Bob: {}", hostile.display()));
    ann.wait_for("[file, offered to Bob] \"_CON.txt\"", DELIVERED);
    bob.wait_for("[file 2, to you] Ann offers \"_CON.txt\" (5 B)", DELIVERED);
    bob.send_line(&format!("save 2 {}", inbox.display()));
    bob.wait_for(
        &format!("[file, saved] {}", inbox.join("_CON.txt").display()),
        DELIVERED,
    );
    assert_eq!(
        std::fs::read(inbox.join("_CON.txt")).expect("saved"),
        b"hello"
    );

    // Over the limit: said before a byte is sent; nothing else was written.
    ann.send_line(&format!("file {}", too_big.display()));
    waits_for_error(&ann, "at most 16 MiB");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !cat.output()
            .iter()
            .any(|l| l.contains("CON") || l.contains("too-big")),
        "{:?}",
        cat.output()
    );
    let mut names: Vec<String> = std::fs::read_dir(&inbox)
        .expect("inbox")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["_CON.txt", "slides 会议 (1).bin", "slides 会议.bin"]
    );
    assert!(
        std::fs::read_dir(&dir)
            .expect("scratch")
            .all(|e| e.is_ok_and(|e| e.file_name() == "inbox" || e.file_name() == "outbox")),
        "something written outside the chosen folder"
    );

    // The chat and hands go on.
    cat.send_line("say still here");
    bob.wait_for("[chat] Cat: still here", DELIVERED);
    for client in [&mut ann, &mut bob, &mut cat] {
        assert!(client.stop().success(), "{}", client.errors());
    }
}
