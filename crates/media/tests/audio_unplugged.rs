//! A headset pulled out mid-call, through the real device path: the
//! private PulseAudio that offers the speaker and microphone goes away.
//! Both ends must say so (that is what makes the call switch to another
//! device or tell the user), not play into nothing or wait forever.

#[path = "support/pulse.rs"]
mod pulse;

use std::time::{Duration, Instant};

use pulse::Pulse;
use talkline_media::audio_device::{MicSource, SpeakerSink};
use talkline_media::sink::AudioSink;
use talkline_media::{AudioFrame, AudioSource};

/// Longer than the devices' own stall limits (2 s, 5 s before the first
/// audio), so a failure here means no report, not a slow one.
const REPORTED_WITHIN: Duration = Duration::from_secs(10);

#[test]
fn a_headset_that_goes_away_is_reported_by_its_speaker_and_microphone() {
    let pulse = Pulse::start();
    let mut speaker = SpeakerSink::open(None).expect("speaker");
    let mut mic = MicSource::open(None).expect("microphone");
    let silence = [0i16; 480];
    let mut frame = AudioFrame::default();

    // Both work while the devices are there.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(1) {
        AudioSink::write(&mut speaker, &silence).expect("the speaker plays");
        mic.read(&mut frame).expect("the microphone captures");
    }

    pulse.stop();

    let gone = Instant::now();
    let speaker_error = loop {
        match AudioSink::write(&mut speaker, &silence) {
            Err(e) => break e.to_string(),
            Ok(()) if gone.elapsed() > REPORTED_WITHIN => {
                panic!("the speaker went on taking audio with no device behind it")
            }
            Ok(()) => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    assert!(speaker_error.contains("speaker"), "{speaker_error}");

    let gone = Instant::now();
    let mic_error = loop {
        match mic.read(&mut frame) {
            Err(e) => break e.to_string(),
            Ok(()) if gone.elapsed() > REPORTED_WITHIN => {
                panic!("the microphone went on delivering audio with no device behind it")
            }
            Ok(()) => {}
        }
    };
    assert!(mic_error.contains("microphone"), "{mic_error}");
}
