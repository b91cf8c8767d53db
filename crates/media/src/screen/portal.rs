//! A Wayland desktop's screen, or one of its windows, as a video source:
//! asked for through the XDG desktop portal's ScreenCast (the desktop
//! shows its own picker, and its own sign that the screen is shared), and
//! read from the PipeWire stream the portal hands over.
//!
//! A Wayland client cannot read other clients' pictures (X11's root
//! window has no counterpart there): the desktop decides what is shared,
//! through the portal, and can end the share from its own controls. The
//! portal is told not to remember the choice (`PersistMode::DoNot`): no
//! token that would let TalkLine share the screen again without asking is
//! kept anywhere.
//!
//! PipeWire delivers pictures on its own thread; they are handed to the
//! capture thread through two lock-free queues of reused buffers, so
//! neither thread allocates or waits on the other for a picture.

use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ashpd::desktop::screencast::{CursorMode, Screencast, SelectSourcesOptions, SourceType};
use ashpd::desktop::{PersistMode, ResponseError, Session};
use async_io::Timer;
use crossbeam_queue::ArrayQueue;
use futures_util::StreamExt;
use futures_util::future::{Either, select};
use pipewire as pw;
use pw::spa;

use crate::convert::bgrx_to_i420;
use crate::error::{MediaError, Result};
use crate::frame::VideoFrame;
use crate::source::{VideoSource, wall_clock_us};

/// How long the first picture may take once the desktop said yes.
const FIRST_PICTURE_WITHIN: Duration = Duration::from_secs(5);

/// How long closing the portal's session may take (a desktop that does
/// not answer must not hold up the end of a share).
const CLOSE_WITHIN: Duration = Duration::from_secs(2);

/// How often the session's watcher looks whether the share was stopped
/// here.
const WATCH_EVERY: Duration = Duration::from_millis(200);

/// Pictures in flight between the two threads: one being filled, one
/// ready, one being converted.
const PICTURES: usize = 3;

/// Whether this is a Wayland session, whose screen is shared through the
/// portal rather than read from an X server.
pub fn is_wayland_session() -> bool {
    std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
        || std::env::var("XDG_SESSION_TYPE").is_ok_and(|t| t == "wayland")
}

/// One picture as PipeWire gave it, made BGRx: rows of `width * 4` bytes.
struct Picture {
    bytes: Vec<u8>,
    width: u32,
    height: u32,
}

/// Why the stream stopped, as the PipeWire thread saw it.
const RUNNING: u8 = 0;
const ENDED: u8 = 1;
const FAILED: u8 = 2;

/// What the PipeWire thread and the capture thread share.
struct Pictures {
    /// Buffers to fill.
    free: ArrayQueue<Picture>,
    /// The newest picture, not yet taken.
    ready: ArrayQueue<Picture>,
    state: AtomicU8,
}

impl Pictures {
    fn new() -> Self {
        let free = ArrayQueue::new(PICTURES);
        for _ in 0..PICTURES {
            let _ = free.push(Picture {
                bytes: Vec::new(),
                width: 0,
                height: 0,
            });
        }
        Self {
            free,
            ready: ArrayQueue::new(1),
            state: AtomicU8::new(RUNNING),
        }
    }

    /// Hands over a picture, the older one not taken back to `free`.
    fn publish(&self, picture: Picture) {
        if let Some(older) = self.ready.force_push(picture) {
            let _ = self.free.push(older);
        }
    }

    fn end(&self, how: u8) {
        let _ = self
            .state
            .compare_exchange(RUNNING, how, Ordering::AcqRel, Ordering::Acquire);
    }
}

/// Copies `height` rows of `width` 4-byte pixels, `stride` bytes apart,
/// out of `src` into `picture` as BGRx (red and blue swapped if
/// `red_first`: RGBx); its buffer grows only when a bigger picture comes.
/// False if `src` is too short for them.
fn fill(
    picture: &mut Picture,
    src: &[u8],
    (width, height): (u32, u32),
    stride: usize,
    red_first: bool,
) -> bool {
    let row = width as usize * 4;
    let needed = match (height as usize).checked_sub(1) {
        Some(rows) => stride.saturating_mul(rows).saturating_add(row),
        None => return false,
    };
    if width == 0 || stride < row || src.len() < needed {
        return false;
    }
    picture.bytes.resize(row * height as usize, 0);
    for (to, from) in picture.bytes.chunks_exact_mut(row).zip(src.chunks(stride)) {
        let from = &from[..row];
        if red_first {
            for (to, from) in to.chunks_exact_mut(4).zip(from.chunks_exact(4)) {
                to.copy_from_slice(&[from[2], from[1], from[0], from[3]]);
            }
        } else {
            to.copy_from_slice(from);
        }
    }
    picture.width = width;
    picture.height = height;
    true
}

/// The screen or window the desktop's portal let us share.
pub struct PortalScreen {
    pictures: Arc<Pictures>,
    /// The picture converted last (kept: a still screen sends no new one).
    last: Option<Picture>,
    /// Whether `last` is still to be converted (the first picture).
    last_is_new: bool,
    unchanged: bool,
    width: u32,
    height: u32,
    pace: super::Pace,
    stop: Option<pw::channel::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Tells the session's watcher to close the portal's session (the
    /// desktop's "sharing" sign goes with it).
    close_session: Arc<AtomicBool>,
}

impl PortalScreen {
    /// Asks the desktop, through its portal, for a screen or window to
    /// share (the desktop's picker decides, or the user there), then
    /// reads it `frame_rate` times a second (1 to 30). Blocks until the
    /// user has chosen: call it off the async runtime.
    pub fn open(frame_rate: f64) -> Result<Self> {
        let frame_rate = frame_rate.clamp(1.0, 30.0);
        let (session, node, fd) = ashpd::zbus::block_on(ask_the_portal())?;
        let pictures = Arc::new(Pictures::new());
        let close_session = Arc::new(AtomicBool::new(false));
        let (said, started) = mpsc::channel();
        let thread = {
            let pictures = pictures.clone();
            std::thread::Builder::new()
                .name("screen-pipewire".into())
                .spawn(move || read_stream(fd, node, frame_rate, pictures, said))
        };
        let thread = match thread {
            Ok(thread) => thread,
            Err(e) => {
                let _ = ashpd::zbus::block_on(close_within(&session));
                return Err(MediaError::Screen(format!("no thread for PipeWire: {e}")));
            }
        };
        let mut screen = Self {
            pictures,
            last: None,
            last_is_new: false,
            unchanged: false,
            width: 0,
            height: 0,
            pace: super::Pace::new(frame_rate),
            stop: None,
            thread: Some(thread),
            close_session: close_session.clone(),
        };
        let stop = match started.recv() {
            Ok(Ok(stop)) => stop,
            Ok(Err(e)) => {
                let _ = ashpd::zbus::block_on(close_within(&session));
                return Err(MediaError::Screen(e));
            }
            Err(_) => {
                let _ = ashpd::zbus::block_on(close_within(&session));
                return Err(MediaError::Screen("PipeWire's thread ended".into()));
            }
        };
        screen.stop = Some(stop.clone());
        // From here the watcher owns the session: it ends the share when
        // the desktop closes it, and closes it when the share ends here
        // (`Drop`, also on the errors below).
        let watcher = {
            let pictures = screen.pictures.clone();
            std::thread::Builder::new()
                .name("screen-portal".into())
                .spawn(move || watch_session(session, pictures, stop, close_session))
        };
        if let Err(e) = watcher {
            return Err(MediaError::Screen(format!("no thread for the portal: {e}")));
        }
        // The size is the first picture's: waited for here, so that the
        // share is announced at the size it will be.
        let deadline = Instant::now() + FIRST_PICTURE_WITHIN;
        loop {
            if let Some(picture) = screen.pictures.ready.pop() {
                screen.width = picture.width & !1;
                screen.height = picture.height & !1;
                screen.last = Some(picture);
                screen.last_is_new = true;
                break;
            }
            // Ended before its first picture (a stream the desktop named
            // but never made), or nothing for too long: the same to the
            // user, who has not seen the share start.
            if screen.ended().is_some() || Instant::now() >= deadline {
                return Err(MediaError::Screen(
                    "the desktop sent no picture of the screen".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(screen)
    }

    fn ended(&self) -> Option<MediaError> {
        match self.pictures.state.load(Ordering::Acquire) {
            RUNNING => None,
            ENDED => Some(MediaError::ShareEndedByDesktop),
            _ => Some(MediaError::Screen("PipeWire's stream failed".into())),
        }
    }
}

/// CreateSession, SelectSources, Start and OpenPipeWireRemote: the
/// session, the chosen stream's PipeWire node and the remote it is on.
/// A session that cannot be used is closed again.
async fn ask_the_portal() -> Result<(Session<Screencast>, u32, OwnedFd)> {
    let proxy = Screencast::new().await.map_err(|e| match e {
        ashpd::Error::PortalNotFound(_) | ashpd::Error::Zbus(_) => MediaError::Screen(format!(
            "this desktop has no screen-sharing portal (xdg-desktop-portal): {e}"
        )),
        e => not_shared(e),
    })?;
    let session = proxy
        .create_session(Default::default())
        .await
        .map_err(not_shared)?;
    match choose(&proxy, &session).await {
        Ok((node, fd)) => Ok((session, node, fd)),
        Err(e) => {
            let _ = close_within(&session).await;
            Err(e)
        }
    }
}

async fn choose(proxy: &Screencast, session: &Session<Screencast>) -> Result<(u32, OwnedFd)> {
    // The pointer drawn into the picture where the desktop can; windows
    // offered where it can share them.
    let cursor = proxy
        .available_cursor_modes()
        .await
        .ok()
        .filter(|modes| modes.contains(CursorMode::Embedded))
        .map(|_| CursorMode::Embedded);
    let kinds = proxy
        .available_source_types()
        .await
        .map(|kinds| kinds & (SourceType::Monitor | SourceType::Window))
        .ok()
        .filter(|kinds| !kinds.is_empty())
        .unwrap_or(SourceType::Monitor.into());
    proxy
        .select_sources(
            session,
            SelectSourcesOptions::default()
                .set_cursor_mode(cursor)
                .set_sources(kinds)
                .set_multiple(false)
                .set_persist_mode(PersistMode::DoNot),
        )
        .await
        .and_then(|request| request.response())
        .map_err(not_shared)?;
    let streams = proxy
        .start(session, None, Default::default())
        .await
        .and_then(|request| request.response())
        .map_err(not_shared)?;
    let node = streams
        .streams()
        .first()
        .map(|stream| stream.pipe_wire_node_id())
        .ok_or_else(|| MediaError::Screen("the desktop chose nothing to share".into()))?;
    let fd = proxy
        .open_pipe_wire_remote(session, Default::default())
        .await
        .map_err(not_shared)?;
    Ok((node, fd))
}

fn not_shared(e: ashpd::Error) -> MediaError {
    match e {
        ashpd::Error::Response(ResponseError::Cancelled)
        | ashpd::Error::Portal(
            ashpd::PortalError::NotAllowed(_) | ashpd::PortalError::Cancelled(_),
        ) => MediaError::ShareRefused,
        // The desktop's backend ended the dialog some other way: it could
        // not share (a compositor it cannot capture, for one).
        ashpd::Error::Response(ResponseError::Other) => {
            MediaError::Screen("the desktop could not share the screen".into())
        }
        e => MediaError::Screen(format!("the desktop's portal: {e}")),
    }
}

/// Closes the portal's session, giving up after `CLOSE_WITHIN`.
async fn close_within(session: &Session<Screencast>) -> bool {
    let close = std::pin::pin!(session.close());
    matches!(
        select(close, Timer::after(CLOSE_WITHIN)).await,
        Either::Left((Ok(()), _))
    )
}

/// The session's watcher, on a thread of its own: the share ends when
/// the desktop closes the session (its own "Stop sharing"; the PipeWire
/// stream may stay connected), and the session is closed once the share
/// ends here.
fn watch_session(
    session: Session<Screencast>,
    pictures: Arc<Pictures>,
    stop_stream: pw::channel::Sender<()>,
    close: Arc<AtomicBool>,
) {
    ashpd::zbus::block_on(async {
        let closed = session.receive_closed().await.ok();
        let mut closed = std::pin::pin!(closed);
        while !close.load(Ordering::Acquire) {
            let Some(mut signals) = closed.as_mut().as_pin_mut() else {
                Timer::after(WATCH_EVERY).await;
                continue;
            };
            let next = signals.next();
            if let Either::Left(_) = select(next, Timer::after(WATCH_EVERY)).await {
                pictures.end(ENDED);
                let _ = stop_stream.send(());
                return;
            }
        }
        if !close_within(&session).await {
            log::warn!("the desktop did not close its screen-sharing session");
        }
    });
}

/// The negotiated picture format, as the stream's callbacks see it.
#[derive(Default)]
struct Format {
    width: u32,
    height: u32,
    /// RGBx or RGBA (else BGRx or BGRA).
    red_first: bool,
}

/// The PipeWire thread: connects to the portal's remote, reads node
/// `node` into `pictures` until told to stop (or the stream ends), and
/// says first whether it started (with the sender that stops it).
fn read_stream(
    fd: OwnedFd,
    node: u32,
    frame_rate: f64,
    pictures: Arc<Pictures>,
    said: mpsc::Sender<std::result::Result<pw::channel::Sender<()>, String>>,
) {
    pw::init();
    let run = || -> std::result::Result<(), String> {
        let failed = |what: &str| {
            let what = what.to_owned();
            move |e: pw::Error| format!("PipeWire: {what}: {e}")
        };
        let main_loop = pw::main_loop::MainLoopRc::new(None).map_err(failed("no loop"))?;
        let context =
            pw::context::ContextRc::new(&main_loop, None).map_err(failed("no context"))?;
        let core = context
            .connect_fd_rc(fd, None)
            .map_err(failed("the portal's remote"))?;
        let stream = pw::stream::StreamBox::new(
            &core,
            "talkline-screen",
            pw::properties::properties! {
                *pw::keys::MEDIA_TYPE => "Video",
                *pw::keys::MEDIA_CATEGORY => "Capture",
                *pw::keys::MEDIA_ROLE => "Screen",
            },
        )
        .map_err(failed("no stream"))?;
        let on_state = pictures.clone();
        let on_picture = pictures.clone();
        let _listener = stream
            .add_local_listener_with_user_data(Format::default())
            .state_changed(move |_, _, _, state| match state {
                pw::stream::StreamState::Error(e) => {
                    log::warn!("the screen's PipeWire stream failed: {e}");
                    on_state.end(FAILED);
                }
                pw::stream::StreamState::Unconnected => on_state.end(ENDED),
                _ => {}
            })
            .param_changed(|stream, format, id, param| {
                let Some(param) = param else { return };
                if id != spa::param::ParamType::Format.as_raw() {
                    return;
                }
                let mut info = spa::param::video::VideoInfoRaw::default();
                if info.parse(param).is_ok() {
                    use spa::param::video::VideoFormat;
                    format.width = info.size().width;
                    format.height = info.size().height;
                    format.red_first =
                        matches!(info.format(), VideoFormat::RGBx | VideoFormat::RGBA);
                    // Buffers big enough for a whole picture, in memory we
                    // can map: a desktop that lets the reader size them
                    // would otherwise pick its own (too small, in some).
                    match buffers_param(format.width, format.height) {
                        Some(bytes) => {
                            if let Some(pod) = spa::pod::Pod::from_bytes(&bytes)
                                && let Err(e) = stream.update_params(&mut [pod])
                            {
                                log::warn!("PipeWire: the buffers asked for: {e}");
                            }
                        }
                        None => log::warn!("PipeWire: no buffers asked for"),
                    }
                }
            })
            .process(move |stream, format| {
                let Some(mut buffer) = stream.dequeue_buffer() else {
                    return;
                };
                let Some(data) = buffer.datas_mut().first_mut() else {
                    return;
                };
                let chunk = data.chunk();
                if chunk.flags().contains(spa::buffer::ChunkFlags::CORRUPTED) {
                    return;
                }
                let (offset, size) = (chunk.offset() as usize, chunk.size() as usize);
                let stride = match chunk.stride() {
                    s if s > 0 => s as usize,
                    _ => format.width as usize * 4,
                };
                let Some(bytes) = data.data() else { return };
                let Some(bytes) = bytes.get(offset..offset.saturating_add(size)) else {
                    return;
                };
                // Every buffer taken: the capture thread is behind, and
                // this picture is dropped (it keeps the newest it has).
                let Some(mut picture) = on_picture.free.pop() else {
                    return;
                };
                let size = (format.width, format.height);
                if fill(&mut picture, bytes, size, stride, format.red_first) {
                    on_picture.publish(picture);
                } else {
                    let _ = on_picture.free.push(picture);
                }
            })
            .register()
            .map_err(failed("no listener"))?;
        let format = picture_format(frame_rate)?;
        let mut params = [spa::pod::Pod::from_bytes(&format)
            .ok_or_else(|| "PipeWire: the format asked for".to_owned())?];
        stream
            .connect(
                spa::utils::Direction::Input,
                Some(node),
                pw::stream::StreamFlags::AUTOCONNECT
                    | pw::stream::StreamFlags::MAP_BUFFERS
                    | pw::stream::StreamFlags::DONT_RECONNECT,
                &mut params,
            )
            .map_err(failed("the screen's stream"))?;
        let (stop, stopped) = pw::channel::channel::<()>();
        let _stopped = stopped.attach(main_loop.loop_(), {
            let main_loop = main_loop.clone();
            move |()| main_loop.quit()
        });
        let _ = said.send(Ok(stop));
        main_loop.run();
        let _ = stream.disconnect();
        Ok(())
    };
    if let Err(e) = run() {
        pictures.end(FAILED);
        let _ = said.send(Err(e));
    }
}

/// The pictures asked for: BGRx, BGRA, RGBx or RGBA (the alpha unread)
/// of any size, in memory (no DMA-BUF modifiers offered, so the desktop
/// maps them for us), at `frame_rate` or less: a desktop that would send
/// at its display's rate (60 Hz) sends no more than is shared.
fn picture_format(frame_rate: f64) -> std::result::Result<Vec<u8>, String> {
    use spa::param::format::{FormatProperties, MediaSubtype, MediaType};
    use spa::param::video::VideoFormat;
    use spa::utils::{Fraction, Rectangle};
    let fps = frame_rate.round() as u32;
    let object = spa::pod::object!(
        spa::utils::SpaTypes::ObjectParamFormat,
        spa::param::ParamType::EnumFormat,
        spa::pod::property!(FormatProperties::MediaType, Id, MediaType::Video),
        spa::pod::property!(FormatProperties::MediaSubtype, Id, MediaSubtype::Raw),
        spa::pod::property!(
            FormatProperties::VideoFormat,
            Choice,
            Enum,
            Id,
            VideoFormat::BGRx,
            VideoFormat::BGRx,
            VideoFormat::BGRA,
            VideoFormat::RGBx,
            VideoFormat::RGBA
        ),
        spa::pod::property!(
            FormatProperties::VideoSize,
            Choice,
            Range,
            Rectangle,
            Rectangle {
                width: 1920,
                height: 1080
            },
            Rectangle {
                width: 2,
                height: 2
            },
            Rectangle {
                width: 8192,
                height: 8192
            }
        ),
        spa::pod::property!(
            FormatProperties::VideoFramerate,
            Choice,
            Range,
            Fraction,
            Fraction { num: fps, denom: 1 },
            Fraction { num: 0, denom: 1 },
            Fraction { num: fps, denom: 1 }
        ),
        spa::pod::property!(
            FormatProperties::VideoMaxFramerate,
            Choice,
            Range,
            Fraction,
            Fraction { num: fps, denom: 1 },
            Fraction { num: 1, denom: 1 },
            Fraction { num: fps, denom: 1 }
        ),
    );
    spa::pod::serialize::PodSerializer::serialize(
        std::io::Cursor::new(Vec::new()),
        &spa::pod::Value::Object(object),
    )
    .map(|(bytes, _)| bytes.into_inner())
    .map_err(|e| format!("PipeWire: the format asked for: {e:?}"))
}

/// The buffers asked for once the size is known: 2 to 8 of them, one
/// block each of a whole `width`x`height` picture of 4-byte pixels, in
/// shared memory or plain memory (both mapped for us).
fn buffers_param(width: u32, height: u32) -> Option<Vec<u8>> {
    use spa::pod::{ChoiceValue, Property, Value};
    use spa::utils::{Choice, ChoiceEnum, ChoiceFlags};
    let stride = i32::try_from(width.checked_mul(4)?).ok()?;
    let size = stride.checked_mul(i32::try_from(height).ok()?)?;
    let memory = (1 << spa::sys::SPA_DATA_MemFd) | (1 << spa::sys::SPA_DATA_MemPtr);
    let object = spa::pod::object!(
        spa::utils::SpaTypes::ObjectParamBuffers,
        spa::param::ParamType::Buffers,
        Property::new(
            spa::sys::SPA_PARAM_BUFFERS_buffers,
            Value::Choice(ChoiceValue::Int(Choice(
                ChoiceFlags::empty(),
                ChoiceEnum::Range {
                    default: 4,
                    min: 2,
                    max: 8,
                },
            ))),
        ),
        Property::new(spa::sys::SPA_PARAM_BUFFERS_blocks, Value::Int(1)),
        Property::new(spa::sys::SPA_PARAM_BUFFERS_size, Value::Int(size)),
        Property::new(spa::sys::SPA_PARAM_BUFFERS_stride, Value::Int(stride)),
        Property::new(spa::sys::SPA_PARAM_BUFFERS_dataType, Value::Int(memory)),
    );
    spa::pod::serialize::PodSerializer::serialize(
        std::io::Cursor::new(Vec::new()),
        &spa::pod::Value::Object(object),
    )
    .ok()
    .map(|(bytes, _)| bytes.into_inner())
}

impl VideoSource for PortalScreen {
    fn next_frame(&mut self, frame: &mut VideoFrame) -> Result<()> {
        self.pace.wait();
        if let Some(e) = self.ended() {
            return Err(e);
        }
        // A new picture the same as the last, pixel for pixel (a desktop
        // that sends at a steady rate), is no new picture.
        let mut fresh = std::mem::take(&mut self.last_is_new);
        if let Some(picture) = self.pictures.ready.pop() {
            let same = self.last.as_ref().is_some_and(|last| {
                (last.width, last.height) == (picture.width, picture.height)
                    && last.bytes == picture.bytes
            });
            fresh |= !same;
            if let Some(older) = self.last.replace(picture) {
                let _ = self.pictures.free.push(older);
            }
        }
        let Some(picture) = self.last.as_ref() else {
            return Err(MediaError::Screen("no picture of the screen yet".into()));
        };
        let (width, height) = (picture.width & !1, picture.height & !1);
        // No new picture: the desktop sends one only when the screen
        // changes, and the last one is in `frame` still.
        self.unchanged = !fresh
            && (width, height) == (self.width, self.height)
            && (frame.width(), frame.height()) == (width, height);
        if !self.unchanged {
            bgrx_to_i420(
                &picture.bytes,
                picture.width as usize * 4,
                picture.width,
                picture.height,
                frame,
            )?;
            self.width = width;
            self.height = height;
        }
        frame.capture_time_us = wall_clock_us();
        Ok(())
    }

    fn frame_rate(&self) -> f64 {
        self.pace.frame_rate
    }

    fn is_live(&self) -> bool {
        true
    }

    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn unchanged(&self) -> bool {
        self.unchanged
    }
}

impl Drop for PortalScreen {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // Closed by the watcher, so that the desktop's "sharing" sign goes
        // now; not waited for here (a desktop that does not answer must
        // not hold up the call).
        self.close_session.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty() -> Picture {
        Picture {
            bytes: Vec::new(),
            width: 0,
            height: 0,
        }
    }

    #[test]
    fn rows_are_packed_from_their_stride_and_short_buffers_refused() {
        // 2x2 pixels in rows of 12 bytes (4 of padding).
        let src: Vec<u8> = (0..24).collect();
        let mut picture = empty();
        assert!(fill(&mut picture, &src, (2, 2), 12, false));
        assert_eq!((picture.width, picture.height), (2, 2));
        assert_eq!(
            picture.bytes,
            [0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 16, 17, 18, 19]
        );
        // RGBx made BGRx: red and blue swapped in each pixel.
        assert!(fill(&mut picture, &src, (2, 2), 12, true));
        assert_eq!(
            picture.bytes,
            [2, 1, 0, 3, 6, 5, 4, 7, 14, 13, 12, 15, 18, 17, 16, 19]
        );
        // The last row needs no padding after it.
        assert!(fill(&mut picture, &src[..20], (2, 2), 12, false));
        // Too short, a stride shorter than a row, nothing at all.
        assert!(!fill(&mut picture, &src[..19], (2, 2), 12, false));
        assert!(!fill(&mut picture, &src, (2, 2), 4, false));
        assert!(!fill(&mut picture, &src, (0, 2), 12, false));
        assert!(!fill(&mut picture, &src, (2, 0), 12, false));
    }

    #[test]
    fn the_newest_picture_replaces_one_not_taken() {
        let pictures = Pictures::new();
        let mut first = pictures.free.pop().expect("a buffer");
        first.width = 1;
        pictures.publish(first);
        let mut second = pictures.free.pop().expect("a buffer");
        second.width = 2;
        pictures.publish(second);
        // The first went back to be filled again; only the second waits.
        assert_eq!(pictures.free.len(), PICTURES - 1);
        assert_eq!(pictures.ready.pop().map(|p| p.width), Some(2));
        assert!(pictures.ready.pop().is_none());
    }
}
