//! Beauty and the virtual background as the app offers them: the user's
//! choice (saved), the consent each needs, and the one place where every
//! camera the app opens is wrapped so the choice applies before the
//! self-view and the encoder, and changes live.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use talkline_effects::{Background, EffectsSettings, SegmentationCadence};
use talkline_media::VideoSource;
use talkline_media::effects::{
    BUILTIN_BACKGROUNDS, EffectedSource, EffectsControl, builtin_background, load_background,
};
use talkline_privacy::Language;

use crate::core::lock;
use crate::error::AppError;

/// A photo larger than this is refused rather than decoded.
const MAX_PHOTO_BYTES: usize = 25 * 1024 * 1024;
/// Segmentation and composition share one 33 ms frame with capture and
/// encoding: past this, the model runs every other frame.
const SEGMENTATION_BUDGET_MS: u64 = 12;

/// What the user chose, as the window shows and saves it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectsChoice {
    /// `none`, `blur`, a built-in picture (`dusk`, `meadow`, `studio`) or
    /// `photo:<name>` for one of the user's own.
    pub background: String,
    /// Skin smoothing and brightening, 0 (off) to 1.
    pub beauty: f32,
}

/// The backgrounds the window offers.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackgroundOption {
    pub id: String,
    pub label: String,
}

/// Which consents a choice needs (features of the consent ledger).
pub struct Needs {
    pub beauty: bool,
    pub own_photo: bool,
}

impl EffectsChoice {
    pub fn needs(&self) -> Needs {
        Needs {
            beauty: self.beauty > 0.0,
            own_photo: self.background.starts_with("photo:"),
        }
    }

    fn validate(&self) -> Result<(), AppError> {
        if !(0.0..=1.0).contains(&self.beauty) {
            return Err(AppError::Invalid(crate::Said::new(
                "beauty must be between 0 and 1",
                "美颜强度必须在 0 到 1 之间",
            )));
        }
        Ok(())
    }
}

/// A photo's file name as stored: ours, so no path can be smuggled in.
fn photo_name_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !name.starts_with('.')
}

/// Turns a saved choice into pipeline settings (decoding the picture).
pub fn settings_for(choice: &EffectsChoice, photos: &Path) -> Result<EffectsSettings, AppError> {
    choice.validate()?;
    let background = match choice.background.as_str() {
        "" | "none" => Background::None,
        "blur" => Background::Blur { strength: 0.8 },
        name if BUILTIN_BACKGROUNDS.contains(&name) => {
            Background::Replace(Arc::new(builtin_background(name).ok_or_else(|| {
                AppError::Media(crate::Said::new(
                    format!("the {name} background is missing"),
                    format!("缺少背景 {name}"),
                ))
            })?))
        }
        other => {
            let name = other
                .strip_prefix("photo:")
                .filter(|n| photo_name_ok(n))
                .ok_or_else(|| {
                    AppError::Invalid(crate::Said::new(
                        format!("unknown background {other:?}"),
                        format!("未知的背景 {other:?}"),
                    ))
                })?;
            let bytes = std::fs::read(photos.join(name)).map_err(|e| {
                AppError::Media(crate::Said::new(
                    format!("your background photo cannot be read: {e}"),
                    format!("无法读取您的背景照片：{e}"),
                ))
            })?;
            Background::Replace(Arc::new(
                load_background(&bytes).map_err(|e| AppError::Media(crate::Said::of(&e)))?,
            ))
        }
    };
    Ok(EffectsSettings {
        beauty: choice.beauty,
        background,
        cadence: SegmentationCadence::Adaptive {
            budget: std::time::Duration::from_millis(SEGMENTATION_BUDGET_MS),
        },
        ..Default::default()
    })
}

/// Validates and stores one of the user's photos; returns its choice id.
pub fn store_photo(photos: &Path, bytes: &[u8], now_unix: i64) -> Result<String, AppError> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(AppError::Invalid(crate::Said::new(
            format!(
                "the photo is larger than {} MB",
                MAX_PHOTO_BYTES / (1024 * 1024)
            ),
            format!("照片大于 {} MB", MAX_PHOTO_BYTES / (1024 * 1024)),
        )));
    }
    load_background(bytes).map_err(|e| AppError::Invalid(crate::Said::of(&e)))?;
    let ext = if bytes.starts_with(b"\x89PNG") {
        "png"
    } else {
        "jpg"
    };
    std::fs::create_dir_all(photos).map_err(|e| {
        AppError::Store(crate::Said::new(
            format!("cannot keep the photo: {e}"),
            format!("无法保存照片：{e}"),
        ))
    })?;
    let mut n = 0;
    let name = loop {
        let candidate = format!("photo-{now_unix}-{n}.{ext}");
        if !photos.join(&candidate).exists() {
            break candidate;
        }
        n += 1;
    };
    crate::personal::write_whole(&photos.join(&name), bytes).map_err(|e| {
        AppError::Store(crate::Said::new(
            format!("cannot keep the photo: {e}"),
            format!("无法保存照片：{e}"),
        ))
    })?;
    Ok(format!("photo:{name}"))
}

/// The user's photos kept in `photos`, by file name, sorted.
pub fn photo_names(photos: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(photos)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| photo_name_ok(n))
        .collect();
    names.sort();
    names
}

pub fn options(photos: &Path, language: Language) -> Vec<BackgroundOption> {
    let option = |id: &str, label: &str| BackgroundOption {
        id: id.into(),
        label: label.into(),
    };
    let mut all = vec![
        option("none", language.pick("None", "无")),
        option("blur", language.pick("Blur", "模糊")),
    ];
    for name in BUILTIN_BACKGROUNDS {
        let label = match name {
            "dusk" => language.pick("Dusk", "黄昏"),
            "meadow" => language.pick("Meadow", "草地"),
            "studio" => language.pick("Studio", "演播室"),
            other => other,
        };
        all.push(option(name, label));
    }
    for (i, name) in photo_names(photos).into_iter().enumerate() {
        let n = i + 1;
        all.push(BackgroundOption {
            id: format!("photo:{name}"),
            label: match language {
                Language::English => format!("Your photo {n}"),
                Language::SimplifiedChinese => format!("我的照片 {n}"),
            },
        });
    }
    all
}

/// The choice in force and the capture thread it reaches, under one lock
/// so a camera opened during a change cannot miss it.
#[derive(Default)]
pub struct LiveEffects {
    state: Mutex<(EffectsSettings, Option<Arc<EffectsControl>>)>,
}

impl LiveEffects {
    /// Wraps a camera just opened; it becomes the one that hears changes.
    pub fn wrap(&self, source: Box<dyn VideoSource>) -> Result<Box<dyn VideoSource>, AppError> {
        let mut state = lock(&self.state);
        let control = EffectsControl::new();
        let wrapped = EffectedSource::wrap(source, state.0.clone(), Arc::clone(&control))
            .map_err(|e| AppError::Media(crate::Said::of(&e)))?;
        state.1 = Some(control);
        Ok(Box::new(wrapped))
    }

    /// Applies from the next frame of the running camera, and to any
    /// camera opened later.
    pub fn set(&self, settings: EffectsSettings) {
        let mut state = lock(&self.state);
        if let Some(control) = state.1.as_ref() {
            control.set(settings.clone());
        }
        state.0 = settings;
    }
}

/// Where the user's own background photos live, under the data folder.
pub fn photos_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("backgrounds")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_resolve_and_bad_ones_are_refused() {
        let dir = std::env::temp_dir().join(format!("talkline-fx-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let choice = |background: &str, beauty: f32| EffectsChoice {
            background: background.into(),
            beauty,
        };
        assert_eq!(
            settings_for(&choice("none", 0.0), &dir)
                .expect("none")
                .background,
            Background::None
        );
        assert!(matches!(
            settings_for(&choice("dusk", 0.3), &dir)
                .expect("dusk")
                .background,
            Background::Replace(_)
        ));
        for bad in ["photo:../../etc/passwd", "photo:", "beach", "photo:.hidden"] {
            assert!(settings_for(&choice(bad, 0.0), &dir).is_err(), "{bad}");
        }
        assert!(settings_for(&choice("blur", 1.5), &dir).is_err());
        assert!(store_photo(&dir, b"not a photo", 1).is_err());
        assert!(!dir.exists(), "a refused photo was kept");
    }
}
