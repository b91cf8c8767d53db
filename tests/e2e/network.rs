//! Network failures, inside a private network namespace this test makes
//! for itself (only `lo`): nftables drops UDP (the media path) while the
//! WebSocket (TCP) stays up.

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use support::netns::{self, nft};
use support::{Client, Janus, UdpDelay, assert_hears, assert_recovered, remote};

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
    nft("add table inet talkline_test");
    nft("add chain inet talkline_test input { type filter hook input priority 0 ; }");
    nft("add rule inet talkline_test input meta l4proto udp drop");
    let cut = Instant::now();
    kim.wait_for("reconnecting", Duration::from_secs(15));
    lee.wait_for("reconnecting", Duration::from_secs(15));
    let outage: std::collections::HashMap<String, usize> = [&kim, &lee]
        .iter()
        .map(|c| (c.name.clone(), c.output().len()))
        .collect();
    std::thread::sleep(Duration::from_secs(12).saturating_sub(cut.elapsed()));
    nft("delete table inet talkline_test");

    // Both come back; at least 8 s of video flows after the outage.
    for c in [&kim, &lee] {
        c.wait_for_since(
            "connected",
            outage[c.name.as_str()],
            Duration::from_secs(20),
        );
    }
    assert!(
        lee.wait(Duration::from_secs(40)).success(),
        "lee: {}",
        lee.errors()
    );
    assert!(
        kim.wait(Duration::from_secs(40)).success(),
        "kim: {}",
        kim.errors()
    );
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
    let delay = UdpDelay::new(10, 2);
    // One more call when the first fails, said loudly: now and then (about
    // one run in ten here) a side gets no video for its first seconds
    // under this loss, a start-up problem still open in issue 23. The
    // frame-dropping receiver before the jitter buffer fails both.
    if let Err(first) = lossy_call(&delay) {
        eprintln!("FIRST LOSSY CALL FAILED, calling again: {first}");
        if let Err(second) = lossy_call(&delay) {
            panic!("{second}");
        }
    }
}

fn lossy_call(delay: &UdpDelay) -> Result<(), String> {
    let janus = Janus::start_with_env(&delay.janus_env());
    let _ = std::process::Command::new("nft")
        .arg("delete table inet talkline_test")
        .stderr(std::process::Stdio::null())
        .status();
    nft("add table inet talkline_test");
    nft("add chain inet talkline_test input { type filter hook input priority 0 ; }");
    nft("add rule inet talkline_test input meta l4proto udp numgen random mod 100 < 5 drop");
    let link = janus.link(1234);
    let env = delay.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut kim = Client::join_with_env(
        &link,
        "Kim",
        &["--mic", "test:500", "--duration", "24"],
        &env,
    );
    kim.wait_for("joined meeting", Duration::from_secs(15));
    let mut lee = Client::join_with_env(
        &link,
        "Lee",
        &["--mic", "test:900", "--duration", "20"],
        &env,
    );
    for c in [&mut lee, &mut kim] {
        let status = c.wait(Duration::from_secs(40));
        assert!(status.success(), "{}: {}", c.name, c.errors());
    }
    for (client, other, hz) in [(&kim, "Lee", 900.0), (&lee, "Kim", 500.0)] {
        let s = client.stats();
        let r = remote(&s, other);
        let shown = r["pattern_received_ratio"].as_f64().unwrap_or(0.0);
        let frames = r["pattern_frames"].as_u64().unwrap_or(0);
        // Measured 80-97% on a 2-core VM (BENCHMARKS.md). The bar is
        // lower: now and then a DTLS handshake stalls under this loss and
        // the call rejoins after 10 s, which costs half of a 20 s call.
        // Dropping every frame with a hole showed 4-6% here.
        let recovered = r["video_packets_recovered"].as_u64().unwrap_or(0);
        // The delay is there (loopback alone measures about 1 ms). Below
        // the 20 ms round trip: a packet Janus had to fetch from the sender
        // may come before our own request's answer would have.
        let rtt = r["rtt_ms"].as_u64().unwrap_or(0);
        // The recovery is what made it: packets were asked for and came.
        if shown < 0.55 || frames < 150 || recovered <= 20 || rtt < 5 {
            return Err(format!(
                "{} saw {frames} frames, {:.1}% of {other}'s: {r:#}\n{}",
                client.name,
                shown * 100.0,
                client.errors()
            ));
        }
        assert_hears(&s, other, hz);
    }
    Ok(())
}
