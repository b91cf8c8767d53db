//! Migrations, applied in order; `PRAGMA user_version` says how far a
//! database got.

pub const MIGRATIONS: &[&str] = &[
    // 1: everything the app keeps.
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE meetings (
        id INTEGER PRIMARY KEY, server TEXT NOT NULL, room INTEGER NOT NULL,
        display_name TEXT NOT NULL, joined_at INTEGER NOT NULL, left_at INTEGER);
     CREATE TABLE schedules (
        id INTEGER PRIMARY KEY, title TEXT NOT NULL, link TEXT NOT NULL,
        starts_at INTEGER NOT NULL, ends_at INTEGER NOT NULL);
     CREATE TABLE scans (id INTEGER PRIMARY KEY, payload TEXT NOT NULL, scanned_at INTEGER NOT NULL);
     CREATE TABLE consent (
        id INTEGER PRIMARY KEY, subject TEXT NOT NULL, granted INTEGER NOT NULL,
        policy_version TEXT NOT NULL, decided_at INTEGER NOT NULL);",
    // 2: meetings this device made and hosts, with their host secrets
    // (kept here only, encrypted with the rest).
    "CREATE TABLE hosted_meetings (
        id INTEGER PRIMARY KEY, server TEXT NOT NULL, room INTEGER NOT NULL, pin TEXT,
        host_key TEXT NOT NULL, entry_token TEXT NOT NULL, waiting_room INTEGER NOT NULL,
        created_at INTEGER NOT NULL, UNIQUE (server, room));",
    // 3: recordings of meetings made on this device (the files are the
    // user's, where they chose; this is how the app finds them again).
    "CREATE TABLE recordings (
        id INTEGER PRIMARY KEY, file TEXT NOT NULL, room INTEGER NOT NULL,
        started_at INTEGER NOT NULL, duration_ms INTEGER, bytes INTEGER);",
];

pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}
