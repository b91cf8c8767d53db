//! Recording the meeting on this device from the command line:
//! `--record FOLDER` from the start, or `record [FOLDER]` and `record stop`
//! on standard input. The file is WebM (VP8 and Opus) and plays in any
//! browser; it is written as the call goes, so it survives this run being
//! killed up to its last seconds.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use talkline_meeting::MeetingError;
use talkline_meeting::recording::{Recorder, RecordingSummary, RecordingTap, file_name};
use talkline_meeting::stats::CallStats;

use crate::chat::ChatLine;
use crate::said::{self, said, say};

/// What the call's recording needs, and the recording if one runs.
pub struct RecordingLine {
    room: u64,
    tap: Arc<RecordingTap>,
    stats: Arc<CallStats>,
    /// The folder last recorded into, for a bare `record`.
    folder: Option<PathBuf>,
    running: Option<Recorder>,
}

impl RecordingLine {
    pub fn new(room: u64, tap: Arc<RecordingTap>, stats: Arc<CallStats>) -> Self {
        Self {
            room,
            tap,
            stats,
            folder: None,
            running: None,
        }
    }

    pub fn understands(line: &str) -> bool {
        line == "record" || line.starts_with("record ")
    }

    /// `record`, `record FOLDER`, `record stop`; everyone in the meeting
    /// is told through `chat`.
    pub async fn command(&mut self, line: &str, chat: Option<&mut ChatLine>) {
        match line.strip_prefix("record").map(str::trim) {
            Some("stop") => match self.running.take() {
                Some(recorder) => {
                    report(recorder.stop().await);
                    untell(chat).await;
                }
                None => said::error(said(&MeetingError::NotRecording)),
            },
            Some("") => match self.folder.clone() {
                Some(folder) => self.start(&folder, chat).await,
                None => said::error(say!(
                    "record FOLDER: say where to keep the recording",
                    "record 文件夹：请指定录制文件保存的位置"
                )),
            },
            Some(folder) => self.start(Path::new(folder), chat).await,
            None => {}
        }
    }

    /// Starts recording into `folder` once everyone is told (through
    /// `chat`); a problem is said and the call goes on.
    pub async fn start(&mut self, folder: &Path, chat: Option<&mut ChatLine>) {
        if self.running.is_some() {
            said::error(said(&MeetingError::AlreadyRecording));
            return;
        }
        // Nobody is recorded without being told.
        let Some(chat) = chat else {
            said::error(say!(
                "not recorded: this run is not in the meeting's chat (--no-chat), where everyone is told of a recording",
                "未录制：本次运行没有加入会议聊天（--no-chat），而录制需要在那里告知所有人"
            ));
            return;
        };
        if let Err(e) = chat.tell_recording(true).await {
            let e = said(&e);
            said::error(say!(
                "not recorded: the others could not be told ({e})",
                "未录制：无法告知其他人（{e}）"
            ));
            return;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let name = file_name(self.room, now);
        match Recorder::start(
            folder,
            &name,
            Arc::clone(&self.tap),
            Arc::clone(&self.stats),
        ) {
            Ok(recorder) => {
                let file = recorder.file().display().to_string();
                println!(
                    "{}",
                    say!("recording the meeting to {file}", "正在录制会议到 {file}")
                );
                self.folder = Some(folder.to_path_buf());
                self.running = Some(recorder);
            }
            Err(e) => {
                said::error(said(&e));
                untell(Some(chat)).await;
            }
        }
    }

    /// Resolves when a recording stops on its own (the disk filled up);
    /// never while none runs.
    pub async fn stopped(&mut self) -> Result<RecordingSummary, MeetingError> {
        match self.running.as_mut() {
            Some(recorder) => {
                let ended = recorder.ended().await;
                self.running = None;
                ended
            }
            None => std::future::pending().await,
        }
    }

    /// Says how a recording that stopped on its own ended, and tells
    /// everyone it stopped.
    pub async fn show(
        &self,
        ended: Result<RecordingSummary, MeetingError>,
        chat: Option<&mut ChatLine>,
    ) {
        report(ended);
        untell(chat).await;
    }

    /// The call is over: a recording still running is finished, and
    /// everyone told (before the chat is left).
    pub async fn finish(mut self, chat: Option<&mut ChatLine>) {
        if let Some(recorder) = self.running.take() {
            report(recorder.stop().await);
            untell(chat).await;
        }
    }
}

/// Tells everyone the recording stopped.
async fn untell(chat: Option<&mut ChatLine>) {
    if let Some(chat) = chat
        && let Err(e) = chat.tell_recording(false).await
    {
        log::info!("the end of a recording was not told: {}", e.for_logs());
    }
}

fn report(ended: Result<RecordingSummary, MeetingError>) {
    match ended {
        Ok(summary) => {
            let file = summary.file.display();
            let seconds = summary.duration_ms as f64 / 1000.0;
            let mib = summary.bytes as f64 / (1024.0 * 1024.0);
            println!(
                "{}",
                say!(
                    "recording saved: {file} ({seconds:.1} s, {mib:.1} MiB)",
                    "录制已保存：{file}（{seconds:.1} 秒，{mib:.1} MiB）"
                )
            );
        }
        Err(e) => said::error(said(&e)),
    }
}
