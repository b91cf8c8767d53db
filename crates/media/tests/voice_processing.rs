//! The voice processing on a simulated echo path: a far end's speech played
//! into a room and picked up by the microphone with the near end's voice
//! and noise. Measured on what would be sent. The full sweep of delays,
//! with its figures, is the `voice` benchmark.

#[path = "support/echo_room.rs"]
mod echo_room;

use echo_room::*;
use talkline_media::voice_processing::{VoiceProcessor, VoiceSettings};

fn echo_only_settings() -> VoiceSettings {
    VoiceSettings {
        gain_control: false,
        ..VoiceSettings::default()
    }
}

#[test]
fn the_far_end_s_voice_is_not_sent_back_and_the_near_end_s_is() {
    let with_near = Scene::call(120, Some(8), 12);
    let far_only = Scene {
        near: vec![0.0; with_near.len()],
        ..Scene::call(120, None, 12)
    };
    let sent_echo = far_only.process(&mut VoiceProcessor::new(echo_only_settings()));
    let sent = with_near.process(&mut VoiceProcessor::new(echo_only_settings()));

    // After two seconds of the far end talking.
    let settled = active_frames(&far_only.echo, 2 * RATE..8 * RATE);
    let erle = erle_db(&far_only, &sent_echo, &settled);
    let converged =
        converged_after(&far_only, &sent_echo, 0..8 * RATE, 20.0).map(|f| f as f64 / 100.0);
    // Double talk: the same processing with the near end speaking.
    let (double_talk_frames, near_kept) = double_talk(&with_near, &sent, &sent_echo);
    eprintln!(
        "120 ms echo path: ERLE {erle:.1} dB after 2 s, 20 dB from {converged:?} s; \
         double talk ({double_talk_frames} frames): near end {near_kept:+.1} dB"
    );
    assert!(erle >= 25.0, "ERLE {erle:.1} dB");
    assert!(
        converged.is_some_and(|s| s <= 3.0),
        "ERLE reached 20 dB to stay from {converged:?} s"
    );
    assert!(
        double_talk_frames >= 50,
        "only {double_talk_frames} frames of double talk"
    );
    assert!(
        near_kept >= -6.0,
        "near end {near_kept:+.1} dB in double talk"
    );
}

#[test]
fn original_sound_sends_the_echo_as_it_came() {
    let scene = Scene::call(120, None, 4);
    let sent = scene.process(&mut VoiceProcessor::new(VoiceSettings::original_sound()));
    let active = active_frames(&scene.echo, 0..4 * RATE);
    let erle = erle_db(&scene, &sent, &active);
    assert!(erle.abs() < 0.5, "ERLE {erle:.1} dB with nothing on");
}

#[test]
fn steady_noise_is_suppressed_and_speech_is_kept() {
    // A fan's or an air conditioner's: steady, its power low in the band.
    let scene = noisy_room(600.0);
    let mut processor = VoiceProcessor::new(VoiceSettings {
        noise_suppression: true,
        high_pass_filter: true,
        ..VoiceSettings::original_sound()
    });
    let sent = scene.process(&mut processor);
    let m = noise_measures(&scene, &sent);
    eprintln!(
        "noise suppression: {:.1} dB less noise in {} frames of pause, speech {:+.1} dB",
        m.reduction_db, m.pause_frames, m.speech_db
    );
    assert!(m.pause_frames >= 50 && m.speech_frames >= 100);
    assert!(m.reduction_db >= 10.0, "{:.1} dB", m.reduction_db);
    assert!(m.speech_db >= -3.0, "speech {:+.1} dB", m.speech_db);
}

#[test]
fn a_quiet_voice_is_brought_up() {
    let mut near = speech("en-gb+f3", NEAR_TEXT, 1_000.0);
    let once = near.clone();
    near.extend(&once);
    let scene = Scene {
        far: vec![0.0; near.len()],
        echo: vec![0.0; near.len()],
        noise: vec![0.0; near.len()],
        near,
    };
    let mut processor = VoiceProcessor::new(VoiceSettings {
        gain_control: true,
        ..VoiceSettings::original_sound()
    });
    let sent = scene.process(&mut processor);
    // The second time the sentence is said: the gain has adapted.
    let second = active_frames(&scene.near, once.len()..scene.len());
    let gain = db(power_over(&sent, &second) / power_over(&scene.near, &second));
    eprintln!("gain control: a voice peaking at -30 dBFS raised {gain:+.1} dB");
    assert!(gain >= 10.0, "{gain:+.1} dB");
}

#[test]
fn with_a_headset_the_near_end_is_not_held_down_for_long() {
    // The far end talks from the start and nothing of it reaches the
    // microphone. The canceller cannot know that at first and holds the
    // microphone down while the far end talks; its transparent mode must
    // notice within seconds. (With the default counter-based mode the
    // near end was 40 dB down for 6 s.)
    let mut far = speech("en-us", FAR_TEXT, 16_000.0);
    far.resize(10 * RATE, 0.0);
    let mut near = vec![0.0; far.len()];
    let voice = speech("en-gb+f3", NEAR_TEXT, 16_000.0);
    for (n, v) in near.iter_mut().skip(3 * RATE).zip(voice) {
        *n = v;
    }
    let scene = Scene {
        echo: vec![0.0; far.len()],
        noise: vec![0.0; far.len()],
        far,
        near,
    };
    let sent = scene.process(&mut VoiceProcessor::new(echo_only_settings()));
    let speaking = active_frames(&scene.near, 3 * RATE..10 * RATE);
    let kept = db(power_over(&sent, &speaking) / power_over(&scene.near, &speaking));
    eprintln!("headset: the near end from 3 s on {kept:+.1} dB");
    assert!(kept >= -3.0, "near end {kept:+.1} dB with no echo at all");
}
