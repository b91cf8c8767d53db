//! WebKitGTK runs the page and its storage in helper processes of ours
//! (WebKitWebProcess, WebKitNetworkProcess). They can still write to the
//! webview's storage folder after the window is gone: the network process
//! recreated an `origin` file there after the last deletion at withdrawal,
//! in about one exit in three (tests/e2e/window.rs). They do not end on
//! their own while our process lives (they went on for the whole 1.5 s
//! the app used to wait, on every withdrawal), so after a withdrawal the
//! app asks them to stop at once, waits for them, and only then deletes
//! the folder for the last time.

use std::time::{Duration, Instant};

/// How the helpers' end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpersEnd {
    /// None was running.
    NoneRunning,
    /// They ended once asked to (SIGTERM).
    Stopped { helpers: usize },
    /// Some still run `GRACE` after being asked.
    StillRunning { helpers: usize },
}

/// How long the helpers get to end once asked to stop (SIGTERM).
const GRACE: Duration = Duration::from_millis(1500);

/// Asks every WebKit helper process of this app to stop and waits until
/// none is left. Only for after the window is gone: what they would still
/// write is what the caller deletes next.
pub fn stop_all() -> HelpersEnd {
    let running = helpers();
    if running.is_empty() {
        return HelpersEnd::NoneRunning;
    }
    for &pid in &running {
        // SAFETY: kill(2) takes no memory of ours. The pid was read as our
        // own live child a moment ago; if it exited and was reaped since,
        // the call fails, and only a pid reused within that moment could
        // be hit instead (a pidfd would close that gap).
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
    let helpers = running.len();
    if wait(GRACE) {
        HelpersEnd::Stopped { helpers }
    } else {
        HelpersEnd::StillRunning { helpers }
    }
}

fn wait(limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if helpers().is_empty() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Our child processes that are WebKit's, as the kernel lists them per
/// thread in /proc/self/task/*/children. Zombies count as gone. A kernel
/// without that file (CONFIG_PROC_CHILDREN off) lists none, and the app
/// deletes at once, as it did before.
fn helpers() -> Vec<libc::pid_t> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut pids: Vec<libc::pid_t> = tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<libc::pid_t>>()
        })
        .filter(|pid| is_live_webkit_helper(*pid))
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

fn is_live_webkit_helper(pid: libc::pid_t) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "pid (comm) state ...": comm may hold spaces, so split at the last ')'.
    let Some((head, tail)) = stat.rsplit_once(')') else {
        return false;
    };
    let comm = head.split_once('(').map_or("", |(_, c)| c);
    let zombie = tail.trim_start().starts_with('Z');
    comm.starts_with("WebKit") && !zombie
}
