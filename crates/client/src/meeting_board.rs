//! The meeting's whiteboard and annotation in the app: what the UI draws
//! goes to the meeting's chat task (whose connection carries the strokes,
//! see `talkline_meeting::board`), what others draw comes back as
//! `AppEvent::Board`, and the picture is made and saved on this device
//! only, into the same folder as files received.

use serde::{Deserialize, Serialize};
use talkline_meeting::MeetingError;
use talkline_meeting::board::{
    BoardEvent, NewStroke, Stroke, Surface, Tool, color_text, parse_color, picture,
};
use talkline_meeting::chat::{BoardAction, BoardView, Chat};
use tokio::sync::oneshot;

use crate::error::{AppError, Said};

/// A stroke as the UI draws it: points flattened (x, y, x, y…), in
/// `talkline_meeting::board::UNITS` of the surface.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StrokeView {
    pub id: String,
    pub by: String,
    pub own: bool,
    pub tool: &'static str,
    pub color: String,
    pub width: u16,
    pub points: Vec<u16>,
    pub text: String,
}

impl From<&Stroke> for StrokeView {
    fn from(s: &Stroke) -> Self {
        Self {
            id: s.id.clone(),
            by: s.by.clone(),
            own: s.own,
            tool: s.drawn.tool.name(),
            color: color_text(s.drawn.color),
            width: s.drawn.width,
            points: s.drawn.points.iter().flatten().copied().collect(),
            text: s.drawn.text.clone(),
        }
    }
}

/// The whiteboard (`screen` none) or a shared screen's annotation.
fn surface(screen: Option<u64>) -> Surface {
    screen.map_or(Surface::Board, Surface::Screen)
}

fn screen_of(on: Surface) -> Option<u64> {
    match on {
        Surface::Board => None,
        Surface::Screen(feed) => Some(feed),
    }
}

/// What changed on a board, for the UI.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum BoardChange {
    Shown {
        by: Option<String>,
        own: bool,
    },
    Drawn {
        screen: Option<u64>,
        stroke: StrokeView,
    },
    Erased {
        screen: Option<u64>,
        ids: Vec<String>,
    },
    Cleared {
        screen: Option<u64>,
        by: String,
    },
    /// Everything may have changed: ask for the strokes again.
    Reset,
    /// Some of `by`'s strokes were not drawn (too many, too fast, full).
    Dropped {
        by: String,
    },
}

impl From<BoardEvent> for BoardChange {
    fn from(e: BoardEvent) -> Self {
        match e {
            BoardEvent::Shown { by, own } => Self::Shown { by, own },
            BoardEvent::Drawn { on, stroke } => Self::Drawn {
                screen: screen_of(on),
                stroke: StrokeView::from(&stroke),
            },
            BoardEvent::Erased { on, ids } => Self::Erased {
                screen: screen_of(on),
                ids,
            },
            BoardEvent::Cleared { on, by } => Self::Cleared {
                screen: screen_of(on),
                by,
            },
            BoardEvent::Reset => Self::Reset,
            BoardEvent::Dropped { by } => Self::Dropped { by },
        }
    }
}

/// What the UI does to a board.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum BoardRequest {
    Draw {
        screen: Option<u64>,
        tool: String,
        color: String,
        width: u16,
        points: Vec<u16>,
        #[serde(default)]
        text: String,
    },
    Erase {
        screen: Option<u64>,
        ids: Vec<String>,
    },
    Undo {
        screen: Option<u64>,
    },
    Clear {
        screen: Option<u64>,
    },
    Show {
        shown: bool,
    },
}

fn bad_stroke() -> AppError {
    AppError::Invalid(Said::new("this stroke cannot be drawn", "无法画出这一笔"))
}

impl BoardRequest {
    fn action(self) -> Result<BoardAction, AppError> {
        Ok(match self {
            BoardRequest::Draw {
                screen,
                tool,
                color,
                width,
                points,
                text,
            } => {
                let tool = Tool::from_name(&tool).ok_or_else(bad_stroke)?;
                let color = parse_color(&color).ok_or_else(bad_stroke)?;
                if points.len() % 2 != 0 {
                    return Err(bad_stroke());
                }
                let stroke = NewStroke {
                    tool,
                    color,
                    width,
                    points: points.chunks_exact(2).map(|p| [p[0], p[1]]).collect(),
                    text,
                };
                BoardAction::Draw(surface(screen), stroke)
            }
            BoardRequest::Erase { screen, ids } => BoardAction::Erase(surface(screen), ids),
            BoardRequest::Undo { screen } => BoardAction::Undo(surface(screen)),
            BoardRequest::Clear { screen } => BoardAction::Clear(surface(screen)),
            BoardRequest::Show { shown } => BoardAction::Show(shown),
        })
    }
}

/// A surface as drawn now: for a board that opens late, or after `Reset`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BoardSnapshot {
    pub strokes: Vec<StrokeView>,
    /// Who shows the whiteboard, by name.
    pub shown_by: Option<String>,
    pub shown_by_us: bool,
}

impl From<BoardView> for BoardSnapshot {
    fn from(v: BoardView) -> Self {
        Self {
            strokes: v.strokes.iter().map(StrokeView::from).collect(),
            shown_by_us: v.shown_by.as_ref().is_some_and(|(_, own)| *own),
            shown_by: v.shown_by.map(|(name, _)| name),
        }
    }
}

/// The board's requests, handed to the chat's task.
pub(crate) enum BoardCommand {
    Act {
        request: BoardRequest,
        reply: oneshot::Sender<Result<Option<String>, AppError>>,
    },
    View {
        screen: Option<u64>,
        reply: oneshot::Sender<Result<BoardView, AppError>>,
    },
    Forget(u64),
}

impl BoardCommand {
    /// Answers with `why`: the chat is not connected.
    pub(crate) fn refuse(self, why: AppError) {
        match self {
            BoardCommand::Act { reply, .. } => {
                let _ = reply.send(Err(why));
            }
            BoardCommand::View { reply, .. } => {
                let _ = reply.send(Err(why));
            }
            BoardCommand::Forget(_) => {}
        }
    }

    /// Carries it out on the connected chat.
    pub(crate) async fn run(self, chat: &Chat) {
        match self {
            BoardCommand::Act { request, reply } => {
                let done = match request.action() {
                    Ok(action) => chat.board(action).await.map_err(AppError::from),
                    Err(e) => Err(e),
                };
                let _ = reply.send(done);
            }
            BoardCommand::View { screen, reply } => {
                let _ = reply.send(chat.strokes(surface(screen)).await.map_err(AppError::from));
            }
            BoardCommand::Forget(feed) => chat.forget_surface(Surface::Screen(feed)),
        }
    }
}

fn not_in_meeting() -> AppError {
    AppError::State(Said::new("not in a meeting", "当前不在会议中"))
}

impl crate::AppCore {
    /// Draws, erases, undoes, clears, or shows the whiteboard: a new
    /// stroke's id.
    pub async fn board_request(&self, request: BoardRequest) -> Result<Option<String>, AppError> {
        let chat = self.meeting_chat().await.ok_or_else(not_in_meeting)?;
        let (reply, answer) = oneshot::channel();
        chat.board(BoardCommand::Act { request, reply })?;
        answer
            .await
            .map_err(|_| AppError::from(MeetingError::ChatClosed))?
    }

    async fn board_view(&self, screen: Option<u64>) -> Result<BoardView, AppError> {
        let chat = self.meeting_chat().await.ok_or_else(not_in_meeting)?;
        let (reply, answer) = oneshot::channel();
        chat.board(BoardCommand::View { screen, reply })?;
        answer
            .await
            .map_err(|_| AppError::from(MeetingError::ChatClosed))?
    }

    /// The whiteboard, or a shared screen's annotation, as drawn now.
    pub async fn board_strokes(&self, screen: Option<u64>) -> Result<BoardSnapshot, AppError> {
        Ok(BoardSnapshot::from(self.board_view(screen).await?))
    }

    /// A shared screen's annotation is let go once the share has ended.
    pub async fn forget_annotation(&self, screen: u64) {
        if let Some(chat) = self.meeting_chat().await {
            let _ = chat.board(BoardCommand::Forget(screen));
        }
    }

    /// Saves the whiteboard, or a shared screen as last seen here with its
    /// annotation, as a PNG in the folder files are saved to: where it was
    /// written. Made here; nothing leaves the device.
    pub async fn save_board_picture(
        &self,
        screen: Option<u64>,
    ) -> Result<std::path::PathBuf, AppError> {
        // One picture at a time: a busy board takes a moment to draw.
        static SAVING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if SAVING.swap(true, std::sync::atomic::Ordering::AcqRel) {
            return Err(AppError::State(Said::new(
                "a picture is being saved: wait a moment",
                "正在保存一张图片：请稍候",
            )));
        }
        let result = self.make_board_picture(screen).await;
        SAVING.store(false, std::sync::atomic::Ordering::Release);
        result
    }

    async fn make_board_picture(
        &self,
        screen: Option<u64>,
    ) -> Result<std::path::PathBuf, AppError> {
        let view = self.board_view(screen).await?;
        let background = match screen {
            None => Some(picture::blank_board()),
            Some(feed) => self
                .tiles
                .get_or_create(&feed.to_string())
                .newer_than(0)
                .and_then(|frame| picture::from_frame(&frame)),
        };
        let mut image = background.ok_or_else(|| {
            AppError::State(Said::new(
                "nothing of that screen has been seen here yet",
                "这里还没有看到该屏幕的画面",
            ))
        })?;
        let folder = self.config.export_dir.clone();
        let name = match screen {
            None => "TalkLine whiteboard.png",
            Some(_) => "TalkLine annotation.png",
        };
        let saved = tokio::task::spawn_blocking(move || {
            picture::draw_strokes(&mut image, &view.strokes);
            let png = picture::png(&image).map_err(AppError::from)?;
            std::fs::create_dir_all(&folder)
                .and_then(|()| talkline_meeting::chat::files::save_into(&folder, name, &png))
                .map_err(|e| {
                    log::warn!("a board's picture was not saved: {:?}", e.kind());
                    AppError::Store(Said::new(
                        "the picture could not be saved in your Downloads folder: check that it exists and has room",
                        "图片无法保存到下载文件夹：请检查该文件夹是否存在、是否还有空间",
                    ))
                })
        })
        .await
        .map_err(|_| AppError::from(MeetingError::BoardPicture("interrupted".into())))??;
        log::info!("a board's picture was saved");
        Ok(saved)
    }
}
