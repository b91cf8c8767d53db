//! The voice processing on a simulated echo path: a far end's speech played
//! into a room and picked up by the microphone with the near end's voice
//! and noise. Measured on what would be sent. The full sweep of delays,
//! with its figures, is the `voice` benchmark.

#[path = "support/echo_room.rs"]
mod echo_room;

use echo_room::*;
use talkline_media::voice_processing::{VoiceProcessor, VoiceSettings};

const FAR_TEXT: &str = "The quarterly figures are in, and they look better than we feared. \
    Sales in the north held steady through the winter, and the new stores opened on time. \
    We should still talk about the delivery delays, because customers noticed them. \
    Let us go through the numbers one region at a time, starting with the coast.";
const NEAR_TEXT: &str = "Sorry to interrupt, could you share the slide with the chart again?";

fn echo_only_settings() -> VoiceSettings {
    VoiceSettings {
        gain_control: false,
        ..VoiceSettings::default()
    }
}

/// The far end talks for `seconds`; the near end says one sentence from
/// `near_from` seconds on (or never); a quiet room's noise throughout.
fn scene(delay_ms: usize, near_from: Option<usize>, seconds: usize) -> Scene {
    let mut far = speech("en-us", FAR_TEXT, 16_000.0);
    far.resize(seconds * RATE, 0.0);
    let echo = Room::new(delay_ms, 0.5).echo(&far);
    let mut near = vec![0.0; far.len()];
    if let Some(from) = near_from {
        let voice = speech("en-gb+f3", NEAR_TEXT, 16_000.0);
        for (n, v) in near.iter_mut().skip(from * RATE).zip(voice) {
            *n = v;
        }
    }
    let mut hiss = Noise::new(3);
    let noise = (0..far.len()).map(|_| 30.0 * hiss.next()).collect();
    Scene {
        far,
        echo,
        near,
        noise,
    }
}

#[test]
fn the_far_end_s_voice_is_not_sent_back_and_the_near_end_s_is() {
    let with_near = scene(120, Some(8), 12);
    let far_only = Scene {
        near: vec![0.0; with_near.len()],
        ..scene(120, None, 12)
    };
    let sent_echo = far_only.process(&mut VoiceProcessor::new(echo_only_settings()));
    let sent = with_near.process(&mut VoiceProcessor::new(echo_only_settings()));

    // After two seconds of the far end talking.
    let settled = active_frames(&far_only.echo, 2 * RATE..8 * RATE);
    let erle = erle_db(&far_only, &sent_echo, &settled);
    let converged =
        converged_after(&far_only, &sent_echo, 0..8 * RATE, 20.0).map(|f| f as f64 / 100.0);
    // Double talk: the same processing with the near end speaking; what
    // the far-end-only run left there is the residual echo, and the rest
    // of what was sent is the near end's voice.
    let echo_active = active_frames(&with_near.echo, 0..with_near.len());
    let both: Vec<usize> = active_frames(&with_near.near, 8 * RATE..12 * RATE)
        .into_iter()
        .filter(|f| echo_active.contains(f))
        .collect();
    let near_sent = (power_over(&sent, &both) - power_over(&sent_echo, &both)).max(0.0);
    let near_kept = db(near_sent / power_over(&with_near.near, &both));
    eprintln!(
        "120 ms echo path: ERLE {erle:.1} dB after 2 s, 20 dB from {converged:?} s; \
         double talk ({} frames): near end {near_kept:+.1} dB",
        both.len()
    );
    assert!(erle >= 25.0, "ERLE {erle:.1} dB");
    assert!(
        converged.is_some_and(|s| s <= 3.0),
        "ERLE reached 20 dB to stay from {converged:?} s"
    );
    assert!(
        both.len() >= 50,
        "only {} frames of double talk",
        both.len()
    );
    assert!(
        near_kept >= -6.0,
        "near end {near_kept:+.1} dB in double talk"
    );
}

#[test]
fn original_sound_sends_the_echo_as_it_came() {
    let scene = scene(120, None, 4);
    let sent = scene.process(&mut VoiceProcessor::new(VoiceSettings::original_sound()));
    let active = active_frames(&scene.echo, 0..4 * RATE);
    let erle = erle_db(&scene, &sent, &active);
    assert!(erle.abs() < 0.5, "ERLE {erle:.1} dB with nothing on");
}

#[test]
fn steady_noise_is_suppressed_and_speech_is_kept() {
    let mut near = speech("en-gb+f3", NEAR_TEXT, 16_000.0);
    near.splice(0..0, std::iter::repeat_n(0.0, 2 * RATE));
    near.resize(near.len() + RATE, 0.0);
    // A fan's or an air conditioner's: steady, its power low in the band.
    let noise = Noise::new(11).fan(near.len(), 600.0);
    let scene = Scene {
        far: vec![0.0; near.len()],
        echo: vec![0.0; near.len()],
        near,
        noise,
    };
    let mut processor = VoiceProcessor::new(VoiceSettings {
        noise_suppression: true,
        high_pass_filter: true,
        ..VoiceSettings::original_sound()
    });
    let sent = scene.process(&mut processor);
    // Past the first second, which the suppressor takes to learn the noise.
    let pauses = pause_frames(&scene.near, RATE..scene.len(), 30);
    let speaking = active_frames(&scene.near, RATE..scene.len());
    let noise_reduction = db(power_over(&scene.noise, &pauses) / power_over(&sent, &pauses));
    let mic: Vec<f64> = (0..scene.len()).map(|i| f64::from(scene.mic(i))).collect();
    let speech_kept = db(power_over(&sent, &speaking) / power_over(&mic, &speaking));
    eprintln!(
        "noise suppression: {noise_reduction:.1} dB less noise in {} frames of pause, \
         speech {speech_kept:+.1} dB",
        pauses.len()
    );
    assert!(pauses.len() >= 50 && speaking.len() >= 100);
    assert!(noise_reduction >= 10.0, "{noise_reduction:.1} dB");
    assert!(speech_kept >= -3.0, "speech {speech_kept:+.1} dB");
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
