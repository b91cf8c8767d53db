//! A meeting hosted from the real window, with `talkline` CLI guests: the
//! window makes the meeting (its host key kept in the app's encrypted
//! store), and its People list's controls reach the guests through Janus.

use super::*;

/// Clicks the host's `action` button on the People line of `name`, once
/// it is there.
fn host_button(driver: &WebDriver, name: &str, action: &str) {
    let script = format!(
        "const li = [...document.querySelectorAll('#participant-list li')]
           .find(l => (l.querySelector('span')?.textContent ?? '').startsWith('{name}'));
         const b = li && li.querySelector('button[data-host=\"{action}\"]');
         if (!b || b.disabled) return null;
         b.click();
         return true;"
    );
    driver.wait_for(&format!("{name}'s {action} button"), LONG, &script);
}

/// The People line of `name`, once it says `text`.
fn people_line_says(driver: &WebDriver, name: &str, text: &str) {
    let script = format!(
        "const li = [...document.querySelectorAll('#participant-list li')]
           .find(l => (l.querySelector('span')?.textContent ?? '').startsWith('{name}'));
         return li && li.textContent.includes('{text}') ? true : null;"
    );
    driver.wait_for(&format!("{name}: {text:?}"), LONG, &script);
}

/// How the window's new meeting is made: a PIN for guests, a waiting room.
struct NewMeeting<'a> {
    pin: Option<&'a str>,
    waiting_room: bool,
    /// The screenshot of Home, filled in, if one is wanted.
    shot: Option<&'a str>,
}

/// The app launched against `janus`, hosting a new meeting as Winnie
/// (policy accepted, test camera and microphone allowed), joined; with the
/// guests' link its pre-join was given.
fn hosting_window(janus: &support::Janus, new: NewMeeting<'_>) -> (AppWindow, String) {
    let window = AppWindow::launch(&janus.url());
    let driver = &window.driver;
    driver.wait_visible("#screen-policy", LONG);
    driver.click("#policy-accept");
    driver.wait_visible("#screen-home", LONG);
    driver.type_into("#display-name", "Winnie");
    if let Some(pin) = new.pin {
        driver.type_into("#new-meeting-pin", pin);
    }
    if new.waiting_room {
        driver.click("#new-meeting-waiting");
    }
    if let Some(name) = new.shot {
        shot(&window, name);
    }
    driver.click("#new-meeting");
    driver.wait_visible("#screen-prejoin", LONG);
    allow_camera_and_microphone(driver);
    let link = driver
        .eval(
            "return document.getElementById('meeting-input').value;",
            json!([]),
        )
        .as_str()
        .expect("the guests' link")
        .to_string();
    driver.click("#join-now");
    driver.wait_visible("#screen-meeting", LONG);
    (window, link)
}

#[test]
fn the_window_hosts_a_meeting_and_its_controls_reach_the_guests() {
    let janus = support::Janus::start();
    let (window, link) = hosting_window(
        &janus,
        NewMeeting {
            pin: Some("plum 3"),
            waiting_room: false,
            shot: Some("host-1-home"),
        },
    );
    let driver = &window.driver;
    assert!(
        link.starts_with("talkline://join?") && link.ends_with("&pin=plum%203"),
        "{link}"
    );

    let quiet = ["--camera", "none", "--no-chat", "--duration", "120"];
    let mut bob = support::Client::join(&link, "Bob", &["--mic", "test:500", "--no-chat"]);
    bob.wait_for("+ Winnie joined", LONG);
    driver.click("#participants-toggle");
    driver.wait_visible("#host-controls", LONG);

    // Bob's microphone: off by the host, then asked back.
    host_button(driver, "Bob", "mute");
    bob.wait_for_error("the host turned off your microphone", LONG);
    people_line_says(driver, "Bob", "microphone off (host)");
    shot(&window, "host-2-people");
    host_button(driver, "Bob", "askUnmute");
    bob.wait_for("the host asks you to turn on your microphone", LONG);
    people_line_says(driver, "Bob", "muted");

    // Locked: a newcomer is refused.
    driver.click("#host-lock");
    driver.wait_for(
        "the lock to be on",
        LONG,
        "return document.getElementById('host-lock').dataset.locked === 'true' ? true : null;",
    );
    let mut dee = support::Client::join(&link, "Dee", &quiet);
    assert_eq!(dee.wait(LONG).code(), Some(4), "{}", dee.errors());
    assert!(dee.errors().contains("locked"), "{}", dee.errors());

    // Removed (a second press confirms): Bob's run ends, and he cannot
    // come back into the locked meeting.
    host_button(driver, "Bob", "remove");
    // One press only asks.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        bob.is_running(),
        "removed on the first press: {}",
        bob.errors()
    );
    people_line_says(driver, "Bob", "Bob");
    host_button(driver, "Bob", "remove");
    assert_eq!(bob.wait(LONG).code(), Some(4), "{}", bob.errors());
    assert!(
        bob.errors().contains("the host removed you"),
        "{}",
        bob.errors()
    );
    let mut bob_again = support::Client::join(&link, "Bob", &quiet);
    assert_eq!(bob_again.wait(LONG).code(), Some(4));

    // Unlocked, a guest comes in; ended for all, the guest's run ends and
    // the window is back home.
    driver.click("#host-lock");
    driver.wait_for(
        "the lock to be off",
        LONG,
        "return document.getElementById('host-lock').dataset.locked === 'false' ? true : null;",
    );
    let mut cy = support::Client::join(&link, "Cy", &quiet);
    cy.wait_for("+ Winnie joined", LONG);
    driver.click("#host-end");
    driver.click("#host-end");
    assert!(cy.wait(LONG).success(), "{}", cy.errors());
    cy.wait_for("the host ended the meeting", LONG);
    driver.wait_visible("#screen-home", LONG);
}

#[test]
fn the_window_keeps_a_waiting_room_and_waits_in_one() {
    let janus = support::Janus::start();
    let (window, link) = hosting_window(
        &janus,
        NewMeeting {
            pin: None,
            waiting_room: true,
            shot: None,
        },
    );
    let driver = &window.driver;

    // The host's window: Gus waits, seen in People, and is let in.
    let quiet = ["--camera", "none", "--mic", "none", "--no-chat"];
    let mut gus = support::Client::join(&link, "Gus", &quiet);
    gus.wait_for("waiting for the host", LONG);
    driver.click("#participants-toggle");
    driver.wait_visible("#waiting-section", LONG);
    driver.wait_for(
        "Gus in the waiting list",
        LONG,
        "return document.getElementById('waiting-list').textContent.includes('Gus') ? true : null;",
    );
    shot(&window, "host-3-waiting");
    assert!(!gus.output().iter().any(|l| l.contains("joined meeting")));
    driver.click("#waiting-list button[data-host=\"admit\"]");
    gus.wait_for("joined meeting", LONG);
    gus.wait_for("+ Winnie joined", LONG);
    driver.wait_for(
        "the waiting list to empty",
        LONG,
        "return document.getElementById('waiting-section').hidden ? true : null;",
    );
    driver.click("#host-end");
    driver.click("#host-end");
    assert!(gus.wait(LONG).success(), "{}", gus.errors());
    driver.wait_visible("#screen-home", LONG);

    // The guest's window: waiting in Ann's waiting room, giving up, then
    // waiting again and let in.
    let mut ann = support::Client::host(&janus.url(), "Ann", &["--waiting-room", "--no-chat"]);
    ann.wait_for("joined meeting", LONG);
    let anns = ann
        .output()
        .iter()
        .find_map(|l| {
            l.split_once("guests join with ")
                .map(|(_, l)| l.to_string())
        })
        .expect("Ann's link");
    driver.type_into("#meeting-input", &anns);
    driver.click("#home-join");
    driver.wait_visible("#screen-prejoin", LONG);
    driver.click("#join-now");
    driver.wait_visible("#waiting-banner", LONG);
    ann.wait_for_last("waiting (", "1): Winnie", LONG);
    shot(&window, "host-4-waiting-guest");
    driver.click("#waiting-cancel");
    driver.wait_for(
        "the wait to be given up",
        LONG,
        "return document.getElementById('prejoin-error').textContent.includes('stopped waiting') ? true : null;",
    );
    ann.wait_for_last("waiting (", "0): ", LONG);
    driver.click("#join-now");
    ann.wait_for_last("waiting (", "1): Winnie", LONG);
    ann.send_line("admit Winnie");
    driver.wait_visible("#screen-meeting", LONG);
    ann.wait_for("+ Winnie joined", LONG);
    assert!(ann.stop().success(), "{}", ann.errors());
}
