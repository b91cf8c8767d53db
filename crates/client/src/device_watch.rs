//! Devices plugged in or out while a call runs. The window's pickers are
//! told what is there now, the user what came and went, and a microphone
//! or speaker left to "the system's default" follows that default, as the
//! desktop's own sound settings do: plug in a headset that the system makes
//! its default, and the call moves to it.

use std::sync::Arc;
use std::time::Duration;

use talkline_media::devices::DeviceKind;
use talkline_meeting::CallCommand;
use talkline_privacy::Language;
use tokio::sync::mpsc;

use crate::core::lock;
use crate::devices::{self, DeviceList};
use crate::error::AppError;
use crate::events::{AppEvent, EventSink};
use crate::fallback::{Fallback, kind_said};
use crate::self_mute::SelfMute;

/// How often the system is asked: a change is seen within this, before a
/// person looks for it. A look takes milliseconds with a sound server and
/// longer with ALSA alone; it runs on a blocking thread either way.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// The kinds that follow the system's default. Cameras do not: a system
/// has no default camera, only a first one, which a new webcam changes.
const FOLLOWING: [DeviceKind; 2] = [DeviceKind::Microphone, DeviceKind::Speaker];

pub(crate) struct DeviceWatch {
    fallback: Arc<Fallback>,
    /// Turned off when a device goes with nothing in its place.
    muted: Arc<SelfMute>,
    /// The devices at the last look; `None` before the first.
    last: Option<DeviceList>,
    /// Lists one kind's devices (`devices::try_listed`; tests give their
    /// own).
    list: fn(DeviceKind) -> Result<Vec<devices::Device>, talkline_media::MediaError>,
}

/// What a look at the devices calls for.
pub(crate) enum Step {
    Command(CallCommand),
    Tell(AppEvent),
}

impl DeviceWatch {
    pub(crate) fn new(fallback: Arc<Fallback>, muted: Arc<SelfMute>) -> Self {
        Self {
            fallback,
            muted,
            last: None,
            list: devices::try_listed,
        }
    }

    /// Looks at the devices now. Blocking: it asks the system.
    pub(crate) fn check(&mut self) -> Vec<Step> {
        // A kind the system could not list this time keeps its last list:
        // a failed look is not every device unplugged.
        let mut unlisted = Vec::new();
        let mut looked = |kind: DeviceKind| match (self.list)(kind) {
            Ok(list) => list,
            Err(e) => {
                log::info!("cannot list the {kind}s now: {e}");
                unlisted.push(kind);
                self.last
                    .as_ref()
                    .map_or_else(Vec::new, |last| last.of(kind).to_vec())
            }
        };
        let now = DeviceList {
            cameras: looked(DeviceKind::Camera),
            microphones: looked(DeviceKind::Microphone),
            speakers: looked(DeviceKind::Speaker),
        };
        let mut steps = Vec::new();
        if let Some(before) = self.last.as_ref().filter(|before| **before != now) {
            steps.push(Step::Tell(AppEvent::DevicesChanged {
                message: came_and_went(before, &now, self.fallback.language),
                devices: now.clone(),
            }));
        }
        for kind in FOLLOWING.into_iter().filter(|k| !unlisted.contains(k)) {
            self.follow(kind, now.of(kind), &mut steps);
        }
        self.last = Some(now);
        steps
    }

    /// What the system's devices of `kind` now mean for the call: a device
    /// in use that went away is replaced, and a call that follows the
    /// default moves to it.
    fn follow(&self, kind: DeviceKind, now: &[devices::Device], steps: &mut Vec<Step>) {
        let what = kind.name();
        let language = self.fallback.language;
        let said = kind_said(kind, language);
        let (in_use, follows, given_up, choice) = {
            let in_use = lock(&self.fallback.in_use);
            (
                in_use.id(kind).to_string(),
                in_use.follows_default(kind),
                in_use.given_up(kind).map(str::to_string),
                in_use.choice(kind),
            )
        };
        let real = !in_use.is_empty() && !devices::is_stand_in(&in_use);
        if real && !now.iter().any(|d| d.id == in_use) {
            // The system took the device away. A sound server moves its
            // stream to the system's default, which can be a monitor (the
            // meeting, sent back to everyone): the app's own rule decides
            // instead, as for a device that failed.
            if let Some((command, message)) = self.fallback.replace(kind) {
                let replaced = command.is_some();
                if let Some(command) = command.or_else(|| Fallback::nothing_instead(kind)) {
                    steps.push(Step::Command(command));
                }
                // Nothing real is sent: shown off, not on.
                if !replaced
                    && self
                        .muted
                        .turn_off(kind, |off| steps.push(Step::Command(off)))
                {
                    steps.push(Step::Tell(self.muted.event()));
                }
                steps.push(Step::Tell(AppEvent::DeviceChanged {
                    kind: what,
                    message,
                }));
            }
            return;
        }
        let Some(default) = devices::real_default(now) else {
            return;
        };
        if !follows || default.id == in_use || given_up.as_deref() == Some(default.id.as_str()) {
            return;
        }
        let _one = lock(&self.fallback.one_at_a_time);
        let message = match self.fallback.open(kind, &default.id) {
            Ok(command) => {
                if !lock(&self.fallback.in_use).replaced(kind, default.id.clone(), choice) {
                    return; // the user chose meanwhile
                }
                steps.push(Step::Command(command));
                match language {
                    Language::English => {
                        format!("Now using {}, the system's {said}", default.label)
                    }
                    Language::SimplifiedChinese => {
                        format!("现在使用 {}（系统的{said}）", default.label)
                    }
                }
            }
            // Never allowed (a call joined without a microphone was not
            // asked): the user chooses it, and is asked then.
            Err(AppError::ConsentNeeded(_) | AppError::ConsentDenied(_)) => {
                lock(&self.fallback.in_use).refuse(kind, default.id.clone());
                match language {
                    Language::English => format!(
                        "{} is the system's {said} now: choose it under Devices to use it",
                        default.label
                    ),
                    Language::SimplifiedChinese => format!(
                        "{} 现在是系统的{said}：在“设备”中选择它即可使用",
                        default.label
                    ),
                }
            }
            Err(e) => {
                lock(&self.fallback.in_use).refuse(kind, default.id.clone());
                match language {
                    Language::English => {
                        format!("Cannot use {}, the system's {said}: {e}", default.label)
                    }
                    Language::SimplifiedChinese => {
                        format!("无法使用 {}（系统的{said}）：{e}", default.label)
                    }
                }
            }
        };
        steps.push(Step::Tell(AppEvent::DeviceChanged {
            kind: what,
            message,
        }));
    }

    /// Looks every `WATCH_EVERY` on a blocking thread, until aborted.
    pub(crate) fn spawn(
        mut self,
        commands: mpsc::UnboundedSender<CallCommand>,
        sink: Arc<dyn EventSink>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(WATCH_EVERY);
            loop {
                every.tick().await;
                let looked = tokio::task::spawn_blocking(move || {
                    let steps = self.check();
                    (self, steps)
                })
                .await;
                let Ok((watch, steps)) = looked else {
                    break;
                };
                self = watch;
                for step in steps {
                    match step {
                        Step::Command(c) => {
                            if commands.send(c).is_err() {
                                return;
                            }
                        }
                        Step::Tell(event) => sink.emit(event),
                    }
                }
            }
        })
    }
}

/// "Test Headset connected; USB Camera disconnected", or `None` when only
/// which one is the default changed.
fn came_and_went(before: &DeviceList, now: &DeviceList, language: Language) -> Option<String> {
    let mut said = Vec::new();
    for kind in [
        DeviceKind::Camera,
        DeviceKind::Microphone,
        DeviceKind::Speaker,
    ] {
        let (before, now) = (before.of(kind), now.of(kind));
        let missing_from = |list: &[devices::Device], id: &str| !list.iter().any(|d| d.id == id);
        for d in now.iter().filter(|d| missing_from(before, &d.id)) {
            said.push(match language {
                Language::English => format!("{} connected", d.label),
                Language::SimplifiedChinese => format!("{} 已连接", d.label),
            });
        }
        for d in before.iter().filter(|d| missing_from(now, &d.id)) {
            said.push(match language {
                Language::English => format!("{} disconnected", d.label),
                Language::SimplifiedChinese => format!("{} 已断开", d.label),
            });
        }
    }
    (!said.is_empty()).then(|| said.join(language.pick("; ", "；")))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::devices::Device;
    use crate::effects::LiveEffects;
    use crate::fallback::DevicesInUse;

    fn device(id: &str, label: &str, is_default: bool) -> Device {
        Device {
            id: id.into(),
            label: label.into(),
            is_default,
        }
    }

    /// A machine with no devices of its own (the pickers' stand-ins
    /// only), until…
    fn bare() -> DeviceList {
        let of = |kind| devices::with_stand_ins(kind, Vec::new());
        DeviceList {
            cameras: of(DeviceKind::Camera),
            microphones: of(DeviceKind::Microphone),
            speakers: of(DeviceKind::Speaker),
        }
    }

    /// …a headset is plugged in, and the system makes its microphone the
    /// default. No such device is on this machine: it does not open.
    fn with_headset() -> DeviceList {
        let mut list = bare();
        for d in &mut list.microphones {
            d.is_default = false;
        }
        list.microphones.insert(
            0,
            device(
                "mic:Test Headset Microphone",
                "Test Headset Microphone",
                true,
            ),
        );
        list.speakers
            .insert(0, device("speaker:Test Headset", "Test Headset", false));
        list
    }

    type Listing = fn(DeviceKind) -> Result<Vec<Device>, talkline_media::MediaError>;

    const BARE: Listing = |kind| Ok(bare().of(kind).to_vec());
    const WITH_HEADSET: Listing = |kind| Ok(with_headset().of(kind).to_vec());

    fn watch(list: Listing, follows: bool) -> DeviceWatch {
        watch_with_consent(list, follows, true)
    }

    fn watch_with_consent(list: Listing, follows: bool, allowed: bool) -> DeviceWatch {
        let in_use = Arc::new(Mutex::new(DevicesInUse::default()));
        for kind in FOLLOWING {
            lock(&in_use).choose(kind, devices::NO_DEVICE.into(), follows);
        }
        DeviceWatch {
            muted: Arc::new(SelfMute::default()),
            fallback: Arc::new(Fallback {
                language: Language::English,
                in_use,
                effects: Arc::new(LiveEffects::default()),
                system_default: |_| None,
                one_at_a_time: Mutex::new(()),
                allowed: Box::new(move |kind| {
                    if allowed {
                        Ok(())
                    } else {
                        Err(AppError::ConsentDenied(format!("no {kind}").into()))
                    }
                }),
            }),
            last: Some(bare()),
            list,
        }
    }

    fn told(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::Tell(AppEvent::DevicesChanged { message, .. }) => message.clone(),
                Step::Tell(AppEvent::DeviceChanged { message, .. }) => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn what_came_and_went_is_said_by_name_and_the_list_is_sent() {
        let mut watch = watch(WITH_HEADSET, false);
        let steps = watch.check();
        assert_eq!(
            told(&steps),
            ["Test Headset Microphone connected; Test Headset connected"]
        );
        let sent = steps.iter().any(|s| {
            matches!(s, Step::Tell(AppEvent::DevicesChanged { devices, .. }) if *devices == with_headset())
        });
        assert!(sent, "the pickers were not sent the new list");
        // Nothing new: nothing said.
        assert!(watch.check().is_empty());
        // Pulled out again.
        watch.list = BARE;
        assert_eq!(
            told(&watch.check()),
            ["Test Headset Microphone disconnected; Test Headset disconnected"]
        );
    }

    #[test]
    fn a_device_in_use_that_the_system_takes_away_is_replaced_by_nothing_here() {
        // The headset is in use, explicitly chosen, and is pulled out. The
        // system's default is then no device of its own (`|_| None`).
        let mut watch = watch(BARE, false);
        watch.last = Some(with_headset());
        for (kind, id) in [
            (DeviceKind::Microphone, "mic:Test Headset Microphone"),
            (DeviceKind::Speaker, "speaker:Test Headset"),
        ] {
            lock(&watch.fallback.in_use).choose(kind, id.into(), false);
        }
        let steps = watch.check();
        let said = told(&steps);
        for what in ["microphone", "speaker"] {
            assert!(
                said.iter()
                    .any(|m| m.starts_with(&format!("Your {what} stopped working"))
                        && m.contains("until you choose")),
                "{said:?}"
            );
        }
        // Silence is sent and nothing played, rather than whatever the
        // server moved the streams to.
        let silenced = steps
            .iter()
            .any(|s| matches!(s, Step::Command(CallCommand::ReplaceAudioSource(_))));
        let discarded = steps
            .iter()
            .any(|s| matches!(s, Step::Command(CallCommand::ReplaceAudioOutput(_))));
        assert!(silenced && discarded, "{said:?}");
        // The window shows the microphone off (nothing real is sent), and
        // the call tells the room so.
        let told_muted = steps.iter().any(|s| {
            matches!(
                s,
                Step::Tell(AppEvent::SelfMuted {
                    audio_muted: true,
                    ..
                })
            )
        });
        let muted = steps
            .iter()
            .any(|s| matches!(s, Step::Command(CallCommand::SetAudioMuted(true))));
        assert!(told_muted && muted, "{said:?}");
        assert_eq!(watch.muted.get(), (true, false));
        // Said once: nothing is in use now.
        assert!(told(&watch.check()).is_empty());
    }

    #[test]
    fn a_choice_left_to_the_system_follows_its_default_and_a_chosen_one_stays() {
        let mut chosen = watch(WITH_HEADSET, false);
        assert!(
            !chosen.check().iter().any(|s| matches!(s, Step::Command(_))),
            "a device the user chose was replaced"
        );
        let mut following = watch(WITH_HEADSET, true);
        let steps = following.check();
        // The microphone's new default does not open here ("mic:…" is no
        // device of this machine): said once, not tried every look.
        let said = told(&steps);
        assert!(
            said.iter()
                .any(|m| m
                    .starts_with("Cannot use Test Headset Microphone, the system's microphone")),
            "{said:?}"
        );
        assert!(told(&following.check()).is_empty(), "tried again");
        // The speaker's default is still "no output", which it uses.
        assert!(!said.iter().any(|m| m.contains("speaker")), "{said:?}");
        // A listing that fails is not every device gone.
        following.list = |_| Err(talkline_media::MediaError::AudioDevice("busy".into()));
        assert!(following.check().is_empty());
        // Switching to a default that opens is the window test's
        // (`devices_switched_and_unplugged_mid_call_leave_the_call_going`):
        // it needs a real device.
    }

    #[test]
    fn a_call_without_a_microphone_does_not_open_one_plugged_in_unasked() {
        let mut watch = watch_with_consent(WITH_HEADSET, true, false);
        let steps = watch.check();
        assert!(
            !steps.iter().any(|s| matches!(s, Step::Command(_))),
            "a microphone opened without consent"
        );
        let said = told(&steps);
        assert!(
            said.iter().any(|m| m.contains(
                "Test Headset Microphone is the system's microphone now: choose it under Devices"
            )),
            "{said:?}"
        );
        // Said once, not at every look.
        assert!(told(&watch.check()).is_empty());
        assert_eq!(
            lock(&watch.fallback.in_use).id(DeviceKind::Microphone),
            devices::NO_DEVICE
        );
    }

    #[test]
    fn a_default_given_up_on_is_not_followed_back_to() {
        // Following the default, the headset's microphone fails for good:
        // the fallback finds nothing (`|_| None`) and gives up on it. The
        // headset is still listed, still the default: no new try, no
        // endless loop of "stopped working", "now using".
        let mut watch = watch(WITH_HEADSET, true);
        watch.last = Some(with_headset());
        let mic = "mic:Test Headset Microphone";
        lock(&watch.fallback.in_use).choose(DeviceKind::Microphone, mic.into(), true);
        let (command, _) = watch
            .fallback
            .replace(DeviceKind::Microphone)
            .expect("a loss to handle");
        assert!(command.is_none());
        for _ in 0..3 {
            let steps = watch.check();
            assert!(steps.is_empty(), "{:?}", told(&steps));
        }
    }
}
