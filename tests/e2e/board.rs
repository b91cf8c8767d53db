//! The whiteboard and annotation through a real Janus: strokes reach
//! everyone in the order the server relays them, a late joiner is told
//! the board, a flood is refused with a message, and the picture saved is
//! made on the device from what was drawn (over the shared screen, for an
//! annotation).

use super::*;

const UP: Duration = Duration::from_secs(20);
const DELIVERED: Duration = Duration::from_secs(10);

fn picture(path: &std::path::Path) -> image::RgbImage {
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8()
}

/// Whether the pixel is near `rgb`.
fn near(p: &image::Rgb<u8>, rgb: [u8; 3]) -> bool {
    p.0.iter()
        .zip(rgb)
        .all(|(a, b)| (i16::from(*a) - i16::from(b)).abs() < 60)
}

#[test]
fn strokes_reach_everyone_in_order_a_late_joiner_is_told_and_the_picture_is_saved() {
    let janus = Janus::start();
    let link = janus.link(1234);
    let quiet = ["--camera", "none", "--mic", "none", "--duration", "90"];
    let mut ann = Client::join(&link, "Ann", &quiet);
    let mut bob = Client::join(&link, "Bob", &quiet);
    ann.wait_for("hands ready", UP);
    bob.wait_for("hands ready", UP);

    ann.send_line("board show");
    bob.wait_for("[board] shown by Ann", DELIVERED);
    ann.wait_for("[board] shown by you", DELIVERED);
    // A red line across the middle, blue text at the top left, and a
    // rectangle Bob takes back.
    ann.send_line("draw line color=#ff0000 width=100 1000,5000 9000,5000");
    bob.wait_for("[board] Ann: line on the whiteboard", DELIVERED);
    ann.wait_for("[board, drawn] line on the whiteboard", DELIVERED);
    bob.send_line("draw text color=#0000ff width=400 500,500 : Hi 你好");
    bob.send_line("draw rectangle color=#00ff00 6000,6000 9000,9000");
    ann.wait_for("[board] Bob: rectangle", DELIVERED);
    bob.send_line("undo");
    ann.wait_for("[board] erased on the whiteboard", DELIVERED);
    bob.wait_for("[board] erased on the whiteboard", DELIVERED);
    // The same order for both: the line, the text, the rectangle.
    for client in [&ann, &bob] {
        let drawn: Vec<String> = client
            .output()
            .into_iter()
            .filter(|l| l.starts_with("[board") && l.contains(" on the whiteboard ("))
            .collect();
        assert_eq!(drawn.len(), 3, "{drawn:?}");
        for (line, tool) in drawn.iter().zip(["line", "text", "rectangle"]) {
            assert!(line.contains(&format!(" {tool} on ")), "{drawn:?}");
        }
    }

    // Bad strokes and a flood are refused with a message.
    bob.send_line("draw pen 20000,1");
    bob.wait_for_error("a point outside the board", DELIVERED);
    for n in 0..80 {
        bob.send_line(&format!("draw pen {},{} 10,10", n * 10, n * 10));
    }
    bob.wait_for_error("strokes are coming too fast", DELIVERED);

    // Cat comes later: told the board, and saves it as a picture.
    let mut cat = Client::join(&link, "Cat", &quiet);
    cat.wait_for("hands ready", UP);
    cat.wait_for("[board] ready", UP);
    let folder = std::env::temp_dir().join(format!("talkline-board-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("folder");
    let saved = folder.join("board.png");
    // Bob's flood lands in the next few seconds; the picture is saved when
    // every stroke has arrived (those refused never left Bob).
    std::thread::sleep(Duration::from_secs(2));
    cat.send_line(&format!("board save {}", saved.display()));
    cat.wait_for("[board] saved", DELIVERED);
    let board = picture(&saved);
    assert_eq!(board.dimensions(), (1600, 900));
    assert!(near(board.get_pixel(800, 450), [255, 0, 0]), "the line");
    assert!(near(board.get_pixel(800, 300), [255, 255, 255]), "above it");
    let blue = (80..400)
        .flat_map(|x| (45..140).map(move |y| (x, y)))
        .filter(|&(x, y)| near(board.get_pixel(x, y), [0, 0, 255]))
        .count();
    assert!(blue > 200, "the text: {blue} blue pixels");
    assert!(
        near(board.get_pixel(960, 700), [255, 255, 255]),
        "the rectangle was taken back"
    );

    // Cleared for everyone, Cat included.
    ann.send_line("clear");
    for client in [&ann, &bob, &cat] {
        client.wait_for("[board] Ann cleared the whiteboard", DELIVERED);
    }
    let _ = std::fs::remove_dir_all(&folder);
    for client in [&mut ann, &mut bob, &mut cat] {
        assert!(client.stop().success(), "{}", client.errors());
    }
}

#[test]
fn a_shared_screen_is_annotated_and_saved_with_what_it_showed() {
    let janus = Janus::start();
    let link = janus.link(1234);
    let mut ann = Client::join(
        &link,
        "Ann",
        &[
            "--camera",
            "none",
            "--mic",
            "none",
            "--share-screen",
            "test:1280x720@10",
            "--duration",
            "60",
        ],
    );
    let mut bob = Client::join(
        &link,
        "Bob",
        &["--camera", "none", "--mic", "none", "--duration", "60"],
    );
    ann.wait_for("hands ready", UP);
    bob.wait_for("hands ready", UP);
    bob.wait_for("+ Ann is sharing their screen", UP);
    // The screen's feed, once a picture of it has been decoded here.
    let screen = super::screen_share::waits_for_picture(&mut bob, "Ann", (1280, 720), 5);
    let feed = screen["feed_id"].as_u64().expect("the screen's feed");
    bob.send_line(&format!(
        "draw arrow on={feed} color=#00ff00 width=80 2000,2000 8000,8000"
    ));
    ann.wait_for(&format!("[board] Bob: arrow on screen {feed}"), DELIVERED);
    bob.wait_for(&format!("[board, drawn] arrow on screen {feed}"), DELIVERED);

    let folder = std::env::temp_dir().join(format!("talkline-annotation-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("folder");
    let saved = folder.join("annotated.png");
    bob.send_line(&format!("board save {} on={feed}", saved.display()));
    bob.wait_for("[board] saved", DELIVERED);
    let shot = picture(&saved);
    assert_eq!(shot.dimensions(), (1280, 720));
    // Along the arrow: green; beside it, the screen as it was shown.
    assert!(near(shot.get_pixel(640, 360), [0, 255, 0]), "the arrow");
    let beside = shot.get_pixel(640, 150);
    assert!(
        !near(beside, [0, 255, 0]),
        "the screen under it: {beside:?}"
    );
    // A screen not seen here cannot be saved.
    bob.send_line(&format!("board save {} on=424242", saved.display()));
    bob.wait_for_error("has been seen here yet", DELIVERED);
    let _ = std::fs::remove_dir_all(&folder);
    for client in [&mut ann, &mut bob] {
        assert!(client.stop().success(), "{}", client.errors());
    }
}
