//! The network-quality indicator, from what the call measured over the last
//! interval: frames that arrived broken or not at all, what our own path
//! carries and loses, the round trip, and whether the connection is being
//! repaired. When the network is why a picture is poor, it says so in
//! words a user can act on (move closer to the Wi-Fi, stop a download).

use talkline_privacy::Language;

/// Counters sampled at the start and end of an interval, and the path as
/// it stands at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct QualitySample {
    pub received_frames: u64,
    pub incomplete_frames: u64,
    /// Remote participants that publish video.
    pub video_senders: u64,
    /// Our path to the server; `None` until its first feedback.
    pub uplink: Option<Uplink>,
    /// The longest round trip to the server among the feeds, ms.
    pub rtt_ms: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Uplink {
    /// Share of what we send that the server reports lost.
    pub loss: f64,
    pub estimate_kbps: u64,
    /// What video is sent at, and the most the settings allow.
    pub video_kbps: u32,
    pub video_max_kbps: u32,
    pub video_fps: u32,
    /// The height of the pictures sent (smaller on a squeezed path); 0
    /// before the first.
    pub video_height: u32,
}

/// Beyond these the path is the reason, and the user is told.
const LOSSY_UPLINK: f64 = 0.05;
const BAD_UPLINK: f64 = 0.15;
const SLOW_RTT_MS: u32 = 400;
const SQUEEZED_FPS: u32 = 20;

/// What the indicator says, in the user's language.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// "good", "fair" or "poor".
    pub level: &'static str,
    /// A short reason, for the indicator's tooltip.
    pub detail: String,
    /// When the user's own network is why: what it does, said aloud.
    pub network_reason: Option<String>,
}

pub fn assess(
    before: QualitySample,
    after: QualitySample,
    seconds: f64,
    reconnecting: bool,
    language: Language,
) -> Verdict {
    let say = |english: String, chinese: String| match language {
        Language::English => english,
        Language::SimplifiedChinese => chinese,
    };
    if reconnecting {
        return Verdict {
            level: "poor",
            detail: language
                .pick("reconnecting to the meeting", "正在重新连接会议")
                .into(),
            network_reason: None,
        };
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
    let damaged = loss * 100.0;
    let received = match fps {
        Some(fps) => say(
            format!("{damaged:.0}% of video frames damaged, {fps:.0} fps per participant"),
            format!("{damaged:.0}% 的视频帧受损，每位参会者 {fps:.0} 帧/秒"),
        ),
        None => say(
            format!("{damaged:.0}% of video frames damaged"),
            format!("{damaged:.0}% 的视频帧受损"),
        ),
    };
    let mut level = if loss > 0.10 || fps.is_some_and(|f| f < 8.0) {
        2
    } else if loss > 0.02 || fps.is_some_and(|f| f < 20.0) {
        1
    } else {
        0
    };
    // What our own network does to what we send: the others see it.
    let mut reasons = Vec::new();
    if let Some(up) = after.uplink {
        if up.loss > LOSSY_UPLINK {
            let lost = up.loss * 100.0;
            reasons.push(say(
                format!("your network loses {lost:.0}% of what you send"),
                format!("您的网络丢失了您发送内容的 {lost:.0}%"),
            ));
            level = level.max(if up.loss > BAD_UPLINK { 2 } else { 1 });
        }
        let squeezed = up.video_max_kbps > 0 && up.video_kbps * 2 < up.video_max_kbps;
        if squeezed || (up.video_fps > 0 && up.video_fps < SQUEEZED_FPS) {
            let size = match up.video_height {
                0 => String::new(),
                h => format!("{h}p{}", language.pick(", ", "，")),
            };
            let (carried, sent, fps) = (up.estimate_kbps, up.video_kbps, up.video_fps);
            reasons.push(say(
                format!("your network carries about {carried} kbit/s, so your video goes out at {size}{sent} kbit/s, {fps} fps"),
                format!("您的网络大约只能承载 {carried} kbit/s，因此您的视频以 {size}{sent} kbit/s、{fps} 帧/秒发送"),
            ));
            level = level.max(if up.video_fps < SQUEEZED_FPS / 2 {
                2
            } else {
                1
            });
        }
    }
    if let Some(rtt) = after.rtt_ms.filter(|&r| r > SLOW_RTT_MS) {
        reasons.push(say(
            format!("the server is {rtt} ms away and back"),
            format!("到服务器的往返时间为 {rtt} 毫秒"),
        ));
        level = level.max(1);
    }
    let network_reason = (!reasons.is_empty()).then(|| {
        say(
            format!("Your network is the reason: {}", reasons.join("; ")),
            format!("原因在于您的网络：{}", reasons.join("；")),
        )
    });
    let detail = match &network_reason {
        None => received,
        Some(reason) => say(
            format!("{reason}. {received}"),
            format!("{reason}。{received}"),
        ),
    };
    Verdict {
        level: ["good", "fair", "poor"][level],
        detail,
        network_reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assess(
        before: QualitySample,
        after: QualitySample,
        seconds: f64,
        reconnecting: bool,
    ) -> (&'static str, String) {
        let verdict = super::assess(before, after, seconds, reconnecting, Language::English);
        (verdict.level, verdict.detail)
    }

    #[test]
    fn the_verdict_is_said_in_chinese_too() {
        let lossy = QualitySample {
            received_frames: 60,
            video_senders: 1,
            uplink: Some(Uplink {
                loss: 0.08,
                estimate_kbps: 900,
                video_kbps: 700,
                video_max_kbps: 800,
                video_fps: 30,
                video_height: 360,
            }),
            ..QualitySample::default()
        };
        let zero = QualitySample::default();
        let verdict = super::assess(zero, lossy, 2.0, false, Language::SimplifiedChinese);
        assert_eq!(verdict.level, "fair");
        assert_eq!(
            verdict.network_reason.as_deref(),
            Some("原因在于您的网络：您的网络丢失了您发送内容的 8%")
        );
        assert!(
            verdict
                .detail
                .ends_with("0% 的视频帧受损，每位参会者 30 帧/秒"),
            "{verdict:?}"
        );
        let english = super::assess(zero, lossy, 2.0, false, Language::English);
        assert_eq!(
            english.network_reason.as_deref(),
            Some("Your network is the reason: your network loses 8% of what you send")
        );
        // A good path names no reason.
        let good = QualitySample {
            uplink: None,
            ..lossy
        };
        assert_eq!(
            super::assess(zero, good, 2.0, false, Language::English).network_reason,
            None
        );
    }

    fn s(decoded: u64, incomplete: u64, senders: u64) -> QualitySample {
        QualitySample {
            received_frames: decoded,
            incomplete_frames: incomplete,
            video_senders: senders,
            ..QualitySample::default()
        }
    }

    fn up(loss: f64, estimate: u64, video: u32, fps: u32) -> Option<Uplink> {
        Some(Uplink {
            loss,
            estimate_kbps: estimate,
            video_kbps: video,
            video_max_kbps: 1200,
            video_fps: fps,
            video_height: if video < 300 { 180 } else { 360 },
        })
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

    #[test]
    fn the_network_is_named_when_it_is_the_reason() {
        let good = QualitySample {
            uplink: up(0.01, 2900, 1200, 30),
            rtt_ms: Some(30),
            ..s(60, 0, 1)
        };
        let (level, detail) = assess(s(0, 0, 1), good, 2.0, false);
        assert_eq!(level, "good");
        assert!(!detail.contains("network"), "{detail}");

        let lossy = QualitySample {
            uplink: up(0.08, 2900, 1200, 30),
            ..good
        };
        let (level, detail) = assess(s(0, 0, 1), lossy, 2.0, false);
        assert_eq!(level, "fair");
        assert!(detail.contains("loses 8% of what you send"), "{detail}");

        let squeezed = QualitySample {
            uplink: up(0.0, 340, 250, 15),
            ..good
        };
        let (level, detail) = assess(s(0, 0, 1), squeezed, 2.0, false);
        assert_eq!(level, "fair");
        assert!(
            detail.contains("carries about 340 kbit/s")
                && detail.contains("180p, 250 kbit/s, 15 fps"),
            "{detail}"
        );

        let starved = QualitySample {
            uplink: up(0.2, 120, 60, 10),
            ..good
        };
        assert_eq!(assess(s(0, 0, 1), starved, 2.0, false).0, "poor");

        let far = QualitySample {
            rtt_ms: Some(650),
            ..good
        };
        let (level, detail) = assess(s(0, 0, 1), far, 2.0, false);
        assert_eq!(level, "fair");
        assert!(detail.contains("650 ms"), "{detail}");
    }
}
