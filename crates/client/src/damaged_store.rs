//! A database the app cannot open: said plainly, and, where starting over
//! is the only way on, set aside at the user's word, never deleted.
//!
//! Which failures may be set aside: a damaged file, a file this key does not
//! open (another machine's, or one whose key the keyring lost). Not a file
//! another TalkLine holds, a keyring that is away for now, a newer app's
//! schema or a folder the app cannot reach: setting those aside would hide
//! data that is fine and will open again.

use std::sync::atomic::Ordering;

use talkline_store::{Store, StoreError, quarantine};

use crate::core::{AppCore, lock};
use crate::error::AppError;

/// Why the store cannot be opened, for the status the window shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreFailure {
    pub message: String,
    /// The user may set the file aside and start over.
    pub can_set_aside: bool,
}

fn may_be_set_aside(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Corrupt { .. }
            | StoreError::WrongKeyOrNotADatabase { .. }
            | StoreError::KeyMissing { .. }
    )
}

impl AppCore {
    /// Opens the store if it is not open; why it cannot be, if it cannot.
    pub(crate) fn store_failure(&self) -> Option<StoreFailure> {
        let mut guard = lock(&self.store);
        if guard.is_some() || self.withdrawn.load(Ordering::Acquire) {
            return None;
        }
        self.open_into(&mut guard).map(|e| StoreFailure {
            message: e.to_string(),
            can_set_aside: may_be_set_aside(&e),
        })
    }

    /// Opens the store into `slot` (the store's lock held); why it could
    /// not, if it could not.
    fn open_into(&self, slot: &mut Option<Store>) -> Option<StoreError> {
        match Store::open_or_create(&self.database_path(), self.config.vault.as_ref()) {
            Ok(store) => {
                *slot = Some(store);
                None
            }
            Err(e) => Some(e),
        }
    }

    /// Renames the database the app cannot open (with its journal) to
    /// `talkline.db.damaged-<time>` beside it and starts a new one. Returns
    /// where the old file now is. Refused when the failure is one that
    /// passes (see the module's note) or there is none.
    pub fn set_aside_database(&self) -> Result<String, AppError> {
        let mut guard = lock(&self.store);
        // Withdrawal deleted the database and its key under this lock: no
        // new one may be made now.
        if self.withdrawn.load(Ordering::Acquire) {
            return Err(AppError::State(crate::Said::new(
                "consent was withdrawn; TalkLine is closing",
                "同意已撤回；TalkLine 正在关闭",
            )));
        }
        let nothing = || {
            AppError::State(crate::Said::new(
                "your saved data opens: there is nothing to set aside",
                "您保存的数据可以正常打开：没有需要移开的文件",
            ))
        };
        if guard.is_some() {
            return Err(nothing());
        }
        match self.open_into(&mut guard) {
            None => return Err(nothing()),
            Some(e) if !may_be_set_aside(&e) => {
                return Err(AppError::Store(crate::Said::new(
                    format!("{e}. The file is left where it is: nothing shows it is damaged"),
                    format!("{e}。文件保留在原处：没有迹象表明它已损坏"),
                )));
            }
            Some(_) => {}
        }
        let suffix = crate::personal::timestamp_for_file(crate::core::now_unix());
        let moved = quarantine(&self.database_path(), &suffix)?;
        // The key stays in the keyring: it may be the one that opens the
        // file set aside (a damaged page, a format a later version reads),
        // and the new database is made under it. Withdrawal deletes both.
        drop(guard);
        log::warn!("a database that could not be opened was set aside");
        Ok(moved.display().to_string())
    }
}
