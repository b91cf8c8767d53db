//! What recording a meeting on the device costs, on top of a four-party
//! call, beside a headless Chromium page (janus.js) recording the same
//! call as a web app does (MediaRecorder: the remote audio mixed with Web
//! Audio and one remote video, to WebM), in one run:
//!
//!   cargo bench -p talkline-cli --bench recording
//!
//! For each of `TALKLINE_BENCH_RUNS` runs (default 3): three publishers
//! replaying VP8 (no encoder: they leave the CPU to the measured) with a
//! tone each, a talkline client and the Chromium page, both sending
//! 640x360 at 30 fps and receiving everyone. CPU (of a core, user+sys over
//! wall time, the page's processes summed) and peak PSS of each are
//! sampled for 20 s while nobody records, then 20 s while both record
//! (talkline: `record FOLDER`; the page: its recorder started by itself
//! once the first phase is over). The recording's bytes per second are
//! printed too: what each writes to the disk.
//!
//! Results print as Markdown to paste into BENCHMARKS.md.

#[path = "../tests/e2e/support/mod.rs"]
mod support;
#[path = "../tests/e2e/support/usage.rs"]
mod usage;

use std::time::Duration;

use support::browser::BrowserPeer;
use support::{Client, Janus, record_replay, scratch_dir};
use usage::measure;

const PHASE_SECONDS: u64 = 20;
/// The page starts recording this long after its first remote frame: the
/// first phase's length, and the warm-up before it, with room to spare.
const PAGE_RECORDS_AFTER: u64 = PHASE_SECONDS + 12;

struct Phase {
    cpu: f64,
    pss: f64,
}

struct Run {
    talkline: [Phase; 2],
    chromium: [Phase; 2],
    talkline_bytes_per_s: f64,
    chromium_bytes_per_s: f64,
}

fn one_run(janus: &Janus, replay: &std::path::Path) -> Run {
    let link = janus.link(1234);
    let replay_arg = format!("replay:{}", replay.display());
    let _load: Vec<Client> = [500, 700, 900]
        .iter()
        .enumerate()
        .map(|(i, hz)| {
            Client::join(
                &link,
                &format!("Load {i}"),
                &[
                    "--camera",
                    &replay_arg,
                    "--mic",
                    &format!("test:{hz}"),
                    "--publish-only",
                    "--no-chat",
                ],
            )
        })
        .collect();
    let mut ann = Client::join(
        &link,
        "Ann",
        &["--camera", "test:640x360@30", "--mic", "test:300"],
    );
    for i in 0..3 {
        ann.wait_for(&format!("+ Load {i} joined"), Duration::from_secs(20));
    }
    let chrome = BrowserPeer::join_recording(&janus.url(), 1234, "Chrome", PAGE_RECORDS_AFTER);
    chrome.wait_for("decoding everyone", Duration::from_secs(30), |r| {
        r["firstFrameMs"].is_number()
    });
    ann.wait_for("+ Chrome joined", Duration::from_secs(20));
    // Warm-up: every stream decoded, the encoders settled.
    std::thread::sleep(Duration::from_secs(8));
    let both = |ann: &Client, chrome: &BrowserPeer| {
        let chrome_pid = chrome.pid();
        let page = std::thread::spawn(move || measure(chrome_pid, PHASE_SECONDS));
        let (cpu, pss) = measure(ann.pid(), PHASE_SECONDS);
        let (page_cpu, page_pss) = page.join().expect("the page's sampler");
        (
            Phase { cpu, pss },
            Phase {
                cpu: page_cpu,
                pss: page_pss,
            },
        )
    };
    let (ann_plain, chrome_plain) = both(&ann, &chrome);
    let folder = scratch_dir("bench-recordings");
    ann.send_line(&format!("record {}", folder.display()));
    ann.wait_for("recording the meeting to ", Duration::from_secs(10));
    chrome.wait_for("the page recording", Duration::from_secs(30), |r| {
        r["recording"] == true
    });
    let page_bytes_before = chrome.report().unwrap_or_default()["recordedBytes"]
        .as_f64()
        .unwrap_or(0.0);
    let (ann_recording, chrome_recording) = both(&ann, &chrome);
    let page_bytes = chrome.report().unwrap_or_default()["recordedBytes"]
        .as_f64()
        .unwrap_or(0.0)
        - page_bytes_before;
    ann.send_line("record stop");
    ann.wait_for("recording saved: ", Duration::from_secs(10));
    let file_bytes: u64 = std::fs::read_dir(&folder)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    ann.send_line("leave");
    let _ = ann.wait(Duration::from_secs(10));
    Run {
        talkline: [ann_plain, ann_recording],
        chromium: [chrome_plain, chrome_recording],
        // The file holds a little more than the measured phase: the time
        // to start and to stop around it.
        talkline_bytes_per_s: file_bytes as f64 / (PHASE_SECONDS as f64 + 1.0),
        chromium_bytes_per_s: page_bytes / PHASE_SECONDS as f64,
    }
}

fn main() {
    let runs = support::bench_runs(3);
    let janus = Janus::start();
    let replay = record_replay(10, false);
    println!(
        "\n### Recording a four-party meeting on the device: talkline vs Chromium (janus.js + MediaRecorder), {runs} runs\n"
    );
    println!(
        "| run | client | CPU not recording (% of a core) | CPU recording | added | PSS not recording (MiB) | PSS recording | written (kB/s) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for r in 1..=runs {
        eprintln!("run {r} of {runs}");
        let run = one_run(&janus, &replay);
        for (name, phases, rate) in [
            ("talkline", &run.talkline, run.talkline_bytes_per_s),
            ("Chromium", &run.chromium, run.chromium_bytes_per_s),
        ] {
            println!(
                "| {r} | {name} | {:.1} | {:.1} | {:+.1} | {:.0} | {:.0} | {:.0} |",
                phases[0].cpu,
                phases[1].cpu,
                phases[1].cpu - phases[0].cpu,
                phases[0].pss,
                phases[1].pss,
                rate / 1000.0
            );
        }
    }
}
