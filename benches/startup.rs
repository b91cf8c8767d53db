//! How fast the app opens and what it costs at rest, beside Chromium
//! opening a meeting page, in one run:
//!
//!   cargo bench -p talkline-app --bench startup
//!
//! For each of `TALKLINE_BENCH_RUNS` runs (default 5): the app's real window
//! (WebKitGTK under Xvfb, started over WebDriver, a fresh home) from its
//! process's start to the page showing its first screen (the policy; the
//! page's own clock against the process's start in /proc); accepted, Home,
//! then a `talkline://join` link handed to it by a second start (as the
//! desktop's link handler does) until its meeting's pre-join shows; then
//! the app at rest on Home for 10 s: CPU and PSS of its process tree.
//! Then the returning user: the app closed and started again in the same
//! home and keyring (the policy accepted, the database kept), to Home;
//! and closed and started with a `talkline://join` link as its argument
//! (a link clicked while it is not running), to that meeting's pre-join.
//! Then headful Chromium (Debian's, on an Xvfb display of its own) from
//! its start to its meeting page's script starting (a janus.js page that
//! joins a room on a local Janus), and with that page, alone in the
//! room, for 10 s. Also: the
//! size of the UI bundle the app embeds (`ui/dist`, raw and gzip), of the
//! app's binary, and of the .deb if `scripts/package.sh` built one.
//!
//! Results print as Markdown to paste into BENCHMARKS.md.

#[path = "../tests/e2e/support/mod.rs"]
mod support;
#[path = "../tests/e2e/support/usage.rs"]
mod usage;
#[path = "../tests/e2e/support/webdriver.rs"]
mod webdriver;
#[path = "../tests/e2e/support/window.rs"]
mod window_support;

use std::io::Write;
use std::time::{Duration, Instant};

use support::Janus;
use support::browser::BrowserPeer;
use usage::measure;
use window_support::AppWindow;

const LONG: Duration = Duration::from_secs(30);
const AT_REST_S: u64 = 10;

/// When `pid` started, in milliseconds of the wall clock (from /proc: the
/// kernel counts in ticks since boot).
fn started_at_ms(pid: u32) -> Option<f64> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    Some(1000.0 * (now - age_of(pid)?))
}

/// Seconds since `pid` started.
fn age_of(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let started: f64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    // SAFETY: sysconf with a valid name has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(uptime - started / ticks)
}

struct AppRun {
    to_first_screen_ms: f64,
    link_to_prejoin_ms: f64,
    cpu: f64,
    pss: f64,
    /// A returning user's start: process start → Home.
    again_to_home_ms: f64,
    /// Started by a link: process start → the link's pre-join.
    link_start_to_prejoin_ms: f64,
}

/// From the app's process start to `screen`'s first showing, by the
/// page's own clock.
fn start_to_screen_ms(window: &AppWindow, screen: &str) -> f64 {
    window
        .driver
        .wait_visible(&format!("#screen-{screen}"), LONG);
    let pid = window.pid().expect("the app's process");
    let shown = window
        .driver
        .eval(
            "return window.__talkline.screenFirstShownAt(arguments[0]);",
            serde_json::json!([screen]),
        )
        .as_f64()
        .unwrap_or_else(|| panic!("no time for {screen}"));
    shown - started_at_ms(pid).expect("the app's start time")
}

fn app_run(janus: &Janus) -> AppRun {
    let mut window = AppWindow::launch(&janus.url());
    let driver = &window.driver;
    driver.wait_visible("#screen-policy", LONG);
    let pid = window.pid().expect("the app's process");
    let shown = driver
        .eval(
            "return window.__talkline.firstShownAt();",
            serde_json::json!([]),
        )
        .as_f64()
        .expect("the page's first screen time");
    let to_first_screen_ms = shown - started_at_ms(pid).expect("the app's start time");
    driver.click("#policy-accept");
    driver.wait_visible("#screen-home", LONG);
    driver.type_into("#display-name", "Winnie");
    let link = format!(
        "talkline://join?server={}&room=1234",
        janus.url().replace(':', "%3A").replace('/', "%2F")
    );
    let started = Instant::now();
    let (code, _, stderr) = window.run_beside(&window_support::app_binary(), &[&link]);
    assert_eq!(code, Some(0), "the second start: {stderr}");
    driver.wait_visible("#screen-prejoin", LONG);
    let link_to_prejoin_ms = started.elapsed().as_secs_f64() * 1000.0;
    driver.click("#back-home");
    driver.wait_visible("#screen-home", LONG);
    std::thread::sleep(Duration::from_secs(3));
    let (cpu, pss) = measure(pid, AT_REST_S);
    // A returning user has their name kept (Settings), so a link they
    // click goes straight to its pre-join.
    driver.click("#open-settings");
    driver.wait_visible("#settings-display-name", LONG);
    driver.type_into("#settings-display-name", "Winnie");
    driver.click("#settings-save");
    std::thread::sleep(Duration::from_secs(1));
    driver.click("#settings-back");
    driver.wait_visible("#screen-home", LONG);
    window.restart(&[]);
    let again_to_home_ms = start_to_screen_ms(&window, "home");
    window.restart(&[&link]);
    let link_start_to_prejoin_ms = start_to_screen_ms(&window, "prejoin");
    let room = window.driver.text("#prejoin-title");
    assert!(
        room.contains("1234"),
        "the pre-join of another meeting: {room}"
    );
    AppRun {
        to_first_screen_ms,
        link_to_prejoin_ms,
        cpu,
        pss,
        again_to_home_ms,
        link_start_to_prejoin_ms,
    }
}

struct ChromiumRun {
    to_page_ms: f64,
    cpu: f64,
    pss: f64,
}

fn chromium_run(janus: &Janus, display: &window_support::OwnDisplay) -> ChromiumRun {
    let chrome = BrowserPeer::join_on_display(&janus.url(), 1234, "Chrome", &display.name);
    let started = started_at_ms(chrome.pid()).expect("Chromium's start time");
    let report = chrome.wait_for("the meeting page's script", LONG, |r| {
        r["scriptStartedAt"].is_number()
    });
    let to_page_ms = report["scriptStartedAt"].as_f64().unwrap_or(0.0) - started;
    std::thread::sleep(Duration::from_secs(3));
    let (cpu, pss) = measure(chrome.pid(), AT_REST_S);
    ChromiumRun {
        to_page_ms,
        cpu,
        pss,
    }
}

fn size_of(path: &std::path::Path) -> Option<u64> {
    std::fs::metadata(path).ok().map(|m| m.len())
}

fn gzip_size(path: &std::path::Path) -> Option<u64> {
    let out = std::process::Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .ok()?;
    Some(out.stdout.len() as u64)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let runs = support::bench_runs(5);
    let janus = Janus::start();
    let display = window_support::own_display();
    let mut rows = Vec::new();
    for run in 1..=runs {
        eprintln!("run {run} of {runs}: the app");
        let app = app_run(&janus);
        eprintln!("run {run} of {runs}: Chromium");
        let chrome = chromium_run(&janus, &display);
        rows.push((app, chrome));
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\n### Start and rest: the app vs headful Chromium opening a meeting page ({runs} runs)\n"
    );
    let _ = writeln!(
        out,
        "| run | app, first start: start → policy (ms) | returning: start → Home (ms) | started by a link: start → pre-join (ms) | link into the running app → pre-join (ms) | app at rest: CPU (% of one core) | PSS (MiB) | Chromium: start → meeting page's script (ms) | Chromium at rest: CPU | PSS (MiB) |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, (a, c)) in rows.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} | {:.0} | {:.1} | {:.1} |",
            i + 1,
            a.to_first_screen_ms,
            a.again_to_home_ms,
            a.link_start_to_prejoin_ms,
            a.link_to_prejoin_ms,
            a.cpu,
            a.pss,
            c.to_page_ms,
            c.cpu,
            c.pss
        );
    }
    let _ = writeln!(
        out,
        "| median | {:.0} | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} | {:.0} | {:.1} | {:.1} |",
        median(rows.iter().map(|(a, _)| a.to_first_screen_ms).collect()),
        median(rows.iter().map(|(a, _)| a.again_to_home_ms).collect()),
        median(
            rows.iter()
                .map(|(a, _)| a.link_start_to_prejoin_ms)
                .collect()
        ),
        median(rows.iter().map(|(a, _)| a.link_to_prejoin_ms).collect()),
        median(rows.iter().map(|(a, _)| a.cpu).collect()),
        median(rows.iter().map(|(a, _)| a.pss).collect()),
        median(rows.iter().map(|(_, c)| c.to_page_ms).collect()),
        median(rows.iter().map(|(_, c)| c.cpu).collect()),
        median(rows.iter().map(|(_, c)| c.pss).collect()),
    );

    let root = support::repo_root();
    let _ = writeln!(out, "\n| what | bytes | gzip -9 |\n|---|---:|---:|");
    let assets = root.join("ui/dist/assets");
    let mut bundle: Vec<_> = std::fs::read_dir(&assets)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    bundle.sort();
    for file in bundle {
        let name = file
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let kind = if name.ends_with(".js") {
            "UI script"
        } else {
            "UI styles"
        };
        let _ = writeln!(
            out,
            "| {kind} (`{name}`) | {} | {} |",
            size_of(&file).unwrap_or(0),
            gzip_size(&file).unwrap_or(0)
        );
    }
    let binary = window_support::app_binary();
    let _ = writeln!(
        out,
        "| the app's binary, as built for this run | {} | |",
        size_of(&binary).unwrap_or(0)
    );
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), std::path::PathBuf::from);
    let deb = target.join(format!(
        "packages/talkline_{}_amd64.deb",
        env!("CARGO_PKG_VERSION")
    ));
    match size_of(&deb) {
        Some(bytes) => {
            let _ = writeln!(out, "| the .deb (`scripts/package.sh`) | {bytes} | |");
        }
        None => {
            let _ = writeln!(out, "| the .deb | not built (`scripts/package.sh`) | |");
        }
    }
}
