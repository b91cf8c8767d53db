//! A laptop in a room, without a sound card: what the speaker plays
//! reaches the microphone late, coloured by the room and quieter, on top of
//! the near end's voice and the room's noise. Speech comes from Debian's
//! `espeak-ng`, made at test time.
//!
//! Every signal is kept apart as well as mixed, so what the voice
//! processing sent can be measured against each: how much of the echo is
//! left (ERLE), how much of the near end's voice is kept, how much noise.

// Shared by a test and a benchmark; each uses part of it.
#![allow(dead_code)]

use std::process::Command;

use talkline_media::frame::{AUDIO_FRAME_SAMPLES, AUDIO_RATE_HZ, AudioFrame};
use talkline_media::voice_processing::VoiceProcessor;
use talkline_media::wav::decode_wav;

pub const RATE: usize = AUDIO_RATE_HZ as usize;
pub const FRAME: usize = AUDIO_FRAME_SAMPLES;

/// What the far end says: 20 s of a meeting's talk.
pub const FAR_TEXT: &str = "The quarterly figures are in, and they look better than we feared. \
    Sales in the north held steady through the winter, and the new stores opened on time. \
    We should still talk about the delivery delays, because customers noticed them. \
    Let us go through the numbers one region at a time, starting with the coast.";
/// What the near end says, in another voice.
pub const NEAR_TEXT: &str = "Sorry to interrupt, could you share the slide with the chart again?";

/// Speech from `espeak-ng`, at 48 kHz, scaled so its loudest sample is
/// `peak`.
pub fn speech(voice: &str, text: &str, peak: f64) -> Vec<f64> {
    let out = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "165", "--stdout", text])
        .output()
        .expect("espeak-ng (Debian package espeak-ng): run scripts/setup-debian.sh");
    assert!(out.status.success(), "espeak-ng failed: {out:?}");
    let samples = decode_wav(&out.stdout).expect("espeak-ng's WAV");
    let loudest = samples
        .iter()
        .map(|&s| f64::from(s).abs())
        .fold(1.0, f64::max);
    samples
        .iter()
        .map(|&s| f64::from(s) * peak / loudest)
        .collect()
}

/// A fixed pseudo-random sequence in -1..1: the same room every run.
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next(&mut self) -> f64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }

    /// `len` samples of steady noise with most of its power under 1 kHz,
    /// as a fan or an air conditioner makes, `amplitude` its RMS.
    pub fn fan(&mut self, len: usize, amplitude: f64) -> Vec<f64> {
        let pole = (-2.0 * std::f64::consts::PI * 1000.0 / RATE as f64).exp();
        let mut y = 0.0;
        let mut noise: Vec<f64> = (0..len)
            .map(|_| {
                y = pole * y + (1.0 - pole) * self.next();
                y
            })
            .collect();
        let rms = power(&noise).sqrt().max(1e-9);
        for n in &mut noise {
            *n *= amplitude / rms;
        }
        noise
    }
}

/// The path from the speaker to the microphone: a delay, then the direct
/// sound and a decaying tail of reflections, times a gain.
pub struct Room {
    /// (offset in samples after the delay, gain)
    taps: Vec<(usize, f64)>,
    delay: usize,
}

impl Room {
    /// `delay_ms` to the direct sound, `gain` of it (0.5: the speaker a
    /// hand's width from the microphone, as on a laptop), reflections over
    /// 60 ms decaying to a twentieth.
    pub fn new(delay_ms: usize, gain: f64) -> Self {
        let mut noise = Noise::new(7);
        let mut taps = vec![(0, gain)];
        let tail = RATE * 60 / 1000;
        let mut at = 20 + (noise.next().abs() * 40.0) as usize;
        while at < tail {
            let decay = (-3.0 * at as f64 / tail as f64).exp();
            taps.push((at, gain * 0.4 * decay * noise.next()));
            at += 20 + (noise.next().abs() * 60.0) as usize;
        }
        Self {
            taps,
            delay: RATE * delay_ms / 1000,
        }
    }

    /// The echo of `played` at the microphone, as long as `played`.
    pub fn echo(&self, played: &[f64]) -> Vec<f64> {
        let mut echo = vec![0.0; played.len()];
        for &(offset, gain) in &self.taps {
            let shift = self.delay + offset;
            for (i, e) in echo.iter_mut().enumerate().skip(shift) {
                *e += gain * played[i - shift];
            }
        }
        echo
    }
}

/// One call through the room: what is played, and what the microphone
/// hears of each source.
pub struct Scene {
    pub far: Vec<f64>,
    pub echo: Vec<f64>,
    pub near: Vec<f64>,
    pub noise: Vec<f64>,
}

impl Scene {
    /// The far end talks for `seconds` through a room with `delay_ms`; the
    /// near end says one sentence from `near_from` seconds on (or never);
    /// a quiet room's hiss throughout.
    pub fn call(delay_ms: usize, near_from: Option<usize>, seconds: usize) -> Self {
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
        Self {
            far,
            echo,
            near,
            noise,
        }
    }

    /// From sample `at` on, the echo comes through a room of `after_ms`
    /// instead (a device's buffer grew, another device took over).
    pub fn delay_jumps(&mut self, after_ms: usize, at: usize) {
        let later = Room::new(after_ms, 0.5).echo(&self.far);
        self.echo[at..].copy_from_slice(&later[at..]);
    }

    /// What is sent, and the frame before which the canceller had started
    /// over on its own (`EchoPathWatch`), if it did.
    pub fn process_watching_restarts(
        &self,
        processor: &mut VoiceProcessor,
    ) -> (Vec<f64>, Option<usize>) {
        let mut restarted_at = None;
        let sent = self.process_with(processor, |frame, p| {
            if restarted_at.is_none() && p.echo_report().unannounced_path_changes > 0 {
                restarted_at = Some(frame);
            }
        });
        (sent, restarted_at)
    }

    pub fn len(&self) -> usize {
        self.far.len()
    }

    /// The microphone: all three, clipped as a 16-bit converter would.
    pub fn mic(&self, i: usize) -> i16 {
        (self.echo[i] + self.near[i] + self.noise[i]).clamp(-32768.0, 32767.0) as i16
    }

    /// Runs the scene through `processor` frame by frame, as the call
    /// does: the far end's frame is played, then the microphone's is
    /// captured. Returns what would be sent.
    pub fn process(&self, processor: &mut VoiceProcessor) -> Vec<f64> {
        self.process_with(processor, |_, _| {})
    }

    /// As `process`, calling `each(frame_index, processor)` first.
    pub fn process_with(
        &self,
        processor: &mut VoiceProcessor,
        mut each: impl FnMut(usize, &mut VoiceProcessor),
    ) -> Vec<f64> {
        let mut sent = Vec::with_capacity(self.len());
        let (mut played, mut captured) = (AudioFrame::default(), AudioFrame::default());
        for index in 0..self.len() / FRAME {
            each(index, processor);
            let at = index * FRAME;
            for i in 0..FRAME {
                played.samples[i] = self.far[at + i].clamp(-32768.0, 32767.0) as i16;
                captured.samples[i] = self.mic(at + i);
            }
            processor.playout(&played);
            processor.capture(&mut captured);
            sent.extend(captured.samples.iter().map(|&s| f64::from(s)));
        }
        sent
    }
}

/// Samples in `range` where `signal` is active: its 10 ms frames whose
/// power is within 30 dB of its loudest frame.
pub fn active_frames(signal: &[f64], range: std::ops::Range<usize>) -> Vec<usize> {
    let frames: Vec<usize> = (range.start / FRAME..range.end / FRAME).collect();
    let power = |f: usize| power(&signal[f * FRAME..(f + 1) * FRAME]);
    let loudest = frames.iter().map(|&f| power(f)).fold(0.0, f64::max);
    frames
        .into_iter()
        .filter(|&f| power(f) > loudest / 1000.0)
        .collect()
}

/// Frames in `range` at least `margin` frames away from any frame where
/// `signal` is active: the pauses between sentences, not between words.
pub fn pause_frames(signal: &[f64], range: std::ops::Range<usize>, margin: usize) -> Vec<usize> {
    let active = active_frames(signal, 0..signal.len());
    (range.start / FRAME..range.end / FRAME)
        .filter(|&f| active.iter().all(|&a| a.abs_diff(f) > margin))
        .collect()
}

pub fn power(samples: &[f64]) -> f64 {
    samples.iter().map(|s| s * s).sum::<f64>() / samples.len().max(1) as f64
}

/// Mean power over some 10 ms frames of `signal`.
pub fn power_over(signal: &[f64], frames: &[usize]) -> f64 {
    frames
        .iter()
        .map(|&f| power(&signal[f * FRAME..(f + 1) * FRAME]))
        .sum::<f64>()
        / frames.len().max(1) as f64
}

pub fn db(ratio: f64) -> f64 {
    10.0 * ratio.max(1e-12).log10()
}

/// Echo return loss enhancement over `frames`: the echo at the
/// microphone against what was sent, with no near-end voice there.
pub fn erle_db(scene: &Scene, sent: &[f64], frames: &[usize]) -> f64 {
    db(power_over(&scene.echo, frames) / power_over(sent, frames).max(1e-3))
}

/// From which frame on the ERLE of every 500 ms (of far-end activity)
/// stays at `target` dB or more; `None` if it never does.
pub fn converged_after(
    scene: &Scene,
    sent: &[f64],
    range: std::ops::Range<usize>,
    target: f64,
) -> Option<usize> {
    let active = active_frames(&scene.echo, range);
    let windows: Vec<(usize, f64)> = active
        .chunks(50)
        .filter(|c| c.len() >= 25)
        .map(|c| (c[0], erle_db(scene, sent, c)))
        .collect();
    let last_bad = windows.iter().rposition(|&(_, erle)| erle < target);
    match last_bad {
        None => windows.first().map(|&(f, _)| f),
        Some(i) => windows.get(i + 1).map(|&(f, _)| f),
    }
}

/// The near end's voice in double talk: the frames where both talk, and
/// how loud the near end's voice came out there, dB against the
/// microphone's. `sent` is the call with the near end, `sent_echo` the same
/// call without it (what is left there is residual echo).
pub fn double_talk(with_near: &Scene, sent: &[f64], sent_echo: &[f64]) -> (usize, f64) {
    let echo_active = active_frames(&with_near.echo, 0..with_near.len());
    let both: Vec<usize> = active_frames(&with_near.near, 0..with_near.len())
        .into_iter()
        .filter(|f| echo_active.contains(f))
        .collect();
    let near_sent = (power_over(sent, &both) - power_over(sent_echo, &both)).max(0.0);
    (
        both.len(),
        db(near_sent / power_over(&with_near.near, &both)),
    )
}

/// The near end's sentence in a fan's steady noise of RMS `amplitude`:
/// two seconds of noise first, one after.
pub fn noisy_room(amplitude: f64) -> Scene {
    let mut near = speech("en-gb+f3", NEAR_TEXT, 16_000.0);
    near.splice(0..0, std::iter::repeat_n(0.0, 2 * RATE));
    near.resize(near.len() + RATE, 0.0);
    let noise = Noise::new(11).fan(near.len(), amplitude);
    Scene {
        far: vec![0.0; near.len()],
        echo: vec![0.0; near.len()],
        near,
        noise,
    }
}

/// What noise suppression did, past the first second (which it takes to
/// learn the noise).
pub struct NoiseMeasures {
    pub pause_frames: usize,
    pub speech_frames: usize,
    /// How much less noise in the pauses between sentences, dB.
    pub reduction_db: f64,
    /// The voice sent against the microphone's, where it speaks, dB.
    pub speech_db: f64,
}

pub fn noise_measures(scene: &Scene, sent: &[f64]) -> NoiseMeasures {
    let pauses = pause_frames(&scene.near, RATE..scene.len(), 30);
    let speaking = active_frames(&scene.near, RATE..scene.len());
    let mic: Vec<f64> = (0..scene.len()).map(|i| f64::from(scene.mic(i))).collect();
    NoiseMeasures {
        pause_frames: pauses.len(),
        speech_frames: speaking.len(),
        reduction_db: db(power_over(&scene.noise, &pauses) / power_over(sent, &pauses)),
        speech_db: db(power_over(sent, &speaking) / power_over(&mic, &speaking)),
    }
}
