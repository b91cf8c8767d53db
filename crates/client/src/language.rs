//! The language the app speaks: the system's, unless the user chose one
//! (in Settings, or on the policy screen before anything may be kept).
//! The policy, the permission prompts, the privacy choices and the labels
//! the core gives (device stand-ins, backgrounds) follow it.

use talkline_privacy::Language;

use crate::core::{AppCore, lock};
use crate::error::AppError;

/// The stored setting: "" follows the system, else a `Language` tag.
pub(crate) const SETTING_LANGUAGE: &str = "language";

/// The user's choice as it stands in memory; `None` follows the system.
#[derive(Debug, Default)]
pub(crate) struct ChosenLanguage {
    chosen: Option<Language>,
    /// The user picked it in this run (the system's language included):
    /// kept when the policy is accepted.
    picked: bool,
    /// The stored choice has been read since the store opened.
    loaded: bool,
}

/// A setting as given by the page: "" or one of the languages' tags.
pub(crate) fn parse_setting(setting: &str) -> Result<Option<Language>, AppError> {
    match setting.trim() {
        "" => Ok(None),
        tag => Language::from_setting(tag).map(Some).ok_or_else(|| {
            AppError::Invalid(crate::Said::new(format!(
                "{tag:?} is not a language TalkLine speaks (en, zh-CN, or empty for the system's)"
            ), format!(
                "TalkLine 不支持语言 {tag:?}（可选 en、zh-CN，留空则跟随系统）"
            )))
        }),
    }
}

impl AppCore {
    /// The language in force.
    pub fn language(&self) -> Language {
        self.load_language();
        lock(&self.language)
            .chosen
            .unwrap_or_else(Language::of_system)
    }

    /// The user's stored choice, read once the policy is accepted (nothing
    /// is read or kept before). A store that cannot be read leaves the
    /// language as it is. The language's lock is never held while the
    /// store is opened: the store's lock comes first where both are taken.
    fn load_language(&self) {
        let loaded = lock(&self.language).loaded;
        if loaded || !self.policy_accepted().unwrap_or(false) {
            return;
        }
        let stored = self.with_store(|s| Ok(s.setting(SETTING_LANGUAGE)?));
        let mut language = lock(&self.language);
        // Chosen meanwhile (Settings saved): that choice stands.
        if language.loaded {
            return;
        }
        match stored {
            Ok(stored) => {
                if let Some(chosen) = stored.as_deref().and_then(Language::from_setting) {
                    language.chosen = Some(chosen);
                }
                language.loaded = true;
            }
            Err(e) => log::warn!("the language setting was not read: {e}"),
        }
    }

    /// Chooses the language ("" for the system's). Kept once the policy is
    /// accepted; before, for this run only (and kept at acceptance).
    pub fn set_language(&self, setting: &str) -> Result<(), AppError> {
        let chosen = parse_setting(setting)?;
        if self.policy_accepted().unwrap_or(false) {
            self.store_language(chosen)?;
        }
        self.language_chosen(chosen);
        Ok(())
    }

    pub(crate) fn language_chosen(&self, chosen: Option<Language>) {
        let mut language = lock(&self.language);
        language.chosen = chosen;
        language.picked = true;
        language.loaded = true;
    }

    pub(crate) fn store_language(&self, chosen: Option<Language>) -> Result<(), AppError> {
        self.with_store(|s| Ok(s.set_setting(SETTING_LANGUAGE, chosen.map_or("", Language::tag))?))
    }

    /// At acceptance: a language picked on the policy screen (the
    /// system's too, over an older stored choice) is kept. A store that
    /// fails here does not undo the acceptance: the choice holds for this
    /// run, and Settings can keep it later.
    pub(crate) fn keep_language_picked_before_acceptance(&self) {
        let (picked, chosen) = {
            let language = lock(&self.language);
            (language.picked, language.chosen)
        };
        if picked && let Err(e) = self.store_language(chosen) {
            log::warn!("the language picked before acceptance was not kept: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_name_a_language_or_the_systems() {
        assert_eq!(parse_setting("").ok(), Some(None));
        assert_eq!(parse_setting(" ").ok(), Some(None));
        assert_eq!(
            parse_setting("zh-CN").ok(),
            Some(Some(Language::SimplifiedChinese))
        );
        assert_eq!(parse_setting("en").ok(), Some(Some(Language::English)));
        for bad in ["zh", "fr", "中文", "EN"] {
            let refused = parse_setting(bad).err().map(|e| e.to_string());
            assert!(
                refused.as_deref().is_some_and(|m| m.contains("zh-CN")),
                "{bad:?}: {refused:?}"
            );
        }
    }
}
