//! X servers of the tests' own (Xvfb), on a free display each, ended with
//! them: for the app's window, a browser beside it, or a screen to share.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A process ended (killed) when dropped.
pub struct Killed(pub Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether an X server holds display `n`. A lock file whose process is gone
/// (a server that was killed) does not count: Xvfb replaces stale locks
/// itself, and on a machine that runs the tests again and again they would
/// otherwise use up every display.
fn display_in_use(n: u32) -> bool {
    let Ok(lock) = std::fs::read_to_string(format!("/tmp/.X{n}-lock")) else {
        return false;
    };
    match lock.trim().parse::<u32>() {
        Ok(pid) => Path::new(&format!("/proc/{pid}")).exists(),
        Err(_) => true,
    }
}

/// An X server of our own (1280x800), so nothing needs a display and none
/// is left behind: an Xvfb on a free display, with `extra` arguments (such
/// as `-extension MIT-SHM` to leave an extension out). Xvfb keeps its
/// screen in `dir/Xvfb_screen0` (XWD format), so a screenshot is a file
/// read: no round trip through the webview.
pub fn start_xvfb(dir: &Path, extra: &[&str]) -> (Killed, String) {
    start_xvfb_sized(dir, "1280x800x24", extra)
}

/// As `start_xvfb`, with a screen of `size` (`WxHxDEPTH`).
pub fn start_xvfb_sized(dir: &Path, size: &str, extra: &[&str]) -> (Killed, String) {
    for n in 90..140 {
        if display_in_use(n) {
            continue;
        }
        let child = Command::new("Xvfb")
            .args([
                &format!(":{n}"),
                "-screen",
                "0",
                size,
                "-nolisten",
                "tcp",
                "-fbdir",
            ])
            .arg(dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (package xvfb)");
        let mut xvfb = Killed(child);
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
        let screen = dir.join("Xvfb_screen0");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            // A killed server leaves its socket behind: the screen file,
            // in this test's own folder, says that this one is up.
            if socket.exists() && screen.exists() {
                return (xvfb, format!(":{n}"));
            }
            if let Ok(Some(_)) = xvfb.0.try_wait() {
                break; // lost a race for this display: try the next
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("no free X display for Xvfb");
}
