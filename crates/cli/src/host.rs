//! `talkline host`: a meeting this run makes and hosts. The host key stays
//! in this process; guests are given the link without it. What a host
//! types on standard input:
//! `mute NAME`, `ask-unmute NAME`, `stop-video NAME`, `ask-video NAME`,
//! `remove NAME`, `lock`, `unlock`, `end`; with a waiting room,
//! `admit NAME`, `admit all` and `refuse NAME`.

use std::collections::BTreeMap;
use std::sync::Arc;

use talkline_meeting::host::{HostControls, HostedMeeting};
use talkline_meeting::ice_servers::IceServers;
use talkline_meeting::lobby::{Lobby, LobbyEvent, WaitingGuest};
use talkline_meeting::{MeetingError, Participant};

use crate::said::{self, said, say};

/// Who is in the meeting, as this run's call reported them.
#[derive(Default)]
pub struct Roster(BTreeMap<u64, Participant>);

impl Roster {
    pub fn joined(&mut self, p: &Participant) {
        self.0.insert(p.id, p.clone());
    }

    pub fn left(&mut self, p: &Participant) {
        self.0.remove(&p.id);
    }

    /// The person (not a screen they share) called `name`.
    fn named(&self, name: &str) -> Result<&Participant, String> {
        self.0
            .values()
            .find(|p| !p.screen && p.display == name)
            .ok_or_else(|| {
                say!(
                    "nobody called {name:?} in this meeting",
                    "本次会议中没有名叫 {name:?} 的人"
                )
            })
    }
}

/// One thing a host asks.
#[derive(Debug, PartialEq, Eq)]
enum HostCommand<'a> {
    /// Turn off (`held`) or ask to turn on a microphone or camera.
    Hold {
        name: &'a str,
        camera: bool,
        held: bool,
    },
    Remove(&'a str),
    Lock(bool),
    End,
    /// Let in someone waiting, or everyone (`None`).
    Admit(Option<&'a str>),
    Refuse(&'a str),
}

impl<'a> HostCommand<'a> {
    fn parse(line: &'a str) -> Option<Self> {
        let named = |prefix: &str| {
            line.strip_prefix(prefix)
                .map(str::trim)
                .filter(|n| !n.is_empty())
        };
        let hold = |name, camera, held| HostCommand::Hold { name, camera, held };
        Some(match line {
            "lock" => HostCommand::Lock(true),
            "unlock" => HostCommand::Lock(false),
            "end" => HostCommand::End,
            "admit all" => HostCommand::Admit(None),
            _ => {
                if let Some(name) = named("mute ") {
                    hold(name, false, true)
                } else if let Some(name) = named("ask-unmute ") {
                    hold(name, false, false)
                } else if let Some(name) = named("stop-video ") {
                    hold(name, true, true)
                } else if let Some(name) = named("ask-video ") {
                    hold(name, true, false)
                } else if let Some(name) = named("remove ") {
                    HostCommand::Remove(name)
                } else if let Some(name) = named("admit ") {
                    HostCommand::Admit(Some(name))
                } else if let Some(name) = named("refuse ") {
                    HostCommand::Refuse(name)
                } else {
                    return None;
                }
            }
        })
    }
}

/// This run's part as host, if it hosts the meeting.
pub struct HostLine {
    controls: Option<Arc<HostControls>>,
    /// The meeting was ended (by `end`).
    ended: bool,
    /// The waiting room, when the meeting has one.
    lobby: Option<Lobby>,
    /// Who waits, as last told.
    waiting: Vec<WaitingGuest>,
}

impl HostLine {
    pub fn new(meeting: Option<HostedMeeting>, ice: &IceServers) -> Self {
        let controls = meeting.map(|m| Arc::new(HostControls::new(m)));
        let lobby = controls
            .as_ref()
            .filter(|c| c.meeting().waiting_room)
            .map(|c| Lobby::open(Arc::clone(c), ice.clone()));
        Self {
            controls,
            ended: false,
            lobby,
            waiting: Vec::new(),
        }
    }

    /// What the waiting room tells next (never, without one).
    pub async fn next_lobby_event(&mut self) -> Option<LobbyEvent> {
        match self.lobby.as_mut() {
            Some(lobby) => lobby.events.recv().await,
            None => std::future::pending().await,
        }
    }

    /// Says who waits.
    pub fn show(&mut self, event: LobbyEvent) {
        match event {
            LobbyEvent::Waiting { shown, total } => {
                let names: Vec<&str> = shown.iter().map(|w| w.display.as_str()).collect();
                let names = names.join(", ");
                println!(
                    "{}",
                    say!("waiting ({total}): {names}", "等待中（{total}）：{names}")
                );
                self.waiting = shown;
            }
            LobbyEvent::Unavailable(why) => said::warning(say!(
                "the waiting room cannot be seen: {why}",
                "无法查看等候室：{why}"
            )),
        }
    }

    pub fn understands(line: &str) -> bool {
        HostCommand::parse(line).is_some()
    }

    /// Carries out a host's command; says what was done, or why not.
    pub async fn command(&mut self, line: &str, roster: &Roster) {
        let Some(command) = HostCommand::parse(line) else {
            return;
        };
        let Some(controls) = &self.controls else {
            said::error(said(&MeetingError::NotHost));
            return;
        };
        let end = command == HostCommand::End;
        match self.carry_out(controls, command, roster).await {
            Ok(done) => {
                self.ended |= end;
                println!("{done}");
            }
            Err(e) => said::error(e),
        }
    }

    async fn carry_out(
        &self,
        controls: &HostControls,
        command: HostCommand<'_>,
        roster: &Roster,
    ) -> Result<String, String> {
        let failed = |e: MeetingError| said(&e);
        let waiting = |name: &str| {
            self.waiting
                .iter()
                .find(|w| w.display == name)
                .map(|w| w.username.clone())
                .ok_or_else(|| {
                    say!(
                        "nobody called {name:?} is waiting",
                        "没有名叫 {name:?} 的人在等候"
                    )
                })
        };
        let lobby = || {
            self.lobby
                .as_ref()
                .ok_or_else(|| say!("this meeting has no waiting room", "此会议没有等候室"))
        };
        match command {
            HostCommand::Admit(who) => {
                let lobby = lobby()?;
                let username = who.map(waiting).transpose()?;
                let n = lobby.admit(username.as_deref()).await.map_err(failed)?;
                Ok(match who {
                    Some(name) => say!("host: let {name} in", "主持人：已让 {name} 进入"),
                    None => say!("host: let {n} in", "主持人：已让 {n} 人进入"),
                })
            }
            HostCommand::Refuse(name) => {
                let lobby = lobby()?;
                lobby.refuse(&waiting(name)?).await.map_err(failed)?;
                Ok(say!(
                    "host: did not let {name} in",
                    "主持人：没有让 {name} 进入"
                ))
            }
            HostCommand::Hold { name, camera, held } => {
                let p = roster.named(name)?;
                let mid = if camera { &p.video_mid } else { &p.audio_mid };
                let Some(mid) = mid else {
                    return Err(if camera {
                        say!("{name} sends no video", "{name} 没有发送视频")
                    } else {
                        say!("{name} sends no audio", "{name} 没有发送音频")
                    });
                };
                controls.hold(p.id, mid, held).await.map_err(failed)?;
                Ok(match (camera, held) {
                    (false, true) => say!(
                        "host: turned off {name}'s microphone",
                        "主持人：已关闭 {name} 的麦克风"
                    ),
                    (false, false) => say!(
                        "host: asked {name} to turn on their microphone",
                        "主持人：已请 {name} 打开麦克风"
                    ),
                    (true, true) => say!(
                        "host: turned off {name}'s camera",
                        "主持人：已关闭 {name} 的摄像头"
                    ),
                    (true, false) => say!(
                        "host: asked {name} to turn on their camera",
                        "主持人：已请 {name} 打开摄像头"
                    ),
                })
            }
            HostCommand::Remove(name) => {
                let p = roster.named(name)?;
                controls.remove(p.id).await.map_err(failed)?;
                // Their screen share goes with them.
                for share in roster.0.values().filter(|s| s.screen && s.display == name) {
                    if let Err(e) = controls.remove(share.id).await {
                        log::info!("a removed person's share stays: {}", e.for_logs());
                    }
                }
                Ok(say!(
                    "host: removed {name} from the meeting",
                    "主持人：已将 {name} 移出会议"
                ))
            }
            HostCommand::Lock(locked) => {
                controls.set_locked(locked).await.map_err(failed)?;
                Ok(if locked {
                    say!(
                        "host: the meeting is locked: nobody else can join",
                        "主持人：会议已锁定，其他人无法加入"
                    )
                } else {
                    say!(
                        "host: the meeting is unlocked: anyone with the link can join",
                        "主持人：会议已解锁，有链接的人都可以加入"
                    )
                })
            }
            HostCommand::End => {
                controls.end().await.map_err(failed)?;
                Ok(say!(
                    "host: ended the meeting for everyone",
                    "主持人：已为所有人结束会议"
                ))
            }
        }
    }

    /// Leaves the host's part. The host key lives only in this run: a
    /// meeting it hosts ends with it, for everyone, rather than go on with
    /// nobody able to end it or let anyone in.
    pub async fn close(self) {
        drop(self.lobby);
        if let Some(controls) = self.controls.as_ref().filter(|_| !self.ended) {
            match controls.end().await {
                Ok(()) => println!(
                    "{}",
                    say!(
                        "host: ended the meeting for everyone as you left",
                        "主持人：您离开时已为所有人结束会议"
                    )
                ),
                // Ended already (by the server, or it was never made whole).
                Err(MeetingError::MeetingEnded) => {}
                Err(e) => said::warning(said(&e)),
            }
        }
        if let Some(controls) = self.controls.and_then(|c| Arc::try_unwrap(c).ok()) {
            controls.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_commands_are_read_and_everything_else_left_alone() {
        use HostCommand::*;
        let hold = |name, camera, held| Hold { name, camera, held };
        for (line, command) in [
            ("mute Bo Li", hold("Bo Li", false, true)),
            ("ask-unmute Bo", hold("Bo", false, false)),
            ("stop-video Bo", hold("Bo", true, true)),
            ("ask-video Bo", hold("Bo", true, false)),
            ("remove  Bo ", Remove("Bo")),
            ("lock", Lock(true)),
            ("unlock", Lock(false)),
            ("end", End),
            ("admit all", Admit(None)),
            ("admit Gus", Admit(Some("Gus"))),
            ("refuse Gus", Refuse("Gus")),
        ] {
            assert_eq!(HostCommand::parse(line), Some(command), "{line}");
        }
        // Our own microphone, and lines that name nobody.
        for line in [
            "mute", "unmute", "mute ", "remove", "remove  ", "ending", "locked",
        ] {
            assert_eq!(HostCommand::parse(line), None, "{line}");
        }
    }
}
