//! The user's rights over what the app keeps (privacy policy §7): see it,
//! take a complete copy, delete history, clear caches, decide each
//! feature's consent, and withdraw consent altogether.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};
use talkline_privacy::{Capability, ChoiceKind, FeatureConsent};

use crate::core::{AppCore, lock, now_unix};
use crate::effects::{self, BackgroundOption, EffectsChoice};

const SETTING_BACKGROUND: &str = "background";
/// How an export's file name starts (then its time, then ".json").
const EXPORT_PREFIX: &str = "talkline-data-";
/// Logs an export or an upload holds in memory at most: the newest files.
const EXPORT_LOG_BUDGET: u64 = 64 * 1024 * 1024;
const UPLOAD_LOG_BUDGET: u64 = 16 * 1024 * 1024;
const SETTING_BEAUTY: &str = "beauty";
use crate::error::AppError;

/// One toggle of Settings' privacy section.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrivacyChoiceView {
    pub id: String,
    /// "permission" (an OS permission of Appendix II) or "feature".
    pub kind: &'static str,
    pub title: String,
    pub explanation: String,
    /// `None`: never asked yet.
    pub granted: Option<bool>,
}

/// What withdrawing consent removed, for the user to read before the app
/// closes (and for tests).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Withdrawal {
    pub deleted: Vec<String>,
}

fn remove_dir(path: &Path) -> Result<bool, AppError> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(AppError::Store(crate::Said::new(
            format!(
                "could not delete {}: {e}; delete it yourself to finish",
                path.display()
            ),
            format!("无法删除 {}：{e}；请手动删除以完成", path.display()),
        ))),
    }
}

/// Empties `dir` but keeps it (a cache directory others may hold open).
fn empty_dir(dir: &Path) -> Result<u64, AppError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(AppError::Store(crate::Said::new(
                format!("cannot read {}: {e}", dir.display()),
                format!("无法读取 {}：{e}", dir.display()),
            )));
        }
    };
    let mut freed = 0;
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let meta = entry.metadata().ok();
        freed += meta.as_ref().map_or(0, std::fs::Metadata::len);
        let removed = if meta.is_some_and(|m| m.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|e| {
            AppError::Store(crate::Said::new(
                format!("cannot delete {}: {e}", path.display()),
                format!("无法删除 {}：{e}", path.display()),
            ))
        })?;
    }
    Ok(freed)
}

/// Deletes what `dir` holds except the folders in `keep`; false if `dir`
/// does not exist.
fn empty_dir_except(dir: &Path, keep: &[PathBuf]) -> Result<bool, AppError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            return Err(AppError::Store(crate::Said::new(
                format!(
                    "cannot read {}: {e}; delete it yourself to finish",
                    dir.display()
                ),
                format!("无法读取 {}：{e}；请手动删除以完成", dir.display()),
            )));
        }
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if keep.contains(&path) {
            continue;
        }
        let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match removed {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(AppError::Store(crate::Said::new(
                    format!(
                        "could not delete {}: {e}; delete it yourself to finish",
                        path.display()
                    ),
                    format!("无法删除 {}：{e}；请手动删除以完成", path.display()),
                )));
            }
        }
    }
    Ok(true)
}

pub(crate) fn timestamp_for_file(now: i64) -> String {
    let (y, m, d) = crate::logs::civil_date(now.div_euclid(86_400));
    let secs = now.rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// What `write_whole` names a file until it is complete.
const PARTIAL: &str = ".partial";

/// Writes `bytes` to `path` through a temporary file, so an export or a
/// photo is either complete or absent, even if the app is killed.
pub(crate) fn write_whole(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(PARTIAL);
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, path)
}

/// Removes what `write_whole` left half-written in `dir` when the app was
/// killed (an export's partial file is personal data too). Only files
/// named as ours: the export folder is the user's.
pub(crate) fn remove_partial_writes(dir: &Path, ours: impl Fn(&str) -> bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(whole) = name.to_str().and_then(|n| n.strip_suffix(PARTIAL)) else {
            continue;
        };
        if ours(whole)
            && let Err(e) = std::fs::remove_file(entry.path())
        {
            log::warn!("a half-written file was not removed: {e}");
        }
    }
}

/// A file the app writes into the user's Downloads: an export, or a
/// meeting's calendar file.
pub(crate) fn is_ours_in_downloads(name: &str) -> bool {
    (name.starts_with(EXPORT_PREFIX) && name.ends_with(".json"))
        || crate::schedule::is_calendar_file_name(name)
}

impl AppCore {
    /// Everything the app keeps about the user, as the personal-data screen
    /// shows it and the export writes it.
    pub fn personal_data(&self) -> Result<Value, AppError> {
        self.require_policy()?;
        let mut data = self.with_store(|s| Ok(s.export()?))?;
        data["logs"] = json!(self.config.logs.list());
        data["backgrounds"] = json!(effects::photo_names(&self.backgrounds_dir()));
        Ok(data)
    }

    /// The saved beauty and background choice.
    pub fn effects_choice(&self) -> Result<EffectsChoice, AppError> {
        self.require_policy()?;
        self.with_store(|s| {
            Ok(EffectsChoice {
                background: s
                    .setting(SETTING_BACKGROUND)?
                    .unwrap_or_else(|| "none".into()),
                beauty: s
                    .setting(SETTING_BEAUTY)?
                    .and_then(|b| b.parse::<f32>().ok())
                    .filter(|b| (0.0..=1.0).contains(b))
                    .unwrap_or(0.0),
            })
        })
    }

    /// Asks for a feature's consent the way the window asks for a
    /// permission: the error carries what to show.
    pub(crate) fn require_feature(&self, feature: FeatureConsent) -> Result<(), AppError> {
        if self.feature_granted(feature)? {
            Ok(())
        } else {
            Err(AppError::FeatureConsentNeeded {
                id: feature.id(),
                title: feature.title(self.language()),
                explanation: feature.explanation(self.language()),
            })
        }
    }

    /// Saves the choice and applies it to the running camera from its next
    /// frame (the model is already loaded: nothing stalls).
    pub fn set_effects(&self, choice: &EffectsChoice) -> Result<(), AppError> {
        self.require_policy()?;
        let needs = choice.needs();
        if needs.beauty {
            self.require_feature(FeatureConsent::BeautyFaceProcessing)?;
        }
        if needs.own_photo {
            self.require_feature(FeatureConsent::CustomBackgrounds)?;
        }
        let settings = effects::settings_for(choice, &self.backgrounds_dir())?;
        self.with_store(|s| {
            s.set_setting(SETTING_BACKGROUND, &choice.background)?;
            Ok(s.set_setting(SETTING_BEAUTY, &choice.beauty.to_string())?)
        })?;
        self.effects.set(settings);
        Ok(())
    }

    /// Puts the saved choice in force, minus what lost its consent since.
    pub(crate) fn load_effects(&self) {
        let Ok(mut choice) = self.effects_choice() else {
            return;
        };
        let needs = choice.needs();
        if needs.beauty
            && !self
                .feature_granted(FeatureConsent::BeautyFaceProcessing)
                .unwrap_or(false)
        {
            choice.beauty = 0.0;
        }
        if needs.own_photo
            && !self
                .feature_granted(FeatureConsent::CustomBackgrounds)
                .unwrap_or(false)
        {
            choice.background = "none".into();
        }
        match effects::settings_for(&choice, &self.backgrounds_dir()) {
            Ok(settings) => self.effects.set(settings),
            Err(e) => log::warn!("video effects off: {e}"),
        }
    }

    pub fn background_options(&self) -> Result<Vec<BackgroundOption>, AppError> {
        self.require_policy()?;
        Ok(effects::options(&self.backgrounds_dir(), self.language()))
    }

    /// Keeps one of the user's photos as a background (with their consent).
    pub fn add_background(&self, bytes: &[u8]) -> Result<String, AppError> {
        self.require_policy()?;
        self.require_feature(FeatureConsent::CustomBackgrounds)?;
        effects::store_photo(&self.backgrounds_dir(), bytes, now_unix())
    }

    /// Where the user's own background photos are kept.
    pub fn backgrounds_dir(&self) -> PathBuf {
        effects::photos_dir(&self.config.data_dir)
    }

    /// A complete copy of what the app keeps (database, log texts, the
    /// names of custom backgrounds) as one JSON file in the export folder.
    /// Returns the file's path.
    pub fn export_personal_data(&self) -> Result<String, AppError> {
        let mut data = self.personal_data()?;
        let (logs, left_out) = self.config.logs.read_newest(EXPORT_LOG_BUDGET);
        data["logs"] = logs
            .into_iter()
            .map(|(name, text)| json!({ "name": name, "text": text }))
            .collect();
        // Said, not silently dropped: the files stay on the device.
        data["logs_not_included"] = json!(left_out);
        data["exported_at"] = json!(now_unix());
        let dir = &self.config.export_dir;
        std::fs::create_dir_all(dir).map_err(|e| {
            AppError::Store(crate::Said::new(
                format!("cannot create the folder {}: {e}", dir.display()),
                format!("无法创建文件夹 {}：{e}", dir.display()),
            ))
        })?;
        let path = dir.join(format!(
            "{EXPORT_PREFIX}{}.json",
            timestamp_for_file(now_unix())
        ));
        let bytes = serde_json::to_vec_pretty(&data).map_err(|e| {
            AppError::Store(crate::Said::new(
                format!("cannot write the export: {e}"),
                format!("无法写入导出文件：{e}"),
            ))
        })?;
        write_whole(&path, &bytes).map_err(|e| {
            AppError::Store(crate::Said::new(
                format!("cannot write {}: {e}", path.display()),
                format!("无法写入 {}：{e}", path.display()),
            ))
        })?;
        Ok(path.display().to_string())
    }

    /// Deletes the meeting history and scan records.
    pub fn delete_history(&self) -> Result<(), AppError> {
        self.require_policy()?;
        self.with_store(|s| Ok(s.delete_history()?))
    }

    /// Empties the cache folders; returns the bytes freed.
    pub fn clear_cache(&self) -> Result<u64, AppError> {
        self.require_policy()?;
        let mut freed = 0;
        for dir in &self.config.cache_dirs {
            freed += empty_dir(dir)?;
        }
        Ok(freed)
    }

    pub fn privacy_choices(&self) -> Result<Vec<PrivacyChoiceView>, AppError> {
        self.require_policy()?;
        let choices = self.ledger(|l| Ok(l.choices()?))?;
        Ok(choices
            .into_iter()
            .filter(|c| c.id != Capability::LocalNetwork.id() || cfg!(target_os = "ios"))
            // A desktop has no calendar permission: the calendar feature's
            // own toggle (same id, "calendar") is its consent there.
            .filter(|c| {
                c.kind != ChoiceKind::Permission
                    || c.id != Capability::Calendar.id()
                    || cfg!(any(target_os = "ios", target_os = "android"))
            })
            .map(|c| PrivacyChoiceView {
                id: c.id.into(),
                kind: match c.kind {
                    ChoiceKind::Permission => "permission",
                    ChoiceKind::Feature => "feature",
                },
                title: c.title,
                explanation: c.explanation,
                granted: c.granted,
            })
            .collect())
    }

    /// A toggle in Settings: a permission's answer or a feature's consent.
    pub fn set_privacy_choice(&self, id: &str, granted: bool) -> Result<(), AppError> {
        self.require_policy()?;
        if let Some(feature) = FeatureConsent::from_id(id) {
            self.ledger(|l| Ok(l.set_feature(feature, granted)?))?;
            if !granted && feature == FeatureConsent::CustomBackgrounds {
                // "Until you remove them or withdraw consent".
                remove_dir(&self.backgrounds_dir())?;
            }
            // A running camera drops what lost its consent at once.
            self.load_effects();
            return Ok(());
        }
        if Capability::from_id(id).is_some() {
            return self.answer_permission(id, granted);
        }
        Err(AppError::Invalid(crate::Said::new(
            format!("unknown privacy choice {id:?}"),
            format!("未知的隐私选项 {id:?}"),
        )))
    }

    pub fn feature_granted(&self, feature: FeatureConsent) -> Result<bool, AppError> {
        self.ledger(|l| Ok(l.feature_granted(feature)?))
    }

    /// Sends the log files to the support address in Settings: only when
    /// the user presses Upload, and only with the log-upload consent on.
    /// Returns the bytes sent.
    pub async fn upload_logs(&self) -> Result<usize, AppError> {
        self.require_policy()?;
        if !self.feature_granted(FeatureConsent::LogUpload)? {
            return Err(AppError::ConsentDenied(
                "log upload is off; turn it on in Settings → Privacy to send your logs".into(),
            ));
        }
        let target = self.settings()?.log_upload_url;
        let url = crate::upload::upload_url(&target)?;
        let mut body = String::new();
        let (logs, _older) = self.config.logs.read_newest(UPLOAD_LOG_BUDGET);
        for (name, text) in logs {
            body.push_str(&format!("===== {name} =====\n{text}"));
        }
        let sent = body.len();
        crate::upload::post_text(url, body).await?;
        log::info!("logs uploaded ({sent} bytes)");
        Ok(sent)
    }

    /// Withdraws consent to the privacy policy: leaves any meeting, stops
    /// capture, deletes the database and its key, logs, caches and custom
    /// backgrounds, then closes the app. The next start asks again.
    pub async fn withdraw_consent(&self) -> Result<Withdrawal, AppError> {
        self.shutdown().await;
        let mut report = Withdrawal::default();
        // Every step is tried, whatever failed before it: the user asked
        // for all of it to go.
        let mut failures = Vec::new();
        if let Err(e) = self.config.logs.stop_and_delete() {
            failures.push(format!(
                "the logs in {}: {e}",
                self.config.logs.dir().display()
            ));
        } else {
            report.deleted.push("logs".into());
        }
        // Recordings made here go too, wherever the user keeps them: read
        // from the database before it goes.
        match self.with_store(|s| Ok(s.recordings()?)) {
            Ok(recordings) => {
                for r in &recordings {
                    match std::fs::remove_file(&r.file) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                            failures.push(format!("the recording {}: {e}", r.file));
                        }
                        _ => {}
                    }
                }
                if !recordings.is_empty() {
                    report.deleted.push("recordings of meetings".into());
                }
            }
            // A database that cannot be read lists nothing to remove.
            Err(e) => log::warn!("recordings not listed on withdrawal: {}", e.kind()),
        }
        {
            // Held until the database and key are gone: nothing can reopen
            // the store meanwhile (see `with_store`).
            let mut store = lock(&self.store);
            self.withdrawn
                .store(true, std::sync::atomic::Ordering::Release);
            drop(store.take());
            match talkline_store::wipe(&self.database_path(), self.config.vault.as_ref()) {
                Ok(()) => report.deleted.push("database and its key".into()),
                Err(e) => failures.push(e.to_string()),
            }
        }
        match self.delete_remaining_files() {
            Ok(dirs) => report.deleted.extend(dirs),
            Err(e) => failures.push(e.to_string()),
        }
        if !failures.is_empty() {
            return Err(AppError::Store(crate::Said::new(
                format!(
                    "not everything could be deleted: {}; delete it yourself, or try again",
                    failures.join("; ")
                ),
                format!("未能全部删除：{}；请手动删除，或重试", failures.join("; ")),
            )));
        }
        self.request_exit();
        Ok(report)
    }

    /// Whether consent was withdrawn in this run (the app is closing).
    pub fn withdrawn(&self) -> bool {
        self.withdrawn.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Deletes the data folder (backgrounds, anything left), the caches and,
    /// last, the webview's storage: the webview may write to it until it
    /// is gone. Called on withdrawal and once more as the app exits, after
    /// the webview has written its last state.
    pub fn delete_remaining_files(&self) -> Result<Vec<String>, AppError> {
        let mut deleted = Vec::new();
        let mut first_error = None;
        let data_dir = &self.config.data_dir;
        let webview = &self.config.webview_dirs;
        // The data folder's own contents first, keeping the webview's
        // storage when it lives inside it.
        match empty_dir_except(data_dir, webview) {
            Ok(true) => deleted.push(data_dir.display().to_string()),
            Ok(false) => {}
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
        let dirs = self
            .config
            .cache_dirs
            .iter()
            .chain(webview)
            .chain([data_dir]);
        for dir in dirs {
            match remove_dir(dir) {
                Ok(true) if dir != data_dir => deleted.push(dir.display().to_string()),
                Ok(_) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(deleted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webview_storage_inside_the_data_folder_is_deleted_last() {
        let root = std::env::temp_dir().join(format!("talkline-remaining-{}", std::process::id()));
        let data = root.join("data");
        let webview = data.join("webview");
        let cache = root.join("cache");
        for dir in [
            &webview.join("localstorage"),
            &data.join("backgrounds"),
            &cache,
        ] {
            std::fs::create_dir_all(dir).expect("dir");
        }
        std::fs::write(webview.join("localstorage/store.sqlite"), "x").expect("file");
        std::fs::write(data.join("talkline.db"), "x").expect("file");
        std::fs::write(cache.join("c"), "x").expect("file");
        let mut config = crate::CoreConfig::in_dir(
            data.clone(),
            talkline_meeting::ServerUrl::parse("ws://127.0.0.1:9").expect("url"),
            std::sync::Arc::new(talkline_store::MemoryVault::default()),
        );
        config.cache_dirs = vec![cache.clone()];
        config.webview_dirs = vec![webview.clone()];
        let core = AppCore::new(config).expect("core");
        let deleted = core.delete_remaining_files().expect("deleted");
        let shown = |p: &Path| p.display().to_string();
        assert_eq!(deleted, [shown(&data), shown(&cache), shown(&webview)]);
        assert!(!data.exists() && !cache.exists(), "{deleted:?}");
        // Again (as at exit), with a storage folder a helper recreated.
        std::fs::create_dir_all(&webview).expect("recreated");
        core.delete_remaining_files().expect("deleted again");
        assert!(!data.exists());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[tokio::test]
    async fn withdrawal_deletes_the_recordings_made_here_and_nothing_else() {
        let root =
            std::env::temp_dir().join(format!("talkline-withdraw-rec-{}", std::process::id()));
        let videos = root.join("videos");
        std::fs::create_dir_all(&videos).expect("videos");
        let ours = videos.join("ours.webm");
        let theirs = videos.join("not ours.webm");
        std::fs::write(&ours, "webm").expect("file");
        std::fs::write(&theirs, "webm").expect("file");
        let core = AppCore::new(crate::CoreConfig::in_dir(
            root.join("data"),
            talkline_meeting::ServerUrl::parse("ws://127.0.0.1:9").expect("url"),
            std::sync::Arc::new(talkline_store::MemoryVault::default()),
        ))
        .expect("core");
        core.with_store(|s| {
            s.add_recording(&ours.to_string_lossy(), 1234, 1)?;
            // Deleted by the user since: no failure.
            s.add_recording(&videos.join("gone.webm").to_string_lossy(), 1234, 2)?;
            Ok(())
        })
        .expect("listed");
        let report = core.withdraw_consent().await.expect("withdrawn");
        assert!(
            report.deleted.iter().any(|d| d == "recordings of meetings"),
            "{report:?}"
        );
        assert!(!ours.exists(), "a recording made here is left");
        assert!(theirs.exists(), "a file the app did not make was deleted");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn export_file_names_sort_by_time() {
        assert_eq!(timestamp_for_file(0), "19700101-000000");
        assert_eq!(timestamp_for_file(1_796_142_845), "20261201-163405");
    }
}
