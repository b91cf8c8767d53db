//! Files shared in the meeting the app is in: those offered (ours too),
//! what became of each (on its way, saved, failed, delivered), and saving
//! one that arrived into the user's Downloads, never over a file there.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;

use serde::Serialize;
use talkline_meeting::chat::{FileEvent, FileOffer, files};
use talkline_privacy::{Language, Translated};

/// Files listed in a meeting (the oldest go first).
const MAX_FILES_LISTED: usize = 200;

/// A file as the chat panel shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileView {
    pub id: String,
    /// Who offers it (for ours, whom we offered it to alone, if anyone).
    pub display: String,
    /// Safe to save as it is.
    pub name: String,
    pub size: u64,
    pub private: bool,
    pub own: bool,
    /// "offered", "receiving", "saved", "failed" or (ours) "delivered".
    pub state: &'static str,
    /// Bytes received so far, while receiving.
    pub received: u64,
    /// Where it was saved.
    pub saved_as: Option<String>,
    /// Why it did not arrive or could not be saved, in the language in force.
    pub error: Option<String>,
    /// How many people received ours.
    pub delivered_to: u32,
}

impl FileView {
    fn of(offer: &FileOffer) -> Self {
        Self {
            id: offer.id.clone(),
            display: offer.display.clone(),
            name: offer.name.clone(),
            size: offer.size,
            private: offer.private,
            own: offer.own,
            state: "offered",
            received: 0,
            saved_as: None,
            error: None,
            delivered_to: 0,
        }
    }
}

/// What a file event asks of the caller.
pub enum FileUpdate {
    /// Tell the window of the file as it is now.
    Show(FileView),
    /// Save this, then tell `MeetingFiles::saved`.
    Save(ToSave),
}

/// A file that arrived whole, to save in `folder`.
pub struct ToSave {
    pub id: String,
    pub folder: PathBuf,
    pub name: String,
    pub bytes: Vec<u8>,
}

impl ToSave {
    /// Saves it (blocking: call off the async runtime); the folder is
    /// made first (a new account may have no Downloads yet).
    pub fn save(&self) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.folder)?;
        files::save_into(&self.folder, &self.name, &self.bytes)
    }
}

/// The files of one meeting.
#[derive(Default)]
pub struct MeetingFiles {
    files: VecDeque<FileView>,
    /// Files asked for, by id: the folder each is saved in.
    save_in: HashMap<String, PathBuf>,
}

impl MeetingFiles {
    pub fn views(&self) -> Vec<FileView> {
        self.files.iter().cloned().collect()
    }

    fn keep(&mut self, view: FileView) {
        if self.files.len() >= MAX_FILES_LISTED
            && let Some(old) = self.files.pop_front()
        {
            self.save_in.remove(&old.id);
        }
        self.files.push_back(view);
    }

    fn find(&mut self, id: &str) -> Option<&mut FileView> {
        self.files.iter_mut().find(|f| f.id == id)
    }

    /// One of ours, offered: listed.
    pub fn offered(&mut self, offer: &FileOffer) -> FileView {
        let view = FileView::of(offer);
        self.keep(view.clone());
        view
    }

    /// The file `id` was asked for, to be saved in `folder`.
    pub fn receiving(&mut self, id: &str, folder: PathBuf) -> Option<FileView> {
        let view = self.find(id)?;
        view.state = "receiving";
        view.received = 0;
        view.error = None;
        let view = view.clone();
        self.save_in.insert(id.to_string(), folder);
        Some(view)
    }

    /// What a file event changes: the file as it is now, when it is worth
    /// telling (progress only every 5%), or a file to save (see `saved`).
    pub fn event(&mut self, event: FileEvent, language: Language) -> Option<FileUpdate> {
        if let FileEvent::Received { id, name, bytes } = event {
            let folder = self.save_in.remove(&id)?;
            return Some(FileUpdate::Save(ToSave {
                id,
                folder,
                name,
                bytes,
            }));
        }
        self.shown(event, language).map(FileUpdate::Show)
    }

    /// A save done (off the async runtime: up to 16 MiB, synced).
    pub fn saved(
        &mut self,
        id: &str,
        folder: &std::path::Path,
        result: std::io::Result<PathBuf>,
        language: Language,
    ) -> Option<FileView> {
        let view = self.find(id)?;
        match result {
            Ok(path) => {
                view.state = "saved";
                view.received = view.size;
                view.saved_as = Some(path.display().to_string());
            }
            Err(e) => {
                log::warn!("a received file could not be saved: {e}");
                view.state = "failed";
                let shown = folder.display();
                view.error = Some(match language {
                    Language::SimplifiedChinese => format!("无法保存到 {shown}：{e}"),
                    _ => format!("could not save it in {shown}: {e}"),
                });
            }
        }
        Some(view.clone())
    }

    fn shown(&mut self, event: FileEvent, language: Language) -> Option<FileView> {
        match event {
            FileEvent::Offered(offer) => {
                let view = FileView::of(&offer);
                self.keep(view.clone());
                Some(view)
            }
            FileEvent::Progress { id, received, size } => {
                let view = self.find(&id)?;
                let step = (size / 20).max(1);
                let told = view.received / step;
                view.received = received;
                (received / step != told).then(|| view.clone())
            }
            FileEvent::Received { .. } => None,
            FileEvent::Failed { id, why } => {
                self.save_in.remove(&id);
                let view = self.find(&id)?;
                view.state = "failed";
                view.error = Some(why.said_in(language));
                Some(view.clone())
            }
            FileEvent::Delivered { id, .. } => {
                let view = self.find(&id)?;
                view.delivered_to += 1;
                if view.state == "offered" {
                    view.state = "delivered";
                }
                Some(view.clone())
            }
        }
    }
}
