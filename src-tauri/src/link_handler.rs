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
        .all(|c| c.is_ascii_alphanumeric() || "/._+-@~,:=".contains(c));
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
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Writes the local entry (when it differs) and makes it the handler if
/// there is none; returns whether it handles the links now.
pub fn register(exe: &Path, applications: &Path) -> Result<bool, String> {
    let entry = entry_for(exe)
        .ok_or_else(|| format!("{} cannot be written in a desktop entry", exe.display()))?;
    let path = applications.join(LOCAL_ENTRY);
    if std::fs::read_to_string(&path).ok().as_deref() != Some(entry.as_str()) {
        std::fs::create_dir_all(applications)
            .map_err(|e| format!("{}: {e}", applications.display()))?;
        let partial = applications.join(format!("{LOCAL_ENTRY}.partial"));
        std::fs::write(&partial, &entry)
            .and_then(|()| std::fs::rename(&partial, &path))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    match handler_now()?.as_str() {
        LOCAL_ENTRY => Ok(true),
        "" => {
            let status = Command::new("xdg-mime")
                .args(["default", LOCAL_ENTRY, SCHEME])
                .status()
                .map_err(|e| format!("xdg-mime: {e}"))?;
            Ok(status.success())
        }
        // The package's, or one the user chose.
        _ => Ok(false),
    }
}

/// At start, off the window's way: registers this program unless a
/// package installed it. Says in the log what happened.
pub fn register_in_background() {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    if installed_by_a_package(&exe) {
        return;
    }
    let Some(applications) = applications_dir() else {
        return;
    };
    std::thread::spawn(move || match register(&exe, &applications) {
        Ok(true) => log::info!("talkline:// links open this build"),
        Ok(false) => log::info!("talkline:// links are handled by another entry; left as it is"),
        Err(e) => log::warn!("talkline:// links not registered: {e}"),
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
