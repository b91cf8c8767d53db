//! The real SQLCipher file on disk: encrypted, refusing wrong keys, never
//! recreated over data it cannot read.

use std::path::{Path, PathBuf};

use talkline_store::{
    ConsentRecord, DatabaseKey, HostedRecord, KeyVault, MemoryVault, Store, StoreError, quarantine,
    wipe,
};

const NAME: &str = "Zebulon Quartermaine";
/// A hosted meeting's secret: never on disk in the clear, never exported.
const HOST_KEY: &str = "5ec4e7005ec4e7005ec4e7005ec4e700";

fn scratch(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join("talkline.db")
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn fill(store: &Store) {
    store.set_setting("display_name", NAME).expect("setting");
    let id = store
        .add_meeting("ws://127.0.0.1:8188", 1234, NAME, 1_700_000_000)
        .expect("meeting");
    store.finish_meeting(id, 1_700_000_600).expect("finish");
    store
        .add_scan(
            "talkline://join?server=ws://127.0.0.1:8188&room=1234",
            1_700_000_010,
        )
        .expect("scan");
    store
        .add_schedule("Standup with Zebulon", "1234", 1_700_086_400, 1_700_088_200)
        .expect("schedule");
    store
        .add_hosted_meeting(&HostedRecord {
            server: "ws://127.0.0.1:8188".into(),
            room: 4_242_424_242,
            pin: Some("pear".into()),
            host_key: HOST_KEY.into(),
            entry_token: "e".repeat(32),
            waiting_room: true,
            created_at: 1_700_000_000,
        })
        .expect("hosted meeting");
    let recording = store
        .add_recording(
            "/home/zebulon/Videos/TalkLine meeting 1234.webm",
            1234,
            1_700_000_100,
        )
        .expect("recording");
    store
        .recorded(recording, 65_000, 4_000_000)
        .expect("recorded");
    store
        .record_consent(&ConsentRecord {
            subject: "policy".into(),
            granted: true,
            policy_version: "1".into(),
            decided_at: 1_699_999_999,
        })
        .expect("consent");
}

#[test]
fn file_on_disk_holds_no_plaintext_and_data_comes_back() {
    let path = scratch("plain");
    let vault = MemoryVault::default();
    {
        let store = Store::open_or_create(&path, &vault).expect("create");
        assert_eq!(store.schema_version().expect("version"), 3);
        fill(&store);
    }
    let bytes = std::fs::read(&path).expect("db file");
    assert!(
        !contains(&bytes, NAME)
            && !contains(&bytes, HOST_KEY)
            && !contains(&bytes, "Zebulon")
            && !contains(&bytes, "SQLite format 3")
    );

    // The search itself works: the same data without a key is plaintext.
    let control = scratch("control");
    {
        let conn = rusqlite_plain(&control);
        conn.execute_batch(&format!(
            "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('{NAME}');"
        ))
        .expect("plain db");
    }
    assert!(contains(
        &std::fs::read(&control).expect("control file"),
        NAME
    ));

    let store = Store::open_or_create(&path, &vault).expect("reopen");
    assert_eq!(
        store.setting("display_name").expect("setting").as_deref(),
        Some(NAME)
    );
    let meetings = store.meetings().expect("meetings");
    assert_eq!(
        (meetings[0].room, meetings[0].left_at),
        (1234, Some(1_700_000_600))
    );
    assert_eq!(
        store.consent("policy").expect("consent").map(|c| c.granted),
        Some(true)
    );
    let export = store.export().expect("export");
    let hosted = store
        .hosted_meeting("ws://127.0.0.1:8188", 4_242_424_242)
        .expect("hosted")
        .expect("kept");
    assert_eq!(hosted.host_key, HOST_KEY);
    assert!(!format!("{hosted:?}").contains(HOST_KEY));
    for table in [
        "settings",
        "meetings",
        "schedules",
        "scans",
        "consent",
        "hosted_meetings",
        "recordings",
    ] {
        assert_eq!(
            export[table].as_array().map(Vec::len),
            Some(1),
            "{table}: {export:#}"
        );
    }
    // A secret among the settings is exported as being set, not as it is.
    store
        .set_setting("ice_credential", "turn-secret-42")
        .expect("setting");
    let export = store.export().expect("export").to_string();
    assert!(
        !export.contains("turn-secret-42") && export.contains("(set, not shown)"),
        "{export}"
    );
    assert!(
        !export.contains(HOST_KEY) && !export.contains("pear"),
        "{export}"
    );
    store.delete_history().expect("delete history");
    assert!(
        store
            .hosted_meeting("ws://127.0.0.1:8188", 4_242_424_242)
            .expect("hosted")
            .is_none()
    );
    assert!(
        store.meetings().expect("meetings").is_empty() && store.scans().expect("scans").is_empty()
    );
    assert!(store.setting("display_name").expect("setting").is_some());
    // Recordings are files the user made, not history: deleted one by one
    // (or on withdrawal), not with the history.
    let recordings = store.recordings().expect("recordings");
    assert_eq!(recordings.len(), 1);
    assert_eq!(
        (
            recordings[0].room,
            recordings[0].duration_ms,
            recordings[0].bytes
        ),
        (1234, Some(65_000), Some(4_000_000))
    );
    assert!(store.delete_recording(recordings[0].id).expect("delete"));
    assert!(!store.delete_recording(recordings[0].id).expect("gone"));
}

/// An unencrypted SQLite file, for the control above (SQLCipher with no key
/// writes plain SQLite).
fn rusqlite_plain(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("plain sqlite")
}

#[test]
fn wrong_key_corrupt_file_and_missing_key_are_clear_errors_and_touch_nothing() {
    let path = scratch("wrong");
    let vault = MemoryVault::default();
    drop(Store::open_or_create(&path, &vault).expect("create"));
    let before = std::fs::read(&path).expect("db");

    let err = Store::open(&path, &DatabaseKey::random()).expect_err("wrong key");
    assert!(
        matches!(err, StoreError::WrongKeyOrNotADatabase { .. }),
        "{err}"
    );

    // The key is gone from the keyring: refuse, do not start over.
    vault.delete().expect("delete key");
    let err = Store::open_or_create(&path, &vault).expect_err("missing key");
    assert!(matches!(err, StoreError::KeyMissing { .. }), "{err}");
    assert!(err.to_string().contains("move the file aside"), "{err}");
    assert_eq!(
        std::fs::read(&path).expect("db"),
        before,
        "the database was modified"
    );

    // Garbage where the database should be.
    let garbage = scratch("garbage");
    std::fs::write(&garbage, vec![0x5au8; 8192]).expect("garbage");
    let vault = MemoryVault::default();
    vault.save(&DatabaseKey::random()).expect("key");
    let err = Store::open_or_create(&garbage, &vault).expect_err("garbage");
    assert!(
        matches!(err, StoreError::WrongKeyOrNotADatabase { .. }),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&garbage).expect("garbage"),
        vec![0x5au8; 8192]
    );

    // The explicit recovery path: move it aside, then start fresh.
    let moved = quarantine(&garbage, "test").expect("quarantine");
    assert!(moved.exists() && !garbage.exists());
    vault.delete().expect("delete key");
    Store::open_or_create(&garbage, &vault).expect("fresh start");
}

#[test]
fn a_locked_database_says_so() {
    let path = scratch("locked");
    let vault = MemoryVault::default();
    let store = Store::open_or_create(&path, &vault).expect("create");
    let key = vault.load().expect("vault").expect("key");
    // Another connection holds a write lock.
    let other = rusqlite::Connection::open(&path).expect("second connection");
    other
        .execute_batch(&format!(
            "PRAGMA key = \"x'{}'\"; BEGIN EXCLUSIVE;",
            key.to_hex()
        ))
        .expect("exclusive lock");
    let err = store.set_setting("k", "v").expect_err("locked");
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    let err = Store::open(&path, &key).expect_err("locked at open");
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    other.execute_batch("ROLLBACK").expect("unlock");
    store.set_setting("k", "v").expect("unlocked");
}

#[test]
fn wipe_removes_the_database_and_its_key() {
    let path = scratch("wipe");
    let vault = MemoryVault::default();
    fill(&Store::open_or_create(&path, &vault).expect("create"));
    wipe(&path, &vault).expect("wipe");
    assert!(!path.exists());
    assert!(vault.load().expect("vault").is_none());
    // The next start is a first start.
    let store = Store::open_or_create(&path, &vault).expect("first start again");
    assert!(store.meetings().expect("meetings").is_empty());
}

#[test]
fn upcoming_schedules_come_soonest_first_and_delete_one_by_one() {
    let path = scratch("schedules");
    let store = Store::open(&path, &DatabaseKey::random()).expect("store");
    let late = store
        .add_schedule(
            "Review",
            "talkline://join?server=ws://h&room=2",
            5_000,
            8_600,
        )
        .expect("add");
    let soon = store
        .add_schedule(
            "Standup",
            "talkline://join?server=ws://h&room=1",
            2_000,
            2_900,
        )
        .expect("add");
    let over = store
        .add_schedule(
            "Yesterday",
            "talkline://join?server=ws://h&room=3",
            100,
            900,
        )
        .expect("add");
    let titles = |now| -> Vec<String> {
        store
            .schedules_from(now)
            .expect("list")
            .into_iter()
            .map(|s| s.title)
            .collect()
    };
    assert_eq!(titles(1_000), ["Standup", "Review"]);
    // A meeting under way is still upcoming until it ends.
    assert_eq!(titles(2_500), ["Standup", "Review"]);
    assert_eq!(titles(3_000), ["Review"]);
    assert_eq!(
        store
            .schedule(soon)
            .expect("read")
            .map(|s| (s.starts_at, s.ends_at)),
        Some((2_000, 2_900))
    );
    assert!(store.delete_schedule(soon).expect("delete"));
    assert!(
        !store.delete_schedule(soon).expect("again"),
        "deleted twice"
    );
    assert_eq!(titles(0), ["Yesterday", "Review"]);
    assert!(store.schedule(soon).expect("read").is_none());
    assert!(store.delete_schedule(over).expect("delete"));
    assert!(store.delete_schedule(late).expect("delete"));
    assert!(titles(0).is_empty());
}
