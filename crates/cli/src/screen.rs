//! Sharing a screen from the command line: `--share-screen SOURCE` when
//! joining, or `share SOURCE` and `share stop` on standard input. SOURCE
//! is `test[:WxH@FPS]` (the moving test pattern, 1280x720 at 10 fps by
//! default), a `.y4m` file, `x11[:DISPLAY]` (the whole X screen),
//! `window:ID|TITLE` (one window of `$DISPLAY`, by its X id or a part of
//! its title; `windows` lists them), or `portal` (a Wayland desktop's
//! screen or window, as its own picker asks), each followed by ` +sound` to share
//! the computer's sound with it (the meeting taken out). The
//! share is a second publisher beside us in the meeting (see
//! `talkline_meeting::screen_share`); others see it large.

use talkline_media::source::{PatternSource, VideoSource};
use talkline_media::y4m::Y4mSource;
use talkline_meeting::ServerUrl;
use talkline_meeting::ice_servers::IceServers;
use talkline_meeting::screen_share::{ScreenShare as Share, ShareConfig, share_screen};

use crate::said::{self, said, say};

/// What a screen share costs at most: sharp text at a few frames a second.
const SHARE_KBPS: u32 = 1500;

/// Where a share joins, and as whom: the call's person, told of the
/// share through `commands`; what their speaker `played` is taken out of
/// the computer's sound.
pub struct ShareTarget {
    pub server: ServerUrl,
    pub room: u64,
    pub pin: Option<String>,
    /// The host's way into their locked meeting.
    pub entry_token: Option<talkline_meeting::host::Secret>,
    pub display: String,
    pub ice: IceServers,
    pub commands: tokio::sync::mpsc::UnboundedSender<talkline_meeting::CallCommand>,
    pub played: talkline_media::voice_processing::EchoReference,
}

/// The screen shared in this run, if any.
#[derive(Default)]
pub struct ScreenShare {
    share: Option<Share>,
    /// The desktop's picker, open (`share portal`): what it will hand
    /// over, and whether the computer's sound goes with it. The call goes
    /// on meanwhile.
    asking: Option<(Asking, bool)>,
}

type Asking = tokio::task::JoinHandle<Result<Box<dyn VideoSource>, String>>;

/// A screen source from its spec.
pub fn open_screen(spec: &str) -> Result<Box<dyn VideoSource>, String> {
    let spec = spec.trim();
    if spec == "test" {
        return PatternSource::new(1280, 720, 10.0)
            .map(|s| Box::new(s) as Box<dyn VideoSource>)
            .map_err(|e| said(&e));
    }
    if spec.strip_prefix("test:").is_some() {
        return match crate::spec::camera(spec) {
            Ok(crate::spec::CameraSpec::Pattern { width, height, fps }) => {
                PatternSource::new(width, height, fps)
                    .map(|s| Box::new(s) as Box<dyn VideoSource>)
                    .map_err(|e| said(&e))
            }
            Ok(_) => Err(usage(spec)),
            Err(e) => Err(e),
        };
    }
    if spec == "x11" || spec.starts_with("x11:") {
        let display = spec.strip_prefix("x11:").filter(|d| !d.is_empty());
        return open_x11(display);
    }
    if let Some(query) = spec.strip_prefix("window:") {
        return open_window(query.trim());
    }
    if spec.to_ascii_lowercase().ends_with(".y4m") {
        return Y4mSource::open(std::path::Path::new(spec))
            .map(|s| Box::new(s) as Box<dyn VideoSource>)
            .map_err(|e| said(&e));
    }
    Err(usage(spec))
}

#[cfg(target_os = "linux")]
fn open_x11(display: Option<&str>) -> Result<Box<dyn VideoSource>, String> {
    talkline_media::screen::X11Screen::open(display, 10.0)
        .map(|s| Box::new(s) as Box<dyn VideoSource>)
        .map_err(|e| said(&e))
}

#[cfg(target_os = "linux")]
fn open_window(query: &str) -> Result<Box<dyn VideoSource>, String> {
    use talkline_media::screen::{X11Screen, find_window};
    if query.is_empty() {
        return Err(usage("window:"));
    }
    let window = find_window(None, query).map_err(|e| said(&e))?;
    X11Screen::open_window(None, window.id, 10.0)
        .map(|s| Box::new(s) as Box<dyn VideoSource>)
        .map_err(|e| said(&e))
}

#[cfg(target_os = "linux")]
fn open_portal() -> Result<Box<dyn VideoSource>, String> {
    talkline_media::screen::PortalScreen::open(10.0)
        .map(|s| Box::new(s) as Box<dyn VideoSource>)
        .map_err(|e| said(&e))
}

/// `windows`: the windows that `share window:…` can share, topmost first.
#[cfg(target_os = "linux")]
pub fn list_windows() {
    match talkline_media::screen::list_windows(None, None) {
        Ok(windows) if windows.is_empty() => {
            println!("{}", say!("no windows to share", "没有可共享的窗口"));
        }
        Ok(windows) => {
            for w in windows {
                println!("window 0x{:x} {}x{}: {}", w.id, w.width, w.height, w.title);
            }
        }
        Err(e) => said::error(said(&e)),
    }
}

#[cfg(not(target_os = "linux"))]
fn open_x11(_display: Option<&str>) -> Result<Box<dyn VideoSource>, String> {
    Err(say!(
        "x11 screens are shared on Linux only",
        "只能在 Linux 上共享 x11 屏幕"
    ))
}

#[cfg(not(target_os = "linux"))]
fn open_window(_query: &str) -> Result<Box<dyn VideoSource>, String> {
    open_x11(None)
}

#[cfg(not(target_os = "linux"))]
fn open_portal() -> Result<Box<dyn VideoSource>, String> {
    Err(say!(
        "the desktop portal is asked on Linux only",
        "只能在 Linux 上通过桌面门户共享"
    ))
}

#[cfg(not(target_os = "linux"))]
pub fn list_windows() {
    said::error(say!(
        "x11 windows are shared on Linux only",
        "只能在 Linux 上共享 x11 窗口"
    ))
}

fn usage(spec: &str) -> String {
    say!(
        "screen {spec:?}: expected test, test:WxH@FPS, a .y4m file, x11[:DISPLAY], window:ID|TITLE or portal",
        "屏幕 {spec:?}：应为 test、test:宽x高@帧率、.y4m 文件、x11[:显示器]、window:窗口号|标题 或 portal"
    )
}

impl ScreenShare {
    /// Shares `spec` in `person`'s meeting (instead of what was shared).
    pub async fn start(&mut self, target: &ShareTarget, spec: &str) {
        let (spec, with_sound) = match spec.trim().strip_suffix("+sound") {
            Some(picture) => (picture.trim_end(), true),
            None => (spec.trim(), false),
        };
        if spec == "portal" {
            // The desktop asks the user what to share, for as long as
            // they take: answered in `asked`. One asked before is
            // forgotten (its answer closed when it comes).
            self.asking = Some((tokio::task::spawn_blocking(open_portal), with_sound));
            println!(
                "{}",
                say!(
                    "asking your desktop what to share…",
                    "正在请桌面选择要共享的内容…"
                )
            );
            return;
        }
        match open_screen(spec) {
            Ok(video) => self.share(target, video, with_sound).await,
            Err(e) => said::error(e),
        }
    }

    /// Shares `video` (what `start` opened, or the desktop handed over).
    pub async fn share(
        &mut self,
        target: &ShareTarget,
        video: Box<dyn VideoSource>,
        with_sound: bool,
    ) {
        let audio = if with_sound {
            // Opening asks the sound server, and again if it answers with
            // nothing: not on the call's runtime.
            let played = target.played.clone();
            let opened = tokio::task::spawn_blocking(move || {
                talkline_media::computer_sound::ComputerSound::open(Some(&played))
            })
            .await;
            match opened {
                Ok(Ok(sound)) => Some(Box::new(sound) as Box<dyn talkline_media::AudioSource>),
                Ok(Err(e)) => return said::error(said(&e)),
                Err(_) => {
                    return said::error(say!(
                        "could not open the computer's sound",
                        "无法打开电脑的声音"
                    ));
                }
            }
        } else {
            None
        };
        let (width, height) = video.size();
        let fps = video.frame_rate();
        self.stop_quietly().await;
        let config = ShareConfig {
            server: target.server.clone(),
            room: target.room,
            pin: target.pin.clone(),
            entry_token: target.entry_token.clone(),
            display: target.display.clone(),
            video,
            audio,
            bitrate_kbps: SHARE_KBPS,
            ice: target.ice.clone(),
        };
        match share_screen(&target.commands, config).await {
            Ok(share) => {
                println!(
                    "{}",
                    say!(
                        "sharing your screen ({width}x{height}, {fps} fps)",
                        "正在共享你的屏幕（{width}x{height}，{fps} 帧/秒）"
                    )
                );
                if with_sound {
                    println!("{}", say!("and your computer's sound", "以及电脑的声音"));
                }
                self.share = Some(share);
            }
            Err(e) => {
                let e = said(&e);
                said::error(say!("could not share the screen: {e}", "无法共享屏幕：{e}"));
            }
        }
    }

    /// `share stop`.
    pub async fn stop(&mut self) {
        // The desktop's picker stays until answered; its answer is closed.
        let was_asking = self.asking.take().is_some();
        if self.share.is_none() && !was_asking {
            return said::error(say!("no screen is being shared", "当前没有共享屏幕"));
        }
        self.stop_quietly().await;
        println!("{}", say!("stopped sharing your screen", "已停止共享屏幕"));
    }

    async fn stop_quietly(&mut self) {
        if let Some(share) = self.share.take() {
            share.leave().await;
        }
    }

    /// The share's statistics, for `stats` (what it sent).
    pub fn stats(&self) -> Option<String> {
        self.share
            .as_ref()
            .map(|s| s.stats().snapshot().to_string())
    }

    /// Waits for the share to end by itself, or for the desktop's answer
    /// to `share portal` (pending while neither can come). A share that
    /// ended is gone, and why is said; an answer is shared. Cancel-safe.
    pub async fn next(&mut self, target: &ShareTarget) {
        let Self { share, asking } = self;
        let ended = async {
            match share.as_mut() {
                Some(share) => (&mut share.ended).await.ok().flatten(),
                None => std::future::pending().await,
            }
        };
        let answered = async {
            match asking.as_mut() {
                Some((asked, with_sound)) => (asked.await, *with_sound),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            why = ended => self.ended(why).await,
            (answer, with_sound) = answered => {
                self.asking = None;
                match answer {
                    Ok(Ok(video)) => self.share(target, video, with_sound).await,
                    Ok(Err(e)) => said::error(e),
                    Err(_) => said::error(say!("could not ask the desktop", "无法询问桌面")),
                }
            }
        }
    }

    async fn ended(&mut self, why: Option<talkline_meeting::MeetingError>) {
        if let Some(share) = self.share.take() {
            share.leave().await;
        }
        match why {
            Some(e) => {
                let e = said(&e);
                said::warning(say!(
                    "your screen share ended: {e}",
                    "你的屏幕共享已结束：{e}"
                ));
            }
            None => said::warning(say!("your screen share ended", "你的屏幕共享已结束")),
        }
    }

    pub async fn end(mut self) {
        self.stop_quietly().await;
    }
}
