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
        // What is printed is read in English (tests/language.rs has the Chinese).
        .env("LC_ALL", "C.UTF-8")
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

/// The half blocks `invite` prints, as a picture (4 pixels a module): a
/// block is light, a space dark.
fn picture_of_text(lines: &[&str]) -> VideoFrame {
    const SCALE: usize = 4;
    let side = lines[0].chars().count();
    let mut frame =
        VideoFrame::new((side * SCALE) as u32, (lines.len() * 2 * SCALE) as u32).expect("frame");
    let stride = frame.y_stride();
    let (y, u, v) = frame.planes_mut();
    u.fill(128);
    v.fill(128);
    for (row, line) in lines.iter().enumerate() {
        for (col, c) in line.chars().enumerate() {
            let (top, bottom) = match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                _ => (false, false),
            };
            for (half, light) in [(0, top), (1, bottom)] {
                for dy in 0..SCALE {
                    let at = ((row * 2 + half) * SCALE + dy) * stride + col * SCALE;
                    y[at..at + SCALE].fill(if light { 255 } else { 0 });
                }
            }
        }
    }
    frame
}

/// Runs `talkline invite ARGS…`; (exit code, stdout, stderr).
fn invite(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_talkline"))
        // What is printed is read in English (tests/language.rs has the Chinese).
        .env("LC_ALL", "C.UTF-8")
        .arg("invite")
        .args(args)
        .output()
        .expect("run talkline");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_invitation_printed_and_drawn_joins_its_meeting() {
    let server = closed_server();
    let png = scratch("invitation.png");
    let png_arg = png.to_str().expect("utf-8 path");
    let (code, out, err) = invite(&[
        "42 42", "--server", &server, "--pin", "a&b", "--png", png_arg,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let link = format!("talkline://join?server={server}&room=4242&pin=a%26b");
    assert_eq!(out.lines().next(), Some(link.as_str()), "{out}");
    // The terminal's code, in half blocks with a light margin, scans back
    // to the same link, PIN and all.
    let drawn: Vec<&str> = out
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("QR"))
        .collect();
    assert!(drawn[0].chars().all(|c| c == '█'), "{out}");
    let scanned = talkline_meeting::qr::scan_frame(&picture_of_text(&drawn))
        .expect("a meeting")
        .expect("a code in the terminal's drawing");
    assert_eq!(scanned.payload, link);
    // The picture is read back by `join --qr`: the same meeting and PIN.
    let (code, out, err) = join_qr(&png, &[]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        out.contains(&format!("QR code: meeting 4242 on {server} with its PIN")),
        "{out}"
    );
}

#[test]
fn an_invitation_to_a_broken_link_or_pin_is_a_usage_error() {
    for (args, says) in [
        (vec!["talkline://join?room=1"], "server"),
        (vec!["1234", "--server", "http://x"], "--server"),
        (vec!["1234", "--pin", "a\u{7}b"], "--pin"),
        (
            vec!["1234", "--png", "/nonexistent-dir/code.png"],
            "cannot write",
        ),
    ] {
        let (code, out, err) = invite(&args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
