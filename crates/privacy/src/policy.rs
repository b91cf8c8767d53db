//! TalkLine's own privacy policy, versioned, shipped in `assets/`. The
//! version is a number in the document's first line so that a new text
//! cannot ship without deciding whether users must accept it again.

use crate::Language;

const POLICY_MD: &str = include_str!("../../../assets/privacy-policy.md");
/// The same policy, the same version, in Simplified Chinese.
const POLICY_ZH_CN_MD: &str = include_str!("../../../assets/privacy-policy.zh-CN.md");

fn document(language: Language) -> &'static str {
    language.pick(POLICY_MD, POLICY_ZH_CN_MD)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyPolicy {
    pub version: u32,
    pub title: String,
    pub text: String,
}

impl PrivacyPolicy {
    /// The policy of this build (its English text).
    pub fn current() -> Self {
        Self::current_in(Language::English)
    }

    /// The policy of this build in `language`. Every language's document
    /// carries the same version (a test checks it): accepting it in one is
    /// accepting it.
    pub fn current_in(language: Language) -> Self {
        let document = document(language);
        // The documents are checked by a test; a broken one still yields a
        // policy that must be accepted (version 0 is never "accepted").
        Self::parse(document).unwrap_or(Self {
            version: 0,
            title: language
                .pick("TalkLine privacy policy", "TalkLine 隐私政策")
                .into(),
            text: document.into(),
        })
    }

    pub fn parse(document: &str) -> Option<Self> {
        let (first, rest) = document.split_once('\n')?;
        let version = first
            .trim()
            .strip_prefix("<!-- policy-version:")?
            .strip_suffix("-->")?
            .trim()
            .parse()
            .ok()
            .filter(|v| *v > 0)?;
        let rest = rest.trim_start();
        let (heading, body) = rest.split_once('\n')?;
        let title = heading.strip_prefix("# ")?.trim().to_string();
        Some(Self {
            version,
            title,
            text: body.trim().to_string(),
        })
    }

    /// How the version is written in the consent ledger.
    pub fn version_tag(&self) -> String {
        self.version.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_policy_parses_and_names_every_promise() {
        let policy = PrivacyPolicy::parse(POLICY_MD).expect("assets/privacy-policy.md parses");
        assert!(policy.version >= 1);
        for promise in [
            "on this device only",
            "meeting server",
            "before you accept",
            "6 months",
            "withdraw",
            "export",
        ] {
            assert!(policy.text.contains(promise), "policy lacks {promise:?}");
        }
    }

    #[test]
    fn the_chinese_policy_is_the_same_version_and_makes_the_same_promises() {
        let english = PrivacyPolicy::current_in(Language::English);
        let chinese = PrivacyPolicy::parse(POLICY_ZH_CN_MD).expect("the zh-CN policy parses");
        assert_eq!(
            chinese.version, english.version,
            "translate the new version too"
        );
        assert_eq!(
            PrivacyPolicy::current_in(Language::SimplifiedChinese),
            chinese
        );
        // The same sections, in the same order.
        let headings = |text: &str| text.lines().filter(|l| l.starts_with("## ")).count();
        assert_eq!(headings(&chinese.text), headings(&english.text));
        for promise in [
            "仅在本设备上",
            "会议服务器",
            "接受本政策之前",
            "6 个月",
            "撤回",
            "导出",
        ] {
            assert!(chinese.text.contains(promise), "policy lacks {promise:?}");
        }
    }

    #[test]
    fn a_document_without_a_version_is_rejected() {
        assert!(PrivacyPolicy::parse("# Title\ntext").is_none());
        assert!(PrivacyPolicy::parse("<!-- policy-version: 0 -->\n# T\nx").is_none());
        assert!(PrivacyPolicy::parse("<!-- policy-version: x -->\n# T\nx").is_none());
        let p = PrivacyPolicy::parse("<!-- policy-version: 3 -->\n\n# T\nbody").expect("valid");
        assert_eq!(
            (p.version, p.title.as_str(), p.text.as_str()),
            (3, "T", "body")
        );
    }
}
