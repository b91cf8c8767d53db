//! What the user set in Settings: name, devices, the log upload address,
//! and the network (STUN and TURN servers, relay-only).

use serde::{Deserialize, Serialize};
use talkline_media::voice_processing::VoiceSettings;
use talkline_meeting::CallCommand;
use talkline_meeting::ice_servers::{IceServers, IceUrl, parse_credential};

use crate::core::{AppCore, MAX_NAME_CHARS};
use crate::devices;
use crate::error::AppError;
use crate::language::{SETTING_LANGUAGE, parse_setting as parse_language_setting};
use talkline_privacy::Language;

const SETTING_NAME: &str = "display_name";
const SETTING_CAMERA: &str = "camera";
const SETTING_MIC: &str = "microphone";
const SETTING_SPEAKER: &str = "speaker";
const SETTING_LOG_UPLOAD_URL: &str = "log_upload_url";
/// One URL a line.
const SETTING_ICE_SERVERS: &str = "ice_servers";
const SETTING_ICE_USERNAME: &str = "ice_username";
/// Kept in the encrypted store like the rest; an export shows that one is
/// set, not what it is (see `talkline_store::Store::export`).
const SETTING_ICE_CREDENTIAL: &str = "ice_credential";
const SETTING_RELAY_ONLY: &str = "relay_only";
const SETTING_ORIGINAL_SOUND: &str = "original_sound";
const SETTING_RECORDINGS_FOLDER: &str = "recordings_folder";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub display_name: String,
    pub camera: Option<String>,
    pub microphone: Option<String>,
    pub speaker: Option<String>,
    /// Where "Upload logs" sends them; empty until the user sets it.
    #[serde(default)]
    pub log_upload_url: String,
    /// STUN and TURN servers for meetings whose link names none.
    #[serde(default)]
    pub ice_servers: Vec<String>,
    #[serde(default)]
    pub ice_username: String,
    #[serde(default)]
    pub ice_credential: String,
    /// Media only through a TURN relay: nobody sees this device's address.
    #[serde(default)]
    pub relay_only: bool,
    /// The microphone sent as it is: no echo cancellation, noise
    /// suppression or gain control (music, a studio microphone).
    #[serde(default)]
    pub original_sound: bool,
    /// "" for the system's language, else `en` or `zh-CN`.
    #[serde(default)]
    pub language: String,
    /// Where recordings of meetings go: "" for the user's Videos.
    #[serde(default)]
    pub recordings_folder: String,
}

impl Settings {
    /// The network part, checked: what a call is given.
    pub fn ice(&self) -> Result<IceServers, AppError> {
        let invalid = |e: talkline_meeting::LinkError| AppError::Invalid(crate::Said::of(&e));
        let text = |v: &str| {
            let v = v.trim();
            (!v.is_empty()).then(|| parse_credential(v)).transpose()
        };
        let ice = IceServers {
            urls: self
                .ice_servers
                .iter()
                .map(|u| u.trim())
                .filter(|u| !u.is_empty())
                .map(IceUrl::parse)
                .collect::<Result<_, _>>()
                .map_err(invalid)?,
            username: text(&self.ice_username).map_err(invalid)?,
            credential: text(&self.ice_credential).map_err(invalid)?,
            relay_only: self.relay_only,
        };
        ice.validate().map_err(invalid)?;
        Ok(ice)
    }
}

/// A yes/no setting as the store keeps it.
fn flag(on: bool) -> &'static str {
    if on { "1" } else { "0" }
}

fn chosen(value: Option<String>) -> Option<String> {
    value.filter(|v| !devices::left_to_the_system(Some(v)))
}

impl AppCore {
    pub fn settings(&self) -> Result<Settings, AppError> {
        self.require_policy()?;
        self.with_store(|s| {
            Ok(Settings {
                display_name: s.setting(SETTING_NAME)?.unwrap_or_default(),
                camera: chosen(s.setting(SETTING_CAMERA)?),
                microphone: chosen(s.setting(SETTING_MIC)?),
                speaker: chosen(s.setting(SETTING_SPEAKER)?),
                log_upload_url: s.setting(SETTING_LOG_UPLOAD_URL)?.unwrap_or_default(),
                ice_servers: s
                    .setting(SETTING_ICE_SERVERS)?
                    .unwrap_or_default()
                    .lines()
                    .map(str::to_string)
                    .collect(),
                ice_username: s.setting(SETTING_ICE_USERNAME)?.unwrap_or_default(),
                ice_credential: s.setting(SETTING_ICE_CREDENTIAL)?.unwrap_or_default(),
                relay_only: s.setting(SETTING_RELAY_ONLY)?.as_deref() == Some("1"),
                original_sound: s.setting(SETTING_ORIGINAL_SOUND)?.as_deref() == Some("1"),
                language: s
                    .setting(SETTING_LANGUAGE)?
                    .filter(|l| Language::from_setting(l).is_some())
                    .unwrap_or_default(),
                recordings_folder: s.setting(SETTING_RECORDINGS_FOLDER)?.unwrap_or_default(),
            })
        })
    }

    pub fn set_settings(&self, settings: &Settings) -> Result<(), AppError> {
        self.require_policy()?;
        let name = settings.display_name.trim();
        if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(AppError::Invalid(crate::Said::new(
                format!("the display name must be at most {MAX_NAME_CHARS} printable characters"),
                format!("显示名称最多 {MAX_NAME_CHARS} 个可打印字符"),
            )));
        }
        let upload_url = settings.log_upload_url.trim();
        if !upload_url.is_empty() {
            crate::upload::upload_url(upload_url)?;
        }
        let ice = settings.ice()?;
        let urls: Vec<String> = ice.urls.iter().map(ToString::to_string).collect();
        let language = parse_language_setting(&settings.language)?;
        let recordings_folder = settings.recordings_folder.trim();
        if !recordings_folder.is_empty() && !std::path::Path::new(recordings_folder).is_absolute() {
            return Err(AppError::Invalid(crate::Said::new(
                "the recordings folder must be a full path (starting at / or a drive)",
                "录制文件夹必须是完整路径（从 / 或盘符开始）",
            )));
        }
        if !recordings_folder.is_empty() && !std::path::Path::new(recordings_folder).is_dir() {
            return Err(AppError::Invalid(crate::Said::new(
                format!("{recordings_folder} is not a folder on this device"),
                format!("{recordings_folder} 不是本设备上的文件夹"),
            )));
        }
        self.with_store(|s| {
            s.set_setting(SETTING_RECORDINGS_FOLDER, recordings_folder)?;
            s.set_setting(SETTING_NAME, name)?;
            s.set_setting(SETTING_LOG_UPLOAD_URL, upload_url)?;
            for (key, value) in [
                (SETTING_CAMERA, &settings.camera),
                (SETTING_MIC, &settings.microphone),
                (SETTING_SPEAKER, &settings.speaker),
                (SETTING_ICE_USERNAME, &ice.username),
                (SETTING_ICE_CREDENTIAL, &ice.credential),
            ] {
                s.set_setting(key, value.as_deref().unwrap_or(""))?;
            }
            s.set_setting(SETTING_ICE_SERVERS, &urls.join("\n"))?;
            s.set_setting(SETTING_RELAY_ONLY, flag(ice.relay_only))?;
            s.set_setting(SETTING_ORIGINAL_SOUND, flag(settings.original_sound))?;
            s.set_setting(SETTING_LANGUAGE, language.map_or("", Language::tag))?;
            Ok(())
        })?;
        self.language_chosen(language);
        Ok(())
    }

    /// "Original sound" switched from the meeting: applied to the call at
    /// once (the canceller keeps what it learned when it comes back on)
    /// and kept for the next join.
    pub async fn set_original_sound(&self, on: bool) -> Result<(), AppError> {
        self.require_policy()?;
        self.with_store(|s| {
            s.set_setting(SETTING_ORIGINAL_SOUND, flag(on))?;
            Ok(())
        })?;
        if let Some(call) = self.call.lock().await.as_ref() {
            call.handle.command(CallCommand::SetVoiceSettings(
                VoiceSettings::with_original_sound(on),
            ));
        }
        Ok(())
    }

    /// The voice processing a call starts with: all on, unless the user
    /// chose "Original sound". A store that cannot be read leaves it on.
    pub(crate) fn voice_settings(&self) -> VoiceSettings {
        VoiceSettings::with_original_sound(self.settings().is_ok_and(|s| s.original_sound))
    }

    /// The servers a meeting uses: its link's, else the user's. A store
    /// that cannot be read does not stop the join (it does not for the
    /// history either): the meeting's own servers are used.
    pub(crate) fn ice_for(&self, link: &IceServers) -> Result<IceServers, AppError> {
        let own = match self.settings() {
            Ok(settings) => settings.ice()?,
            Err(e) => {
                log::warn!("network settings not read ({e}); using the meeting's own");
                IceServers::default()
            }
        };
        let ice = link.clone().or(&own);
        ice.validate().map_err(|e| {
            AppError::Link(crate::Said::new(
                format!("this meeting's network settings: {e}"),
                format!("此会议的网络设置：{e}"),
            ))
        })?;
        Ok(ice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(urls: &[&str], user: &str, credential: &str, relay_only: bool) -> Settings {
        Settings {
            ice_servers: urls.iter().map(|u| u.to_string()).collect(),
            ice_username: user.into(),
            ice_credential: credential.into(),
            relay_only,
            ..Settings::default()
        }
    }

    #[test]
    fn the_network_settings_are_checked_as_a_link_would_be() {
        let ice = network(&[" turn:relay.example.org ", ""], "kim", "pw", true)
            .ice()
            .expect("valid");
        assert_eq!(ice.urls.len(), 1);
        assert!(ice.relay_only);
        for (settings, why) in [
            (network(&["turn:relay"], "", "", false), "no credentials"),
            (
                network(&["https://relay"], "", "", false),
                "not STUN or TURN",
            ),
            (network(&[], "", "", true), "relay-only without a relay"),
            (
                network(&["turn:relay"], "kim", "a\u{7}b", false),
                "control character",
            ),
        ] {
            assert!(matches!(settings.ice(), Err(AppError::Invalid(_))), "{why}");
        }
        assert_eq!(Settings::default().ice().ok(), Some(IceServers::default()));
    }
}
