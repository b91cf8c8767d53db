//! An echo path that changed without the app hearing of it.
//!
//! A device the app knows of restarts the canceller (`EchoReference::
//! path_changed`). A delay that moves under the same device (a Bluetooth
//! link renegotiating, a driver growing its buffer, a virtual device in
//! between) it does not hear of, and AEC3 follows such a move slowly: after
//! a jump of 100 ms the echo came back 30 dB down only 1.7 s later (5 dB in
//! the first second), and the delay it reports moves only once it has
//! re-adapted. A fresh canceller holds the echo 30 dB down from its first
//! frames. So this watch finds the delay itself, coarsely and cheaply: the
//! loudness of what the speaker played, 10 ms at a time, against the
//! loudness the microphone picked up, over the last 0.6 s, at every lag
//! up to half a second. Speech's loudness rises and falls with its
//! syllables, so the lag where they line up is the echo's delay. When it
//! moves by a jump's worth and holds there, the canceller starts over.
//!
//! Fixed buffers, a few thousand multiplications every 100 ms: it runs on
//! the voice processing thread beside the module.

/// Frames (10 ms) of loudness compared: enough for a few syllables, short
/// enough that a new delay soon fills most of it.
const WINDOW: usize = 60;
/// Lags tried, in frames: up to 500 ms, the module's own range.
const MAX_LAG: usize = 50;
/// The lag is looked for every this many capture frames.
const EVERY: u32 = 10;
/// A lag is found only where the loudness lines up this well (normalised
/// correlation): the near end's own voice, or silence, lines up with
/// nothing.
const CLEAR: f32 = 0.6;
/// A move needs the new lag to line up this well: while the near end
/// talks over the far end, some other lag lines up by chance now and then,
/// never this well...
const MOVED: f32 = 0.85;
/// ...and this much better than the settled one.
const MARGIN: f32 = 0.3;
/// Lags this close (frames) are the same delay.
const SAME: usize = 2;
/// A move this large (frames) from the settled lag is a new echo path...
pub const JUMP: usize = 5;
/// ...once found this many times in a row.
const CONFIRM: u32 = 2;
/// Times a lag must be found in a row to be the settled one.
const SETTLE: u32 = 3;

/// Watches the echo's delay, from the loudness of both sides.
#[derive(Debug, Clone)]
pub struct EchoPathWatch {
    /// What the speaker played, newest last (a ring).
    render: [f32; WINDOW + MAX_LAG],
    render_next: usize,
    /// What the microphone picked up.
    capture: [f32; WINDOW],
    capture_next: usize,
    /// Capture frames until the next look for the lag (the first once
    /// both windows hold real frames).
    until_look: u32,
    settled: Option<usize>,
    /// A lag found, and how many times in a row.
    candidate: Option<(usize, u32)>,
}

impl Default for EchoPathWatch {
    fn default() -> Self {
        Self {
            render: [0.0; WINDOW + MAX_LAG],
            render_next: 0,
            capture: [0.0; WINDOW],
            capture_next: 0,
            until_look: (WINDOW + MAX_LAG) as u32,
            settled: None,
            candidate: None,
        }
    }
}

/// A frame's loudness: its RMS amplitude in dB, floored where a room is
/// quiet so that silence is flat, not noise.
pub fn loudness(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let energy: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (energy / samples.len() as f64).sqrt();
    (20.0 * (rms.max(30.0) / 30.0).log10()) as f32
}

impl EchoPathWatch {
    /// The loudness of a frame the speaker played.
    pub fn played(&mut self, loudness: f32) {
        self.render[self.render_next] = loudness;
        self.render_next = (self.render_next + 1) % self.render.len();
    }

    /// The loudness of a frame from the microphone, before processing.
    /// Returns true when the echo's delay has moved: the caller restarts
    /// the canceller.
    pub fn captured(&mut self, loudness: f32) -> bool {
        self.capture[self.capture_next] = loudness;
        self.capture_next = (self.capture_next + 1) % WINDOW;
        self.until_look = self.until_look.saturating_sub(1);
        if self.until_look > 0 {
            return false;
        }
        self.until_look = EVERY;
        let found = self.best_lag();
        self.decide(found)
    }

    /// Given the lag found this time (if any), whether the path moved.
    fn decide(&mut self, found: Option<usize>) -> bool {
        let Some(lag) = found else {
            self.candidate = None;
            return false;
        };
        let times = match self.candidate {
            Some((c, n)) if c.abs_diff(lag) <= SAME => n + 1,
            _ => 1,
        };
        self.candidate = Some((lag, times));
        match self.settled {
            None => {
                if times >= SETTLE {
                    self.settled = Some(lag);
                }
                false
            }
            Some(settled) if settled.abs_diff(lag) >= JUMP => {
                if times < CONFIRM {
                    return false;
                }
                self.settled = Some(lag);
                self.candidate = None;
                true
            }
            // A drift smaller than a jump is followed, so that drift never
            // adds up to one.
            Some(_) => {
                if times >= SETTLE {
                    self.settled = Some(lag);
                }
                false
            }
        }
    }

    /// The lag (frames) at which the microphone's loudness follows the
    /// speaker's, if one stands out (and, once settled, stands out from
    /// the settled one).
    fn best_lag(&self) -> Option<usize> {
        let (cap_mean, cap_var) = mean_var((0..WINDOW).map(|i| self.cap(i)));
        if cap_var < 1.0 {
            return None;
        }
        let mut best: Option<(usize, f32)> = None;
        let mut at_settled = 0.0;
        for lag in 0..=MAX_LAG {
            let corr = self.correlation(lag, cap_mean, cap_var);
            if self.settled == Some(lag) {
                at_settled = corr;
            }
            if best.is_none_or(|(_, c)| corr > c) {
                best = Some((lag, corr));
            }
        }
        let (lag, corr) = best?;
        let clear = corr >= CLEAR;
        let moved_clear = match self.settled {
            Some(settled) if settled.abs_diff(lag) >= JUMP => {
                corr >= MOVED && corr - at_settled >= MARGIN
            }
            _ => true,
        };
        (clear && moved_clear).then_some(lag)
    }

    /// Capture frame `i` of the window, oldest first.
    fn cap(&self, i: usize) -> f32 {
        self.capture[(self.capture_next + i) % WINDOW]
    }

    /// The render frame that capture frame `i` hears at `lag`.
    fn ren(&self, i: usize, lag: usize) -> f32 {
        let n = self.render.len();
        self.render[(self.render_next + n - WINDOW - lag + i) % n]
    }

    /// Normalised correlation of the microphone's loudness with the
    /// speaker's `lag` frames earlier; 0 where the speaker was flat.
    fn correlation(&self, lag: usize, cap_mean: f32, cap_var: f32) -> f32 {
        let (ren_mean, ren_var) = mean_var((0..WINDOW).map(|i| self.ren(i, lag)));
        if ren_var < 1.0 {
            return 0.0;
        }
        let cov: f32 = (0..WINDOW)
            .map(|i| (self.cap(i) - cap_mean) * (self.ren(i, lag) - ren_mean))
            .sum::<f32>()
            / WINDOW as f32;
        cov / (cap_var * ren_var).sqrt()
    }
}

fn mean_var(values: impl Iterator<Item = f32> + Clone) -> (f32, f32) {
    let mean = values.clone().sum::<f32>() / WINDOW as f32;
    let var = values.map(|v| (v - mean) * (v - mean)).sum::<f32>() / WINDOW as f32;
    (mean, var)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Syllable-like loudness: bursts of random length and level, pauses
    /// between, from a fixed seed.
    fn speech(frames: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            s >> 8
        };
        let mut out = Vec::with_capacity(frames);
        while out.len() < frames {
            let level = 20.0 + (next() % 30) as f32;
            out.extend(std::iter::repeat_n(level, 8 + (next() % 20) as usize));
            out.extend(std::iter::repeat_n(0.0, 3 + (next() % 15) as usize));
        }
        out.truncate(frames);
        out
    }

    /// The far end's speech played, its echo `delay(frame)` frames later
    /// and 20 dB down, plus `near` (the near end's own voice); returns the
    /// frames at which the watch said the path moved.
    fn run(far: &[f32], near: &[f32], delay: impl Fn(usize) -> usize) -> Vec<usize> {
        let mut w = EchoPathWatch::default();
        let mut moves = Vec::new();
        for t in 0..far.len() {
            w.played(far[t]);
            let d = delay(t);
            let echo = if t >= d {
                (far[t - d] - 20.0).max(0.0)
            } else {
                0.0
            };
            if w.captured(echo.max(near[t])) {
                moves.push(t);
            }
        }
        moves
    }

    #[test]
    fn a_jump_of_100_ms_is_found_within_a_second_and_once() {
        let far = speech(2000, 7);
        let quiet = vec![0.0; far.len()];
        let moves = run(&far, &quiet, |t| if t < 1000 { 12 } else { 22 });
        assert_eq!(moves.len(), 1, "{moves:?}");
        let after = moves[0] - 1000;
        assert!(after <= 80, "found {after} frames after the jump");
    }

    #[test]
    fn a_steady_path_never_moves_at_any_delay() {
        for (delay, seed) in [(4, 1), (12, 2), (25, 3), (45, 4)] {
            let far = speech(3000, seed);
            let quiet = vec![0.0; far.len()];
            assert_eq!(run(&far, &quiet, |_| delay), Vec::<usize>::new(), "{delay}");
        }
    }

    #[test]
    fn a_delay_that_drifts_a_little_at_a_time_is_followed_not_restarted() {
        // 10 ms more every 3 s: 60 ms in all, more than a jump, but never
        // at once.
        let far = speech(2000, 5);
        let quiet = vec![0.0; far.len()];
        assert_eq!(run(&far, &quiet, |t| 10 + t / 300), Vec::<usize>::new());
    }

    #[test]
    fn the_near_end_talking_over_the_far_end_is_not_a_move() {
        let far = speech(3000, 11);
        // Double talk from 1000 on, louder than the echo.
        let near: Vec<f32> = speech(3000, 99)
            .into_iter()
            .enumerate()
            .map(|(t, v)| if t >= 1000 { v } else { 0.0 })
            .collect();
        assert_eq!(run(&far, &near, |_| 12), Vec::<usize>::new());
        // Nor the far end alone talking while the near end is silent, nor
        // the near end alone.
        let silent = vec![0.0; 3000];
        assert_eq!(run(&silent, &near, |_| 12), Vec::<usize>::new());
    }

    #[test]
    fn loudness_of_silence_and_of_a_full_scale_frame() {
        assert_eq!(loudness(&[0; 480]), 0.0);
        assert_eq!(loudness(&[]), 0.0);
        let full = loudness(&[i16::MAX; 480]);
        assert!((full - 60.7).abs() < 0.1, "{full}");
    }
}
