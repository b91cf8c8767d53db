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
