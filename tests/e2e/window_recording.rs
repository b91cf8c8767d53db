//! Recording a meeting from the real window: the Record button tells
//! everyone (a CLI guest sees it), the file plays back with the guest's
//! video and voice, and Your data lists it, and deletes it.

use super::*;

#[test]
fn the_window_records_a_meeting_everyone_is_told_and_your_data_keeps_it() {
    let janus = support::Janus::start();
    let link = janus.link(1234);
    // Bea speaks (a tone) at a size of her own: her picture is the one
    // the recording shows.
    let bea = support::Client::join(
        &link,
        "Bea",
        &["--mic", "test:1000", "--camera", "test:320x180@30"],
    );
    bea.wait_for("joined meeting 1234", LONG);
    let window = joined_window(&janus, &link);
    let driver = &window.driver;
    tile_of(driver, "Bea");
    // The chat (where everyone is told) is connected.
    driver.wait_for(
        "hands ready",
        LONG,
        "return document.getElementById('hand-toggle').disabled ? null : true;",
    );
    std::thread::sleep(Duration::from_secs(2));

    let since = bea.lines_so_far();
    driver.click("#record-toggle");
    driver.wait_visible("#recording-banner", LONG);
    assert_eq!(
        driver.text("#recording-text"),
        "You are recording this meeting on this device. Everyone in it sees this."
    );
    bea.wait_for_since("● Winnie is recording this meeting", since, LONG);
    shot(&window, "recording-1-meeting");
    std::thread::sleep(Duration::from_secs(5));
    let since = bea.lines_so_far();
    driver.click("#recording-stop");
    let said = driver.wait_for(
        "the recording saved",
        LONG,
        "return [...document.getElementById('toasts').children].map(e => e.textContent).find(t => t.startsWith('Recording saved: ')) ?? null;",
    );
    let file = saved_path(&said, "Recording saved: ");
    bea.wait_for_since("nobody else is recording this meeting now", since, LONG);
    assert!(
        driver.eval(
            "return document.getElementById('recording-banner').hidden;",
            json!([])
        ) == true
    );

    let played = playback::play(std::path::Path::new(&file));
    assert_eq!(played.codecs, ["V_VP8", "A_OPUS"]);
    let duration = played.duration_ms.expect("its length");
    assert!((4_000.0..8_000.0).contains(&duration), "{duration} ms");
    let (sizes, stamped) = playback::pictures(&played.video);
    assert!(
        sizes.iter().all(|&s| s == (320, 180)) && !sizes.is_empty(),
        "{sizes:?}"
    );
    assert!(stamped >= 90, "{stamped} of Bea's frames");
    assert!(
        playback::tone_in(&playback::sound(&played.audio), 1000.0),
        "Bea is not heard"
    );

    // Your data lists it with its length, and deletes the file.
    driver.click("#leave");
    driver.wait_visible("#leave-confirm", LONG);
    driver.click("#leave-confirm");
    driver.wait_visible("#screen-home", LONG);
    driver.click("#open-settings");
    driver.wait_visible("#screen-settings", LONG);
    driver.click("#open-personal-data");
    driver.wait_visible("#screen-data", LONG);
    let row = "[data-section=\"recordings\"] li[data-recording]";
    driver.wait_visible(row, LONG);
    let name = std::path::Path::new(&file)
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a file name")
        .to_string();
    let text = driver.text(row);
    assert!(text.starts_with(&format!("{name}: meeting 1234")), "{text}");
    shot(&window, "recording-2-your-data");
    driver.click(&format!("{row} .recording-delete"));
    assert!(
        std::path::Path::new(&file).exists(),
        "deleted on the first press"
    );
    driver.click(&format!("{row} .recording-delete"));
    driver.wait_for(
        "the recording deleted",
        LONG,
        &format!("return document.getElementById('data-status').textContent === 'Recording deleted: {name}' ? true : null;"),
    );
    assert!(
        !std::path::Path::new(&file).exists(),
        "the file is still there"
    );
    // The list drawn again, without it.
    driver.wait_for(
        "the recordings listed again",
        LONG,
        "const li = document.querySelector('[data-section=\"recordings\"] li');
         return li && li.textContent === 'No recordings made on this device.' ? true : null;",
    );
}
