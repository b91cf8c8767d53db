//! A private PulseAudio with a null sink: real audio devices without a
//! sound card.

// Shared by tests in more than one crate; each uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Pulse {
    dir: PathBuf,
    /// Whether the folder is ours to delete.
    owns_dir: bool,
}

impl Pulse {
    /// Starts a server for this test process: it sets this process's
    /// environment, so one per test binary, started before any other thread.
    pub fn start() -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("pulse-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("runtime dir");
        // SAFETY: set before any other thread of this test binary exists
        // (each such file holds one test); cpal reads them when it connects.
        unsafe {
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
            std::env::set_var("PULSE_SERVER", Self::address(&dir));
            std::env::set_var("HOME", &dir);
        }
        let mut pulse = Self::start_in(&dir);
        pulse.owns_dir = true;
        pulse
    }

    /// Starts a server in `runtime_dir`, where a program whose
    /// `XDG_RUNTIME_DIR` is that folder finds it by itself. Its default
    /// sink is a null sink and its default source that sink's monitor.
    pub fn start_in(runtime_dir: &Path) -> Self {
        let pulse = Self {
            dir: runtime_dir.to_path_buf(),
            owns_dir: false,
        };
        let socket = pulse.socket();
        let status = Command::new("pulseaudio")
            .args(["-D", "--exit-idle-time=-1", "-n"])
            .arg(format!(
                "--load=module-native-protocol-unix socket={}",
                socket.display()
            ))
            .arg("--load=module-null-sink sink_name=talkline_test")
            .arg("--load=module-always-sink")
            .env("XDG_RUNTIME_DIR", &pulse.dir)
            .env("HOME", &pulse.dir)
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
            let out = pulse.pactl(&args);
            assert!(out.is_some(), "pactl {args:?}");
        }
        pulse
    }

    /// The server's address, for a client's `PULSE_SERVER`.
    pub fn server(&self) -> String {
        Self::address(&self.dir)
    }

    /// What a program's environment needs to use this server as its own.
    pub fn client_env(&self) -> [(&'static str, String); 2] {
        [
            ("XDG_RUNTIME_DIR", self.dir.display().to_string()),
            ("PULSE_SERVER", self.server()),
        ]
    }

    fn address(dir: &Path) -> String {
        format!("unix:{}", dir.join("pulse/native").display())
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("pulse/native")
    }

    /// What `pactl ARGS` printed, or `None` if it failed (no server).
    pub fn pactl(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("pactl")
            .args(args)
            .env("PULSE_SERVER", Self::address(&self.dir))
            .output()
            .expect("pactl (Debian package `pulseaudio-utils`)");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Plugs in a headset: a speaker and a microphone that hears a
    /// steady tone of `hz` (a voice another participant can recognise).
    /// The server makes its microphone the default, as desktops do with a
    /// newly plugged one; its speaker is one more output.
    ///
    /// The microphone records the headset's own speaker, where the tone
    /// plays (and anything else played there). A generated source would do
    /// without that, but module-sine-source stalls once a client asks for
    /// low latency, as calls do.
    pub fn plug_headset(&self, hz: u32) -> Headset {
        let load = |args: &[&str]| {
            let index = self.pactl(args).unwrap_or_default().trim().to_string();
            assert!(!index.is_empty(), "pactl {args:?}");
            index
        };
        let speaker = load(&[
            "load-module",
            "module-null-sink",
            "sink_name=talkline_headset",
            &format!("sink_properties='device.description=\"{HEADSET_SPEAKER}\"'"),
        ]);
        let tone = load(&[
            "load-module",
            "module-sine",
            "sink=talkline_headset",
            &format!("frequency={hz}"),
        ]);
        let microphone = load(&[
            "load-module",
            "module-remap-source",
            "master=talkline_headset.monitor",
            "source_name=talkline_headset_mic",
            &format!("source_properties='device.description=\"{HEADSET_MICROPHONE}\"'"),
        ]);
        assert!(
            self.pactl(&["set-default-source", "talkline_headset_mic"])
                .is_some()
        );
        Headset {
            modules: [microphone, tone, speaker],
        }
    }

    /// Pulls the headset out: its speaker and microphone vanish while the
    /// server, and every other device, stays.
    pub fn unplug(&self, headset: Headset) {
        for module in &headset.modules {
            assert!(
                self.pactl(&["unload-module", module]).is_some(),
                "unplug module {module}"
            );
        }
    }

    /// The sink each stream playing now plays into, by sink name.
    pub fn playing_on(&self) -> Vec<String> {
        let sinks = self.pactl(&["list", "short", "sinks"]).unwrap_or_default();
        let name_of = |index: &str| {
            sinks
                .lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>())
                .find(|cols| cols.first() == Some(&index))
                .and_then(|cols| cols.get(1).map(|n| n.to_string()))
                .unwrap_or_else(|| format!("sink #{index}"))
        };
        self.clients_streams("sink-inputs")
            .iter()
            .filter_map(|l| l.split_whitespace().nth(1).map(name_of))
            .collect()
    }

    /// `pactl list short WHAT` of programs' own streams, not the server's
    /// (a headset's tone, its microphone reading its speaker).
    fn clients_streams(&self, what: &str) -> Vec<String> {
        self.pactl(&["list", "short", what])
            .unwrap_or_default()
            .lines()
            .filter(|l| l.split_whitespace().nth(3) == Some("protocol-native.c"))
            .map(str::to_string)
            .collect()
    }

    /// The streams playing into the server now (`pactl list short
    /// sink-inputs`: one line each, its index first).
    pub fn playing(&self) -> Vec<String> {
        self.listed("sink-inputs")
    }

    /// The streams recording from the server now.
    pub fn recording(&self) -> Vec<String> {
        self.listed("source-outputs")
    }

    fn listed(&self, what: &str) -> Vec<String> {
        self.clients_streams(what)
            .iter()
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect()
    }

    /// Ends the server, and with it every device it offered: what pulling
    /// out a headset does to its speaker and microphone.
    pub fn stop(&self) {
        let _ = self.pactl(&["exit"]);
    }
}

/// What `Pulse::plug_headset` loaded, to unplug.
pub struct Headset {
    /// Unloaded in this order: what uses a device before the device.
    modules: [String; 3],
}

/// The names the system gives the headset's devices, as pickers show them.
pub const HEADSET_SPEAKER: &str = "Test Headset";
pub const HEADSET_MICROPHONE: &str = "Test Headset Microphone";
/// The null sink every server here starts with.
pub const BUILT_IN_SPEAKER: &str = "Null Output";

impl Drop for Pulse {
    fn drop(&mut self) {
        self.stop();
        if self.owns_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
