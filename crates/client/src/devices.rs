//! Device pickers and opening what was picked. Besides real devices the
//! lists carry "no camera", "no microphone" and "no output" (the default
//! where the system has none), and a test pattern and a test tone, so the
//! app is testable on machines without a camera or sound card.

use serde::Serialize;
use talkline_media::audio_device::{MicSource, SpeakerSink};
use talkline_media::camera::CameraSource;
use talkline_media::devices::{self, DeviceInfo, DeviceKey, DeviceKind};
use talkline_media::sink::AudioSink;
use talkline_media::source::PatternSource;
use talkline_media::tone::ToneSource;
use talkline_media::y4m::Y4mSource;
use talkline_media::{AudioSource, VideoSource};

use crate::error::AppError;
use crate::os_settings;
use talkline_privacy::{Capability, Translated as _};

pub const TEST_CAMERA: &str = "test";
pub const TEST_MICROPHONE: &str = "test";
/// "Nothing of this kind": no camera, no microphone, no output.
pub const NO_DEVICE: &str = "none";
pub const NO_SPEAKER: &str = NO_DEVICE;
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

/// Ids name devices, not positions (see `DeviceKey`): `mic:USB Headset`,
/// and `mic:USB Headset#2` for its twin.
fn device_id(prefix: &str, key: &DeviceKey) -> String {
    format!("{prefix}:{key}")
}

/// The device an id names; opening it finds it wherever it is now.
fn device_key(id: &str, prefix: &str) -> Result<DeviceKey, AppError> {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix(':'))
        .and_then(DeviceKey::parse)
        .ok_or_else(|| {
            AppError::Invalid(crate::Said::new(
                format!("unknown device {id:?}"),
                format!("未知的设备 {id:?}"),
            ))
        })
}

fn real(prefix: &str, found: Vec<DeviceInfo>) -> Vec<Device> {
    found
        .into_iter()
        .map(|d| Device {
            id: device_id(prefix, &d.key),
            label: d.key.name().to_string(),
            is_default: d.is_default,
        })
        .collect()
}

/// Appends what every picker offers besides the system's devices:
/// nothing ("No camera", "No microphone", "No output"), the default where
/// the system has no device of its own; then, for cameras and microphones,
/// a test source. A test source is never the default: a user without a
/// camera would otherwise show everyone a test card, and one without a
/// microphone play them a tone.
pub(crate) fn with_stand_ins(kind: DeviceKind, mut list: Vec<Device>) -> Vec<Device> {
    let nothing = match kind {
        DeviceKind::Camera => "No camera",
        DeviceKind::Microphone => "No microphone",
        DeviceKind::Speaker => "No output",
    };
    let is_default = !list.iter().any(|d| d.is_default);
    list.push(Device {
        id: NO_DEVICE.into(),
        label: nothing.into(),
        is_default,
    });
    let test = match kind {
        DeviceKind::Camera => Some((TEST_CAMERA, "Test pattern")),
        DeviceKind::Microphone => Some((TEST_MICROPHONE, "Test tone")),
        DeviceKind::Speaker => None,
    };
    list.extend(test.map(|(id, label)| Device {
        id: id.into(),
        label: label.into(),
        is_default: false,
    }));
    list
}

/// What a picker of `kind` offers: the system's devices, then the stand-ins;
/// an error if the system could not say which devices it has.
pub fn try_listed(kind: DeviceKind) -> Result<Vec<Device>, talkline_media::MediaError> {
    let found = match kind {
        DeviceKind::Camera => real("camera", devices::cameras()?),
        DeviceKind::Microphone => real("mic", devices::microphones()?),
        DeviceKind::Speaker => real("speaker", devices::speakers()?),
    };
    Ok(with_stand_ins(kind, found))
}

/// What a picker of `kind` offers; only the stand-ins where the system
/// could not list its devices.
pub fn listed(kind: DeviceKind) -> Vec<Device> {
    try_listed(kind).unwrap_or_else(|e| {
        log::info!("no {kind} devices: {e}");
        with_stand_ins(kind, Vec::new())
    })
}

pub fn list() -> DeviceList {
    DeviceList {
        cameras: listed(DeviceKind::Camera),
        microphones: listed(DeviceKind::Microphone),
        speakers: listed(DeviceKind::Speaker),
    }
}

/// A device choice of "the system's default" (none, or "" as settings
/// and pickers say it), which a call follows when it changes.
pub fn left_to_the_system(choice: Option<&str>) -> bool {
    choice.is_none_or(str::is_empty)
}

/// The device a choice means: the one chosen, or for none (or "", a
/// setting left to the system) the system default, else `NO_DEVICE`.
/// The system is only asked when there is no choice: listing audio
/// devices takes a noticeable time.
pub fn resolved(kind: DeviceKind, choice: Option<&str>) -> String {
    match choice.filter(|c| !left_to_the_system(Some(c))) {
        Some(id) => id.to_string(),
        None => listed(kind)
            .into_iter()
            .find(|d| d.is_default)
            .map_or_else(|| NO_DEVICE.to_string(), |d| d.id),
    }
}

/// Whether `id`, a resolved choice, is a device at all: not "none", and
/// not "" (nothing in use: a device lost with nothing to replace it).
pub fn is_a_device(id: &str) -> bool {
    !id.is_empty() && id != NO_DEVICE
}

/// The system's own default device of `kind`, if it has one. Never a
/// stand-in: "none" is no device, and the test pattern and tone, sent or
/// chosen in place of a lost device, would show everyone a test card or
/// play them a tone.
pub fn system_default(kind: DeviceKind) -> Option<Device> {
    real_default(&listed(kind)).cloned()
}

/// The system's own default in a picker's list (see `system_default`).
pub fn real_default(list: &[Device]) -> Option<&Device> {
    list.iter().find(|d| d.is_default && !is_stand_in(&d.id))
}

/// Whether `id` is one of the stand-ins every picker offers.
pub fn is_stand_in(id: &str) -> bool {
    [TEST_CAMERA, TEST_MICROPHONE, NO_DEVICE].contains(&id)
}

impl DeviceList {
    pub fn of(&self, kind: DeviceKind) -> &[Device] {
        match kind {
            DeviceKind::Camera => &self.cameras,
            DeviceKind::Microphone => &self.microphones,
            DeviceKind::Speaker => &self.speakers,
        }
    }
}

pub fn open_camera(id: &str) -> Result<Box<dyn VideoSource>, AppError> {
    let (w, h, fps) = CAPTURE;
    let media = |e: talkline_media::MediaError| {
        AppError::Media(crate::Said::new(
            format!("camera: {e}"),
            format!("摄像头：{}", e.chinese()),
        ))
    };
    if id == TEST_CAMERA {
        return Ok(Box::new(
            PatternSource::new(w, h, fps as f64).map_err(media)?,
        ));
    }
    Ok(Box::new(
        CameraSource::open_named(&device_key(id, "camera")?, w, h, fps)
            .map_err(|e| os_settings::device_error(Capability::Camera, format!("camera: {e}")))?,
    ))
}

/// A Y4M recording played as the camera, in a loop.
pub fn open_camera_file(path: &str) -> Result<Box<dyn VideoSource>, AppError> {
    if !path.to_ascii_lowercase().ends_with(".y4m") {
        return Err(AppError::Invalid(crate::Said::new(
            format!("a file camera must be a .y4m recording, not {path:?}"),
            format!("文件摄像头必须是 .y4m 录像，而不是 {path:?}"),
        )));
    }
    let source = Y4mSource::open(std::path::Path::new(path)).map_err(|e| {
        AppError::Media(crate::Said::new(
            format!("camera: {e}"),
            format!("摄像头：{}", e.chinese()),
        ))
    })?;
    Ok(Box::new(source))
}

pub fn open_microphone(id: &str) -> Result<Box<dyn AudioSource>, AppError> {
    let media = |e: talkline_media::MediaError| {
        AppError::Media(crate::Said::new(
            format!("microphone: {e}"),
            format!("麦克风：{}", e.chinese()),
        ))
    };
    if id == TEST_MICROPHONE {
        return Ok(Box::new(ToneSource::new(440.0).map_err(media)?));
    }
    Ok(Box::new(
        MicSource::open(Some(&device_key(id, "mic")?)).map_err(|e| {
            os_settings::device_error(Capability::Microphone, format!("microphone: {e}"))
        })?,
    ))
}

/// `None` for "no output".
pub fn open_speaker(id: &str) -> Result<Option<Box<dyn AudioSink>>, AppError> {
    if id == NO_SPEAKER || id.is_empty() {
        return Ok(None);
    }
    let sink = SpeakerSink::open(Some(&device_key(id, "speaker")?)).map_err(|e| {
        AppError::Media(crate::Said::new(
            format!("speaker: {e}"),
            format!("扬声器：{}", e.chinese()),
        ))
    })?;
    Ok(Some(Box::new(sink)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_picker_offers_nothing_and_one_default_which_is_never_a_test_source() {
        let list = list();
        for (devices, test) in [
            (&list.cameras, Some(TEST_CAMERA)),
            (&list.microphones, Some(TEST_MICROPHONE)),
            (&list.speakers, None),
        ] {
            assert!(devices.iter().any(|d| d.id == NO_DEVICE), "{devices:?}");
            assert_eq!(devices.iter().filter(|d| d.is_default).count(), 1);
            if let Some(test) = test {
                let test = devices.iter().find(|d| d.id == test);
                assert!(test.is_some_and(|d| !d.is_default), "{devices:?}");
            }
        }
    }

    #[test]
    fn without_devices_of_its_own_the_default_is_nothing() {
        for kind in [
            DeviceKind::Camera,
            DeviceKind::Microphone,
            DeviceKind::Speaker,
        ] {
            let list = with_stand_ins(kind, Vec::new());
            let default = list.iter().find(|d| d.is_default).map(|d| d.id.as_str());
            assert_eq!(default, Some(NO_DEVICE), "{kind}: {list:?}");
        }
        let usb = Device {
            id: "camera:USB".into(),
            label: "USB".into(),
            is_default: true,
        };
        let list = with_stand_ins(DeviceKind::Camera, vec![usb.clone()]);
        assert_eq!(real_default(&list), Some(&usb));
        assert_eq!(list.iter().filter(|d| d.is_default).count(), 1);
    }

    #[test]
    fn an_id_reads_back_as_the_device_it_was_made_from() {
        let keys = DeviceKey::of_names(&["Built-in", "USB Headset", "USB Headset", "Mic#2"]);
        for key in &keys {
            let id = device_id("mic", key);
            assert_eq!(device_key(&id, "mic").ok().as_ref(), Some(key), "{id}");
            assert!(device_key(&id, "speaker").is_err(), "{id}");
        }
        for id in ["", "mic", "mic:", "micro:phone", "speaker:Built-in"] {
            assert!(device_key(id, "mic").is_err(), "{id}");
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
