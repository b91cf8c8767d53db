//! Whose video a recording shows, as a meeting app's speaker view would: a
//! screen being shared first (the newest), then whoever speaks, held so
//! that a cough or a word in passing does not cut the picture away.

use std::time::{Duration, Instant};

/// Someone else must speak this long, while the one shown is silent, to
/// be shown instead.
const TAKE_OVER_AFTER: Duration = Duration::from_millis(1500);

/// One participant as the choice sees them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    pub feed: u64,
    pub speaking: bool,
    /// A screen being shared, not a camera.
    pub screen: bool,
    /// Sends video (a picture to show).
    pub has_video: bool,
}

/// The choice, kept between looks (`choose` every few hundred ms).
#[derive(Debug, Default)]
pub struct SpeakerChoice {
    shown: Option<u64>,
    /// Someone speaking while the one shown is not, and since when.
    challenger: Option<(u64, Instant)>,
    /// The screens seen, newest last: a share that starts is shown.
    screens: Vec<u64>,
}

impl SpeakerChoice {
    /// Whom to show now.
    pub fn choose(&mut self, now: Instant, people: &[Candidate]) -> Option<u64> {
        let present = |feed: u64| people.iter().any(|p| p.feed == feed && p.has_video);
        self.screens
            .retain(|&s| people.iter().any(|p| p.feed == s && p.screen));
        for p in people.iter().filter(|p| p.screen && p.has_video) {
            if !self.screens.contains(&p.feed) {
                self.screens.push(p.feed);
            }
        }
        if let Some(&screen) = self.screens.last() {
            self.challenger = None;
            self.shown = Some(screen);
            return self.shown;
        }
        let cameras = people.iter().filter(|p| p.has_video && !p.screen);
        let shown = self
            .shown
            .filter(|&s| present(s) && !self.screens.contains(&s));
        let Some(current) = shown else {
            // Nobody shown (the start, or they left): a speaker, else anyone.
            self.challenger = None;
            self.shown = cameras
                .clone()
                .find(|p| p.speaking)
                .or_else(|| cameras.clone().next())
                .map(|p| p.feed);
            return self.shown;
        };
        let current_speaks = people.iter().any(|p| p.feed == current && p.speaking);
        let speaker = cameras.clone().find(|p| p.speaking && p.feed != current);
        match (current_speaks, speaker) {
            (false, Some(next)) => match self.challenger {
                Some((feed, since)) if feed == next.feed => {
                    if now.duration_since(since) >= TAKE_OVER_AFTER {
                        self.challenger = None;
                        self.shown = Some(next.feed);
                    }
                }
                _ => self.challenger = Some((next.feed, now)),
            },
            _ => self.challenger = None,
        }
        self.shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camera(feed: u64, speaking: bool) -> Candidate {
        Candidate {
            feed,
            speaking,
            screen: false,
            has_video: true,
        }
    }

    /// Looks every 200 ms for `ms`, with `people` as they are.
    fn run(
        choice: &mut SpeakerChoice,
        start: Instant,
        from_ms: u64,
        ms: u64,
        people: &[Candidate],
    ) -> Vec<Option<u64>> {
        (from_ms..from_ms + ms)
            .step_by(200)
            .map(|t| choice.choose(start + Duration::from_millis(t), people))
            .collect()
    }

    #[test]
    fn the_speaker_is_shown_and_held_through_a_word_from_someone_else() {
        let start = Instant::now();
        let mut choice = SpeakerChoice::default();
        // Nobody speaks: someone with a picture, not nobody.
        assert_eq!(
            run(
                &mut choice,
                start,
                0,
                200,
                &[camera(1, false), camera(2, false)]
            ),
            [Some(1)]
        );
        // 2 speaks: shown once they have for 1.5 s with 1 silent.
        let seen = run(
            &mut choice,
            start,
            200,
            2000,
            &[camera(1, false), camera(2, true)],
        );
        let switched = seen.iter().position(|s| *s == Some(2)).expect("2 is shown");
        assert!(
            (7..=8).contains(&switched),
            "switched after {switched} looks"
        );
        // 1 says a word (one second) while 2 pauses: 2 stays.
        let seen = run(
            &mut choice,
            start,
            2200,
            1000,
            &[camera(1, true), camera(2, false)],
        );
        assert!(seen.iter().all(|s| *s == Some(2)));
        // Both speak: the one shown stays.
        let seen = run(
            &mut choice,
            start,
            3200,
            3000,
            &[camera(1, true), camera(2, true)],
        );
        assert!(seen.iter().all(|s| *s == Some(2)));
    }

    #[test]
    fn a_screen_share_comes_first_and_the_speaker_is_back_when_it_ends() {
        let start = Instant::now();
        let mut choice = SpeakerChoice::default();
        run(
            &mut choice,
            start,
            0,
            2000,
            &[camera(1, false), camera(2, true)],
        );
        let screen = Candidate {
            feed: 9,
            speaking: false,
            screen: true,
            has_video: true,
        };
        let seen = run(
            &mut choice,
            start,
            2000,
            400,
            &[camera(1, false), camera(2, true), screen],
        );
        assert_eq!(seen, [Some(9), Some(9)]);
        let seen = run(
            &mut choice,
            start,
            2400,
            200,
            &[camera(1, false), camera(2, true)],
        );
        assert_eq!(seen, [Some(2)]);
    }

    #[test]
    fn someone_who_leaves_or_turns_their_camera_off_is_not_shown() {
        let start = Instant::now();
        let mut choice = SpeakerChoice::default();
        run(
            &mut choice,
            start,
            0,
            200,
            &[camera(1, true), camera(2, false)],
        );
        let off = Candidate {
            has_video: false,
            ..camera(1, true)
        };
        assert_eq!(
            run(&mut choice, start, 200, 200, &[off, camera(2, false)]),
            [Some(2)]
        );
        assert_eq!(run(&mut choice, start, 400, 200, &[]), [None]);
    }
}
