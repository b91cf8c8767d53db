//! Meetings this device makes and hosts: the host key is kept in the
//! encrypted store (never in a link or a log), and a call joined to one of
//! them carries the host's controls.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use talkline_meeting::host::{HostControls, HostedMeeting, Secret};
use talkline_meeting::{MeetingLink, ServerUrl};
use talkline_store::HostedRecord;

use crate::Said;
use crate::core::{AppCore, lock, now_unix};
use crate::error::AppError;
use crate::events::{AppEvent, WaitingView};
use talkline_meeting::lobby::{Lobby, LobbyEvent};

/// A meeting just made: what the window joins, and tells guests.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewMeeting {
    pub room: u64,
    /// The guests' link (no secret in it): the window joins by it too.
    pub link: String,
}

/// What a host asks of the meeting: of one participant (by id), or of
/// everyone.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub enum HostAction {
    /// Lets in someone waiting (by username), or everyone (`None`).
    Admit {
        username: Option<String>,
    },
    Refuse {
        username: String,
    },
    Mute {
        participant: u64,
    },
    AskUnmute {
        participant: u64,
    },
    StopVideo {
        participant: u64,
    },
    AskVideo {
        participant: u64,
    },
    Remove {
        participant: u64,
    },
    Lock,
    Unlock,
    End,
}

fn record_of(m: &HostedMeeting) -> HostedRecord {
    HostedRecord {
        server: m.server.to_string(),
        room: m.room,
        pin: m.pin.clone(),
        host_key: m.host_key.expose().to_string(),
        entry_token: m.entry_token.expose().to_string(),
        waiting_room: m.waiting_room,
        created_at: now_unix(),
    }
}

/// A kept record as a meeting to host; `None` if it was damaged.
fn meeting_of(r: HostedRecord) -> Option<HostedMeeting> {
    Some(HostedMeeting {
        server: ServerUrl::parse(&r.server).ok()?,
        room: r.room,
        pin: r.pin,
        host_key: Secret::parse(&r.host_key)?,
        entry_token: Secret::parse(&r.entry_token)?,
        waiting_room: r.waiting_room,
    })
}

impl AppCore {
    /// Makes a new meeting on the default server, with `pin` for guests if
    /// given, and keeps its host key on this device.
    pub async fn new_meeting(
        &self,
        pin: Option<String>,
        waiting_room: bool,
    ) -> Result<NewMeeting, AppError> {
        self.require_policy()?;
        let pin = match pin.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            Some(pin) => {
                MeetingLink::parse("1")
                    .and_then(|l| l.with_pin(pin))
                    .map_err(|e| AppError::Invalid(Said::of(&e)))?
                    .pin
            }
            None => None,
        };
        let meeting =
            talkline_meeting::host::create_meeting(&self.config.default_server, pin, waiting_room)
                .await?;
        let kept = self.with_store(|s| Ok(s.add_hosted_meeting(&record_of(&meeting))?));
        if let Err(e) = kept {
            // A meeting nobody can host is not handed out.
            let controls = HostControls::new(meeting);
            let _ = controls.end().await;
            controls.close().await;
            return Err(e);
        }
        Ok(NewMeeting {
            room: meeting.room,
            link: meeting.guest_link().to_string(),
        })
    }

    /// The meeting `room` on `server`, if this device hosts it.
    pub(crate) fn hosted(&self, server: &ServerUrl, room: u64) -> Option<HostedMeeting> {
        self.with_store(|s| Ok(s.hosted_meeting(&server.to_string(), room)?))
            .map_err(|e| log::warn!("hosted meetings not read: {e}"))
            .ok()
            .flatten()
            .and_then(meeting_of)
    }

    /// Watches the waiting room of the meeting `host` hosts, if it has
    /// one: who waits goes to the window.
    pub(crate) fn watch_lobby(
        &self,
        host: Option<&Arc<HostControls>>,
        ice: &talkline_meeting::ice_servers::IceServers,
    ) -> Option<Arc<Lobby>> {
        let host = host.filter(|h| h.meeting().waiting_room)?;
        let mut lobby = Lobby::open(Arc::clone(host), ice.clone());
        let mut events =
            std::mem::replace(&mut lobby.events, tokio::sync::mpsc::unbounded_channel().1);
        let sink = self.sink();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                match event {
                    LobbyEvent::Waiting { shown, total } => sink.emit(AppEvent::Waiting {
                        shown: shown
                            .into_iter()
                            .map(|w| WaitingView {
                                username: w.username,
                                display: w.display,
                            })
                            .collect(),
                        total,
                    }),
                    LobbyEvent::Unavailable(why) => log::warn!("waiting room: {why}"),
                }
            }
        });
        Some(Arc::new(lobby))
    }

    /// Carries out a host's action in the meeting we are in.
    pub async fn host_action(&self, action: HostAction) -> Result<(), AppError> {
        if let HostAction::Admit { .. } | HostAction::Refuse { .. } = &action {
            return self.waiting_room_action(action).await;
        }
        let (host, roster, link, lobby) = {
            let call = self.call.lock().await;
            let call = call
                .as_ref()
                .ok_or_else(|| AppError::State(Said::new("not in a meeting", "不在会议中")))?;
            let host = call
                .host
                .clone()
                .ok_or_else(|| AppError::from(talkline_meeting::MeetingError::NotHost))?;
            (
                host,
                Arc::clone(&call.roster),
                call.meeting.link.clone(),
                call.lobby.clone(),
            )
        };
        let person = |id: u64| {
            lock(&roster)
                .get(&id)
                .cloned()
                .ok_or_else(|| AppError::from(talkline_meeting::MeetingError::NotInMeeting))
        };
        let hold = |p: &talkline_meeting::Participant, camera: bool| {
            let mid = if camera { &p.video_mid } else { &p.audio_mid };
            mid.clone().ok_or_else(|| {
                AppError::State(if camera {
                    Said::new("they send no video", "对方没有发送视频")
                } else {
                    Said::new("they send no audio", "对方没有发送音频")
                })
            })
        };
        match action {
            HostAction::Admit { .. } | HostAction::Refuse { .. } => {}
            HostAction::Mute { participant }
            | HostAction::AskUnmute { participant }
            | HostAction::StopVideo { participant }
            | HostAction::AskVideo { participant } => {
                let p = person(participant)?;
                let camera = matches!(
                    action,
                    HostAction::StopVideo { .. } | HostAction::AskVideo { .. }
                );
                let held = matches!(
                    action,
                    HostAction::Mute { .. } | HostAction::StopVideo { .. }
                );
                host.hold(p.id, &hold(&p, camera)?, held).await?;
            }
            HostAction::Remove { participant } => {
                let p = person(participant)?;
                host.remove(p.id).await?;
                // Their screen share goes with them.
                let shares: Vec<u64> = lock(&roster)
                    .values()
                    .filter(|s| s.screen && s.display == p.display)
                    .map(|s| s.id)
                    .collect();
                for share in shares {
                    if let Err(e) = host.remove(share).await {
                        log::info!("a removed person's share stays: {}", e.for_logs());
                    }
                }
            }
            HostAction::Lock => host.set_locked(true).await?,
            HostAction::Unlock => {
                host.set_locked(false).await?;
                // Unlocked, nobody needs letting in: those waiting are let
                // in now rather than left waiting.
                if let Some(lobby) = lobby
                    && let Err(e) = lobby.admit(None).await
                {
                    log::info!("nobody was let in on unlocking: {}", e.for_logs());
                }
            }
            HostAction::End => {
                host.end().await?;
                if let Some(server) = &link.server {
                    let _ = self.with_store(|s| {
                        Ok(s.delete_hosted_meeting(&server.to_string(), link.room)?)
                    });
                }
            }
        }
        Ok(())
    }
}

impl AppCore {
    async fn waiting_room_action(&self, action: HostAction) -> Result<(), AppError> {
        // Not held while the server is asked: the call's other commands
        // (leave, mute) go on meanwhile.
        let lobby = self
            .call
            .lock()
            .await
            .as_ref()
            .and_then(|c| c.lobby.clone())
            .ok_or_else(|| {
                AppError::State(Said::new(
                    "this meeting has no waiting room",
                    "此会议没有等候室",
                ))
            })?;
        match action {
            HostAction::Admit { username } => lobby.admit(username.as_deref()).await.map(drop)?,
            HostAction::Refuse { username } => lobby.refuse(&username).await?,
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_asks_host_actions_by_name_and_participant() {
        let read = |json: &str| serde_json::from_str::<HostAction>(json);
        assert_eq!(
            read(r#"{"action":"mute","participant":7}"#).expect("mute"),
            HostAction::Mute { participant: 7 }
        );
        assert_eq!(
            read(r#"{"action":"askVideo","participant":7}"#).expect("ask"),
            HostAction::AskVideo { participant: 7 }
        );
        assert_eq!(
            read(r#"{"action":"lock"}"#).expect("lock"),
            HostAction::Lock
        );
        for bad in [
            r#"{"action":"mute"}"#,
            r#"{"action":"promote","participant":7}"#,
            r#"{"action":"remove","participant":"7"}"#,
            r#"{}"#,
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_kept_meeting_comes_back_whole_or_not_at_all() {
        let meeting = HostedMeeting {
            server: ServerUrl::parse("ws://127.0.0.1:8188").expect("url"),
            room: 1_234_567_890,
            pin: None,
            host_key: Secret::random(),
            entry_token: Secret::random(),
            waiting_room: false,
        };
        let record = record_of(&meeting);
        assert_eq!(meeting_of(record.clone()), Some(meeting));
        let damaged = HostedRecord {
            host_key: "not a key".into(),
            ..record
        };
        assert_eq!(meeting_of(damaged), None);
    }
}
