//! A web link in a chat message opens in the system's browser, and only
//! when the user clicks it: the page never navigates itself, and nothing
//! but an `http(s)://` address is handed to the system's opener (not a
//! file, a `javascript:` or a custom scheme another app would take).

use crate::error::{AppError, Said};

/// The longest address handed on (a browser takes about this much).
const MAX_WEB_LINK: usize = 8 * 1024;

/// `text` as an address the browser may open, or why not.
pub fn web_address(text: &str) -> Result<url::Url, AppError> {
    let refuse = || {
        AppError::Invalid(Said::new(
            "only web addresses (http:// or https://) open from the chat",
            "聊天中只能打开网址（http:// 或 https://）",
        ))
    };
    if text.len() > MAX_WEB_LINK || text.chars().any(char::is_control) {
        return Err(refuse());
    }
    let url = url::Url::parse(text.trim()).map_err(|_| refuse())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(refuse());
    }
    Ok(url)
}

impl crate::AppCore {
    /// Opens `text`, a web address clicked in the chat, in the system's
    /// browser (xdg-open on Linux, which honours `$BROWSER`).
    pub fn open_web_link(&self, text: &str) -> Result<(), AppError> {
        let url = web_address(text)?;
        open_with_system(std::ffi::OsStr::new(url.as_str()))
    }
}

/// Hands a web address or a file to the system, which opens it with the
/// user's chosen program (xdg-open on Linux, which honours `$BROWSER`).
pub(crate) fn open_with_system(what: &std::ffi::OsStr) -> Result<(), AppError> {
    let opener = match std::env::consts::OS {
        "macos" => "open",
        "windows" => "explorer.exe",
        _ => "xdg-open",
    };
    std::process::Command::new(opener)
        .arg(what)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|mut child| {
            // Reaped when it ends (the opener hands it on and exits), so
            // no finished process is left behind.
            let _ = std::thread::Builder::new()
                .name("talkline-opener".into())
                .spawn(move || child.wait());
        })
        .map_err(|e| {
            AppError::State(Said::new(
                format!("cannot open it: {e}"),
                format!("无法打开：{e}"),
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_addresses_are_handed_to_the_browser() {
        for ok in [
            "https://example.org/a?b=c#d",
            "http://127.0.0.1:8080/",
            "https://例子.测试/路径",
        ] {
            assert!(web_address(ok).is_ok(), "{ok}");
        }
        for refused in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "talkline://join?server=ws://x&room=1",
            "data:text/html,<b>x</b>",
            "https://",
            "https://a.example/\nrm -rf",
            "not a link",
            "",
        ] {
            assert!(
                matches!(web_address(refused), Err(AppError::Invalid(_))),
                "{refused:?}"
            );
        }
        assert!(web_address(&format!("https://a.example/{}", "x".repeat(MAX_WEB_LINK))).is_err());
    }
}
