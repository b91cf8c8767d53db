//! A real TURN server (coturn) on 127.0.0.1, for calls through a relay.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{free_port, scratch_dir};

pub const TURN_USER: &str = "kim";
pub const TURN_PASSWORD: &str = "relay-secret";

pub struct TurnServer {
    pub port: u16,
    /// Where it takes TURN over TLS, if it does.
    pub tls_port: Option<u16>,
    dir: PathBuf,
    child: Child,
}

/// A certificate and key (PEM files) for TURN over TLS.
pub struct TlsFiles<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
}

impl TurnServer {
    /// TURN over UDP (and TCP) on `port`, relaying from 127.0.0.1.
    pub fn start() -> Self {
        Self::launch("127.0.0.1", None)
    }

    /// Relaying from `relay_ip` (so a test can let the relayed UDP through
    /// a firewall that blocks the rest).
    pub fn start_relaying_from(relay_ip: &str) -> Self {
        Self::launch(relay_ip, None)
    }

    /// Also TURN over TLS on `tls_port`, and relaying from `relay_ip` (so a
    /// test can let the relayed UDP through a firewall that blocks the
    /// rest).
    pub fn start_with_tls(relay_ip: &str, tls: TlsFiles) -> Self {
        Self::launch(relay_ip, Some(tls))
    }

    fn launch(relay_ip: &str, tls: Option<TlsFiles>) -> Self {
        let port = free_port();
        let tls_port = tls.as_ref().map(|_| free_port());
        let dir = scratch_dir("coturn");
        let log = dir.join("turn.log");
        let mut command = Command::new("turnserver");
        match (&tls, tls_port) {
            (Some(files), Some(tls_port)) => command
                .args(["--tls-listening-port", &tls_port.to_string()])
                .args(["--cert", &files.cert.display().to_string()])
                .args(["--pkey", &files.key.display().to_string()]),
            _ => command.arg("--no-tls"),
        };
        let child = command
            // Not the system's /etc/turnserver.conf (Debian's logs to syslog).
            .args(["-c", "/dev/null"])
            .args(["--listening-ip", "127.0.0.1", "--relay-ip", relay_ip])
            .args(["--listening-port", &port.to_string()])
            .args(["--min-port", "40000", "--max-port", "40999"])
            .arg("--lt-cred-mech")
            .args(["--user", &format!("{TURN_USER}:{TURN_PASSWORD}")])
            .args(["--realm", "talkline.test"])
            // Janus is on loopback too, which coturn refuses to relay to
            // unless told.
            .arg("--allow-loopback-peers")
            .args(["--no-dtls", "--no-cli", "--no-tcp-relay"])
            .args(["--simple-log", "--verbose"])
            .args(["--log-file", &log.display().to_string()])
            .args(["--pidfile", &dir.join("turn.pid").display().to_string()])
            .args(["--userdb", &dir.join("turn.db").display().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run turnserver (coturn; scripts/setup-debian.sh installs it)");
        let server = Self {
            port,
            tls_port,
            dir,
            child,
        };
        // Ready once it logs that it listens on each port (coturn takes TCP
        // and TLS on both).
        let mut ready = vec![
            "UDP listener opened on".to_string(),
            format!("TCP listener opened on : 127.0.0.1:{port}"),
        ];
        ready.extend(tls_port.map(|p| format!("TCP listener opened on : 127.0.0.1:{p}")));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ready
            .iter()
            .all(|line| server.log().contains(line.as_str()))
        {
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

    /// TURN over TCP.
    pub fn tcp_url(&self) -> String {
        format!("turn:127.0.0.1:{}?transport=tcp", self.port)
    }

    /// TURN over TLS, by the name its certificate is for.
    pub fn tls_url(&self, host: &str) -> Option<String> {
        self.tls_port.map(|p| format!("turns:{host}:{p}"))
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
