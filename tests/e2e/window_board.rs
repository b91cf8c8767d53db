//! The whiteboard and annotation in the real window, with a `talkline`
//! CLI in the same meeting: a board the CLI shows opens in the window,
//! strokes go both ways (the pointer's, a text box's), the picture saved
//! is made on the device, and a shared screen is annotated over its
//! picture until the share ends.

use super::*;

/// The colour at (fx, fy) of the board's canvas, as fractions of its size.
fn canvas_pixel(driver: &WebDriver, fx: f64, fy: f64) -> [u8; 3] {
    let v = driver.eval(
        "const c = document.getElementById('board-canvas');
         const d = c.getContext('2d').getImageData(Math.floor(c.width * arguments[0]), Math.floor(c.height * arguments[1]), 1, 1).data;
         return [d[0], d[1], d[2]];",
        json!([fx, fy]),
    );
    let channel = |i: usize| v[i].as_u64().unwrap_or(0) as u8;
    [channel(0), channel(1), channel(2)]
}

/// Drags the pointer over the canvas through points given as fractions.
fn drag(driver: &WebDriver, points: &[(f64, f64)]) {
    driver.eval(
        "const c = document.getElementById('board-canvas');
         const r = c.getBoundingClientRect();
         const points = arguments[0];
         const at = (type, [fx, fy]) => c.dispatchEvent(new PointerEvent(type, {
           clientX: r.left + r.width * fx, clientY: r.top + r.height * fy,
           button: 0, pointerId: 1, bubbles: true }));
         at('pointerdown', points[0]);
         for (const p of points.slice(1)) at('pointermove', p);
         at('pointerup', points[points.length - 1]);
         return true;",
        json!([points.iter().map(|(x, y)| [x, y]).collect::<Vec<_>>()]),
    );
}

fn bluish(p: [u8; 3]) -> bool {
    p[2] > 150 && p[0] < 100
}

fn reddish(p: &[u8]) -> bool {
    p[0] > 150 && p[1] < 100 && p[2] < 100
}

#[test]
fn the_window_draws_on_the_whiteboard_and_a_shared_screen_with_a_cli_participant() {
    let janus = support::Janus::start();
    let link = janus.link(1234);
    let mut bob = support::Client::join(
        &link,
        "Bob",
        &[
            "--camera",
            "none",
            "--mic",
            "none",
            "--share-screen",
            "test:1280x720@5",
            "--duration",
            "150",
        ],
    );
    bob.wait_for("hands ready", LONG);

    let window = joined_window(&janus, &link);
    let driver = &window.driver;
    driver.wait_for(
        "the side room to be ready",
        LONG,
        "return document.getElementById('hand-toggle').disabled === false;",
    );

    // Bob shows the whiteboard: it opens here, and his rectangle is drawn.
    bob.send_line("board show");
    driver.wait_for(
        "the whiteboard shown",
        LONG,
        "return !document.getElementById('board-panel').hidden;",
    );
    bob.send_line("draw rectangle color=#1c71d8 width=60 1000,1000 4000,4000");
    driver.wait_for(
        "Bob's rectangle drawn",
        LONG,
        "const c = document.getElementById('board-canvas');
         const d = c.getContext('2d').getImageData(Math.floor(c.width * 0.1), Math.floor(c.height * 0.25), 1, 1).data;
         return d[2] > 150 && d[0] < 100;",
    );

    // Ours: a pen stroke with the pointer, and a text box.
    drag(driver, &[(0.2, 0.7), (0.5, 0.7), (0.8, 0.7)]);
    bob.wait_for("[board] Winnie: pen on the whiteboard", LONG);
    driver.click("#board-tools button[data-tool='text']");
    drag(driver, &[(0.5, 0.15)]);
    driver.wait_visible("#board-text", LONG);
    driver.type_into("#board-text", "你好 TalkLine");
    driver.press("\u{E007}");
    bob.wait_for("[board] Winnie: text on the whiteboard", LONG);
    shot(&window, "board-1-whiteboard");
    let size = driver.eval(
        "const c = document.getElementById('board-canvas'); return [c.width, c.height];",
        json!([]),
    );
    assert!(
        reddish(&canvas_pixel(driver, 0.5, 0.7)),
        "{:?} on {size}",
        canvas_pixel(driver, 0.5, 0.7)
    );
    assert!(
        bluish(canvas_pixel(driver, 0.1, 0.25)),
        "{:?} on {size}",
        canvas_pixel(driver, 0.1, 0.25)
    );

    // The picture, made here and saved in Downloads.
    driver.click("#board-save");
    let saved = driver.wait_for(
        "the picture saved",
        LONG,
        "const t = [...document.querySelectorAll('#toasts > *')].map(e => e.textContent).find(t => t.startsWith('Saved on this device: '));
         return t ? t.slice('Saved on this device: '.length) : false;",
    );
    let saved = saved.as_str().expect("a path").to_string();
    let picture = image::open(&saved)
        .unwrap_or_else(|e| panic!("{saved}: {e}"))
        .to_rgb8();
    assert_eq!(picture.dimensions(), (1600, 900));
    assert!(reddish(&picture.get_pixel(800, 630).0), "our pen stroke");
    assert!(
        bluish(picture.get_pixel(160, 225).0),
        "Bob's rectangle: {:?}",
        picture.get_pixel(160, 225)
    );

    // Bob puts it away; we annotate his shared screen.
    bob.send_line("board hide");
    driver.wait_for(
        "the whiteboard put away",
        LONG,
        "return document.getElementById('board-panel').hidden;",
    );
    driver.wait_visible("#tiles .tile.shared-screen .annotate", LONG);
    driver.click("#tiles .tile.shared-screen .annotate");
    driver.wait_for(
        "the screen under the annotation",
        LONG,
        "const c = document.getElementById('board-canvas');
         return !document.getElementById('board-panel').hidden && c.width > 0 && c.width / c.height > 1.7;",
    );
    driver.click("#board-tools button[data-tool='arrow']");
    drag(driver, &[(0.2, 0.2), (0.8, 0.8)]);
    bob.wait_for("[board] Winnie: arrow on screen ", LONG);
    // The screen's own picture under the arrow, not the dark waiting board.
    driver.wait_for(
        "a picture of Bob's screen",
        LONG,
        "const c = document.getElementById('board-canvas');
         const d = c.getContext('2d').getImageData(Math.floor(c.width * 0.5), Math.floor(c.height * 0.9), 1, 1).data;
         return !(d[0] === 0x20 && d[1] === 0x21 && d[2] === 0x24);",
    );
    shot(&window, "board-2-annotation");

    // The share ends: so does its annotation.
    bob.send_line("share stop");
    driver.wait_for(
        "the annotation closed with the share",
        LONG,
        "return document.getElementById('board-panel').hidden;",
    );
    bob.stop();
    close_window(&window);
}
