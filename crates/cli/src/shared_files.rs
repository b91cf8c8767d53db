//! Files in the meeting on the command line: `file PATH` offers a file to
//! everyone, `file-to NAME: PATH` to one person; an offer prints as
//! `[file 1] Ann offers "notes.pdf" (12.3 KB)`, and `save 1 FOLDER` asks
//! for it and saves it in FOLDER (never over a file there, under a name
//! made safe), printing `[file, saved] PATH` once it has arrived whole.

use std::collections::HashMap;
use std::path::PathBuf;

use talkline_meeting::chat::{Chat, FileEvent, FileOffer, MAX_FILE_BYTES, files};

use crate::said::{self, said, say};

/// Offers seen in this run, numbered from 1 as printed, and where each
/// file asked for is to be saved.
#[derive(Default)]
pub struct SharedFiles {
    /// The offer printed as number `n` is `offers[n - 1]`.
    offers: Vec<FileOffer>,
    /// Ours, by id: their names, for what is said when they are delivered.
    own: HashMap<String, String>,
    /// Files asked for, by id: the folder each goes to.
    saving: HashMap<String, PathBuf>,
}

/// A size as people read it.
pub fn size_text(bytes: u64) -> String {
    const KB: f64 = 1000.0;
    let b = bytes as f64;
    if b < KB {
        format!("{bytes} B")
    } else if b < KB * KB {
        format!("{:.1} KB", b / KB)
    } else {
        format!("{:.1} MB", b / (KB * KB))
    }
}

impl SharedFiles {
    /// `file PATH`, or `file-to NAME: PATH` (`to` a chat username).
    pub async fn offer(&mut self, chat: &Chat, path: &str, to: Option<(&str, &str)>) {
        let path = PathBuf::from(path.trim());
        let len = match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.is_file() => meta.len(),
            Ok(_) => {
                let shown = path.display();
                return said::error(say!("{shown} is not a file", "{shown} 不是文件"));
            }
            Err(e) => {
                let shown = path.display();
                return said::error(say!("cannot read {shown}: {e}", "无法读取 {shown}：{e}"));
            }
        };
        // Said before reading a byte of it.
        if len > MAX_FILE_BYTES {
            return said::error(said(&talkline_meeting::MeetingError::FileTooLarge(
                MAX_FILE_BYTES,
            )));
        }
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(e) => {
                let shown = path.display();
                return said::error(say!("cannot read {shown}: {e}", "无法读取 {shown}：{e}"));
            }
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match chat
            .offer_file(&name, bytes, to.map(|(username, _)| username))
            .await
        {
            Ok(offer) => {
                let (name, size) = (said::printable(&offer.name), size_text(offer.size));
                self.own.insert(offer.id.clone(), offer.name.clone());
                match to {
                    Some((_, who)) => println!(
                        "{}",
                        say!(
                            "[file, offered to {who}] \"{name}\" ({size})",
                            "[文件，已提供给 {who}] “{name}”（{size}）"
                        )
                    ),
                    None => println!(
                        "{}",
                        say!(
                            "[file, offered] \"{name}\" ({size})",
                            "[文件，已提供] “{name}”（{size}）"
                        )
                    ),
                }
            }
            Err(e) => said::error(said(&e)),
        }
    }

    /// `save N FOLDER`.
    pub async fn save(&mut self, chat: &Chat, args: &str) {
        let usage = || said::error(say!("save NUMBER FOLDER", "save 编号 文件夹"));
        let Some((number, folder)) = args.trim().split_once(' ') else {
            return usage();
        };
        let Some(offer) = number
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| self.offers.get(i))
        else {
            return usage();
        };
        let folder = PathBuf::from(folder.trim());
        if !folder.is_dir() {
            let shown = folder.display();
            return said::error(say!("{shown} is not a folder", "{shown} 不是文件夹"));
        }
        let id = offer.id.clone();
        match chat.download(&id).await {
            Ok(()) => {
                self.saving.insert(id, folder);
            }
            Err(e) => said::error(said(&e)),
        }
    }

    /// Prints what happened to a file; saves one that arrived.
    pub fn show(&mut self, event: FileEvent) {
        match event {
            FileEvent::Offered(offer) => {
                let n = self.offers.len() + 1;
                let (who, name, size) = (
                    &offer.display,
                    said::printable(&offer.name),
                    size_text(offer.size),
                );
                let line = if offer.private {
                    say!(
                        "[file {n}, to you] {who} offers \"{name}\" ({size})",
                        "[文件 {n}，只给我] {who} 提供了“{name}”（{size}）"
                    )
                } else {
                    say!(
                        "[file {n}] {who} offers \"{name}\" ({size})",
                        "[文件 {n}] {who} 提供了“{name}”（{size}）"
                    )
                };
                println!("{line}");
                // Numbered for the whole run; the core bounds how many come.
                self.offers.push(offer);
            }
            FileEvent::Progress { .. } => {}
            FileEvent::Received { id, name, bytes } => {
                let Some(folder) = self.saving.remove(&id) else {
                    return;
                };
                // Up to 16 MiB written and synced: not on the runtime.
                tokio::task::spawn_blocking(move || {
                    match files::save_into(&folder, &name, &bytes) {
                        Ok(path) => {
                            let path = said::printable(&path.display().to_string());
                            println!("{}", say!("[file, saved] {path}", "[文件，已保存] {path}"));
                        }
                        Err(e) => {
                            let shown = folder.display();
                            said::error(say!(
                                "could not save the file in {shown}: {e}",
                                "无法把文件保存到 {shown}：{e}"
                            ));
                        }
                    }
                });
            }
            FileEvent::Failed { id, why } => {
                self.saving.remove(&id);
                let name = self
                    .offers
                    .iter()
                    .find(|o| o.id == id)
                    .map(|o| said::printable(&o.name))
                    .unwrap_or_default();
                let why = said(&why);
                said::error(say!(
                    "the file \"{name}\" did not arrive: {why}",
                    "文件“{name}”没有收到：{why}"
                ));
            }
            FileEvent::Delivered { id, to } => {
                let name = self
                    .own
                    .get(&id)
                    .map(|n| said::printable(n))
                    .unwrap_or_default();
                let who = said::printable(to.split_once(':').map_or(to.as_str(), |(_, n)| n));
                println!(
                    "{}",
                    say!(
                        "[file, delivered] \"{name}\" to {who}",
                        "[文件，已送达] “{name}” 给 {who}"
                    )
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::size_text;

    #[test]
    fn sizes_read_as_people_read_them() {
        assert_eq!(size_text(999), "999 B");
        assert_eq!(size_text(12_345), "12.3 KB");
        assert_eq!(size_text(16 * 1024 * 1024), "16.8 MB");
    }
}
