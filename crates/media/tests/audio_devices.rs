//! The real audio path, without a sound card: a private PulseAudio with a
//! null sink. What the speaker plays into the sink, the microphone captures
//! from the sink's monitor; the tone must come back at its frequency.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use talkline_media::analysis::dominant_frequency_hz;
use talkline_media::audio_device::{MicSource, SpeakerSink};
use talkline_media::tone::ToneSource;
use talkline_media::{AudioFrame, AudioSource};

struct Pulse {
    dir: PathBuf,
}

impl Pulse {
    fn start() -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("pulse-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("runtime dir");
        let socket = dir.join("pulse/native");
        // SAFETY: set before any other thread of this test binary exists
        // (this file holds one test); cpal reads them when it connects.
        unsafe {
            std::env::set_var("XDG_RUNTIME_DIR", &dir);
            std::env::set_var("PULSE_SERVER", format!("unix:{}", socket.display()));
            std::env::set_var("HOME", &dir);
        }
        let status = Command::new("pulseaudio")
            .args(["-D", "--exit-idle-time=-1", "-n"])
            .arg(format!(
                "--load=module-native-protocol-unix socket={}",
                socket.display()
            ))
            .arg("--load=module-null-sink sink_name=talkline_test")
            .arg("--load=module-always-sink")
            .status()
            .expect("start pulseaudio (Debian package `pulseaudio`)");
        assert!(status.success(), "pulseaudio did not start");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "pulseaudio socket did not appear"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        for args in [
            ["set-default-sink", "talkline_test"],
            ["set-default-source", "talkline_test.monitor"],
        ] {
            let ok = Command::new("pactl").args(args).status().expect("pactl");
            assert!(ok.success(), "pactl {args:?}");
        }
        Self { dir }
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = Command::new("pactl").arg("exit").status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

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
