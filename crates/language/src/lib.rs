//! The languages TalkLine speaks: English and Simplified Chinese, the
//! system's by default. The policy, Appendix II's purpose texts and the
//! feature consents exist in each; everything the user decides on is read
//! in the language they chose. Errors are said in both too: each crate's
//! error enum says itself in Chinese beside its English `Display`
//! ([`Translated`]), so a message reaches the user whole, in one language.

use serde::{Deserialize, Serialize};

/// A text with an English `Display` that can also be said in Simplified
/// Chinese, such as an error a user reads. Its Chinese is written next to
/// its English, in the crate that defines it.
pub trait Translated: std::fmt::Display {
    /// The text in Simplified Chinese.
    fn chinese(&self) -> String;

    /// The text in `language`.
    fn said_in(&self, language: Language) -> String {
        match language {
            Language::English => self.to_string(),
            Language::SimplifiedChinese => self.chinese(),
        }
    }
}

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

    /// The system's language. On Linux and the BSDs, read as POSIX does:
    /// `LC_ALL`, then `LC_MESSAGES`, then `LANG`; GNU's `LANGUAGE` list
    /// first when a locale is set at all. macOS, Windows, iOS and Android
    /// start apps without those: there the environment counts only when set
    /// (a user who sets `LANG` means it), else the system's preferred
    /// languages. English where nothing says otherwise.
    pub fn of_system() -> Self {
        let environment = Self::from_environment(|name| std::env::var(name).ok());
        #[cfg(any(
            target_os = "macos",
            target_os = "ios",
            target_os = "windows",
            target_os = "android"
        ))]
        let environment = environment.or_else(|| Self::from_preferred(sys_locale::get_locales()));
        environment.unwrap_or_default()
    }

    /// The first of the system's preferred languages (BCP 47 tags, most
    /// preferred first) that names a language.
    pub fn from_preferred(tags: impl IntoIterator<Item = String>) -> Option<Self> {
        tags.into_iter().find_map(|tag| Self::from_tag(&tag))
    }

    /// What the POSIX environment says, if it says anything.
    pub fn from_environment(var: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .into_iter()
            .filter_map(&var)
            .find(|v| !v.is_empty())?;
        // GNU gettext ignores LANGUAGE under the C locale, which names
        // no language: English, as it has always meant.
        let Some(named) = Self::from_tag(&locale) else {
            return Some(Self::English);
        };
        let first = var("LANGUAGE")
            .unwrap_or_default()
            .split(':')
            .find_map(Self::from_tag);
        Some(first.unwrap_or(named))
    }

    /// One text in this language.
    pub fn pick<'a>(self, english: &'a str, chinese: &'a str) -> &'a str {
        match self {
            Self::English => english,
            Self::SimplifiedChinese => chinese,
        }
    }
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's civil-from-days algorithm): dates as people
/// read them, in file names and invitations.
pub fn civil_date(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
    fn the_systems_preferred_languages_are_read_in_order() {
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Language::from_preferred(tags(&["zh-Hans-CN", "en-US"])),
            Some(Language::SimplifiedChinese)
        );
        assert_eq!(
            Language::from_preferred(tags(&["de-DE", "zh-CN"])),
            Some(Language::English)
        );
        assert_eq!(Language::from_preferred(tags(&["", "C"])), None);
        assert_eq!(Language::from_preferred(tags(&[])), None);
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
        let from_environment = |pairs| Language::from_environment(env(pairs)).unwrap_or_default();
        // Nothing set: nothing said (other systems then ask the system).
        assert_eq!(Language::from_environment(env(&[])), None);
        assert_eq!(
            Language::from_environment(env(&[("LANG", "C.UTF-8")])),
            Some(English)
        );
        assert_eq!(
            from_environment(&[("LANG", "zh_CN.UTF-8")]),
            SimplifiedChinese
        );
        // LC_ALL wins over LANG; an empty one does not count.
        assert_eq!(
            from_environment(&[("LC_ALL", "en_US.UTF-8"), ("LANG", "zh_CN.UTF-8")]),
            English
        );
        assert_eq!(
            from_environment(&[("LC_ALL", ""), ("LANG", "zh_CN.UTF-8")]),
            SimplifiedChinese
        );
        assert_eq!(
            from_environment(&[("LC_MESSAGES", "zh_CN"), ("LANG", "en_US")]),
            SimplifiedChinese
        );
        // LANGUAGE's first known language, unless the locale is C.
        assert_eq!(
            from_environment(&[("LANGUAGE", "zh_CN:en"), ("LANG", "en_US.UTF-8")]),
            SimplifiedChinese
        );
        assert_eq!(
            from_environment(&[("LANGUAGE", "zh_CN"), ("LANG", "C.UTF-8")]),
            English
        );
    }

    #[test]
    fn civil_dates_are_right_across_leap_years_and_centuries() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(20_788), (2026, 12, 1));
        assert_eq!(civil_date(-1), (1969, 12, 31));
    }
}
