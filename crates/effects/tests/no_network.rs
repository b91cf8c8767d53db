//! The effects crate must not be able to talk to the network: no crate in
//! its normal dependency closure may be a network crate.

#[path = "../../../tests/support/dependency_closure.rs"]
mod dependency_closure;

use std::collections::BTreeSet;

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
    let manifest = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("Cargo.toml");
    let closure: BTreeSet<String> = dependency_closure::shipped_with(&manifest, "talkline-effects")
        .into_iter()
        .map(|c| c.name)
        .collect();
    eprintln!("normal dependency closure: {closure:?}");
    assert!(
        closure.contains("thiserror"),
        "the walk found the known dependency"
    );
    let bad: Vec<_> = closure
        .iter()
        .filter(|n| NETWORK_CRATES.contains(&n.as_str()))
        .collect();
    assert!(
        bad.is_empty(),
        "network crates in talkline-effects' dependency tree: {bad:?}"
    );
}
