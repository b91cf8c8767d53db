//! The encrypted database and what the app keeps in it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};
use serde_json::{Value, json};

use crate::error::StoreError;
use crate::key::{DatabaseKey, KeyVault};
use crate::schema;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingRecord {
    pub id: i64,
    pub server: String,
    pub room: u64,
    pub display_name: String,
    pub joined_at: i64,
    pub left_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanRecord {
    pub id: i64,
    pub payload: String,
    pub scanned_at: i64,
}

/// A meeting this device made and hosts: its secrets are the host key
/// (room management) and the host's entry token (a locked meeting).
#[derive(Clone, PartialEq, Eq)]
pub struct HostedRecord {
    pub server: String,
    pub room: u64,
    pub pin: Option<String>,
    pub host_key: String,
    pub entry_token: String,
    pub waiting_room: bool,
    pub created_at: i64,
}

impl std::fmt::Debug for HostedRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedRecord")
            .field("room", &self.room)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A recording of a meeting made on this device: the file it is in, and
/// (once it ended) how long and large it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingRecord {
    pub id: i64,
    pub file: String,
    pub room: u64,
    pub started_at: i64,
    pub duration_ms: Option<u64>,
    pub bytes: Option<u64>,
}

/// A meeting the user scheduled: `link` is the canonical meeting link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRecord {
    pub id: i64,
    pub title: String,
    pub link: String,
    pub starts_at: i64,
    pub ends_at: i64,
}

/// One row of `SELECT id, title, link, starts_at, ends_at FROM schedules`.
fn schedule_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ScheduleRecord> {
    Ok(ScheduleRecord {
        id: r.get(0)?,
        title: r.get(1)?,
        link: r.get(2)?,
        starts_at: r.get(3)?,
        ends_at: r.get(4)?,
    })
}

/// One answer the user gave: to the privacy policy (subject `policy`) or to
/// a permission's purpose text (subject = the permission's key or name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    pub subject: String,
    pub granted: bool,
    pub policy_version: String,
    pub decided_at: i64,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Turns SQLite's codes into what the user needs to know.
fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    let path = path.to_path_buf();
    match &e {
        rusqlite::Error::SqliteFailure(f, msg) => match f.code {
            ErrorCode::NotADatabase => StoreError::WrongKeyOrNotADatabase { path },
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Locked { path },
            ErrorCode::DatabaseCorrupt => StoreError::Corrupt {
                path,
                detail: msg.clone().unwrap_or_else(|| "corrupt".into()),
            },
            _ => StoreError::Sqlite(e),
        },
        _ => StoreError::Sqlite(e),
    }
}

fn has_database(path: &Path) -> Result<bool, StoreError> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(m.len() > 0),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(StoreError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

impl Store {
    /// Opens the database at `path`, creating it (and its key) on first
    /// start. An existing database whose key is gone is an error, never a
    /// reason to start over.
    pub fn open_or_create(path: &Path, vault: &dyn KeyVault) -> Result<Self, StoreError> {
        let key = match (has_database(path)?, vault.load()?) {
            (true, Some(key)) => key,
            (true, None) => {
                return Err(StoreError::KeyMissing {
                    path: path.to_path_buf(),
                });
            }
            (false, Some(key)) => key,
            (false, None) => {
                // The key is safe in the vault before any data exists.
                let key = DatabaseKey::random();
                vault.save(&key)?;
                key
            }
        };
        Self::open(path, &key)
    }

    /// Opens (or creates) the database with `key` and brings its schema up
    /// to date.
    pub fn open(path: &Path, key: &DatabaseKey) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| classify(path, e))?;
        conn.busy_timeout(Duration::from_millis(500))
            .map_err(|e| classify(path, e))?;
        // SQLCipher would print every failed page check to stderr; the
        // caller gets the error instead.
        conn.execute_batch("PRAGMA cipher_log_level = NONE;")
            .map_err(|e| classify(path, e))?;
        conn.execute_batch(&format!("PRAGMA key = {};", key.pragma()))
            .map_err(|e| classify(path, e))?;
        // SQLCipher checks the key only when a page is first read.
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .map_err(|e| classify(path, e))?;
        let mut store = Self {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| classify(&path, e))?;
        if version > schema::latest() {
            return Err(StoreError::TooNew {
                path,
                found: version,
                known: schema::latest(),
            });
        }
        let tx = self.conn.transaction().map_err(|e| classify(&path, e))?;
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql).map_err(|e| classify(&path, e))?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                .map_err(|e| classify(&path, e))?;
        }
        tx.commit().map_err(|e| classify(&path, e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| classify(&self.path, e))
    }

    fn run(&self, sql: &str, args: impl rusqlite::Params) -> Result<i64, StoreError> {
        self.conn
            .execute(sql, args)
            .map_err(|e| classify(&self.path, e))?;
        Ok(self.conn.last_insert_rowid())
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.run(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
            params![key, value],
        )
        .map(|_| ())
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| classify(&self.path, e))
    }

    pub fn add_meeting(
        &self,
        server: &str,
        room: u64,
        display_name: &str,
        joined_at: i64,
    ) -> Result<i64, StoreError> {
        self.run(
            "INSERT INTO meetings (server, room, display_name, joined_at) VALUES (?1, ?2, ?3, ?4)",
            params![server, room as i64, display_name, joined_at],
        )
    }

    pub fn finish_meeting(&self, id: i64, left_at: i64) -> Result<(), StoreError> {
        self.run(
            "UPDATE meetings SET left_at = ?2 WHERE id = ?1",
            params![id, left_at],
        )
        .map(|_| ())
    }

    pub fn meetings(&self) -> Result<Vec<MeetingRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, server, room, display_name, joined_at, left_at FROM meetings ORDER BY joined_at DESC, id DESC")
            .map_err(|e| classify(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(MeetingRecord {
                    id: r.get(0)?,
                    server: r.get(1)?,
                    room: r.get::<_, i64>(2)? as u64,
                    display_name: r.get(3)?,
                    joined_at: r.get(4)?,
                    left_at: r.get(5)?,
                })
            })
            .map_err(|e| classify(&self.path, e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| classify(&self.path, e))
    }

    /// Keeps a meeting this device hosts (a second one of the same room
    /// on the same server replaces the first).
    pub fn add_hosted_meeting(&self, m: &HostedRecord) -> Result<(), StoreError> {
        self.run(
            "INSERT OR REPLACE INTO hosted_meetings
             (server, room, pin, host_key, entry_token, waiting_room, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                m.server,
                m.room as i64,
                m.pin,
                m.host_key,
                m.entry_token,
                m.waiting_room,
                m.created_at
            ],
        )
        .map(drop)
    }

    /// The meeting `room` on `server`, if this device hosts it.
    pub fn hosted_meeting(
        &self,
        server: &str,
        room: u64,
    ) -> Result<Option<HostedRecord>, StoreError> {
        self.conn
            .query_row(
                "SELECT server, room, pin, host_key, entry_token, waiting_room, created_at FROM hosted_meetings
                 WHERE server = ?1 AND room = ?2",
                params![server, room as i64],
                |r| {
                    Ok(HostedRecord {
                        server: r.get(0)?,
                        room: r.get::<_, i64>(1)? as u64,
                        pin: r.get(2)?,
                        host_key: r.get(3)?,
                        entry_token: r.get(4)?,
                        waiting_room: r.get(5)?,
                        created_at: r.get(6)?,
                    })
                },
            )
            .optional()
            .map_err(|e| classify(&self.path, e))
    }

    /// Forgets a hosted meeting (it was ended); false if there was none.
    pub fn delete_hosted_meeting(&self, server: &str, room: u64) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .execute(
                "DELETE FROM hosted_meetings WHERE server = ?1 AND room = ?2",
                params![server, room as i64],
            )
            .map_err(|e| classify(&self.path, e))?;
        Ok(changed > 0)
    }

    /// Keeps a recording that began (its length once it ends: `recorded`).
    pub fn add_recording(&self, file: &str, room: u64, started_at: i64) -> Result<i64, StoreError> {
        self.run(
            "INSERT INTO recordings (file, room, started_at) VALUES (?1, ?2, ?3)",
            params![file, room as i64, started_at],
        )
    }

    /// A recording ended: how long and large it came out.
    pub fn recorded(&self, id: i64, duration_ms: u64, bytes: u64) -> Result<(), StoreError> {
        self.run(
            "UPDATE recordings SET duration_ms = ?2, bytes = ?3 WHERE id = ?1",
            params![id, duration_ms as i64, bytes as i64],
        )
        .map(drop)
    }

    /// The recordings made here, newest first.
    pub fn recordings(&self) -> Result<Vec<RecordingRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, file, room, started_at, duration_ms, bytes FROM recordings ORDER BY started_at DESC, id DESC")
            .map_err(|e| classify(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RecordingRecord {
                    id: r.get(0)?,
                    file: r.get(1)?,
                    room: r.get::<_, i64>(2)? as u64,
                    started_at: r.get(3)?,
                    duration_ms: r.get::<_, Option<i64>>(4)?.map(|n| n as u64),
                    bytes: r.get::<_, Option<i64>>(5)?.map(|n| n as u64),
                })
            })
            .map_err(|e| classify(&self.path, e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| classify(&self.path, e))
    }

    /// Forgets a recording (its file deleted, or gone); false if there was none.
    pub fn delete_recording(&self, id: i64) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .execute("DELETE FROM recordings WHERE id = ?1", params![id])
            .map_err(|e| classify(&self.path, e))?;
        Ok(changed > 0)
    }

    pub fn add_scan(&self, payload: &str, scanned_at: i64) -> Result<i64, StoreError> {
        self.run(
            "INSERT INTO scans (payload, scanned_at) VALUES (?1, ?2)",
            params![payload, scanned_at],
        )
    }

    pub fn scans(&self) -> Result<Vec<ScanRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, payload, scanned_at FROM scans ORDER BY scanned_at DESC, id DESC")
            .map_err(|e| classify(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ScanRecord {
                    id: r.get(0)?,
                    payload: r.get(1)?,
                    scanned_at: r.get(2)?,
                })
            })
            .map_err(|e| classify(&self.path, e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| classify(&self.path, e))
    }

    pub fn add_schedule(
        &self,
        title: &str,
        link: &str,
        starts_at: i64,
        ends_at: i64,
    ) -> Result<i64, StoreError> {
        self.run(
            "INSERT INTO schedules (title, link, starts_at, ends_at) VALUES (?1, ?2, ?3, ?4)",
            params![title, link, starts_at, ends_at],
        )
    }

    /// Schedules that have not ended by `now`, soonest first.
    pub fn schedules_from(&self, now: i64) -> Result<Vec<ScheduleRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, title, link, starts_at, ends_at FROM schedules
                 WHERE ends_at >= ?1 ORDER BY starts_at, id",
            )
            .map_err(|e| classify(&self.path, e))?;
        let rows = stmt
            .query_map(params![now], schedule_row)
            .map_err(|e| classify(&self.path, e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| classify(&self.path, e))
    }

    pub fn schedule(&self, id: i64) -> Result<Option<ScheduleRecord>, StoreError> {
        self.conn
            .query_row(
                "SELECT id, title, link, starts_at, ends_at FROM schedules WHERE id = ?1",
                params![id],
                schedule_row,
            )
            .optional()
            .map_err(|e| classify(&self.path, e))
    }

    /// Deletes one schedule; false if there was none with that id.
    pub fn delete_schedule(&self, id: i64) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .execute("DELETE FROM schedules WHERE id = ?1", params![id])
            .map_err(|e| classify(&self.path, e))?;
        Ok(changed > 0)
    }

    pub fn record_consent(&self, record: &ConsentRecord) -> Result<(), StoreError> {
        self.run(
            "INSERT INTO consent (subject, granted, policy_version, decided_at) VALUES (?1, ?2, ?3, ?4)",
            params![record.subject, record.granted, record.policy_version, record.decided_at],
        )
        .map(|_| ())
    }

    /// The latest answer about `subject`, if the user was ever asked.
    pub fn consent(&self, subject: &str) -> Result<Option<ConsentRecord>, StoreError> {
        self.conn
            .query_row(
                "SELECT subject, granted, policy_version, decided_at FROM consent
                 WHERE subject = ?1 ORDER BY decided_at DESC, id DESC LIMIT 1",
                params![subject],
                |r| {
                    Ok(ConsentRecord {
                        subject: r.get(0)?,
                        granted: r.get(1)?,
                        policy_version: r.get(2)?,
                        decided_at: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(|e| classify(&self.path, e))
    }

    /// Deletes meeting history, scan records and the meetings hosted (what
    /// "delete history" means in the personal center); settings and
    /// consent stay.
    pub fn delete_history(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("DELETE FROM meetings; DELETE FROM scans; DELETE FROM hosted_meetings;")
            .map_err(|e| classify(&self.path, e))
    }

    /// A complete copy of everything kept, for the user to take away.
    pub fn export(&self) -> Result<Value, StoreError> {
        let table = |sql: &str| -> Result<Vec<Value>, StoreError> {
            let mut stmt = self
                .conn
                .prepare(sql)
                .map_err(|e| classify(&self.path, e))?;
            let names: Vec<String> = stmt.column_names().map(str::to_string).collect();
            let rows = stmt
                .query_map([], |r| {
                    let mut obj = serde_json::Map::new();
                    for (i, name) in names.iter().enumerate() {
                        let v = match r.get_ref(i)? {
                            rusqlite::types::ValueRef::Null => Value::Null,
                            rusqlite::types::ValueRef::Integer(n) => json!(n),
                            rusqlite::types::ValueRef::Real(x) => json!(x),
                            rusqlite::types::ValueRef::Text(t) => json!(String::from_utf8_lossy(t)),
                            rusqlite::types::ValueRef::Blob(b) => json!(b),
                        };
                        obj.insert(name.clone(), v);
                    }
                    Ok(Value::Object(obj))
                })
                .map_err(|e| classify(&self.path, e))?;
            rows.collect::<Result<_, _>>()
                .map_err(|e| classify(&self.path, e))
        };
        Ok(json!({
            "format": "talkline-export-1",
            // Secrets (a TURN credential) are the user's but not worth
            // carrying around in a plain file: the export says one is set.
            "settings": table(
                "SELECT key, CASE WHEN key LIKE '%credential' AND value <> '' \
                 THEN '(set, not shown)' ELSE value END AS value FROM settings ORDER BY key"
            )?,
            "meetings": table("SELECT server, room, display_name, joined_at, left_at FROM meetings ORDER BY id")?,
            "schedules": table("SELECT title, link, starts_at, ends_at FROM schedules ORDER BY id")?,
            "scans": table("SELECT payload, scanned_at FROM scans ORDER BY id")?,
            // The host's secrets stay on this device.
            "hosted_meetings": table(
                "SELECT server, room, CASE WHEN pin IS NULL THEN NULL ELSE '(set, not shown)' END AS pin, \
                 '(kept, not shown)' AS host_key, waiting_room, created_at FROM hosted_meetings ORDER BY id"
            )?,
            "recordings": table("SELECT file, room, started_at, duration_ms, bytes FROM recordings ORDER BY id")?,
            "consent": table("SELECT subject, granted, policy_version, decided_at FROM consent ORDER BY id")?,
        }))
    }
}

fn companions(path: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            PathBuf::from(p)
        })
        .collect()
}

/// Moves a database that cannot be opened out of the way (with its WAL and
/// journal), so the app can start fresh without destroying it. Returns the
/// new path of the database file.
pub fn quarantine(path: &Path, suffix: &str) -> Result<PathBuf, StoreError> {
    let mut moved = None;
    for (i, file) in companions(path).into_iter().enumerate() {
        if !file.exists() {
            continue;
        }
        let mut target = file.as_os_str().to_owned();
        target.push(format!(".damaged-{suffix}"));
        let target = PathBuf::from(target);
        std::fs::rename(&file, &target).map_err(|source| StoreError::Io { path: file, source })?;
        if i == 0 {
            moved = Some(target);
        }
    }
    moved.ok_or_else(|| StoreError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::from(std::io::ErrorKind::NotFound),
    })
}

/// Deletes the database (and its WAL and journal) and its key: what
/// withdrawing consent does to the store.
pub fn wipe(path: &Path, vault: &dyn KeyVault) -> Result<(), StoreError> {
    for file in companions(path) {
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(StoreError::Io { path: file, source }),
        }
    }
    vault.delete()
}
