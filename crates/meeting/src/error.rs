use crate::link::LinkError;

/// Everything that can end or refuse a meeting. Messages are written for the
/// user: they say what happened and, where there is one, what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MeetingError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("cannot reach the meeting server {0}")]
    ServerUnreachable(String),
    #[error("the meeting server cannot be trusted: {0}")]
    UntrustedServer(String),
    #[error("lost the connection to the meeting server: {0}")]
    ConnectionLost(String),
    #[error("meeting {0} does not exist on this server: check the meeting ID")]
    NoSuchRoom(u64),
    #[error("wrong meeting PIN: check the PIN and try again")]
    WrongPin,
    #[error("this meeting needs a PIN: use the full meeting link or give the PIN")]
    PinRequired,
    #[error("the meeting is full")]
    RoomFull,
    #[error("the host has locked this meeting: nobody else can join; ask the host to unlock it")]
    MeetingLocked,
    #[error("the host removed you from the meeting")]
    RemovedByHost,
    #[error("the host did not let you in")]
    AdmissionRefused,
    #[error("you stopped waiting to join")]
    JoinCancelled,
    #[error("the host ended the meeting")]
    MeetingEnded,
    #[error("only the meeting's host can do that: the server refused it")]
    NotHost,
    #[error("they are no longer in the meeting")]
    NotInMeeting,
    #[error("the host turned off your microphone: you can turn it on when the host asks you to")]
    MicrophoneHeldByHost,
    #[error("the host turned off your camera: you can turn it on when the host asks you to")]
    CameraHeldByHost,
    #[error("the meeting server refused: {reason} (code {code})")]
    Server { code: u32, reason: String },
    #[error("the meeting server sent something unexpected: {0}")]
    Protocol(String),
    #[error("media connection failed: {0}")]
    WebRtc(String),
    #[error(transparent)]
    Media(#[from] talkline_media::MediaError),
    #[error("no video layer {0:?}: low, medium, high or paused")]
    UnknownVideoLayer(String),
    #[error("a chat message needs some text")]
    ChatEmpty,
    #[error("a chat message is at most {0} characters: send it in parts, or share it as a file")]
    ChatTooLong(usize),
    #[error("{0} is no longer in the meeting: the message was not sent")]
    ChatRecipientGone(String),
    #[error("the meeting's chat is still connecting: try again in a moment")]
    ChatNotReady,
    #[error("the server has not confirmed the last chat messages: wait a moment")]
    ChatBusy,
    #[error("this meeting has no chat on its server")]
    ChatNoRoom,
    #[error("the meeting's chat was closed")]
    ChatClosed,
    #[error("the server did not confirm the message: it may not have reached anyone")]
    ChatNotConfirmed,
    #[error("chat is not available: {0}")]
    ChatUnavailable(String),
    #[error("raising a hand and reactions are still connecting: try again in a moment")]
    HandsNotReady,
    #[error("raised hands and reactions are not available in this meeting: {0}")]
    HandsUnavailable(String),
    #[error("{0:?} is not one of the reactions ({reactions})", reactions = crate::chat::REACTIONS.join(" "))]
    UnknownReaction(String),
    #[error("this stroke cannot be drawn: {0}")]
    BadStroke(crate::board::StrokeProblem),
    #[error("the board holds at most {0} strokes: erase or clear some first")]
    BoardFull(usize),
    #[error("strokes are coming too fast: wait a moment")]
    BoardTooFast,
    #[error("the board's picture could not be made: {0}")]
    BoardPicture(String),
    #[error("a file shared in a meeting is at most {} MiB: share a link to it instead", .0 / (1024 * 1024))]
    FileTooLarge(u64),
    #[error("the file is empty")]
    FileEmpty,
    #[error("that file is no longer offered")]
    FileGone,
    #[error("too many files are on their way: wait for one to finish")]
    FileBusy,
    #[error("the person sharing the file left before it arrived")]
    FileSenderGone,
    #[error("the file stopped arriving: try again")]
    FileInterrupted,
    #[error(
        "the file that arrived is not the one offered (damaged or changed on the way): it was not saved"
    )]
    FileCorrupt,
    #[error("cannot record into {}: {problem}; choose another folder for recordings", folder.display())]
    RecordingFolder {
        folder: std::path::PathBuf,
        problem: crate::recording::RecordingProblem,
    },
    #[error("the recording stopped: {problem}; what was recorded until then is in {}", file.display())]
    RecordingStopped {
        file: std::path::PathBuf,
        problem: crate::recording::RecordingProblem,
    },
    #[error("this meeting is already being recorded on this device")]
    AlreadyRecording,
    #[error("nothing is being recorded")]
    NotRecording,
}

impl MeetingError {
    /// The error as logs may keep it: no server address and no meeting ID,
    /// which say who met where (logs are kept for months and may be
    /// uploaded).
    pub fn for_logs(&self) -> String {
        match self {
            Self::ServerUnreachable(_) => "the meeting server is unreachable".into(),
            Self::UntrustedServer(_) => "the meeting server's certificate was refused".into(),
            Self::NoSuchRoom(_) => "no such meeting".into(),
            Self::Link(_) => "a malformed meeting link".into(),
            // A folder's path may carry the user's name.
            Self::RecordingFolder { problem, .. } => {
                format!("cannot record into the folder chosen: {problem}")
            }
            Self::RecordingStopped { problem, .. } => format!("the recording stopped: {problem}"),
            other => other.to_string(),
        }
    }

    /// Maps VideoRoom error codes to what the user needs to hear.
    pub fn from_room_error(room: u64, code: u32, reason: String) -> Self {
        match code {
            426 => MeetingError::NoSuchRoom(room),
            433 if reason.contains("allowed list") => MeetingError::MeetingLocked,
            433 => MeetingError::WrongPin,
            429 if reason.contains("pin") => MeetingError::PinRequired,
            432 => MeetingError::RoomFull,
            _ => MeetingError::Server { code, reason },
        }
    }
}

impl talkline_language::Translated for MeetingError {
    fn chinese(&self) -> String {
        match self {
            Self::Link(e) => e.chinese(),
            Self::ServerUnreachable(server) => format!("无法连接会议服务器 {server}"),
            Self::UntrustedServer(why) => format!("会议服务器不可信：{why}"),
            Self::ConnectionLost(why) => format!("与会议服务器的连接已断开：{why}"),
            Self::NoSuchRoom(room) => format!("此服务器上没有会议 {room}：请检查会议号"),
            Self::WrongPin => "会议密码错误：请检查后重试".into(),
            Self::PinRequired => "此会议需要密码：请使用完整的会议链接或输入密码".into(),
            Self::RoomFull => "会议人数已满".into(),
            Self::MeetingLocked => "主持人已锁定此会议：其他人无法加入；请让主持人解锁".into(),
            Self::RemovedByHost => "主持人已将您移出会议".into(),
            Self::AdmissionRefused => "主持人没有让您进入".into(),
            Self::JoinCancelled => "您已停止等待加入".into(),
            Self::MeetingEnded => "主持人已结束会议".into(),
            Self::NotHost => "只有会议主持人才能这样做：服务器拒绝了".into(),
            Self::NotInMeeting => "对方已不在会议中".into(),
            Self::MicrophoneHeldByHost => {
                "主持人关闭了您的麦克风：主持人请您打开时，您才能打开".into()
            }
            Self::CameraHeldByHost => "主持人关闭了您的摄像头：主持人请您打开时，您才能打开".into(),
            Self::Server { code, reason } => {
                format!("会议服务器拒绝了请求：{reason}（代码 {code}）")
            }
            Self::Protocol(what) => format!("会议服务器发来了意外的内容：{what}"),
            Self::WebRtc(why) => format!("媒体连接失败：{why}"),
            Self::Media(e) => e.chinese(),
            Self::UnknownVideoLayer(layer) => {
                format!("没有视频层 {layer:?}：可选 low、medium、high 或 paused")
            }
            Self::ChatEmpty => "聊天消息不能为空".into(),
            Self::ChatTooLong(max) => {
                format!("聊天消息最多 {max} 个字符：请分几次发送，或作为文件共享")
            }
            Self::ChatRecipientGone(who) => format!("{who} 已不在会议中：消息没有发出"),
            Self::ChatNotReady => "会议聊天仍在连接：请稍后再试".into(),
            Self::ChatBusy => "服务器尚未确认之前的聊天消息：请稍候".into(),
            Self::ChatNoRoom => "此会议的服务器上没有聊天".into(),
            Self::ChatClosed => "会议聊天已关闭".into(),
            Self::ChatNotConfirmed => "服务器没有确认这条消息：它可能没有送达任何人".into(),
            Self::ChatUnavailable(why) => format!("聊天不可用：{why}"),
            Self::HandsNotReady => "举手和表情回应仍在连接：请稍后再试".into(),
            Self::HandsUnavailable(why) => format!("此会议不能举手或发送表情回应：{why}"),
            Self::FileTooLarge(max) => format!(
                "会议中分享的文件最大为 {} MiB：请改为分享它的链接",
                max / (1024 * 1024)
            ),
            Self::BadStroke(why) => format!("无法画出这一笔：{}", why.chinese()),
            Self::BoardFull(max) => format!("白板最多容纳 {max} 笔：请先擦除或清空一些"),
            Self::BoardTooFast => "画得太快了：请稍候".into(),
            Self::BoardPicture(why) => format!("无法生成白板图片：{why}"),
            Self::FileEmpty => "文件是空的".into(),
            Self::FileGone => "该文件已不再提供".into(),
            Self::FileBusy => "正在传输的文件太多：请等其中一个完成".into(),
            Self::FileSenderGone => "分享文件的人在文件送达前离开了".into(),
            Self::FileInterrupted => "文件传输中断：请重试".into(),
            Self::FileCorrupt => "收到的文件与提供的不一致（在途中损坏或被更改）：没有保存".into(),
            Self::RecordingFolder { folder, problem } => format!(
                "无法录制到 {}：{}；请为录制选择其他文件夹",
                folder.display(),
                problem.chinese()
            ),
            Self::RecordingStopped { file, problem } => format!(
                "录制已停止：{}；此前录下的内容保存在 {}",
                problem.chinese(),
                file.display()
            ),
            Self::AlreadyRecording => "此设备已在录制这场会议".into(),
            Self::NotRecording => "当前没有在录制".into(),
            Self::UnknownReaction(what) => format!(
                "{what:?} 不是可用的表情回应（{}）",
                crate::chat::REACTIONS.join(" ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_for_logs_name_no_server_or_meeting() {
        for e in [
            MeetingError::ServerUnreachable("ws://meet.example.org:8188: refused".into()),
            MeetingError::NoSuchRoom(424_242),
        ] {
            let text = e.for_logs();
            assert!(
                !text.contains("meet.example.org") && !text.contains("424242"),
                "{text}"
            );
        }
    }
}
