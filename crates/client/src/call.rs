//! The meeting the app is in: the call handle, what the UI was told, and the
//! task that turns call events and stats into UI events.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use talkline_media::display::Tiles;
use talkline_meeting::{CallEvent, CallHandle, CallState, MeetingLink};
use tokio::sync::mpsc;

use crate::device_watch::DeviceWatch;
use crate::error::AppError;
use crate::events::{AppEvent, ErrorView, EventSink, ParticipantView};
use crate::fallback::{Fallback, kind_said};
use crate::quality::{QualitySample, Uplink, Verdict, assess};
use crate::self_mute::SelfMute;
use talkline_privacy::Language;

const LEVELS_EVERY: Duration = Duration::from_millis(100);
const QUALITY_EVERY: Duration = Duration::from_secs(2);

/// Which meeting a call is in.
pub struct InMeeting {
    /// With its server: what an invitation gives out.
    pub link: MeetingLink,
    /// Its row in the meeting history, when it was saved.
    pub history_row: Option<i64>,
}

/// How a call starts: muted or not (audio, video), and the language its
/// notices are said in.
pub struct Opening {
    pub muted: (bool, bool),
    pub language: Language,
}

pub struct ActiveCall {
    pub handle: CallHandle,
    pub meeting: InMeeting,
    /// The meeting's chat, connected beside the call.
    pub chat: Option<crate::meeting_chat::MeetingChat>,
    /// Where a screen share joins, and as whom.
    pub(crate) share_with: Option<crate::screen_share::ShareWith>,
    /// The screen we share, if any.
    pub(crate) share: Option<talkline_meeting::screen_share::ScreenShare>,
    pub(crate) muted: Arc<SelfMute>,
    /// The host's controls, when this device hosts the meeting.
    pub(crate) host: Option<Arc<talkline_meeting::host::HostControls>>,
    /// The waiting room of the meeting we host, if it has one.
    pub(crate) lobby: Option<Arc<talkline_meeting::lobby::Lobby>>,
    /// Our recording of the meeting, while it runs.
    pub(crate) recording: Option<crate::meeting_recording::RunningRecording>,
    /// Everyone in the meeting now, as the call told: whom a host's
    /// action names.
    pub(crate) roster: Arc<std::sync::Mutex<BTreeMap<u64, talkline_meeting::Participant>>>,
    monitor: tokio::task::JoinHandle<()>,
    device_watch: tokio::task::JoinHandle<()>,
}

pub fn state_name(state: CallState) -> &'static str {
    match state {
        CallState::Connecting => "connecting",
        CallState::Joined => "joined",
        CallState::Reconnecting => "reconnecting",
        CallState::Left => "left",
    }
}

impl ActiveCall {
    pub fn start(
        mut handle: CallHandle,
        meeting: InMeeting,
        opening: Opening,
        sink: Arc<dyn EventSink>,
        tiles: Arc<Tiles>,
        fallback: Arc<Fallback>,
        ended: mpsc::UnboundedSender<()>,
    ) -> Self {
        let events = std::mem::replace(&mut handle.events, mpsc::unbounded_channel().1);
        let commands = handle.commands();
        let Opening { muted, language } = opening;
        let muted = Arc::new(SelfMute::new(muted.0, muted.1));
        let device_watch = DeviceWatch::new(Arc::clone(&fallback), Arc::clone(&muted))
            .spawn(handle.commands(), Arc::clone(&sink));
        let self_muted = Arc::clone(&muted);
        let stats = Arc::clone(&handle.stats);
        let roster: Arc<std::sync::Mutex<BTreeMap<u64, talkline_meeting::Participant>>> =
            Arc::default();
        let in_meeting = Arc::clone(&roster);
        let monitor = tokio::spawn(async move {
            let mut events = events;
            let mut levels = tokio::time::interval(LEVELS_EVERY);
            let mut quality = tokio::time::interval(QUALITY_EVERY);
            let mut last_sample = QualitySample::default();
            let mut reconnecting = false;
            // Why the media may not get through, until it does.
            let mut relay_problem: Option<String> = None;
            let mut video_senders: HashSet<u64> = HashSet::new();
            loop {
                tokio::select! {
                    event = events.recv() => match event {
                        Some(CallEvent::State(state)) => {
                            if reconnecting && state == CallState::Joined {
                                relay_problem = None;
                            }
                            reconnecting = state == CallState::Reconnecting;
                            sink.emit(AppEvent::CallState { state: state_name(state) });
                        }
                        Some(CallEvent::ParticipantJoined(p)) => {
                            crate::core::lock(&in_meeting).insert(p.id, p.clone());
                            if p.has_video { video_senders.insert(p.id); }
                            sink.emit(AppEvent::ParticipantJoined { participant: ParticipantView::from(&p) });
                        }
                        Some(CallEvent::ParticipantChanged(p)) => {
                            crate::core::lock(&in_meeting).insert(p.id, p.clone());
                            if p.has_video { video_senders.insert(p.id); }
                            sink.emit(AppEvent::ParticipantChanged { participant: ParticipantView::from(&p) });
                        }
                        Some(CallEvent::ParticipantLeft(p)) => {
                            crate::core::lock(&in_meeting).remove(&p.id);
                            video_senders.remove(&p.id);
                            tiles.remove(&p.id.to_string());
                            sink.emit(AppEvent::ParticipantLeft { id: p.id });
                        }
                        Some(CallEvent::DeviceLost(kind)) => {
                            // Lists and opens devices: off the runtime's threads.
                            let fallback = Arc::clone(&fallback);
                            let (command, message) = match tokio::task::spawn_blocking(move || fallback.replace(kind)).await {
                                Ok(Some(handled)) => handled,
                                Ok(None) => continue, // old news: handled, or chosen anew
                                Err(e) => {
                                    log::error!("the {kind} fallback failed: {e}");
                                    continue;
                                }
                            };
                            match command {
                                Some(c) => { let _ = commands.send(c); }
                                // Nothing sent: shown off, not on.
                                None => if self_muted.turn_off(kind, |off| { let _ = commands.send(off); }) {
                                    sink.emit(self_muted.event());
                                },
                            }
                            sink.emit(AppEvent::DeviceChanged { kind: kind.name(), message });
                        }
                        // Others see us under another id: nothing to show.
                        Some(CallEvent::NewId(_)) => {}
                        Some(CallEvent::RelayUnreachable(why)) => {
                            sink.emit(AppEvent::Quality { level: "poor", detail: why.clone(), reason: None });
                            relay_problem = Some(why);
                        }
                        Some(CallEvent::DeviceSwitchFailed(kind, why)) => {
                            let message = match language {
                                Language::English => format!("cannot switch the {kind}: {why}"),
                                Language::SimplifiedChinese => format!("无法切换{}：{why}", kind_said(kind, language)),
                            };
                            sink.emit(AppEvent::DeviceChanged { kind: kind.name(), message });
                        }
                        // The host turned our microphone or camera off: the
                        // window shows it off. Let go, it stays off until
                        // the user turns it on.
                        Some(CallEvent::HostHeld { kind, held }) => {
                            if held && self_muted.turn_off(kind, |_| {}) {
                                sink.emit(self_muted.event());
                            }
                            let what = kind_said(kind, language);
                            let message = match (language, held) {
                                (Language::English, true) => format!("The host turned off your {what}."),
                                (Language::English, false) => format!("The host asks you to turn on your {what}."),
                                (Language::SimplifiedChinese, true) => format!("主持人关闭了您的{what}。"),
                                (Language::SimplifiedChinese, false) => format!("主持人请您打开{what}。"),
                            };
                            sink.emit(AppEvent::DeviceChanged { kind: kind.name(), message });
                        }
                        // Turning on what the host holds: it stays off.
                        Some(CallEvent::Refused(error)) => {
                            let kind = match error {
                                talkline_meeting::MeetingError::CameraHeldByHost => talkline_media::devices::DeviceKind::Camera,
                                _ => talkline_media::devices::DeviceKind::Microphone,
                            };
                            if self_muted.turn_off(kind, |_| {}) {
                                sink.emit(self_muted.event());
                            }
                            let message = AppError::from(error).said_in(language);
                            sink.emit(AppEvent::DeviceChanged { kind: kind.name(), message });
                        }
                        Some(CallEvent::Ended(error)) => {
                            let error = error.map(|e| {
                                let e = AppError::from(e);
                                ErrorView { kind: e.kind(), message: e.said_in(language) }
                            });
                            sink.emit(AppEvent::CallEnded { error });
                            let _ = ended.send(());
                            break;
                        }
                        None => break,
                    },
                    _ = levels.tick() => {
                        let remotes: BTreeMap<String, f32> = stats
                            .remotes()
                            .iter()
                            .map(|r| (r.feed_id.to_string(), r.voice_level()))
                            .collect();
                        sink.emit(AppEvent::Levels { own: stats.self_level(), speaking: stats.voice.speaking(), remotes });
                    }
                    _ = quality.tick() => {
                        let remotes = stats.remotes();
                        let path = &stats.path;
                        let sample = QualitySample {
                            received_frames: remotes.iter().map(|r| r.video_frames_received.load(Ordering::Relaxed)).sum(),
                            incomplete_frames: remotes.iter().map(|r| r.video_frames_lost.load(Ordering::Relaxed)).sum(),
                            // A tile out of sight, paused on purpose, sends nothing.
                            video_senders: video_senders
                                .iter()
                                .filter(|&&id| !stats.remote_by_feed(id).is_some_and(|r| r.video_paused.load(Ordering::Relaxed)))
                                .count() as u64,
                            uplink: path.estimate_bps().map(|bps| Uplink {
                                loss: path.loss(),
                                estimate_kbps: bps / 1000,
                                video_kbps: path.video_target_kbps(),
                                video_max_kbps: path.video_max_kbps(),
                                video_fps: path.video_fps(),
                                video_height: path.video_size().1,
                            }),
                            rtt_ms: remotes.iter().map(|r| r.rtt_ms.load(Ordering::Relaxed)).filter(|&ms| ms > 0).max(),
                        };
                        let verdict = match (&relay_problem, reconnecting) {
                            (Some(why), true) => Verdict {
                                level: "poor",
                                detail: match language {
                                    Language::English => format!("reconnecting: {why}"),
                                    Language::SimplifiedChinese => format!("正在重新连接：{why}"),
                                },
                                network_reason: None,
                            },
                            _ => assess(last_sample, sample, QUALITY_EVERY.as_secs_f64(), reconnecting, language),
                        };
                        last_sample = sample;
                        sink.emit(AppEvent::Quality { level: verdict.level, detail: verdict.detail, reason: verdict.network_reason });
                    }
                }
            }
        });
        Self {
            handle,
            meeting,
            chat: None,
            share_with: None,
            share: None,
            muted,
            host: None,
            lobby: None,
            recording: None,
            roster,
            monitor,
            device_watch,
        }
    }

    pub async fn leave(self) {
        self.device_watch.abort();
        if let Some(share) = self.share {
            share.leave().await;
        }
        // Finished (and said stopped) while the chat is still there.
        if let Some(recording) = self.recording {
            recording.finish().await;
        }
        if let Some(chat) = &self.chat {
            chat.leave().await;
        }
        drop(self.lobby);
        if let Some(host) = self.host.and_then(|h| Arc::try_unwrap(h).ok()) {
            host.close().await;
        }
        self.handle.leave().await;
        // The monitor ends with the call's Ended event; bounded in case it
        // was already gone.
        let _ = tokio::time::timeout(Duration::from_secs(2), self.monitor).await;
    }
}

impl crate::AppCore {
    /// How loud one participant plays on this device, 0 to 200% of what
    /// they send; nobody else hears the difference.
    pub async fn set_participant_volume(&self, feed_id: u64, percent: u32) -> Result<(), AppError> {
        use talkline_meeting::stats::MAX_VOLUME_PERCENT;
        if percent > MAX_VOLUME_PERCENT {
            return Err(AppError::Invalid(crate::Said::new(
                format!("a participant's volume is 0 to {MAX_VOLUME_PERCENT}%"),
                format!("参会者音量为 0 到 {MAX_VOLUME_PERCENT}%"),
            )));
        }
        let guard = self.call.lock().await;
        let call = guard.as_ref().ok_or_else(|| {
            AppError::State(crate::Said::new("not in a meeting", "当前不在会议中"))
        })?;
        let remote = call.handle.stats.remote_by_feed(feed_id).ok_or_else(|| {
            AppError::State(crate::Said::new(
                "that participant is not in the meeting",
                "该参会者不在会议中",
            ))
        })?;
        remote.set_volume_percent(percent);
        Ok(())
    }

    /// Which layer of one participant's simulcast video to receive: what
    /// their tile's size needs ("low", "medium" or "high").
    pub async fn set_video_layer(&self, feed_id: u64, layer: &str) -> Result<(), AppError> {
        use talkline_meeting::call::CallCommand;
        use talkline_meeting::layers::VideoLayer;
        let layer: VideoLayer = layer
            .parse()
            .map_err(|e: talkline_meeting::MeetingError| AppError::Invalid(crate::Said::of(&e)))?;
        let guard = self.call.lock().await;
        let call = guard.as_ref().ok_or_else(|| {
            AppError::State(crate::Said::new("not in a meeting", "当前不在会议中"))
        })?;
        if call.handle.stats.remote_by_feed(feed_id).is_none() {
            return Err(AppError::State(
                "that participant is not in the meeting".into(),
            ));
        }
        call.handle.command(CallCommand::SetVideoLayerOf {
            feed: feed_id,
            layer,
        });
        Ok(())
    }
}
