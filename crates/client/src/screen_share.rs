//! Sharing the screen from the app: the screens and windows there are to
//! share (each with a thumbnail for the picker), a share started beside
//! the call with
//! the app's own window blanked out of it (the meeting never shows inside
//! itself), and stopped by the user, by leaving, or by a failure, which
//! is said.

use serde::Serialize;
use std::sync::Arc;
use talkline_meeting::ice_servers::IceServers;

use talkline_meeting::screen_share::{ScreenShare, ShareConfig, share_screen};
use talkline_meeting::{MeetingError, ServerUrl};
use talkline_privacy::Translated;

use crate::error::{AppError, Said};
use crate::events::AppEvent;

/// What a share costs at most: sharp text at a few frames a second.
const SHARE_KBPS: u32 = 1500;
/// Frames a second of a shared screen (content changes slowly; text
/// stays sharp at this rate).
const SHARE_FPS: f64 = 10.0;
/// A thumbnail's width in the picker.
const THUMBNAIL_WIDTH: usize = 320;

/// A screen or a window the picker offers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScreenSourceView {
    /// What `start_screen_share` takes: `screen` (or an X display's
    /// name), or `window:` and the window's X id.
    pub id: String,
    /// A window's title; `None` for a whole screen.
    pub title: Option<String>,
    pub width: u32,
    pub height: u32,
    /// A PNG of it now, as a data URL.
    pub thumbnail: Option<String>,
    /// The desktop's own picker chooses (a Wayland desktop, through its
    /// portal): no size or thumbnail until then.
    pub by_desktop: bool,
}

/// The id `start_screen_share` takes for a window.
const WINDOW_ID_PREFIX: &str = "window:";
/// The id of the one choice a Wayland desktop offers: its own picker.
const PORTAL_ID: &str = "portal";

/// Where a share joins, and as whom: the call's own (kept with it).
#[derive(Clone)]
pub struct ShareWith {
    pub server: ServerUrl,
    pub room: u64,
    pub pin: Option<String>,
    /// The host's way into their locked meeting.
    pub entry_token: Option<talkline_meeting::host::Secret>,
    pub display: String,
    pub ice: IceServers,
}

#[cfg(target_os = "linux")]
fn thumbnail(screen: &mut talkline_media::screen::X11Screen) -> Option<String> {
    use base64::Engine;
    use talkline_media::VideoFrame;
    let mut frame = VideoFrame::new(2, 2).ok()?;
    screen.snapshot(&mut frame).ok()?;
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (tw, th) = (THUMBNAIL_WIDTH, (h * THUMBNAIL_WIDTH / w.max(1)).max(1));
    let rgb = talkline_media::to_screen::rgb_picture(frame.as_bytes(), w, h, tw, th)?;
    let image = image::RgbImage::from_raw(tw as u32, th as u32, rgb)?;
    let mut png = std::io::Cursor::new(Vec::new());
    image.write_to(&mut png, image::ImageFormat::Png).ok()?;
    Some(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png.into_inner())
    ))
}

impl crate::AppCore {
    /// The screens there are to share, then the windows (topmost first),
    /// each with a thumbnail of what would be shared (X window `hide`, the
    /// app's own, blanked out of a screen and never offered as a window).
    pub fn screen_sources(&self, hide: Option<u64>) -> Vec<ScreenSourceView> {
        #[cfg(target_os = "linux")]
        {
            use talkline_media::screen::{
                X11Screen, is_wayland_session, list_screens, list_windows,
            };
            // On Wayland an app sees no other app's picture: the desktop
            // shows what there is, in its own picker, and asks.
            if is_wayland_session() {
                return vec![ScreenSourceView {
                    id: PORTAL_ID.into(),
                    title: None,
                    width: 0,
                    height: 0,
                    thumbnail: None,
                    by_desktop: true,
                }];
            }
            let with_hidden = |mut screen: X11Screen| {
                if let Some(window) = hide {
                    screen.hide_window(window);
                }
                thumbnail(&mut screen)
            };
            let screens = list_screens().into_iter().map(|s| ScreenSourceView {
                thumbnail: X11Screen::open(s.display.as_deref(), 1.0)
                    .ok()
                    .and_then(with_hidden),
                id: s.display.unwrap_or_else(|| "screen".into()),
                title: None,
                width: s.width,
                height: s.height,
                by_desktop: false,
            });
            // Windows are an extra: a desktop that cannot list them still
            // shares its screen.
            let windows = list_windows(None, hide).unwrap_or_default();
            let windows = windows.into_iter().map(|w| ScreenSourceView {
                thumbnail: X11Screen::open_window(None, w.id, 1.0)
                    .ok()
                    .and_then(with_hidden),
                id: format!("{WINDOW_ID_PREFIX}{}", w.id),
                title: Some(w.title),
                width: w.width,
                height: w.height,
                by_desktop: false,
            });
            screens.chain(windows).collect()
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = hide;
            Vec::new()
        }
    }

    /// Shares screen `id` (from `screen_sources`) in the meeting, with X
    /// window `hide` (the app's own) blanked out of it, and the computer's
    /// sound with it if `sound` (the meeting taken out of it).
    pub async fn start_screen_share(
        self: &Arc<Self>,
        id: &str,
        hide: Option<u64>,
        sound: bool,
    ) -> Result<(), AppError> {
        let epoch = self.share_epoch.load(std::sync::atomic::Ordering::SeqCst);
        // What can refuse the share is asked before the desktop's dialog,
        // which would otherwise be answered for nothing.
        let (person, with, person_id, played) = {
            let guard = self.call.lock().await;
            let call = guard
                .as_ref()
                .ok_or_else(|| AppError::State(Said::new("not in a meeting", "当前不在会议中")))?;
            let with = call.share_with.clone().ok_or_else(|| {
                AppError::State(Said::new("the meeting is still starting", "会议仍在开始"))
            })?;
            (
                call.handle.commands(),
                with,
                call.handle.self_id,
                call.handle.played.clone(),
            )
        };
        if sound {
            // Recording what the computer plays is recording audio: the
            // microphone's permission (Appendix II) covers it.
            self.ledger_check(talkline_privacy::Capability::Microphone)?;
        }
        let video = if id == PORTAL_ID {
            // The desktop asks the user what to share: that waits.
            tokio::task::spawn_blocking(open_portal)
                .await
                .map_err(|_| {
                    AppError::State(Said::new("could not ask the desktop", "无法询问桌面"))
                })??
        } else {
            open_screen(id, hide)?
        };
        let audio = if sound {
            // Opening asks the sound server, and again if it answers with
            // nothing: not on the runtime's threads.
            let sound = tokio::task::spawn_blocking(move || {
                talkline_media::computer_sound::ComputerSound::open(Some(&played))
            })
            .await
            .map_err(|_| {
                AppError::State(Said::new(
                    "could not open the computer's sound",
                    "无法打开电脑的声音",
                ))
            })?
            .map_err(|e| AppError::from(MeetingError::Media(e)))?;
            Some(Box::new(sound) as Box<dyn talkline_media::AudioSource>)
        } else {
            None
        };
        self.stop_screen_share_quietly().await;
        let mut share = share_screen_via(person, with, video, audio).await?;
        let feed = share.feed();
        // Ended by itself (the server gone): taken down and said.
        let ended = std::mem::replace(&mut share.ended, tokio::sync::oneshot::channel().1);
        let core = Arc::clone(self);
        tokio::spawn(async move {
            let Ok(why) = ended.await else { return };
            let gone = {
                let mut guard = core.call.lock().await;
                let ours = guard
                    .as_ref()
                    .is_some_and(|c| c.share.as_ref().is_some_and(|s| s.feed() == feed));
                if ours {
                    guard.as_mut().and_then(|c| c.share.take())
                } else {
                    None
                }
            };
            if let Some(share) = gone {
                share.leave().await;
                let reason = why
                    .unwrap_or(MeetingError::ConnectionLost("the share ended".into()))
                    .said_in(core.language());
                core.sink().emit(AppEvent::ScreenShare {
                    sharing: false,
                    reason: Some(reason),
                });
            }
        });
        let mut guard = self.call.lock().await;
        // Stopped (or the picker cancelled) while it started: not kept,
        // and nothing to say.
        if self.share_epoch.load(std::sync::atomic::Ordering::SeqCst) != epoch {
            drop(guard);
            share.leave().await;
            return Ok(());
        }
        match guard.as_mut() {
            // The same call as when the share started (not one joined
            // since, elsewhere).
            Some(call) if call.handle.self_id == person_id => call.share = Some(share),
            // Left meanwhile: the share goes too.
            _ => {
                share.leave().await;
                return Err(AppError::State(Said::new(
                    "not in a meeting",
                    "当前不在会议中",
                )));
            }
        }
        drop(guard);
        self.sink().emit(AppEvent::ScreenShare {
            sharing: true,
            reason: None,
        });
        Ok(())
    }

    /// Stops sharing the screen (nothing if nothing is shared), and any
    /// share still starting.
    pub async fn stop_screen_share(&self) -> Result<(), AppError> {
        self.share_epoch
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.stop_screen_share_quietly().await;
        self.sink().emit(AppEvent::ScreenShare {
            sharing: false,
            reason: None,
        });
        Ok(())
    }

    async fn stop_screen_share_quietly(&self) {
        let share = self.call.lock().await.as_mut().and_then(|c| c.share.take());
        if let Some(share) = share {
            share.leave().await;
        }
    }
}

async fn share_screen_via(
    person: tokio::sync::mpsc::UnboundedSender<talkline_meeting::CallCommand>,
    with: ShareWith,
    video: Box<dyn talkline_media::VideoSource>,
    audio: Option<Box<dyn talkline_media::AudioSource>>,
) -> Result<ScreenShare, AppError> {
    let config = ShareConfig {
        server: with.server,
        room: with.room,
        pin: with.pin,
        entry_token: with.entry_token,
        display: with.display,
        video,
        audio,
        bitrate_kbps: SHARE_KBPS,
        ice: with.ice,
    };
    Ok(share_screen(&person, config).await?)
}

#[cfg(target_os = "linux")]
fn open_screen(
    id: &str,
    hide: Option<u64>,
) -> Result<Box<dyn talkline_media::VideoSource>, AppError> {
    use talkline_media::screen::X11Screen;
    let opened = match id.strip_prefix(WINDOW_ID_PREFIX) {
        Some(window) => {
            let window = window.parse::<u64>().map_err(|_| {
                AppError::Invalid(Said::new(
                    "that window is not one the picker offered",
                    "该窗口不在可共享的列表中",
                ))
            })?;
            X11Screen::open_window(None, window, SHARE_FPS)
        }
        None => X11Screen::open((id != "screen").then_some(id), SHARE_FPS),
    };
    let mut screen =
        opened.map_err(|e| AppError::from(talkline_meeting::MeetingError::Media(e)))?;
    if let Some(window) = hide {
        screen.hide_window(window);
    }
    Ok(Box::new(screen))
}

#[cfg(target_os = "linux")]
fn open_portal() -> Result<Box<dyn talkline_media::VideoSource>, AppError> {
    talkline_media::screen::PortalScreen::open(SHARE_FPS)
        .map(|s| Box::new(s) as Box<dyn talkline_media::VideoSource>)
        .map_err(|e| AppError::from(MeetingError::Media(e)))
}

#[cfg(not(target_os = "linux"))]
fn open_portal() -> Result<Box<dyn talkline_media::VideoSource>, AppError> {
    open_screen(PORTAL_ID, None)
}

#[cfg(not(target_os = "linux"))]
fn open_screen(
    _id: &str,
    _hide: Option<u64>,
) -> Result<Box<dyn talkline_media::VideoSource>, AppError> {
    Err(AppError::from(talkline_meeting::MeetingError::Media(
        talkline_media::MediaError::Screen(
            "sharing the screen is built for Linux (X11) so far".into(),
        ),
    )))
}
