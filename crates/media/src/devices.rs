//! What capture and playback devices this machine has.

use cpal::traits::{DeviceTrait, HostTrait};

/// The kinds of device a call uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    Camera,
    Microphone,
    Speaker,
}

impl DeviceKind {
    /// The word for it, in messages and in the window's events.
    pub fn name(self) -> &'static str {
        match self {
            Self::Camera => "camera",
            Self::Microphone => "microphone",
            Self::Speaker => "speaker",
        }
    }
}

impl std::fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A device as the user sees it in a picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Where it is in the system's list now (for `talkline devices`); a
    /// choice to keep is `key`, which also holds its name.
    pub index: usize,
    pub key: DeviceKey,
    pub is_default: bool,
}

/// Which device a choice means, in a form that stays true while others
/// come and go: its name and, among devices that share it, which one.
/// A position in the system's list does not: a headset plugged in ahead
/// of the chosen microphone would turn the choice into the headset.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeviceKey {
    name: String,
    /// 1 for the first device with this name, 2 for its twin, and so on.
    twin: usize,
}

impl DeviceKey {
    /// The keys of a list of device names, in the same order.
    pub fn of_names<S: AsRef<str>>(names: &[S]) -> Vec<Self> {
        names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let name = name.as_ref();
                let twin = 1 + names[..i].iter().filter(|n| n.as_ref() == name).count();
                Self {
                    name: name.to_string(),
                    twin,
                }
            })
            .collect()
    }

    /// Reads what `Display` wrote: `Name`, or `Name#N` for the Nth twin.
    /// A name that itself ends in `#digits` is written with its `#1`, so
    /// every key reads back as itself.
    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty() {
            return None;
        }
        match text.rsplit_once('#') {
            Some((name, n)) if !name.is_empty() && is_count(n) => Some(Self {
                name: name.to_string(),
                twin: n.parse().ok().filter(|&t| t >= 1)?,
            }),
            _ => Some(Self {
                name: text.to_string(),
                twin: 1,
            }),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where this device is in `names`, the system's list as it is now.
    pub fn position_in<S: AsRef<str>>(&self, names: &[S]) -> Option<usize> {
        Self::of_names(names).iter().position(|k| k == self)
    }
}

fn is_count(text: &str) -> bool {
    !text.is_empty() && text.len() <= 4 && text.bytes().all(|b| b.is_ascii_digit())
}

impl std::fmt::Display for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ambiguous = self
            .name
            .rsplit_once('#')
            .is_some_and(|(name, n)| !name.is_empty() && is_count(n));
        if self.twin == 1 && !ambiguous {
            f.write_str(&self.name)
        } else {
            write!(f, "{}#{}", self.name, self.twin)
        }
    }
}

fn with_keys(found: Vec<(usize, String, bool)>) -> Vec<DeviceInfo> {
    let names: Vec<&str> = found.iter().map(|(_, n, _)| n.as_str()).collect();
    let keys = DeviceKey::of_names(&names);
    found
        .into_iter()
        .zip(keys)
        .map(|((index, _, is_default), key)| DeviceInfo {
            index,
            key,
            is_default,
        })
        .collect()
}

/// Cameras (V4L2 on Linux, AVFoundation on macOS, Media Foundation on
/// Windows). An error here means the camera system itself is unavailable.
pub fn cameras() -> Result<Vec<DeviceInfo>, crate::MediaError> {
    let list = nokhwa::query(nokhwa::utils::ApiBackend::Auto)
        .map_err(|e| crate::MediaError::Camera(e.to_string()))?;
    // The backend's own index (on Linux, N of /dev/videoN) is what opens
    // a camera; a camera without a numeric one cannot be opened here.
    Ok(with_keys(
        list.iter()
            .filter_map(|info| {
                let index = info.index().as_index().ok()? as usize;
                Some((index, info.human_name()))
            })
            .enumerate()
            .map(|(i, (index, name))| (index, name, i == 0))
            .collect(),
    ))
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
    Ok(with_keys(
        devices
            .enumerate()
            .filter(|(_, d)| d.id().map_or(true, |id| !is_pseudo_device(&id, input)))
            .map(|(index, d)| {
                let is_default = d.id().ok().is_some_and(|id| Some(id) == default);
                (index, d.to_string(), is_default)
            })
            .collect(),
    ))
}

/// Devices no one would pick: a PulseAudio (or PipeWire) monitor, which
/// records what a speaker plays, offered as a microphone it would send the
/// whole meeting back to everyone; and ALSA's `null`, which discards what
/// it plays and records silence.
fn is_pseudo_device(id: &cpal::DeviceId, input: bool) -> bool {
    match id.host().name() {
        "PulseAudio" | "PipeWire" => input && id.id().ends_with(".monitor"),
        "ALSA" => id.id() == "null",
        _ => false,
    }
}

pub fn microphones() -> Result<Vec<DeviceInfo>, crate::MediaError> {
    list(true)
}

pub fn speakers() -> Result<Vec<DeviceInfo>, crate::MediaError> {
    list(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_names_the_same_device_after_others_come_and_go() {
        let before = ["Built-in", "USB Headset", "USB Headset"];
        let keys = DeviceKey::of_names(&before);
        let written: Vec<String> = keys.iter().map(ToString::to_string).collect();
        assert_eq!(written, ["Built-in", "USB Headset", "USB Headset#2"]);
        // A webcam microphone plugged in ahead of them moves every position.
        let after = ["Webcam", "Built-in", "USB Headset", "USB Headset"];
        for (key, now_at) in keys.iter().zip([1, 2, 3]) {
            assert_eq!(key.position_in(&after), Some(now_at), "{key}");
        }
        // One that went away is nowhere; so is its twin.
        let unplugged = ["Built-in"];
        assert_eq!(keys[1].position_in(&unplugged), None);
        assert_eq!(keys[2].position_in(&unplugged), None);
    }

    #[test]
    fn every_key_reads_back_as_itself() {
        let names = [
            "Mic",
            "Mic",
            "Mic#2",
            "Mic#2",
            "#3",
            "a#",
            "x#00001",
            "Ünïcode #",
        ];
        for key in DeviceKey::of_names(&names) {
            let written = key.to_string();
            assert_eq!(DeviceKey::parse(&written).as_ref(), Some(&key), "{written}");
        }
        // A device literally named "Mic#2" is not the twin of "Mic".
        let keys = DeviceKey::of_names(&names);
        assert_ne!(keys[1], keys[2]);
        for bad in ["", "Mic#0"] {
            assert_eq!(DeviceKey::parse(bad), None, "{bad}");
        }
        // Written by hand or by an older version: still a name, not a panic.
        assert_eq!(DeviceKey::parse("0").map(|k| k.twin), Some(1));
        assert_eq!(DeviceKey::parse("Mic#99999").map(|k| k.twin), Some(1));
    }
}
