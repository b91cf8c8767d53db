//! What stands in for a device that stops working mid-call.
//!
//! The rule is the same for the camera, the microphone and the speaker:
//! the system's default if it is another device than the one lost; the
//! lost one once more if it is the default (a stream the system
//! invalidated, or a sound server that restarted, opens again on the same
//! device); otherwise nothing, and the user is asked to choose. A test
//! source is never a stand-in: everyone would see a test card or hear a
//! tone.

use std::sync::{Arc, Mutex};

use talkline_media::devices::DeviceKind;
use talkline_media::sink::Discard;
use talkline_media::source::Silence;
use talkline_meeting::CallCommand;

use crate::call::kind_name;
use crate::core::lock;
use crate::devices;
use crate::effects::LiveEffects;
use crate::error::AppError;

const KINDS: usize = 3;

fn slot(kind: DeviceKind) -> usize {
    match kind {
        DeviceKind::Camera => 0,
        DeviceKind::Microphone => 1,
        DeviceKind::Speaker => 2,
    }
}

/// The devices a call uses (resolved ids), kept up to date by the join,
/// live switches, fallbacks and the system's default changing.
#[derive(Debug, Default)]
pub(crate) struct DevicesInUse {
    ids: [String; KINDS],
    /// Whether the user left the choice to the system, so the call follows
    /// the system's default (see `device_watch`).
    follows: [bool; KINDS],
    /// Whether the device in use was opened again after it failed: once a
    /// call (or a choice), not every time a dead device stalls.
    reopened: [bool; KINDS],
}

impl DevicesInUse {
    pub(crate) fn id(&self, kind: DeviceKind) -> &str {
        &self.ids[slot(kind)]
    }

    pub(crate) fn follows_default(&self, kind: DeviceKind) -> bool {
        self.follows[slot(kind)]
    }

    /// The user's choice, at the join or switched to: `follows` when it
    /// was "the system's default". A fresh start for its kind.
    pub(crate) fn choose(&mut self, kind: DeviceKind, id: String, follows: bool) {
        self.ids[slot(kind)] = id;
        self.follows[slot(kind)] = follows;
        self.reopened[slot(kind)] = false;
    }

    /// The app put `id` in the place of the device in use; whether the
    /// call follows the default stays the user's choice.
    pub(crate) fn replaced(&mut self, kind: DeviceKind, id: String) {
        if self.ids[slot(kind)] != id {
            self.ids[slot(kind)] = id;
            self.reopened[slot(kind)] = false;
        }
    }
}

/// What replaces a lost device.
#[derive(Debug, PartialEq, Eq)]
enum StandIn {
    /// The system default, which is not what was lost.
    Default(String),
    /// The lost device itself, opened once more.
    Again(String),
    /// Nothing: the system has no device of its own, or the lost one was
    /// already given its second chance.
    Nothing,
}

fn stand_in(lost: &str, system_default: Option<String>, reopened_before: bool) -> StandIn {
    match system_default {
        None => StandIn::Nothing,
        Some(id) if id != lost => StandIn::Default(id),
        Some(_) if reopened_before => StandIn::Nothing,
        Some(id) => StandIn::Again(id),
    }
}

pub(crate) struct Fallback {
    /// Shared with the core, which updates it on a switch.
    pub(crate) in_use: Arc<Mutex<DevicesInUse>>,
    pub(crate) effects: Arc<LiveEffects>,
    /// The system's own default of a kind (`devices::system_default`).
    pub(crate) system_default: fn(DeviceKind) -> Option<String>,
}

impl Fallback {
    /// Opens device `id` as the call's new source or output of `kind`.
    pub(crate) fn open(&self, kind: DeviceKind, id: &str) -> Result<CallCommand, AppError> {
        Ok(match kind {
            DeviceKind::Camera => {
                CallCommand::ReplaceVideoSource(self.effects.wrap(devices::open_camera(id)?)?)
            }
            DeviceKind::Microphone => {
                CallCommand::ReplaceAudioSource(devices::open_microphone(id)?)
            }
            DeviceKind::Speaker => match devices::open_speaker(id)? {
                Some(sink) => CallCommand::ReplaceAudioOutput(sink),
                None => return Err(AppError::Media(format!("{id:?} is no output"))),
            },
        })
    }

    /// What replaces the lost device of `kind`, opened, and what to tell
    /// the user; `None` when nothing does. Blocking: it lists and opens
    /// devices.
    pub(crate) fn replace(&self, kind: DeviceKind) -> (Option<CallCommand>, String) {
        let unplugged = format!("Your {} stopped working", kind_name(kind));
        let until = match kind {
            DeviceKind::Camera => "others see no video until you choose a camera",
            DeviceKind::Microphone => "others cannot hear you until you choose a microphone",
            DeviceKind::Speaker => "others cannot be heard until you choose an output",
        };
        let (lost, reopened_before) = {
            let in_use = lock(&self.in_use);
            (in_use.id(kind).to_string(), in_use.reopened[slot(kind)])
        };
        let (id, done) = match stand_in(&lost, (self.system_default)(kind), reopened_before) {
            StandIn::Nothing => {
                lock(&self.in_use).replaced(kind, String::new());
                return (None, format!("{unplugged}; {until}"));
            }
            StandIn::Again(id) => {
                lock(&self.in_use).reopened[slot(kind)] = true;
                (id, format!("{unplugged}; reopened it"))
            }
            StandIn::Default(id) => {
                let label = devices::label(kind, &id);
                (id, format!("{unplugged}; switched to {label}"))
            }
        };
        match self.open(kind, &id) {
            Ok(command) => {
                lock(&self.in_use).replaced(kind, id);
                (Some(command), done)
            }
            Err(e) => {
                lock(&self.in_use).replaced(kind, String::new());
                (None, format!("{unplugged}; {until} ({e})"))
            }
        }
    }

    /// What takes the place of a device when nothing can: silence sent,
    /// nothing played. For a stream that goes on without its device (a
    /// sound server moves it elsewhere, perhaps to a monitor that would
    /// send the meeting back to everyone).
    pub(crate) fn nothing_instead(kind: DeviceKind) -> Option<CallCommand> {
        match kind {
            DeviceKind::Microphone => Some(CallCommand::ReplaceAudioSource(Box::new(Silence))),
            DeviceKind::Speaker => Some(CallCommand::ReplaceAudioOutput(Box::new(Discard))),
            // A camera that goes stops by itself; no server moves it.
            DeviceKind::Camera => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [DeviceKind; KINDS] = [
        DeviceKind::Camera,
        DeviceKind::Microphone,
        DeviceKind::Speaker,
    ];

    #[test]
    fn the_default_stands_in_unless_it_is_what_was_lost_twice() {
        let other = || Some("mic:Built-in".to_string());
        let lost = "mic:USB Headset";
        assert_eq!(
            stand_in(lost, other(), false),
            StandIn::Default("mic:Built-in".into())
        );
        // Another device is always worth a try, however often.
        assert_eq!(
            stand_in(lost, other(), true),
            StandIn::Default("mic:Built-in".into())
        );
        assert_eq!(
            stand_in(lost, Some(lost.into()), false),
            StandIn::Again(lost.into())
        );
        assert_eq!(stand_in(lost, Some(lost.into()), true), StandIn::Nothing);
        for reopened in [false, true] {
            assert_eq!(stand_in(lost, None, reopened), StandIn::Nothing);
        }
    }

    fn fallback(default: fn(DeviceKind) -> Option<String>) -> Fallback {
        Fallback {
            in_use: Arc::new(Mutex::new(DevicesInUse::default())),
            effects: Arc::new(LiveEffects::default()),
            system_default: default,
        }
    }

    #[test]
    fn without_a_device_of_the_systems_own_nothing_is_sent_instead() {
        let fallback = fallback(|_| None);
        for kind in ALL {
            lock(&fallback.in_use).choose(kind, format!("{kind}:Gone"), false);
            let (command, message) = fallback.replace(kind);
            assert!(command.is_none(), "{kind} replaced: {message}");
            assert!(message.contains("stopped working"), "{message}");
            assert!(message.contains("until you choose"), "{message}");
        }
    }

    #[test]
    fn a_stand_in_that_does_not_open_is_reported_and_nothing_is_in_use() {
        // The default is the lost device, and it is gone for good.
        let fallback = fallback(|kind| Some(format!("{kind}:Gone")));
        for kind in ALL {
            lock(&fallback.in_use).choose(kind, format!("{kind}:Gone"), false);
            let (command, message) = fallback.replace(kind);
            assert!(command.is_none(), "{kind} opened: {message}");
            assert!(message.contains("until you choose"), "{message}");
            assert!(message.contains('('), "no reason given: {message}");
            // Nothing is in use now, so nothing more can be lost, and the
            // device watch does not take it for one that went away.
            assert_eq!(lock(&fallback.in_use).id(kind), "");
        }
    }

    #[test]
    fn a_stand_in_that_opens_replaces_the_source_and_becomes_the_device_in_use() {
        // Production never offers the test sources as stand-ins (see the
        // next test); here they are devices that open on any machine.
        let fallback = fallback(|_| Some(devices::TEST_CAMERA.to_string()));
        for kind in [DeviceKind::Camera, DeviceKind::Microphone] {
            lock(&fallback.in_use).choose(kind, format!("{kind}:Unplugged"), false);
            let (command, message) = fallback.replace(kind);
            let replaced = matches!(
                (&command, kind),
                (Some(CallCommand::ReplaceVideoSource(_)), DeviceKind::Camera)
                    | (
                        Some(CallCommand::ReplaceAudioSource(_)),
                        DeviceKind::Microphone
                    )
            );
            assert!(replaced, "{kind}: {message}");
            assert!(message.contains("switched to Test"), "{message}");
            assert_eq!(lock(&fallback.in_use).id(kind), devices::TEST_CAMERA);
            // Now it is what is in use; lost as well, it is reopened once.
            let (command, message) = fallback.replace(kind);
            assert!(command.is_some(), "{message}");
            assert!(message.ends_with("reopened it"), "{message}");
            let (command, message) = fallback.replace(kind);
            assert!(command.is_none(), "{message}");
        }
    }

    #[test]
    fn the_systems_default_is_never_a_stand_in() {
        for kind in ALL {
            let listed = devices::listed(kind);
            let stand_in = listed.last().map(|d| d.id.clone());
            assert!(stand_in.is_some(), "{kind}: a picker without its stand-in");
            let default = devices::system_default(kind);
            assert_ne!(default, stand_in, "{kind}");
            if let Some(id) = default {
                assert!(listed.iter().any(|d| d.id == id && d.is_default), "{id}");
            }
        }
    }
}
