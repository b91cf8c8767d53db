//! How long a chat message takes from one participant to another through
//! Janus (its TextRoom plugin), beside two Chromium pages doing the same
//! with janus.js, in one run:
//!
//!   cargo bench -p talkline-cli --bench chat
//!
//! For each of `TALKLINE_BENCH_RUNS` runs (default 3): talkline's chat (the
//! meeting crate's `chat::open`, as the app and the CLI use it) joins the
//! room twice in one process; one sends 100 messages 100 ms apart, each
//! carrying its send time, and the other notes each one's delay when it
//! arrives. Then two headless Chromium pages (chat only, no media) do the
//! same. p50, p95 and the largest delay, and messages lost, each side.
//!
//! Results print as Markdown to paste into BENCHMARKS.md.

#[path = "../tests/e2e/support/mod.rs"]
mod support;

use std::io::Write;
use std::time::Duration;

use support::browser::BrowserPeer;
use support::{Janus, now_ms, percentile};
use talkline_meeting::ServerUrl;
use talkline_meeting::chat::{self, ChatEvent};
use talkline_meeting::ice_servers::IceServers;

const MESSAGES: usize = 100;
const EVERY: Duration = Duration::from_millis(100);
const WAIT: Duration = Duration::from_secs(30);

struct Run {
    delays_ms: Vec<f64>,
}

impl Run {
    fn row(&self) -> (f64, f64, f64, usize) {
        let mut d = self.delays_ms.clone();
        d.sort_by(f64::total_cmp);
        (
            percentile(&d, 0.5),
            percentile(&d, 0.95),
            d.last().copied().unwrap_or(f64::NAN),
            MESSAGES.saturating_sub(d.len()),
        )
    }
}

async fn talkline_run(server: &ServerUrl) -> Run {
    let ice = IceServers::default();
    let mut receiver = chat::open(server, 1234, None, None, "Receiver", None, &ice)
        .await
        .expect("the receiver's chat");
    let mut sender = chat::open(server, 1234, None, None, "Sender", None, &ice)
        .await
        .expect("the sender's chat");
    // Both in the room before the first message.
    for chat in [&mut receiver, &mut sender] {
        loop {
            match tokio::time::timeout(WAIT, chat.events.recv()).await {
                Ok(Some(ChatEvent::Joined(_))) => break,
                Ok(Some(_)) => {}
                other => panic!("no chat: {other:?}"),
            }
        }
    }
    let sending = async {
        let mut tick = tokio::time::interval(EVERY);
        for n in 0..MESSAGES {
            tick.tick().await;
            let text = format!("bench {n} {:.3}", now_ms());
            if let Err(e) = sender.send(&text, None).await {
                eprintln!("not sent: {e}");
            }
        }
    };
    let receiving = async {
        let mut delays = Vec::new();
        while delays.len() < MESSAGES {
            match tokio::time::timeout(WAIT, receiver.events.recv()).await {
                Ok(Some(ChatEvent::Message(m))) => {
                    let sent: Option<f64> = m.text.split(' ').nth(2).and_then(|t| t.parse().ok());
                    if let Some(sent) = sent {
                        delays.push(now_ms() - sent);
                    }
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        delays
    };
    let ((), delays_ms) = tokio::join!(sending, receiving);
    sender.leave().await;
    receiver.leave().await;
    Run { delays_ms }
}

fn chromium_run(janus: &Janus) -> Run {
    let receiver = BrowserPeer::chat_only(&janus.url(), 1234, "Receiver", false);
    receiver.wait_for("the receiving page in the chat", WAIT, |r| {
        r["chat"]["joined"] == true
    });
    let _sender = BrowserPeer::chat_only(&janus.url(), 1234, "Sender", true);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let report = receiver.report().unwrap_or_default();
        let delays: Vec<f64> = report["chat"]["latenciesMs"]
            .as_array()
            .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
            .unwrap_or_default();
        if delays.len() >= MESSAGES || std::time::Instant::now() > deadline {
            return Run { delays_ms: delays };
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn main() {
    let runs = support::bench_runs(3);
    let janus = Janus::start();
    let server = ServerUrl::parse(&janus.url()).expect("the server's address");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let mut rows = Vec::new();
    for run in 1..=runs {
        eprintln!("run {run} of {runs}: talkline");
        let ours = runtime.block_on(talkline_run(&server));
        eprintln!("run {run} of {runs}: Chromium");
        let chrome = chromium_run(&janus);
        rows.push((ours, chrome));
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "\n### Chat messages through Janus: talkline vs Chromium (janus.js), {MESSAGES} messages {} ms apart, {runs} runs\n",
        EVERY.as_millis()
    );
    let _ = writeln!(
        out,
        "| run | talkline p50 (ms) | p95 | max | lost | Chromium p50 (ms) | p95 | max | lost |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, (ours, chrome)) in rows.iter().enumerate() {
        let (a50, a95, amax, alost) = ours.row();
        let (c50, c95, cmax, clost) = chrome.row();
        let _ = writeln!(
            out,
            "| {} | {a50:.1} | {a95:.1} | {amax:.1} | {alost} | {c50:.1} | {c95:.1} | {cmax:.1} | {clost} |",
            i + 1
        );
    }
}
