//! The effects crate must not be able to talk to the network: no crate in
//! its normal dependency closure may be a network crate.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

const NETWORK_CRATES: &[&str] = &[
    "reqwest",
    "hyper",
    "hyper-util",
    "tokio",
    "mio",
    "socket2",
    "tungstenite",
    "tokio-tungstenite",
    "rustls",
    "openssl",
    "openssl-sys",
    "native-tls",
    "webrtc",
    "rtc",
    "url",
    "h2",
    "h3",
    "ureq",
    "curl",
    "curl-sys",
    "quinn",
    "async-std",
    "surf",
    "isahc",
    "attohttpc",
    "tonic",
    "libp2p",
    "trust-dns-resolver",
    "hickory-resolver",
    "hyper-tls",
    "hyper-rustls",
    "tokio-rustls",
    "tokio-native-tls",
    "webpki-roots",
    "ring",
];

#[test]
fn normal_dependency_closure_has_no_network_crates() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        // The manifest of the checkout being tested, read when run (the
        // build cache is shared between checkouts in different folders).
        .arg(
            std::path::PathBuf::from(
                std::env::var_os("CARGO_MANIFEST_DIR")
                    .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
            )
            .join("Cargo.toml"),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: HashMap<&str, &serde_json::Value> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let root = names
        .iter()
        .find(|(_, n)| **n == "talkline-effects")
        .map(|(id, _)| *id)
        .unwrap();

    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes[id]["deps"].as_array().unwrap() {
            // Only "normal" edges (kind null): what ships in the binary.
            let normal = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null());
            if normal {
                stack.push(dep["pkg"].as_str().unwrap());
            }
        }
    }
    let closure: BTreeSet<&str> = seen.iter().map(|id| names[id]).collect();
    eprintln!("normal dependency closure: {closure:?}");
    assert!(
        closure.contains("thiserror"),
        "the walk found the known dependency"
    );
    let bad: Vec<_> = closure
        .iter()
        .filter(|n| NETWORK_CRATES.contains(n))
        .collect();
    assert!(
        bad.is_empty(),
        "network crates in talkline-effects' dependency tree: {bad:?}"
    );
}
