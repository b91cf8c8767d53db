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
//! A delay that moves by less than a frame or two it cannot tell from the
//! same delay, and AEC3 copes worse with those than with jumps: after the
//! echo came 16 ms earlier than before, its filter added to the echo
//! instead of taking it out, and the far end's voice went back to them at
//! full level for two seconds (for good when the delay fell to 0). So the
//! watch also listens to what is sent: when its loudness follows the
//! speaker's at the echo's lag, and is about as loud as what the
//! microphone heard, the canceller is letting the echo through, and it
//! starts over. The near end's own voice follows nothing the speaker
//! played, and an echo taken out leaves a silence that follows nothing.
//!
//! Fixed buffers, a few thousand multiplications every 100 ms for the lag
//! and a few hundred every 50 ms for a leak: it runs on the voice
//! processing thread beside the module.

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
/// What is sent follows the speaker this well (at the settled lag) when
/// the echo gets through...
const LEAKING: f32 = 0.6;
/// ...and is within this many dB of the microphone, on average over the
/// window's loud frames (a working canceller takes 20 dB and more).
const LEAK_SUPPRESSION_DB: f32 = 10.0;
/// A microphone frame this loud (dB over the floor) counts for that.
const LOUD: f32 = 10.0;
/// Looks in a row that must find the leak: one can be chance.
const LEAK_CONFIRM: u32 = 2;
/// After a restart for a leak, frames until the next look: the window
/// first fills with what the fresh canceller sent. Doubled at each restart
/// that did not end the leak (an echo no canceller takes out, one that
/// the gain control brings back up), up to `MAX_LEAK_WAIT` (10 s), so the
/// canceller is not kept from adapting for good...
const LEAK_WAIT: u32 = WINDOW as u32;
const MAX_LEAK_WAIT: u32 = 1000;
/// ...and back to `LEAK_WAIT` once looks over this long (5 s) found none.
const LEAK_FORGIVEN: u32 = 500;
/// A leak is looked for every this many capture frames: the sooner it is
/// found, the less of the far end's voice goes back to them. (A shorter
/// window than the lag's found it sooner, but took the near end talking
/// over the far end for a leak in one double talk of twelve.)
const LEAK_EVERY: u32 = 5;

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
    /// The loudness of what was sent, frame for frame with `capture`.
    sent: [f32; WINDOW],
    /// Looks in a row that found the echo getting through.
    leaks: u32,
    /// Capture frames until what was sent is looked at again (after a
    /// restart, longer: the window still holds the leak that caused it).
    until_leak_check: u32,
    /// The wait after the next restart for a leak.
    leak_wait: u32,
    /// Frames the looks since the last leak covered, finding none.
    clean: u32,
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
            sent: [0.0; WINDOW],
            leaks: 0,
            until_leak_check: 0,
            leak_wait: LEAK_WAIT,
            clean: 0,
        }
    }
}

/// Why the canceller must start over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EchoPathChange {
    /// The echo's delay jumped.
    Moved,
    /// The echo gets through the canceller (a delay that moved a little).
    Leaking,
}

/// A frame's loudness from its `audio_level`: dB, floored where a room is
/// quiet (an RMS of 30 of 32768) so that silence is flat, not noise.
pub fn loudness(level: f32) -> f32 {
    const FLOOR: f32 = 30.0 / 32768.0;
    20.0 * (level.max(FLOOR) / FLOOR).log10()
}

impl EchoPathWatch {
    /// The loudness of a frame the speaker played.
    pub fn played(&mut self, loudness: f32) {
        self.render[self.render_next] = loudness;
        self.render_next = (self.render_next + 1) % self.render.len();
    }

    /// The loudness of a frame from the microphone before processing
    /// (`heard`) and after (`sent`). Returns a change when the canceller
    /// must start over.
    pub fn captured(&mut self, heard: f32, sent: f32) -> Option<EchoPathChange> {
        self.capture[self.capture_next] = heard;
        self.sent[self.capture_next] = sent;
        self.capture_next = (self.capture_next + 1) % WINDOW;
        self.until_look = self.until_look.saturating_sub(1);
        self.until_leak_check = self.until_leak_check.saturating_sub(1);
        if self.until_look == 0 {
            self.until_look = EVERY;
            let found = self.best_lag();
            if self.decide(found) {
                self.leaks = 0;
                self.until_leak_check = LEAK_WAIT;
                return Some(EchoPathChange::Moved);
            }
        }
        if self.until_leak_check > 0 {
            return None;
        }
        self.until_leak_check = LEAK_EVERY;
        if !self.leaking() {
            self.leaks = 0;
            self.clean = self.clean.saturating_add(LEAK_EVERY);
            if self.clean >= LEAK_FORGIVEN {
                self.leak_wait = LEAK_WAIT;
            }
            return None;
        }
        self.clean = 0;
        self.leaks += 1;
        if self.leaks < LEAK_CONFIRM {
            return None;
        }
        self.leaks = 0;
        self.until_leak_check = self.leak_wait;
        self.leak_wait = (self.leak_wait * 2).min(MAX_LEAK_WAIT);
        Some(EchoPathChange::Leaking)
    }

    /// Whether what is sent is the echo, let through: the microphone
    /// hears the echo, what is sent follows the speaker at the settled lag
    /// too, and the microphone's loud frames lost little on the way.
    fn leaking(&self) -> bool {
        let Some(settled) = self.settled else {
            return false;
        };
        let sent = |i: usize| self.sent[(self.capture_next + i) % WINDOW];
        let (mut taken, mut loud) = (0.0, 0);
        for i in 0..WINDOW {
            if self.cap(i) >= LOUD {
                taken += self.cap(i) - sent(i);
                loud += 1;
            }
        }
        if loud < WINDOW / 4 || taken / loud as f32 > LEAK_SUPPRESSION_DB {
            return false;
        }
        // The microphone hears the echo, clearly: a near end alone (a
        // headset) lines up with the speaker by chance now and then, and is
        // sent as heard.
        let lags = || settled.saturating_sub(SAME)..=(settled + SAME).min(MAX_LAG);
        lags().any(|lag| self.correlation(|i| self.cap(i), lag) >= MOVED)
            && lags().any(|lag| self.correlation(sent, lag) >= LEAKING)
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
        if mean_var((0..WINDOW).map(|i| self.cap(i))).1 < 1.0 {
            return None;
        }
        let mut best: Option<(usize, f32)> = None;
        let mut at_settled = 0.0;
        for lag in 0..=MAX_LAG {
            let corr = self.correlation(|i| self.cap(i), lag);
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

    /// Normalised correlation of a loudness of the window (`frame(i)`,
    /// oldest first) with the speaker's `lag` frames earlier; 0 where
    /// either was flat.
    fn correlation(&self, frame: impl Fn(usize) -> f32, lag: usize) -> f32 {
        let (mean, var) = mean_var((0..WINDOW).map(&frame));
        let (ren_mean, ren_var) = mean_var((0..WINDOW).map(|i| self.ren(i, lag)));
        if var < 1.0 || ren_var < 1.0 {
            return 0.0;
        }
        let cov: f32 = (0..WINDOW)
            .map(|i| (frame(i) - mean) * (self.ren(i, lag) - ren_mean))
            .sum::<f32>()
            / WINDOW as f32;
        cov / (var * ren_var).sqrt()
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
            let heard = echo.max(near[t]);
            // A canceller that works: the near end's voice only is sent.
            if w.captured(heard, near[t]).is_some() {
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

    /// The far end's speech played, its echo 120 ms later and 20 dB down;
    /// the canceller works (nothing is sent) except in frames where
    /// `leaks(t)`, where it sends the echo `taken` dB down (restarts or
    /// not). Returns the frames at which the watch asked for a restart.
    fn leaking_when(
        leaks: impl Fn(usize) -> bool,
        taken: f32,
        frames: usize,
    ) -> Vec<(usize, EchoPathChange)> {
        let far = speech(frames, 21);
        let mut w = EchoPathWatch::default();
        let mut changes = Vec::new();
        for t in 0..far.len() {
            w.played(far[t]);
            let echo = if t >= 12 {
                (far[t - 12] - 20.0).max(0.0)
            } else {
                0.0
            };
            let sent = if leaks(t) {
                (echo - taken).max(0.0)
            } else {
                0.0
            };
            if let Some(change) = w.captured(echo, sent) {
                changes.push((t, change));
            }
        }
        changes
    }

    fn leak_from(from: usize, taken: f32, frames: usize) -> Vec<(usize, EchoPathChange)> {
        leaking_when(|t| t >= from, taken, frames)
    }

    #[test]
    fn an_echo_let_through_is_found_within_half_a_second() {
        for taken in [0.0, 8.0] {
            let changes = leak_from(1000, taken, 1100);
            let (at, change) = *changes.first().expect("no leak found");
            assert_eq!(change, EchoPathChange::Leaking);
            assert!(
                (1000..1050).contains(&at),
                "{taken} dB taken: found at frame {at}"
            );
        }
    }

    #[test]
    fn an_echo_that_stays_is_restarted_for_less_and_less_often() {
        // 40 s of an echo no restart takes out: the waits between restarts
        // double up to 10 s, so the canceller gets time to adapt.
        let changes = leak_from(1000, 0.0, 5000);
        let gaps: Vec<usize> = changes.windows(2).map(|w| w[1].0 - w[0].0).collect();
        assert!(gaps.windows(2).all(|g| g[1] >= g[0]), "{gaps:?}");
        assert!(
            gaps.iter().all(|&g| g <= MAX_LEAK_WAIT as usize + 20),
            "{gaps:?}"
        );
        assert!(
            changes.len() <= 8,
            "{} restarts: {changes:?}",
            changes.len()
        );
        assert!(gaps.last().is_some_and(|&g| g >= 900), "{gaps:?}");
    }

    #[test]
    fn after_seconds_without_a_leak_restarts_wait_as_little_as_at_first() {
        // Leaks from 10 s to 20 s (restarts backing off to 4.8 s, then
        // 9.6), none for 30 s, then again from 50 s: found as fast as the
        // first, and restarted again after the first wait (0.6 s and the
        // looks), not the 9.6 s the last leak had come to.
        let changes = leaking_when(|t| (1000..2000).contains(&t) || t >= 5000, 0.0, 5300);
        let first: Vec<usize> = changes
            .iter()
            .map(|&(t, _)| t)
            .filter(|&t| t < 1200)
            .collect();
        let again: Vec<usize> = changes
            .iter()
            .map(|&(t, _)| t)
            .filter(|&t| t >= 5000)
            .collect();
        assert!(first.len() >= 2 && again.len() >= 2, "{changes:?}");
        assert!(again[0] < 5050, "{changes:?}");
        assert!(again[1] - again[0] < 300, "{changes:?}");
    }

    #[test]
    fn an_echo_taken_12_db_down_is_no_leak() {
        // A canceller still converging, not one that lets the echo through.
        assert_eq!(leak_from(1000, 12.0, 2000), Vec::new());
    }

    #[test]
    fn loudness_of_silence_and_of_a_full_scale_frame() {
        use crate::analysis::audio_level;
        assert_eq!(loudness(audio_level(&[0; 480])), 0.0);
        assert_eq!(loudness(audio_level(&[])), 0.0);
        let full = loudness(audio_level(&[i16::MAX; 480]));
        assert!((full - 60.7).abs() < 0.1, "{full}");
    }
}
