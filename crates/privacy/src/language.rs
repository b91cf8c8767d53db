//! The languages TalkLine speaks: English and Simplified Chinese, the
//! system's by default. The policy, Appendix II's purpose texts and the
//! feature consents exist in each; everything the user decides on is read
//! in the language they chose.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Language {
    #[default]
    #[serde(rename = "en")]
    English,
    #[serde(rename = "zh-CN")]
    SimplifiedChinese,
}

impl Language {
    pub const ALL: [Language; 2] = [Self::English, Self::SimplifiedChinese];

    /// The BCP 47 tag the UI and the settings use.
    pub fn tag(self) -> &'static str {
        match self {
            Self::English => "en",
            Self::SimplifiedChinese => "zh-CN",
        }
    }

    /// A tag as written by a user, a browser or a POSIX locale (`zh_CN.UTF-8`,
    /// `zh-Hans`, `en_GB`): any Chinese reads Simplified Chinese, the only
    /// Chinese there is; any other known language English. `None` for what
    /// names no language at all (`C`, `POSIX`, empty).
    pub fn from_tag(tag: &str) -> Option<Self> {
        // `zh_CN.UTF-8@pinyin` → `zh`
        let primary = tag
            .trim()
            .split(['.', '@'])
            .next()?
            .split(['_', '-'])
            .next()?
            .to_ascii_lowercase();
        match primary.as_str() {
            "" | "c" | "posix" => None,
            "zh" => Some(Self::SimplifiedChinese),
            p if p.len() >= 2 && p.len() <= 3 && p.chars().all(|c| c.is_ascii_alphabetic()) => {
                Some(Self::English)
            }
            _ => None,
        }
    }

    /// The setting as stored: "" follows the system.
    pub fn from_setting(setting: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.tag() == setting)
    }

    /// The system's language, read as POSIX does: `LC_ALL`, then
    /// `LC_MESSAGES`, then `LANG`; GNU's `LANGUAGE` list first when a locale
    /// is set at all. English where nothing says otherwise.
    pub fn of_system() -> Self {
        Self::from_environment(|name| std::env::var(name).ok())
    }

    pub fn from_environment(var: impl Fn(&str) -> Option<String>) -> Self {
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .into_iter()
            .filter_map(&var)
            .find(|v| !v.is_empty());
        let Some(locale) = locale else {
            return Self::English;
        };
        // GNU gettext ignores LANGUAGE under the C locale.
        if Self::from_tag(&locale).is_some()
            && let Some(first) = var("LANGUAGE")
                .unwrap_or_default()
                .split(':')
                .find_map(Self::from_tag)
        {
            return first;
        }
        Self::from_tag(&locale).unwrap_or_default()
    }

    /// One text in this language.
    pub fn pick<'a>(self, english: &'a str, chinese: &'a str) -> &'a str {
        match self {
            Self::English => english,
            Self::SimplifiedChinese => chinese,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_from_users_browsers_and_locales() {
        use Language::*;
        for (tag, lang) in [
            ("zh-CN", Some(SimplifiedChinese)),
            ("zh_CN.UTF-8", Some(SimplifiedChinese)),
            ("zh-Hans-CN", Some(SimplifiedChinese)),
            ("zh_TW.UTF-8@pinyin", Some(SimplifiedChinese)),
            ("en", Some(English)),
            ("en_GB.UTF-8", Some(English)),
            ("de_DE", Some(English)),
            ("C", None),
            ("C.UTF-8", None),
            ("POSIX", None),
            ("", None),
            ("中文", None),
            ("x", None),
        ] {
            assert_eq!(Language::from_tag(tag), lang, "{tag:?}");
        }
        for lang in Language::ALL {
            assert_eq!(Language::from_tag(lang.tag()), Some(lang));
            assert_eq!(Language::from_setting(lang.tag()), Some(lang));
        }
        assert_eq!(Language::from_setting(""), None);
        assert_eq!(Language::from_setting("zh"), None);
    }

    #[test]
    fn the_system_language_is_read_as_posix_does() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        use Language::*;
        assert_eq!(Language::from_environment(env(&[])), English);
        assert_eq!(
            Language::from_environment(env(&[("LANG", "zh_CN.UTF-8")])),
            SimplifiedChinese
        );
        // LC_ALL wins over LANG; an empty one does not count.
        assert_eq!(
            Language::from_environment(env(&[("LC_ALL", "en_US.UTF-8"), ("LANG", "zh_CN.UTF-8")])),
            English
        );
        assert_eq!(
            Language::from_environment(env(&[("LC_ALL", ""), ("LANG", "zh_CN.UTF-8")])),
            SimplifiedChinese
        );
        assert_eq!(
            Language::from_environment(env(&[("LC_MESSAGES", "zh_CN"), ("LANG", "en_US")])),
            SimplifiedChinese
        );
        // LANGUAGE's first known language, unless the locale is C.
        assert_eq!(
            Language::from_environment(env(&[("LANGUAGE", "zh_CN:en"), ("LANG", "en_US.UTF-8")])),
            SimplifiedChinese
        );
        assert_eq!(
            Language::from_environment(env(&[("LANGUAGE", "zh_CN"), ("LANG", "C.UTF-8")])),
            English
        );
    }
}
