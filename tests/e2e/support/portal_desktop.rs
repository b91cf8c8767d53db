//! A desktop session of the test's own, as a Wayland desktop offers
//! screen sharing to apps: a D-Bus session bus, PipeWire with its session
//! manager (WirePlumber), the real xdg-desktop-portal, and a screen-cast
//! backend that stands in for the desktop's (`screencast_portal.py`: the
//! real one, xdg-desktop-portal-wlr, will not cast without a GPU). Every
//! process lives in a runtime folder of the test's, and goes with it.

// Shared by the CLI and window tests; each uses part of it.
#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The backend's name for `XDG_CURRENT_DESKTOP`: the portal uses the
/// backends whose `UseIn` names it, and only those.
const DESKTOP: &str = "talkline-test";

pub struct PortalDesktop {
    /// Started in this order, ended in the other.
    processes: Vec<(&'static str, Child)>,
    runtime: PathBuf,
    bus: String,
    backend_log: PathBuf,
}

impl PortalDesktop {
    /// A desktop whose screen is `picture`: one colour (`0xAARRGGBB`,
    /// 1280x720), or `file:PATH` (that PNG, at its size).
    pub fn start(dir: &Path, picture: &str) -> Self {
        Self::start_on(dir, picture, None)
    }

    /// The same, on session bus `bus` if given (an app's, started with
    /// its own) instead of a bus of its own.
    pub fn start_on(dir: &Path, picture: &str, bus: Option<&str>) -> Self {
        let runtime = dir.join("runtime");
        let _ = std::fs::remove_dir_all(&runtime);
        std::fs::create_dir_all(&runtime).expect("runtime folder");
        set_private(&runtime);
        let portals = dir.join("portals");
        std::fs::create_dir_all(&portals).expect("portals folder");
        std::fs::write(
            portals.join("talkline-test.portal"),
            format!(
                "[portal]\nDBusName=org.freedesktop.impl.portal.desktop.talkline_test\n\
                 Interfaces=org.freedesktop.impl.portal.ScreenCast;\nUseIn={DESKTOP}\n"
            ),
        )
        .expect("the backend's portal file");
        let own_bus = bus.is_none();
        let bus = bus.map_or_else(
            || format!("unix:path={}", runtime.join("bus").display()),
            str::to_owned,
        );
        let mut desktop = Self {
            processes: Vec::new(),
            runtime: runtime.clone(),
            bus: bus.clone(),
            backend_log: dir.join("backend.log"),
        };
        let log = |name: &str| {
            let file = std::fs::File::create(dir.join(format!("{name}.log"))).expect("a log");
            (file.try_clone().expect("a log"), file)
        };

        if own_bus {
            let (out, err) = log("dbus");
            desktop.spawn(
                "dbus-daemon",
                Command::new("dbus-daemon")
                    .args(["--session", "--nofork", "--nopidfile"])
                    .arg(format!("--address={bus}"))
                    .stdout(out)
                    .stderr(err),
            );
            wait_until("the session bus", || runtime.join("bus").exists());
        }
        let (out, err) = log("pipewire");
        desktop.spawn(
            "pipewire",
            desktop.command("pipewire").stdout(out).stderr(err),
        );
        wait_until("PipeWire", || runtime.join("pipewire-0").exists());
        let (out, err) = log("wireplumber");
        desktop.spawn(
            "wireplumber",
            desktop.command("wireplumber").stdout(out).stderr(err),
        );
        let backend = std::fs::File::create(&desktop.backend_log).expect("backend log");
        desktop.spawn(
            "backend",
            desktop
                .command("/usr/bin/python3")
                .arg(crate::support::repo_root().join("tests/e2e/support/screencast_portal.py"))
                .arg(picture)
                // Its own group, ended whole: the pictures it started too.
                .process_group(0)
                .stdout(backend.try_clone().expect("backend log"))
                .stderr(backend),
        );
        wait_until("the screen-cast backend", || desktop.backend_said("ready"));
        let portal_log = dir.join("portal.log");
        let (out, err) = log("portal");
        desktop.spawn(
            "xdg-desktop-portal",
            desktop
                .command("/usr/libexec/xdg-desktop-portal")
                .args(["--replace", "--verbose"])
                .env("XDG_DESKTOP_PORTAL_DIR", &portals)
                .stdout(out)
                .stderr(err),
        );
        // Its own word that it holds the name (`--replace`: a portal the
        // bus may have started by itself is replaced), not the name's
        // presence on the bus.
        wait_until("xdg-desktop-portal on the bus", || {
            std::fs::read_to_string(&portal_log)
                .is_ok_and(|log| log.contains("org.freedesktop.portal.Desktop acquired"))
        });
        desktop
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        for (key, value) in self.env() {
            command.env(key, value);
        }
        command.env("HOME", &self.runtime).stdin(Stdio::null());
        command
    }

    fn spawn(&mut self, name: &'static str, command: &mut Command) {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {name} (scripts/setup-debian.sh installs it): {e}"));
        self.processes.push((name, child));
    }

    /// What a program needs in its environment to be on this desktop.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("XDG_RUNTIME_DIR", self.runtime.display().to_string()),
            ("DBUS_SESSION_BUS_ADDRESS", self.bus.clone()),
            ("XDG_CURRENT_DESKTOP", DESKTOP.to_string()),
            ("XDG_SESSION_TYPE", "wayland".to_string()),
        ]
    }

    /// What the backend was asked, a line a call.
    pub fn backend_log(&self) -> String {
        std::fs::read_to_string(&self.backend_log).unwrap_or_default()
    }

    fn backend_said(&self, line: &str) -> bool {
        self.backend_log().lines().any(|l| l.starts_with(line))
    }

    /// Waits until the backend said `call` `times` times in all.
    pub fn wait_for_call(&self, call: &str, times: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.count(call) >= times {
                return;
            }
            let log = self.backend_log();
            assert!(
                Instant::now() < deadline,
                "the backend was not asked {call} {times} times: {log}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The stand-in backend's process (the pictures it shares are its
    /// children).
    pub fn backend_pid(&self) -> u32 {
        self.processes
            .iter()
            .find(|(name, _)| *name == "backend")
            .map(|(_, child)| child.id())
            .expect("the backend")
    }

    fn signal(&self, signal: &str) {
        let backend = self.backend_pid();
        let status = Command::new("kill")
            .args([signal, &backend.to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal} the backend");
    }

    /// The desktop's own "Stop sharing": every share ends.
    pub fn stop_sharing(&self) {
        self.signal("-USR1");
    }

    /// The user cancels the desktop's next screen-sharing dialog.
    pub fn refuse_next(&self) {
        let before = self.count("refusing the next Start");
        self.signal("-USR2");
        self.wait_for_call(
            "refusing the next Start",
            before + 1,
            Duration::from_secs(10),
        );
    }

    /// The desktop's next answer names a PipeWire stream it never makes.
    pub fn name_a_missing_stream_next(&self) {
        let before = self.count("naming a missing stream next");
        self.signal("-WINCH");
        self.wait_for_call(
            "naming a missing stream next",
            before + 1,
            Duration::from_secs(10),
        );
    }

    /// The user takes 3 s to answer the desktop's next dialog.
    pub fn hold_next(&self) {
        let before = self.count("holding the next Start");
        self.signal("-HUP");
        self.wait_for_call(
            "holding the next Start",
            before + 1,
            Duration::from_secs(10),
        );
    }

    fn count(&self, call: &str) -> usize {
        self.backend_log()
            .lines()
            .filter(|l| l.starts_with(call))
            .count()
    }

    /// The sessions shared so far, and those closed, by their paths.
    pub fn sessions(&self) -> (Vec<String>, Vec<String>) {
        let log = self.backend_log();
        let path = |l: &str| l.split_whitespace().nth(1).unwrap_or_default().to_owned();
        let shared = log
            .lines()
            .filter(|l| l.starts_with("Start ") && l.contains(" node "))
            .map(path)
            .collect();
        let closed = log
            .lines()
            .filter(|l| l.starts_with("Close "))
            .map(path)
            .collect();
        (shared, closed)
    }
}

impl Drop for PortalDesktop {
    fn drop(&mut self) {
        // The backend first and gently, with its group: it ends the
        // pictures it started; then the rest, the last started first.
        if let Some((_, backend)) = self.processes.iter_mut().find(|(n, _)| *n == "backend") {
            let group = format!("-{}", backend.id());
            let _ = Command::new("kill")
                .args(["-TERM", "--", &group])
                .stderr(Stdio::null())
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && matches!(backend.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
            // Whatever of the group is left (nothing, mostly).
            let _ = Command::new("kill")
                .args(["-KILL", "--", &group])
                .stderr(Stdio::null())
                .status();
        }
        for (_, child) in self.processes.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn set_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .expect("a private runtime folder");
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !ready() {
        assert!(Instant::now() < deadline, "{what} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}
