//! The computer's sound, shared with a screen: what every application
//! plays, recorded from the default output's monitor. The meeting plays
//! there too, and sent back it would be everyone hearing themselves a
//! quarter second late; so the meeting is taken out by an echo canceller
//! fed with exactly what the speaker played (the call's `EchoReference`),
//! which on a digital loopback has a clean, fixed path to learn. Nothing
//! else is done to it: noise suppression and gain control are for voices,
//! and would pump and thin music.

use crate::audio_device::MicSource;
use crate::error::Result;
use crate::frame::AudioFrame;
use crate::source::AudioSource;
use crate::voice_processing::{EchoReference, VoiceProcessor, VoiceSettings};

/// What the computer plays, without the meeting.
pub struct ComputerSound {
    recording: MicSource,
    /// Without the meeting's playout (a call that plays nothing): as
    /// recorded.
    meeting: Option<(EchoReference, VoiceProcessor)>,
    /// Frames read, for a report once a second in the debug log.
    frames: u64,
}

impl ComputerSound {
    /// Records what the computer plays; `meeting` is what the call's
    /// speaker plays, taken out of it.
    pub fn open(meeting: Option<&EchoReference>) -> Result<Self> {
        let recording = MicSource::open_computer_sound()?;
        let settings = VoiceSettings {
            echo_cancellation: true,
            ..VoiceSettings::original_sound()
        };
        Ok(Self {
            recording,
            meeting: meeting.map(|m| (m.second_reader(), VoiceProcessor::new(settings))),
            frames: 0,
        })
    }
}

impl AudioSource for ComputerSound {
    fn read(&mut self, frame: &mut AudioFrame) -> Result<()> {
        self.recording.read(frame)?;
        if let Some((played, canceller)) = self.meeting.as_mut() {
            canceller.take_playout(played);
            let levels = canceller.capture(frame);
            self.frames += 1;
            if self.frames.is_multiple_of(100) {
                let report = canceller.echo_report();
                log::debug!(
                    "the meeting taken out of the computer's sound: {:.3} to {:.3}, {report:?}",
                    levels.heard,
                    levels.sent
                );
            }
        }
        Ok(())
    }

    fn is_live(&self) -> bool {
        true
    }

    /// Music and films, not a voice in a room: sent as it is (the
    /// meeting taken out above).
    fn is_voice(&self) -> bool {
        false
    }
}

impl Drop for ComputerSound {
    fn drop(&mut self) {
        if let Some((played, _)) = &self.meeting {
            played.stop_second_reader();
        }
    }
}
