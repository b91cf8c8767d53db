//! When the operating system, not the user's answer in TalkLine, refuses
//! the camera or microphone: the device fails to open with an access
//! error. Where the system has a privacy page for it (macOS, Windows), the
//! window offers to open that page; elsewhere (Linux has no system-wide
//! per-app camera setting) it only says what happened.

use talkline_privacy::Capability;

use crate::core::AppCore;
use crate::error::AppError;

/// The system's privacy page for `capability` on `os` (as
/// `std::env::consts::OS` names it), if it has one.
pub fn settings_page(os: &str, capability: Capability) -> Option<&'static str> {
    match (os, capability) {
        ("macos", Capability::Camera) => {
            Some("x-apple.systempreferences:com.apple.preference.security?Privacy_Camera")
        }
        ("macos", Capability::Microphone) => {
            Some("x-apple.systempreferences:com.apple.preference.security?Privacy_Microphone")
        }
        ("windows", Capability::Camera) => Some("ms-settings:privacy-webcam"),
        ("windows", Capability::Microphone) => Some("ms-settings:privacy-microphone"),
        _ => None,
    }
}

/// Whether a device error says access was refused (the wording of
/// V4L2/ALSA's EACCES, AVFoundation's "not authorized" and Media
/// Foundation's E_ACCESSDENIED, as the device crates pass them on).
pub fn is_access_refusal(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    [
        "permission denied",
        "not authorized",
        "access denied",
        "access is denied",
        "0x80070005",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// The error for a device that failed to open: a refusal by the system is
/// told apart, with whether a settings page can be opened for it.
pub fn device_error(capability: Capability, message: String) -> AppError {
    if is_access_refusal(&message) {
        AppError::SystemRefused {
            permission: capability.id(),
            settings_page: settings_page(std::env::consts::OS, capability).is_some(),
            message: format!(
                "your system does not let TalkLine use the {}: {message}",
                capability.id()
            )
            .into(),
        }
    } else {
        AppError::Media(message.into())
    }
}

impl AppCore {
    /// Opens the system's privacy page for `permission` (only a fixed
    /// address of our own is passed to the system's opener).
    pub fn open_system_settings(&self, permission: &str) -> Result<(), AppError> {
        let capability = Capability::from_id(permission).ok_or_else(|| {
            AppError::Invalid(crate::Said::new(
                format!("unknown permission {permission:?}"),
                format!("未知的权限 {permission:?}"),
            ))
        })?;
        let os = std::env::consts::OS;
        let page = settings_page(os, capability).ok_or_else(|| {
            AppError::State(crate::Said::new(format!(
                "this system has no settings page for the {permission}; check that TalkLine may use it"
            ), format!(
                "此系统没有{permission}的设置页面；请确认 TalkLine 可以使用它"
            )))
        })?;
        let opener = if os == "windows" {
            "explorer.exe"
        } else {
            "open"
        };
        std::process::Command::new(opener)
            .arg(page)
            .spawn()
            .map(|_| ())
            .map_err(|e| {
                AppError::State(crate::Said::new(
                    format!("cannot open the system settings: {e}"),
                    format!("无法打开系统设置：{e}"),
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_exist_where_the_system_has_them() {
        assert!(
            settings_page("macos", Capability::Camera)
                .is_some_and(|p| p.ends_with("Privacy_Camera"))
        );
        assert_eq!(
            settings_page("windows", Capability::Microphone),
            Some("ms-settings:privacy-microphone")
        );
        for c in Capability::ALL {
            assert_eq!(settings_page("linux", c), None, "{c:?}");
        }
        assert_eq!(settings_page("windows", Capability::LocalNetwork), None);
    }

    #[test]
    fn access_refusals_are_told_apart_from_other_failures() {
        let refused = device_error(
            Capability::Camera,
            "camera: could not open /dev/video0: Permission denied (os error 13)".into(),
        );
        assert_eq!(refused.kind(), "system_refused");
        assert!(
            refused
                .to_string()
                .starts_with("your system does not let TalkLine use the camera")
        );
        let json = serde_json::to_value(&refused).expect("json");
        assert_eq!(json["permission"], "camera");
        assert_eq!(
            json["settingsPage"],
            cfg!(any(target_os = "macos", target_os = "windows"))
        );
        assert!(is_access_refusal("AVCaptureDevice: Not Authorized"));
        assert!(is_access_refusal("MF error 0x80070005"));
        let busy = device_error(Capability::Camera, "camera: device busy".into());
        assert_eq!(busy.kind(), "media");
    }

    #[test]
    fn opening_a_page_that_does_not_exist_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("talkline-os-settings-{}", std::process::id()));
        let core = AppCore::new(crate::CoreConfig::in_dir(
            dir,
            talkline_meeting::ServerUrl::parse("ws://127.0.0.1:9").expect("url"),
            std::sync::Arc::new(talkline_store::MemoryVault::default()),
        ))
        .expect("core");
        assert_eq!(
            core.open_system_settings("toaster").map_err(|e| e.kind()),
            Err("invalid")
        );
        if settings_page(std::env::consts::OS, Capability::LocalNetwork).is_none() {
            let e = core
                .open_system_settings("local-network")
                .expect_err("no page");
            assert_eq!(e.kind(), "state");
        }
    }
}
