//! A real TURN server (coturn) on 127.0.0.1, for calls through a relay.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{free_port, scratch_dir};

pub const TURN_USER: &str = "kim";
pub const TURN_PASSWORD: &str = "relay-secret";

pub struct TurnServer {
    pub port: u16,
    dir: PathBuf,
    child: Child,
}

impl TurnServer {
    pub fn start() -> Self {
        let port = free_port();
        let dir = scratch_dir("coturn");
        let log = dir.join("turn.log");
        let child = Command::new("turnserver")
            // Not the system's /etc/turnserver.conf (Debian's logs to syslog).
            .args(["-c", "/dev/null"])
            .args(["--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1"])
            .args(["--listening-port", &port.to_string()])
            .args(["--min-port", "40000", "--max-port", "40999"])
            .arg("--lt-cred-mech")
            .args(["--user", &format!("{TURN_USER}:{TURN_PASSWORD}")])
            .args(["--realm", "talkline.test"])
            // Janus is on loopback too, which coturn refuses to relay to
            // unless told.
            .arg("--allow-loopback-peers")
            .args(["--no-tls", "--no-dtls", "--no-cli", "--no-tcp-relay"])
            .args(["--simple-log", "--verbose"])
            .args(["--log-file", &log.display().to_string()])
            .args(["--pidfile", &dir.join("turn.pid").display().to_string()])
            .args(["--userdb", &dir.join("turn.db").display().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run turnserver (coturn; scripts/setup-debian.sh installs it)");
        let server = Self { port, dir, child };
        // Ready once it logs that it listens on the UDP port.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server.log().contains("UDP listener opened on") {
            assert!(
                Instant::now() < deadline,
                "coturn did not start: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn url(&self) -> String {
        format!("turn:127.0.0.1:{}", self.port)
    }

    /// Everything coturn logged (with --simple-log, one file).
    pub fn log(&self) -> String {
        std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with("turn"))
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }
}

impl Drop for TurnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
