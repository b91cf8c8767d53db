//! `talkline join --qr FILE`: the meeting in a picture or a camera
//! recording is joined; a foreign or unreadable code is a usage error
//! (exit code 2) that says what is wrong. The joins go to a closed port on
//! 127.0.0.1, so reaching "server unreachable" (exit code 3) proves the
//! code was read and the meeting in it was the one joined.

#[path = "../../../tests/e2e/support/qr_picture.rs"]
mod qr_picture;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use qr_picture::{Placement, frame_with_qr, png_of};
use talkline_media::VideoFrame;

fn scratch(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("qr-join-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

/// A server address where nothing listens.
fn closed_server() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    format!("ws://127.0.0.1:{port}")
}

/// Runs `talkline join --qr FILE`; (exit code, stdout, stderr).
fn join_qr(file: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_talkline"))
        .arg("join")
        .arg("--qr")
        .arg(file)
        .args(["--name", "Quinn", "--camera", "none", "--mic", "none"])
        .args(extra)
        .output()
        .expect("run talkline");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write_picture(name: &str, payload: &str, place: Placement) -> PathBuf {
    let path = scratch(name);
    std::fs::write(&path, png_of(&frame_with_qr(payload, 400, 300, place))).expect("write");
    path
}

#[test]
fn a_picture_of_a_meeting_code_joins_that_meeting() {
    let server = closed_server();
    let link = format!("talkline://join?server={server}&room=5150&pin=x");
    let picture = write_picture(
        "meeting.png",
        &link,
        Placement {
            angle_deg: 15.0,
            ..Default::default()
        },
    );
    let (code, out, err) = join_qr(&picture, &[]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        out.contains(&format!("QR code: meeting 5150 on {server} with its PIN")),
        "{out}"
    );
    assert!(!out.contains("pin=x"), "the PIN was printed: {out}");
    assert!(err.contains("cannot reach the meeting server"), "{err}");
}

#[test]
fn a_camera_recording_showing_a_code_joins_that_meeting() {
    let server = closed_server();
    let link = format!("talkline://join?server={server}&room=77");
    let mut frames = vec![VideoFrame::new(640, 360).expect("frame"); 20];
    frames.push(frame_with_qr(
        &link,
        640,
        360,
        Placement {
            noise: 20,
            angle_deg: -8.0,
            ..Default::default()
        },
    ));
    let recording = scratch("camera.y4m");
    talkline_media::y4m::write_y4m(&recording, &frames, 30).expect("write");
    let (code, out, err) = join_qr(&recording, &[]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        out.contains(&format!("QR code: meeting 77 on {server}")),
        "{out}"
    );
}

#[test]
fn foreign_unreadable_and_missing_codes_are_usage_errors() {
    let foreign = write_picture("shop.png", "https://shop.example/x", Placement::default());
    let text = write_picture("note.png", "remember the milk", Placement::default());
    let blank = scratch("blank.png");
    std::fs::write(&blank, png_of(&VideoFrame::new(200, 200).expect("frame"))).expect("write");
    let broken = scratch("broken.jpg");
    std::fs::write(&broken, b"\xff\xd8\xff not a JPEG").expect("write");
    let blank_recording = scratch("blank.y4m");
    talkline_media::y4m::write_y4m(
        &blank_recording,
        &[VideoFrame::new(160, 120).expect("frame")],
        30,
    )
    .expect("write");
    for (file, says) in [
        (
            &foreign,
            "not a TalkLine meeting: it opens the web page shop.example",
        ),
        (&text, "not a TalkLine meeting: it holds other text"),
        (&blank, "no QR code found"),
        (&broken, "the picture cannot be opened"),
        (&blank_recording, "no QR code found"),
        (&scratch("missing.png"), "No such file"),
    ] {
        let (code, out, err) = join_qr(file, &[]);
        assert_eq!(code, 2, "{}: {out}{err}", file.display());
        assert!(
            err.contains("--qr") && err.contains(says),
            "{}: {err}",
            file.display()
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    // A link and a code at once is ambiguous.
    let (code, _, err) = join_qr(&foreign, &["1234"]);
    assert_eq!(code, 2, "{err}");
}
