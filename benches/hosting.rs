//! How long a host's action takes to reach the participant it is aimed at,
//! through Janus, beside a headless Chromium page (janus.js) in the same
//! meeting, in one run:
//!
//!   cargo bench -p talkline-cli --bench hosting
//!
//! For each of `TALKLINE_BENCH_RUNS` runs (default 3), in a meeting made as
//! the app makes one (`host::create_meeting`), with the host's controls as
//! the app holds them (`host::HostControls`):
//! - mute: the host turns a participant's microphone off, 10 times each,
//!   and asks for it back; timed until the participant's call says so
//!   (talkline: `CallEvent::HostHeld`; Chromium: the page's moderation
//!   event, stamped by the page's own clock);
//! - remove: 4 fresh participants of each kind, each removed; timed until
//!   their call ends (talkline) or the page is told it was kicked;
//! - admit: 4 talkline guests in a waiting room, each let in; timed until
//!   their join returns (joined and publishing). Chromium has no TalkLine
//!   waiting room: its column is what a plain join takes there (join asked
//!   until its publisher's answer arrives), the floor an admission cannot
//!   go under.
//!
//! p50 and p95 of each, in milliseconds. Results print as Markdown to paste
//! into BENCHMARKS.md.

#[path = "../tests/e2e/support/mod.rs"]
mod support;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use support::browser::BrowserPeer;
use support::{Janus, now_ms, percentile};
use talkline_meeting::host::{HostControls, HostedMeeting, create_meeting};
use talkline_meeting::lobby::{Lobby, LobbyEvent};
use talkline_meeting::{CallEvent, CallHandle, MeetingError, ServerUrl};

const MUTES: usize = 10;
const REMOVALS: usize = 4;
const ADMISSIONS: usize = 4;
const WAIT: Duration = Duration::from_secs(20);

fn p50_p95(values: &[f64]) -> (f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    (percentile(&v, 0.5), percentile(&v, 0.95))
}

/// A talkline participant in `meeting`: a test pattern and a tone.
async fn guest(
    meeting: &HostedMeeting,
    name: &str,
    wait_if_locked: bool,
) -> Result<CallHandle, MeetingError> {
    support::guest_in_process(meeting, name, None, wait_if_locked, true).await
}

/// Waits for the first event `wanted` picks; the wall clock then.
async fn event_at(call: &mut CallHandle, wanted: impl Fn(&CallEvent) -> bool) -> f64 {
    tokio::time::timeout(WAIT, async {
        loop {
            match call.events.recv().await {
                Some(e) if wanted(&e) => return now_ms(),
                Some(_) => {}
                None => panic!("the call's events stopped"),
            }
        }
    })
    .await
    .expect("the host's action never arrived")
}

/// When the page was told its `n`-th host event (wall clock, its own).
fn page_event_at(page: &BrowserPeer, n: usize, event: &str) -> f64 {
    let report = page.wait_for(&format!("host event {n} ({event})"), WAIT, |r| {
        r["hostEvents"].as_array().is_some_and(|e| e.len() > n)
    });
    let e = &report["hostEvents"][n];
    assert_eq!(e["event"], event, "{report:#}");
    e["at"].as_f64().expect("a time")
}

fn page_feed(page: &BrowserPeer) -> (u64, f64) {
    let r = page.wait_for("the page joined and published", WAIT, |r| {
        r["selfId"].is_u64() && r["publishedAt"].is_number()
    });
    let floor = r["publishedAt"].as_f64().unwrap_or(f64::NAN)
        - r["joinAskedAt"].as_f64().unwrap_or(f64::NAN);
    (r["selfId"].as_u64().expect("feed"), floor)
}

#[derive(Default)]
struct Run {
    mute: [Vec<f64>; 2],
    ask: [Vec<f64>; 2],
    remove: [Vec<f64>; 2],
    admit: Vec<f64>,
    join_floor: Vec<f64>,
}

fn one_run(janus: &Janus, server: &ServerUrl, runtime: &tokio::runtime::Runtime) -> Run {
    let mut run = Run::default();
    let meeting = runtime
        .block_on(create_meeting(server, None, false))
        .expect("a meeting");
    let host = HostControls::new(meeting.clone());

    // Mute and ask back, each kind of participant in turn.
    let mut bob = runtime
        .block_on(guest(&meeting, "Bob", false))
        .expect("Bob");
    let page = BrowserPeer::join(&janus.url(), meeting.room, "Chrome");
    let (chrome, floor) = page_feed(&page);
    run.join_floor.push(floor);
    std::thread::sleep(Duration::from_secs(2));
    let mut told = 0;
    for _ in 0..MUTES {
        for (held, into) in [(true, 0), (false, 1)] {
            let t0 = now_ms();
            runtime
                .block_on(host.hold(bob.self_id, "0", held))
                .expect("hold Bob");
            let t1 = runtime.block_on(event_at(
                &mut bob,
                |e| matches!(e, CallEvent::HostHeld { held: h, .. } if *h == held),
            ));
            let t0c = now_ms();
            runtime
                .block_on(host.hold(chrome, "0", held))
                .expect("hold Chrome");
            let t1c = page_event_at(&page, told, if held { "muted" } else { "unmuted" });
            told += 1;
            let lists = if into == 0 {
                &mut run.mute
            } else {
                &mut run.ask
            };
            lists[0].push(t1 - t0);
            lists[1].push(t1c - t0c);
        }
    }
    drop(page);
    runtime.block_on(bob.leave());

    // Remove fresh participants.
    for i in 0..REMOVALS {
        let mut ours = runtime
            .block_on(guest(&meeting, &format!("Rex {i}"), false))
            .expect("a guest");
        let page = BrowserPeer::join(&janus.url(), meeting.room, &format!("Ray{i}"));
        let (theirs, floor) = page_feed(&page);
        run.join_floor.push(floor);
        std::thread::sleep(Duration::from_secs(1));
        let t0 = now_ms();
        runtime.block_on(host.remove(ours.self_id)).expect("remove");
        let t1 = runtime.block_on(event_at(&mut ours, |e| {
            matches!(e, CallEvent::Ended(Some(MeetingError::RemovedByHost)))
        }));
        let t0c = now_ms();
        runtime.block_on(host.remove(theirs)).expect("remove");
        let t1c = page_event_at(&page, 0, "removed");
        run.remove[0].push(t1 - t0);
        run.remove[1].push(t1c - t0c);
    }
    runtime.block_on(host.end()).expect("end");
    runtime.block_on(host.close());

    // Admit from a waiting room.
    let meeting = runtime
        .block_on(create_meeting(server, None, true))
        .expect("a meeting with a waiting room");
    let host = Arc::new(HostControls::new(meeting.clone()));
    let mut lobby = runtime.block_on(async { Lobby::open(Arc::clone(&host), Default::default()) });
    for i in 0..ADMISSIONS {
        let waiting = {
            let meeting = meeting.clone();
            runtime.spawn(async move {
                let call = guest(&meeting, &format!("Gus {i}"), true).await;
                (call, now_ms())
            })
        };
        let username = runtime.block_on(async {
            tokio::time::timeout(WAIT, async {
                loop {
                    match lobby.events.recv().await {
                        Some(LobbyEvent::Waiting { shown, .. }) if !shown.is_empty() => {
                            return shown[0].username.clone();
                        }
                        Some(LobbyEvent::Unavailable(why)) => panic!("no waiting room: {why}"),
                        Some(_) => {}
                        None => panic!("the waiting room closed"),
                    }
                }
            })
            .await
            .expect("nobody waited")
        });
        let t0 = now_ms();
        runtime
            .block_on(lobby.admit(Some(&username)))
            .expect("admit");
        let (call, t1) = runtime.block_on(waiting).expect("the guest's task");
        let call = call.expect("the guest joined");
        run.admit.push(t1 - t0);
        runtime.block_on(call.leave());
    }
    drop(lobby);
    runtime.block_on(host.end()).expect("end");
    run
}

fn main() {
    let runs = support::bench_runs(3);
    let janus = Janus::start();
    let server = ServerUrl::parse(&janus.url()).expect("the server's address");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\n### A host's action until it takes effect on the participant: talkline vs Chromium (janus.js), {runs} runs\n"
    );
    let _ = writeln!(
        out,
        "| run | action | talkline p50 (ms) | p95 | n | Chromium p50 (ms) | p95 | n |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|");
    for r in 1..=runs {
        eprintln!("run {r} of {runs}");
        let run = one_run(&janus, &server, &runtime);
        let rows: [(&str, &[f64], &[f64]); 4] = [
            ("mute", &run.mute[0], &run.mute[1]),
            ("ask to unmute", &run.ask[0], &run.ask[1]),
            ("remove", &run.remove[0], &run.remove[1]),
            (
                "admit (Chromium: a plain join)",
                &run.admit,
                &run.join_floor,
            ),
        ];
        for (action, ours, theirs) in rows {
            let (a50, a95) = p50_p95(ours);
            let (c50, c95) = p50_p95(theirs);
            let _ = writeln!(
                out,
                "| {r} | {action} | {a50:.1} | {a95:.1} | {} | {c50:.1} | {c95:.1} | {} |",
                ours.len(),
                theirs.len()
            );
        }
    }
}
