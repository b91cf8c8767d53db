//! Meeting QR codes as a camera or a picked file shows them: upright,
//! rotated, small, large, noisy; foreign codes refused with a clear error;
//! pictures without a code give none.

#[path = "../../../tests/e2e/support/qr_picture.rs"]
mod qr_picture;

use std::time::Instant;

use qr_picture::{Placement, frame_with_qr, png_of};
use talkline_media::VideoFrame;
use talkline_meeting::qr::{ScanError, scan_frame, scan_image};
use talkline_meeting::{MeetingLink, ServerUrl};

const LINK: &str =
    "talkline://join?server=wss://meet.example.org:8989/janus&room=48151623&pin=s%C3%A9same";

fn expected() -> MeetingLink {
    MeetingLink {
        server: Some(ServerUrl::parse("wss://meet.example.org:8989/janus").expect("server")),
        room: 48_151_623,
        pin: Some("sésame".into()),
        ice: Default::default(),
    }
}

#[test]
fn an_upright_code_gives_the_meeting_it_holds() {
    let frame = frame_with_qr(LINK, 640, 360, Placement::default());
    let found = scan_frame(&frame)
        .expect("a TalkLine code")
        .expect("a code in the frame");
    assert_eq!(found.link, expected());
    assert_eq!(found.payload, LINK);
}

#[test]
fn rotated_scaled_offset_and_noisy_codes_are_read() {
    let cases = [
        (
            "rotated 30°",
            640,
            360,
            Placement {
                angle_deg: 30.0,
                ..Default::default()
            },
        ),
        (
            "upside down",
            640,
            360,
            Placement {
                angle_deg: 180.0,
                ..Default::default()
            },
        ),
        (
            "rotated 97°",
            640,
            360,
            Placement {
                angle_deg: 97.0,
                module_px: 4.0,
                ..Default::default()
            },
        ),
        (
            "small",
            640,
            360,
            Placement {
                module_px: 3.0,
                ..Default::default()
            },
        ),
        (
            "large, in a corner",
            1280,
            720,
            Placement {
                module_px: 9.0,
                center: (0.3, 0.55),
                ..Default::default()
            },
        ),
        (
            "noisy",
            640,
            360,
            Placement {
                noise: 40,
                ..Default::default()
            },
        ),
        (
            "noisy and tilted",
            640,
            360,
            Placement {
                noise: 25,
                angle_deg: -20.0,
                module_px: 4.5,
                center: (0.6, 0.45),
            },
        ),
    ];
    for (what, w, h, place) in cases {
        let frame = frame_with_qr(LINK, w, h, place);
        let found = scan_frame(&frame).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(found.map(|f| f.link), Some(expected()), "{what}");
    }
}

#[test]
fn foreign_codes_are_refused_with_a_clear_error() {
    let cases = [
        (
            "https://pay.example.com/invoice?id=9",
            "it opens the web page pay.example.com",
        ),
        ("Buy milk, eggs and bread", "it holds other text"),
        ("4006381333931", "it holds only a number"),
        (
            "talkline://join?server=ftp://x&room=1",
            "broken TalkLine link",
        ),
    ];
    for (payload, says) in cases {
        let frame = frame_with_qr(payload, 640, 360, Placement::default());
        let error = scan_frame(&frame).expect_err(payload);
        let message = error.to_string();
        assert!(message.contains(says), "{payload}: {message}");
        // The same from a picked file.
        let from_file = scan_image(&png_of(&frame)).expect_err(payload);
        assert_eq!(from_file, error, "{payload}");
    }
}

#[test]
fn pictures_without_a_code_give_none() {
    // Sensor noise, a flat grey, and stripes: no code, no error, no panic.
    let mut noise = VideoFrame::new(640, 360).expect("frame");
    let mut state = 0x9e37_79b9u32;
    for p in noise.planes_mut().0.iter_mut() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        *p = state as u8;
    }
    let flat = VideoFrame::new(320, 240).expect("frame");
    let mut stripes = VideoFrame::new(320, 240).expect("frame");
    for (i, p) in stripes.planes_mut().0.iter_mut().enumerate() {
        *p = if (i % 320) / 7 % 2 == 0 { 20 } else { 230 };
    }
    for (what, frame) in [("noise", &noise), ("flat", &flat), ("stripes", &stripes)] {
        assert_eq!(scan_frame(frame), Ok(None), "{what}");
        assert_eq!(scan_image(&png_of(frame)), Err(ScanError::NoCode), "{what}");
    }
}

#[test]
fn picked_files_png_and_jpeg_are_read_and_broken_ones_explained() {
    let frame = frame_with_qr(
        LINK,
        800,
        600,
        Placement {
            module_px: 6.0,
            angle_deg: 8.0,
            ..Default::default()
        },
    );
    let png = png_of(&frame);
    assert_eq!(scan_image(&png).expect("PNG").link, expected());

    let luma = image::GrayImage::from_raw(800, 600, frame.y().to_vec()).expect("luma");
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageLuma8(luma)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .expect("JPEG");
    assert_eq!(scan_image(&jpeg).expect("JPEG").link, expected());

    let truncated = &png[..png.len() / 2];
    let error = scan_image(truncated).expect_err("half a file");
    assert!(matches!(error, ScanError::BadImage(_)), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("the picture cannot be opened")
    );
}

#[test]
fn a_meeting_code_wins_over_a_foreign_one_beside_it() {
    let mut frame = frame_with_qr(
        "https://ads.example/",
        1280,
        720,
        Placement {
            center: (0.25, 0.5),
            ..Default::default()
        },
    );
    let meeting = frame_with_qr(
        LINK,
        1280,
        720,
        Placement {
            center: (0.75, 0.5),
            ..Default::default()
        },
    );
    // The right half from the second picture: two codes side by side.
    let (dst, _, _) = frame.planes_mut();
    for (row_dst, row_src) in dst.chunks_mut(1280).zip(meeting.y().chunks(1280)) {
        row_dst[640..].copy_from_slice(&row_src[640..]);
    }
    assert_eq!(
        scan_frame(&frame).expect("a meeting").map(|f| f.link),
        Some(expected())
    );
}

/// How long one search takes: a figure for the report, printed, and a
/// bound that keeps it off any per-frame path.
#[test]
fn search_time_per_frame() {
    for (w, h) in [(640, 360), (1280, 720)] {
        let frame = frame_with_qr(
            LINK,
            w,
            h,
            Placement {
                noise: 10,
                ..Default::default()
            },
        );
        let runs = 10;
        let start = Instant::now();
        for _ in 0..runs {
            assert!(scan_frame(&frame).expect("meeting").is_some());
        }
        let per_frame = start.elapsed() / runs;
        eprintln!(
            "QR search {w}x{h}: {:.1} ms per frame",
            per_frame.as_secs_f64() * 1e3
        );
        assert!(per_frame.as_millis() < 500, "{w}x{h} took {per_frame:?}");
    }
}
