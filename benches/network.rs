//! Calls on an impaired network, talkline beside Chromium in the same run.
//!
//!   cargo bench -p talkline-cli --bench network
//!
//! Runs inside a private network namespace it makes itself (`unshare -n`,
//! only `lo`). Every process (Janus, the clients, Chromium) delays each UDP
//! datagram it sends by 10 ms ± 2 ms (tests/janus/udp_delay_shim.c), and
//! nftables drops UDP at random on the only interface, so the loss applies
//! on each hop (to Janus and from it). Per condition, two `talkline`
//! clients, then two headless Chromium peers, then one of each hold a 20 s
//! call with the test pattern (Chromium: its fake camera). Prints a
//! Markdown table.
//!
//! `TALKLINE_BENCH_LOSS=0,5,10,20` picks the loss rates (percent),
//! `TALKLINE_BENCH_CAP=512` the rate caps (kbit/s per flow, each way:
//! nftables drops what is over the rate; empty for none), and
//! `TALKLINE_BENCH_DELAY=100:30` one-way delays with jitter (ms) in place
//! of the usual 10 ± 2, with no loss. `TALKLINE_BENCH_PAIRS=mixed` (any of
//! talkline, chromium, mixed) runs only those pairs, and
//! `TALKLINE_BENCH_TALKLINE_ARGS="--camera test:640x360@20 --video-kbps 400"`
//! gives each talkline client more arguments. After the table, for
//! each cap: how long talkline takes to send at full quality again once it
//! is lifted.

#[path = "../tests/e2e/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::browser::BrowserPeer;
use support::netns::{self, UdpImpairment};
use support::{Client, Janus, UdpDelay, remote};

const CALL_SECONDS: u64 = 20;

/// A talkline client's arguments: `base`, then `TALKLINE_BENCH_TALKLINE_ARGS`.
fn talkline_args(base: &[&str]) -> Vec<String> {
    let extra = std::env::var("TALKLINE_BENCH_TALKLINE_ARGS").unwrap_or_default();
    base.iter()
        .map(|s| s.to_string())
        .chain(extra.split_whitespace().map(str::to_string))
        .collect()
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}
const DELAY_MS: u32 = 10;
const JITTER_MS: u32 = 2;

/// Who is in the call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pair {
    Talkline,
    Chromium,
    /// One of each.
    Mixed,
}

/// What the network does to every UDP packet (on top of the delay).
#[derive(Clone, Copy)]
enum Impairment {
    /// Random loss, percent per hop.
    Loss(u32),
    /// Everything over this many kbit/s per flow is dropped.
    Cap(u32),
    /// No loss; this delay and jitter (ms) instead of the usual.
    Delay(u32, u32),
}

impl Impairment {
    fn label(self) -> String {
        match self {
            Self::Loss(p) => format!("{p}% loss"),
            Self::Cap(kbps) => format!("{kbps} kbit/s cap"),
            Self::Delay(ms, jitter) => format!("{ms} ± {jitter} ms delay"),
        }
    }

    fn udp(self) -> UdpImpairment {
        match self {
            Self::Loss(p) => UdpImpairment::Loss(p),
            Self::Cap(kbps) => UdpImpairment::CapKbps(kbps),
            Self::Delay(..) => UdpImpairment::None,
        }
    }
}

/// How long after a cap is lifted the sender is back at full quality:
/// the CLI's 1200 kbit/s (give or take its last step, a second apart) at
/// 30 fps and 640x360. Capped for 15 s first, so the estimate has settled under it.
fn recovery_after_cap(janus: &Janus, delay: &UdpDelay, cap: u32) -> Option<f64> {
    let env = delay.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let link = janus.link(1234);
    let mut a = Client::join_with_env(&link, "A", &["--mic", "test:500", "--duration", "60"], &env);
    std::thread::sleep(Duration::from_secs(3));
    let mut b = Client::join_with_env(&link, "B", &["--mic", "test:900", "--duration", "55"], &env);
    UdpImpairment::CapKbps(cap).apply();
    std::thread::sleep(Duration::from_secs(15));
    UdpImpairment::None.apply();
    let lifted = Instant::now();
    let mut back = None;
    while lifted.elapsed() < Duration::from_secs(30) {
        let s = a.stats_now();
        let target = s["send"]["video_target_kbps"].as_u64().unwrap_or(0);
        let fps = s["send"]["video_fps"].as_u64().unwrap_or(0);
        let width = s["send"]["video_width"].as_u64().unwrap_or(0);
        if target >= 1080 && fps >= 30 && width >= 640 {
            back = Some(lifted.elapsed().as_secs_f64());
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let _ = b.wait(Duration::from_secs(60));
    let _ = a.wait(Duration::from_secs(60));
    // Beside the stats, for reading afterwards (with `RUST_LOG` set).
    let _ = std::fs::write(a.stats_path.with_extension("log"), a.errors());
    back
}

struct Row {
    who: &'static str,
    condition: String,
    joined_s: Option<f64>,
    shown: Option<f64>,
    fps: Option<f64>,
    freezes: Option<u64>,
    latency: Option<(u64, u64)>,
    /// Share of the call's 10 ms frames played, share of the packets
    /// played that were rebuilt or concealed, and pitch over the sent one.
    /// Played of the call, played since it began, of it rebuilt or
    /// concealed, pitch over the sent one (none for Chromium's).
    audio: Option<(f64, f64, f64, Option<f64>)>,
}

fn fmt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map_or("—".into(), f)
}

/// Two talkline clients; one row per direction.
fn talkline_pair(janus: &Janus, delay: &UdpDelay, condition: &str, rows: &mut Vec<Row>) {
    let link = janus.link(1234);
    let env = delay.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let long = (CALL_SECONDS + 6).to_string();
    let short = CALL_SECONDS.to_string();
    let (a_args, b_args) = (
        talkline_args(&["--mic", "test:500", "--duration", &long]),
        talkline_args(&["--mic", "test:900", "--duration", &short]),
    );
    let mut a = Client::join_with_env(&link, "A", &as_strs(&a_args), &env);
    std::thread::sleep(Duration::from_secs(3));
    let mut b = Client::join_with_env(&link, "B", &as_strs(&b_args), &env);
    let _ = b.wait(Duration::from_secs(CALL_SECONDS + 40));
    let _ = a.wait(Duration::from_secs(CALL_SECONDS + 40));
    // Beside the stats, for reading afterwards (with `RUST_LOG` set).
    for client in [&a, &b] {
        let _ = std::fs::write(client.stats_path.with_extension("log"), client.errors());
    }
    for (client, other, hz, who) in [
        (&a, "B", 900.0, "talkline ← talkline (B→A)"),
        (&b, "A", 500.0, "talkline ← talkline (A→B)"),
    ] {
        let Ok(text) = std::fs::read_to_string(&client.stats_path) else {
            rows.push(Row {
                who,
                condition: condition.to_string(),
                joined_s: None,
                shown: None,
                fps: None,
                freezes: None,
                latency: None,
                audio: None,
            });
            continue;
        };
        let s: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let has_remote = s["remote"]
            .as_array()
            .is_some_and(|l| l.iter().any(|r| r["display"] == other));
        let r = if has_remote {
            remote(&s, other).clone()
        } else {
            serde_json::Value::Null
        };
        let audio_frames = r["audio_frames_decoded"].as_f64().unwrap_or(0.0);
        // 10 ms frames over the time both were in the call.
        let expected_audio = CALL_SECONDS as f64 * 100.0;
        rows.push(Row {
            who,
            condition: condition.to_string(),
            joined_s: s["first_remote_frame_ms"]
                .as_f64()
                .map(|ms| ms / 1000.0 - if client.name == "A" { 3.0 } else { 0.0 }),
            shown: r["pattern_received_ratio"].as_f64(),
            // The test pattern runs at 30 fps.
            fps: r["pattern_received_ratio"].as_f64().map(|v| v * 30.0),
            freezes: r["video_freezes"].as_u64(),
            latency: r["latency_ms_p50"]
                .as_u64()
                .zip(r["latency_ms_p95"].as_u64()),
            audio: Some((
                (audio_frames / expected_audio).min(1.0),
                (audio_frames / (r["audio_span_ms"].as_f64().unwrap_or(0.0) / 10.0).max(1.0))
                    .min(1.0),
                // 20 ms packets: two frames each.
                (r["audio_packets_rebuilt"].as_f64().unwrap_or(0.0)
                    + r["audio_packets_concealed"].as_f64().unwrap_or(0.0))
                    * 2.0
                    / audio_frames.max(1.0),
                Some(r["audio_dominant_hz"].as_f64().unwrap_or(0.0) / hz),
            )),
        });
    }
}

/// Two headless Chromium peers: frames one decoded of what the other
/// encoded, over the same 20 s.
fn chromium_pair(janus: &Janus, condition: &str, rows: &mut Vec<Row>) {
    let started = Instant::now();
    let a = BrowserPeer::join(&janus.url(), 1234, "ChromeA");
    std::thread::sleep(Duration::from_secs(3));
    let b = BrowserPeer::join(&janus.url(), 1234, "ChromeB");
    let decoding = |p: &BrowserPeer| {
        p.report()
            .is_some_and(|r| r["remotes"]["video"]["framesDecoded"].as_u64().unwrap_or(0) > 0)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(decoding(&a) && decoding(&b)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let joined = (decoding(&a) && decoding(&b)).then(|| started.elapsed().as_secs_f64() - 3.0);
    let (a0, b0) = (BrowserCounts::of(&a), BrowserCounts::of(&b));
    let (mut last_a, mut last_b) = (a0, b0);
    let mut per_second = Vec::new();
    for _ in 0..CALL_SECONDS {
        std::thread::sleep(Duration::from_secs(1));
        let (now_a, now_b) = (BrowserCounts::of(&a), BrowserCounts::of(&b));
        per_second.push((
            now_a.decoded - last_a.decoded,
            now_b.decoded - last_b.decoded,
        ));
        (last_a, last_b) = (now_a, now_b);
    }
    eprintln!("   ChromeA, ChromeB decoded each second: {per_second:?}");
    let (a1, b1) = (BrowserCounts::of(&a), BrowserCounts::of(&b));
    for (name, p) in [("ChromeA", &a), ("ChromeB", &b)] {
        why_frames_were_missing(name, p);
    }
    for (who, receiver, sender) in [
        ("Chromium ← Chromium (B→A)", a1.since(a0), b1.since(b0)),
        ("Chromium ← Chromium (A→B)", b1.since(b0), a1.since(a0)),
    ] {
        rows.push(receiver.row(who, condition, joined, sender.encoded));
    }
}

/// What a talkline client's stats counted of one remote, or how much of it
/// over a span of the call.
#[derive(Debug, Default, Clone, Copy)]
struct TalklineCounts {
    /// Frames it sent of its own video, and decoded of the remote's.
    sent: f64,
    decoded: f64,
    freezes: f64,
    /// 10 ms audio frames played, and 20 ms packets rebuilt or concealed.
    audio_frames: f64,
    audio_repaired: f64,
}

impl TalklineCounts {
    fn of(client: &mut Client, remote_name: &str) -> Self {
        let s = client.stats_now();
        let n = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
        let known = s["remote"]
            .as_array()
            .is_some_and(|l| l.iter().any(|r| r["display"] == remote_name));
        let r = if known {
            remote(&s, remote_name).clone()
        } else {
            serde_json::Value::Null
        };
        Self {
            sent: n(&s["video_frames_sent"]),
            decoded: n(&r["video_frames_decoded"]),
            freezes: n(&r["video_freezes"]),
            audio_frames: n(&r["audio_frames_decoded"]),
            audio_repaired: n(&r["audio_packets_rebuilt"]) + n(&r["audio_packets_concealed"]),
        }
    }

    fn since(self, before: Self) -> Self {
        Self {
            sent: self.sent - before.sent,
            decoded: self.decoded - before.decoded,
            freezes: self.freezes - before.freezes,
            audio_frames: self.audio_frames - before.audio_frames,
            audio_repaired: self.audio_repaired - before.audio_repaired,
        }
    }

    /// The row of a talkline receiver that counted this over the call, of
    /// `sent` frames (a browser's; its test tone has no pitch to check).
    fn row(self, who: &'static str, condition: &str, joined_s: Option<f64>, sent: f64) -> Row {
        let counted = Counted {
            decoded: self.decoded,
            sent,
            freezes: self.freezes,
            // 10 ms frames; 20 ms packets, two frames each.
            audio_played: self.audio_frames / (CALL_SECONDS as f64 * 100.0),
            audio_repaired: self.audio_repaired * 2.0 / self.audio_frames,
        };
        counted.row(who, condition, joined_s)
    }
}

/// What one receiver counted of one sender over the call, either kind.
struct Counted {
    decoded: f64,
    sent: f64,
    freezes: f64,
    /// Share of the call's audio played, and of it rebuilt or concealed
    /// (NaN when nothing played).
    audio_played: f64,
    audio_repaired: f64,
}

impl Counted {
    /// Counted from when both saw each other, so the two audio shares
    /// (of the call, since it began) are the same.
    fn row(self, who: &'static str, condition: &str, joined_s: Option<f64>) -> Row {
        let played = self.audio_played.min(1.0);
        Row {
            who,
            condition: condition.to_string(),
            joined_s,
            shown: (self.sent > 0.0).then(|| (self.decoded / self.sent).min(1.0)),
            fps: Some(self.decoded / CALL_SECONDS as f64),
            freezes: Some(self.freezes as u64),
            latency: None,
            audio: (played > 0.0).then_some((played, played, self.audio_repaired, None)),
        }
    }
}

/// What a Chromium peer's page counted (tests/e2e/browser/peer.html), or
/// how much of it over a span of the call.
#[derive(Debug, Default, Clone, Copy)]
struct BrowserCounts {
    /// Frames it decoded of the others' video, and encoded of its own.
    decoded: f64,
    encoded: f64,
    /// Gaps over 500 ms between the remote frames it presented.
    freezes: f64,
    /// Audio samples it played (48 kHz), and of them concealed.
    samples: f64,
    concealed: f64,
}

impl BrowserCounts {
    fn of(p: &BrowserPeer) -> Self {
        let r = p.report().unwrap_or_default();
        let n = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
        Self {
            decoded: n(&r["remotes"]["video"]["framesDecoded"]),
            encoded: n(&r["framesEncoded"]),
            freezes: n(&r["presented"]["freezes"]),
            samples: n(&r["remotes"]["audio"]["totalSamplesReceived"]),
            concealed: n(&r["remotes"]["audio"]["concealedSamples"]),
        }
    }

    fn since(self, before: Self) -> Self {
        Self {
            decoded: self.decoded - before.decoded,
            encoded: self.encoded - before.encoded,
            freezes: self.freezes - before.freezes,
            samples: self.samples - before.samples,
            concealed: self.concealed - before.concealed,
        }
    }

    /// The row of a Chromium receiver that counted this over the call,
    /// of `sent` frames.
    fn row(self, who: &'static str, condition: &str, joined_s: Option<f64>, sent: f64) -> Row {
        let counted = Counted {
            decoded: self.decoded,
            sent,
            freezes: self.freezes,
            audio_played: self.samples / (CALL_SECONDS as f64 * 48_000.0),
            audio_repaired: self.concealed / self.samples,
        };
        counted.row(who, condition, joined_s)
    }
}

/// What a Chromium peer's receiver did with the video (to stderr): frames
/// received, decoded, dropped; keyframes; packets lost; NACKs and PLIs it
/// sent. Counted over the whole call.
fn why_frames_were_missing(name: &str, p: &BrowserPeer) {
    let r = p.report().unwrap_or_default();
    eprintln!(
        "   {name} received video: {}; subscribed to {} (connection {}, audio offered {}), \
         presented {}, errors {}",
        r["remotes"]["video"],
        r["subscribed"],
        r["subscriberConnection"],
        r["subscriberAudioFormats"],
        r["presented"],
        r["errors"]
    );
}

/// One talkline client and one Chromium peer: what each decoded of the
/// other's frames over the same 20 s (the "mixed calls": Chromium
/// should show at least as many of talkline's frames as of another
/// Chromium's).
fn mixed_pair(janus: &Janus, delay: &UdpDelay, condition: &str, rows: &mut Vec<Row>) {
    let env = delay.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let long = (CALL_SECONDS + 40).to_string();
    let a_args = talkline_args(&["--mic", "test:500", "--duration", &long]);
    let mut a = Client::join_with_env(&janus.link(1234), "A", &as_strs(&a_args), &env);
    std::thread::sleep(Duration::from_secs(3));
    let started = Instant::now();
    let b = BrowserPeer::join(&janus.url(), 1234, "ChromeB");
    // As for two Chromium peers: counted from when both see each other.
    let deadline = Instant::now() + Duration::from_secs(30);
    let both = |a: &mut Client| {
        BrowserCounts::of(&b).decoded > 0.0 && TalklineCounts::of(a, "ChromeB").decoded > 0.0
    };
    while !both(&mut a) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let joined = both(&mut a).then(|| started.elapsed().as_secs_f64());
    let (a0, b0) = (TalklineCounts::of(&mut a, "ChromeB"), BrowserCounts::of(&b));
    let mut last = b0;
    let mut per_second = Vec::new();
    for _ in 0..CALL_SECONDS {
        std::thread::sleep(Duration::from_secs(1));
        let now = BrowserCounts::of(&b);
        per_second.push(now.decoded - last.decoded);
        last = now;
    }
    eprintln!("   ChromeB decoded of talkline's, each second: {per_second:?}");
    let (a1, b1) = (TalklineCounts::of(&mut a, "ChromeB"), BrowserCounts::of(&b));
    why_frames_were_missing("ChromeB", &b);
    let (talkline, chromium) = (a1.since(a0), b1.since(b0));
    rows.push(chromium.row("Chromium ← talkline", condition, joined, talkline.sent));
    rows.push(talkline.row("talkline ← Chromium", condition, joined, chromium.encoded));
    drop(b);
    let _ = a.stop();
    let _ = std::fs::write(a.stats_path.with_extension("log"), a.errors());
}

fn main() {
    if !netns::inside() {
        let status = netns::rerun_inside(std::env::args().skip(1));
        std::process::exit(status.code().unwrap_or(1));
    }
    let losses: Vec<u32> = std::env::var("TALKLINE_BENCH_LOSS")
        .unwrap_or_else(|_| "0,5,10,20".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let caps: Vec<u32> = std::env::var("TALKLINE_BENCH_CAP")
        .unwrap_or_else(|_| "512".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let delays: Vec<(u32, u32)> = std::env::var("TALKLINE_BENCH_DELAY")
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| {
            let (ms, jitter) = s.trim().split_once(':')?;
            Some((ms.parse().ok()?, jitter.parse().ok()?))
        })
        .collect();
    let pairs: Vec<Pair> = std::env::var("TALKLINE_BENCH_PAIRS")
        .unwrap_or_else(|_| "talkline,chromium,mixed".into())
        .split(',')
        .filter_map(|s| match s.trim() {
            "talkline" => Some(Pair::Talkline),
            "chromium" => Some(Pair::Chromium),
            "mixed" => Some(Pair::Mixed),
            _ => None,
        })
        .collect();
    let conditions = losses
        .into_iter()
        .map(Impairment::Loss)
        .chain(caps.iter().copied().map(Impairment::Cap))
        .chain(delays.into_iter().map(|(ms, j)| Impairment::Delay(ms, j)));
    let usual = UdpDelay::new(DELAY_MS, JITTER_MS);
    let mut rows = Vec::new();
    for impairment in conditions {
        let condition = impairment.label();
        let delay = match impairment {
            Impairment::Delay(ms, jitter) => UdpDelay::new(ms, jitter),
            _ => usual.clone(),
        };
        let delay = &delay;
        eprintln!("== {condition} on each hop");
        for pair in pairs.iter().copied() {
            UdpImpairment::None.apply();
            let janus = Janus::start_with_env(&delay.janus_env());
            impairment.udp().apply();
            if pair == Pair::Talkline {
                talkline_pair(&janus, delay, &condition, &mut rows);
            } else {
                // Chromium's processes inherit the delay shim from here.
                // SAFETY: set before Chromium starts; this thread alone
                // reads the environment meanwhile.
                let env = delay.env();
                for (k, v) in &env {
                    unsafe { std::env::set_var(k, v) };
                }
                if pair == Pair::Chromium {
                    chromium_pair(&janus, &condition, &mut rows);
                } else {
                    mixed_pair(&janus, delay, &condition, &mut rows);
                }
                for (k, _) in &env {
                    unsafe { std::env::remove_var(k) };
                }
            }
            UdpImpairment::None.apply();
        }
    }
    let mut recoveries = Vec::new();
    for &cap in &caps {
        eprintln!("== {cap} kbit/s cap, then lifted");
        let janus = Janus::start_with_env(&usual.janus_env());
        recoveries.push((cap, recovery_after_cap(&janus, &usual, cap)));
        UdpImpairment::None.apply();
    }
    println!(
        "\n### Calls with {DELAY_MS} ± {JITTER_MS} ms delay (unless the row says otherwise) and loss or a rate cap on each hop ({CALL_SECONDS} s)\n"
    );
    println!(
        "| each hop | direction | first frame after joining (s) | frames shown | fps | freezes > 500 ms | latency p50 / p95 (ms) | audio played: of the call / since it began (of it rebuilt or concealed) | pitch (of sent) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.condition,
            r.who,
            fmt(r.joined_s, |s| format!("{s:.1}")),
            fmt(r.shown, |v| format!("{:.1}%", v * 100.0)),
            fmt(r.fps, |v| format!("{v:.1}")),
            fmt(r.freezes, |n| n.to_string()),
            fmt(r.latency, |(a, b)| format!("{a} / {b}")),
            fmt(r.audio, |(p, since, c, _)| format!(
                "{:.1}% / {:.1}% ({:.1}%)",
                p * 100.0,
                since * 100.0,
                c * 100.0
            )),
            fmt(r.audio.and_then(|(_, _, _, h)| h), |h| format!("{h:.3}")),
        );
    }
    if !recoveries.is_empty() {
        println!(
            "\n| cap (15 s), then lifted | talkline: back at 1200 kbit/s, 30 fps and 640x360 after (s) |"
        );
        println!("|---:|---:|");
        for (cap, back) in recoveries {
            println!("| {cap} kbit/s | {} |", fmt(back, |s| format!("{s:.1}")));
        }
    }
}
