//! One running app per user. A second start (a meeting link opened from a
//! browser or `xdg-open`, the launcher clicked again) hands its link to the
//! app that runs and ends, instead of opening a second window.
//!
//! The running app holds an exclusive lock on `instance.lock` in the user's
//! runtime folder (`$XDG_RUNTIME_DIR`, which only the user can enter) for
//! as long as it runs, so two starts at once cannot both become it, and
//! serves `instance.sock` there from its first moments. The socket carries
//! one message: the link, or nothing to bring the window forward. The
//! running app reads at most a link's worth, for at most 2 s in all, and
//! checks it like any link it is given; it answers "ok" or what was wrong,
//! which the second start prints. A start that finds the lock held never
//! opens a window of its own, even if the running app does not answer.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use talkline_client::MAX_OPENED_LINK_BYTES;

const SOCKET_NAME: &str = "instance.sock";
const LOCK_NAME: &str = "instance.lock";
/// A start that connects and then sends slowly or nothing is not waited
/// for longer than this in all.
const READ_DEADLINE: Duration = Duration::from_secs(2);
/// How long a second start waits for the running app's socket (it is
/// served from the app's first moments).
const CONNECT_WAIT: Duration = Duration::from_secs(5);
/// How long a second start waits for the running app's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// What starting found.
pub enum Claim {
    /// No app runs: this one is it, holds the lock, and listens for later
    /// starts.
    First(Instance),
    /// An app runs and took the link (or was brought forward).
    HandedOver,
    /// An app runs and refused the link, saying why.
    Refused(String),
}

/// The running app's hold: the lock (released when the process ends,
/// however it ends) and the socket later starts reach it on.
pub struct Instance {
    _lock: File,
    listener: UnixListener,
    socket: PathBuf,
}

/// The folder of the socket: `$XDG_RUNTIME_DIR/talkline`, or a folder of
/// the user's own under the temporary folder where there is none.
pub fn socket_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("talkline"),
        // SAFETY: getuid cannot fail.
        _ => std::env::temp_dir().join(format!("talkline-{}", unsafe { libc::getuid() })),
    }
}

/// Hands `link` to the running app if there is one; otherwise listens.
pub fn claim(dir: &Path, link: Option<&str>) -> io::Result<Claim> {
    private_folder(dir)?;
    let (lock, locked) = try_lock(dir)?;
    let socket = dir.join(SOCKET_NAME);
    if locked {
        // Ours alone now: a socket left there is a crashed app's.
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket)?;
        return Ok(Claim::First(Instance {
            _lock: lock,
            listener,
            socket,
        }));
    }
    // Another start holds the lock: it runs, or is starting and about to
    // listen. Never a second window, whatever happens next.
    let started = Instant::now();
    loop {
        match UnixStream::connect(&socket) {
            Ok(stream) => return hand_over(stream, link.unwrap_or("")),
            Err(_) if started.elapsed() < CONNECT_WAIT => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => {
                return Ok(Claim::Refused(format!(
                    "TalkLine is running but does not answer ({e}); try again, or close it first"
                )));
            }
        }
    }
}

/// Opens the lock file and tries to take it (without waiting): whether
/// this open file now holds it. flock is per open file, and goes when the
/// file is closed, however the process ends.
fn try_lock(dir: &Path) -> io::Result<(File, bool)> {
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(LOCK_NAME))?;
    // SAFETY: flock on a descriptor this function owns.
    let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    Ok((lock, locked))
}

/// The folder exists, is a folder (not a link to one), belongs to this
/// user and only they may enter it: nobody else can listen in its place.
fn private_folder(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let meta = std::fs::symlink_metadata(dir)?;
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    if !meta.is_dir() || meta.uid() != uid || meta.permissions().mode() & 0o077 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{} is not a private folder of this user", dir.display()),
        ));
    }
    Ok(())
}

impl Instance {
    /// Serves later starts until the app ends: each message goes to
    /// `open`, whose answer goes back ("ok" or the reason). The socket is
    /// removed when the process ends normally (`release`).
    pub fn serve(self, open: impl Fn(&str) -> Result<(), String> + Send + 'static) -> Release {
        let release = Release(self.socket.clone());
        let Instance {
            _lock, listener, ..
        } = self;
        let spawned = std::thread::Builder::new()
            .name("single-instance".into())
            .spawn(move || {
                // The lock lives as long as this thread: the whole process.
                let _lock = _lock;
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { continue };
                    let answer = match read_message(&mut stream) {
                        Ok(text) => match open(&text) {
                            Ok(()) => "ok".to_string(),
                            Err(why) => why,
                        },
                        Err(why) => why,
                    };
                    let _ = stream.write_all(answer.as_bytes());
                }
            });
        if let Err(e) = spawned {
            log::warn!("later starts of the app cannot reach this one: {e}");
        }
        release
    }
}

/// Removes the running app's socket as it ends (a crash leaves it; the next
/// start, holding the lock, replaces it).
pub struct Release(PathBuf);

impl Release {
    pub fn release(&self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn hand_over(mut stream: UnixStream, link: &str) -> io::Result<Claim> {
    let mut exchange = || -> io::Result<String> {
        stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
        stream.set_write_timeout(Some(ANSWER_TIMEOUT))?;
        stream.write_all(link.as_bytes())?;
        stream.shutdown(std::net::Shutdown::Write)?;
        let mut answer = String::new();
        (&mut stream).take(4096).read_to_string(&mut answer)?;
        Ok(answer)
    };
    // Reached but not answered: still never a second window.
    let answer = match exchange() {
        Ok(answer) => answer,
        Err(e) => {
            return Ok(Claim::Refused(format!(
                "TalkLine is running but did not answer ({e}); try again, or close it first"
            )));
        }
    };
    match answer.trim_end() {
        "ok" => Ok(Claim::HandedOver),
        refused => Ok(Claim::Refused(refused.to_string())),
    }
}

fn read_message(stream: &mut UnixStream) -> Result<String, String> {
    let deadline = Instant::now() + READ_DEADLINE;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err("the link did not arrive in time".into());
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // The read timeout is what was left of the deadline.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err("the link did not arrive in time".into());
            }
            Err(e) => return Err(format!("the link could not be read: {e}")),
        }
        if bytes.len() > MAX_OPENED_LINK_BYTES {
            // Read on (a little, for what is left of the time) so that the
            // sender gets the reason rather than a reset connection.
            let _ = io::copy(&mut (&mut *stream).take(1 << 20), &mut io::sink());
            return Err(format!(
                "a meeting link is at most {MAX_OPENED_LINK_BYTES} bytes"
            ));
        }
    }
    String::from_utf8(bytes).map_err(|_| "the link is not text".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "talkline-instance-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// The first start in `dir`: nobody ran before.
    fn first(dir: &Path) -> Instance {
        match claim(dir, None).expect("first") {
            Claim::First(instance) => instance,
            _ => panic!("nobody ran before"),
        }
    }

    #[test]
    fn a_second_start_hands_its_link_to_the_first() {
        let dir = scratch();
        let instance = first(&dir);
        let (tx, rx) = std::sync::mpsc::channel();
        let _release = instance.serve(move |link| {
            if link.contains("bad") {
                return Err("not a meeting link".into());
            }
            tx.send(link.to_string()).map_err(|e| e.to_string())
        });
        assert!(matches!(
            claim(&dir, Some("talkline://join?room=1")).expect("second"),
            Claim::HandedOver
        ));
        assert_eq!(rx.recv().expect("link"), "talkline://join?room=1");
        // No link: only brought forward.
        assert!(matches!(
            claim(&dir, None).expect("third"),
            Claim::HandedOver
        ));
        assert_eq!(rx.recv().expect("empty"), "");
        match claim(&dir, Some("bad")).expect("fourth") {
            Claim::Refused(why) => assert_eq!(why, "not a meeting link"),
            _ => panic!("a bad link was taken"),
        }
        let huge = "x".repeat(MAX_OPENED_LINK_BYTES + 10);
        match claim(&dir, Some(&huge)).expect("fifth") {
            Claim::Refused(why) => assert!(why.contains("at most"), "{why}"),
            _ => panic!("a huge link was taken"),
        }
    }

    #[test]
    fn a_socket_left_by_a_crashed_app_is_taken_over() {
        let dir = scratch();
        let instance = first(&dir);
        drop(instance); // the lock goes and the socket file stays, as after a crash
        assert!(dir.join(SOCKET_NAME).exists());
        assert!(matches!(claim(&dir, None).expect("again"), Claim::First(_)));
    }

    #[test]
    fn a_start_while_another_holds_the_lock_never_becomes_the_first() {
        let dir = scratch();
        // Another start holds the lock but has not listened yet, and never
        // will: this start says so instead of opening a window.
        private_folder(&dir).expect("folder");
        let (_lock, locked) = try_lock(&dir).expect("lock file");
        assert!(locked);
        // flock is per open file: this process's second open contends.
        match claim(&dir, None).expect("claim") {
            Claim::Refused(why) => assert!(why.contains("does not answer"), "{why}"),
            _ => panic!("became the first while the lock was held"),
        }
    }

    #[test]
    fn a_sender_that_trickles_is_cut_off_at_the_deadline() {
        let dir = scratch();
        let instance = first(&dir);
        let _release = instance.serve(|_| Ok(()));
        let mut slow = UnixStream::connect(dir.join(SOCKET_NAME)).expect("connect");
        let started = Instant::now();
        let mut answer = String::new();
        for _ in 0..30 {
            if slow.write_all(b"t").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = slow.read_to_string(&mut answer);
        assert!(answer.contains("did not arrive in time"), "{answer:?}");
        assert!(started.elapsed() < Duration::from_secs(4));
        // And the next start is served.
        assert!(matches!(
            claim(&dir, None).expect("next"),
            Claim::HandedOver
        ));
    }

    #[test]
    fn a_folder_that_is_a_link_is_refused() {
        let dir = scratch();
        let real = dir.with_extension("real");
        let _ = std::fs::remove_dir_all(&real);
        std::fs::create_dir_all(&real).expect("dir");
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        std::os::unix::fs::symlink(&real, &dir).expect("symlink");
        let err = claim(&dir, None).err().expect("refused");
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
    }

    #[test]
    fn a_folder_others_may_enter_is_refused() {
        let dir = scratch();
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let err = claim(&dir, None).err().expect("refused");
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
    }
}
