//! The call's state machine, free of sockets and clocks so it can be tested
//! directly: inputs are what signaling and the peer connections observed,
//! outputs are what the user sees and what the driver must do next.

use std::collections::{BTreeMap, BTreeSet};

use crate::janus::protocol::{MediaKind, PublishedStream, Publisher, SCREEN};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    Connecting,
    Joined,
    Reconnecting,
    Left,
}

/// Why the call is reconnecting: decides how it recovers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breakage {
    /// The media path broke but signaling is up: restart ICE.
    MediaPath,
    /// The signaling connection (or the server) is gone: join again.
    Signaling,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionInput {
    /// We joined (or re-joined) the room; `publishers` are those already there.
    Joined {
        self_id: u64,
        publishers: Vec<Publisher>,
    },
    /// Publishers appeared or changed (mute state, streams).
    Publishers(Vec<Publisher>),
    /// A participant left the room or stopped publishing.
    Gone(u64),
    /// The server refused to subscribe us to these feeds ("no such
    /// feed"): it announced a publisher before its connection was up. One
    /// feed not up fails a whole request, so several are tried again one
    /// by one at once; a single one when the server next tells of
    /// publishers (or someone leaves).
    SubscribeRefused(Vec<u64>),
    Broken(Breakage),
    /// Media flows again after an ICE restart.
    Restored,
    /// The user leaves, or a fatal error ends the call.
    Leave,
    /// A feed of ours besides this one (our screen share): never
    /// subscribed to, never listed as someone else.
    OwnFeed(u64),
    /// The host stopped (`held`) or released a participant's stream.
    Moderated {
        id: u64,
        mid: String,
        held: bool,
    },
}

/// A participant as the user sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub id: u64,
    pub display: String,
    pub audio_muted: bool,
    pub video_muted: bool,
    pub has_audio: bool,
    pub has_video: bool,
    /// A screen shared (by the person of the same name): shown large.
    pub screen: bool,
    /// The host turned their microphone or camera off: the server relays
    /// nothing of it until the host lets it go.
    pub audio_held: bool,
    pub video_held: bool,
    /// Which of their streams is which: what a host names to hold one.
    pub audio_mid: Option<String>,
    pub video_mid: Option<String>,
}

impl Participant {
    fn from_publisher(p: &Publisher) -> Self {
        let stream = |kind| p.streams.iter().find(|s| s.kind == kind);
        let audio = stream(MediaKind::Audio);
        let video = stream(MediaKind::Video);
        Self {
            id: p.id,
            display: p.display.clone(),
            audio_muted: audio.is_some_and(PublishedStream::is_muted),
            video_muted: video.is_some_and(PublishedStream::is_muted),
            has_audio: audio.is_some(),
            has_video: video.is_some(),
            screen: video.is_some_and(|v| v.description.as_deref() == Some(SCREEN)),
            audio_held: audio.is_some_and(|a| a.moderated),
            video_held: video.is_some_and(|v| v.moderated),
            audio_mid: audio.map(|a| a.mid.clone()),
            video_mid: video.map(|v| v.mid.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionOutput {
    State(CallState),
    ParticipantJoined(Participant),
    ParticipantChanged(Participant),
    ParticipantLeft(Participant),
    /// Driver: add these feeds to the subscription.
    Subscribe(Vec<u64>),
    /// Driver: drop this feed from the subscription.
    Unsubscribe(u64),
    /// Driver: restart ICE on our connections.
    RestartIce,
    /// Driver: open a new signaling session and join again.
    Rejoin,
}

#[derive(Debug)]
pub struct SessionMachine {
    state: CallState,
    self_id: Option<u64>,
    roster: BTreeMap<u64, Participant>,
    /// Feeds whose subscription the server refused, to try again.
    refused: BTreeSet<u64>,
    /// Our other feeds (see `SessionInput::OwnFeed`).
    ours: BTreeSet<u64>,
}

impl Default for SessionMachine {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionMachine {
    pub fn new() -> Self {
        Self {
            state: CallState::Connecting,
            self_id: None,
            roster: BTreeMap::new(),
            refused: BTreeSet::new(),
            ours: BTreeSet::new(),
        }
    }

    pub fn state(&self) -> CallState {
        self.state
    }

    pub fn participants(&self) -> impl Iterator<Item = &Participant> {
        self.roster.values()
    }

    fn set_state(&mut self, state: CallState, out: &mut Vec<SessionOutput>) {
        if self.state != state {
            self.state = state;
            out.push(SessionOutput::State(state));
        }
    }

    /// The refused feeds still in the room with something to receive,
    /// forgotten as refused.
    fn take_refused_with_media(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.refused)
            .into_iter()
            .filter(|id| {
                self.roster
                    .get(id)
                    .is_some_and(|p| p.has_audio || p.has_video)
            })
            .collect()
    }

    /// Adds or updates publishers; returns the ids that need subscribing.
    fn merge(&mut self, publishers: &[Publisher], out: &mut Vec<SessionOutput>) -> Vec<u64> {
        let mut fresh = Vec::new();
        for p in publishers {
            if Some(p.id) == self.self_id || self.ours.contains(&p.id) {
                continue;
            }
            let mut next = Participant::from_publisher(p);
            // What the host holds stays held until the host lets it go:
            // Janus 1.1.2 lists only a held camera as "moderated", and a
            // held microphone's publisher announces its mute meanwhile.
            if let Some(prev) = self.roster.get(&p.id) {
                next.audio_held |= prev.audio_held && prev.audio_mid == next.audio_mid;
                next.video_held |= prev.video_held && prev.video_mid == next.video_mid;
            }
            match self.roster.insert(p.id, next.clone()) {
                None => {
                    if next.has_audio || next.has_video {
                        fresh.push(p.id);
                    }
                    out.push(SessionOutput::ParticipantJoined(next));
                }
                Some(prev) if prev != next => {
                    if !(prev.has_audio || prev.has_video) && (next.has_audio || next.has_video) {
                        fresh.push(p.id);
                    }
                    out.push(SessionOutput::ParticipantChanged(next));
                }
                Some(_) => {}
            }
        }
        fresh
    }

    pub fn handle(&mut self, input: SessionInput) -> Vec<SessionOutput> {
        let mut out = Vec::new();
        if self.state == CallState::Left {
            return out;
        }
        match input {
            SessionInput::Joined {
                self_id,
                publishers,
            } => {
                let rejoin = self.state == CallState::Reconnecting;
                self.self_id = Some(self_id);
                // A rejoin subscribes to everyone anew.
                self.refused.clear();
                if rejoin {
                    // Whoever left while we were away is reported now; those
                    // still there are not announced twice, but need a fresh
                    // subscription on the new session.
                    let present: Vec<u64> = publishers
                        .iter()
                        .map(|p| p.id)
                        .filter(|id| !self.ours.contains(id))
                        .collect();
                    let gone: Vec<u64> = self
                        .roster
                        .keys()
                        .copied()
                        .filter(|id| !present.contains(id))
                        .collect();
                    for id in gone {
                        if let Some(p) = self.roster.remove(&id) {
                            out.push(SessionOutput::ParticipantLeft(p));
                        }
                    }
                    self.merge(&publishers, &mut out);
                    self.set_state(CallState::Joined, &mut out);
                    let all: Vec<u64> = self
                        .roster
                        .values()
                        .filter(|p| p.has_audio || p.has_video)
                        .map(|p| p.id)
                        .collect();
                    if !all.is_empty() {
                        out.push(SessionOutput::Subscribe(all));
                    }
                } else {
                    self.set_state(CallState::Joined, &mut out);
                    let fresh = self.merge(&publishers, &mut out);
                    if !fresh.is_empty() {
                        out.push(SessionOutput::Subscribe(fresh));
                    }
                }
            }
            SessionInput::Publishers(publishers) => {
                let mut fresh = self.merge(&publishers, &mut out);
                for id in self.take_refused_with_media() {
                    if !fresh.contains(&id) {
                        fresh.push(id);
                    }
                }
                if !fresh.is_empty() {
                    out.push(SessionOutput::Subscribe(fresh));
                }
            }
            SessionInput::OwnFeed(id) => {
                self.ours.insert(id);
                self.refused.remove(&id);
                // Listed before we knew it was ours: not someone else.
                if let Some(p) = self.roster.remove(&id) {
                    if p.has_audio || p.has_video {
                        out.push(SessionOutput::Unsubscribe(id));
                    }
                    out.push(SessionOutput::ParticipantLeft(p));
                }
            }
            SessionInput::Moderated { id, mid, held } => {
                if let Some(p) = self.roster.get_mut(&id) {
                    let before = (p.audio_held, p.video_held);
                    if p.audio_mid.as_deref() == Some(mid.as_str()) {
                        p.audio_held = held;
                    }
                    if p.video_mid.as_deref() == Some(mid.as_str()) {
                        p.video_held = held;
                    }
                    if before != (p.audio_held, p.video_held) {
                        out.push(SessionOutput::ParticipantChanged(p.clone()));
                    }
                }
            }
            SessionInput::SubscribeRefused(feeds) => {
                if let [feed] = feeds.as_slice() {
                    self.refused.insert(*feed);
                } else {
                    out.extend(feeds.into_iter().map(|f| SessionOutput::Subscribe(vec![f])));
                }
            }
            SessionInput::Gone(id) => {
                self.refused.remove(&id);
                // Those refused with it may be up by now.
                let retry = self.take_refused_with_media();
                if !retry.is_empty() {
                    out.push(SessionOutput::Subscribe(retry));
                }
                if let Some(p) = self.roster.remove(&id) {
                    if p.has_audio || p.has_video {
                        out.push(SessionOutput::Unsubscribe(id));
                    }
                    out.push(SessionOutput::ParticipantLeft(p));
                }
            }
            SessionInput::Broken(kind) => {
                let was_reconnecting_media = self.state == CallState::Reconnecting;
                if self.state == CallState::Connecting {
                    return out;
                }
                self.set_state(CallState::Reconnecting, &mut out);
                match kind {
                    Breakage::MediaPath if !was_reconnecting_media => {
                        out.push(SessionOutput::RestartIce)
                    }
                    Breakage::MediaPath => {}
                    Breakage::Signaling => out.push(SessionOutput::Rejoin),
                }
            }
            SessionInput::Restored => {
                if self.state == CallState::Reconnecting {
                    self.set_state(CallState::Joined, &mut out);
                }
            }
            SessionInput::Leave => {
                for (_, p) in std::mem::take(&mut self.roster) {
                    out.push(SessionOutput::ParticipantLeft(p));
                }
                self.set_state(CallState::Left, &mut out);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publisher(id: u64, name: &str, audio_muted: bool) -> Publisher {
        Publisher {
            id,
            display: name.into(),
            streams: vec![
                PublishedStream {
                    mid: "0".into(),
                    kind: MediaKind::Audio,
                    codec: Some("opus".into()),
                    disabled: false,
                    description: Some(if audio_muted { "muted" } else { "live" }.into()),
                    moderated: false,
                },
                PublishedStream {
                    mid: "1".into(),
                    kind: MediaKind::Video,
                    codec: Some("vp8".into()),
                    disabled: false,
                    description: None,
                    moderated: false,
                },
            ],
        }
    }

    fn names(out: &[SessionOutput]) -> Vec<String> {
        out.iter()
            .map(|o| match o {
                SessionOutput::State(s) => format!("state {s:?}"),
                SessionOutput::ParticipantJoined(p) => format!("joined {}", p.display),
                SessionOutput::ParticipantChanged(p) => {
                    format!("changed {} muted={}", p.display, p.audio_muted)
                }
                SessionOutput::ParticipantLeft(p) => format!("left {}", p.display),
                SessionOutput::Subscribe(ids) => format!("subscribe {ids:?}"),
                SessionOutput::Unsubscribe(id) => format!("unsubscribe {id}"),
                SessionOutput::RestartIce => "restart ice".into(),
                SessionOutput::Rejoin => "rejoin".into(),
            })
            .collect()
    }

    #[test]
    fn what_the_host_holds_is_shown_on_that_participant_and_let_go_again() {
        let mut m = SessionMachine::new();
        let mut held_camera = publisher(8, "Cy", false);
        held_camera.streams[1].moderated = true;
        m.handle(SessionInput::Joined {
            self_id: 1,
            publishers: vec![publisher(7, "Bo", false), held_camera],
        });
        let cy = m.participants().find(|p| p.id == 8).expect("Cy");
        assert!(cy.video_held && !cy.audio_held, "{cy:?}");
        assert_eq!(
            (cy.audio_mid.as_deref(), cy.video_mid.as_deref()),
            (Some("0"), Some("1"))
        );
        let hold = |id, mid: &str, held| SessionInput::Moderated {
            id,
            mid: mid.into(),
            held,
        };
        let out = m.handle(hold(7, "0", true));
        match out.as_slice() {
            [SessionOutput::ParticipantChanged(p)] => {
                assert!(p.audio_held && !p.video_held && !p.audio_muted, "{p:?}")
            }
            other => panic!("{other:?}"),
        }
        // Told twice, or of a stream they do not have, or of someone gone:
        // nothing changes.
        assert!(m.handle(hold(7, "0", true)).is_empty());
        assert!(m.handle(hold(7, "9", true)).is_empty());
        assert!(m.handle(hold(99, "0", true)).is_empty());
        // Bo's own mute, announced while held, keeps it held.
        let out = m.handle(SessionInput::Publishers(vec![publisher(7, "Bo", true)]));
        assert!(
            matches!(out.as_slice(), [SessionOutput::ParticipantChanged(p)] if p.audio_held && p.audio_muted),
            "{out:?}"
        );
        let out = m.handle(hold(7, "0", false));
        assert!(
            matches!(out.as_slice(), [SessionOutput::ParticipantChanged(p)] if !p.audio_held),
            "{out:?}"
        );
    }

    #[test]
    fn our_own_screen_share_is_neither_received_nor_listed_even_after_a_rejoin() {
        let mut m = SessionMachine::new();
        m.handle(SessionInput::Joined {
            self_id: 1,
            publishers: vec![publisher(2, "Bo", false)],
        });
        // The share announced before we knew it was ours: taken back.
        let mut share = publisher(9, "Me", false);
        share.streams[1].description = Some(SCREEN.into());
        let out = m.handle(SessionInput::Publishers(vec![share.clone()]));
        assert!(out.contains(&SessionOutput::Subscribe(vec![9])), "{out:?}");
        let listed = out.iter().find_map(|o| match o {
            SessionOutput::ParticipantJoined(p) => Some(p.clone()),
            _ => None,
        });
        assert!(
            listed.is_some_and(|p| p.screen),
            "a screen is said to be one"
        );
        let out = m.handle(SessionInput::OwnFeed(9));
        assert!(out.contains(&SessionOutput::Unsubscribe(9)), "{out:?}");
        assert!(
            out.iter()
                .any(|o| matches!(o, SessionOutput::ParticipantLeft(p) if p.id == 9))
        );
        // From then on, whatever the server says of it, and after a rejoin.
        assert!(
            m.handle(SessionInput::Publishers(vec![share.clone()]))
                .is_empty()
        );
        m.handle(SessionInput::Broken(Breakage::Signaling));
        let out = m.handle(SessionInput::Joined {
            self_id: 1,
            publishers: vec![publisher(2, "Bo", false), share],
        });
        assert!(
            !out.iter()
                .any(|o| matches!(o, SessionOutput::Subscribe(f) if f.contains(&9))),
            "{out:?}"
        );
        assert_eq!(m.participants().map(|p| p.id).collect::<Vec<_>>(), [2]);
    }

    #[test]
    fn join_follow_and_leave() {
        let mut m = SessionMachine::new();
        let out = m.handle(SessionInput::Joined {
            self_id: 1,
            publishers: vec![publisher(2, "Ann", false)],
        });
        assert_eq!(names(&out), ["state Joined", "joined Ann", "subscribe [2]"]);
        // Our own id in a list is never a participant.
        let out = m.handle(SessionInput::Publishers(vec![
            publisher(1, "me", false),
            publisher(3, "Bo", false),
        ]));
        assert_eq!(names(&out), ["joined Bo", "subscribe [3]"]);
        let out = m.handle(SessionInput::Publishers(vec![publisher(3, "Bo", true)]));
        assert_eq!(names(&out), ["changed Bo muted=true"]);
        assert!(
            m.handle(SessionInput::Publishers(vec![publisher(3, "Bo", true)]))
                .is_empty()
        );
        let out = m.handle(SessionInput::Gone(2));
        assert_eq!(names(&out), ["unsubscribe 2", "left Ann"]);
        assert!(m.handle(SessionInput::Gone(2)).is_empty());
        let out = m.handle(SessionInput::Leave);
        assert_eq!(names(&out), ["left Bo", "state Left"]);
        assert!(
            m.handle(SessionInput::Publishers(vec![publisher(4, "Cy", false)]))
                .is_empty()
        );
    }

    #[test]
    fn media_breakage_restarts_ice_once() {
        let mut m = SessionMachine::new();
        assert!(
            m.handle(SessionInput::Broken(Breakage::MediaPath))
                .is_empty()
        );
        m.handle(SessionInput::Joined {
            self_id: 1,
            publishers: vec![],
        });
        let out = m.handle(SessionInput::Broken(Breakage::MediaPath));
        assert_eq!(names(&out), ["state Reconnecting", "restart ice"]);
        assert!(
            m.handle(SessionInput::Broken(Breakage::MediaPath))
                .is_empty()
        );
        assert_eq!(names(&m.handle(SessionInput::Restored)), ["state Joined"]);
    }

    #[test]
    fn rejoin_after_server_restart_reports_only_changes() {
        let mut m = SessionMachine::new();
        m.handle(SessionInput::Joined {
            self_id: 1,
            publishers: vec![publisher(2, "Ann", false), publisher(3, "Bo", false)],
        });
        let out = m.handle(SessionInput::Broken(Breakage::Signaling));
        assert_eq!(names(&out), ["state Reconnecting", "rejoin"]);
        // Clients choose their publisher ids, so they survive a Janus
        // restart: Ann came back, Bo did not.
        let out = m.handle(SessionInput::Joined {
            self_id: 1,
            publishers: vec![publisher(2, "Ann", false)],
        });
        assert_eq!(names(&out), ["left Bo", "state Joined", "subscribe [2]"]);
    }

    /// Janus can announce a publisher before its connection is up (a
    /// description changed early); subscribing then is refused. The next
    /// announcement, when it is up, must bring the subscription, or the
    /// others never see or hear that participant.
    #[test]
    fn a_refused_subscription_is_tried_again_at_the_next_announcement() {
        let mut m = SessionMachine::new();
        m.handle(SessionInput::Joined {
            self_id: 1,
            publishers: vec![],
        });
        let out = m.handle(SessionInput::Publishers(vec![publisher(2, "Ann", true)]));
        assert_eq!(names(&out), ["joined Ann", "subscribe [2]"]);
        assert!(m.handle(SessionInput::SubscribeRefused(vec![2])).is_empty());
        // The same Ann, announced again once she is up.
        let out = m.handle(SessionInput::Publishers(vec![publisher(2, "Ann", true)]));
        assert_eq!(names(&out), ["subscribe [2]"]);
        // Once only.
        assert!(
            m.handle(SessionInput::Publishers(vec![publisher(2, "Ann", true)]))
                .is_empty()
        );
        // Refused, then gone: nothing to try again.
        m.handle(SessionInput::SubscribeRefused(vec![2]));
        let out = m.handle(SessionInput::Gone(2));
        assert_eq!(names(&out), ["unsubscribe 2", "left Ann"]);
        let out = m.handle(SessionInput::Publishers(vec![publisher(3, "Bo", false)]));
        assert_eq!(names(&out), ["joined Bo", "subscribe [3]"]);
    }

    /// One feed not up fails a whole request: the others must not wait for
    /// it. They are tried one by one; the one not up waits for an
    /// announcement, or for the one not up to leave.
    #[test]
    fn a_refused_batch_is_tried_feed_by_feed_and_a_leave_retries_the_rest() {
        let mut m = SessionMachine::new();
        let out = m.handle(SessionInput::Joined {
            self_id: 1,
            publishers: vec![publisher(2, "Ann", false), publisher(3, "Bo", false)],
        });
        assert_eq!(names(&out)[3..], ["subscribe [2, 3]"]);
        let out = m.handle(SessionInput::SubscribeRefused(vec![2, 3]));
        assert_eq!(names(&out), ["subscribe [2]", "subscribe [3]"]);
        // Ann was subscribed; Bo is refused on his own and waits.
        assert!(m.handle(SessionInput::SubscribeRefused(vec![3])).is_empty());
        // Someone else leaving is a time to try Bo again.
        m.handle(SessionInput::Publishers(vec![publisher(4, "Cy", false)]));
        m.handle(SessionInput::SubscribeRefused(vec![3]));
        let out = m.handle(SessionInput::Gone(4));
        assert_eq!(names(&out), ["subscribe [3]", "unsubscribe 4", "left Cy"]);
        // A rejoin subscribes to everyone anew and forgets what was refused.
        m.handle(SessionInput::SubscribeRefused(vec![3]));
        m.handle(SessionInput::Broken(Breakage::Signaling));
        let out = m.handle(SessionInput::Joined {
            self_id: 1,
            publishers: vec![publisher(2, "Ann", false), publisher(3, "Bo", false)],
        });
        assert_eq!(names(&out), ["state Joined", "subscribe [2, 3]"]);
        assert!(
            m.handle(SessionInput::Publishers(vec![publisher(3, "Bo", false)]))
                .is_empty()
        );
    }
}
