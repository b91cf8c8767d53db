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
