//! Long calls and many calls: what a client holds must not grow with time
//! or with the number of meetings it has been in.
//!
//!   cargo build --release -p talkline-cli && cargo bench -p talkline-cli --bench soak
//!
//! 1. A four-party call through a local Janus for `TALKLINE_SOAK_MINUTES`
//!    (10 by default; 60 for the hour the issue asks for). Three `talkline`
//!    publishers replay a simulcast recording (no encoder: cheap load) with
//!    tones; the measured `talkline` client sends its test camera and
//!    microphone and receives them all; headless Chromium (janus.js) is in
//!    the same room as the anchor. Every `TALKLINE_SOAK_EVERY_S` (60): the
//!    memory (PSS), open files and threads of each, and the video frames
//!    and audio each received since the last sample from every publisher,
//!    which must never be zero: audio and video never stop.
//! 2. Joining and leaving the same meeting `TALKLINE_SOAK_JOINS` times (200)
//!    in one process (this benchmark's, through the same `join` the app and
//!    the CLI use), each join waiting for a remote picture: memory, open
//!    files and threads after every 50, against the same after the first
//!    10 (buffers and pools are filled by then).
//!
//! Results print as Markdown to paste into BENCHMARKS.md.

#[path = "../tests/e2e/support/mod.rs"]
mod support;
#[path = "../tests/e2e/support/usage.rs"]
mod usage;

use std::time::{Duration, Instant};

use support::browser::BrowserPeer;
use support::{Client, Janus};
use talkline_media::source::PatternSource;
use talkline_media::tone::ToneSource;
use talkline_meeting::ice_servers::IceServers;
use talkline_meeting::send::Outgoing;
use talkline_meeting::{CallConfig, MeetingLink};

const PUBLISHERS: [(&str, &str); 3] = [("P1", "test:440"), ("P2", "test:550"), ("P3", "test:660")];

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one process (and its children) holds now.
#[derive(Debug, Clone, Copy)]
struct Held {
    pss_mib: f64,
    files: usize,
    threads: usize,
}

fn held(pid: u32) -> Held {
    let (_, pss_kib) = usage::tree_usage(pid);
    Held {
        pss_mib: pss_kib as f64 / 1024.0,
        files: usage::tree_open_files(pid),
        threads: usage::tree_threads(pid),
    }
}

/// This process alone: Janus and the publisher are its children.
fn held_here() -> Held {
    let me = std::process::id();
    Held {
        pss_mib: usage::process_pss_kib(me) as f64 / 1024.0,
        files: usage::open_files(me),
        threads: usage::threads(me),
    }
}

fn publishers(janus: &Janus, minutes: u64) -> Vec<Client> {
    let camera = format!("replay:{}", support::record_replay(10, true).display());
    PUBLISHERS
        .iter()
        .map(|(name, mic)| {
            let c = Client::join(
                &janus.link(1234),
                name,
                &[
                    "--camera",
                    &camera,
                    "--mic",
                    mic,
                    "--publish-only",
                    "--duration",
                    &(minutes * 60 + 300).to_string(),
                ],
            );
            c.wait_for("joined meeting 1234", Duration::from_secs(10));
            c
        })
        .collect()
}

fn long_call(janus: &Janus, minutes: u64, every: Duration) {
    let _publishers = publishers(janus, minutes);
    let mut client = Client::join(
        &janus.link(1234),
        "Soak",
        &[
            "--camera",
            "test:640x360@30",
            "--mic",
            "test:880",
            "--duration",
            &(minutes * 60 + 120).to_string(),
        ],
    );
    client.wait_for("joined meeting 1234", Duration::from_secs(10));
    let chrome = BrowserPeer::join(&janus.url(), 1234, "Chrome");
    chrome.wait_for("joined and published", Duration::from_secs(30), |r| {
        r["published"] == true
    });
    // Everyone subscribed and the first keyframes in.
    std::thread::sleep(Duration::from_secs(10));

    println!(
        "\n### A four-party call for {minutes} min: the `talkline` CLI beside headless Chromium in the same room\n"
    );
    println!(
        "| minute | talkline PSS (MiB) | open files | threads | video frames / audio frames from each publisher since the last row (fewest) | video freezes > 500 ms (all) | Chromium PSS (MiB) | open files | threads | frames Chromium decoded since the last row |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let start = Instant::now();
    let mut last_frames = [0u64; 3];
    let mut last_audio = [0u64; 3];
    let mut last_chrome = 0u64;
    let mut rows: Vec<(Held, Held)> = Vec::new();
    let mut stopped = Vec::new();
    let mut first = true;
    loop {
        let stats = client.stats_now();
        let mut fewest = (u64::MAX, u64::MAX);
        let mut freezes = 0;
        for (i, (name, _)) in PUBLISHERS.iter().enumerate() {
            // A publisher gone from the room counts as stopped.
            let gone = serde_json::Value::Null;
            let r = stats["remote"]
                .as_array()
                .and_then(|list| list.iter().find(|r| r["display"] == *name))
                .unwrap_or(&gone);
            let frames = r["video_frames_decoded"].as_u64().unwrap_or(0);
            let audio = r["audio_frames_decoded"].as_u64().unwrap_or(0);
            freezes += r["video_freezes"].as_u64().unwrap_or(0);
            // Counters start again when a publisher is subscribed anew.
            let since = |now: u64, before: u64| if now >= before { now - before } else { now };
            let (df, da) = (since(frames, last_frames[i]), since(audio, last_audio[i]));
            if !first && (df == 0 || da == 0) {
                stopped.push(format!(
                    "{name} at minute {:.1}: {df} frames, {da} audio",
                    start.elapsed().as_secs_f64() / 60.0
                ));
            }
            fewest = (fewest.0.min(df), fewest.1.min(da));
            last_frames[i] = frames;
            last_audio[i] = audio;
        }
        let chrome_frames = chrome
            .report()
            .and_then(|r| r["remotes"]["video"]["framesDecoded"].as_u64())
            .unwrap_or(0);
        let (ours, theirs) = (held(client.pid()), held(chrome.pid()));
        if !first {
            println!(
                "| {:.0} | {:.1} | {} | {} | {} / {} | {} | {:.1} | {} | {} | {} |",
                start.elapsed().as_secs_f64() / 60.0,
                ours.pss_mib,
                ours.files,
                ours.threads,
                fewest.0,
                fewest.1,
                freezes,
                theirs.pss_mib,
                theirs.files,
                theirs.threads,
                chrome_frames.saturating_sub(last_chrome),
            );
            rows.push((ours, theirs));
        }
        last_chrome = chrome_frames;
        first = false;
        let left = Duration::from_secs(minutes * 60).saturating_sub(start.elapsed());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(every.min(left));
    }
    client.stop();
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        println!(
            "\nFrom the first row to the last: talkline {:+.1} MiB, {:+} files, {:+} threads; Chromium {:+.1} MiB, {:+} files, {:+} threads.",
            last.0.pss_mib - first.0.pss_mib,
            last.0.files as i64 - first.0.files as i64,
            last.0.threads as i64 - first.0.threads as i64,
            last.1.pss_mib - first.1.pss_mib,
            last.1.files as i64 - first.1.files as i64,
            last.1.threads as i64 - first.1.threads as i64,
        );
    }
    if stopped.is_empty() {
        println!("Audio and video from every publisher arrived in every interval.");
    } else {
        println!("**Media stopped**: {}", stopped.join("; "));
    }
}

fn restart_loop(janus: &Janus, joins: u64) {
    // Up to 3 s a join, with room to spare.
    let _publisher = publishers(janus, joins * 3 / 60 + 1).remove(0);
    let link = MeetingLink::parse(&janus.link(1234)).expect("link");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    println!("\n### Joining and leaving a meeting {joins} times in one process\n");
    println!(
        "| joins | PSS (MiB) | open files | threads | join → first remote frame p50 / max (ms) |"
    );
    println!("|---:|---:|---:|---:|---:|");
    let mut baseline = None;
    let mut waits: Vec<u128> = Vec::new();
    for n in 1..=joins {
        let began = Instant::now();
        runtime.block_on(async {
            let config = CallConfig {
                server: link.server.clone().expect("the link names its server"),
                room: link.room,
                pin: None,
                entry_token: None,
                wait_if_locked: None,
                display: format!("Loop {n}"),
                video: Outgoing::from(Some(Box::new(
                    PatternSource::new(320, 180, 30.0).expect("pattern"),
                )
                    as Box<dyn talkline_media::VideoSource>)),
                audio: Outgoing::from(Some(Box::new(ToneSource::new(880.0).expect("tone"))
                    as Box<dyn talkline_media::AudioSource>)),
                audio_out: None,
                video_bitrate_kbps: 300,
                simulcast: false,
                tiles: None,
                audio_muted: false,
                video_muted: false,
                subscribe: true,
                ice: IceServers::default(),
                voice: Default::default(),
                publish_as: Default::default(),
            };
            let call = talkline_meeting::join(config).await.expect("join");
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                let stats = call.stats.snapshot();
                let seen = stats["remote"].as_array().is_some_and(|list| {
                    list.iter()
                        .any(|r| r["video_frames_decoded"].as_u64() > Some(0))
                });
                if seen {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "join {n}: no remote frame in 15 s"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            call.leave().await;
        });
        waits.push(began.elapsed().as_millis());
        if n == 10 || n % 50 == 0 {
            // Let the runtime's idle workers and closed sockets settle.
            std::thread::sleep(Duration::from_secs(2));
            let now = held_here();
            let mut sorted = waits.clone();
            sorted.sort_unstable();
            println!(
                "| {n} | {:.1} | {} | {} | {} / {} |",
                now.pss_mib,
                now.files,
                now.threads,
                sorted[sorted.len() / 2],
                sorted[sorted.len() - 1]
            );
            waits.clear();
            if n == 10 {
                baseline = Some(now);
            } else if let Some(b) = baseline {
                println!(
                    "|  | {:+.1} since 10 | {:+} | {:+} | |",
                    now.pss_mib - b.pss_mib,
                    now.files as i64 - b.files as i64,
                    now.threads as i64 - b.threads as i64
                );
            }
        }
    }
}

fn main() {
    let minutes = env_u64("TALKLINE_SOAK_MINUTES", 10);
    let every = Duration::from_secs(env_u64("TALKLINE_SOAK_EVERY_S", 60));
    let joins = env_u64("TALKLINE_SOAK_JOINS", 200);
    let janus = Janus::start();
    if minutes > 0 {
        long_call(&janus, minutes, every);
    }
    if joins > 0 {
        restart_loop(&janus, joins);
    }
}
