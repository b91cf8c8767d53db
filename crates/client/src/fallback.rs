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
use talkline_privacy::Language;

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

/// One kind's device in a call.
#[derive(Debug, Default)]
struct InUse {
    /// A resolved id; "" while nothing is in use.
    id: String,
    /// Whether the call follows the system's default (see `device_watch`):
    /// the user left the choice to the system, or their device went and
    /// the default took its place, as Zoom's "Same as System" does.
    follows: bool,
    /// Whether the device in use was opened again after it failed: once a
    /// call (or a choice), not every time a dead device stalls.
    reopened: bool,
    /// A device the app gave up on (it failed, or would not open): not
    /// followed to again, however often the watch looks, until another
    /// is the default or the user chooses.
    given_up: Option<String>,
    /// Counts the user's choices, so a replacement the app opened while
    /// the user chose does not override them.
    choices: u64,
}

/// The devices a call uses, kept up to date by the join, live switches,
/// fallbacks and the system's default changing.
#[derive(Debug, Default)]
pub(crate) struct DevicesInUse {
    kinds: [InUse; KINDS],
}

impl DevicesInUse {
    pub(crate) fn id(&self, kind: DeviceKind) -> &str {
        &self.kinds[slot(kind)].id
    }

    pub(crate) fn follows_default(&self, kind: DeviceKind) -> bool {
        self.kinds[slot(kind)].follows
    }

    pub(crate) fn given_up(&self, kind: DeviceKind) -> Option<&str> {
        self.kinds[slot(kind)].given_up.as_deref()
    }

    /// Changes with every choice of the user's.
    pub(crate) fn choice(&self, kind: DeviceKind) -> u64 {
        self.kinds[slot(kind)].choices
    }

    /// The user's choice, at the join or switched to: `follows` when it
    /// was "the system's default". A fresh start for its kind.
    pub(crate) fn choose(&mut self, kind: DeviceKind, id: String, follows: bool) {
        let k = &mut self.kinds[slot(kind)];
        *k = InUse {
            id,
            follows,
            choices: k.choices + 1,
            ..InUse::default()
        };
    }

    /// The app put the system's default `id` in the place of the device in
    /// use, unless the user chose since `choice`: then it returns false
    /// and what the app opened is not to be used.
    pub(crate) fn replaced(&mut self, kind: DeviceKind, id: String, choice: u64) -> bool {
        let k = &mut self.kinds[slot(kind)];
        if k.choices != choice {
            return false;
        }
        if k.id != id {
            k.id = id;
            k.reopened = false;
        }
        k.follows = true;
        k.given_up = None;
        true
    }

    /// Nothing is in use: `lost` went and nothing could replace it. The
    /// call follows the default from here (a headset plugged back in, a
    /// new microphone), but not back to `lost`.
    fn give_up(&mut self, kind: DeviceKind, lost: String) {
        let k = &mut self.kinds[slot(kind)];
        k.id.clear();
        k.follows = true;
        k.reopened = false;
        k.given_up = Some(lost);
    }

    /// The default `id` would not open: the device in use stays.
    pub(crate) fn refuse(&mut self, kind: DeviceKind, id: String) {
        self.kinds[slot(kind)].given_up = Some(id);
    }
}

/// What replaces a lost device.
#[derive(Debug, PartialEq, Eq)]
enum StandIn {
    /// The system default, which is not what was lost.
    Default(devices::Device),
    /// The lost device itself, opened once more.
    Again(String),
    /// Nothing: the system has no device of its own, or the lost one was
    /// already given its second chance.
    Nothing,
}

fn stand_in(lost: &str, system_default: Option<devices::Device>, reopened_before: bool) -> StandIn {
    match system_default {
        None => StandIn::Nothing,
        Some(d) if d.id != lost => StandIn::Default(d),
        Some(_) if reopened_before => StandIn::Nothing,
        Some(d) => StandIn::Again(d.id),
    }
}

/// A kind of device as the user reads it.
pub(crate) fn kind_said(kind: DeviceKind, language: Language) -> &'static str {
    match kind {
        DeviceKind::Camera => language.pick("camera", "摄像头"),
        DeviceKind::Microphone => language.pick("microphone", "麦克风"),
        DeviceKind::Speaker => language.pick("speaker", "扬声器"),
    }
}

pub(crate) struct Fallback {
    /// What the user is told is said in this language.
    pub(crate) language: Language,
    /// Shared with the core, which updates it on a switch.
    pub(crate) in_use: Arc<Mutex<DevicesInUse>>,
    pub(crate) effects: Arc<LiveEffects>,
    /// The system's own default of a kind (`devices::system_default`).
    pub(crate) system_default: fn(DeviceKind) -> Option<devices::Device>,
    /// Held while a loss is handled (see `replace`).
    pub(crate) one_at_a_time: Mutex<()>,
    /// Whether the user allowed capture of a kind (the consent ledger):
    /// a call joined with no microphone was never asked, and a headset
    /// plugged in later must not open unasked.
    pub(crate) allowed: Box<dyn Fn(DeviceKind) -> Result<(), AppError> + Send + Sync>,
}

impl Fallback {
    /// Opens device `id` as the call's new source or output of `kind`.
    pub(crate) fn open(&self, kind: DeviceKind, id: &str) -> Result<CallCommand, AppError> {
        (self.allowed)(kind)?;
        Ok(match kind {
            DeviceKind::Camera => {
                CallCommand::ReplaceVideoSource(self.effects.wrap(devices::open_camera(id)?)?)
            }
            DeviceKind::Microphone => {
                CallCommand::ReplaceAudioSource(devices::open_microphone(id)?)
            }
            DeviceKind::Speaker => match devices::open_speaker(id)? {
                Some(sink) => CallCommand::ReplaceAudioOutput(sink),
                None => {
                    return Err(AppError::Media(crate::Said::new(
                        format!("{id:?} is no output"),
                        format!("{id:?} 不是输出设备"),
                    )));
                }
            },
        })
    }

    /// What replaces the lost device of `kind`, opened, and what to tell
    /// the user; `None` when the user chose another device meanwhile (the
    /// loss is old news). Blocking: it lists and opens devices.
    pub(crate) fn replace(&self, kind: DeviceKind) -> Option<(Option<CallCommand>, String)> {
        // One loss at a time: the call's report and the device watch can
        // both see the same device go.
        let _one = lock(&self.one_at_a_time);
        let language = self.language;
        let what = kind_said(kind, language);
        let (unplugged, then) = match language {
            Language::English => (format!("Your {what} stopped working"), "; "),
            Language::SimplifiedChinese => (format!("您的{what}停止工作了"), "；"),
        };
        let until = match kind {
            DeviceKind::Camera => language.pick(
                "others see no video until you choose a camera",
                "在您选择摄像头之前，其他人看不到您的视频",
            ),
            DeviceKind::Microphone => language.pick(
                "others cannot hear you until you choose a microphone",
                "在您选择麦克风之前，其他人听不到您的声音",
            ),
            DeviceKind::Speaker => language.pick(
                "others cannot be heard until you choose an output",
                "在您选择输出设备之前，您听不到其他人的声音",
            ),
        };
        let (lost, reopened_before, choice) = {
            let in_use = lock(&self.in_use);
            let k = &in_use.kinds[slot(kind)];
            (k.id.clone(), k.reopened, k.choices)
        };
        if lost.is_empty() {
            // Given up on already: its stream's report came after.
            return None;
        }
        let (id, done) = match stand_in(&lost, (self.system_default)(kind), reopened_before) {
            StandIn::Nothing => {
                lock(&self.in_use).give_up(kind, lost);
                return Some((None, format!("{unplugged}{then}{until}")));
            }
            StandIn::Again(id) => {
                lock(&self.in_use).kinds[slot(kind)].reopened = true;
                let again = language.pick("reopened it", "已重新打开");
                (id, format!("{unplugged}{then}{again}"))
            }
            StandIn::Default(d) => {
                let switched = match language {
                    Language::English => format!("switched to {}", d.label),
                    Language::SimplifiedChinese => format!("已切换到 {}", d.label),
                };
                (d.id, format!("{unplugged}{then}{switched}"))
            }
        };
        match self.open(kind, &id) {
            Ok(command) => lock(&self.in_use)
                .replaced(kind, id, choice)
                .then_some((Some(command), done)),
            Err(e) => {
                lock(&self.in_use).give_up(kind, lost);
                let why = match language {
                    Language::English => format!(" ({e})"),
                    Language::SimplifiedChinese => format!("（{e}）"),
                };
                Some((None, format!("{unplugged}{then}{until}{why}")))
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

    /// The system's default `id`, as the pickers list it ("ID itself").
    fn default_device(id: String) -> Option<devices::Device> {
        let label = format!("{id} itself");
        Some(devices::Device {
            id,
            label,
            is_default: true,
        })
    }

    #[test]
    fn the_default_stands_in_unless_it_is_what_was_lost_twice() {
        let other = || default_device("mic:Built-in".into());
        let lost = "mic:USB Headset";
        let built_in = StandIn::Default(other().expect("a device"));
        assert_eq!(stand_in(lost, other(), false), built_in);
        // Another device is always worth a try, however often.
        assert_eq!(stand_in(lost, other(), true), built_in);
        let itself = || default_device(lost.into());
        assert_eq!(stand_in(lost, itself(), false), StandIn::Again(lost.into()));
        assert_eq!(stand_in(lost, itself(), true), StandIn::Nothing);
        for reopened in [false, true] {
            assert_eq!(stand_in(lost, None, reopened), StandIn::Nothing);
        }
    }

    fn fallback(default: fn(DeviceKind) -> Option<devices::Device>) -> Fallback {
        Fallback {
            language: Language::English,
            in_use: Arc::new(Mutex::new(DevicesInUse::default())),
            effects: Arc::new(LiveEffects::default()),
            system_default: default,
            allowed: Box::new(|_| Ok(())),
            one_at_a_time: Mutex::new(()),
        }
    }

    #[test]
    fn a_chinese_user_is_told_in_chinese() {
        let fallback = Fallback {
            language: Language::SimplifiedChinese,
            ..fallback(|_| None)
        };
        lock(&fallback.in_use).choose(DeviceKind::Microphone, "microphone:Gone".into(), false);
        let (_, message) = fallback
            .replace(DeviceKind::Microphone)
            .expect("a loss to handle");
        assert_eq!(
            message,
            "您的麦克风停止工作了；在您选择麦克风之前，其他人听不到您的声音"
        );
    }

    #[test]
    fn without_a_device_of_the_systems_own_nothing_is_sent_instead() {
        let fallback = fallback(|_| None);
        for kind in ALL {
            lock(&fallback.in_use).choose(kind, format!("{kind}:Gone"), false);
            let (command, message) = fallback.replace(kind).expect("a loss to handle");
            assert!(command.is_none(), "{kind} replaced: {message}");
            assert!(message.contains("stopped working"), "{message}");
            assert!(message.contains("until you choose"), "{message}");
        }
    }

    #[test]
    fn a_stand_in_that_does_not_open_is_reported_and_nothing_is_in_use() {
        // The default is the lost device, and it is gone for good.
        let fallback = fallback(|kind| default_device(format!("{kind}:Gone")));
        for kind in ALL {
            lock(&fallback.in_use).choose(kind, format!("{kind}:Gone"), false);
            let (command, message) = fallback.replace(kind).expect("a loss to handle");
            assert!(command.is_none(), "{kind} opened: {message}");
            assert!(message.contains("until you choose"), "{message}");
            assert!(message.contains('('), "no reason given: {message}");
            // Nothing is in use now, so nothing more can be lost, and the
            // device watch does not take it for one that went away.
            assert_eq!(lock(&fallback.in_use).id(kind), "");
            assert!(fallback.replace(kind).is_none(), "handled twice");
            // From here the call follows the default, but not back to the
            // device it gave up on.
            let in_use = lock(&fallback.in_use);
            assert!(in_use.follows_default(kind));
            assert_eq!(in_use.given_up(kind), Some(format!("{kind}:Gone").as_str()));
        }
    }

    #[test]
    fn a_choice_made_while_a_stand_in_opened_is_kept() {
        let mut in_use = DevicesInUse::default();
        in_use.choose(DeviceKind::Microphone, "mic:Lost".into(), false);
        let seen = in_use.choice(DeviceKind::Microphone);
        in_use.choose(DeviceKind::Microphone, "mic:Chosen".into(), false);
        assert!(!in_use.replaced(DeviceKind::Microphone, "mic:Default".into(), seen));
        assert_eq!(in_use.id(DeviceKind::Microphone), "mic:Chosen");
        assert!(!in_use.follows_default(DeviceKind::Microphone));
    }

    #[test]
    fn a_stand_in_that_opens_replaces_the_source_and_becomes_the_device_in_use() {
        // Production never offers the test sources as stand-ins (see the
        // next test); here they are devices that open on any machine.
        let fallback = fallback(|_| default_device(devices::TEST_CAMERA.into()));
        for kind in [DeviceKind::Camera, DeviceKind::Microphone] {
            lock(&fallback.in_use).choose(kind, format!("{kind}:Unplugged"), false);
            let (command, message) = fallback.replace(kind).expect("a loss to handle");
            let replaced = matches!(
                (&command, kind),
                (Some(CallCommand::ReplaceVideoSource(_)), DeviceKind::Camera)
                    | (
                        Some(CallCommand::ReplaceAudioSource(_)),
                        DeviceKind::Microphone
                    )
            );
            assert!(replaced, "{kind}: {message}");
            assert!(message.ends_with("switched to test itself"), "{message}");
            assert_eq!(lock(&fallback.in_use).id(kind), devices::TEST_CAMERA);
            // As the picker now shows: "System default", followed.
            assert!(lock(&fallback.in_use).follows_default(kind));
            // Now it is what is in use; lost as well, it is reopened once.
            let (command, message) = fallback.replace(kind).expect("a loss to handle");
            assert!(command.is_some(), "{message}");
            assert!(message.ends_with("reopened it"), "{message}");
            let (command, message) = fallback.replace(kind).expect("a loss to handle");
            assert!(command.is_none(), "{message}");
        }
    }

    #[test]
    fn the_systems_default_is_never_a_stand_in() {
        for kind in ALL {
            let listed = devices::listed(kind);
            assert!(
                listed.iter().any(|d| devices::is_stand_in(&d.id)),
                "{kind}: a picker without its stand-ins: {listed:?}"
            );
            match devices::system_default(kind) {
                Some(d) => {
                    assert!(!devices::is_stand_in(&d.id), "{kind}: {d:?}");
                    assert!(
                        listed.iter().any(|l| l.id == d.id && l.is_default),
                        "{kind}: {d:?}"
                    );
                }
                // A machine without a device of this kind: the pickers'
                // default is a stand-in ("none"), which this never gives.
                None => assert!(
                    listed
                        .iter()
                        .any(|d| d.is_default && devices::is_stand_in(&d.id)),
                    "{kind}: {listed:?}"
                ),
            }
        }
    }
}
