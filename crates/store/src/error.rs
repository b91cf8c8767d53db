use std::path::PathBuf;

/// Everything the store can refuse. Messages say what happened and what the
/// user can do; none of them contains stored data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error(
        "the system keyring is not available ({0}); TalkLine keeps its data encrypted with a key stored there"
    )]
    KeyringUnavailable(String),
    #[error(
        "the database key is missing from the system keyring, so {path} cannot be opened; restore the keyring or move the file aside to start over"
    )]
    KeyMissing { path: PathBuf },
    #[error("{path} cannot be opened with this key, or is not a TalkLine database")]
    WrongKeyOrNotADatabase { path: PathBuf },
    #[error("{path} is in use by another TalkLine; close it and try again")]
    Locked { path: PathBuf },
    #[error("{path} is damaged ({detail}); it can be moved aside to start over")]
    Corrupt { path: PathBuf, detail: String },
    #[error("{path} was written by a newer TalkLine (schema {found}, this one knows {known})")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl talkline_language::Translated for StoreError {
    fn chinese(&self) -> String {
        match self {
            Self::KeyringUnavailable(why) => {
                format!("系统密钥环不可用（{why}）；TalkLine 用存放在那里的密钥加密保存数据")
            }
            Self::KeyMissing { path } => format!(
                "系统密钥环中缺少数据库密钥，因此无法打开 {}；请恢复密钥环，或把该文件移到别处后重新开始",
                path.display()
            ),
            Self::WrongKeyOrNotADatabase { path } => format!(
                "无法用此密钥打开 {}，或它不是 TalkLine 数据库",
                path.display()
            ),
            Self::Locked { path } => format!(
                "{} 正被另一个 TalkLine 使用；请关闭它后重试",
                path.display()
            ),
            Self::Corrupt { path, detail } => format!(
                "{} 已损坏（{detail}）；可以把它移到别处后重新开始",
                path.display()
            ),
            Self::TooNew { path, found, known } => format!(
                "{} 由更新版本的 TalkLine 写入（数据结构版本 {found}，本版本只支持 {known}）",
                path.display()
            ),
            Self::Io { path, source } => format!("无法访问 {}：{source}", path.display()),
            Self::Sqlite(e) => format!("数据库出错：{e}"),
        }
    }
}
