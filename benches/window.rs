//! The desktop app in a meeting, side by side with Chromium in the same
//! room and the same run:
//!
//!   cargo bench -p talkline-app --bench window
//!
//! Three `talkline` CLI clients (`TALKLINE_BENCH_REMOTES=N`, 1 to 24) send
//! 640x360@30 and a tone into one Janus room. By default they replay a
//! simulcast recording of the test pattern (`record-replay`, sent as it
//! is: no encoder, so two cores can hold 24 of them and still give the
//! measured joiner its CPU); `TALKLINE_BENCH_PUBLISHERS=encode` has them
//! encode the test pattern live, one layer, as in the runs before
//! 2026-12-06, and `=full` also receive and decode everyone, as before
//! 2026-12-02. First the app's real window (WebKitGTK under Xvfb, driven
//! over WebDriver) joins with its test camera and microphone, once for
//! each video path in `TALKLINE_BENCH_PATHS` (comma-separated, default
//! `native,socket`): decoded by the core and drawn into native windows over
//! the page (`native`, the default on X11), VP8 decoded in the window and
//! read over the core's loopback socket (`socket`) or over Tauri's IPC
//! (`ipc`), or raw pictures decoded by the core (`raw`); then, after it
//! leaves,
//! Chromium (janus.js, fake devices) joins the same room, headful on an
//! Xvfb display of its own so that its <video> elements are painted
//! (`TALKLINE_BENCH_CHROMIUM=headless`: headless, as before 2026-12-06).
//! For each: CPU (user+sys over wall time, whole process tree) and peak
//! memory (PSS), and how many frames per second of each remote participant
//! reached the screen (the app: frames drawn per tile; Chromium: frames
//! presented by its <video> elements).
//!
//! Results print as a Markdown table to paste into BENCHMARKS.md.

#[path = "../tests/e2e/support/mod.rs"]
mod support;
#[path = "../tests/e2e/support/usage.rs"]
mod usage;
#[path = "../tests/e2e/support/webdriver.rs"]
mod webdriver;
#[path = "../tests/e2e/support/window.rs"]
mod window_support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::browser::BrowserPeer;
use support::{Client, Janus};
use usage::{measure, process_cpu, pss_anonymous_and_files, pss_by_process};
use window_support::AppWindow;

const SECONDS: u64 = 30;
const LONG: Duration = Duration::from_secs(30);

fn frames_drawn(window: &AppWindow) -> Value {
    window
        .driver
        .eval("return window.__talkline.frames.tiles;", json!([]))
}

/// The window's own delay (frame ready in the core → drawn), p50 and p95
/// over the latest samples of every remote tile.
fn added_latency(tiles: &Value) -> (f64, f64) {
    let mut all: Vec<f64> = tiles
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(id, _)| id.as_str() != "self")
        .flat_map(|(_, t)| t["latencyMs"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_f64())
        .collect();
    if all.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    all.sort_by(f64::total_cmp);
    let at = |p: f64| all[((all.len() - 1) as f64 * p).round() as usize];
    (at(0.5), at(0.95))
}

/// Frames drawn per second for each remote tile between two samples.
fn remote_rates(before: &Value, after: &Value, seconds: f64) -> Vec<f64> {
    let Some(tiles) = after.as_object() else {
        return Vec::new();
    };
    tiles
        .iter()
        .filter(|(id, _)| id.as_str() != "self")
        .map(|(id, t)| {
            let end = t["drawn"].as_f64().unwrap_or(0.0);
            let start = before[id]["drawn"].as_f64().unwrap_or(0.0);
            (end - start) / seconds
        })
        .collect()
}

/// What one run of the app in the room measured.
struct AppRun {
    cpu: f64,
    core_cpu: f64,
    /// The X server the window is on: where natively drawn video is composed.
    x_cpu: f64,
    pss: f64,
    rates: Vec<f64>,
    latency: (f64, f64),
    transports: String,
}

/// How remote video reaches the screen: decoded by the core and drawn in
/// native windows over the page (the default on X11); VP8 decoded in the
/// window by WebCodecs, read over the core's loopback socket
/// (`?video=socket`) or over Tauri's IPC (`?video=ipc`); or I420 pictures
/// decoded by the core, which every webview can draw (`?video=raw`).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Transport {
    Vp8Socket,
    Vp8Ipc,
    RawPictures,
    Native,
}

impl Transport {
    fn parse(name: &str) -> Self {
        match name.trim() {
            "socket" => Self::Vp8Socket,
            "ipc" => Self::Vp8Ipc,
            "raw" => Self::RawPictures,
            "native" => Self::Native,
            other => panic!("TALKLINE_BENCH_PATHS: {other:?} is none of socket, ipc, raw, native"),
        }
    }

    fn query(self) -> Option<&'static str> {
        match self {
            Self::Vp8Socket => Some("?video=socket"),
            Self::Vp8Ipc => Some("?video=ipc"),
            Self::RawPictures => Some("?video=raw"),
            Self::Native => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Vp8Socket => {
                "TalkLine app, VP8 decoded in the window, read over the loopback socket (`?video=socket`)"
            }
            Self::Vp8Ipc => {
                "TalkLine app, VP8 decoded in the window, read over Tauri's IPC (`?video=ipc`)"
            }
            Self::RawPictures => "TalkLine app, raw pictures from the core (`?video=raw`)",
            Self::Native => {
                "TalkLine app, decoded by the core and drawn natively over the page (the default)"
            }
        }
    }
}

fn app_in_the_room(janus: &Janus, transport: Transport, remotes: usize) -> AppRun {
    let window = AppWindow::launch(&janus.url());
    let d = &window.driver;
    d.wait_visible("#screen-policy", LONG);
    if let Some(query) = transport.query() {
        d.eval(
            &format!("location.search = '{query}'; return 1;"),
            json!([]),
        );
        std::thread::sleep(Duration::from_secs(2));
        d.wait_visible("#screen-policy", LONG);
    }
    d.click("#policy-accept");
    d.wait_visible("#screen-home", LONG);
    d.type_into("#meeting-input", &janus.link(1234));
    d.type_into("#display-name", "App");
    d.click("#home-join");
    d.wait_visible("#screen-prejoin", LONG);
    d.use_test_camera_and_microphone(LONG);
    d.click("#join-now");
    d.wait_for(
        "every remote tile drawing",
        LONG,
        &format!("const t = window.__talkline.frames.tiles; return Object.keys(t).filter(k => k !== 'self' && t[k].drawn > 30).length === {remotes};"),
    );
    let pid = window.pid().expect("the app's process");
    let before = frames_drawn(&window);
    let core_before = process_cpu(pid);
    let x_before = process_cpu(window.server_pid());
    let started = Instant::now();
    let (cpu, pss) = measure(pid, SECONDS);
    let by_process: Vec<String> = pss_by_process(pid)
        .iter()
        .map(|(name, mib)| format!("{name} {mib:.1}"))
        .collect();
    let (anonymous, files) = pss_anonymous_and_files(pid);
    eprintln!(
        "PSS at the end (MiB): {}; the app's own process: {anonymous:.1} anonymous, {files:.1} files",
        by_process.join(", ")
    );
    let core_cpu = 100.0 * (process_cpu(pid) - core_before) / started.elapsed().as_secs_f64();
    let x_cpu =
        100.0 * (process_cpu(window.server_pid()) - x_before) / started.elapsed().as_secs_f64();
    let after = frames_drawn(&window);
    let rates = remote_rates(&before, &after, started.elapsed().as_secs_f64());
    let latency = added_latency(&after);
    let mut transports: Vec<String> = after
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(id, _)| id.as_str() != "self")
        .map(|(_, t)| t["transport"].as_str().unwrap_or("?").to_string())
        .collect();
    transports.dedup();
    let via = d.eval("return window.__talkline.frames.encodedVia;", json!([]));
    let expected = match transport {
        Transport::Vp8Socket => "socket",
        Transport::Vp8Ipc => "ipc",
        Transport::RawPictures | Transport::Native => "none",
    };
    assert_eq!(
        via,
        json!(expected),
        "the window did not read the way asked"
    );
    if expected != "none" {
        transports.push(format!("via {expected}"));
    }
    eprintln!(
        "window frame counters (latencies left out): {}",
        d.eval(
            "return JSON.stringify(window.__talkline.frames, (k, v) => k === 'latencyMs' ? undefined : v);",
            json!([])
        )
    );
    d.press("\u{E00C}");
    d.click("#leave-confirm");
    d.wait_visible("#screen-home", LONG);
    AppRun {
        cpu,
        core_cpu,
        x_cpu,
        pss,
        rates,
        latency,
        transports: transports.join("+"),
    }
}

/// CPU, PSS and frames per remote participant, and the CPU of its X server
/// (headful) while it was measured.
fn chromium_in_the_room(
    janus: &Janus,
    remotes: usize,
    display: Option<&window_support::OwnDisplay>,
    simulcast: bool,
) -> ChromiumRun {
    let chrome = match display {
        Some(display) if simulcast => {
            BrowserPeer::join_on_display_simulcast(&janus.url(), 1234, "Chrome", &display.name)
        }
        Some(display) => BrowserPeer::join_on_display(&janus.url(), 1234, "Chrome", &display.name),
        None => BrowserPeer::join(&janus.url(), 1234, "Chrome"),
    };
    let decoded = |r: &Value| {
        r["remotes"]["video"]["framesDecoded"]
            .as_f64()
            .unwrap_or(0.0)
    };
    chrome.wait_for("decoding everyone", LONG, |r| {
        r["subscribed"].as_u64() == Some(remotes as u64) && decoded(r) > 90.0 * remotes as f64
    });
    // Headful, what its <video> elements painted; headless, what it decoded.
    let shown = |r: &Value| {
        if display.is_some() {
            r["presented"]["frames"].as_f64().unwrap_or(0.0)
        } else {
            decoded(r)
        }
    };
    let before = shown(&chrome.report().unwrap_or_default());
    let x_before = display.map(|d| process_cpu(d.server_pid()));
    let started = Instant::now();
    let (cpu, pss) = measure(chrome.pid(), SECONDS);
    let after = shown(&chrome.report().unwrap_or_default());
    let seconds = started.elapsed().as_secs_f64();
    let per_remote = (after - before) / seconds / remotes as f64;
    let x_cpu = display
        .zip(x_before)
        .map(|(d, b)| 100.0 * (process_cpu(d.server_pid()) - b) / seconds);
    let sent_widths = chrome.report().unwrap_or_default()["sentWidths"]
        .as_array()
        .map(|w| w.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    ChromiumRun {
        cpu,
        pss,
        per_remote,
        x_cpu,
        sent_widths,
    }
}

struct ChromiumRun {
    cpu: f64,
    pss: f64,
    per_remote: f64,
    x_cpu: Option<f64>,
    /// The width of each video layer it sent.
    sent_widths: Vec<u64>,
}

/// How many CLI publishers join besides the measured joiner: 3 (a
/// four-party call) unless TALKLINE_BENCH_REMOTES says otherwise (1..=24):
/// 8 for a nine-party gallery, 24 for a full 5x5 page.
fn remote_count() -> usize {
    match std::env::var("TALKLINE_BENCH_REMOTES") {
        Err(_) => 3,
        Ok(v) => match v.parse::<usize>() {
            Ok(n @ 1..=24) => n,
            _ => panic!("TALKLINE_BENCH_REMOTES must be 1 to 24, not {v:?}"),
        },
    }
}

fn main() {
    let janus = Janus::start();
    let publishers = std::env::var("TALKLINE_BENCH_PUBLISHERS").unwrap_or_default();
    let full_publishers = publishers == "full";
    let replay = publishers.is_empty() || publishers == "replay";
    let headful = !std::env::var("TALKLINE_BENCH_CHROMIUM").is_ok_and(|v| v == "headless");
    let chromium_display = headful.then(window_support::own_display);
    let camera = if replay {
        format!("replay:{}", support::record_replay(10, true).display())
    } else {
        "test:640x360@30".to_string()
    };
    let paths: Vec<Transport> = std::env::var("TALKLINE_BENCH_PATHS")
        .unwrap_or_else(|_| "native,socket".into())
        .split(',')
        .map(Transport::parse)
        .collect();
    let remotes = remote_count();
    let others: Vec<Client> = (1..=remotes)
        .map(|n| {
            let mut args = vec![
                "--camera",
                camera.as_str(),
                "--mic",
                "test:440",
                "--duration",
                "400",
            ];
            if !full_publishers {
                // Load generators: what they would decode is not what is
                // measured, and on a 2-core machine it took the CPU the
                // joiner under test needs (BENCHMARKS.md).
                args.push("--publish-only");
            }
            let c = Client::join(&janus.link(1234), &format!("P{n}"), &args);
            c.wait_for("joined meeting 1234", Duration::from_secs(10));
            c
        })
        .collect();

    let mut runs = Vec::new();
    for transport in paths {
        let seen = others[0].output().len();
        runs.push((
            transport.label(),
            app_in_the_room(&janus, transport, remotes),
        ));
        others[0].wait_for_since("- App left", seen, LONG);
    }
    // TALKLINE_BENCH_CHROMIUM_SIMULCAST=1 adds a Chromium that publishes
    // the three layers the app publishes, beside the one that sends one.
    let simulcast_too = std::env::var("TALKLINE_BENCH_CHROMIUM_SIMULCAST").is_ok_and(|v| v == "1");
    let seen = others[0].output().len();
    let mut chromium_runs = vec![(
        false,
        chromium_in_the_room(&janus, remotes, chromium_display.as_ref(), false),
    )];
    if simulcast_too && chromium_display.is_some() {
        others[0].wait_for_since("- Chrome left", seen, LONG);
        chromium_runs.push((
            true,
            chromium_in_the_room(&janus, remotes, chromium_display.as_ref(), true),
        ));
    }

    let chromium = if headful {
        "headful Chromium (Xvfb)"
    } else {
        "headless Chromium"
    };
    println!(
        "\n### {}-party meeting: the app's window vs {chromium} ({SECONDS} s each)\n",
        remotes + 1
    );
    println!(
        "{remotes} `talkline` client(s) publish 640x360@30 + tone{}, {}; each joiner publishes its own test camera and microphone.\n",
        if replay {
            " replaying a simulcast recording (full, half and quarter size)"
        } else {
            ", encoding the test pattern (one layer)"
        },
        if full_publishers {
            "and each receives and decodes everyone (`TALKLINE_BENCH_PUBLISHERS=full`)"
        } else {
            "sending only (`--publish-only`)"
        }
    );
    println!(
        "| joiner | CPU (% of one core) | of which the app's own process | its X server's CPU (not in the first column) | peak memory, PSS (MiB) | remote video on screen (fps per participant) | delay the window adds, p50 / p95 (ms) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (label, run) in &runs {
        let min = run.rates.iter().copied().fold(f64::INFINITY, f64::min);
        let mean = run.rates.iter().sum::<f64>() / run.rates.len().max(1) as f64;
        println!(
            "| {label} [tiles: {}] | {:.1} | {:.1} | {:.1} | {:.1} | {mean:.1} (slowest tile {min:.1}) | {:.0} / {:.0} |",
            run.transports, run.cpu, run.core_cpu, run.x_cpu, run.pss, run.latency.0, run.latency.1
        );
    }
    for (simulcast, run) in &chromium_runs {
        let sends = if *simulcast {
            "publishes 640x360 in simulcast"
        } else {
            "publishes 640x360"
        };
        let widths: Vec<String> = run.sent_widths.iter().map(u64::to_string).collect();
        println!(
            "| {chromium} (janus.js, fake devices, <video> elements, receives every full size; {sends}: layers {} wide) | {:.1} | | {} | {:.1} | {:.1} ({}, mean) | |",
            widths.join("/"),
            run.cpu,
            run.x_cpu.map_or("-".to_string(), |x| format!("{x:.1}")),
            run.pss,
            run.per_remote,
            if headful { "painted" } else { "decoded" }
        );
    }
    println!(
        "\nThe window's delay runs from the frame being complete in the app's core (received, for VP8; decoded, for raw pictures) to drawn in the window. CPU and PSS cover the app with its WebKit processes, and Chromium with its renderers."
    );
    drop(others);
}
