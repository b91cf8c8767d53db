//! A desktop session of the test's own, as a Wayland desktop offers
//! screen sharing to apps: a D-Bus session bus, PipeWire with its session
//! manager (WirePlumber), the real xdg-desktop-portal, and a screen-cast
//! backend that stands in for the desktop's (`screencast_portal.py`: the
//! real one, xdg-desktop-portal-wlr, will not cast without a GPU). Every
//! process lives in a runtime folder of the test's, and goes with it.

// Shared by the CLI and window tests; each uses part of it.
#![allow(dead_code)]

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
    /// A desktop whose screen is one colour (`0xAARRGGBB`), 1280x720.
    pub fn start(dir: &Path, colour: &str) -> Self {
        Self::start_on(dir, colour, None)
    }

    /// The same, on session bus `bus` if given (an app's, started with
    /// its own) instead of a bus of its own.
    pub fn start_on(dir: &Path, colour: &str, bus: Option<&str>) -> Self {
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
                .arg(colour)
                .stdout(backend.try_clone().expect("backend log"))
                .stderr(backend),
        );
        wait_until("the screen-cast backend", || desktop.backend_said("ready"));
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
        wait_until("xdg-desktop-portal on the bus", || {
            desktop.has_name("org.freedesktop.portal.Desktop")
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

    fn has_name(&self, name: &str) -> bool {
        Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
            ])
            .arg(format!("string:{name}"))
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus)
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("boolean true"))
    }

    /// What the backend was asked, a line a call.
    pub fn backend_log(&self) -> String {
        std::fs::read_to_string(&self.backend_log).unwrap_or_default()
    }

    fn backend_said(&self, line: &str) -> bool {
        self.backend_log().lines().any(|l| l.starts_with(line))
    }

    /// Waits until the backend was asked `call` `times` times in all.
    pub fn wait_for_call(&self, call: &str, times: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.backend_log();
            if log.lines().filter(|l| l.starts_with(call)).count() >= times {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the backend was not asked {call} {times} times: {log}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn signal(&self, signal: &str) {
        let backend = self
            .processes
            .iter()
            .find(|(name, _)| *name == "backend")
            .map(|(_, child)| child.id())
            .expect("the backend");
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
        self.signal("-USR2");
    }
}

impl Drop for PortalDesktop {
    fn drop(&mut self) {
        // The backend first and gently: it ends the pictures it started.
        for (name, child) in self.processes.iter_mut().rev() {
            if *name == "backend" {
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                let deadline = Instant::now() + Duration::from_secs(5);
                while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
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
