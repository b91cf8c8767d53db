//! Files shared in a meeting, without sockets. A file is offered (to
//! everyone, or to one person) with its name, size and SHA-256; whoever
//! wants it asks its sender, who sends it to them alone in parts, a few
//! at a time, as the receiver acknowledges them. Nothing is pushed to
//! people who did not ask, and nothing is written anywhere by this module:
//! a file arrives whole and checked (`FileEvent::Received`), and the
//! caller saves it where the user says (`save_into`).
//!
//! The messages travel in the meeting's side room (see `side_room`), whose
//! owner hands this module the ones about files and wraps what it sends.
//! Everything that arrives is outside input: sizes are checked against
//! what was offered and against `MAX_FILE_BYTES`, names are made safe to
//! save, and a transfer that stops moving is given up.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::side_room::{Incoming, Outgoing};
use crate::error::MeetingError;

/// The largest file that can be shared: what a slide deck or a document
/// needs. Each part is relayed by the meeting's server to the one who
/// asked, so far larger files belong in a file service, not a meeting.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// A part's bytes before base64 (the message stays under the chat's 64 KiB).
pub const PART_BYTES: usize = 32 * 1024;
/// Parts sent and not yet acknowledged, per receiver.
const WINDOW: u64 = 16;
/// The receiver acknowledges every this many parts (and the last).
const ACK_EVERY: u64 = 4;
/// A transfer with no part or acknowledgement for this long is given up.
pub const TRANSFER_STALLS_AFTER: Duration = Duration::from_secs(20);
/// Files we offer, kept in memory until the meeting ends (the oldest go).
const MAX_OWN_OFFERS: usize = 8;
/// Offers from others remembered (the oldest are forgotten).
const MAX_OFFERS_SEEN: usize = 200;
/// Files being received at once, and being sent at once (to anyone, and
/// to one person: nobody can take every slot).
const MAX_DOWNLOADS: usize = 4;
const MAX_UPLOADS: usize = 8;
const MAX_UPLOADS_TO_ONE: usize = 2;
/// A request for a file already on its way to the same person, within
/// this, is a repeat: ignored (a request costs them a few bytes and us a
/// window of parts).
const REPEAT_REQUEST_WITHIN: Duration = Duration::from_secs(5);
/// A transfer is given up after this, however slowly it still moves: 16
/// MiB at a trickle must not hold a slot for hours.
const TRANSFER_AT_MOST: Duration = Duration::from_secs(10 * 60);
/// Offers shown per sender in a meeting: a flood is not listed.
const MAX_OFFERS_FROM_ONE: usize = 50;
/// A file name as shown and saved, in bytes.
const MAX_NAME_BYTES: usize = 200;

/// A file someone offers (or we offer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOffer {
    /// The sender's, unique in the meeting.
    pub id: String,
    /// Who offers it (their username in the side room, and their name).
    pub from: String,
    pub display: String,
    /// Safe to save as it is (see `safe_file_name`).
    pub name: String,
    pub size: u64,
    /// Offered to us alone (or, for ours, to one person).
    pub private: bool,
    pub own: bool,
}

/// What happens to files.
#[derive(Debug)]
pub enum FileEvent {
    Offered(FileOffer),
    /// Bytes of a file we asked for have arrived (`received` of `size`).
    Progress {
        id: String,
        received: u64,
        size: u64,
    },
    /// A file we asked for arrived whole and matches its SHA-256.
    Received {
        id: String,
        name: String,
        bytes: Vec<u8>,
    },
    /// A file we asked for did not arrive.
    Failed {
        id: String,
        why: MeetingError,
    },
    /// Someone received a file we offered, whole.
    Delivered {
        id: String,
        to: String,
    },
}

struct OwnFile {
    name: String,
    sha256: [u8; 32],
    bytes: Vec<u8>,
    /// Whom it was offered to alone.
    to: Option<String>,
}

struct Upload {
    id: String,
    to: String,
    next: u64,
    acked: u64,
    parts: u64,
    started_at: Instant,
    moved_at: Instant,
}

struct Download {
    from: String,
    name: String,
    size: u64,
    sha256: [u8; 32],
    bytes: Vec<u8>,
    next: u64,
    started_at: Instant,
    moved_at: Instant,
}

/// Files in one meeting, for one participant.
#[derive(Default)]
pub struct FileShare {
    own: VecDeque<(String, OwnFile)>,
    /// Offers seen, by id: who offered, and what (size and hash).
    seen: HashMap<String, (FileOffer, [u8; 32])>,
    seen_order: VecDeque<String>,
    uploads: Vec<Upload>,
    downloads: HashMap<String, Download>,
}

fn parts_of(size: u64) -> u64 {
    size.div_ceil(PART_BYTES as u64)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl FileShare {
    /// Offers `bytes` as `name`, to everyone or to the person with
    /// username `to` (shown as `to_display`): the offer to send, and the
    /// file as shown.
    pub fn offer(
        &mut self,
        name: &str,
        bytes: Vec<u8>,
        to: Option<(&str, &str)>,
        own: (&str, &str),
    ) -> Result<(Vec<Outgoing>, FileOffer), MeetingError> {
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(MeetingError::FileTooLarge(MAX_FILE_BYTES));
        }
        if bytes.is_empty() {
            return Err(MeetingError::FileEmpty);
        }
        let name = safe_file_name(name);
        let id = format!("{:016x}", rand::random::<u64>());
        let sha256: [u8; 32] = Sha256::digest(&bytes).into();
        let size = bytes.len() as u64;
        let body = json!({"talkline": 1, "file": {
            "id": id, "name": name, "size": size, "sha256": hex(&sha256),
        }});
        let mut out = Vec::new();
        if self.own.len() >= MAX_OWN_OFFERS {
            // The oldest goes; anyone still receiving it is told.
            if let Some((old, _)) = self.own.pop_front() {
                for upload in self.uploads.iter().filter(|u| u.id == old) {
                    out.push(cancel_to(&upload.to, &old, Cancel::Gone));
                }
                self.uploads.retain(|u| u.id != old);
            }
        }
        self.own.push_back((
            id.clone(),
            OwnFile {
                name: name.clone(),
                sha256,
                bytes,
                to: to.map(|(username, _)| username.to_string()),
            },
        ));
        let offer = FileOffer {
            id,
            from: own.0.to_string(),
            display: to.map_or_else(|| own.1.to_string(), |(_, display)| display.to_string()),
            name,
            size,
            private: to.is_some(),
            own: true,
        };
        out.push(Outgoing {
            to: to.map(|(username, _)| username.to_string()),
            body,
        });
        Ok((out, offer))
    }

    /// Our offers to everyone, to say again after a lost connection (we
    /// are someone new to the server, and those who saw them must ask the
    /// new us).
    pub fn own_offers_again(&self) -> Vec<Outgoing> {
        self.own
            .iter()
            .filter(|(_, file)| file.to.is_none())
            .map(|(id, file)| Outgoing {
                to: None,
                body: json!({"talkline": 1, "file": {
                    "id": id, "name": file.name, "size": file.bytes.len(),
                    "sha256": hex(&file.sha256),
                }}),
            })
            .collect()
    }

    /// Asks for the file offered as `id`.
    pub fn download(&mut self, id: &str, now: Instant) -> Result<Outgoing, MeetingError> {
        let (offer, sha256) = self.seen.get(id).ok_or(MeetingError::FileGone)?;
        if self.downloads.contains_key(id) {
            return Err(MeetingError::FileBusy);
        }
        if self.downloads.len() >= MAX_DOWNLOADS {
            return Err(MeetingError::FileBusy);
        }
        let from = offer.from.clone();
        self.downloads.insert(
            id.to_string(),
            Download {
                from: from.clone(),
                name: offer.name.clone(),
                size: offer.size,
                sha256: *sha256,
                bytes: Vec::new(),
                next: 0,
                started_at: now,
                moved_at: now,
            },
        );
        Ok(Outgoing {
            to: Some(from),
            body: json!({"talkline": 1, "file_get": id}),
        })
    }

    /// Someone left: what they were sending us fails, what we were
    /// sending them stops, and their offers go.
    pub fn person_left(&mut self, username: &str) -> Vec<FileEvent> {
        self.uploads.retain(|u| u.to != username);
        self.seen.retain(|_, (offer, _)| offer.from != username);
        let gone: Vec<String> = self
            .downloads
            .iter()
            .filter(|(_, d)| d.from == username)
            .map(|(id, _)| id.clone())
            .collect();
        gone.into_iter()
            .map(|id| {
                self.downloads.remove(&id);
                FileEvent::Failed {
                    id,
                    why: MeetingError::FileSenderGone,
                }
            })
            .collect()
    }

    /// The connection is lost: transfers under way cannot go on.
    pub fn abandon(&mut self) -> Vec<FileEvent> {
        self.uploads.clear();
        let ids: Vec<String> = self.downloads.drain().map(|(id, _)| id).collect();
        ids.into_iter()
            .map(|id| FileEvent::Failed {
                id,
                why: MeetingError::FileInterrupted,
            })
            .collect()
    }

    /// Transfers that stopped moving by `now` are given up.
    pub fn expire(&mut self, now: Instant) -> Vec<FileEvent> {
        let over = |started_at: Instant, moved_at: Instant| {
            now.saturating_duration_since(moved_at) >= TRANSFER_STALLS_AFTER
                || now.saturating_duration_since(started_at) >= TRANSFER_AT_MOST
        };
        self.uploads.retain(|u| !over(u.started_at, u.moved_at));
        let late: Vec<String> = self
            .downloads
            .iter()
            .filter(|(_, d)| over(d.started_at, d.moved_at))
            .map(|(id, _)| id.clone())
            .collect();
        late.into_iter()
            .map(|id| {
                self.downloads.remove(&id);
                FileEvent::Failed {
                    id,
                    why: MeetingError::FileInterrupted,
                }
            })
            .collect()
    }

    /// A message about files: what it means, and what to send.
    pub fn receive(&mut self, m: Incoming<'_>, now: Instant) -> (Vec<FileEvent>, Vec<Outgoing>) {
        let body = m.body;
        if let Some(file) = body.get("file") {
            return (self.offered(&m, file).into_iter().collect(), Vec::new());
        }
        if let Some(id) = body.get("file_get").and_then(Value::as_str) {
            return (Vec::new(), self.asked(m.from, id, now));
        }
        if let Some(id) = body.get("file_ack").and_then(Value::as_str) {
            let upto = body.get("upto").and_then(Value::as_u64).unwrap_or(0);
            return self.acked(m.from, id, upto, now);
        }
        if let Some(id) = body.get("file_part").and_then(Value::as_str) {
            return self.part(m.from, id, body, now);
        }
        if let Some(id) = body.get("file_cancel").and_then(Value::as_str) {
            self.uploads.retain(|u| !(u.id == id && u.to == m.from));
            if self.downloads.get(id).is_some_and(|d| d.from == m.from) {
                self.downloads.remove(id);
                let why = match body.get("why").and_then(Value::as_str) {
                    Some("gone") => MeetingError::FileGone,
                    Some("busy") => MeetingError::FileBusy,
                    Some("corrupt") => MeetingError::FileCorrupt,
                    _ => MeetingError::FileInterrupted,
                };
                return (
                    vec![FileEvent::Failed {
                        id: id.to_string(),
                        why,
                    }],
                    Vec::new(),
                );
            }
        }
        (Vec::new(), Vec::new())
    }

    fn offered(&mut self, m: &Incoming<'_>, file: &Value) -> Option<FileEvent> {
        let id = file.get("id").and_then(Value::as_str)?;
        // Never one of our own ids: nobody can stand in for our file.
        if id.is_empty() || id.len() > 64 || self.own.iter().any(|(own, _)| own == id) {
            return None;
        }
        let size = file.get("size").and_then(Value::as_u64)?;
        // An offer over the limit could never be received: not shown.
        if size == 0 || size > MAX_FILE_BYTES {
            return None;
        }
        let sha256 = unhex32(file.get("sha256").and_then(Value::as_str)?)?;
        if let Some((known, known_sha)) = self.seen.get_mut(id) {
            // The same file offered again by the same name after their
            // connection was lost: asked of them where they are now.
            if *known_sha == sha256 && known.size == size && known.display == m.display {
                known.from = m.from.to_string();
            }
            return None;
        }
        let from_them = self
            .seen
            .values()
            .filter(|(o, _)| o.display == m.display)
            .count();
        if from_them >= MAX_OFFERS_FROM_ONE {
            return None;
        }
        let name = safe_file_name(file.get("name").and_then(Value::as_str).unwrap_or(""));
        let offer = FileOffer {
            id: id.to_string(),
            from: m.from.to_string(),
            display: m.display.to_string(),
            name,
            size,
            private: m.private,
            own: false,
        };
        if self.seen_order.len() >= MAX_OFFERS_SEEN
            && let Some(oldest) = self.seen_order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        self.seen_order.push_back(id.to_string());
        self.seen.insert(id.to_string(), (offer.clone(), sha256));
        Some(FileEvent::Offered(offer))
    }

    /// Someone asks for one of our files: its first parts go to them.
    fn asked(&mut self, from: &str, id: &str, now: Instant) -> Vec<Outgoing> {
        let cancel = |why| vec![cancel_to(from, id, why)];
        let Some((_, file)) = self.own.iter().find(|(own, _)| own == id) else {
            return cancel(Cancel::Gone);
        };
        // Offered to one person: only they may have it (as if not offered).
        if file.to.as_deref().is_some_and(|to| to != from) {
            return cancel(Cancel::Gone);
        }
        let parts = parts_of(file.bytes.len() as u64);
        if let Some(at) = self.uploads.iter().position(|u| u.id == id && u.to == from) {
            // Asked again at once: already on its way.
            if now.saturating_duration_since(self.uploads[at].started_at) < REPEAT_REQUEST_WITHIN {
                return Vec::new();
            }
            self.uploads.remove(at);
        }
        let to_them = self.uploads.iter().filter(|u| u.to == from).count();
        if self.uploads.len() >= MAX_UPLOADS || to_them >= MAX_UPLOADS_TO_ONE {
            return cancel(Cancel::Busy);
        }
        self.uploads.push(Upload {
            id: id.to_string(),
            to: from.to_string(),
            next: 0,
            acked: 0,
            parts,
            started_at: now,
            moved_at: now,
        });
        self.send_window(self.uploads.len() - 1)
    }

    /// The parts the window allows for upload `at`.
    fn send_window(&mut self, at: usize) -> Vec<Outgoing> {
        let upload = &mut self.uploads[at];
        let Some((_, file)) = self.own.iter().find(|(own, _)| *own == upload.id) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        while upload.next < upload.parts && upload.next < upload.acked + WINDOW {
            let start = (upload.next as usize) * PART_BYTES;
            let end = (start + PART_BYTES).min(file.bytes.len());
            out.push(Outgoing {
                to: Some(upload.to.clone()),
                body: json!({
                    "talkline": 1,
                    "file_part": upload.id,
                    "seq": upload.next,
                    "data": BASE64.encode(&file.bytes[start..end]),
                }),
            });
            upload.next += 1;
        }
        out
    }

    fn acked(
        &mut self,
        from: &str,
        id: &str,
        upto: u64,
        now: Instant,
    ) -> (Vec<FileEvent>, Vec<Outgoing>) {
        let Some(at) = self.uploads.iter().position(|u| u.id == id && u.to == from) else {
            return (Vec::new(), Vec::new());
        };
        let upload = &mut self.uploads[at];
        // Only what was sent can be acknowledged.
        let upto = upto.min(upload.next);
        if upto > upload.acked {
            upload.acked = upto;
            upload.moved_at = now;
        }
        if upload.acked >= upload.parts {
            let done = self.uploads.remove(at);
            return (
                vec![FileEvent::Delivered {
                    id: done.id,
                    to: done.to,
                }],
                Vec::new(),
            );
        }
        (Vec::new(), self.send_window(at))
    }

    fn part(
        &mut self,
        from: &str,
        id: &str,
        body: &Value,
        now: Instant,
    ) -> (Vec<FileEvent>, Vec<Outgoing>) {
        let Some(download) = self.downloads.get_mut(id) else {
            return (Vec::new(), Vec::new());
        };
        if download.from != from {
            return (Vec::new(), Vec::new());
        }
        let seq = body.get("seq").and_then(Value::as_u64);
        let data = body
            .get("data")
            .and_then(Value::as_str)
            .and_then(|d| BASE64.decode(d).ok());
        let parts = parts_of(download.size);
        let expected_len = if download.next + 1 == parts {
            download.size as usize - (download.next as usize) * PART_BYTES
        } else {
            PART_BYTES
        };
        let fits = match (&data, seq) {
            (Some(data), Some(seq)) => seq == download.next && data.len() == expected_len,
            _ => false,
        };
        if !fits {
            // A repeat of a part already here is harmless; anything else
            // is not the file that was offered.
            if seq.is_some_and(|s| s < download.next) {
                return (Vec::new(), Vec::new());
            }
            self.downloads.remove(id);
            return (
                vec![FileEvent::Failed {
                    id: id.to_string(),
                    why: MeetingError::FileCorrupt,
                }],
                vec![cancel_to(from, id, Cancel::Corrupt)],
            );
        }
        let data = data.unwrap_or_default();
        let step = (download.size / 20).max(1);
        let before = download.bytes.len() as u64 / step;
        download.bytes.extend_from_slice(&data);
        download.next += 1;
        download.moved_at = now;
        // Told every 5%: a file's hundreds of parts are not hundreds of events.
        let mut events = Vec::new();
        if download.bytes.len() as u64 / step != before {
            events.push(FileEvent::Progress {
                id: id.to_string(),
                received: download.bytes.len() as u64,
                size: download.size,
            });
        }
        let mut out = Vec::new();
        let last = download.next == parts;
        if last || download.next % ACK_EVERY == 0 {
            out.push(Outgoing {
                to: Some(from.to_string()),
                body: json!({"talkline": 1, "file_ack": id, "upto": download.next}),
            });
        }
        if last {
            let done = self.downloads.remove(id);
            if let Some(done) = done {
                let sha256: [u8; 32] = Sha256::digest(&done.bytes).into();
                events.push(if sha256 == done.sha256 {
                    FileEvent::Received {
                        id: id.to_string(),
                        name: done.name,
                        bytes: done.bytes,
                    }
                } else {
                    FileEvent::Failed {
                        id: id.to_string(),
                        why: MeetingError::FileCorrupt,
                    }
                });
            }
        }
        (events, out)
    }
}

/// Why a transfer is called off, as the other side is told.
#[derive(Clone, Copy)]
enum Cancel {
    /// Not offered (any more), or not to them.
    Gone,
    /// Too many transfers under way.
    Busy,
    /// What arrived is not what was offered.
    Corrupt,
}

fn cancel_to(to: &str, id: &str, why: Cancel) -> Outgoing {
    let why = match why {
        Cancel::Gone => "gone",
        Cancel::Busy => "busy",
        Cancel::Corrupt => "corrupt",
    };
    Outgoing {
        to: Some(to.to_string()),
        body: json!({"talkline": 1, "file_cancel": id, "why": why}),
    }
}

/// A name that is safe to save on any system: no folders (`../../x` is
/// `x`), no control or invisible characters, none of the characters
/// Windows forbids, not a name Windows reserves (`CON`, `NUL.txt`, `COM1`…),
/// no trailing dots or spaces, at most `MAX_NAME_BYTES`; "file" if nothing
/// is left.
pub fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let mut cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !super::room::is_invisible_format(*c))
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c => c,
        })
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| c == ' ' || c == '.').len();
    if trimmed == 0 {
        return "file".to_string();
    }
    cleaned = cleaned
        .trim_start_matches(' ')
        .trim_end_matches(['.', ' '])
        .to_string();
    // A leading dot would hide the file; `..` is gone already.
    if cleaned.starts_with('.') {
        cleaned.insert(0, '_');
    }
    let stem = cleaned.split('.').next().unwrap_or("").trim_end();
    let reserved = ["CON", "PRN", "AUX", "NUL"]
        .iter()
        .any(|r| stem.eq_ignore_ascii_case(r))
        || (stem.len() == 4
            && stem.is_ascii()
            && (stem[..3].eq_ignore_ascii_case("COM") || stem[..3].eq_ignore_ascii_case("LPT"))
            && stem[3..].chars().all(|c| c.is_ascii_digit()));
    if reserved {
        cleaned.insert(0, '_');
    }
    if cleaned.len() > MAX_NAME_BYTES {
        // Cut in the stem, so the extension (what opens it) stays.
        let extension = cleaned
            .rfind('.')
            .map(|dot| cleaned[dot..].to_string())
            .filter(|e| e.len() <= 16)
            .unwrap_or_default();
        let mut stem: String = String::new();
        for c in cleaned.chars() {
            if stem.len() + c.len_utf8() + extension.len() > MAX_NAME_BYTES {
                break;
            }
            stem.push(c);
        }
        cleaned = format!("{stem}{extension}");
    }
    cleaned
}

/// What a file being saved is called until it is whole.
const PART_SUFFIX: &str = ".talkline-part";

/// Removes what `save_into` left in `folder` when the app was killed
/// mid-save (only its own part files: the folder is the user's).
pub fn remove_part_files(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let ours = name.to_str().is_some_and(|n| {
            n.strip_prefix('.')
                .and_then(|n| n.strip_suffix(PART_SUFFIX))
                .is_some_and(|hex| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        });
        if ours && let Err(e) = std::fs::remove_file(entry.path()) {
            log::warn!("a half-saved file was not removed: {e}");
        }
    }
}

/// Saves `bytes` as `name` (made safe) in `folder` and nowhere else,
/// never over an existing file: "name (1).ext" and so on when taken.
/// Written to a hidden part file first and renamed when whole, so an
/// interrupted save leaves no half file under the real name.
pub fn save_into(folder: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let meta = std::fs::metadata(folder)?;
    if !meta.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "not a folder",
        ));
    }
    let name = safe_file_name(name);
    let (stem, extension) = match name.rfind('.') {
        Some(dot) if dot > 0 => (&name[..dot], &name[dot..]),
        _ => (name.as_str(), ""),
    };
    let part = folder.join(format!(".{:016x}{PART_SUFFIX}", rand::random::<u64>()));
    {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&part)?;
        let written = file.write_all(bytes).and_then(|()| file.sync_all());
        if let Err(e) = written {
            drop(file);
            let _ = std::fs::remove_file(&part);
            return Err(e);
        }
    }
    for n in 0..1000u32 {
        let candidate = if n == 0 {
            folder.join(&name)
        } else {
            folder.join(format!("{stem} ({n}){extension}"))
        };
        // A hard link fails when the name is taken: nothing is replaced,
        // even by a file that appears meanwhile.
        match std::fs::hard_link(&part, &candidate) {
            Ok(()) => {
                let _ = std::fs::remove_file(&part);
                return Ok(candidate);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            // A drive without hard links (FAT, some network shares): the
            // file is written under its name directly, still never over
            // another.
            Err(_) => {
                let _ = std::fs::remove_file(&part);
                return write_new(folder, &name, stem, extension, bytes);
            }
        }
    }
    let _ = std::fs::remove_file(&part);
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "too many files of that name",
    ))
}

fn write_new(
    folder: &Path,
    name: &str,
    stem: &str,
    extension: &str,
    bytes: &[u8],
) -> std::io::Result<PathBuf> {
    for n in 0..1000u32 {
        let candidate = if n == 0 {
            folder.join(name)
        } else {
            folder.join(format!("{stem} ({n}){extension}"))
        };
        let mut file = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_all()) {
            drop(file);
            let _ = std::fs::remove_file(&candidate);
            return Err(e);
        }
        return Ok(candidate);
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        "too many files of that name",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming<'a>(from: &'a str, body: &'a Value) -> Incoming<'a> {
        Incoming {
            from,
            display: from,
            private: true,
            body,
        }
    }

    /// Ann offers `bytes`; Bob sees the offer. Returns both and the id.
    fn offered(bytes: Vec<u8>, to_bob: bool) -> (FileShare, FileShare, String) {
        let mut ann = FileShare::default();
        let mut bob = FileShare::default();
        let (mut out, shown) = ann
            .offer(
                "report.pdf",
                bytes,
                to_bob.then_some(("bob", "Bob")),
                ("ann", "Ann"),
            )
            .expect("a file within the limit");
        assert!(shown.own);
        let offer = out.pop().expect("the offer");
        let (events, _) = bob.receive(
            Incoming {
                from: "ann",
                display: "Ann",
                private: to_bob,
                body: &offer.body,
            },
            Instant::now(),
        );
        let Some(FileEvent::Offered(seen)) = events.first() else {
            panic!("an offer, not {events:?}");
        };
        assert_eq!(
            (seen.name.as_str(), seen.display.as_str()),
            ("report.pdf", "Ann")
        );
        (ann, bob, shown.id)
    }

    /// Runs messages between Ann (sender) and Bob (receiver) until quiet;
    /// `tamper` may change a part on its way. Bob's events.
    fn run(
        ann: &mut FileShare,
        bob: &mut FileShare,
        first: Outgoing,
        mut tamper: impl FnMut(&mut Value),
    ) -> Vec<FileEvent> {
        let now = Instant::now();
        let mut to_ann = vec![first];
        let mut bob_events = Vec::new();
        let mut rounds = 0;
        while !to_ann.is_empty() {
            rounds += 1;
            assert!(rounds < 10_000, "the transfer never ends");
            let mut to_bob = Vec::new();
            for o in to_ann.drain(..) {
                assert_eq!(o.to.as_deref(), Some("ann"));
                let (_, out) = ann.receive(incoming("bob", &o.body), now);
                to_bob.extend(out);
            }
            for mut o in to_bob {
                assert_eq!(o.to.as_deref(), Some("bob"), "parts go to the asker alone");
                tamper(&mut o.body);
                let (events, out) = bob.receive(incoming("ann", &o.body), now);
                bob_events.extend(events);
                to_ann.extend(out);
            }
        }
        bob_events
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn a_file_arrives_whole_in_parts_a_window_at_a_time() {
        // Not a whole number of parts, and more parts than one window.
        let bytes = pattern(PART_BYTES * 40 + 123);
        let (mut ann, mut bob, id) = offered(bytes.clone(), false);
        let ask = bob.download(&id, Instant::now()).expect("offered");
        assert_eq!(ask.to.as_deref(), Some("ann"));
        assert!(matches!(
            bob.download(&id, Instant::now()),
            Err(MeetingError::FileBusy)
        ));
        let events = run(&mut ann, &mut bob, ask, |_| {});
        let received: Vec<&Vec<u8>> = events
            .iter()
            .filter_map(|e| match e {
                FileEvent::Received { bytes, name, .. } => {
                    assert_eq!(name, "report.pdf");
                    Some(bytes)
                }
                _ => None,
            })
            .collect();
        assert_eq!(received, [&bytes]);
        let progress = events
            .iter()
            .filter(|e| matches!(e, FileEvent::Progress { .. }))
            .count();
        // Told every 5%, not every part.
        assert!((19..=21).contains(&progress), "{progress}");
        assert!(ann.uploads.is_empty(), "the upload is done");
    }

    #[test]
    fn a_damaged_or_foreign_part_fails_the_file_and_saves_nothing() {
        for tamper in [
            |b: &mut Value| b["data"] = json!(BASE64.encode(vec![0u8; PART_BYTES])),
            |b: &mut Value| b["data"] = json!("not base64!"),
            |b: &mut Value| b["data"] = json!(BASE64.encode(vec![1u8; PART_BYTES + 1])),
            |b: &mut Value| b["seq"] = json!(99),
        ] {
            let bytes = pattern(PART_BYTES * 2 + 5);
            let (mut ann, mut bob, id) = offered(bytes, false);
            let ask = bob.download(&id, Instant::now()).expect("offered");
            let events = run(&mut ann, &mut bob, ask, tamper);
            assert!(
                events.iter().any(|e| matches!(
                    e,
                    FileEvent::Failed {
                        why: MeetingError::FileCorrupt,
                        ..
                    }
                )),
                "{events:?}"
            );
            assert!(
                !events
                    .iter()
                    .any(|e| matches!(e, FileEvent::Received { .. }))
            );
        }
    }

    #[test]
    fn a_request_answers_one_window_and_repeats_and_floods_are_not_served() {
        let (mut ann, _, id) = offered(pattern(PART_BYTES * 40), false);
        let now = Instant::now();
        let ask = json!({"talkline": 1, "file_get": id});
        let (_, first) = ann.receive(incoming("bob", &ask), now);
        assert_eq!(first.len() as u64, WINDOW, "one window, no more");
        // Asked again at once: nothing more is sent.
        let (_, again) = ann.receive(incoming("bob", &ask), now + Duration::from_secs(1));
        assert!(again.is_empty(), "{again:?}");
        // One person cannot take every slot.
        let mut ids = vec![id];
        for n in 0..3 {
            let (mut out, offer) = ann
                .offer(&format!("f{n}"), pattern(10), None, ("ann", "Ann"))
                .expect("offered");
            out.clear();
            ids.push(offer.id);
        }
        let (_, second) = ann.receive(
            incoming("bob", &json!({"talkline": 1, "file_get": ids[1]})),
            now,
        );
        assert!(second[0].body.get("file_part").is_some());
        let (_, third) = ann.receive(
            incoming("bob", &json!({"talkline": 1, "file_get": ids[2]})),
            now,
        );
        assert_eq!(third[0].body["why"], json!("busy"), "{third:?}");
        let (_, other) = ann.receive(
            incoming("cat", &json!({"talkline": 1, "file_get": ids[2]})),
            now,
        );
        assert!(other[0].body.get("file_part").is_some());
        // Bob told why, in his words.
        let mut bob = FileShare::default();
        let offer = json!({"talkline": 1, "file": {"id": ids[2], "name": "f1", "size": 10, "sha256": "ab".repeat(32)}});
        bob.receive(incoming("ann", &offer), now);
        bob.download(&ids[2], now).expect("offered");
        let (events, _) = bob.receive(incoming("ann", &third[0].body), now);
        assert!(matches!(
            events.as_slice(),
            [FileEvent::Failed {
                why: MeetingError::FileBusy,
                ..
            }]
        ));
    }

    #[test]
    fn nobody_stands_in_for_our_file_and_a_flood_of_offers_is_not_listed() {
        let mut ann = FileShare::default();
        let (_, ours) = ann
            .offer("mine.txt", pattern(10), None, ("ann", "Ann"))
            .expect("offered");
        let fake = json!({"talkline": 1, "file": {"id": ours.id, "name": "evil", "size": 10, "sha256": "ab".repeat(32)}});
        let (events, _) = ann.receive(incoming("mallory", &fake), Instant::now());
        assert!(events.is_empty());
        let shown: usize = (0..200)
            .map(|n| {
                let flood = json!({"talkline": 1, "file": {"id": format!("x{n}"), "name": "spam", "size": 10, "sha256": "ab".repeat(32)}});
                ann.receive(incoming("mallory", &flood), Instant::now()).0.len()
            })
            .sum();
        assert_eq!(shown, MAX_OFFERS_FROM_ONE);
    }

    #[test]
    fn an_offer_said_again_after_a_lost_connection_is_asked_of_the_new_sender() {
        let (ann, mut bob, id) = offered(pattern(100), false);
        let again = ann.own_offers_again();
        assert_eq!(again.len(), 1);
        let (events, _) = bob.receive(
            Incoming {
                from: "ann-again",
                display: "Ann",
                private: false,
                body: &again[0].body,
            },
            Instant::now(),
        );
        assert!(events.is_empty(), "not a new offer");
        let ask = bob.download(&id, Instant::now()).expect("offered");
        assert_eq!(ask.to.as_deref(), Some("ann-again"));
    }

    #[test]
    fn a_file_offered_to_one_person_is_sent_to_them_alone() {
        let (mut ann, _, id) = offered(pattern(10), true);
        let ask = json!({"talkline": 1, "file_get": id});
        let (_, out) = ann.receive(incoming("mallory", &ask), Instant::now());
        assert_eq!(out.len(), 1);
        assert!(out[0].body.get("file_cancel").is_some(), "{:?}", out[0]);
        let (_, out) = ann.receive(incoming("bob", &ask), Instant::now());
        assert!(out[0].body.get("file_part").is_some());
        // Unknown files are refused too.
        let (_, out) = ann.receive(
            incoming("bob", &json!({"talkline": 1, "file_get": "nope"})),
            Instant::now(),
        );
        assert!(out[0].body.get("file_cancel").is_some());
    }

    #[test]
    fn offers_out_of_bounds_are_not_shown_and_ours_are_checked() {
        let mut bob = FileShare::default();
        let sha = "ab".repeat(32);
        for file in [
            json!({"id": "1", "name": "big.iso", "size": MAX_FILE_BYTES + 1, "sha256": sha}),
            json!({"id": "2", "name": "empty", "size": 0, "sha256": sha}),
            json!({"id": "3", "name": "x", "size": 5, "sha256": "short"}),
            json!({"id": "", "name": "x", "size": 5, "sha256": sha}),
            json!({"id": "x".repeat(65), "name": "x", "size": 5, "sha256": sha}),
            json!({"name": "x", "size": 5, "sha256": sha}),
        ] {
            let body = json!({"talkline": 1, "file": file});
            let (events, _) = bob.receive(incoming("ann", &body), Instant::now());
            assert!(events.is_empty(), "{body}");
        }
        let mut ann = FileShare::default();
        assert!(matches!(
            ann.offer(
                "big",
                vec![0; MAX_FILE_BYTES as usize + 1],
                None,
                ("ann", "Ann")
            ),
            Err(MeetingError::FileTooLarge(_))
        ));
        assert!(matches!(
            ann.offer("empty", Vec::new(), None, ("ann", "Ann")),
            Err(MeetingError::FileEmpty)
        ));
    }

    #[test]
    fn a_sender_who_leaves_or_stops_fails_the_file() {
        let (_, mut bob, id) = offered(pattern(PART_BYTES * 3), false);
        bob.download(&id, Instant::now()).expect("offered");
        let events = bob.person_left("ann");
        assert!(matches!(
            events.as_slice(),
            [FileEvent::Failed {
                why: MeetingError::FileSenderGone,
                ..
            }]
        ));
        assert!(matches!(
            bob.download(&id, Instant::now()),
            Err(MeetingError::FileGone)
        ));

        let (_, mut bob, id) = offered(pattern(PART_BYTES * 3), false);
        let asked_at = Instant::now();
        bob.download(&id, asked_at).expect("offered");
        assert!(bob.expire(asked_at + Duration::from_secs(1)).is_empty());
        let events = bob.expire(asked_at + TRANSFER_STALLS_AFTER);
        assert!(matches!(
            events.as_slice(),
            [FileEvent::Failed {
                why: MeetingError::FileInterrupted,
                ..
            }]
        ));
    }

    #[test]
    fn hostile_names_become_safe_ones() {
        for (given, safe) in [
            ("../../x", "x"),
            ("..\\..\\windows\\system32\\evil.dll", "evil.dll"),
            ("/etc/passwd", "passwd"),
            ("..", "file"),
            ("", "file"),
            ("   ", "file"),
            ("a\u{0}b\u{1b}[31mc\nd.txt", "ab[31mcd.txt"),
            ("CON", "_CON"),
            ("nul.txt", "_nul.txt"),
            ("com1.log", "_com1.log"),
            ("LPT9", "_LPT9"),
            ("console.txt", "console.txt"),
            ("report.pdf. . ", "report.pdf"),
            (".bashrc", "_.bashrc"),
            ("what?<>|*:\"", "what_______"),
            ("invoice\u{202e}fdp.exe", "invoicefdp.exe"),
            ("会议记录 📎.docx", "会议记录 📎.docx"),
            // Four bytes, fewer characters: no slicing inside one.
            ("abé.txt", "abé.txt"),
            ("é1.txt", "é1.txt"),
        ] {
            assert_eq!(safe_file_name(given), safe, "{given:?}");
        }
        let long = format!("{}.pdf", "长".repeat(300));
        let cut = safe_file_name(&long);
        assert!(
            cut.len() <= MAX_NAME_BYTES && cut.ends_with(".pdf"),
            "{cut}"
        );
    }

    #[test]
    fn saving_writes_in_the_folder_only_and_never_over_a_file() {
        let folder =
            std::env::temp_dir().join(format!("talkline-files-{:x}", rand::random::<u64>()));
        std::fs::create_dir_all(&folder).expect("a folder");
        std::fs::write(folder.join("notes.txt"), b"mine").expect("an existing file");
        let first = save_into(&folder, "../notes.txt", b"theirs").expect("saved");
        assert_eq!(first, folder.join("notes (1).txt"));
        let second = save_into(&folder, "notes.txt", b"again").expect("saved");
        assert_eq!(second, folder.join("notes (2).txt"));
        assert_eq!(
            std::fs::read(folder.join("notes.txt")).expect("kept"),
            b"mine"
        );
        assert_eq!(std::fs::read(&first).expect("saved"), b"theirs");
        let names: Vec<String> = std::fs::read_dir(&folder)
            .expect("listed")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 3, "no part file left: {names:?}");
        assert!(save_into(&folder.join("missing"), "x", b"x").is_err());
        // A save cut off by a crash leaves a part file: removed at the
        // next start, and nothing of the user's with it.
        std::fs::write(folder.join(".0123456789abcdef.talkline-part"), b"half").expect("part");
        std::fs::write(folder.join(".hidden.talkline-part"), b"theirs").expect("a file of theirs");
        remove_part_files(&folder);
        assert!(!folder.join(".0123456789abcdef.talkline-part").exists());
        assert!(folder.join(".hidden.talkline-part").exists());
        assert!(folder.join("notes.txt").exists());
        let _ = std::fs::remove_dir_all(&folder);
    }
}
