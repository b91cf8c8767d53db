//! Test harness: a real Janus on loopback and `talkline` CLI clients.

#![allow(dead_code)]

pub mod browser;
pub mod chromium_flags;
pub mod netns;
pub mod xvfb;

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `talkline` CLI: cargo names it for the CLI's own tests; the app's
/// tests find it beside themselves in the same target directory.
pub fn talkline_bin() -> PathBuf {
    if let Some(path) = option_env!("CARGO_BIN_EXE_talkline") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("test executable path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("talkline"))
        .expect("target directory");
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build -p talkline-cli` (with --release for benchmarks)",
        bin.display()
    );
    bin
}

/// The CLI, speaking English whatever the machine's locale: the tests
/// read what it prints (its Chinese has tests of its own).
pub fn talkline_command() -> Command {
    let mut command = Command::new(talkline_bin());
    command.env("LC_ALL", "C.UTF-8");
    command
}

/// The repository's top directory, from whichever crate the test is in.
pub fn repo_root() -> PathBuf {
    // Read when run, not when built: the build cache is shared between checkouts
    // in different folders, and a binary built in one must not read another's files.
    let mut dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    while !dir.join("scripts/janus-local.sh").exists() {
        assert!(dir.pop(), "not inside the TalkLine repository");
    }
    dir
}

/// A fresh directory under the target's scratch space.
/// A replay folder (`talkline record-replay`): the 640x360 test pattern,
/// `seconds` long, in three simulcast sizes or one. Publishers that replay
/// it (`--camera replay:FOLDER`) cost no encoder.
pub fn record_replay(seconds: u32, simulcast: bool) -> PathBuf {
    let folder = scratch_dir("replay");
    let mut cmd = talkline_command();
    cmd.args(["record-replay", "--seconds", &seconds.to_string(), "--out"])
        .arg(&folder);
    if simulcast {
        cmd.arg("--simulcast");
    }
    let out = cmd.output().expect("talkline record-replay");
    assert!(
        out.status.success(),
        "record-replay: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    folder
}

pub fn scratch_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A Janus on 127.0.0.1 with the test rooms 1234 (open), 4321 (PIN "secret")
/// and 5678 (PIN "kumquat-7391", for the test that no PIN reaches a log).
pub struct Janus {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
    env: Vec<(String, String)>,
}

impl Janus {
    pub fn start() -> Self {
        Self::start_with_env(&[])
    }

    /// A Janus whose process gets these variables too (the UDP delay of
    /// `UdpDelay::env`, for one).
    pub fn start_with_env(env: &[(String, String)]) -> Self {
        let mut janus = Self {
            port: free_port(),
            dir: scratch_dir("janus"),
            child: None,
            env: env.to_vec(),
        };
        janus.spawn();
        janus
    }

    /// Starts Janus through the same script the README's run command uses.
    fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.join("janus.log")).expect("janus log");
        let child = Command::new(repo_root().join("scripts/janus-local.sh"))
            .arg(self.port.to_string())
            .arg(&self.dir)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("run scripts/janus-local.sh");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("janus exited with {status}: {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "janus did not listen on {} within 15 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A Janus that also serves `wss://localhost:<port>` with this
    /// certificate and key (PEM files), the port returned beside it.
    pub fn start_wss(cert: &Path, key: &Path) -> (Self, u16) {
        let wss_port = free_port();
        let env = [
            ("TALKLINE_JANUS_WSS_PORT", wss_port.to_string()),
            ("TALKLINE_JANUS_CERT", cert.display().to_string()),
            ("TALKLINE_JANUS_KEY", key.display().to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v));
        let janus = Self::start_with_env(&env);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", wss_port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "janus did not serve wss:// on {wss_port}: {}",
                janus.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        (janus, wss_port)
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// The UDP ports Janus takes media on, as `scripts/janus-local.sh`
    /// picks them from its port.
    pub fn rtp_ports(&self) -> (u16, u16) {
        let base = 20_000 + (self.port % 12) * 1_000;
        (base, base + 999)
    }

    pub fn link(&self, room: u64) -> String {
        format!("talkline://join?server={}&room={room}", self.url())
    }

    /// Kills the server the hard way, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port with the same rooms.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("janus.log")).unwrap_or_default()
    }
}

impl Drop for Janus {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Delay and jitter on every UDP datagram a process sends
/// (tests/janus/udp_delay_shim.c, preloaded): the kernel here has no netem.
/// Janus takes it through `janus-local.sh`, which builds the shim itself;
/// clients get `LD_PRELOAD` from `env`.
#[derive(Clone)]
pub struct UdpDelay {
    shim: PathBuf,
    delay_ms: u32,
    jitter_ms: u32,
}

impl UdpDelay {
    pub fn new(delay_ms: u32, jitter_ms: u32) -> Self {
        let shim = scratch_dir("udp-delay").join("udp_delay_shim.so");
        let status = Command::new("cc")
            .args(["-shared", "-fPIC", "-O2", "-o"])
            .arg(&shim)
            .arg(repo_root().join("tests/janus/udp_delay_shim.c"))
            .args(["-ldl", "-lpthread"])
            .status()
            .expect("cc (build-essential)");
        assert!(status.success(), "building the UDP delay shim");
        Self {
            shim,
            delay_ms,
            jitter_ms,
        }
    }

    /// For Janus: the delay alone (its script preloads the shim).
    pub fn janus_env(&self) -> Vec<(String, String)> {
        vec![
            ("TALKLINE_UDP_DELAY_MS".into(), self.delay_ms.to_string()),
            ("TALKLINE_UDP_JITTER_MS".into(), self.jitter_ms.to_string()),
        ]
    }

    /// For a client: the delay and the shim.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = self.janus_env();
        env.push(("LD_PRELOAD".into(), self.shim.display().to_string()));
        env
    }
}

/// The environment that has a client log its microphone second by second
/// (`Client::voice_log`) on top of its usual warnings.
pub const VOICE_LOG: (&str, &str) = (
    "RUST_LOG",
    "warn,rtc=error,rtc_ice=error,rtc_dtls=error,rtc_sctp=error,rtc_srtp=error,webrtc=error,\
     pulseaudio::client::reactor=off,talkline_meeting::send=debug",
);

/// A `talkline join` process whose output lines are collected as they come.
pub struct Client {
    pub name: String,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    pub stats_path: PathBuf,
}

impl Client {
    pub fn join(link: &str, name: &str, extra: &[&str]) -> Self {
        Self::join_with_env(link, name, extra, &[])
    }

    pub fn join_with_env(link: &str, name: &str, extra: &[&str], env: &[(&str, &str)]) -> Self {
        Self::run(&["join", link], name, extra, env)
    }

    /// `talkline host`: a new meeting on `server`, hosted by `name`.
    #[allow(dead_code)] // not every test binary hosts
    pub fn host(server: &str, name: &str, extra: &[&str]) -> Self {
        Self::run(&["host", "--server", server], name, extra, &[])
    }

    /// `talkline` run by `wrapper` (which ends by executing the command
    /// line it is given, so the process stays the one reported by `pid`).
    #[allow(dead_code)] // not every test binary wraps its clients
    pub fn wrapped(mut wrapper: Command, command: &[&str], name: &str, extra: &[&str]) -> Self {
        wrapper.arg(talkline_bin()).env("LC_ALL", "C.UTF-8");
        Self::spawn(wrapper, command, name, extra, &[])
    }

    fn run(command: &[&str], name: &str, extra: &[&str], env: &[(&str, &str)]) -> Self {
        Self::spawn(talkline_command(), command, name, extra, env)
    }

    fn spawn(
        mut program: Command,
        command: &[&str],
        name: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let stats_path = scratch_dir("client").join(format!("{name}.json"));
        let mut child = program
            .args(command)
            .args(["--name", name, "--stats-json"])
            .arg(&stats_path)
            .args(extra)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start talkline");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        for (stream, sink) in [
            (
                child
                    .stdout
                    .take()
                    .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
                Arc::clone(&lines),
            ),
            (
                child
                    .stderr
                    .take()
                    .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
                Arc::clone(&stderr),
            ),
        ] {
            if let Some(stream) = stream {
                std::thread::spawn(move || {
                    for line in BufReader::new(stream).lines().map_while(Result::ok) {
                        sink.lock().expect("lines").push(line);
                    }
                });
            }
        }
        Self {
            name: name.to_string(),
            child,
            lines,
            stderr,
            stats_path,
        }
    }

    /// Types a command on the client's standard input.
    pub fn send_line(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().expect("stdin is piped");
        writeln!(stdin, "{line}").expect("write to client");
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn output(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }

    pub fn errors(&self) -> String {
        self.stderr.lock().expect("stderr").join("\n")
    }

    /// The last `n` lines of the estimate's and the sender's log: the
    /// story of a rate, where the whole log would be cut by CI's report
    /// before it gets there.
    pub fn estimate_log(&self, n: usize) -> String {
        self.log_tail(
            &["talkline_meeting::congestion", "talkline_meeting::send"],
            n,
        )
    }

    /// The microphone's log, second by second (the client logs it when
    /// started with `VOICE_LOG`): what the echo canceller let through and
    /// when.
    pub fn voice_log(&self) -> String {
        self.log_tail(&["voice at "], 40)
    }

    /// The last `n` lines of stderr that contain one of `needles`.
    fn log_tail(&self, needles: &[&str], n: usize) -> String {
        let stderr = self.stderr.lock().expect("stderr");
        let lines: Vec<&str> = stderr
            .iter()
            .filter(|l| needles.iter().any(|needle| l.contains(needle)))
            .map(String::as_str)
            .collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Waits until a line containing `needle` appears.
    pub fn wait_for(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self.output().iter().any(|l| l.contains(needle)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: no line with {needle:?} within {timeout:?}; stdout: {:?}; stderr: {}",
                self.name,
                self.output(),
                self.errors()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until standard error says `needle`.
    pub fn wait_for_error(&self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.errors().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "{}: no error with {needle:?} within {timeout:?}; stderr: {}",
                self.name,
                self.errors()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the last line beginning with `prefix` is exactly
    /// `prefix` followed by `rest` (a state printed whenever it changes,
    /// such as the queue of hands).
    #[allow(dead_code)] // not every test binary reads such a state
    pub fn wait_for_last(&self, prefix: &str, rest: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let wanted = format!("{prefix}{rest}");
        loop {
            let output = self.output();
            let last = output.iter().rev().find(|l| l.starts_with(prefix));
            if last.is_some_and(|l| *l == wanted) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: {wanted:?} not the last {prefix:?} line within {timeout:?}; last: {last:?}; stdout: {output:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until a line containing `needle` appears after the first
    /// `since` lines of output.
    pub fn wait_for_since(&self, needle: &str, since: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.output().iter().skip(since).any(|l| l.contains(needle)) {
            assert!(
                Instant::now() < deadline,
                "{}: no new line with {needle:?} within {timeout:?}; stdout: {:?}",
                self.name,
                self.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// How many lines of output there are so far (for `wait_for_since`).
    pub fn lines_so_far(&self) -> usize {
        self.lines.lock().expect("lines").len()
    }

    /// The call's statistics now, mid-call (the `stats` command).
    pub fn stats_now(&mut self) -> serde_json::Value {
        let since = self.output().len();
        self.send_line("stats");
        self.wait_for_since("stats: ", since, Duration::from_secs(5));
        let lines = self.output();
        let line = lines
            .iter()
            .skip(since)
            .find_map(|l| l.strip_prefix("stats: "))
            .expect("a stats line");
        serde_json::from_str(line).expect("stats JSON")
    }

    /// Whether the process still runs.
    #[allow(dead_code)] // not every test binary asks
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the process to end by itself.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Let the reader threads drain.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "{} did not exit within {timeout:?}; stdout: {:?}; stderr: {}",
                    self.name,
                    self.output(),
                    self.errors()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Asks the client to leave (SIGTERM, as Ctrl-C would) and waits.
    pub fn stop(&mut self) -> ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        self.wait(Duration::from_secs(10))
    }

    pub fn stats(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(&self.stats_path).unwrap_or_else(|e| {
            panic!(
                "{}: no stats at {}: {e}",
                self.name,
                self.stats_path.display()
            )
        });
        serde_json::from_str(&text).expect("stats JSON")
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The stats entry for the remote participant called `display`.
pub fn remote<'a>(stats: &'a serde_json::Value, display: &str) -> &'a serde_json::Value {
    stats["remote"]
        .as_array()
        .and_then(|list| list.iter().find(|r| r["display"] == display))
        .unwrap_or_else(|| panic!("no remote {display:?} in {stats:#}"))
}

pub fn assert_hears(stats: &serde_json::Value, from: &str, hz: f64) {
    let r = remote(stats, from);
    let heard = r["audio_dominant_hz"].as_f64().unwrap_or(0.0);
    assert!(
        (heard - hz).abs() / hz < 0.01,
        "heard {heard} Hz from {from}, expected {hz}: {r:#}"
    );
}

pub fn assert_sees(stats: &serde_json::Value, from: &str, min_frames: u64) {
    let r = remote(stats, from);
    let ratio = r["pattern_received_ratio"].as_f64().unwrap_or(0.0);
    let first = r["pattern_first"].as_u64().unwrap_or(0);
    let last = r["pattern_last"].as_u64().unwrap_or(0);
    assert!(
        last.saturating_sub(first) + 1 >= min_frames,
        "saw frames {first}..={last} from {from}: {r:#}"
    );
    assert!(
        ratio >= 0.9,
        "decoded {:.1}% of {from}'s frames: {r:#}",
        ratio * 100.0
    );
}

/// Both clients say "reconnecting" within `within` (an outage began);
/// returns where each one's output stood then, for `back_after_outage`.
pub fn outage_noticed(clients: [&Client; 2], within: Duration) -> [usize; 2] {
    for c in clients {
        c.wait_for("reconnecting", within);
    }
    clients.map(Client::lines_so_far)
}

/// Both clients say "connected" again within `within`, after the lines
/// `outage_noticed` returned.
pub fn back_after_outage(clients: [&Client; 2], since: [usize; 2], within: Duration) {
    for (c, since) in clients.into_iter().zip(since) {
        c.wait_for_since("connected", since, within);
    }
}

/// After a recovery (ICE restart or rejoin): `other` is heard at `hz` and
/// at least `min_frames` of their video were decoded since.
pub fn assert_recovered(
    name: &str,
    stats: &serde_json::Value,
    other: &str,
    hz: f64,
    min_frames: u64,
) {
    let after = remote(stats, other)["video_frames_since_recovery"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        after >= min_frames,
        "{name} saw {after} frames from {other} after recovering: {stats:#}"
    );
    assert_hears(stats, other, hz);
}

/// A talkline participant in the hosted `meeting`, in this process: a
/// tone, and a small test pattern with `camera`; receiving nobody. Joins
/// with `entry_token` if given; `wait_if_locked` waits in the waiting room.
#[allow(dead_code)] // not every test binary hosts
pub async fn guest_in_process(
    meeting: &talkline_meeting::host::HostedMeeting,
    name: &str,
    entry_token: Option<talkline_meeting::host::Secret>,
    wait_if_locked: bool,
    camera: bool,
) -> Result<talkline_meeting::CallHandle, talkline_meeting::MeetingError> {
    use talkline_meeting::Outgoing;
    talkline_meeting::join(talkline_meeting::CallConfig {
        server: meeting.server.clone(),
        room: meeting.room,
        pin: meeting.pin.clone(),
        entry_token,
        wait_if_locked: wait_if_locked.then(|| Box::new(|| {}) as Box<dyn FnOnce() + Send>),
        display: name.into(),
        video: if camera {
            Outgoing::From(Box::new(
                talkline_media::source::PatternSource::new(320, 180, 15.0).expect("pattern"),
            ))
        } else {
            Outgoing::Never
        },
        audio: Outgoing::From(Box::new(
            talkline_media::tone::ToneSource::new(440.0).expect("tone"),
        )),
        audio_out: None,
        video_bitrate_kbps: 300,
        simulcast: false,
        tiles: None,
        audio_muted: false,
        video_muted: false,
        subscribe: false,
        ice: Default::default(),
        voice: Default::default(),
        publish_as: Default::default(),
    })
    .await
}

/// The wall clock in milliseconds: what a page's `Date.now()` says too, so
/// a benchmark can time from one process to a browser.
#[allow(dead_code)] // the benchmarks' alone
pub fn now_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// How many runs a benchmark makes: `TALKLINE_BENCH_RUNS`, else `default`.
#[allow(dead_code)] // the benchmarks' alone
pub fn bench_runs(default: usize) -> usize {
    std::env::var("TALKLINE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .max(1)
}

/// The value at `p` (0 to 1) of `sorted`; NaN when there is none.
#[allow(dead_code)] // the benchmarks' alone
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}
