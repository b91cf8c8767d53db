//! Meetings a TalkLine user makes and hosts, through real Janus: the host
//! turns off microphones and cameras and asks for them back, locks the
//! meeting, removes someone and ends it; guests cannot do any of it, and
//! the server is what refuses them.

use std::time::{Duration, Instant};

use crate::support::{Client, Janus, remote};

/// The guests' link a host's run printed.
fn guest_link(host: &Client) -> String {
    host.wait_for("guests join with ", Duration::from_secs(10));
    host.output()
        .iter()
        .find_map(|l| {
            l.split_once("guests join with ")
                .map(|(_, link)| link.to_string())
        })
        .expect("the guests' link")
}

/// Audio frames Cy has decoded from `who` so far.
fn heard_from(listener: &mut Client, who: &str) -> u64 {
    let stats = listener.stats_now();
    remote(&stats, who)["audio_frames_decoded"]
        .as_u64()
        .unwrap_or(0)
}

/// Whether the audio from `who` stays stopped at `listener` for 2 s.
fn stays_silent(listener: &mut Client, who: &str) -> bool {
    // What was on its way when the microphone was held has arrived.
    std::thread::sleep(Duration::from_millis(500));
    let before = heard_from(listener, who);
    std::thread::sleep(Duration::from_secs(2));
    heard_from(listener, who) == before
}

#[test]
fn a_host_turns_off_removes_locks_and_ends_and_guests_cannot() {
    let janus = Janus::start();
    let mut ann = Client::host(
        &janus.url(),
        "Ann",
        &["--mic", "test:300", "--pin", "pear 7", "--no-chat"],
    );
    let link = guest_link(&ann);
    // The guests' link has the PIN, and nothing else secret.
    assert!(link.contains("&pin=pear%207"), "{link}");
    assert!(
        !link.contains("secret") && !link.contains("token"),
        "{link}"
    );
    ann.wait_for("joined meeting", Duration::from_secs(10));

    let mut bob = Client::join(&link, "Bob", &["--mic", "test:500", "--no-chat"]);
    let mut cy = Client::join(&link, "Cy", &["--mic", "test:700", "--no-chat"]);
    for (who, sees) in [(&ann, "Bob"), (&ann, "Cy"), (&cy, "Bob"), (&bob, "Cy")] {
        who.wait_for(&format!("+ {sees} joined"), Duration::from_secs(10));
    }
    // Bob is heard at first.
    let deadline = Instant::now() + Duration::from_secs(10);
    while heard_from(&mut cy, "Bob") < 50 {
        assert!(Instant::now() < deadline, "Cy never heard Bob");
        std::thread::sleep(Duration::from_millis(200));
    }

    // The host turns Bob's microphone off: Bob is told, Cy sees it and
    // hears nothing more of him, and Bob cannot turn it back on himself.
    ann.send_line("mute Bob");
    ann.wait_for("host: turned off Bob's microphone", Duration::from_secs(5));
    bob.wait_for_error(
        "the host turned off your microphone",
        Duration::from_secs(5),
    );
    cy.wait_for_last(
        "~ Bob ",
        "microphone turned off by the host, camera on",
        Duration::from_secs(5),
    );
    assert!(stays_silent(&mut cy, "Bob"), "Bob was still heard");
    bob.send_line("unmute");
    bob.wait_for_error(
        "you can turn it on when the host asks you to",
        Duration::from_secs(5),
    );

    // Asked to turn it on, Bob decides: it stays off until he does.
    ann.send_line("ask-unmute Bob");
    bob.wait_for(
        "the host asks you to turn on your microphone: type unmute",
        Duration::from_secs(5),
    );
    cy.wait_for_last(
        "~ Bob ",
        "microphone muted, camera on",
        Duration::from_secs(5),
    );
    bob.send_line("unmute");
    cy.wait_for_last("~ Bob ", "microphone on, camera on", Duration::from_secs(5));
    let before = heard_from(&mut cy, "Bob");
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        heard_from(&mut cy, "Bob") > before + 50,
        "Bob not heard again"
    );

    // Cameras too.
    ann.send_line("stop-video Cy");
    cy.wait_for_error("the host turned off your camera", Duration::from_secs(5));
    bob.wait_for_last(
        "~ Cy ",
        "microphone on, camera turned off by the host",
        Duration::from_secs(5),
    );

    // A guest's host commands are refused: by this app, and, for a guest
    // who forges the request with a made-up key, by the server.
    bob.send_line("remove Cy");
    bob.wait_for_error(
        "only the meeting's host can do that",
        Duration::from_secs(5),
    );
    let room: u64 = link
        .split("room=")
        .nth(1)
        .and_then(|r| r.split('&').next())
        .and_then(|r| r.parse().ok())
        .expect("the room in the link");
    let cy_feed = remote(&ann.stats_now(), "Cy")["feed_id"]
        .as_u64()
        .expect("Cy's feed");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let forged = talkline_meeting::host::HostControls::new(talkline_meeting::host::HostedMeeting {
        server: talkline_meeting::ServerUrl::parse(&janus.url()).expect("url"),
        room,
        pin: Some("pear 7".into()),
        host_key: talkline_meeting::host::Secret::random(),
        entry_token: talkline_meeting::host::Secret::random(),
        waiting_room: false,
    });
    for (what, result) in [
        ("remove", runtime.block_on(forged.remove(cy_feed))),
        ("hold", runtime.block_on(forged.hold(cy_feed, "0", true))),
        ("lock", runtime.block_on(forged.set_locked(true))),
        ("end", runtime.block_on(forged.end())),
    ] {
        assert!(
            matches!(result, Err(talkline_meeting::MeetingError::NotHost)),
            "a forged {what}: {result:?}"
        );
    }
    runtime.block_on(forged.close());
    assert!(
        !cy.output().iter().any(|l| l.contains("left")),
        "{:?}",
        cy.output()
    );

    // Locked: nobody new gets in.
    ann.send_line("lock");
    ann.wait_for("host: the meeting is locked", Duration::from_secs(5));
    let mut dee = Client::join(&link, "Dee", &["--no-chat"]);
    assert_eq!(dee.wait(Duration::from_secs(10)).code(), Some(4));
    assert!(
        dee.errors().contains("the host has locked this meeting"),
        "{}",
        dee.errors()
    );

    // Removed: Bob's run ends (it does not rejoin), and he cannot come
    // back while the meeting is locked.
    ann.send_line("remove Bob");
    ann.wait_for("host: removed Bob from the meeting", Duration::from_secs(5));
    assert_eq!(bob.wait(Duration::from_secs(10)).code(), Some(4));
    assert!(
        bob.errors()
            .contains("the host removed you from the meeting"),
        "{}",
        bob.errors()
    );
    cy.wait_for("- Bob left", Duration::from_secs(5));
    ann.wait_for("- Bob left", Duration::from_secs(5));
    let mut bob_again = Client::join(&link, "Bob", &["--no-chat"]);
    assert_eq!(bob_again.wait(Duration::from_secs(10)).code(), Some(4));
    assert!(
        bob_again.errors().contains("locked"),
        "{}",
        bob_again.errors()
    );

    // Unlocked: anyone with the link again.
    ann.send_line("unlock");
    ann.wait_for("host: the meeting is unlocked", Duration::from_secs(5));
    let mut dee = Client::join(&link, "Dee", &["--no-chat"]);
    dee.wait_for("joined meeting", Duration::from_secs(10));
    cy.wait_for("+ Dee joined", Duration::from_secs(10));

    // Ended for everyone: each run says so and ends well.
    ann.send_line("end");
    for client in [&mut cy, &mut dee, &mut ann] {
        let status = client.wait(Duration::from_secs(10));
        assert!(status.success(), "{}: {}", client.name, client.errors());
        client.wait_for("the host ended the meeting", Duration::from_secs(1));
    }
}

/// The last "waiting (N): …" line a host's run printed says `rest`.
fn waiting_list_is(host: &Client, rest: &str) {
    host.wait_for_last("waiting (", rest, Duration::from_secs(10));
}

#[test]
fn a_waiting_room_keeps_guests_out_until_the_host_lets_them_in() {
    let janus = Janus::start();
    let mut ann = Client::host(
        &janus.url(),
        "Ann",
        &["--waiting-room", "--mic", "test:300", "--no-chat"],
    );
    let link = guest_link(&ann);
    ann.wait_for("joined meeting", Duration::from_secs(10));

    // Gus waits: he is told so, and nobody in the meeting sees or sends
    // him anything.
    let mut gus = Client::join(&link, "Gus", &["--mic", "test:500"]);
    gus.wait_for(
        "waiting for the host to let you in",
        Duration::from_secs(10),
    );
    waiting_list_is(&ann, "1): Gus");
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !gus.output().iter().any(|l| l.contains("joined")),
        "{:?}",
        gus.output()
    );
    let stats = ann.stats_now();
    assert_eq!(
        stats["remote"].as_array().map(Vec::len),
        Some(0),
        "{stats:#}"
    );

    // Let in: he joins, and they see and hear each other.
    ann.send_line("admit Gus");
    ann.wait_for("host: let Gus in", Duration::from_secs(5));
    gus.wait_for("joined meeting", Duration::from_secs(10));
    gus.wait_for("+ Ann joined", Duration::from_secs(10));
    ann.wait_for("+ Gus joined", Duration::from_secs(10));
    // Let in, he is let into the chat too (kept to those let in).
    gus.wait_for("chat ready", Duration::from_secs(15));
    waiting_list_is(&ann, "0): ");
    let deadline = Instant::now() + Duration::from_secs(10);
    while heard_from(&mut ann, "Gus") < 50 {
        assert!(Instant::now() < deadline, "Ann never heard Gus");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Refused: Hal's run ends with why.
    let quiet = ["--camera", "none", "--mic", "none", "--no-chat"];
    let mut hal = Client::join(&link, "Hal", &quiet);
    waiting_list_is(&ann, "1): Hal");
    ann.send_line("refuse Hal");
    assert_eq!(hal.wait(Duration::from_secs(10)).code(), Some(4));
    assert!(
        hal.errors().contains("the host did not let you in"),
        "{}",
        hal.errors()
    );

    // Someone who gives up waiting leaves the list; everyone else waiting
    // is let in at once.
    let mut ivy = Client::join(&link, "Ivy", &quiet);
    waiting_list_is(&ann, "1): Ivy");
    ivy.stop();
    waiting_list_is(&ann, "0): ");
    let mut crowd: Vec<Client> = (0..4)
        .map(|i| Client::join(&link, &format!("Guest {i}"), &quiet))
        .collect();
    for c in &crowd {
        c.wait_for("waiting for the host", Duration::from_secs(15));
    }
    // All four listed (they came at once: any order).
    ann.wait_for("waiting (4): ", Duration::from_secs(10));
    let last = ann
        .output()
        .into_iter()
        .rev()
        .find(|l| l.starts_with("waiting ("))
        .expect("a waiting line");
    for i in 0..4 {
        assert!(last.contains(&format!("Guest {i}")), "{last}");
    }
    ann.send_line("admit all");
    ann.wait_for("host: let 4 in", Duration::from_secs(10));
    for c in &crowd {
        c.wait_for("joined meeting", Duration::from_secs(15));
    }
    for c in crowd.iter_mut() {
        assert!(c.stop().success(), "{}: {}", c.name, c.errors());
    }
    // The host key lived only in Ann's run: as she leaves, the meeting ends
    // for everyone rather than go on with nobody to let anyone in.
    assert!(ann.stop().success(), "{}", ann.errors());
    ann.wait_for(
        "host: ended the meeting for everyone as you left",
        Duration::from_secs(1),
    );
    assert!(
        gus.wait(Duration::from_secs(10)).success(),
        "{}",
        gus.errors()
    );
    gus.wait_for("the host ended the meeting", Duration::from_secs(1));
}

/// A talkline participant in `meeting`, in this process: a tone, no camera.
async fn guest_call(
    meeting: &talkline_meeting::host::HostedMeeting,
    name: &str,
    entry_token: Option<talkline_meeting::host::Secret>,
    wait: bool,
) -> Result<talkline_meeting::CallHandle, talkline_meeting::MeetingError> {
    crate::support::guest_in_process(meeting, name, entry_token, wait, false).await
}

/// Whether the meeting's chat lets in someone giving `token`.
async fn chat_lets_in(
    meeting: &talkline_meeting::host::HostedMeeting,
    token: Option<&talkline_meeting::host::Secret>,
) -> bool {
    use talkline_meeting::chat::{self, ChatEvent};
    let Ok(mut chat) = chat::open(
        &meeting.server,
        meeting.room,
        meeting.pin.as_deref(),
        token,
        "Eve",
        None,
        &Default::default(),
    )
    .await
    else {
        return false;
    };
    let joined = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match chat.events.recv().await {
                Some(ChatEvent::Joined(_)) => return true,
                Some(ChatEvent::JoinRefused(_)) | None => return false,
                Some(_) => {}
            }
        }
    })
    .await
    .unwrap_or(false);
    chat.leave().await;
    joined
}

#[test]
fn with_a_waiting_room_the_chat_is_kept_to_those_let_in_and_a_removal_takes_the_way_in_back() {
    use std::sync::Arc;
    use talkline_meeting::host::{HostControls, create_meeting};
    use talkline_meeting::lobby::{Lobby, LobbyEvent};
    use talkline_meeting::{MeetingError, ServerUrl};

    let janus = Janus::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = ServerUrl::parse(&janus.url()).expect("url");
    runtime.block_on(async {
        let meeting = create_meeting(&server, Some("fig".into()), true)
            .await
            .expect("a meeting with a waiting room");
        let host = Arc::new(HostControls::new(meeting.clone()));
        let mut lobby = Lobby::open(Arc::clone(&host), Default::default());
        // Someone with the link, not let in, reads no chat.
        assert!(
            !chat_lets_in(&meeting, None).await,
            "the chat let in someone waiting"
        );
        assert!(
            chat_lets_in(&meeting, Some(&meeting.entry_token)).await,
            "the host's own chat"
        );

        let waiting = {
            let meeting = meeting.clone();
            tokio::spawn(async move { guest_call(&meeting, "Gus", None, true).await })
        };
        let username = loop {
            match tokio::time::timeout(Duration::from_secs(15), lobby.events.recv()).await {
                Ok(Some(LobbyEvent::Waiting { shown, .. })) if !shown.is_empty() => {
                    break shown[0].username.clone();
                }
                Ok(Some(_)) => {}
                other => panic!("nobody waited: {other:?}"),
            }
        };
        lobby.admit(Some(&username)).await.expect("admit");
        let gus = waiting.await.expect("task").expect("Gus let in");
        let token = gus
            .entry_token
            .clone()
            .expect("the token Gus was let in with");
        assert!(chat_lets_in(&meeting, Some(&token)).await, "Gus's chat");

        // Removed, Gus cannot come back with it, into the meeting or its chat.
        host.remove(gus.self_id).await.expect("remove");
        gus.leave().await;
        match guest_call(&meeting, "Gus", Some(token.clone()), false).await {
            Err(MeetingError::MeetingLocked) => {}
            other => panic!("Gus came back: {:?}", other.map(|c| c.self_id)),
        }
        assert!(
            !chat_lets_in(&meeting, Some(&token)).await,
            "Gus's chat after removal"
        );
        drop(lobby);
        host.end().await.expect("end");
    });
}
