//! The app's log files: one file a day, each capped in size, none kept
//! longer than the privacy policy allows (seed 000 §3: at most 6 months).
//! Once consent is withdrawn the files are deleted and nothing more is
//! written, so a last log line cannot bring personal data back.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Logs older than this are deleted: the policy's six months.
pub const RETENTION: Duration = Duration::from_secs(183 * 24 * 3600);
/// A day's file is closed and a new part started past this size, so a
/// runaway log cannot fill the disk.
const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;
/// At most this many parts a day; beyond it the oldest part is reused.
const MAX_PARTS_PER_DAY: u32 = 4;

const PREFIX: &str = "talkline-";
const SUFFIX: &str = ".log";

struct OpenLog {
    day: i64,
    part: u32,
    file: File,
    written: u64,
}

/// The log directory and the file being written. Cheap to share: the
/// logger writes through it and the core prunes and deletes through it.
pub struct LogFiles {
    dir: PathBuf,
    open: Mutex<Option<OpenLog>>,
    /// Off until the privacy policy is accepted: nothing is kept before.
    enabled: AtomicBool,
    stopped: AtomicBool,
}

/// A log file as the personal-data screen lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogFileInfo {
    pub name: String,
    pub bytes: u64,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub use talkline_language::civil_date;

fn file_name(day: i64, part: u32) -> String {
    let (y, m, d) = civil_date(day);
    if part == 0 {
        format!("{PREFIX}{y:04}-{m:02}-{d:02}{SUFFIX}")
    } else {
        format!("{PREFIX}{y:04}-{m:02}-{d:02}.{part}{SUFFIX}")
    }
}

fn is_log_name(name: &str) -> bool {
    name.starts_with(PREFIX) && name.ends_with(SUFFIX)
}

impl LogFiles {
    pub fn new(dir: impl Into<PathBuf>) -> Arc<Self> {
        Arc::new(Self {
            dir: dir.into(),
            open: Mutex::new(None),
            enabled: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        })
    }

    /// Starts keeping log files (once the policy is accepted).
    pub fn enable(&self) {
        self.enabled.store(true, Ordering::Release);
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<OpenLog>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn open_part(&self, day: i64, part: u32, truncate: bool) -> io::Result<OpenLog> {
        fs::create_dir_all(&self.dir)?;
        let path = self.dir.join(file_name(day, part));
        let mut options = OpenOptions::new();
        options.create(true);
        if truncate {
            options.write(true).truncate(true);
        } else {
            options.append(true);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&path)?;
        let written = file.metadata().map_or(0, |m| m.len());
        Ok(OpenLog {
            day,
            part,
            file,
            written,
        })
    }

    /// Appends one formatted record, rotating by day and by size.
    pub fn append(&self, record: &[u8], now_unix: i64) -> io::Result<()> {
        if !self.enabled.load(Ordering::Acquire) {
            return Ok(());
        }
        let day = now_unix.div_euclid(86_400);
        let mut open = self.lock();
        // Read under the lock `stop_and_delete` holds while it deletes.
        if self.stopped.load(Ordering::Acquire) {
            return Ok(());
        }
        let rotate = match open.as_ref() {
            None => Some((day, 0, false)),
            Some(o) if o.day != day => {
                // A new day: a good moment to forget what is too old.
                let _ = self.prune_at(now_unix);
                Some((day, 0, false))
            }
            Some(o) if o.written + record.len() as u64 > MAX_FILE_BYTES => {
                let part = (o.part + 1) % MAX_PARTS_PER_DAY;
                Some((day, part, true))
            }
            Some(_) => None,
        };
        if let Some((day, part, truncate)) = rotate {
            *open = Some(self.open_part(day, part, truncate)?);
        }
        if let Some(o) = open.as_mut() {
            o.file.write_all(record)?;
            o.written += record.len() as u64;
        }
        Ok(())
    }

    /// Deletes log files last written more than `RETENTION` before `now`.
    pub fn prune_at(&self, now_unix: i64) -> io::Result<usize> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let limit = now_unix - RETENTION.as_secs() as i64;
        let mut removed = 0;
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            if !name.to_str().is_some_and(is_log_name) {
                continue;
            }
            let modified = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(i64::MAX, |d| d.as_secs() as i64);
            if modified < limit {
                fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    pub fn prune(&self) -> io::Result<usize> {
        self.prune_at(unix_now())
    }

    /// The log files there are now, oldest first.
    pub fn list(&self) -> Vec<LogFileInfo> {
        let mut files: Vec<LogFileInfo> = fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                is_log_name(&name).then(|| LogFileInfo {
                    bytes: e.metadata().map_or(0, |m| m.len()),
                    name,
                })
            })
            .collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        files
    }

    /// The newest log files' texts that fit in `budget` bytes, oldest first,
    /// and the names of the older ones left out (export and upload hold
    /// what they send in memory, so it is bounded).
    pub fn read_newest(&self, budget: u64) -> (Vec<(String, String)>, Vec<String>) {
        if let Some(o) = self.lock().as_mut() {
            let _ = o.file.flush();
        }
        let mut files = self.list();
        let mut used = 0;
        let mut keep = files.len();
        while keep > 0 && used + files[keep - 1].bytes <= budget {
            used += files[keep - 1].bytes;
            keep -= 1;
        }
        let included = files.split_off(keep);
        let texts = included
            .into_iter()
            .filter_map(|f| {
                let bytes = fs::read(self.dir.join(&f.name)).ok()?;
                Some((f.name, String::from_utf8_lossy(&bytes).into_owned()))
            })
            .collect();
        (texts, files.into_iter().map(|f| f.name).collect())
    }

    /// Stops writing for good and deletes every log file.
    pub fn stop_and_delete(&self) -> io::Result<()> {
        let mut open = self.lock();
        self.stopped.store(true, Ordering::Release);
        *open = None;
        match fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// A `Write` for a logger: each write is one formatted record.
    pub fn writer(self: &Arc<Self>) -> LogWriter {
        LogWriter {
            files: Arc::clone(self),
            echo: true,
        }
    }
}

/// Writes records into the log files and echoes them to stderr (where a
/// terminal or the test harness reads them).
pub struct LogWriter {
    files: Arc<LogFiles>,
    echo: bool,
}

impl LogWriter {
    pub fn without_echo(mut self) -> Self {
        self.echo = false;
        self
    }
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.echo {
            let _ = io::stderr().write_all(buf);
        }
        // A log that cannot be written must not take the app down.
        let _ = self.files.append(buf, unix_now());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("talkline-logs-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn one_file_a_day_and_old_files_are_deleted() {
        let dir = scratch("days");
        let logs = LogFiles::new(&dir);
        logs.append(b"before the policy\n", 0).expect("append");
        assert!(
            !dir.exists(),
            "a log was kept before the policy was accepted"
        );
        logs.enable();
        let day = 20_788 * 86_400;
        logs.append(b"first\n", day + 10).expect("append");
        logs.append(b"second\n", day + 20).expect("append");
        logs.append(b"next day\n", day + 86_400).expect("append");
        let names: Vec<String> = logs.list().into_iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            ["talkline-2026-12-01.log", "talkline-2026-12-02.log"]
        );
        let (all, left_out) = logs.read_newest(u64::MAX);
        assert_eq!(all[0].1, "first\nsecond\n");
        assert!(left_out.is_empty());
        // A budget keeps the newest whole files.
        let (newest, left_out) = logs.read_newest(12);
        assert_eq!(
            newest,
            [(
                "talkline-2026-12-02.log".to_string(),
                "next day\n".to_string()
            )]
        );
        assert_eq!(left_out, ["talkline-2026-12-01.log"]);

        // A file untouched for longer than six months goes; a recent one stays.
        let old = dir.join("talkline-2026-01-01.log");
        fs::write(&old, "old\n").expect("old log");
        let seven_months_ago = SystemTime::now() - Duration::from_secs(7 * 30 * 24 * 3600);
        File::options()
            .write(true)
            .open(&old)
            .and_then(|f| f.set_modified(seven_months_ago))
            .expect("age the file");
        fs::write(dir.join("notes.txt"), "not a log").expect("other file");
        assert_eq!(logs.prune().expect("prune"), 1);
        assert!(!old.exists());
        assert!(dir.join("talkline-2026-12-01.log").exists());
        assert!(dir.join("notes.txt").exists(), "only log files are pruned");
        fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn a_full_file_starts_a_new_part_and_parts_are_bounded() {
        let dir = scratch("size");
        let logs = LogFiles::new(&dir);
        logs.enable();
        let line = vec![b'x'; 1024 * 1024];
        for _ in 0..(MAX_FILE_BYTES / line.len() as u64) * u64::from(MAX_PARTS_PER_DAY + 1) {
            logs.append(&line, 0).expect("append");
        }
        let files = logs.list();
        assert_eq!(files.len(), MAX_PARTS_PER_DAY as usize, "{files:?}");
        assert!(files.iter().all(|f| f.bytes <= MAX_FILE_BYTES));
        fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn after_stop_nothing_is_written_and_the_files_are_gone() {
        let dir = scratch("stop");
        let logs = LogFiles::new(&dir);
        logs.enable();
        logs.append(b"before\n", 0).expect("append");
        logs.stop_and_delete().expect("delete");
        assert!(!dir.exists());
        let mut writer = logs.writer().without_echo();
        writer.write_all(b"after\n").expect("write");
        assert!(
            !dir.exists(),
            "a record after withdrawal recreated the logs"
        );
    }
}
