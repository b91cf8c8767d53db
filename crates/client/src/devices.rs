//! Device pickers and opening what was picked. Besides real devices the
//! lists carry a test pattern, a test tone and "no output", so the app is
//! usable (and testable) on machines without a camera or sound card.

use serde::Serialize;
use talkline_media::audio_device::{MicSource, SpeakerSink};
use talkline_media::camera::CameraSource;
use talkline_media::devices::{self, DeviceInfo};
use talkline_media::sink::AudioSink;
use talkline_media::source::PatternSource;
use talkline_media::tone::ToneSource;
use talkline_media::y4m::Y4mSource;
use talkline_media::{AudioSource, VideoSource};

use crate::error::AppError;
use crate::os_settings;
use talkline_privacy::Capability;

pub const TEST_CAMERA: &str = "test";
pub const TEST_MICROPHONE: &str = "test";
pub const NO_SPEAKER: &str = "none";
/// A camera id naming a Y4M recording (tests only; see `CoreConfig`).
pub const FILE_CAMERA_PREFIX: &str = "file:";
/// The size and rate cameras are opened at: what a tile needs.
pub const CAPTURE: (u32, u32, u32) = (640, 360, 30);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub id: String,
    pub label: String,
    pub is_default: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeviceList {
    pub cameras: Vec<Device>,
    pub microphones: Vec<Device>,
    pub speakers: Vec<Device>,
}

/// Ids name devices, not positions: plugging a device in or out moves the
/// others in the system's list, and a choice saved as "the second
/// microphone" would then open another one. Devices that share a name are
/// told apart by their order among themselves (`mic:USB Headset#2`).
fn device_ids(prefix: &str, list: &[DeviceInfo]) -> Vec<String> {
    list.iter()
        .enumerate()
        .map(|(i, d)| {
            let same_before = list[..i].iter().filter(|o| o.name == d.name).count();
            if same_before == 0 {
                format!("{prefix}:{}", d.name)
            } else {
                format!("{prefix}:{}#{}", d.name, same_before + 1)
            }
        })
        .collect()
}

/// Where the device an id names is in the system's list now.
fn device_index(
    id: &str,
    prefix: &str,
    found: Result<Vec<DeviceInfo>, talkline_media::MediaError>,
) -> Result<usize, AppError> {
    let list = found.map_err(|e| AppError::Media(format!("{prefix}: {e}")))?;
    device_ids(prefix, &list)
        .iter()
        .position(|known| known == id)
        .map(|i| list[i].index)
        .ok_or_else(|| AppError::Invalid(format!("unknown or unplugged device {id:?}")))
}

fn real(prefix: &str, found: Result<Vec<DeviceInfo>, talkline_media::MediaError>) -> Vec<Device> {
    match found {
        Ok(list) => device_ids(prefix, &list)
            .into_iter()
            .zip(list)
            .map(|(id, d)| Device {
                id,
                label: d.name,
                is_default: d.is_default,
            })
            .collect(),
        Err(e) => {
            log::info!("no {prefix} devices: {e}");
            Vec::new()
        }
    }
}

fn with_fallback(mut list: Vec<Device>, id: &str, label: &str) -> Vec<Device> {
    let is_default = !list.iter().any(|d| d.is_default);
    list.push(Device {
        id: id.into(),
        label: label.into(),
        is_default,
    });
    list
}

pub fn list() -> DeviceList {
    DeviceList {
        cameras: with_fallback(
            real("camera", devices::cameras()),
            TEST_CAMERA,
            "Test pattern",
        ),
        microphones: with_fallback(
            real("mic", devices::microphones()),
            TEST_MICROPHONE,
            "Test tone",
        ),
        speakers: with_fallback(
            real("speaker", devices::speakers()),
            NO_SPEAKER,
            "No output",
        ),
    }
}

/// The device a missing choice means: the system default, else the fallback.
fn resolve(choice: Option<&str>, list: &[Device]) -> String {
    match choice {
        Some(id) => id.to_string(),
        None => list
            .iter()
            .find(|d| d.is_default)
            .or(list.last())
            .map_or_else(String::new, |d| d.id.clone()),
    }
}

/// Which camera a choice names, without opening it.
pub fn camera_id(choice: Option<&str>) -> String {
    resolve(choice, &list().cameras)
}

pub fn microphone_id(choice: Option<&str>) -> String {
    resolve(choice, &list().microphones)
}

pub fn speaker_id(choice: Option<&str>) -> String {
    resolve(choice, &list().speakers)
}

pub fn open_camera(id: &str) -> Result<Box<dyn VideoSource>, AppError> {
    let (w, h, fps) = CAPTURE;
    let media = |e: talkline_media::MediaError| AppError::Media(format!("camera: {e}"));
    if id == TEST_CAMERA {
        return Ok(Box::new(
            PatternSource::new(w, h, fps as f64).map_err(media)?,
        ));
    }
    Ok(Box::new(
        CameraSource::open(device_index(id, "camera", devices::cameras())?, w, h, fps)
            .map_err(|e| os_settings::device_error(Capability::Camera, format!("camera: {e}")))?,
    ))
}

/// A Y4M recording played as the camera, in a loop.
pub fn open_camera_file(path: &str) -> Result<Box<dyn VideoSource>, AppError> {
    if !path.to_ascii_lowercase().ends_with(".y4m") {
        return Err(AppError::Invalid(format!(
            "a file camera must be a .y4m recording, not {path:?}"
        )));
    }
    let source = Y4mSource::open(std::path::Path::new(path))
        .map_err(|e| AppError::Media(format!("camera: {e}")))?;
    Ok(Box::new(source))
}

pub fn open_microphone(id: &str) -> Result<Box<dyn AudioSource>, AppError> {
    let media = |e: talkline_media::MediaError| AppError::Media(format!("microphone: {e}"));
    if id == TEST_MICROPHONE {
        return Ok(Box::new(ToneSource::new(440.0).map_err(media)?));
    }
    Ok(Box::new(
        MicSource::open(Some(device_index(id, "mic", devices::microphones())?)).map_err(|e| {
            os_settings::device_error(Capability::Microphone, format!("microphone: {e}"))
        })?,
    ))
}

/// `None` for "no output".
pub fn open_speaker(id: &str) -> Result<Option<Box<dyn AudioSink>>, AppError> {
    if id == NO_SPEAKER || id.is_empty() {
        return Ok(None);
    }
    let sink = SpeakerSink::open(Some(device_index(id, "speaker", devices::speakers())?))
        .map_err(|e| AppError::Media(format!("speaker: {e}")))?;
    Ok(Some(Box::new(sink)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fallbacks_are_always_listed_and_a_default_exists() {
        let list = list();
        for (devices, fallback) in [
            (&list.cameras, TEST_CAMERA),
            (&list.microphones, TEST_MICROPHONE),
            (&list.speakers, NO_SPEAKER),
        ] {
            assert!(devices.iter().any(|d| d.id == fallback));
            assert_eq!(devices.iter().filter(|d| d.is_default).count(), 1);
        }
    }

    fn info(names: &[&str]) -> Vec<DeviceInfo> {
        names
            .iter()
            .enumerate()
            .map(|(index, name)| DeviceInfo {
                index,
                name: name.to_string(),
                is_default: index == 0,
            })
            .collect()
    }

    #[test]
    fn a_choice_names_the_same_device_after_others_come_and_go() {
        let before = info(&["Built-in", "USB Headset", "USB Headset"]);
        let ids = device_ids("mic", &before);
        assert_eq!(
            ids,
            ["mic:Built-in", "mic:USB Headset", "mic:USB Headset#2"]
        );
        // A webcam microphone plugged in ahead of them moves every index.
        let after = info(&["Webcam", "Built-in", "USB Headset", "USB Headset"]);
        for (id, now_at) in [
            ("mic:Built-in", 1),
            ("mic:USB Headset", 2),
            ("mic:USB Headset#2", 3),
        ] {
            assert_eq!(
                device_index(id, "mic", Ok(after.clone())).ok(),
                Some(now_at),
                "{id}"
            );
        }
        // One that went away is an error, and so is an index-style id.
        let unplugged = info(&["Built-in"]);
        for id in ["mic:USB Headset", "mic:0", "mic:", "speaker:Built-in"] {
            assert!(
                device_index(id, "mic", Ok(unplugged.clone())).is_err(),
                "{id}"
            );
        }
    }

    #[test]
    fn unknown_ids_are_errors_not_panics() {
        for id in ["", "camera", "camera:", "camera:x", "mic:1", "camera:99999"] {
            assert!(open_camera(id).is_err(), "{id}");
        }
        assert!(open_microphone("mic:-1").is_err());
        assert!(open_speaker("speaker:nope").is_err());
        assert!(open_speaker(NO_SPEAKER).expect("no output").is_none());
        assert!(open_camera(TEST_CAMERA).is_ok());
    }
}
