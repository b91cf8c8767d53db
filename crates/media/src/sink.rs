//! Where played-out audio goes: the speaker, a WAV file, or nowhere.

use crate::audio_device::SpeakerSink;
use crate::error::Result;
use crate::voice_processing::EchoReference;
use crate::wav::WavSink;

pub trait AudioSink: Send {
    /// Takes 48 kHz mono samples. Live sinks queue them and return at once.
    fn write(&mut self, samples: &[i16]) -> Result<()>;

    /// A device hands what it really plays, when it plays it, to `echo`
    /// from its own callback, and says so; other sinks return false, and
    /// the caller gives `echo` what it writes.
    fn play_echo_into(&mut self, echo: &EchoReference) -> bool {
        let _ = echo;
        false
    }
}

impl AudioSink for SpeakerSink {
    fn write(&mut self, samples: &[i16]) -> Result<()> {
        // A device that went away is an error, so the call can switch to
        // another output; a full device queue drops the newest audio
        // rather than block.
        self.check()?;
        SpeakerSink::write(self, samples);
        Ok(())
    }

    fn play_echo_into(&mut self, echo: &EchoReference) -> bool {
        self.tap_echo(echo)
    }
}

impl AudioSink for WavSink {
    fn write(&mut self, samples: &[i16]) -> Result<()> {
        WavSink::write(self, samples)
    }
}

/// Nowhere: what "No output" plays into, so a call keeps its playout
/// (levels, the active speaker) with nothing to hear it on.
pub struct Discard;

impl AudioSink for Discard {
    fn write(&mut self, _: &[i16]) -> Result<()> {
        Ok(())
    }
}
