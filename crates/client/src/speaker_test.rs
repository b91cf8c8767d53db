//! "Test speaker" on the pre-join: a short chime through the chosen output,
//! so the user hears which device will play the meeting before joining.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use talkline_media::sink::AudioSink;
use talkline_media::tone::ToneSource;
use talkline_media::{AUDIO_FRAME_SAMPLES, AUDIO_RATE_HZ, AudioFrame};

use crate::devices;
use crate::error::AppError;

/// Three rising notes (Hz, ms): a sound of the app's own, not a test tone
/// that could be mistaken for a fault.
const CHIME: [(f64, u32); 3] = [(660.0, 150), (880.0, 150), (1320.0, 300)];
/// Each note fades in and out over this many samples (5 ms): no clicks.
const FADE: usize = AUDIO_RATE_HZ as usize / 200;
/// Queued ahead of the device, and left to play out at the end.
const AHEAD: Duration = Duration::from_millis(60);

/// Holds the "playing" flag; dropped, on whatever path, it frees it.
struct Playing(Arc<AtomicBool>);

impl Drop for Playing {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Plays the chime through speaker `id` on a thread of its own. One at a
/// time: a click while it plays does nothing more. Opening the output is
/// done here, so a device that will not open is the caller's error.
pub(crate) fn play(id: &str, playing: &Arc<AtomicBool>) -> Result<(), AppError> {
    if playing.swap(true, Ordering::AcqRel) {
        return Ok(());
    }
    let busy = Playing(Arc::clone(playing));
    let mut sink = devices::open_speaker(id)?.ok_or_else(|| {
        AppError::Invalid(crate::Said::new(
            "\"No output\" plays nothing: choose a speaker to test",
            "“无输出”不会播放声音：请选择要测试的扬声器",
        ))
    })?;
    std::thread::Builder::new()
        .name("talkline-speaker-test".into())
        .spawn(move || {
            if let Err(e) = chime(sink.as_mut()) {
                log::warn!("the speaker test stopped: {e}");
            }
            std::thread::sleep(AHEAD);
            drop(sink);
            drop(busy);
        })
        .map(drop)
        .map_err(|e| {
            AppError::Media(crate::Said::new(
                format!("cannot play the test sound: {e}"),
                format!("无法播放测试声音：{e}"),
            ))
        })
}

/// Writes the chime at the pace the device plays it.
fn chime(sink: &mut dyn AudioSink) -> Result<(), talkline_media::MediaError> {
    let mut frame = AudioFrame::default();
    let started = Instant::now();
    let mut queued = Duration::ZERO;
    for (hz, ms) in CHIME {
        let mut tone = ToneSource::new(hz)?;
        let samples = AUDIO_RATE_HZ as usize * ms as usize / 1000;
        let mut at = 0;
        while at < samples {
            tone.read(&mut frame);
            for (i, s) in frame.samples.iter_mut().enumerate() {
                let n = at + i;
                let edge = n.min(samples.saturating_sub(n + 1));
                if edge < FADE {
                    *s = (*s as f32 * edge as f32 / FADE as f32) as i16;
                }
            }
            sink.write(&frame.samples)?;
            at += AUDIO_FRAME_SAMPLES;
            queued += Duration::from_millis(10);
            if let Some(wait) = queued.checked_sub(started.elapsed() + AHEAD) {
                std::thread::sleep(wait);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a sink was given.
    struct Recorded(Arc<std::sync::Mutex<Vec<i16>>>);

    impl AudioSink for Recorded {
        fn write(&mut self, samples: &[i16]) -> Result<(), talkline_media::MediaError> {
            if let Ok(mut all) = self.0.lock() {
                all.extend_from_slice(samples);
            }
            Ok(())
        }
    }

    #[test]
    fn the_chime_is_three_rising_notes_that_start_and_end_in_silence() {
        let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
        chime(&mut Recorded(Arc::clone(&heard))).expect("the chime plays");
        let heard = heard.lock().expect("recording").clone();
        let ms = |n: usize| n * AUDIO_RATE_HZ as usize / 1000;
        assert_eq!(heard.len(), ms(600));
        assert_eq!((heard[0], heard[heard.len() - 1]), (0, 0), "a click");
        for (from, to, hz) in [(0, 150, 660.0), (150, 300, 880.0), (300, 600, 1320.0)] {
            let note = &heard[ms(from) + FADE..ms(to) - FADE];
            let found = talkline_media::analysis::dominant_frequency_hz(note).expect("a note");
            assert!((found - hz).abs() < 5.0, "{found} Hz for {hz} Hz");
        }
    }

    #[test]
    fn no_output_and_unknown_outputs_are_errors_and_free_the_next_try() {
        let playing = Arc::new(AtomicBool::new(false));
        for id in [devices::NO_SPEAKER, "speaker:Nowhere"] {
            assert!(play(id, &playing).is_err(), "{id}");
            assert!(!playing.load(Ordering::Acquire), "{id} left it busy");
        }
    }

    #[test]
    fn a_click_while_the_chime_plays_does_nothing_more() {
        // Busy: not even a bad choice is looked at, let alone opened.
        let playing = Arc::new(AtomicBool::new(true));
        assert!(play(devices::NO_SPEAKER, &playing).is_ok());
        assert!(
            playing.load(Ordering::Acquire),
            "the first chime's flag was freed"
        );
    }
}
