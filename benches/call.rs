//! Benchmarks of a call, each side by side with an anchor in the same run.
//!
//!   cargo bench -p talkline-cli --bench call
//!
//! 1. A two-party call at 640x360@30 through a local Janus: one `talkline`
//!    client and one headless Chromium in the same room, 30 s. CPU (user+sys
//!    over wall time) and peak RSS of each (for Chromium, summed over all its
//!    processes), sampled from /proc.
//! 2. Two `talkline` clients: join → first remote frame, and glass-to-glass
//!    latency p50/p95 read from the test pattern's stamps.
//! 3. VP8 encode and decode time per 1280x720 frame, and Opus per 20 ms.
//! 4. Publishing 1280x720@30 as one layer and as three (simulcast): CPU
//!    and memory of a `talkline` publisher and of a headless Chromium one,
//!    each alone in the room, one after the other.
//!
//! Results print as a Markdown table to paste into BENCHMARKS.md.

#[path = "../tests/e2e/support/mod.rs"]
mod support;
#[path = "../tests/e2e/support/usage.rs"]
mod usage;

use std::time::{Duration, Instant};

use support::browser::BrowserPeer;
use support::{Client, Janus, remote};
use talkline_media::VideoFrame;
use talkline_media::opus_codec::{OPUS_MAX_PACKET, OpusDecoder, OpusEncoder};
use talkline_media::pattern::TestPattern;
use talkline_media::tone::ToneSource;
use talkline_media::vp8::{Vp8Config, Vp8Decoder, Vp8Encoder};
use usage::measure;

const CALL_SECONDS: u64 = 30;

fn call_with_chromium(janus: &Janus) {
    let chrome = BrowserPeer::join(&janus.url(), 1234, "Chrome");
    chrome.wait_for("joined and published", Duration::from_secs(30), |r| {
        r["published"] == true
    });
    let client = Client::join(
        &janus.link(1234),
        "Bench",
        &[
            "--camera",
            "test:640x360@30",
            "--duration",
            &(CALL_SECONDS + 8).to_string(),
        ],
    );
    client.wait_for("+ Chrome joined", Duration::from_secs(10));
    chrome.wait_for("decoding the client", Duration::from_secs(20), |r| {
        r["remotes"]["video"]["framesDecoded"].as_u64().unwrap_or(0) > 30
    });
    // Warm-up is over; measure both at once.
    let chrome_pid = chrome.pid();
    let chrome_measure = std::thread::spawn(move || measure(chrome_pid, CALL_SECONDS));
    let (cli_cpu, cli_rss) = measure(client.pid(), CALL_SECONDS);
    let (chrome_cpu, chrome_rss) = chrome_measure.join().expect("chrome sampler");
    let r = chrome.report().unwrap_or_default();
    println!("\n### Two-party call at 640x360@30 through Janus ({CALL_SECONDS} s)\n");
    println!("| participant | CPU (% of one core) | peak memory, PSS (MiB) |");
    println!("|---|---:|---:|");
    println!("| talkline (CLI, test pattern + tone) | {cli_cpu:.1} | {cli_rss:.1} |");
    println!("| headless Chromium (fake devices, janus.js) | {chrome_cpu:.1} | {chrome_rss:.1} |");
    println!(
        "\nChromium decoded {} frames from talkline during the call.",
        r["remotes"]["video"]["framesDecoded"]
    );
}

fn call_between_clients(janus: &Janus) {
    let link = janus.link(1234);
    let mut a = Client::join(
        &link,
        "A",
        &["--camera", "test:640x360@30", "--duration", "40"],
    );
    a.wait_for("joined meeting", Duration::from_secs(10));
    let mut b = Client::join(
        &link,
        "B",
        &["--camera", "test:640x360@30", "--duration", "20"],
    );
    let _ = b.wait(Duration::from_secs(40));
    // The anchor: a browser joining the same room where A publishes.
    let chrome = BrowserPeer::join(&janus.url(), 1234, "Late Chrome");
    let report = chrome.wait_for("a first frame", Duration::from_secs(30), |r| {
        r["firstFrameMs"].is_u64()
    });
    drop(chrome);
    a.send_line("leave");
    let _ = a.wait(Duration::from_secs(40));
    let (sa, sb) = (a.stats(), b.stats());
    println!("\n### Joining a room where someone publishes 640x360@30\n");
    println!("| joiner | join → first remote frame (ms) |");
    println!("|---|---:|");
    println!(
        "| talkline (process start → first decoded frame) | {} |",
        sb["first_remote_frame_ms"]
    );
    println!(
        "| headless Chromium (page script start → first decoded frame) | {} |",
        report["firstFrameMs"]
    );
    println!(
        "\n### Glass-to-glass latency between two talkline clients (20 s, read from the pattern stamps)\n"
    );
    println!("| direction | latency p50 (ms) | latency p95 (ms) | frames received |");
    println!("|---|---:|---:|---:|");
    for (name, s, from) in [("A → B", &sb, "A"), ("B → A", &sa, "B")] {
        let r = remote(s, from);
        println!(
            "| {name} | {} | {} | {:.1}% |",
            r["latency_ms_p50"],
            r["latency_ms_p95"],
            r["pattern_received_ratio"].as_f64().unwrap_or(0.0) * 100.0
        );
    }
}

const PUBLISH_SECONDS: u64 = 20;

/// One publisher alone in the room, measured once it sends: CPU (% of one
/// core), PSS (MiB), and the widths it sends.
fn publishing(janus: &Janus, chromium: bool, simulcast: bool) -> (f64, f64, String) {
    if chromium {
        let chrome =
            BrowserPeer::join_publishing(&janus.url(), 1234, "Chrome", (1280, 720), simulcast);
        let layers = if simulcast { 3 } else { 1 };
        chrome.wait_for("sending", Duration::from_secs(30), |r| {
            r["sentWidths"]
                .as_array()
                .is_some_and(|w| w.len() == layers)
        });
        // Chromium's encoder settles its rate in the first seconds.
        std::thread::sleep(Duration::from_secs(5));
        let (cpu, pss) = measure(chrome.pid(), PUBLISH_SECONDS);
        let r = chrome.report().unwrap_or_default();
        let widths = format!("{} wide at {} fps", r["sentWidths"], r["sentFps"]);
        (cpu, pss, widths)
    } else {
        let mut args = vec![
            "--camera",
            "test:1280x720@30",
            "--publish-only",
            "--duration",
            "40",
        ];
        if simulcast {
            args.push("--simulcast");
        }
        let mut client = Client::join(&janus.link(1234), "Bench", &args);
        client.wait_for("joined meeting", Duration::from_secs(10));
        std::thread::sleep(Duration::from_secs(5));
        let (cpu, pss) = measure(client.pid(), PUBLISH_SECONDS);
        let sent = client.stats_now();
        let widths = format!(
            "{} layer(s), largest {} at {} fps",
            sent["send"]["video_layers"], sent["send"]["video_width"], sent["send"]["video_fps"]
        );
        client.stop();
        (cpu, pss, widths)
    }
}

fn publishing_simulcast(janus: &Janus) {
    println!(
        "\n### Publishing 1280x720@30: one layer against simulcast ({PUBLISH_SECONDS} s each)\n"
    );
    println!(
        "| publisher | layers | CPU (% of one core) | PSS (MiB) | sent | CPU, simulcast / one |"
    );
    println!("|---|---|---:|---:|---|---:|");
    for (name, chromium) in [
        ("talkline (CLI, test pattern + tone)", false),
        ("headless Chromium (fake devices, janus.js)", true),
    ] {
        let (one_cpu, one_pss, one_sent) = publishing(janus, chromium, false);
        let (three_cpu, three_pss, three_sent) = publishing(janus, chromium, true);
        println!("| {name} | one | {one_cpu:.1} | {one_pss:.1} | {one_sent} | |");
        println!(
            "| {name} | three | {three_cpu:.1} | {three_pss:.1} | {three_sent} | {:.2} |",
            three_cpu / one_cpu.max(0.1)
        );
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn codecs() {
    let (w, h, n) = (1280, 720, 300);
    let mut pattern = TestPattern::new(w, h).expect("pattern");
    let frames: Vec<VideoFrame> = (0..n)
        .map(|i| {
            let mut f = VideoFrame::new(w, h).expect("frame");
            pattern.draw_next(&mut f, i as u64 * 33_333).expect("draw");
            f
        })
        .collect();
    let mut enc = Vp8Encoder::new(Vp8Config {
        width: w,
        height: h,
        frame_rate: 30,
        bitrate_kbps: 2500,
        temporal_layers: 2,
    })
    .expect("encoder");
    let mut dec = Vp8Decoder::new().expect("decoder");
    let mut packet = Vec::new();
    let mut out = VideoFrame::new(2, 2).expect("frame");
    let (mut enc_ms, mut dec_ms) = (Vec::new(), Vec::new());
    for f in &frames {
        let t = Instant::now();
        enc.encode(f, false, &mut packet).expect("encode");
        enc_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        dec.decode(&packet, &mut out).expect("decode");
        dec_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let mut opus_enc = OpusEncoder::new(32_000).expect("opus");
    let mut opus_dec = OpusDecoder::new().expect("opus");
    let mut tone = ToneSource::new(440.0).expect("tone");
    let mut frame = talkline_media::AudioFrame::default();
    let mut buf = [0u8; OPUS_MAX_PACKET];
    let (mut oe, mut od) = (Vec::new(), Vec::new());
    for _ in 0..1000 {
        tone.read(&mut frame);
        let t = Instant::now();
        let n = enc_push(&mut opus_enc, &frame, &mut buf);
        oe.push(t.elapsed().as_secs_f64() * 1e3);
        if let Some(n) = n {
            let t = Instant::now();
            opus_dec.decode(&buf[..n]).expect("decode");
            od.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    println!("\n### Codecs on one core\n");
    println!("| operation | mean (ms) | p50 (ms) | p95 (ms) |");
    println!("|---|---:|---:|---:|");
    for (name, mut v) in [
        ("VP8 encode, 1280x720, 2.5 Mbit/s", enc_ms),
        ("VP8 decode, 1280x720", dec_ms),
        ("Opus encode, 10 ms pushed (20 ms packets)", oe),
        ("Opus decode, 20 ms", od),
    ] {
        v.sort_by(f64::total_cmp);
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        println!(
            "| {name} | {mean:.3} | {:.3} | {:.3} |",
            percentile(&v, 0.5),
            percentile(&v, 0.95)
        );
    }
}

fn enc_push(
    enc: &mut OpusEncoder,
    frame: &talkline_media::AudioFrame,
    buf: &mut [u8],
) -> Option<usize> {
    enc.push(frame, buf).expect("encode")
}

fn main() {
    // `cargo bench` passes --bench; any other argument selects nothing else.
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    println!(
        "## TalkLine call benchmarks\n\nMachine: {cpu}, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let janus = Janus::start();
    call_with_chromium(&janus);
    call_between_clients(&janus);
    publishing_simulcast(&janus);
    codecs();
}
