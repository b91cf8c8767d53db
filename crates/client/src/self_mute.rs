//! Whether our microphone and camera are off, as the window shows it.
//! Shared by the core (the user's toggles) and the call's monitor and
//! device watch: a device lost with nothing to take its place turns it off,
//! so the window never says "on" while nothing is sent.

use std::sync::Mutex;

use talkline_media::devices::DeviceKind;
use talkline_meeting::CallCommand;

use crate::core::lock;
use crate::error::AppError;
use crate::events::AppEvent;

#[derive(Debug, Default)]
pub(crate) struct SelfMute {
    /// (microphone, camera) muted. Held while a change is decided and sent,
    /// so that a toggle and a device lost meanwhile come one after the
    /// other, in the call as in the window.
    state: Mutex<(bool, bool)>,
}

/// The command that mutes or unmutes `kind`; `None` for a speaker.
fn command(kind: DeviceKind, muted: bool) -> Option<CallCommand> {
    match kind {
        DeviceKind::Microphone => Some(CallCommand::SetAudioMuted(muted)),
        DeviceKind::Camera => Some(CallCommand::SetVideoMuted(muted)),
        DeviceKind::Speaker => None,
    }
}

impl SelfMute {
    pub(crate) fn new(audio: bool, video: bool) -> Self {
        Self {
            state: Mutex::new((audio, video)),
        }
    }

    fn store(state: &mut (bool, bool), kind: DeviceKind, muted: bool) {
        match kind {
            DeviceKind::Microphone => state.0 = muted,
            DeviceKind::Camera => state.1 = muted,
            DeviceKind::Speaker => {}
        }
    }

    /// The user's toggle: an unmute is checked with `may_unmute` first,
    /// and the call is told with `send`.
    pub(crate) fn set(
        &self,
        kind: DeviceKind,
        muted: bool,
        may_unmute: impl FnOnce() -> Result<(), AppError>,
        send: impl FnOnce(CallCommand),
    ) -> Result<(), AppError> {
        let mut state = lock(&self.state);
        if !muted {
            may_unmute()?;
        }
        if let Some(c) = command(kind, muted) {
            Self::store(&mut state, kind, muted);
            send(c);
        }
        Ok(())
    }

    /// Turns `kind` off for want of a device, telling the call with
    /// `send`; false for a speaker (nothing to mute).
    pub(crate) fn turn_off(&self, kind: DeviceKind, send: impl FnOnce(CallCommand)) -> bool {
        let mut state = lock(&self.state);
        let Some(c) = command(kind, true) else {
            return false;
        };
        Self::store(&mut state, kind, true);
        send(c);
        true
    }

    /// (microphone, camera) muted.
    pub(crate) fn get(&self) -> (bool, bool) {
        *lock(&self.state)
    }

    /// What the window is told.
    pub(crate) fn event(&self) -> AppEvent {
        let (audio_muted, video_muted) = self.get();
        AppEvent::SelfMuted {
            audio_muted,
            video_muted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(muted: &SelfMute, kind: DeviceKind) -> Option<CallCommand> {
        let mut out = None;
        muted.turn_off(kind, |c| out = Some(c));
        out
    }

    #[test]
    fn a_lost_device_turns_its_own_kind_off_and_nothing_else() {
        let muted = SelfMute::new(false, false);
        assert!(matches!(
            sent(&muted, DeviceKind::Microphone),
            Some(CallCommand::SetAudioMuted(true))
        ));
        assert_eq!(muted.get(), (true, false));
        assert!(sent(&muted, DeviceKind::Speaker).is_none());
        assert_eq!(muted.get(), (true, false));
        assert!(matches!(
            sent(&muted, DeviceKind::Camera),
            Some(CallCommand::SetVideoMuted(true))
        ));
        assert_eq!(
            muted.event(),
            AppEvent::SelfMuted {
                audio_muted: true,
                video_muted: true
            }
        );
    }

    #[test]
    fn an_unmute_that_may_not_happen_changes_and_sends_nothing() {
        let muted = SelfMute::new(true, false);
        let mut commands = Vec::new();
        let refused = muted.set(
            DeviceKind::Microphone,
            false,
            || Err(AppError::State("no microphone".into())),
            |c| commands.push(c),
        );
        assert!(refused.is_err());
        assert!(commands.is_empty());
        assert_eq!(muted.get(), (true, false));
        // A mute is never refused.
        muted
            .set(
                DeviceKind::Camera,
                true,
                || Err(AppError::State("unused".into())),
                |c| commands.push(c),
            )
            .expect("a mute");
        assert!(matches!(commands[..], [CallCommand::SetVideoMuted(true)]));
        assert_eq!(muted.get(), (true, true));
    }
}
