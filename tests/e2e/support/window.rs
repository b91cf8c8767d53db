//! The app's real window, started for a test or a benchmark: its own Xvfb
//! display, a private D-Bus session with an unlocked gnome-keyring (the app
//! keeps its database key there), and `tauri-driver` in front of Debian's
//! WebKitWebDriver, which starts the app binary. Everything it starts is
//! ended with it.

// Shared by tests and benchmarks; each uses part of it.
#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::support::scratch_dir;
use super::support::xvfb::{Killed, start_xvfb};
use super::webdriver::WebDriver;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A process and everything it started, in one process group, ended together.
struct Group(Child);
impl Drop for Group {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        for signal in ["-TERM", "-KILL"] {
            let _ = Command::new("kill").args([signal, "--", &group]).status();
            std::thread::sleep(Duration::from_millis(300));
        }
        let _ = self.0.wait();
    }
}

/// An X display of its own for something else to draw on (a headful
/// Chromium beside the app); the server goes with it.
pub struct OwnDisplay {
    _xvfb: Killed,
    pub name: String,
}

/// The app's binary, as cargo built it for these tests.
#[allow(dead_code)] // the benchmark's, not every test's
pub fn app_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_talkline-app"))
}

pub fn own_display() -> OwnDisplay {
    let (xvfb, name) = start_xvfb(&scratch_dir("display"), &[]);
    OwnDisplay { _xvfb: xvfb, name }
}

impl OwnDisplay {
    /// The X server's process, whose CPU the benchmark counts as drawing.
    #[allow(dead_code)] // the benchmark's, not every test's
    pub fn server_pid(&self) -> u32 {
        self._xvfb.0.id()
    }
}

fn tauri_driver() -> PathBuf {
    if let Some(path) = std::env::var_os("TAURI_DRIVER") {
        return path.into();
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("tauri-driver"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let in_cargo = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .map(|c| c.join("bin/tauri-driver"));
    on_path.into_iter().chain(in_cargo).find(|p| p.exists()).expect(
        "tauri-driver is not installed: scripts/setup-tools.sh installs it (cargo install tauri-driver)",
    )
}

/// Writes RGB pixels as a PNG (stored, uncompressed deflate blocks: a
/// screenshot for people to look at, not to ship).
fn write_png(path: &Path, width: u32, height: u32, rgb: &[u8]) -> std::io::Result<()> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in data {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut raw = Vec::with_capacity((width as usize * 3 + 1) * height as usize);
    for row in rgb.chunks(width as usize * 3) {
        raw.push(0); // no filter
        raw.extend_from_slice(row);
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == blocks.len()));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + byte as u32) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut png, b"IHDR", &header);
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    std::fs::write(path, png)
}

/// Reads Xvfb's XWD screen file (32 bits per pixel, little-endian BGRX).
fn read_xwd(bytes: &[u8]) -> Option<(u32, u32, Vec<u8>)> {
    let field = |i: usize| {
        bytes
            .get(i * 4..i * 4 + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (header_size, width, height) = (field(0)?, field(4)?, field(5)?);
    let (bits_per_pixel, bytes_per_line, ncolors) = (field(11)?, field(12)?, field(19)?);
    if bits_per_pixel != 32 {
        return None;
    }
    let start = header_size as usize + ncolors as usize * 12;
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height as usize {
        let row = bytes.get(start + y * bytes_per_line as usize..)?;
        for x in 0..width as usize {
            let px = row.get(x * 4..x * 4 + 3)?;
            rgb.extend_from_slice(&[px[2], px[1], px[0]]);
        }
    }
    Some((width, height, rgb))
}

pub struct AppWindow {
    // Dropped in this order: the session, then the driver's process group,
    // then the display.
    pub driver: WebDriver,
    _driver_process: Group,
    _xvfb: Killed,
    screen: PathBuf,
    /// The X display the window is on (`:N`).
    pub display: String,
    /// The app's home: its data, cache and config folders are inside.
    pub home: PathBuf,
    pub app: PathBuf,
}

impl AppWindow {
    /// The X server the window is on (the benchmark counts its CPU).
    #[allow(dead_code)] // the benchmark's, not every test's
    pub fn server_pid(&self) -> u32 {
        self._xvfb.0.id()
    }

    /// Starts the app (this package's `talkline-app`) with `server` as its
    /// default meeting server and a fresh home directory.
    pub fn launch(server: &str) -> Self {
        Self::launch_on_xvfb(server, &[], &[], |_| {})
    }

    /// The same, the app's environment given these variables too (a
    /// system language, for one).
    #[allow(dead_code)] // the tests', not the benchmark's
    pub fn launch_with_env(server: &str, env: &[(&str, &str)]) -> Self {
        Self::launch_on_xvfb(server, &[], env, |_| {})
    }

    /// The same, with the app's home prepared by `prepare` (given the home
    /// folder) before the app first starts: files a previous run left.
    #[allow(dead_code)] // the tests', not the benchmark's
    pub fn launch_prepared(server: &str, prepare: impl FnOnce(&Path)) -> Self {
        Self::launch_on_xvfb(server, &[], &[], prepare)
    }

    /// The same, on an X server without MIT-SHM (shared-memory images), as
    /// a remote X server is: the app cannot draw video natively there.
    pub fn launch_without_shared_memory(server: &str) -> Self {
        Self::launch_on_xvfb(server, &["-extension", "MIT-SHM"], &[], |_| {})
    }

    fn launch_on_xvfb(
        server: &str,
        xvfb_args: &[&str],
        env: &[(&str, &str)],
        prepare: impl FnOnce(&Path),
    ) -> Self {
        let home = scratch_dir("window-home");
        prepare(&home);
        let (xvfb, display) = start_xvfb(&home, xvfb_args);
        let spawn_driver = |port: u16, native_port: u16| {
            let driver_process = Command::new("dbus-run-session")
                .args(["--", "sh", "-c"])
                .arg(
                    "echo \"$DBUS_SESSION_BUS_ADDRESS\" > \"$HOME/bus-address\" \
                     && echo -n talkline-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null \
                     && exec \"$0\" --port \"$1\" --native-port \"$2\"",
                )
                .arg(tauri_driver())
                .args([port.to_string(), native_port.to_string()])
                .env("DISPLAY", &display)
                .env("HOME", &home)
                .env("XDG_RUNTIME_DIR", &home)
                .env("XDG_DATA_HOME", home.join("data"))
                .env("XDG_CONFIG_HOME", home.join("config"))
                .env("XDG_CACHE_HOME", home.join("cache"))
                .env("TALKLINE_SERVER", server)
                .env_remove("WAYLAND_DISPLAY")
                .env_remove("DBUS_SESSION_BUS_ADDRESS")
                .env("RUST_LOG", "info")
                // No accessibility bus or desktop portals: nothing here uses them.
                .env("NO_AT_BRIDGE", "1")
                .env("GTK_USE_PORTAL", "0")
                .envs(env.iter().copied())
                .process_group(0)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(home.join("driver.log")).expect("driver log"))
                .spawn()
                .expect("dbus-run-session (package dbus)");
            Group(driver_process)
        };
        eprintln!("driver and app log: {}", home.join("driver.log").display());
        let app = PathBuf::from(env!("CARGO_BIN_EXE_talkline-app"));
        // The ports are free when picked, not when the driver binds them:
        // now and then another process takes one first (the driver then
        // exits, "Unable to listen"), and other ports are tried.
        let mut attempt = 0;
        let (driver, driver_process) = loop {
            attempt += 1;
            let port = free_port();
            let driver_process = spawn_driver(port, free_port());
            match WebDriver::connect(port, &app) {
                Ok(driver) => break (driver, driver_process),
                Err(e)
                    if attempt < 3
                        && std::fs::read_to_string(home.join("driver.log"))
                            .is_ok_and(|log| log.contains("Unable to listen")) =>
                {
                    eprintln!("the WebDriver's port was taken ({e}); trying another");
                }
                Err(e) => panic!("no WebDriver session: {e}"),
            }
        };
        Self {
            driver,
            _driver_process: driver_process,
            _xvfb: xvfb,
            screen: home.join("Xvfb_screen0"),
            display,
            home,
            app,
        }
    }

    /// Closes the app and starts it again with `args`, in the same home,
    /// display and keyring: a returning user's start.
    #[allow(dead_code)] // the benchmark's, not every test's
    pub fn restart(&mut self, args: &[&str]) {
        let pid = self.pid();
        self.driver.end();
        let deadline = Instant::now() + Duration::from_secs(10);
        while pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists()) {
            assert!(Instant::now() < deadline, "the app did not close");
            std::thread::sleep(Duration::from_millis(50));
        }
        self.driver = WebDriver::connect_with_args(self.driver.port(), &self.app, args)
            .unwrap_or_else(|e| panic!("no WebDriver session for the restart: {e}"));
    }

    /// The environment the app runs in (its display and home), for other
    /// programs that must find it: a second start, `xdg-open`.
    #[allow(dead_code)] // the tests', not the benchmark's
    pub fn app_environment(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        vec![
            ("DISPLAY", self.display.clone().into()),
            ("HOME", self.home.clone().into()),
            ("XDG_RUNTIME_DIR", self.home.clone().into()),
            ("XDG_DATA_HOME", self.home.join("data").into()),
            ("XDG_CONFIG_HOME", self.home.join("config").into()),
            ("XDG_CACHE_HOME", self.home.join("cache").into()),
        ]
    }

    /// Runs `program` with `args` in the app's environment and waits (at
    /// most 20 s) for it to end: (exit code, stdout, stderr).
    #[allow(dead_code)] // the tests', not the benchmark's
    pub fn run_beside(&self, program: &Path, args: &[&str]) -> (Option<i32>, String, String) {
        let out_path = self.home.join("beside.out");
        let err_path = self.home.join("beside.err");
        let mut child = Command::new(program)
            .args(args)
            .envs(self.app_environment())
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env("NO_AT_BRIDGE", "1")
            .stdout(std::fs::File::create(&out_path).expect("stdout file"))
            .stderr(std::fs::File::create(&err_path).expect("stderr file"))
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if started.elapsed() > Duration::from_secs(20) {
                // SAFETY: kill(2) on the process group spawned above.
                unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
                let _ = child.wait();
                panic!("{} {args:?} did not end within 20 s", program.display());
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        (status.code(), read(&out_path), read(&err_path))
    }

    /// Every secret the app's Secret Service holds for `service` (what
    /// `secret-tool search` prints; empty when there is none).
    pub fn keyring_secrets(&self, service: &str) -> String {
        let bus = std::fs::read_to_string(self.home.join("bus-address")).expect("the bus address");
        let out = Command::new("secret-tool")
            .args(["search", "--all", "--unlock", "service", service])
            .env("DBUS_SESSION_BUS_ADDRESS", bus.trim())
            .env("HOME", &self.home)
            .env("XDG_RUNTIME_DIR", &self.home)
            .output()
            .expect("secret-tool (package libsecret-tools)");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// What the X server shows now, RGB rows top to bottom: the page and
    /// anything the app draws natively over it.
    #[allow(dead_code)] // not every test's
    pub fn screen_rgb(&self) -> (u32, u32, Vec<u8>) {
        let xwd = std::fs::read(&self.screen).expect("Xvfb's screen file");
        read_xwd(&xwd).expect("a 32-bit XWD screen")
    }

    /// Saves what the screen shows now as a PNG.
    pub fn screenshot(&self, path: &Path) {
        // Let the last change reach the screen.
        std::thread::sleep(Duration::from_millis(300));
        let xwd = std::fs::read(&self.screen).expect("Xvfb's screen file");
        let (width, height, rgb) = read_xwd(&xwd).expect("a 32-bit XWD screen");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        write_png(path, width, height, &rgb).expect("write the screenshot");
    }

    /// What the X clipboard holds now (`xclip`, package xclip): the app
    /// serves it, so this also shows that a copy reached the desktop.
    pub fn clipboard(&self) -> String {
        let out = Command::new("xclip")
            .args(["-o", "-selection", "clipboard"])
            .env("DISPLAY", &self.display)
            .output()
            .expect("xclip (package xclip)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The app's process id (its web content runs in child processes).
    pub fn pid(&self) -> Option<u32> {
        let app = std::fs::canonicalize(&self.app).ok()?;
        let dir = std::fs::read_dir("/proc").ok()?;
        dir.filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .find(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == app))
    }
}
