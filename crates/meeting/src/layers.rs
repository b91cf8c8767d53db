//! Which layer of a participant's simulcast video to receive.
//!
//! A publisher that simulcasts (a browser with janus.js's `simulcast`, and
//! TalkLine later) sends its video three times, at full, half and quarter
//! size; Janus relays to each subscriber the one it asks for, switching at
//! the next keyframe of that layer, and falls back to a lower one while
//! the asked one does not arrive. A gallery of small tiles needs the low
//! one, a speaker view the high one. A publisher that sends one layer is
//! relayed as it is, whatever is asked.

use std::fmt;
use std::str::FromStr;

use crate::error::MeetingError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VideoLayer {
    /// A quarter of the full size (Janus's substream 0).
    Low,
    /// Half size (substream 1).
    Medium,
    /// Full size (substream 2), what Janus relays unless told otherwise.
    #[default]
    High,
    /// None at all: the tile is hidden or off-screen. Janus stops relaying
    /// it to us (audio goes on) until another layer is asked.
    Paused,
}

impl VideoLayer {
    /// Janus VideoRoom's number for it; `None` when paused.
    pub fn substream(self) -> Option<u8> {
        match self {
            Self::Low => Some(0),
            Self::Medium => Some(1),
            Self::High => Some(2),
            Self::Paused => None,
        }
    }

    /// The layer Janus names by `substream`, if any.
    pub fn from_substream(substream: u64) -> Option<Self> {
        match substream {
            0 => Some(Self::Low),
            1 => Some(Self::Medium),
            2 => Some(Self::High),
            _ => None,
        }
    }
}

impl fmt::Display for VideoLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Paused => "paused",
        })
    }
}

/// "low", "medium", "high" or "paused", as the CLI and the window name them.
impl FromStr for VideoLayer {
    type Err = MeetingError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Ok(Self::Low),
            "medium" => Ok(Self::Medium),
            "high" => Ok(Self::High),
            "paused" => Ok(Self::Paused),
            _ => Err(MeetingError::UnknownVideoLayer(
                s.chars().take(32).collect(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_go_both_ways() {
        for layer in [VideoLayer::Low, VideoLayer::Medium, VideoLayer::High] {
            assert_eq!(layer.to_string().parse::<VideoLayer>().ok(), Some(layer));
            let substream = layer.substream().map(u64::from);
            assert_eq!(substream.and_then(VideoLayer::from_substream), Some(layer));
        }
        assert_eq!(
            "paused".parse::<VideoLayer>().ok(),
            Some(VideoLayer::Paused)
        );
        assert_eq!(VideoLayer::Paused.substream(), None);
        assert_eq!(" Low ".parse::<VideoLayer>().ok(), Some(VideoLayer::Low));
        assert_eq!(VideoLayer::default(), VideoLayer::High);
        assert_eq!(VideoLayer::from_substream(3), None);
        let err = "huge".parse::<VideoLayer>().expect_err("no such layer");
        assert!(err.to_string().contains("low, medium, high or paused"));
        let long = "x"
            .repeat(1000)
            .parse::<VideoLayer>()
            .expect_err("no such layer");
        assert!(long.to_string().len() < 80, "{long}");
    }
}
