//! The meeting's chat on the command line: `say TEXT` to everyone,
//! `whisper NAME: TEXT` to one person, and every message printed as a
//! line (`[chat] Ann: hello`); `hand up`, `hand down` and `react EMOJI`,
//! with the queue of hands printed whenever it changes (`[hands] Ann,
//! Bob`) and reactions as they come (`[reaction] Ann: 👍`); files (see
//! `shared_files`). The chat connects beside the call; a chat that cannot
//! connect is a warning, and the call goes on.

use std::collections::BTreeMap;
use std::sync::Arc;

use talkline_media::display::Tiles;

use talkline_meeting::MeetingError;
use talkline_meeting::chat::{self, Chat, ChatEvent, ChatMessage, RaisedHand, SideEvent};
use tokio::task::JoinHandle;

use crate::said::{self, said, say};
use crate::shared_files::SharedFiles;

type Opening = JoinHandle<Result<Chat, MeetingError>>;

/// The chat of this run: connecting, connected, or given up on.
pub struct ChatLine {
    opening: Option<Opening>,
    chat: Option<Chat>,
    /// Why the chat is gone, once it is (what `say` then answers).
    gone: Option<String>,
    /// Everyone else in the chat: username → name shown.
    people: BTreeMap<String, String>,
    files: SharedFiles,
    /// The pictures of screens shared, for the board's `save`.
    tiles: Arc<Tiles>,
}

impl ChatLine {
    /// Starts connecting to the chat of the meeting joined (`meeting`:
    /// where, and as whom), as the participant of `feed`.
    pub fn open(meeting: &crate::screen::ShareTarget, feed: u64, tiles: Arc<Tiles>) -> Self {
        let crate::screen::ShareTarget {
            server,
            room,
            pin,
            entry_token,
            display,
            ice,
            ..
        } = meeting;
        let (server, room, pin, entry_token, name, ice) = (
            server.clone(),
            *room,
            pin.clone(),
            entry_token.clone(),
            display.clone(),
            ice.clone(),
        );
        let opening = tokio::spawn(async move {
            chat::open(
                &server,
                room,
                pin.as_deref(),
                entry_token.as_ref(),
                &name,
                Some(feed),
                &ice,
            )
            .await
        });
        Self {
            opening: Some(opening),
            chat: None,
            gone: None,
            people: BTreeMap::new(),
            files: SharedFiles::default(),
            tiles,
        }
    }

    /// Waits for the chat to connect (or says why it could not).
    async fn connected(&mut self) {
        let Some(opening) = self.opening.as_mut() else {
            return;
        };
        let result = opening.await;
        self.opening = None;
        match result {
            Ok(Ok(chat)) => self.chat = Some(chat),
            Ok(Err(e)) => {
                let e = said(&e);
                said::warning(say!(
                    "the chat is not available: {e}; the call goes on",
                    "聊天不可用：{e}；通话继续"
                ));
                self.gone = Some(e);
            }
            Err(_) => {
                let e = said(&MeetingError::ChatClosed);
                said::warning(&e);
                self.gone = Some(e);
            }
        }
    }

    /// The next thing that happens in the chat (once it has connected).
    /// Cancel-safe: the connection under way and the events are kept.
    pub async fn next_event(&mut self) -> Option<ChatEvent> {
        self.connected().await;
        match self.chat.as_mut() {
            Some(chat) => chat.events.recv().await,
            None => std::future::pending().await,
        }
    }

    /// Prints what happened; keeps the list of people.
    pub fn show(&mut self, event: ChatEvent) {
        match event {
            ChatEvent::Joined(people) => {
                self.people = people
                    .into_iter()
                    .map(|p| (p.username, p.display))
                    .collect();
                println!("{}", say!("chat ready", "聊天已就绪"));
            }
            ChatEvent::JoinRefused(e) => {
                let e = said(&e);
                said::warning(say!("the chat is not available: {e}", "聊天不可用：{e}"));
                self.chat = None;
                self.gone = Some(e);
            }
            ChatEvent::Message(message) => print_message(&message),
            ChatEvent::PersonJoined(p) => {
                self.people.insert(p.username, p.display);
            }
            ChatEvent::PersonLeft(p) => {
                self.people.remove(&p.username);
            }
            ChatEvent::Reconnecting => {
                said::warning(say!(
                    "the chat's connection was lost: reconnecting…",
                    "聊天连接已断开：正在重新连接…"
                ));
            }
            ChatEvent::NotSent { id, why } => {
                let why = said(&why);
                said::error(say!(
                    "chat message {id} was not sent: {why}",
                    "第 {id} 条聊天消息没有发出：{why}"
                ));
            }
            ChatEvent::Side(SideEvent::Ready) => {
                println!("{}", say!("hands ready", "举手已就绪"));
            }
            ChatEvent::Side(SideEvent::Unavailable(e)) => said::warning(said(&e)),
            ChatEvent::Side(SideEvent::Hands { hands, .. }) => print_hands(&hands),
            ChatEvent::Side(SideEvent::File(event)) => self.files.show(event),
            ChatEvent::Side(SideEvent::Board(event)) => crate::board::show(event),
            ChatEvent::Side(SideEvent::Recording(r)) => match (&r.started, r.others.is_empty()) {
                (Some(who), _) => println!(
                    "{}",
                    say!(
                        "● {who} is recording this meeting",
                        "● {who} 正在录制本次会议"
                    )
                ),
                (None, true) => println!(
                    "{}",
                    say!(
                        "nobody else is recording this meeting now",
                        "现在没有其他人在录制本次会议"
                    )
                ),
                (None, false) => {
                    let who = r.others.join(", ");
                    println!(
                        "{}",
                        say!(
                            "● recording this meeting: {who}",
                            "● 正在录制本次会议：{who}"
                        )
                    );
                }
            },
            ChatEvent::Side(SideEvent::Reaction(r)) => {
                let (who, emoji) = (&r.display, r.emoji);
                if r.own {
                    println!(
                        "{}",
                        say!("[reaction, sent] {emoji}", "[表情回应，已发送] {emoji}")
                    );
                } else {
                    println!(
                        "{}",
                        say!("[reaction] {who}: {emoji}", "[表情回应] {who}：{emoji}")
                    );
                }
            }
        }
    }

    /// Whether `line` is one of the chat's commands: `say TEXT`, `whisper
    /// NAME: TEXT`, `hand up`, `hand down`, `react EMOJI`.
    pub fn understands(line: &str) -> bool {
        [
            "say ", "whisper ", "hand ", "react ", "file ", "file-to ", "save ",
        ]
        .iter()
        .any(|command| line.starts_with(command))
            || crate::board::understands(line)
    }

    /// Runs one of the chat's commands (see `understands`).
    pub async fn command(&mut self, line: &str) {
        if crate::board::understands(line) {
            let Some(chat) = self.chat.as_ref() else {
                return self.not_available();
            };
            return crate::board::command(chat, &self.tiles, line).await;
        }
        if let Some(text) = line.strip_prefix("say ") {
            return self.send(text, None).await;
        }
        if let Some(emoji) = line.strip_prefix("react ") {
            return self.react(emoji.trim()).await;
        }
        if let Some(path) = line.strip_prefix("file ") {
            let Some(chat) = self.chat.as_ref() else {
                return self.not_available();
            };
            return self.files.offer(chat, path, None).await;
        }
        if let Some(rest) = line.strip_prefix("file-to ") {
            let Some((name, path)) = rest.split_once(':') else {
                return said::error(say!("file-to NAME: PATH", "file-to 名字: 路径"));
            };
            let Some(username) = self.username_of(name.trim()) else {
                return;
            };
            let Some(chat) = self.chat.as_ref() else {
                return self.not_available();
            };
            let to = (username.as_str(), name.trim());
            return self.files.offer(chat, path, Some(to)).await;
        }
        if let Some(args) = line.strip_prefix("save ") {
            let Some(chat) = self.chat.as_ref() else {
                return self.not_available();
            };
            return self.files.save(chat, args).await;
        }
        match line {
            "hand up" => return self.raise_hand(true).await,
            "hand down" => return self.raise_hand(false).await,
            _ => {}
        }
        match line
            .strip_prefix("whisper ")
            .and_then(|l| l.split_once(':'))
        {
            Some((to, text)) => self.send(text.trim_start(), Some(to.trim())).await,
            None if line.starts_with("hand ") => {
                said::error(say!("hand up, or hand down", "hand up 或 hand down"));
            }
            None => said::error(say!("whisper NAME: TEXT", "whisper 名字: 内容")),
        }
    }

    /// `hand up` or `hand down`.
    async fn raise_hand(&mut self, up: bool) {
        let Some(chat) = self.chat.as_ref() else {
            return self.not_available();
        };
        if let Err(e) = chat.raise_hand(up).await {
            said::error(said(&e));
        }
    }

    /// `react EMOJI`.
    async fn react(&mut self, emoji: &str) {
        let Some(chat) = self.chat.as_ref() else {
            return self.not_available();
        };
        if let Err(e) = chat.react(emoji).await {
            said::error(said(&e));
        }
    }

    /// Tells everyone that this run records the meeting, or stopped. A
    /// recording does not start when nobody can be told.
    pub async fn tell_recording(&mut self, on: bool) -> Result<(), MeetingError> {
        self.connected().await;
        match self.chat.as_ref() {
            Some(chat) => chat.set_recording(on).await,
            None => Err(MeetingError::ChatUnavailable(
                self.gone.clone().unwrap_or_default(),
            )),
        }
    }

    fn not_available(&self) {
        match &self.gone {
            Some(why) => said::error(say!(
                "the chat is not available: {why}",
                "聊天不可用：{why}"
            )),
            None => said::error(said(&MeetingError::ChatNotReady)),
        }
    }

    /// `say TEXT`, or `whisper NAME: TEXT`.
    async fn send(&mut self, text: &str, to_name: Option<&str>) {
        let Some(chat) = self.chat.as_ref() else {
            return self.not_available();
        };
        let to = match to_name {
            None => None,
            Some(name) => match self.username_of(name) {
                Some(username) => Some(username),
                None => return,
            },
        };
        match chat.send(text, to.as_deref()).await {
            Ok(message) => print_message(&message),
            Err(e) => said::error(said(&e)),
        }
    }

    /// The chat username of the one person called `name` (or why not).
    fn username_of(&self, name: &str) -> Option<String> {
        let named: Vec<&String> = self
            .people
            .iter()
            .filter(|(_, display)| display.as_str() == name)
            .map(|(username, _)| username)
            .collect();
        match named.as_slice() {
            [one] => Some((*one).clone()),
            [] => {
                said::error(say!(
                    "nobody called {name:?} in the chat",
                    "聊天中没有名叫 {name:?} 的人"
                ));
                None
            }
            _ => {
                said::error(say!(
                    "more than one person is called {name:?}: nothing was sent",
                    "有不止一人名叫 {name:?}：没有发送"
                ));
                None
            }
        }
    }

    pub async fn leave(self) {
        if let Some(opening) = self.opening {
            opening.abort();
        }
        if let Some(chat) = self.chat {
            chat.leave().await;
        }
    }
}

/// One message as a line (more lines indented). Control characters other
/// than line breaks and tabs are shown as `�`: a message must not drive
/// the terminal (colours, the title, the cursor). Our own lines begin
/// `[chat, sent`; everyone else's begin `[chat]` or `[chat, to you]` and
/// their name, so nobody can pass for us by their name.
fn print_message(m: &ChatMessage) {
    let text = said::printable(&m.text).replace('\n', "\n    ");
    let cut = if m.cut {
        said::language().pick(" (cut)", "（已截断）")
    } else {
        ""
    };
    let who = &m.display;
    let line = match (m.own, m.private, &m.to) {
        (true, true, Some(to)) => {
            let to = &to.display;
            say!(
                "[chat, sent to {to}] {text}{cut}",
                "[聊天，已发给 {to}] {text}{cut}"
            )
        }
        (true, _, _) => say!("[chat, sent] {text}{cut}", "[聊天，已发送] {text}{cut}"),
        (false, true, _) => say!(
            "[chat, to you] {who}: {text}{cut}",
            "[聊天，只发给我] {who}：{text}{cut}"
        ),
        (false, false, _) => say!("[chat] {who}: {text}{cut}", "[聊天] {who}：{text}{cut}"),
    };
    println!("{line}");
}

/// The queue of raised hands, first raised first, as one line: names only
/// (cleaned of control characters by the core); ours marked.
fn print_hands(hands: &[RaisedHand]) {
    let names: Vec<String> = hands
        .iter()
        .map(|h| {
            let name = said::printable(&h.display);
            if h.own {
                said::language().pick("you", "我").to_string()
            } else {
                name
            }
        })
        .collect();
    if names.is_empty() {
        println!("{}", say!("[hands] none", "[举手] 无"));
    } else {
        let list = names.join(", ");
        println!("{}", say!("[hands] {list}", "[举手] {list}"));
    }
}
