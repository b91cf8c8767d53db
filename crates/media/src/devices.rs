//! What capture and playback devices this machine has.

use cpal::traits::{DeviceTrait, HostTrait};

/// The kinds of device a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    Camera,
    Microphone,
    Speaker,
}

impl std::fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Camera => "camera",
            Self::Microphone => "microphone",
            Self::Speaker => "speaker",
        })
    }
}

/// A device as the user sees it in a picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub index: usize,
    pub name: String,
    pub is_default: bool,
}

/// Cameras (V4L2 on Linux, AVFoundation on macOS, Media Foundation on
/// Windows). An error here means the camera system itself is unavailable.
pub fn cameras() -> Result<Vec<DeviceInfo>, crate::MediaError> {
    let list = nokhwa::query(nokhwa::utils::ApiBackend::Auto)
        .map_err(|e| crate::MediaError::Camera(e.to_string()))?;
    Ok(list
        .iter()
        .enumerate()
        .map(|(index, info)| DeviceInfo {
            index,
            name: info.human_name(),
            is_default: index == 0,
        })
        .collect())
}

fn list(input: bool) -> Result<Vec<DeviceInfo>, crate::MediaError> {
    let host = cpal::default_host();
    let default = if input {
        host.default_input_device()
    } else {
        host.default_output_device()
    }
    .and_then(|d| d.id().ok());
    let devices = if input {
        host.input_devices()
    } else {
        host.output_devices()
    }
    .map_err(|e| crate::MediaError::AudioDevice(e.to_string()))?;
    Ok(devices
        .enumerate()
        .map(|(index, d)| DeviceInfo {
            index,
            name: d.to_string(),
            is_default: d.id().ok().is_some_and(|id| Some(id) == default),
        })
        .collect())
}

pub fn microphones() -> Result<Vec<DeviceInfo>, crate::MediaError> {
    list(true)
}

pub fn speakers() -> Result<Vec<DeviceInfo>, crate::MediaError> {
    list(false)
}
