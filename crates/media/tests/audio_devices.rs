//! The real audio path, without a sound card: a private PulseAudio with a
//! null sink. What the speaker plays into the sink, the microphone captures
//! from the sink's monitor; the tone must come back at its frequency.

#[path = "support/pulse.rs"]
mod pulse;

use std::time::{Duration, Instant};

use pulse::Pulse;

use talkline_media::analysis::dominant_frequency_hz;
use talkline_media::audio_device::{MicSource, SpeakerSink};
use talkline_media::tone::ToneSource;
use talkline_media::{AudioFrame, AudioSource};

#[test]
fn speaker_tone_comes_back_through_the_microphone() {
    let _pulse = Pulse::start();
    let mut speaker = SpeakerSink::open(None).expect("speaker");
    let mut mic = MicSource::open(None).expect("microphone");
    let mut tone = ToneSource::new(700.0).expect("tone");
    let mut frame = AudioFrame::default();
    // Keep about 100 ms queued, topping up as the device plays.
    let mut captured = Vec::new();
    let player = std::thread::spawn(move || {
        let started = Instant::now();
        let mut queued = Duration::ZERO;
        while started.elapsed() < Duration::from_secs(6) {
            while queued < started.elapsed() + Duration::from_millis(100) {
                tone.read(&mut frame);
                speaker.write(&frame.samples);
                queued += Duration::from_millis(10);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        speaker.underruns()
    });
    let mut input = AudioFrame::default();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        mic.read(&mut input).expect("capture");
        captured.extend_from_slice(&input.samples);
    }
    let _ = player.join();
    // The last second is well after both streams started.
    let tail = &captured[captured.len().saturating_sub(48_000)..];
    let hz = dominant_frequency_hz(tail).expect("the microphone heard the speaker");
    assert!((hz - 700.0).abs() < 7.0, "heard {hz} Hz");
}
