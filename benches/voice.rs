//! Voice processing benchmark: echo cancellation over a sweep of echo
//! delays and a delay that jumps mid-call, the near end's voice in double
//! talk, noise suppression with objective speech quality, and the CPU the
//! chain costs, with Chromium's audio processing fed the same microphone
//! signal beside ours.
//!
//! `cargo bench -p talkline-media --bench voice`. Speech comes from
//! `espeak-ng`, the room is simulated (`crates/media/tests/support/echo_room.rs`);
//! STOI and PESQ come from PyPI (`scripts/setup-speech-quality.sh`), and
//! Chromium is Debian's, headless, its microphone a WAV file.
//! `TALKLINE_BENCH_CHROMIUM=0` leaves Chromium out; `TALKLINE_BENCH_KEEP=1`
//! keeps the WAV files measured.

#[path = "voice/chromium.rs"]
mod chromium;
#[path = "../tests/e2e/support/chromium_flags.rs"]
mod chromium_flags;

#[path = "../crates/media/tests/support/echo_room.rs"]
mod echo_room;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use echo_room::*;
use talkline_media::frame::AudioFrame;
use talkline_media::voice_activity::VoiceActivity;
use talkline_media::voice_processing::{EchoReference, VoiceProcessor, VoiceSettings};
use talkline_media::wav::WavSink;

/// Echo cancellation as the call runs it, less the gain control (which
/// would change the levels ERLE is read from).
fn echo_settings() -> VoiceSettings {
    VoiceSettings {
        gain_control: false,
        ..VoiceSettings::default()
    }
}

fn noise_settings() -> VoiceSettings {
    VoiceSettings {
        noise_suppression: true,
        high_pass_filter: true,
        ..VoiceSettings::original_sound()
    }
}

fn seconds(frame: usize) -> f64 {
    frame as f64 * FRAME as f64 / RATE as f64
}

fn show(value: Option<f64>) -> String {
    value.map_or("never".into(), |s| format!("{s:.2}"))
}

/// The far end talks for 20 s through a room of `delay_ms`.
fn delay_sweep() {
    println!("\n### Echo cancellation over the echo path's delay (far end only, 20 s)\n");
    println!(
        "| delay (ms) | ERLE after 2 s (dB) | ERLE in 2-4 s (dB) | 30 dB reached to stay at (s) | restarts for a moved delay |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for delay in [40, 80, 120, 160, 200, 250] {
        let scene = Scene::call(delay, None, 20);
        let mut processor = VoiceProcessor::new(echo_settings());
        let sent = scene.process(&mut processor);
        let settled = active_frames(&scene.echo, 2 * RATE..scene.len());
        let early = active_frames(&scene.echo, 2 * RATE..4 * RATE);
        let converged = converged_after(&scene, &sent, 0..scene.len(), 30.0).map(seconds);
        println!(
            "| {delay} | {:.1} | {:.1} | {} | {} |",
            erle_db(&scene, &sent, &settled),
            erle_db(&scene, &sent, &early),
            show(converged),
            processor.echo_report().unannounced_path_changes
        );
    }
}

/// The delays before and after the moves, and where they happen: jumps of
/// 100 ms later (another device, a buffer grown), and moves of 16 ms
/// earlier, too small for the echo path's watch to see by the lag, which
/// AEC3 alone let through for seconds.
const JUMPS: [(usize, usize); 4] = [(80, 180), (120, 220), (40, 24), (100, 84)];
const JUMP_AT: usize = 10 * RATE;

/// The far end through a room whose delay moves at 10 s.
fn jump_scene(before: usize, after: usize) -> Scene {
    let mut scene = Scene::call(before, None, 20);
    scene.delay_jumps(after, JUMP_AT);
    scene
}

/// Seconds after the jump from `frame` on.
fn after_jump(frame: usize) -> f64 {
    seconds(frame) - seconds(JUMP_AT / FRAME)
}

/// ERLE in the second before the jump, in the second after, and when
/// 30 dB comes back to stay.
fn around_jump(scene: &Scene, sent: &[f64]) -> (f64, f64, Option<f64>) {
    let before = active_frames(&scene.echo, JUMP_AT - RATE..JUMP_AT);
    let after = active_frames(&scene.echo, JUMP_AT..JUMP_AT + RATE);
    let again = converged_after(scene, sent, JUMP_AT..scene.len(), 30.0).map(after_jump);
    (
        erle_db(scene, sent, &before),
        erle_db(scene, sent, &after),
        again,
    )
}

fn delay_jump() {
    println!("\n### A delay that moves at 10 s (far end only, 20 s)\n");
    println!(
        "| delay before → after (ms) | ERLE in the second before (dB) | ERLE in the second after (dB) | 30 dB reached again to stay after (s) | the canceller started over on its own after (s) | a known device change: ERLE in the second after (dB) | 30 dB after (s) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (before, after) in JUMPS {
        let scene = jump_scene(before, after);
        let (sent, restarted_at) =
            scene.process_watching_restarts(&mut VoiceProcessor::new(echo_settings()));
        let (erle_before, erle_after, again) = around_jump(&scene, &sent);
        // The app knows when the user (or the system's default) moved the
        // sound to another device: the playout says so, the canceller
        // starts over.
        let reference = EchoReference::default();
        let told = scene.process_with(&mut VoiceProcessor::new(echo_settings()), |f, p| {
            if f == JUMP_AT / FRAME {
                reference.path_changed();
            }
            p.take_playout(&reference);
        });
        let (_, told_after, told_again) = around_jump(&scene, &told);
        println!(
            "| {before} → {after} | {erle_before:.1} | {erle_after:.1} | {} | {} | {told_after:.1} | {} |",
            show(again),
            show(restarted_at.map(after_jump)),
            show(told_again)
        );
    }
}

/// The same jump through Chromium's canceller: its microphone (a WAV
/// file) carries the echo whose delay jumps, its page plays the far end.
fn delay_jump_beside_chromium(scratch: &Path) {
    println!("\n### The delay's moves through Chromium's canceller (far end only, 20 s)\n");
    println!(
        "| delay before → after (ms) | ERLE in the second before (dB) | ERLE in the second after (dB) | 30 dB reached again to stay after (s) |"
    );
    println!("|---|---:|---:|---:|");
    for (before, after) in JUMPS {
        let scene = jump_scene(before, after);
        let mic: Vec<f64> = (0..scene.len()).map(|i| f64::from(scene.mic(i))).collect();
        let far = chromium::Processing::EchoAndNoise {
            far: scene.far.clone(),
        };
        match chromium::process(scratch, &mic, &far) {
            Ok(out) => {
                let (erle_before, erle_after, again) = around_jump(&scene, &out.samples);
                println!(
                    "| {before} → {after} | {erle_before:.1} | {erle_after:.1} | {} |",
                    show(again)
                );
            }
            Err(e) => eprintln!("Chromium's echo cancellation not measured: {e}"),
        }
    }
}

fn double_talk_sweep() {
    println!("\n### Double talk: the near end speaks from 8 s while the far end talks\n");
    println!(
        "| delay (ms) | frames of double talk | near end's voice kept (dB) | restarts for a moved delay |"
    );
    println!("|---:|---:|---:|---:|");
    for delay in [40, 120, 250] {
        let with_near = Scene::call(delay, Some(8), 12);
        let far_only = Scene {
            near: vec![0.0; with_near.len()],
            ..Scene::call(delay, None, 12)
        };
        let sent_echo = far_only.process(&mut VoiceProcessor::new(echo_settings()));
        let mut processor = VoiceProcessor::new(echo_settings());
        let sent = with_near.process(&mut processor);
        let (frames, kept) = double_talk(&with_near, &sent, &sent_echo);
        let restarts = processor.echo_report().unannounced_path_changes;
        println!("| {delay} | {frames} | {kept:+.1} | {restarts} |");
    }
}

/// How many samples later than `voice` it comes out in `sent` (negative:
/// earlier): the lag within 20 ms that best lines up two seconds of the
/// voice.
fn lag(voice: &[f64], sent: &[f64]) -> isize {
    let reach = (RATE / 50) as isize;
    let from = active_frames(voice, 0..voice.len())
        .first()
        .map_or(0, |f| f * FRAME)
        .max(RATE / 50);
    let span = (2 * RATE).min(voice.len().saturating_sub(from + RATE / 50));
    let product = |lag: isize| -> f64 {
        (from..from + span)
            .map(|i| voice[i] * sent.get(i.wrapping_add_signed(lag)).copied().unwrap_or(0.0))
            .sum()
    };
    (-reach..reach)
        .max_by(|&a, &b| product(a).total_cmp(&product(b)))
        .unwrap_or(0)
}

/// `sent` moved `lag` samples earlier, kept as long as it was.
fn shifted(sent: &[f64], lag: isize) -> Vec<f64> {
    (0..sent.len())
        .map(|i| sent.get(i.wrapping_add_signed(lag)).copied().unwrap_or(0.0))
        .collect()
}

/// Our echo cancellation and Chromium's on the same microphone signal:
/// Chromium's page plays the far end as its fake microphone (the file)
/// starts, so its canceller has the far end for reference.
fn echo_beside_chromium(scratch: &Path) {
    println!("\n### Echo cancellation beside Chromium's (the near end speaks from 8 s)\n");
    println!(
        "| delay (ms) | processing | ERLE over 2-8 s (dB) | near end's voice kept in double talk (dB) |"
    );
    println!("|---:|---|---:|---:|");
    for delay in [120, 250] {
        let with_near = Scene::call(delay, Some(8), 12);
        let far_only = Scene {
            near: vec![0.0; with_near.len()],
            ..Scene::call(delay, None, 12)
        };
        let settled = active_frames(&far_only.echo, 2 * RATE..8 * RATE);
        let ours = |scene: &Scene| scene.process(&mut VoiceProcessor::new(echo_settings()));
        let chromium = |scene: &Scene| {
            let mic: Vec<f64> = (0..scene.len()).map(|i| f64::from(scene.mic(i))).collect();
            let far = chromium::Processing::EchoAndNoise {
                far: scene.far.clone(),
            };
            chromium::process(scratch, &mic, &far)
        };
        let (sent_echo, sent) = (ours(&far_only), ours(&with_near));
        println!(
            "| {delay} | TalkLine (AEC3, NS, high-pass) | {:.1} | {:+.1} |",
            erle_db(&far_only, &sent_echo, &settled),
            double_talk(&with_near, &sent, &sent_echo).1
        );
        match (chromium(&far_only), chromium(&with_near)) {
            (Ok(echo_only), Ok(both)) => {
                let earlier = echo_only.echo_earlier_ms.unwrap_or(0.0);
                println!(
                    "| {delay} (about {:.0} for Chromium) | Chromium (echoCancellation, noiseSuppression) | {:.1} | {:+.1} |",
                    delay as f64 - earlier,
                    erle_db(&far_only, &echo_only.samples, &settled),
                    double_talk(&with_near, &both.samples, &echo_only.samples).1
                );
            }
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("Chromium's echo cancellation not measured: {e}")
            }
        }
    }
}

fn write_wav(path: &Path, samples: &[f64]) {
    let pcm: Vec<i16> = samples
        .iter()
        .map(|&s| s.clamp(-32768.0, 32767.0) as i16)
        .collect();
    let mut wav = WavSink::create(path).expect("a WAV in the scratch folder");
    wav.write(&pcm).expect("write the WAV");
    wav.finish().expect("finish the WAV");
}

/// STOI and PESQ of each of `processed` against the clean voice, from
/// the Python packages; `None` where they cannot run here.
fn speech_quality(clean: &Path, processed: &[PathBuf]) -> Vec<Option<(f64, f64)>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = Command::new("bash")
        .arg(root.join("scripts/setup-speech-quality.sh"))
        .output();
    let Some(python) = python
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    else {
        eprintln!("speech quality: the Python environment could not be set up");
        return vec![None; processed.len()];
    };
    let out = Command::new(python)
        .arg(root.join("benches/voice/speech_quality.py"))
        .arg(clean)
        .args(processed)
        .output();
    let Some(out) = out.ok().filter(|o| o.status.success()) else {
        eprintln!("speech quality: the measure failed");
        return vec![None; processed.len()];
    };
    let text = String::from_utf8_lossy(&out.stdout);
    processed
        .iter()
        .map(|p| {
            let line = text
                .lines()
                .find(|l| l.starts_with(&*p.to_string_lossy()))?;
            let field = |name: &str| {
                line.split_whitespace()
                    .find_map(|w| w.strip_prefix(name))
                    .and_then(|v| v.parse().ok())
            };
            Some((field("stoi=")?, field("pesq_wb=")?))
        })
        .collect()
}

fn noise_suppression(scratch: &Path, with_chromium: bool) {
    println!("\n### Noise suppression: one sentence in a fan's steady noise\n");
    println!(
        "| noise (RMS) | processing | less noise in pauses (dB) | speech kept (dB) | STOI | PESQ (wide band) | delay added (ms) |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for amplitude in [600.0, 1500.0] {
        let scene = noisy_room(amplitude);
        let mic: Vec<f64> = (0..scene.len()).map(|i| f64::from(scene.mic(i))).collect();
        let ours = scene.process(&mut VoiceProcessor::new(noise_settings()));
        let clean = scratch.join(format!("clean-{amplitude}.wav"));
        write_wav(&clean, &scene.near);
        let mut rows: Vec<(&str, Vec<f64>)> = vec![("none (the microphone)", mic.clone())];
        rows.push(("TalkLine (sonora NS High + high-pass)", ours));
        if with_chromium {
            match chromium::process(scratch, &mic, &chromium::Processing::NoiseOnly) {
                Ok(theirs) => rows.push(("Chromium (noiseSuppression)", theirs.samples)),
                Err(e) => eprintln!("Chromium's noise suppression not measured: {e}"),
            }
        }
        // Measured on time with the voice: the module's band split delays
        // what it sends by a few milliseconds, which STOI would count as
        // lost intelligibility. Chromium's recording starts at an unknown
        // point of its file: lined up with it, its own delay cannot be told.
        let mut delays = vec![None; rows.len()];
        for ((what, sent), delay) in rows.iter_mut().zip(&mut delays).skip(1) {
            let lag = lag(&scene.near, sent);
            *sent = shifted(sent, lag);
            if what.starts_with("TalkLine") {
                *delay = Some(lag as f64 * 1000.0 / RATE as f64);
            }
        }
        let files: Vec<PathBuf> = rows
            .iter()
            .enumerate()
            .map(|(i, (_, sent))| {
                let path = scratch.join(format!("sent-{amplitude}-{i}.wav"));
                write_wav(&path, sent);
                path
            })
            .collect();
        let quality = speech_quality(&clean, &files);
        for (((what, sent), quality), delay) in rows.iter().zip(quality).zip(delays) {
            let m = noise_measures(&scene, sent);
            let (stoi, pesq) = quality.map_or(("—".into(), "—".into()), |(s, p)| {
                (format!("{s:.3}"), format!("{p:.2}"))
            });
            let delay = delay.map_or("—".into(), |ms| format!("{ms:.1}"));
            println!(
                "| {amplitude:.0} | {what} | {:.1} | {:+.1} | {stoi} | {pesq} | {delay} |",
                m.reduction_db, m.speech_db
            );
        }
    }
}

/// Time per 10 ms frame with every stage on, over a call with echo,
/// double talk and noise; then the voice activity detector on what the
/// chain sent.
fn cpu() {
    println!("\n### CPU of the whole chain (every stage on), one thread\n");
    let scene = Scene::call(120, Some(8), 12);
    let mut processor = VoiceProcessor::new(VoiceSettings::default());
    let mut activity = VoiceActivity::new();
    let (mut played, mut captured) = (AudioFrame::default(), AudioFrame::default());
    let mut times = Vec::with_capacity(scene.len() / FRAME);
    let mut detector_times = Vec::with_capacity(scene.len() / FRAME);
    let started = Instant::now();
    for index in 0..scene.len() / FRAME {
        let at = index * FRAME;
        for i in 0..FRAME {
            played.samples[i] = scene.far[at + i].clamp(-32768.0, 32767.0) as i16;
            captured.samples[i] = scene.mic(at + i);
        }
        let t = Instant::now();
        processor.playout(&played);
        processor.capture(&mut captured);
        times.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        std::hint::black_box(activity.analyze(&captured.samples));
        detector_times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let wall = started.elapsed().as_secs_f64();
    let audio = seconds(times.len());
    println!("| stage | frames | mean per 10 ms frame (µs) | p99 (µs) | share of one core |");
    println!("|---|---:|---:|---:|---:|");
    for (stage, times) in [
        ("echo, noise, gain, high-pass", &mut times),
        ("voice activity detector", &mut detector_times),
    ] {
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        let p99 = times[times.len() * 99 / 100];
        println!(
            "| {stage} | {} | {mean:.0} | {p99:.0} | {:.2}% |",
            times.len(),
            100.0 * mean / 10_000.0
        );
    }
    eprintln!(
        "({:.1} s of audio processed in {wall:.2} s of wall time)",
        audio
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let scratch = std::env::temp_dir().join(format!("talkline-voice-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("a scratch folder");
    let with_chromium = std::env::var("TALKLINE_BENCH_CHROMIUM").as_deref() != Ok("0");
    println!("## Voice processing");
    delay_sweep();
    delay_jump();
    double_talk_sweep();
    if with_chromium {
        echo_beside_chromium(&scratch);
        delay_jump_beside_chromium(&scratch);
    }
    noise_suppression(&scratch, with_chromium);
    cpu();
    if std::env::var_os("TALKLINE_BENCH_KEEP").is_some() {
        eprintln!("the signals are kept in {}", scratch.display());
    } else {
        let _ = std::fs::remove_dir_all(&scratch);
    }
}
