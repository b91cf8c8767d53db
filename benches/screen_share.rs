//! Sharing a 1920x1080 screen of text, beside Chromium sharing the same
//! screen, in one run:
//!
//!   cargo bench -p talkline-cli --bench screen_share
//!
//! An Xvfb of 1920x1080 shows a page of text (black on white, 11 to 24
//! pixels high, made with the whiteboard's text renderer) as its root
//! window. For each of `TALKLINE_BENCH_RUNS` runs (default 2), one after
//! the other in the same room of a local Janus: a `talkline` CLI shares
//! that screen (`--share-screen x11:DISPLAY`), then a headful Chromium on
//! the same display shares it with getDisplayMedia (a janus.js page, 10
//! fps as asked of both). Between the two, the `talkline` CLI shares the
//! same page as a Wayland desktop hands it over (`--share-screen
//! portal`): through the real xdg-desktop-portal and PipeWire, the
//! desktop's part played by a stand-in that gives the page to PipeWire
//! with GStreamer (10 pictures a second, as a compositor gives its own
//! picture of the screen); that stand-in's CPU is printed apart (a
//! desktop's compositor spends it, not the app). The same `talkline` CLI receives each share and
//! saves the picture it shows (`board save`), 8, 14 and 20 seconds in; its
//! luma is compared with the page shown (PSNR, and the share of text
//! pixels within 32 levels of the original), all but a 64x64 box at the
//! centre where the X pointer is (Chromium shares it, talkline does not). The sharer's CPU (all of
//! Chromium's processes for Chromium) and the X server's (which reads the
//! screen for it) are measured over the same 20 s, with the frame rate
//! and size received.
//!
//! Results print as Markdown to paste into BENCHMARKS.md.

#[path = "../tests/e2e/support/portal_desktop.rs"]
mod portal_desktop;
#[path = "../tests/e2e/support/mod.rs"]
mod support;
#[path = "../tests/e2e/support/usage.rs"]
mod usage;

use std::ffi::CString;
use std::path::Path;
use std::time::{Duration, Instant};

use image::RgbImage;
use support::browser::BrowserPeer;
use support::{Client, Janus};
use talkline_meeting::board::picture;
use talkline_meeting::board::{NewStroke, Stroke, Tool, UNITS};
use x11_dl::xlib::{self, Xlib};

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
const UP: Duration = Duration::from_secs(30);
/// Half the side of the box around the X pointer left out of the comparison.
const CURSOR_BOX: u32 = 32;
/// When the receiver's picture is saved, from the first frame decoded.
const SAVED_AT: [u64; 3] = [8, 14, 20];

/// The page of text the screen shows.
fn text_page() -> RgbImage {
    let mut page = RgbImage::from_pixel(WIDTH, HEIGHT, image::Rgb([255, 255, 255]));
    let line =
        "The quick brown fox jumps over the lazy dog 0123456789 — 会议白板与屏幕共享 (TalkLine)";
    let mut strokes = Vec::new();
    let mut y = 20.0_f64;
    let mut n = 0;
    // Sizes as a document, a terminal and a slide show them, in pixels.
    for px in [11.0_f64, 13.0, 16.0, 20.0, 24.0].iter().cycle() {
        if y + px * 1.6 > f64::from(HEIGHT) - 20.0 {
            break;
        }
        n += 1;
        let unit = |v: f64, of: u32| (v * f64::from(UNITS) / f64::from(of)).round() as u16;
        strokes.push(Stroke {
            id: format!("page/{n}"),
            by: String::new(),
            own: false,
            drawn: NewStroke {
                tool: Tool::Text,
                color: [0, 0, 0],
                width: unit(*px, WIDTH).max(1),
                points: vec![[unit(20.0, WIDTH), unit(y, HEIGHT)]],
                text: format!("{n:02} {line}"),
            },
        });
        y += px * 1.6;
    }
    picture::draw_strokes(&mut page, &strokes);
    page
}

/// Sets `page` as the root window's background on X display `display`:
/// shown for as long as the returned connection is kept.
struct RootPicture {
    xlib: Xlib,
    display: *mut xlib::Display,
}

impl RootPicture {
    fn show(display: &str, page: &RgbImage) -> Self {
        let xlib = Xlib::open().expect("libX11");
        let name = CString::new(display).expect("display name");
        // SAFETY: plain Xlib calls on a connection of our own; the image's
        // pixels outlive the XPutImage that copies them to the server.
        unsafe {
            let d = (xlib.XOpenDisplay)(name.as_ptr());
            assert!(!d.is_null(), "cannot open {display}");
            let screen = (xlib.XDefaultScreen)(d);
            let root = (xlib.XRootWindow)(d, screen);
            let depth = (xlib.XDefaultDepth)(d, screen);
            let visual = (xlib.XDefaultVisual)(d, screen);
            let pixmap = (xlib.XCreatePixmap)(d, root, WIDTH, HEIGHT, depth as u32);
            let gc = (xlib.XCreateGC)(d, pixmap, 0, std::ptr::null_mut());
            let mut bgrx: Vec<u8> = page.pixels().flat_map(|p| [p[2], p[1], p[0], 0]).collect();
            let image = (xlib.XCreateImage)(
                d,
                visual,
                depth as u32,
                xlib::ZPixmap,
                0,
                bgrx.as_mut_ptr().cast(),
                WIDTH,
                HEIGHT,
                32,
                0,
            );
            assert!(!image.is_null(), "XCreateImage");
            (xlib.XPutImage)(d, pixmap, gc, image, 0, 0, 0, 0, WIDTH, HEIGHT);
            // The pixels are ours (a Vec), not Xlib's to free.
            (*image).data = std::ptr::null_mut();
            (xlib.XDestroyImage)(image);
            (xlib.XSetWindowBackgroundPixmap)(d, root, pixmap);
            (xlib.XClearWindow)(d, root);
            (xlib.XFreeGC)(d, gc);
            (xlib.XSync)(d, 0);
            drop(bgrx);
            Self { xlib, display: d }
        }
    }
}

impl Drop for RootPicture {
    fn drop(&mut self) {
        // SAFETY: the connection opened in `show`, closed once.
        unsafe { (self.xlib.XCloseDisplay)(self.display) };
    }
}

fn luma(p: &image::Rgb<u8>) -> f64 {
    0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2])
}

/// PSNR of the luma (dB), and the share of the page's text pixels (darker
/// than mid grey) received within 32 levels.
fn compare(page: &RgbImage, got: &RgbImage) -> (f64, f64) {
    // A picture sent smaller is compared as it would be shown: scaled up.
    let scaled;
    let got = if got.dimensions() == page.dimensions() {
        got
    } else {
        scaled = image::imageops::resize(got, WIDTH, HEIGHT, image::imageops::FilterType::Triangle);
        &scaled
    };
    let (mut se, mut text, mut kept, mut n) = (0.0, 0u64, 0u64, 0u64);
    for ((x, y, a), b) in page.enumerate_pixels().zip(got.pixels()) {
        // Chromium draws the X pointer into what it shares (Xvfb's sits at
        // the centre); that box is left out for both.
        let box_x = WIDTH / 2 - CURSOR_BOX..WIDTH / 2 + CURSOR_BOX;
        let box_y = HEIGHT / 2 - CURSOR_BOX..HEIGHT / 2 + CURSOR_BOX;
        if box_x.contains(&x) && box_y.contains(&y) {
            continue;
        }
        n += 1;
        let (la, lb) = (luma(a), luma(b));
        se += (la - lb) * (la - lb);
        if la < 128.0 {
            text += 1;
            if (la - lb).abs() <= 32.0 {
                kept += 1;
            }
        }
    }
    let mse = se / n.max(1) as f64;
    let psnr = if mse == 0.0 {
        99.0
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    };
    (psnr, 100.0 * kept as f64 / text.max(1) as f64)
}

struct Sample {
    cpu_percent: f64,
    /// The X server's, which does the reading for a sharer.
    x_cpu_percent: f64,
    fps: f64,
    size: (u64, u64),
    psnr: Vec<f64>,
    text_kept: Vec<f64>,
}

/// The receiver's entry for `display`'s video, once frames of it decode.
fn feed_of(receiver: &mut Client, display: &str) -> serde_json::Value {
    let deadline = Instant::now() + UP;
    loop {
        let stats = receiver.stats_now();
        let found = stats["remote"].as_array().and_then(|r| {
            r.iter()
                .find(|e| {
                    e["display"] == display
                        && e["video_width"].as_u64().unwrap_or(0) > 0
                        && e["video_frames_decoded"].as_u64().unwrap_or(0) > 0
                })
                .cloned()
        });
        if let Some(feed) = found {
            return feed;
        }
        assert!(
            Instant::now() < deadline,
            "no picture from {display}: {stats}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Measures one share: `sharer` is the process tree to measure.
fn measure_share(
    run: usize,
    receiver: &mut Client,
    display: &str,
    (sharer, x_server): (u32, u32),
    page: &RgbImage,
    dir: &Path,
) -> Sample {
    let first = feed_of(receiver, display);
    let feed = first["feed_id"].as_u64().expect("feed id");
    let frames0 = first["video_frames_decoded"].as_u64().unwrap_or(0);
    let started = Instant::now();
    let (cpu0, x0) = (usage::tree_usage(sharer).0, usage::process_cpu(x_server));
    let (mut psnr, mut text_kept) = (Vec::new(), Vec::new());
    for at in SAVED_AT {
        let wait = Duration::from_secs(at).saturating_sub(started.elapsed());
        std::thread::sleep(wait);
        // Each run's own file: an earlier run's is never read instead.
        let path = dir.join(format!("{display}-run{run}-{at}.png"));
        receiver.send_line(&format!("board save {} on={feed}", path.display()));
        let deadline = Instant::now() + UP;
        while !path.exists() {
            assert!(
                Instant::now() < deadline,
                "no picture saved at {}",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // Written whole before it is named? Read until it decodes.
        let got = loop {
            if let Ok(got) = image::open(&path) {
                break got.to_rgb8();
            }
            assert!(
                Instant::now() < deadline,
                "{} does not decode",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let (p, t) = compare(page, &got);
        psnr.push(p);
        text_kept.push(t);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu1, x1) = (usage::tree_usage(sharer).0, usage::process_cpu(x_server));
    let last = feed_of(receiver, display);
    let frames1 = last["video_frames_decoded"].as_u64().unwrap_or(0);
    Sample {
        cpu_percent: 100.0 * (cpu1 - cpu0) / elapsed,
        x_cpu_percent: 100.0 * (x1 - x0) / elapsed,
        fps: frames1.saturating_sub(frames0) as f64 / elapsed,
        size: (
            last["video_width"].as_u64().unwrap_or(0),
            last["video_height"].as_u64().unwrap_or(0),
        ),
        psnr,
        text_kept,
    }
}

fn list(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format!("{v:.1}"))
        .collect::<Vec<_>>()
        .join(" / ")
}

fn row(who: &str, run: usize, s: &Sample) {
    println!(
        "| {who} | {run} | {:.0}% | {:.0}% | {:.1} | {}x{} | {} | {} |",
        s.cpu_percent,
        s.x_cpu_percent,
        s.fps,
        s.size.0,
        s.size.1,
        list(&s.psnr),
        list(&s.text_kept),
    );
}

fn main() {
    // `cargo bench` passes --bench; nothing else is taken.
    let runs = support::bench_runs(2);
    let dir = support::scratch_dir("screen-share-bench");
    // Chromium's X11 capturer finds no screen on an Xvfb with RANDR.
    let (xvfb, display) = support::xvfb::start_xvfb_sized(
        &dir,
        &format!("{WIDTH}x{HEIGHT}x24"),
        &["-extension", "RANDR"],
    );
    let page = text_page();
    page.save(dir.join("page.png")).expect("the page");
    let _shown = RootPicture::show(&display, &page);
    let janus = Janus::start();
    let link = janus.link(1234);
    let quiet = ["--camera", "none", "--mic", "none"];
    let desktop = portal_desktop::PortalDesktop::start(
        &dir.join("desktop"),
        &format!("file:{}", dir.join("page.png").display()),
    );
    let on_the_desktop = desktop.env();
    let on_the_desktop: Vec<(&str, &str)> = on_the_desktop
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .collect();
    let mut compositor = Vec::new();

    println!(
        "| sharer | run | sharer's CPU (one core = 100%) | the X server's CPU | fps received | size received | PSNR of luma at {}/{}/{} s (dB) | text pixels kept (%) |",
        SAVED_AT[0], SAVED_AT[1], SAVED_AT[2]
    );
    println!("|---|---|---|---|---|---|---|---|");
    for run in 1..=runs {
        let mut receiver = Client::join(
            &link,
            "Viewer",
            &[&quiet[..], &["--duration", "600"]].concat(),
        );
        receiver.wait_for("hands ready", UP);

        let share = format!("x11:{display}");
        let mut sharer = Client::join(
            &link,
            "TalkLine",
            &[
                &quiet[..],
                &["--no-chat", "--share-screen", &share, "--duration", "120"],
            ]
            .concat(),
        );
        sharer.wait_for("sharing your screen", UP);
        let ours = measure_share(
            run,
            &mut receiver,
            "TalkLine",
            (sharer.pid(), xvfb.0.id()),
            &page,
            &dir,
        );
        row("talkline CLI", run, &ours);
        assert!(sharer.stop().success(), "{}", sharer.errors());

        // Its own name: the receiver still lists the X11 share it saw.
        let mut sharer = Client::join_with_env(
            &link,
            "TalkLineWayland",
            &[
                &quiet[..],
                &["--no-chat", "--share-screen", "portal", "--duration", "120"],
            ]
            .concat(),
            &on_the_desktop,
        );
        sharer.wait_for("sharing your screen", UP);
        let started = Instant::now();
        let stand_in = usage::tree_usage(desktop.backend_pid()).0;
        let ours = measure_share(
            run,
            &mut receiver,
            "TalkLineWayland",
            (sharer.pid(), xvfb.0.id()),
            &page,
            &dir,
        );
        let stand_in = usage::tree_usage(desktop.backend_pid()).0 - stand_in;
        compositor.push(100.0 * stand_in / started.elapsed().as_secs_f64());
        row("talkline CLI, Wayland (portal, PipeWire)", run, &ours);
        assert!(sharer.stop().success(), "{}", sharer.errors());

        let chromium = BrowserPeer::share_screen_of(&janus.url(), 1234, "Chromium", &display);
        let theirs = measure_share(
            run,
            &mut receiver,
            "Chromium",
            (chromium.pid(), xvfb.0.id()),
            &page,
            &dir,
        );
        row("Chromium 156 (getDisplayMedia)", run, &theirs);
        drop(chromium);
        assert!(receiver.stop().success(), "{}", receiver.errors());
    }
    println!(
        "\nThe desktop's stand-in (GStreamer giving the page to PipeWire, the compositor's part) took {} % of a core in the Wayland runs.",
        compositor
            .iter()
            .map(|c| format!("{c:.1}"))
            .collect::<Vec<_>>()
            .join(" / ")
    );
    println!(
        "\nThe page shown is `{}`; the pictures received are beside it.",
        dir.join("page.png").display()
    );
}
