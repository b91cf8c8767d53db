//! A private PulseAudio with a null sink: real audio devices without a
//! sound card.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Pulse {
    dir: PathBuf,
}

impl Pulse {
    /// Starts a private server whose default sink is a null sink and whose
    /// default source is that sink's monitor. It sets this process's
    /// environment: one per test binary, started before any other thread.
    pub fn start() -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("pulse-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("runtime dir");
        let socket = dir.join("pulse/native");
        // SAFETY: set before any other thread of this test binary exists
        // (this file holds one test); cpal reads them when it connects.
        unsafe {
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
            std::env::set_var("PULSE_SERVER", format!("unix:{}", socket.display()));
            std::env::set_var("HOME", &dir);
        }
        let status = Command::new("pulseaudio")
            .args(["-D", "--exit-idle-time=-1", "-n"])
            .arg(format!(
                "--load=module-native-protocol-unix socket={}",
                socket.display()
            ))
            .arg("--load=module-null-sink sink_name=talkline_test")
            .arg("--load=module-always-sink")
            .status()
            .expect("start pulseaudio (Debian package `pulseaudio`)");
        assert!(status.success(), "pulseaudio did not start");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "pulseaudio socket did not appear"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        for args in [
            ["set-default-sink", "talkline_test"],
            ["set-default-source", "talkline_test.monitor"],
        ] {
            let ok = Command::new("pactl").args(args).status().expect("pactl");
            assert!(ok.success(), "pactl {args:?}");
        }
        Self { dir }
    }
}

impl Pulse {
    /// Ends the server, and with it every device it offered: what pulling
    /// out a headset does to its speaker and microphone.
    pub fn stop(&self) {
        let _ = Command::new("pactl").arg("exit").status();
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
