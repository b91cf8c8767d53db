//! What the CLI says, in the system's language (English or Simplified
//! Chinese, read from the POSIX locale as gettext does). Each message is
//! written in both beside the code that prints it: `say!("…", "…")`.
//! Commands typed on standard input, option names and values stay as they
//! are: they are an interface scripts use.

use std::sync::OnceLock;

pub use talkline_language::{Language, Translated};

static LANGUAGE: OnceLock<Language> = OnceLock::new();

/// The language of this run.
pub fn language() -> Language {
    *LANGUAGE.get_or_init(Language::of_system)
}

/// `format!` of the English or the Chinese text, whichever this run speaks.
macro_rules! say {
    ($english:literal, $chinese:literal $(,)?) => {
        match $crate::said::language() {
            $crate::said::Language::SimplifiedChinese => format!($chinese),
            _ => format!($english),
        }
    };
}
pub(crate) use say;

/// An error of the core, in this run's language.
pub fn said(error: &impl Translated) -> String {
    error.said_in(language())
}

/// Prints an error on standard error, led by "error:" in this run's language.
pub fn error(message: impl std::fmt::Display) {
    let message = printable(&message.to_string());
    eprintln!("{}", say!("error: {message}", "错误：{message}"));
}

/// Prints a warning on standard error: the run goes on.
pub fn warning(message: impl std::fmt::Display) {
    let message = printable(&message.to_string());
    eprintln!("{}", say!("warning: {message}", "警告：{message}"));
}

/// Text that may carry a server's or a peer's words, as the terminal may
/// show it: control characters (escape sequences) as `�`, line breaks and
/// tabs kept.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}
