//! A private network namespace (only `lo`) for tests and benchmarks that
//! impair the network: the process runs itself again inside `unshare -n`.

use std::ffi::OsString;
use std::process::{Command, ExitStatus};

const INSIDE: &str = "TALKLINE_IN_PRIVATE_NETNS";

/// Whether this process is the one inside the namespace.
pub fn inside() -> bool {
    std::env::var_os(INSIDE).is_some()
}

/// Runs this executable again, with `args`, inside a new network namespace
/// whose loopback is up.
pub fn rerun_inside(args: impl IntoIterator<Item = impl Into<OsString>>) -> ExitStatus {
    let exe = std::env::current_exe().expect("own executable");
    Command::new("unshare")
        .args([
            "-n",
            "--",
            "sh",
            "-c",
            "ip link set lo up && exec \"$0\" \"$@\"",
        ])
        .arg(exe)
        .args(args.into_iter().map(Into::into))
        .env(INSIDE, "1")
        .status()
        .expect("unshare (util-linux) and ip (iproute2)")
}

pub fn nft(script: &str) {
    let status = Command::new("nft")
        .arg(script)
        .status()
        .expect("nft (package nftables)");
    assert!(status.success(), "nft {script}");
}

/// What the namespace's only interface does to UDP (the media path), in
/// the nftables table `talkline_impair`; signaling over TCP is untouched.
#[derive(Clone, Copy, Debug)]
pub enum UdpImpairment {
    /// Nothing: the table is removed.
    None,
    /// Every datagram dropped (a firewall that blocks UDP).
    Blocked,
    /// Every datagram to or from the servers' UDP ports dropped, but those
    /// to or from `relay`: a firewall between the device and its servers
    /// that blocks UDP, with a TURN server's relay address beyond it.
    /// (Datagrams within the device, between its own sockets, pass.)
    ServersBlocked {
        janus_rtp: (u16, u16),
        turn: u16,
        relay: std::net::Ipv4Addr,
    },
    /// This percentage of datagrams dropped at random.
    Loss(u32),
    /// What a flow (one 5-tuple, each way) sends over this rate is dropped.
    CapKbps(u32),
}

const TABLE: &str = "inet talkline_impair";

impl UdpImpairment {
    /// Replaces whatever impairment was there.
    pub fn apply(self) {
        let _ = Command::new("nft")
            .arg(format!("delete table {TABLE}"))
            .stderr(std::process::Stdio::null())
            .status();
        let rule = match self {
            Self::None | Self::Loss(0) => return,
            Self::Blocked => "drop".to_string(),
            Self::ServersBlocked {
                janus_rtp: (first, last),
                turn,
                relay,
            } => {
                let ports = format!("{{ {first}-{last}, {turn} }}");
                // Both ways, in one rule per direction (below, the second).
                format!(
                    "ip saddr != {relay} ip daddr != {relay} udp dport {ports} drop ; \
                     add rule {TABLE} input meta l4proto udp ip saddr != {relay} \
                     ip daddr != {relay} udp sport {ports} drop"
                )
            }
            Self::Loss(percent) => format!("numgen random mod 100 < {percent} drop"),
            Self::CapKbps(kbps) => format!(
                "update @flows {{ ip saddr . udp sport . ip daddr . udp dport limit rate \
                 over {} kbytes/second }} drop",
                kbps / 8
            ),
        };
        nft(&format!("add table {TABLE}"));
        nft(&format!(
            "add set {TABLE} flows {{ type ipv4_addr . inet_service . ipv4_addr . \
             inet_service ; flags dynamic ; timeout 10s ; }}"
        ));
        nft(&format!(
            "add chain {TABLE} input {{ type filter hook input priority 0 ; }}"
        ));
        nft(&format!("add rule {TABLE} input meta l4proto udp {rule}"));
    }
}
