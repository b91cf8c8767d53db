//! The permission registry: every permission Appendix II names, whether
//! TalkLine requests it, for which features, and why not when it does not.

use serde::Deserialize;

use crate::Language;

/// The data files, compiled in so the registry cannot drift from them.
pub const APPENDIX_II_JSON: &str = include_str!("../../../permissions/appendix-ii.json");
pub const DESKTOP_JSON: &str = include_str!("../../../permissions/desktop.json");

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    #[error("permissions data is not valid: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("permissions data is inconsistent: {0}")]
    Inconsistent(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IosEntry {
    pub key: String,
    pub description: String,
    pub purpose: String,
    /// The same two texts in Simplified Chinese: required for what
    /// TalkLine requests, since the user reads them before deciding.
    #[serde(default)]
    pub description_zh: Option<String>,
    #[serde(default)]
    pub purpose_zh: Option<String>,
    pub requested: bool,
    pub features: Vec<String>,
    pub not_requested_because: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AndroidKind {
    Permission,
    Feature,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AndroidEntry {
    pub name: String,
    pub manifest_name: String,
    pub kind: AndroidKind,
    pub description: String,
    pub purpose: String,
    /// The same two texts in Simplified Chinese: required for what
    /// TalkLine requests, since the user reads them before deciding.
    #[serde(default)]
    pub description_zh: Option<String>,
    #[serde(default)]
    pub purpose_zh: Option<String>,
    pub requested: bool,
    pub features: Vec<String>,
    pub not_requested_because: Option<String>,
}

/// A desktop (macOS) usage string or entitlement that mirrors an iOS key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesktopEntry {
    /// The Info.plist key, e.g. `NSCameraUsageDescription`.
    pub key: String,
    /// The sandbox entitlement that goes with it, if any.
    pub entitlement: Option<String>,
    /// The iOS entry whose purpose text it shows.
    pub same_as_ios: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppendixFile {
    source: String,
    ios: Vec<IosEntry>,
    android: Vec<AndroidEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DesktopFile {
    macos: Vec<DesktopEntry>,
}

/// Appendix II and its desktop equivalents, validated.
#[derive(Debug, Clone)]
pub struct PermissionRegistry {
    pub source: String,
    pub ios: Vec<IosEntry>,
    pub android: Vec<AndroidEntry>,
    pub macos: Vec<DesktopEntry>,
}

/// Features a permission may serve; anything else in the data is a typo.
pub const FEATURES: &[&str] = &[
    "video-call",
    "audio-call",
    "beauty",
    "virtual-background",
    "custom-background",
    "qr-scan",
    "save-image",
    "calendar",
    "network",
    "call-in-background",
    "bluetooth-audio",
    "ringing",
    "proximity",
];

impl IosEntry {
    pub fn description_in(&self, language: Language) -> &str {
        in_language(language, &self.description, &self.description_zh)
    }

    pub fn purpose_in(&self, language: Language) -> &str {
        in_language(language, &self.purpose, &self.purpose_zh)
    }
}

impl AndroidEntry {
    pub fn description_in(&self, language: Language) -> &str {
        in_language(language, &self.description, &self.description_zh)
    }

    pub fn purpose_in(&self, language: Language) -> &str {
        in_language(language, &self.purpose, &self.purpose_zh)
    }
}

/// English where a text that is never shown (a permission not requested)
/// has no translation.
fn in_language<'a>(language: Language, english: &'a str, chinese: &'a Option<String>) -> &'a str {
    language.pick(english, chinese.as_deref().unwrap_or(english))
}

fn check_entry(
    name: &str,
    requested: bool,
    features: &[String],
    why_not: &Option<String>,
    chinese: [&Option<String>; 2],
) -> Result<(), RegistryError> {
    let bad = |what: &str| Err(RegistryError::Inconsistent(format!("{name}: {what}")));
    if let Some(f) = features.iter().find(|f| !FEATURES.contains(&f.as_str())) {
        return bad(&format!("unknown feature {f:?}"));
    }
    if requested
        && chinese
            .iter()
            .any(|t| t.as_deref().is_none_or(|t| t.trim().is_empty()))
    {
        return bad("requested, without its description and purpose in Chinese");
    }
    match (requested, why_not) {
        (true, Some(_)) => bad("requested, yet says why it is not"),
        (true, None) if features.is_empty() => bad("requested for no feature"),
        (false, None) => bad("not requested, without saying why"),
        (false, Some(_)) if !features.is_empty() => bad("not requested, yet serves features"),
        _ => Ok(()),
    }
}

impl PermissionRegistry {
    /// The registry of this build.
    pub fn builtin() -> Result<Self, RegistryError> {
        Self::parse(APPENDIX_II_JSON, DESKTOP_JSON)
    }

    pub fn parse(appendix: &str, desktop: &str) -> Result<Self, RegistryError> {
        let a: AppendixFile = serde_json::from_str(appendix)?;
        let d: DesktopFile = serde_json::from_str(desktop)?;
        for e in &a.ios {
            check_entry(
                &e.key,
                e.requested,
                &e.features,
                &e.not_requested_because,
                [&e.description_zh, &e.purpose_zh],
            )?;
        }
        for e in &a.android {
            check_entry(
                &e.name,
                e.requested,
                &e.features,
                &e.not_requested_because,
                [&e.description_zh, &e.purpose_zh],
            )?;
        }
        let mut seen = std::collections::HashSet::new();
        for name in a
            .ios
            .iter()
            .map(|e| &e.key)
            .chain(a.android.iter().map(|e| &e.manifest_name))
        {
            if !seen.insert(name) {
                return Err(RegistryError::Inconsistent(format!(
                    "{name} is listed twice"
                )));
            }
        }
        for m in &d.macos {
            match a.ios.iter().find(|i| i.key == m.same_as_ios) {
                Some(i) if i.requested => {}
                Some(_) => {
                    return Err(RegistryError::Inconsistent(format!(
                        "{} mirrors {}, which TalkLine does not request",
                        m.key, m.same_as_ios
                    )));
                }
                None => {
                    return Err(RegistryError::Inconsistent(format!(
                        "{} mirrors {}, which Appendix II does not list",
                        m.key, m.same_as_ios
                    )));
                }
            }
        }
        Ok(Self {
            source: a.source,
            ios: a.ios,
            android: a.android,
            macos: d.macos,
        })
    }

    pub fn ios(&self, key: &str) -> Option<&IosEntry> {
        self.ios.iter().find(|e| e.key == key)
    }

    pub fn android(&self, name: &str) -> Option<&AndroidEntry> {
        self.android
            .iter()
            .find(|e| e.name == name || e.manifest_name == name)
    }

    /// The purpose text the app shows before asking for `key` on macOS.
    pub fn macos_purpose(&self, entry: &DesktopEntry) -> Option<&str> {
        self.ios(&entry.same_as_ios).map(|i| i.purpose.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DESKTOP: &str = r#"{"macos": []}"#;

    fn appendix(ios: &str) -> String {
        format!(r#"{{"source": "s", "ios": [{ios}], "android": []}}"#)
    }

    #[test]
    fn inconsistent_entries_are_rejected() {
        let ok = r#"{"key":"K","description":"d","purpose":"p","description_zh":"描述","purpose_zh":"用途","requested":true,"features":["video-call"],"not_requested_because":null}"#;
        assert!(PermissionRegistry::parse(&appendix(ok), DESKTOP).is_ok());
        for bad in [
            // Requested, and the user could not read why in Chinese.
            r#"{"key":"K","description":"d","purpose":"p","requested":true,"features":["video-call"],"not_requested_because":null}"#,
            r#"{"key":"K","description":"d","purpose":"p","description_zh":"描述","purpose_zh":" ","requested":true,"features":["video-call"],"not_requested_because":null}"#,
            r#"{"key":"K","description":"d","purpose":"p","requested":true,"features":[],"not_requested_because":null}"#,
            r#"{"key":"K","description":"d","purpose":"p","requested":false,"features":[],"not_requested_because":null}"#,
            r#"{"key":"K","description":"d","purpose":"p","requested":true,"features":["telepathy"],"not_requested_because":null}"#,
            r#"{"key":"K","description":"d","purpose":"p","requested":false,"features":["video-call"],"not_requested_because":"x"}"#,
            r#"{"key":"K","description":"d","purpose":"p","requested":true,"features":["video-call"],"not_requested_because":"x"}"#,
            r#"{"key":"K","description":"d","purpose":"p","requested":true,"features":["video-call"],"not_requested_because":null,"extra":1}"#,
        ] {
            assert!(
                PermissionRegistry::parse(&appendix(bad), DESKTOP).is_err(),
                "{bad}"
            );
        }
        let twice = format!("{ok},{ok}");
        assert!(PermissionRegistry::parse(&appendix(&twice), DESKTOP).is_err());
        let mirror = r#"{"macos": [{"key":"NSCameraUsageDescription","entitlement":null,"same_as_ios":"Nope"}]}"#;
        assert!(PermissionRegistry::parse(&appendix(ok), mirror).is_err());
    }
}
