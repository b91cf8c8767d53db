//! The chat of the meeting the app is in, with its raised hands and
//! reactions: connected beside the call once it has joined, its messages
//! and the queue of hands kept for the length of the meeting (the chat
//! panel may open late, or the window reload), each change told to the UI
//! as it comes. A chat that cannot connect is said in the panel; the call
//! goes on.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::Serialize;
use talkline_meeting::chat::{
    self, ChatEvent, ChatMessage, MAX_CHAT_HISTORY, RaisedHand, Reaction, SideEvent,
};
use talkline_meeting::ice_servers::IceServers;
use talkline_meeting::{MeetingError, ServerUrl};
use talkline_privacy::{Language, Translated};
use tokio::sync::{mpsc, oneshot};

use crate::error::{AppError, Said};
use crate::events::{AppEvent, EventSink};
use crate::meeting_board::{BoardChange, BoardCommand};
use crate::meeting_files::{FileUpdate, FileView, MeetingFiles};

/// A message as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessageView {
    pub id: u64,
    /// The sender's chat username (what a reply to them alone is sent to).
    pub from: String,
    pub display: String,
    pub text: String,
    pub private: bool,
    /// Whom we sent it to, when we sent it to one person.
    pub to: Option<String>,
    pub own: bool,
    pub at: Option<String>,
    pub cut: bool,
    /// Said before we joined (the meeting's history): not news.
    pub history: bool,
    /// Why the server did not take it, for one of ours it refused.
    pub not_sent: Option<String>,
}

impl From<&ChatMessage> for ChatMessageView {
    fn from(m: &ChatMessage) -> Self {
        Self {
            id: m.id,
            from: m.from.clone(),
            display: m.display.clone(),
            text: m.text.clone(),
            private: m.private,
            to: m.to.as_ref().map(|p| p.display.clone()),
            own: m.own,
            at: m.at.clone(),
            cut: m.cut,
            history: m.history,
            not_sent: None,
        }
    }
}

/// Someone a message can be sent to alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatPersonView {
    pub username: String,
    pub display: String,
}

/// A raised hand, as the UI shows it (on the tile of `feed`, and in the
/// queue at the top of People).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HandView {
    pub display: String,
    pub feed: Option<u64>,
    pub own: bool,
}

impl From<&RaisedHand> for HandView {
    fn from(h: &RaisedHand) -> Self {
        Self {
            display: h.display.clone(),
            feed: h.feed,
            own: h.own,
        }
    }
}

/// A reaction to show for a moment over the tile of `feed`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReactionView {
    pub display: String,
    pub feed: Option<u64>,
    pub emoji: &'static str,
    pub own: bool,
}

impl From<&Reaction> for ReactionView {
    fn from(r: &Reaction) -> Self {
        Self {
            display: r.display.clone(),
            feed: r.feed,
            emoji: r.emoji,
            own: r.own,
        }
    }
}

/// The chat as it is now: for a panel that opens late.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatSnapshot {
    /// "connecting", "ready" or "unavailable".
    pub state: &'static str,
    /// Why it is unavailable, in the language in force.
    pub reason: Option<String>,
    pub messages: Vec<ChatMessageView>,
    pub people: Vec<ChatPersonView>,
    /// Hands can be raised and reactions sent.
    pub hands_ready: bool,
    /// Our hand, as we last asked for it.
    pub hand_up: bool,
    /// The queue of raised hands, first raised first.
    pub hands: Vec<HandView>,
    /// Files offered in the meeting, ours too, oldest first.
    pub files: Vec<FileView>,
    /// Everyone else who records the meeting on their device.
    pub recorders: Vec<String>,
}

enum Command {
    Send {
        text: String,
        to: Option<String>,
        reply: oneshot::Sender<Result<ChatMessageView, AppError>>,
    },
    Hand {
        up: bool,
        reply: oneshot::Sender<Result<(), AppError>>,
    },
    Recording {
        on: bool,
        reply: oneshot::Sender<Result<(), AppError>>,
    },
    React {
        emoji: String,
        reply: oneshot::Sender<Result<(), AppError>>,
    },
    OfferFile {
        name: String,
        bytes: Vec<u8>,
        to: Option<String>,
        reply: oneshot::Sender<Result<FileView, AppError>>,
    },
    SaveFile {
        id: String,
        reply: oneshot::Sender<Result<FileView, AppError>>,
    },
    Snapshot(oneshot::Sender<ChatSnapshot>),
    Board(BoardCommand),
    Leave(oneshot::Sender<()>),
}

/// The meeting's chat, run by a task of its own (a handle to it: cloned
/// out of the call's lock, so nothing waits on the network under it).
#[derive(Clone)]
pub struct MeetingChat {
    commands: mpsc::UnboundedSender<Command>,
}

/// Where the chat connects, and as whom.
pub struct ChatTarget {
    pub server: ServerUrl,
    pub room: u64,
    pub pin: Option<String>,
    /// What let us into the meeting (a host's, or one given in the
    /// waiting room): the chat of a meeting with a waiting room needs it.
    pub entry_token: Option<talkline_meeting::host::Secret>,
    pub display: String,
    /// Our feed in the meeting: the tile our hand is shown on.
    pub feed: u64,
    /// Where files received are saved (the user's Downloads).
    pub files_dir: std::path::PathBuf,
    pub ice: IceServers,
}

impl MeetingChat {
    pub fn open(target: ChatTarget, language: Language, sink: Arc<dyn EventSink>) -> Self {
        let (commands, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(target, language, sink, rx));
        Self { commands }
    }

    pub async fn send(&self, text: &str, to: Option<&str>) -> Result<ChatMessageView, AppError> {
        let (reply, answer) = oneshot::channel();
        let closed = || AppError::from(MeetingError::ChatClosed);
        self.commands
            .send(Command::Send {
                text: text.to_string(),
                to: to.map(str::to_string),
                reply,
            })
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    pub async fn raise_hand(&self, up: bool) -> Result<(), AppError> {
        let (reply, answer) = oneshot::channel();
        let closed = || AppError::from(MeetingError::ChatClosed);
        self.commands
            .send(Command::Hand { up, reply })
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    /// Tells everyone we record the meeting on this device, or stopped.
    pub async fn set_recording(&self, on: bool) -> Result<(), AppError> {
        let (reply, answer) = oneshot::channel();
        let closed = || AppError::from(MeetingError::ChatClosed);
        self.commands
            .send(Command::Recording { on, reply })
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    pub async fn react(&self, emoji: &str) -> Result<(), AppError> {
        let (reply, answer) = oneshot::channel();
        let closed = || AppError::from(MeetingError::ChatClosed);
        self.commands
            .send(Command::React {
                emoji: emoji.to_string(),
                reply,
            })
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    /// Offers a file to everyone, or to the person whose chat username is `to`.
    pub async fn offer_file(
        &self,
        name: &str,
        bytes: Vec<u8>,
        to: Option<&str>,
    ) -> Result<FileView, AppError> {
        let (reply, answer) = oneshot::channel();
        let closed = || AppError::from(MeetingError::ChatClosed);
        self.commands
            .send(Command::OfferFile {
                name: name.to_string(),
                bytes,
                to: to.map(str::to_string),
                reply,
            })
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    /// Asks for the file offered as `id`; it is saved once it has arrived.
    pub async fn save_file(&self, id: &str) -> Result<FileView, AppError> {
        let (reply, answer) = oneshot::channel();
        let closed = || AppError::from(MeetingError::ChatClosed);
        self.commands
            .send(Command::SaveFile {
                id: id.to_string(),
                reply,
            })
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    /// Hands a request to the boards (see `meeting_board`).
    pub(crate) fn board(&self, command: BoardCommand) -> Result<(), AppError> {
        self.commands
            .send(Command::Board(command))
            .map_err(|_| AppError::from(MeetingError::ChatClosed))
    }

    pub async fn snapshot(&self) -> Option<ChatSnapshot> {
        let (reply, answer) = oneshot::channel();
        self.commands.send(Command::Snapshot(reply)).ok()?;
        answer.await.ok()
    }

    pub async fn leave(&self) {
        let (done, wait) = oneshot::channel();
        if self.commands.send(Command::Leave(done)).is_ok() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(3), wait).await;
        }
    }
}

struct Kept {
    state: &'static str,
    reason: Option<String>,
    messages: VecDeque<ChatMessageView>,
    people: Vec<ChatPersonView>,
    hands_ready: bool,
    /// Our hand as we last asked for it (the queue shows it once relayed).
    hand_up: bool,
    hands: Vec<HandView>,
    recorders: Vec<String>,
    files: MeetingFiles,
    /// Files saved off the runtime come back here (id, folder, where).
    saved: mpsc::UnboundedSender<Saved>,
}

type Saved = (
    String,
    std::path::PathBuf,
    std::io::Result<std::path::PathBuf>,
);

impl Kept {
    fn snapshot(&self) -> ChatSnapshot {
        ChatSnapshot {
            state: self.state,
            reason: self.reason.clone(),
            messages: self.messages.iter().cloned().collect(),
            people: self.people.clone(),
            hands_ready: self.hands_ready,
            hand_up: self.hand_up,
            hands: self.hands.clone(),
            files: self.files.views(),
            recorders: self.recorders.clone(),
        }
    }

    fn file_event(
        &mut self,
        event: talkline_meeting::chat::FileEvent,
        language: Language,
        sink: &Arc<dyn EventSink>,
    ) {
        match self.files.event(event, language) {
            Some(FileUpdate::Show(file)) => sink.emit(AppEvent::File { file }),
            // Up to 16 MiB written and synced: not on the runtime's threads.
            Some(FileUpdate::Save(file)) => {
                let saved = self.saved.clone();
                tokio::task::spawn_blocking(move || {
                    let result = file.save();
                    let _ = saved.send((file.id, file.folder, result));
                });
            }
            None => {}
        }
    }

    fn hands_changed(&self, sink: &Arc<dyn EventSink>, raised: Option<HandView>) {
        sink.emit(AppEvent::Hands {
            ready: self.hands_ready,
            hand_up: self.hand_up,
            hands: self.hands.clone(),
            raised,
        });
    }

    fn side_event(&mut self, event: SideEvent, language: Language, sink: &Arc<dyn EventSink>) {
        let mut raised = None;
        match event {
            SideEvent::Ready => self.hands_ready = true,
            SideEvent::Unavailable(e) => {
                log::info!("no hands or reactions: {}", e.for_logs());
                self.hands_ready = false;
                self.hands.clear();
            }
            SideEvent::Hands { hands, raised: r } => {
                self.hands = hands.iter().map(HandView::from).collect();
                raised = r.as_ref().map(HandView::from);
            }
            SideEvent::Reaction(r) => {
                sink.emit(AppEvent::Reaction {
                    reaction: ReactionView::from(&r),
                });
                return;
            }
            SideEvent::File(event) => {
                self.file_event(event, language, sink);
                return;
            }
            SideEvent::Board(event) => {
                sink.emit(AppEvent::Board {
                    change: BoardChange::from(event),
                });
                return;
            }
            SideEvent::Recording(r) => {
                self.recorders = r.others;
                sink.emit(AppEvent::Recorders {
                    others: self.recorders.clone(),
                    started: r.started,
                });
                return;
            }
        }
        self.hands_changed(sink, raised);
    }

    fn keep(&mut self, message: ChatMessageView) {
        if self.messages.len() == MAX_CHAT_HISTORY {
            self.messages.pop_front();
        }
        self.messages.push_back(message);
    }

    fn unavailable(&mut self, why: &MeetingError, language: Language, sink: &Arc<dyn EventSink>) {
        self.state = "unavailable";
        self.reason = Some(why.said_in(language));
        sink.emit(AppEvent::ChatState {
            state: self.state,
            reason: self.reason.clone(),
        });
    }
}

async fn run(
    target: ChatTarget,
    language: Language,
    sink: Arc<dyn EventSink>,
    mut commands: mpsc::UnboundedReceiver<Command>,
) {
    let (saved_tx, mut saved_rx) = mpsc::unbounded_channel::<Saved>();
    let mut kept = Kept {
        state: "connecting",
        reason: None,
        messages: VecDeque::new(),
        people: Vec::new(),
        hands_ready: false,
        hand_up: false,
        hands: Vec::new(),
        recorders: Vec::new(),
        files: MeetingFiles::default(),
        saved: saved_tx,
    };
    sink.emit(AppEvent::ChatState {
        state: kept.state,
        reason: None,
    });
    let opening = chat::open(
        &target.server,
        target.room,
        target.pin.as_deref(),
        target.entry_token.as_ref(),
        &target.display,
        Some(target.feed),
        &target.ice,
    );
    tokio::pin!(opening);
    // Until connected: a snapshot says "connecting", a message waits for
    // nothing (it is refused: not ready), a leave ends it.
    let mut chat = loop {
        tokio::select! {
            opened = &mut opening => match opened {
                Ok(chat) => break chat,
                Err(e) => {
                    log::warn!("no chat: {}", e.for_logs());
                    kept.unavailable(&e, language, &sink);
                    serve_without_chat(&mut kept, commands, language, &sink).await;
                    return;
                }
            },
            command = commands.recv() => match command {
                Some(Command::Send { reply, .. }) => {
                    let _ = reply.send(Err(MeetingError::ChatNotReady.into()));
                }
                Some(Command::Hand { reply, .. } | Command::React { reply, .. } | Command::Recording { reply, .. }) => {
                    let _ = reply.send(Err(MeetingError::HandsNotReady.into()));
                }
                Some(Command::OfferFile { reply, .. } | Command::SaveFile { reply, .. }) => {
                    let _ = reply.send(Err(MeetingError::HandsNotReady.into()));
                }
                Some(Command::Snapshot(reply)) => {
                    let _ = reply.send(kept.snapshot());
                }
                Some(Command::Board(command)) => command.refuse(MeetingError::HandsNotReady.into()),
                Some(Command::Leave(done)) => {
                    let _ = done.send(());
                    return;
                }
                None => return,
            },
        }
    };
    let leaving = loop {
        tokio::select! {
            Some((id, folder, result)) = saved_rx.recv() => {
                if let Some(file) = kept.files.saved(&id, &folder, result, language) {
                    sink.emit(AppEvent::File { file });
                }
            }
            event = chat.events.recv() => match event {
                Some(ChatEvent::Joined(people)) => {
                    kept.state = "ready";
                    kept.people = people.iter().map(|p| ChatPersonView { username: p.username.clone(), display: p.display.clone() }).collect();
                    sink.emit(AppEvent::ChatState { state: kept.state, reason: None });
                    sink.emit(AppEvent::ChatPeople { people: kept.people.clone() });
                }
                Some(ChatEvent::JoinRefused(e)) => kept.unavailable(&e, language, &sink),
                Some(ChatEvent::Message(m)) => {
                    let view = ChatMessageView::from(&m);
                    kept.keep(view.clone());
                    sink.emit(AppEvent::ChatMessage { message: view });
                }
                Some(ChatEvent::PersonJoined(p)) => {
                    kept.people.retain(|q| q.username != p.username);
                    kept.people.push(ChatPersonView { username: p.username, display: p.display });
                    kept.people.sort_by(|a, b| a.display.cmp(&b.display));
                    sink.emit(AppEvent::ChatPeople { people: kept.people.clone() });
                }
                Some(ChatEvent::PersonLeft(p)) => {
                    kept.people.retain(|q| q.username != p.username);
                    sink.emit(AppEvent::ChatPeople { people: kept.people.clone() });
                }
                Some(ChatEvent::Reconnecting) => {
                    kept.state = "connecting";
                    kept.reason = None;
                    sink.emit(AppEvent::ChatState { state: kept.state, reason: None });
                    kept.hands_ready = false;
                    kept.hands_changed(&sink, None);
                }
                Some(ChatEvent::Side(event)) => kept.side_event(event, language, &sink),
                Some(ChatEvent::NotSent { id, why }) => {
                    let reason = why.said_in(language);
                    // Kept with it: a panel that loads later shows it too.
                    if let Some(m) = kept.messages.iter_mut().find(|m| m.id == id) {
                        m.not_sent = Some(reason.clone());
                    }
                    sink.emit(AppEvent::ChatNotSent { id, reason });
                }
                None => {
                    // Refused for good (said already, with its reason), or gone.
                    if kept.state != "unavailable" {
                        kept.unavailable(&MeetingError::ChatClosed, language, &sink);
                    }
                    break None;
                }
            },
            command = commands.recv() => match command {
                Some(Command::Send { text, to, reply }) => {
                    let sent = chat.send(&text, to.as_deref()).await.map(|m| {
                        let view = ChatMessageView::from(&m);
                        kept.keep(view.clone());
                        view
                    });
                    let _ = reply.send(sent.map_err(AppError::from));
                }
                Some(Command::Hand { up, reply }) => {
                    let raised = chat.raise_hand(up).await;
                    if raised.is_ok() && kept.hand_up != up {
                        kept.hand_up = up;
                        kept.hands_changed(&sink, None);
                    }
                    let _ = reply.send(raised.map_err(AppError::from));
                }
                Some(Command::React { emoji, reply }) => {
                    let _ = reply.send(chat.react(&emoji).await.map_err(AppError::from));
                }
                Some(Command::Recording { on, reply }) => {
                    let _ = reply.send(chat.set_recording(on).await.map_err(AppError::from));
                }
                Some(Command::OfferFile { name, bytes, to, reply }) => {
                    let offered = chat.offer_file(&name, bytes, to.as_deref()).await;
                    let _ = reply.send(offered.map(|o| kept.files.offered(&o)).map_err(AppError::from));
                }
                Some(Command::SaveFile { id, reply }) => {
                    let asked = chat.download(&id).await.map_err(AppError::from).and_then(|()| {
                        kept.files
                            .receiving(&id, target.files_dir.clone())
                            .ok_or_else(|| MeetingError::FileGone.into())
                    });
                    if let Ok(file) = &asked {
                        sink.emit(AppEvent::File { file: file.clone() });
                    }
                    let _ = reply.send(asked);
                }
                Some(Command::Snapshot(reply)) => {
                    let _ = reply.send(kept.snapshot());
                }
                Some(Command::Board(command)) => command.run(&chat).await,
                Some(Command::Leave(done)) => break Some(done),
                None => break None,
            },
        }
    };
    chat.leave().await;
    if let Some(done) = leaving {
        let _ = done.send(());
    } else {
        serve_without_chat(&mut kept, commands, language, &sink).await;
    }
}

/// A chat that is gone still answers: its messages so far, and why
/// nothing more can be sent.
async fn serve_without_chat(
    kept: &mut Kept,
    mut commands: mpsc::UnboundedReceiver<Command>,
    language: Language,
    sink: &Arc<dyn EventSink>,
) {
    if kept.hands_ready || !kept.hands.is_empty() || kept.hand_up {
        kept.hands_ready = false;
        kept.hand_up = false;
        kept.hands.clear();
        kept.hands_changed(sink, None);
    }
    while let Some(command) = commands.recv().await {
        let why = || {
            let why = kept
                .reason
                .clone()
                .unwrap_or_else(|| MeetingError::ChatClosed.said_in(language));
            AppError::Connection(Said::from(why))
        };
        match command {
            Command::Send { reply, .. } => {
                let _ = reply.send(Err(why()));
            }
            Command::Hand { reply, .. }
            | Command::React { reply, .. }
            | Command::Recording { reply, .. } => {
                let _ = reply.send(Err(why()));
            }
            Command::OfferFile { reply, .. } | Command::SaveFile { reply, .. } => {
                let _ = reply.send(Err(why()));
            }
            Command::Snapshot(reply) => {
                let _ = reply.send(kept.snapshot());
            }
            Command::Board(command) => command.refuse(why()),
            Command::Leave(done) => {
                let _ = done.send(());
                return;
            }
        }
    }
}

impl crate::AppCore {
    pub(crate) async fn meeting_chat(&self) -> Option<MeetingChat> {
        self.call.lock().await.as_ref().and_then(|c| c.chat.clone())
    }

    /// Sends `text` to everyone in the meeting, or to the person whose
    /// chat username is `to`.
    pub async fn send_chat(
        &self,
        text: &str,
        to: Option<&str>,
    ) -> Result<ChatMessageView, AppError> {
        let chat = self
            .meeting_chat()
            .await
            .ok_or_else(|| AppError::State(Said::new("not in a meeting", "当前不在会议中")))?;
        chat.send(text, to).await
    }

    /// Raises our hand in the meeting, or lowers it.
    pub async fn raise_hand(&self, up: bool) -> Result<(), AppError> {
        self.meeting_chat()
            .await
            .ok_or_else(|| AppError::State(Said::new("not in a meeting", "当前不在会议中")))?
            .raise_hand(up)
            .await
    }

    /// Sends a reaction to everyone in the meeting.
    pub async fn send_reaction(&self, emoji: &str) -> Result<(), AppError> {
        self.meeting_chat()
            .await
            .ok_or_else(|| AppError::State(Said::new("not in a meeting", "当前不在会议中")))?
            .react(emoji)
            .await
    }

    /// Offers a file to everyone in the meeting, or to the person whose
    /// chat username is `to`.
    pub async fn share_file(
        &self,
        name: &str,
        bytes: Vec<u8>,
        to: Option<&str>,
    ) -> Result<FileView, AppError> {
        self.meeting_chat()
            .await
            .ok_or_else(|| AppError::State(Said::new("not in a meeting", "当前不在会议中")))?
            .offer_file(name, bytes, to)
            .await
    }

    /// Asks for a file offered in the meeting; it is saved in Downloads
    /// once it has arrived whole.
    pub async fn save_shared_file(&self, id: &str) -> Result<FileView, AppError> {
        self.meeting_chat()
            .await
            .ok_or_else(|| AppError::State(Said::new("not in a meeting", "当前不在会议中")))?
            .save_file(id)
            .await
    }

    /// The chat as it is now (empty outside a meeting).
    pub async fn chat_snapshot(&self) -> ChatSnapshot {
        match self.meeting_chat().await {
            Some(chat) => chat.snapshot().await,
            None => None,
        }
        .unwrap_or(ChatSnapshot {
            state: "unavailable",
            reason: None,
            messages: Vec::new(),
            people: Vec::new(),
            hands_ready: false,
            hand_up: false,
            hands: Vec::new(),
            files: Vec::new(),
            recorders: Vec::new(),
        })
    }
}
