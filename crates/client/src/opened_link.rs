//! Meeting links handed to the app from outside: a `talkline://` link or
//! the web form of one, opened by the system (a browser, a phone's camera
//! app, `xdg-open`) or passed to a second start of the app. The window
//! takes the link to the pre-join of its meeting; nothing joins without
//! the user's click there.

use std::sync::Mutex;

use talkline_meeting::MeetingLink;

use crate::core::{AppCore, lock};
use crate::error::AppError;
use crate::events::AppEvent;

/// Longer than any meeting link (server, room, PIN, relay credentials);
/// what another process hands over is refused past it.
pub const MAX_OPENED_LINK_BYTES: usize = 4096;

/// The last link opened from outside that the window has not taken yet:
/// one opened while the app starts arrives before the page listens.
#[derive(Debug, Default)]
pub(crate) struct OpenedLink(Mutex<Option<String>>);

impl AppCore {
    /// A link from outside: checked, kept for the window, and the window
    /// told (`AppEvent::LinkOpened`). A malformed one is refused with the
    /// parser's reason, and nothing changes.
    pub fn open_link(&self, text: &str) -> Result<(), AppError> {
        if text.len() > MAX_OPENED_LINK_BYTES {
            return Err(AppError::Link(crate::Said::new(
                format!(
                    "a meeting link is at most {MAX_OPENED_LINK_BYTES} bytes, not {}",
                    text.len()
                ),
                format!(
                    "会议链接最长 {MAX_OPENED_LINK_BYTES} 字节，而不是 {}",
                    text.len()
                ),
            )));
        }
        // Kept as given (trimmed): the canonical form of a link without a
        // server is its bare ID, without its PIN.
        let text = text.trim();
        MeetingLink::parse(text).map_err(|e| AppError::Link(crate::Said::of(&e)))?;
        *lock(&self.opened_link.0) = Some(text.to_string());
        self.sink().emit(AppEvent::LinkOpened);
        Ok(())
    }

    /// The link last opened from outside, once: the window goes to its
    /// pre-join (or keeps it until the policy is accepted).
    pub fn take_opened_link(&self) -> Option<String> {
        lock(&self.opened_link.0).take()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use talkline_meeting::ServerUrl;
    use talkline_store::MemoryVault;

    use crate::core::CoreConfig;
    use crate::events::EventSink;

    use super::*;

    #[derive(Default)]
    struct Seen(Mutex<Vec<AppEvent>>);

    impl EventSink for Seen {
        fn emit(&self, event: AppEvent) {
            lock(&self.0).push(event);
        }
    }

    fn core() -> (Arc<AppCore>, Arc<Seen>) {
        let dir = std::env::temp_dir().join(format!(
            "talkline-opened-link-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let core = AppCore::new(CoreConfig::in_dir(
            dir,
            ServerUrl::parse("ws://127.0.0.1:8188").expect("server"),
            Arc::new(MemoryVault::default()),
        ))
        .expect("core");
        let seen = Arc::new(Seen::default());
        core.set_event_sink(Arc::clone(&seen) as Arc<dyn EventSink>);
        (core, seen)
    }

    #[test]
    fn a_link_is_kept_once_for_the_window_and_the_window_told() {
        let (core, seen) = core();
        let link = "talkline://join?server=ws://127.0.0.1:8188&room=42&pin=a%20b";
        core.open_link(&format!(" {link}\n")).expect("a good link");
        assert_eq!(*lock(&seen.0), [AppEvent::LinkOpened]);
        assert_eq!(core.take_opened_link().as_deref(), Some(link));
        assert_eq!(core.take_opened_link(), None);
        // The web form too.
        let web = "https://meet.example/join?server=wss%3A%2F%2Fmeet.example%2Fjanus&room=7";
        core.open_link(web).expect("web link");
        assert_eq!(core.take_opened_link().as_deref(), Some(web));
    }

    #[test]
    fn a_malformed_or_huge_link_is_refused_and_changes_nothing() {
        let (core, seen) = core();
        let good = "talkline://join?server=ws://127.0.0.1:8188&room=1";
        core.open_link(good).expect("good");
        for bad in [
            "",
            "talkline://join?room=banana",
            "javascript:alert(1)",
            "talkline://join?room=1",
            "talkline://join?server=ws://127.0.0.1:8188&room=1&room=2",
            "\u{0}\u{1}",
        ] {
            let err = core.open_link(bad).expect_err(bad);
            assert!(matches!(err, AppError::Link(_)), "{bad}: {err}");
        }
        let huge = format!("{good}&pin={}", "x".repeat(5000));
        assert!(core.open_link(&huge).is_err());
        assert_eq!(lock(&seen.0).len(), 1, "only the good link is told");
        assert_eq!(core.take_opened_link().as_deref(), Some(good));
    }
}
