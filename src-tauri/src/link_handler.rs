//! On Linux, an app that no package installed (a build run from its
//! folder, an unpacked bundle) registers itself for `talkline://` links
//! when it starts, as the package's desktop entry does for an installed
//! one: an entry of its own in the user's applications folder, made the
//! scheme's handler when nothing else is. A handler the user or a package
//! set is never taken over.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The package's entry, the template of the local one.
const TEMPLATE: &str = include_str!("../linux/talkline.desktop");
/// Another name than the package's, so that neither hides the other.
pub const LOCAL_ENTRY: &str = "talkline-local.desktop";
const SCHEME: &str = "x-scheme-handler/talkline";

/// Whether `exe` is where packages put programs: then its package's entry
/// speaks for it.
pub fn installed_by_a_package(exe: &Path) -> bool {
    ["/usr/", "/opt/", "/snap/", "/app/"]
        .iter()
        .any(|root| exe.starts_with(root))
}

/// The local entry for the program at `exe`; `None` for a path an `Exec`
/// line cannot carry as it is (quotes, `$`, backquotes, backslashes, `%`,
/// control characters: the desktop entry spec's escapes differ between
/// readers).
pub fn entry_for(exe: &Path) -> Option<String> {
    let exe = exe.to_str()?;
    if exe
        .chars()
        .any(|c| matches!(c, '"' | '`' | '$' | '\\' | '%') || c.is_control())
    {
        return None;
    }
    // Quoted only where the spec needs it (a space, say): xdg-open's own
    // reader, used where no desktop environment runs, takes the first
    // word as it is, quotes and all.
    let plain = exe
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._+-@,:=".contains(c));
    let exec = if plain {
        format!("Exec={exe} %u")
    } else {
        format!("Exec=\"{exe}\" %u")
    };
    let entry = TEMPLATE
        .replace("Exec=talkline-app %u", &exec)
        // Not shown in menus beside the installed app: it is for links.
        .replace("StartupNotify=true", "StartupNotify=true\nNoDisplay=true");
    entry.contains(&exec).then_some(entry)
}

/// The user's applications folder (`$XDG_DATA_HOME/applications`).
pub fn applications_dir() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("applications"))
}

/// What handles the scheme now, as `xdg-mime` says ("" for nothing).
fn handler_now() -> Result<String, String> {
    let out = Command::new("xdg-mime")
        .args(["query", "default", SCHEME])
        .output()
        .map_err(|e| format!("xdg-mime (package xdg-utils): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "xdg-mime could not say what opens the links ({})",
            out.status
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn make_default(entry: &str) -> Result<bool, String> {
    let status = Command::new("xdg-mime")
        .args(["default", entry, SCHEME])
        .status()
        .map_err(|e| format!("xdg-mime: {e}"))?;
    Ok(status.success())
}

/// Whether a package's entry is installed (in `$XDG_DATA_DIRS`): then the
/// desktop may already fall back to it, and a local one would shadow it.
fn package_entry_installed() -> bool {
    let dirs = std::env::var("XDG_DATA_DIRS")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "/usr/local/share:/usr/share".into());
    dirs.split(':')
        .any(|d| Path::new(d).join("applications/talkline.desktop").exists())
}

/// Whether nobody but the user (or root) can put another program at
/// `exe`: it and every folder above it belong to them and nobody else may
/// write there. A build in a shared folder (`/tmp`) is not registered: once
/// it is gone, someone else's program could answer the links.
pub fn only_ours(exe: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: getuid has no preconditions and cannot fail.
    let me = unsafe { libc::getuid() };
    if exe.to_string_lossy().ends_with(" (deleted)") {
        return false;
    }
    exe.ancestors().all(|p| {
        std::fs::symlink_metadata(p)
            .is_ok_and(|m| (m.uid() == me || m.uid() == 0) && m.mode() & 0o022 == 0)
    })
}

/// Writes the local entry (when it differs) and makes it the handler if
/// there is none; returns whether it handles the links now. A handler set
/// by the user or a package, or a package's entry the desktop would fall
/// back to, is left alone: nothing is written then.
pub fn register(exe: &Path, applications: &Path) -> Result<bool, String> {
    let entry = entry_for(exe)
        .ok_or_else(|| format!("{} cannot be written in a desktop entry", exe.display()))?;
    let handler = handler_now()?;
    if !(handler.is_empty() || handler == LOCAL_ENTRY) || package_entry_installed() {
        return Ok(false);
    }
    let path = applications.join(LOCAL_ENTRY);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(entry.as_str()) {
        std::fs::create_dir_all(applications)
            .map_err(|e| format!("{}: {e}", applications.display()))?;
        // Its own name, never an existing file (nor a link someone left).
        let partial = applications.join(format!("{LOCAL_ENTRY}.{}.partial", std::process::id()));
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)
            .and_then(|mut f| std::io::Write::write_all(&mut f, entry.as_bytes()))
            .and_then(|()| std::fs::rename(&partial, &path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&partial);
            return Err(format!("{}: {e}", path.display()));
        }
    }
    if handler.is_empty() {
        make_default(LOCAL_ENTRY)
    } else {
        Ok(true)
    }
}

/// The installed app takes back links a build once registered for
/// (the build may be gone); returns whether it did.
pub fn hand_back_to_the_package(applications: &Path) -> Result<bool, String> {
    if handler_now()? != LOCAL_ENTRY {
        return Ok(false);
    }
    let _ = std::fs::remove_file(applications.join(LOCAL_ENTRY));
    make_default("talkline.desktop")
}

/// At start, off the window's way: registers this program unless a
/// package installed it (which takes the links back from a build that
/// had them). Says in the log what happened.
pub fn register_in_background() {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let Some(applications) = applications_dir() else {
        return;
    };
    std::thread::spawn(move || {
        if installed_by_a_package(&exe) {
            match hand_back_to_the_package(&applications) {
                Ok(true) => log::info!("talkline:// links open the installed app again"),
                Ok(false) => {}
                Err(e) => log::warn!("talkline:// links not checked: {e}"),
            }
            return;
        }
        if !only_ours(&exe) {
            log::info!(
                "talkline:// links not registered: this build is in a folder others may write to"
            );
            return;
        }
        match register(&exe, &applications) {
            Ok(true) => log::info!("talkline:// links open this build"),
            Ok(false) => {
                log::info!("talkline:// links are handled by another entry; left as it is")
            }
            Err(e) => log::warn!("talkline:// links not registered: {e}"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packaged_programs_are_left_to_their_package() {
        for packaged in ["/usr/bin/talkline-app", "/opt/TalkLine/talkline-app"] {
            assert!(installed_by_a_package(Path::new(packaged)), "{packaged}");
        }
        for built in [
            "/home/ada/src/talkline/target/release/talkline-app",
            "/tmp/x/talkline-app",
        ] {
            assert!(!installed_by_a_package(Path::new(built)), "{built}");
        }
    }

    #[test]
    fn a_build_in_a_folder_others_may_write_to_is_not_registered() {
        let shared = std::env::temp_dir().join(format!("talkline-link-{}", std::process::id()));
        std::fs::create_dir_all(&shared).expect("a folder in the shared temp dir");
        let exe = shared.join("talkline-app");
        std::fs::write(&exe, b"").expect("a program");
        // /tmp itself is writable by everyone.
        assert!(!only_ours(&exe));
        let _ = std::fs::remove_dir_all(&shared);
        let gone = PathBuf::from("/home/ada/target/talkline-app (deleted)");
        assert!(!only_ours(&gone));
    }

    #[test]
    fn the_local_entry_runs_this_program_quoted_and_stays_out_of_menus() {
        let entry = entry_for(Path::new("/home/ada/My Builds/talkline-app")).expect("an entry");
        assert!(
            entry.contains("\nExec=\"/home/ada/My Builds/talkline-app\" %u\n"),
            "{entry}"
        );
        assert!(entry.contains("MimeType=x-scheme-handler/talkline;"));
        assert!(entry.contains("\nNoDisplay=true"));
        assert!(!entry.contains("Exec=talkline-app"));
        let plain =
            entry_for(Path::new("/home/ada/src/target/debug/talkline-app")).expect("an entry");
        assert!(
            plain.contains("\nExec=/home/ada/src/target/debug/talkline-app %u\n"),
            "{plain}"
        );
        for unsafe_path in [
            "/tmp/a\"b/app",
            "/tmp/$HOME/app",
            "/tmp/a`b`/app",
            "/tmp/a\\b/app",
            "/tmp/100%/app",
            "/tmp/a\nb/app",
        ] {
            assert_eq!(entry_for(Path::new(unsafe_path)), None, "{unsafe_path:?}");
        }
    }
}
