//! The database key in a real keyring: gnome-keyring's Secret Service in a
//! private D-Bus session this test starts for itself. And without any bus:
//! a clear error at once, not a hang.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use talkline_store::{KeyVault, KeyringVault, Store, StoreError, wipe};

const INSIDE: &str = "TALKLINE_TEST_INSIDE";

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("keyring-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Runs `test` again in a child process prepared by `wrap`; true in the child.
fn rerun(test: &str, mode: &str, wrap: impl FnOnce(&mut Command)) -> bool {
    if std::env::var(INSIDE).as_deref() == Ok(mode) {
        return true;
    }
    let exe = std::env::current_exe().expect("test binary");
    let mut cmd = Command::new("sh");
    wrap(&mut cmd);
    cmd.arg(exe)
        .args(["--exact", test, "--nocapture"])
        .env(INSIDE, mode);
    let status = cmd.status().expect("start the child test");
    assert!(status.success(), "{test} failed in its {mode} environment");
    false
}

/// What the Secret Service itself holds for our entry (empty if nothing).
fn secret_tool_lookup() -> std::process::Output {
    Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            "talkline-test",
            "username",
            "database-key",
        ])
        .output()
        .expect("secret-tool (package libsecret-tools)")
}

#[test]
fn key_lives_in_the_secret_service_and_wipe_removes_it() {
    let test = "key_lives_in_the_secret_service_and_wipe_removes_it";
    let home = scratch("home");
    let inside = rerun(test, "keyring", |cmd| {
        // A private session bus with an unlocked gnome-keyring on it.
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_RUNTIME_DIR", &home)
            .arg("-c")
            .arg(
                "exec dbus-run-session -- sh -c 'echo -n talkline-test | gnome-keyring-daemon --unlock \
                 --components=secrets >/dev/null && exec \"$0\" \"$@\"' \"$@\"",
            )
            .arg("sh");
    });
    if !inside {
        return;
    }
    let vault = KeyringVault::new("talkline-test", "database-key");
    vault.delete().expect("start clean");
    assert!(vault.load().expect("keyring reachable").is_none());

    let db = scratch("db").join("talkline.db");
    let store = Store::open_or_create(&db, &vault).expect("first start creates the key");
    store
        .set_setting("display_name", "Ottoline")
        .expect("write");
    drop(store);
    let key = vault
        .load()
        .expect("load")
        .expect("the key is in the keyring");
    // Independently of our code: the Secret Service holds it.
    let lookup = secret_tool_lookup();
    assert_eq!(String::from_utf8_lossy(&lookup.stdout).trim(), key.to_hex());

    let store = Store::open_or_create(&db, &vault).expect("reopen with the keyring's key");
    assert_eq!(
        store.setting("display_name").expect("read").as_deref(),
        Some("Ottoline")
    );
    drop(store);

    wipe(&db, &vault).expect("wipe");
    assert!(!db.exists() && vault.load().expect("load").is_none());
    let lookup = secret_tool_lookup();
    assert!(lookup.stdout.is_empty(), "the key is still in the keyring");
}

#[test]
fn no_keyring_is_a_clear_error_not_a_hang() {
    let test = "no_keyring_is_a_clear_error_not_a_hang";
    let inside = rerun(test, "no-bus", |cmd| {
        cmd.env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/talkline-bus",
        )
        .arg("-c")
        .arg("exec \"$0\" \"$@\"");
    });
    if !inside {
        return;
    }
    let started = Instant::now();
    let vault = KeyringVault::talkline();
    let db = scratch("nobus").join("talkline.db");
    let err = Store::open_or_create(&db, &vault).expect_err("no keyring");
    assert!(matches!(err, StoreError::KeyringUnavailable(_)), "{err}");
    assert!(err.to_string().contains("keyring"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        !db.exists(),
        "no database may be created without a key in the keyring"
    );
}
