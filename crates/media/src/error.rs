use std::path::PathBuf;

/// Everything that can go wrong in the media core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    #[error("no camera found: {0}")]
    NoCamera(String),
    #[error("camera error: {0}")]
    Camera(String),
    #[error("no audio device found: {0}")]
    NoAudioDevice(String),
    #[error("audio device error: {0}")]
    AudioDevice(String),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a supported {kind} file: {reason}")]
    BadFile {
        path: PathBuf,
        kind: &'static str,
        reason: String,
    },
    #[error("invalid media parameter: {0}")]
    InvalidParameter(String),
    #[error("codec error: {0}")]
    Codec(String),
    #[error("cannot capture the screen: {0}")]
    Screen(String),
    /// The window being shared was closed: the share is over.
    #[error("the shared window was closed")]
    WindowClosed,
    /// The desktop's screen-sharing dialog was cancelled, or sharing was
    /// not allowed there.
    #[error("the screen share was cancelled or not allowed on this desktop")]
    ShareRefused,
    /// The desktop ended the share (its own stop control, or the shared
    /// window or screen went away).
    #[error("the desktop stopped the screen share")]
    ShareEndedByDesktop,
}

impl talkline_language::Translated for MediaError {
    fn chinese(&self) -> String {
        match self {
            Self::NoCamera(why) => format!("没有找到摄像头：{why}"),
            Self::Camera(why) => format!("摄像头出错：{why}"),
            Self::NoAudioDevice(why) => format!("没有找到音频设备：{why}"),
            Self::AudioDevice(why) => format!("音频设备出错：{why}"),
            Self::Io { path, source } => format!("无法读取 {}：{source}", path.display()),
            Self::BadFile { path, kind, reason } => {
                format!("{} 不是支持的 {kind} 文件：{reason}", path.display())
            }
            Self::InvalidParameter(what) => format!("媒体参数无效：{what}"),
            Self::Codec(why) => format!("编解码出错：{why}"),
            Self::Screen(why) => format!("无法捕获屏幕：{why}"),
            Self::WindowClosed => "共享的窗口已关闭".into(),
            Self::ShareRefused => "屏幕共享已取消，或此桌面不允许共享".into(),
            Self::ShareEndedByDesktop => "桌面已停止屏幕共享".into(),
        }
    }
}

impl MediaError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        MediaError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

pub type Result<T, E = MediaError> = std::result::Result<T, E>;
