//! Recording the meeting on this device, from the app: everyone in the
//! meeting is told first (a recording nobody could be told of does not
//! start), the file goes into the folder chosen in Settings (the user's
//! Videos by default), and the app keeps where it is so that Your data
//! lists it, opens it, and deletes it, and withdrawal removes it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use talkline_meeting::MeetingError;
use talkline_meeting::recording::{Recorder, RecordingSummary, file_name};
use tokio::sync::oneshot;

use crate::Said;
use crate::core::{AppCore, now_unix};
use crate::error::AppError;
use crate::events::AppEvent;
use crate::meeting_chat::MeetingChat;
use talkline_privacy::Translated as _;

/// A recording running beside the call: its task owns the recorder.
pub(crate) struct RunningRecording {
    /// The file it writes (not to be deleted under it).
    file: PathBuf,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningRecording {
    /// Stops it and waits (bounded) until the file is finished.
    pub(crate) async fn finish(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

/// A recording as Your data lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordingView {
    pub id: i64,
    /// The file's name, and where it is.
    pub name: String,
    pub file: String,
    pub room: u64,
    pub started_at: i64,
    pub duration_ms: Option<u64>,
    /// The file's size now (`None`: the file is gone).
    pub bytes: Option<u64>,
}

fn not_in_meeting() -> AppError {
    AppError::State(Said::new("not in a meeting", "当前不在会议中"))
}

impl AppCore {
    /// Where recordings go: the folder set in Settings, or the default.
    pub(crate) fn recordings_folder(&self) -> Result<PathBuf, AppError> {
        let chosen = self.settings()?.recordings_folder;
        Ok(if chosen.trim().is_empty() {
            self.config.recordings_dir.clone()
        } else {
            PathBuf::from(chosen.trim())
        })
    }

    /// Starts recording the meeting: the file's path.
    pub async fn start_recording(self: &Arc<Self>) -> Result<String, AppError> {
        let folder = self.recordings_folder()?;
        let (tap, stats, room, chat, self_id) = {
            let guard = self.call.lock().await;
            let call = guard.as_ref().ok_or_else(not_in_meeting)?;
            if call.recording.is_some() {
                return Err(MeetingError::AlreadyRecording.into());
            }
            (
                Arc::clone(&call.handle.recording),
                Arc::clone(&call.handle.stats),
                call.meeting.link.room,
                call.chat.clone(),
                call.handle.self_id,
            )
        };
        // Nobody is recorded without being told.
        let chat = chat.ok_or_else(|| {
            AppError::State(Said::new(
                "not recorded: the meeting's chat, where everyone is told of a recording, is not connected",
                "未录制：会议聊天未连接，而录制需要在那里告知所有人",
            ))
        })?;
        chat.set_recording(true).await.map_err(|e| {
            let why = e.said_in(self.language());
            AppError::State(Said::new(
                format!("not recorded: the others could not be told ({why})"),
                format!("未录制：无法告知其他人（{why}）"),
            ))
        })?;
        // The default folder is made; one the user chose must exist.
        if folder == self.config.recordings_dir {
            let _ = std::fs::create_dir_all(&folder);
        }
        let started = Recorder::start(&folder, &file_name(room, now_unix()), tap, stats);
        let recorder = match started {
            Ok(recorder) => recorder,
            Err(e) => {
                let _ = chat.set_recording(false).await;
                return Err(e.into());
            }
        };
        let file = recorder.file().to_path_buf();
        let row = self
            .with_store(|s| Ok(s.add_recording(&file.to_string_lossy(), room, now_unix())?))
            .map_err(|e| log::warn!("a recording is not listed: {e}"))
            .ok();
        let (stop, stopped) = oneshot::channel();
        let core = Arc::clone(self);
        let task = tokio::spawn(core.watch_recording(recorder, stopped, chat, row, self_id));
        let mut guard = self.call.lock().await;
        match guard.as_mut() {
            Some(call) if call.handle.self_id == self_id && call.recording.is_none() => {
                call.recording = Some(RunningRecording {
                    file: file.clone(),
                    stop,
                    task,
                });
            }
            // Left (or started twice) meanwhile: this one ends at once.
            _ => {
                drop(guard);
                RunningRecording {
                    file: file.clone(),
                    stop,
                    task,
                }
                .finish()
                .await;
                return Err(not_in_meeting());
            }
        }
        drop(guard);
        let shown = file.display().to_string();
        self.sink().emit(AppEvent::Recording {
            recording: true,
            file: Some(shown.clone()),
            reason: None,
        });
        Ok(shown)
    }

    /// Stops recording the meeting (the file is finished before this returns).
    pub async fn stop_recording(&self) -> Result<(), AppError> {
        let running = {
            let mut guard = self.call.lock().await;
            let call = guard.as_mut().ok_or_else(not_in_meeting)?;
            call.recording
                .take()
                .ok_or(AppError::from(MeetingError::NotRecording))?
        };
        running.finish().await;
        Ok(())
    }

    /// Runs until the recording is stopped or stops on its own; then tells
    /// everyone, keeps its length, and says how it ended.
    async fn watch_recording(
        self: Arc<Self>,
        mut recorder: Recorder,
        stopped: oneshot::Receiver<()>,
        chat: MeetingChat,
        row: Option<i64>,
        self_id: u64,
    ) {
        let file = recorder.file().display().to_string();
        let (ended, asked) = tokio::select! {
            ended = recorder.ended() => (ended, false),
            _ = stopped => (recorder.stop().await, true),
        };
        if let Err(e) = chat.set_recording(false).await {
            log::info!("the end of a recording was not told: {e}");
        }
        if let (
            Some(row),
            Ok(RecordingSummary {
                duration_ms, bytes, ..
            }),
        ) = (row, &ended)
        {
            let kept = self.with_store(|s| Ok(s.recorded(row, *duration_ms, *bytes)?));
            if let Err(e) = kept {
                log::warn!("a recording's length is not kept: {e}");
            }
        }
        if !asked {
            // Stopped on its own: no longer the call's.
            let mut guard = self.call.lock().await;
            if let Some(call) = guard.as_mut().filter(|c| c.handle.self_id == self_id) {
                call.recording = None;
            }
        }
        self.sink().emit(AppEvent::Recording {
            recording: false,
            file: Some(file),
            reason: ended.err().map(|e| e.said_in(self.language())),
        });
    }

    /// The recordings made here, for Your data.
    pub fn recordings(&self) -> Result<Vec<RecordingView>, AppError> {
        self.require_policy()?;
        let rows = self.with_store(|s| Ok(s.recordings()?))?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let path = Path::new(&r.file);
                RecordingView {
                    id: r.id,
                    name: path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    bytes: std::fs::metadata(path).ok().map(|m| m.len()),
                    file: r.file,
                    room: r.room,
                    started_at: r.started_at,
                    duration_ms: r.duration_ms,
                }
            })
            .collect())
    }

    /// The file of recording `id` (only files this app recorded).
    fn recording_file(&self, id: i64) -> Result<PathBuf, AppError> {
        self.with_store(|s| Ok(s.recordings()?))?
            .into_iter()
            .find(|r| r.id == id)
            .map(|r| PathBuf::from(r.file))
            .ok_or_else(|| {
                AppError::State(Said::new(
                    "that recording is no longer listed",
                    "该录制已不在列表中",
                ))
            })
    }

    /// Opens recording `id` in the system's video player.
    pub fn open_recording(&self, id: i64) -> Result<(), AppError> {
        self.require_policy()?;
        let file = self.recording_file(id)?;
        if !file.exists() {
            return Err(AppError::State(Said::new(
                format!(
                    "{} is no longer there: it was moved or deleted",
                    file.display()
                ),
                format!("{} 已不在原处：它被移动或删除了", file.display()),
            )));
        }
        crate::web_link::open_with_system(file.as_os_str())
    }

    /// Deletes recording `id`: its file, and the app's note of it. Not
    /// the one being recorded: the recorder would go on writing into a
    /// file nobody can see any more.
    pub async fn delete_recording(&self, id: i64) -> Result<(), AppError> {
        self.require_policy()?;
        let file = self.recording_file(id)?;
        let running = self
            .call
            .lock()
            .await
            .as_ref()
            .is_some_and(|c| c.recording.as_ref().is_some_and(|r| r.file == file));
        if running {
            return Err(AppError::State(Said::new(
                "that recording is still running: stop it first",
                "该录制仍在进行：请先停止录制",
            )));
        }
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(AppError::State(Said::new(
                    format!("cannot delete {}: {e}", file.display()),
                    format!("无法删除 {}：{e}", file.display()),
                )));
            }
        }
        self.with_store(|s| Ok(s.delete_recording(id)?)).map(drop)
    }
}
