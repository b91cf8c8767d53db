//! One running app per user. A second start (a meeting link opened from a
//! browser or `xdg-open`, the launcher clicked again) hands its link to the
//! app that runs and ends, instead of opening a second window.
//!
//! A Unix socket in the user's runtime folder (`$XDG_RUNTIME_DIR`, which
//! only the user can enter) carries one message: the link, or nothing to
//! bring the window forward. The running app reads at most a link's worth,
//! for at most 2 s, and checks it like any link it is given; it answers
//! "ok" or what was wrong, which the second start prints.

use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use talkline_client::MAX_OPENED_LINK_BYTES;

const SOCKET_NAME: &str = "instance.sock";
/// A start that connects and then sends nothing is not waited for longer.
const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a second start waits for the running app's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// What starting found.
pub enum Claim {
    /// No app runs: this one is it, and listens for later starts.
    First(UnixListener),
    /// An app runs and took the link (or was brought forward).
    HandedOver,
    /// An app runs and refused the link, saying why.
    Refused(String),
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
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // A folder someone else made, or one others may enter, is not ours to
    // trust with what the socket carries.
    let meta = std::fs::metadata(dir)?;
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    if std::os::unix::fs::MetadataExt::uid(&meta) != uid || meta.permissions().mode() & 0o077 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{} is not a private folder of this user", dir.display()),
        ));
    }
    let path = dir.join(SOCKET_NAME);
    for _ in 0..2 {
        match UnixStream::connect(&path) {
            Ok(stream) => return hand_over(stream, link.unwrap_or("")),
            // Nobody listens: a socket left by an app that crashed, or none.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound
                ) =>
            {
                let _ = std::fs::remove_file(&path);
                match UnixListener::bind(&path) {
                    Ok(listener) => return Ok(Claim::First(listener)),
                    // Another start bound it just now: hand over to it.
                    Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(
        "another start of the app holds the socket",
    ))
}

/// Removes the socket as the app ends (a crash leaves it; `claim` then
/// finds nobody listening and takes it over).
pub fn release(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(SOCKET_NAME));
}

fn hand_over(mut stream: UnixStream, link: &str) -> io::Result<Claim> {
    stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
    stream.set_write_timeout(Some(ANSWER_TIMEOUT))?;
    stream.write_all(link.as_bytes())?;
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut answer = String::new();
    stream.take(4096).read_to_string(&mut answer)?;
    match answer.trim_end() {
        "ok" => Ok(Claim::HandedOver),
        refused => Ok(Claim::Refused(refused.to_string())),
    }
}

/// Serves later starts until the app ends: each message goes to `open`,
/// whose answer goes back ("ok" or the reason).
pub fn serve(listener: UnixListener, open: impl Fn(&str) -> Result<(), String> + Send + 'static) {
    std::thread::Builder::new()
        .name("single-instance".into())
        .spawn(move || {
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
        })
        .map(|_| ())
        .unwrap_or_else(|e| log::warn!("later starts of the app cannot reach this one: {e}"));
}

fn read_message(stream: &mut UnixStream) -> Result<String, String> {
    stream
        .set_read_timeout(Some(READ_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    (&mut *stream)
        .take(MAX_OPENED_LINK_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("the link could not be read: {e}"))?;
    if bytes.len() > MAX_OPENED_LINK_BYTES {
        // Read on (a little, for a little) so the sender gets the reason
        // rather than a reset connection.
        let _ = io::copy(&mut (&mut *stream).take(1 << 20), &mut io::sink());
        return Err(format!(
            "a meeting link is at most {MAX_OPENED_LINK_BYTES} bytes"
        ));
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

    #[test]
    fn a_second_start_hands_its_link_to_the_first() {
        let dir = scratch();
        let Claim::First(listener) = claim(&dir, None).expect("first") else {
            panic!("nobody ran before");
        };
        let (tx, rx) = std::sync::mpsc::channel();
        serve(listener, move |link| {
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
        let Claim::First(listener) = claim(&dir, None).expect("first") else {
            panic!("nobody ran before");
        };
        drop(listener); // the socket file stays, as after a crash
        assert!(dir.join(SOCKET_NAME).exists());
        assert!(matches!(claim(&dir, None).expect("again"), Claim::First(_)));
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
