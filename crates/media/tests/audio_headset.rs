//! A headset as PulseAudio (or PipeWire) offers it: listed by the name the
//! desktop shows, opened by that name, and gone from the lists when it is
//! pulled out while the server and the built-in speaker stay.

#[path = "support/pulse.rs"]
mod pulse;

use std::time::{Duration, Instant};

use pulse::{BUILT_IN_SPEAKER, HEADSET_MICROPHONE, HEADSET_SPEAKER, Pulse};
use talkline_media::analysis::dominant_frequency_hz;
use talkline_media::audio_device::{MicSource, SpeakerSink};
use talkline_media::devices;
use talkline_media::sink::AudioSink;
use talkline_media::{AudioFrame, AudioSource};

/// How long the server may take to move a stream.
const REPORTED_WITHIN: Duration = Duration::from_secs(10);
const HEADSET_HZ: u32 = 880;

#[test]
fn a_headset_is_listed_and_opened_by_name_and_gone_when_pulled_out() {
    let pulse = Pulse::start();
    let headset = pulse.plug_headset(HEADSET_HZ);

    // Listed by the names the desktop gives them; the server's monitors
    // (what a speaker plays, as a microphone) are not microphones.
    let mics = devices::microphones().expect("microphones");
    let names: Vec<&str> = mics.iter().map(|d| d.key.name()).collect();
    assert_eq!(names, [HEADSET_MICROPHONE], "{mics:?}");
    assert!(mics[0].is_default, "a plugged-in microphone is the default");
    let speakers = devices::speakers().expect("speakers");
    let named = |name: &str| speakers.iter().find(|d| d.key.name() == name);
    let built_in = named(BUILT_IN_SPEAKER).expect("the built-in speaker is listed");
    assert!(built_in.is_default, "{speakers:?}");
    let headset_speaker = named(HEADSET_SPEAKER).expect("the headset's speaker is listed");

    // Opened by name: the headset's microphone hears its tone, and its
    // speaker is where the sound goes.
    let mut mic = MicSource::open(Some(&mics[0].key)).expect("the headset's microphone");
    let mut speaker = SpeakerSink::open(Some(&headset_speaker.key)).expect("its speaker");
    let silence = [0i16; 480];
    let mut frame = AudioFrame::default();
    let mut heard = Vec::new();
    // Longer than the speaker's 2 s stall limit: the null sink's first
    // block (2 s, before it heeds the stream's low latency) is no stall.
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(3500) {
        AudioSink::write(&mut speaker, &silence).expect("the headset plays");
        mic.read(&mut frame)
            .expect("the headset's microphone captures");
        heard.extend_from_slice(&frame.samples);
    }
    let hz = dominant_frequency_hz(&heard).expect("the microphone heard nothing");
    assert!((hz - HEADSET_HZ as f64).abs() < 7.0, "heard {hz} Hz");
    assert_eq!(pulse.playing_on(), ["talkline_headset"]);

    pulse.unplug(headset);

    // The server moves both streams to its defaults: the built-in speaker,
    // and (with no other microphone) the monitor of that speaker. Neither
    // end fails, so it is the device lists that tell: the headset is gone
    // from them, and the app decides what to use (see the client's device
    // watch).
    let deadline = Instant::now() + REPORTED_WITHIN;
    while pulse.playing_on() != ["talkline_test"] {
        assert!(Instant::now() < deadline, "{:?}", pulse.playing_on());
        AudioSink::write(&mut speaker, &silence).expect("the moved stream plays");
        std::thread::sleep(Duration::from_millis(10));
    }
    mic.read(&mut frame).expect("the moved stream records");
    let mics: Vec<String> = devices::microphones()
        .expect("microphones")
        .iter()
        .map(|d| d.key.name().to_string())
        .collect();
    assert!(mics.is_empty(), "{mics:?}");
    let names: Vec<String> = devices::speakers()
        .expect("speakers")
        .iter()
        .map(|d| d.key.name().to_string())
        .collect();
    assert_eq!(names, [BUILT_IN_SPEAKER]);
}
