//! The network-quality indicator, from what the call measured over the last
//! interval: frames that arrived broken, frames that did not arrive, and
//! whether the connection is being repaired.

/// Counters sampled at the start and end of an interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QualitySample {
    pub received_frames: u64,
    pub incomplete_frames: u64,
    /// Remote participants that publish video.
    pub video_senders: u64,
}

/// "good", "fair" or "poor", with a short reason for the tooltip.
pub fn assess(
    before: QualitySample,
    after: QualitySample,
    seconds: f64,
    reconnecting: bool,
) -> (&'static str, String) {
    if reconnecting {
        return ("poor", "reconnecting to the meeting".into());
    }
    let decoded = after.received_frames.saturating_sub(before.received_frames);
    let broken = after
        .incomplete_frames
        .saturating_sub(before.incomplete_frames);
    let total = decoded + broken;
    let loss = if total == 0 {
        0.0
    } else {
        broken as f64 / total as f64
    };
    let fps = if after.video_senders == 0 || seconds <= 0.0 {
        None
    } else {
        Some(decoded as f64 / seconds / after.video_senders as f64)
    };
    let detail = match fps {
        Some(fps) => format!(
            "{:.0}% of video frames damaged, {fps:.0} fps per participant",
            loss * 100.0
        ),
        None => format!("{:.0}% of video frames damaged", loss * 100.0),
    };
    let level = if loss > 0.10 || fps.is_some_and(|f| f < 8.0) {
        "poor"
    } else if loss > 0.02 || fps.is_some_and(|f| f < 20.0) {
        "fair"
    } else {
        "good"
    };
    (level, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(decoded: u64, incomplete: u64, senders: u64) -> QualitySample {
        QualitySample {
            received_frames: decoded,
            incomplete_frames: incomplete,
            video_senders: senders,
        }
    }

    #[test]
    fn levels_follow_loss_rate_and_reconnection() {
        assert_eq!(assess(s(0, 0, 2), s(120, 0, 2), 2.0, false).0, "good");
        assert_eq!(assess(s(0, 0, 2), s(120, 5, 2), 2.0, false).0, "fair");
        assert_eq!(assess(s(0, 0, 1), s(20, 10, 1), 2.0, false).0, "poor");
        assert_eq!(assess(s(0, 0, 1), s(24, 0, 1), 2.0, false).0, "fair");
        assert_eq!(assess(s(0, 0, 0), s(0, 0, 0), 2.0, false).0, "good");
        assert_eq!(assess(s(0, 0, 1), s(60, 0, 1), 2.0, true).0, "poor");
    }
}
