//! The X11 screen, or one window of it, as a video source: read from the
//! root window at the share's frame rate, through shared memory where the
//! X server offers it
//! (MIT-SHM: the picture is written straight into our memory, not sent
//! over the X connection, 8 MB a frame at 1920x1080) and with XGetImage
//! otherwise, converted to I420. A window is read where it is on the
//! screen, so what covers it is shared too (an X server without a
//! compositor keeps no picture of a covered window); the picture follows
//! its size. libX11 is loaded at run
//! time; a machine without it or without a display gets an error, not a
//! crash. Wayland desktops share through the XDG desktop portal and
//! PipeWire (`portal`); Windows and macOS through their own capture APIs:
//! not built yet (see README).

use std::ffi::CString;
use std::ptr;
use std::time::{Duration, Instant};

use x11_dl::xlib::{self, Xlib};
use x11_dl::xshm::{XShmSegmentInfo, Xext};

use crate::convert::{bgrx_to_i420, bgrx_to_i420_at};
use crate::error::{MediaError, Result};
use crate::frame::VideoFrame;
use crate::source::{VideoSource, wall_clock_us};

mod portal;
mod windows;
mod x_errors;

pub use portal::{PortalScreen, is_wayland_session};
pub use windows::{WindowInfo, find_window, list_windows};

/// A live screen's pace: a picture is due `frame_rate` times a second,
/// and `wait` returns when it is (a late one does not make the next
/// early).
struct Pace {
    frame_rate: f64,
    next_at: Instant,
}

impl Pace {
    fn new(frame_rate: f64) -> Self {
        Self {
            frame_rate,
            next_at: Instant::now(),
        }
    }

    fn wait(&mut self) {
        let now = Instant::now();
        if self.next_at > now {
            std::thread::sleep(self.next_at - now);
        }
        let period = Duration::from_secs_f64(1.0 / self.frame_rate);
        self.next_at = (self.next_at + period).max(Instant::now());
    }

    /// The next picture is due at once.
    fn now(&mut self) {
        self.next_at = Instant::now();
    }
}

/// A screen that can be shared, as a picker lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenInfo {
    /// What `X11Screen::open` takes (`None`: `$DISPLAY`).
    pub display: Option<String>,
    pub width: u32,
    pub height: u32,
}

/// The screens this desktop can share: its X display's (one screen, as
/// the root window spans every monitor).
pub fn list_screens() -> Vec<ScreenInfo> {
    X11Screen::open(None, 1.0)
        .map(|s| {
            vec![ScreenInfo {
                display: None,
                width: s.width,
                height: s.height,
            }]
        })
        .unwrap_or_default()
}

/// A connection to an X display, closed when dropped.
struct Connection {
    xlib: Xlib,
    display: *mut xlib::Display,
    root: xlib::Window,
}

impl Connection {
    /// `display` (`$DISPLAY` when `None`).
    fn open(display: Option<&str>) -> Result<Self> {
        let xlib = Xlib::open().map_err(|e| MediaError::Screen(format!("no libX11: {e}")))?;
        let name = display
            .map(|d| {
                CString::new(d).map_err(|_| MediaError::Screen("a display name with NUL".into()))
            })
            .transpose()?;
        // SAFETY: a new connection; the name outlives the call.
        let connection =
            unsafe { (xlib.XOpenDisplay)(name.as_ref().map_or(ptr::null(), |n| n.as_ptr())) };
        if connection.is_null() {
            return Err(MediaError::Screen(format!(
                "no X display {}",
                display.unwrap_or("(DISPLAY)")
            )));
        }
        // SAFETY: the connection is open; it is forgotten before it is
        // closed (`Drop`).
        let root = unsafe {
            if !x_errors::watch(&xlib, connection) {
                log::warn!("too many X connections at once: an X error on this one ends the app");
            }
            (xlib.XRootWindow)(connection, (xlib.XDefaultScreen)(connection))
        };
        Ok(Self {
            xlib,
            display: connection,
            root,
        })
    }

    /// The root window's size now.
    fn root_size(&self) -> Option<(u32, u32)> {
        // SAFETY: the connection is open; the root window always exists.
        unsafe {
            let mut a = std::mem::zeroed::<xlib::XWindowAttributes>();
            ((self.xlib.XGetWindowAttributes)(self.display, self.root, &mut a) != 0)
                .then_some((a.width.max(0) as u32, a.height.max(0) as u32))
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // SAFETY: opened in `open`, closed once here; errors still to come
        // on it are taken in while it is watched.
        unsafe {
            (self.xlib.XSync)(self.display, xlib::False);
            x_errors::forget(self.display);
            (self.xlib.XCloseDisplay)(self.display);
        }
    }
}

/// What is shared: the whole screen, or one window of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Screen,
    Window(xlib::Window),
}

/// A rectangle of the root window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Area {
    x: i32,
    y: i32,
    width: u32,
    height: u32,
}

impl Area {
    /// The part of it within `width`x`height` from the origin, its size
    /// made even; `None` if too little is left.
    fn clipped(self, width: u32, height: u32) -> Option<Self> {
        let (x0, y0) = (self.x.max(0), self.y.max(0));
        let x1 = (i64::from(self.x) + i64::from(self.width)).min(i64::from(width)) as i32;
        let y1 = (i64::from(self.y) + i64::from(self.height)).min(i64::from(height)) as i32;
        let (w, h) = (
            ((x1 - x0).max(0) as u32) & !1,
            ((y1 - y0).max(0) as u32) & !1,
        );
        (w >= 2 && h >= 2).then_some(Self {
            x: x0,
            y: y0,
            width: w,
            height: h,
        })
    }
}

/// What one picture is made of: `read` of the root window, written at
/// `at` in the picture; `whole` if that is all of the picture (else the
/// rest is blank: a window partly off the screen, or smaller than the
/// picture until its new size holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Capture {
    read: Area,
    at: (u32, u32),
    whole: bool,
}

/// Pictures in a row a shared window's new size must hold for before the
/// picture follows it (0.3 s at 10 fps): a resize by hand goes through
/// many sizes.
const SIZE_HOLDS_FOR: u32 = 3;

/// The whole screen of an X display, or one window on it.
pub struct X11Screen {
    /// Before `xext`: closed before libXext is unloaded.
    connection: Connection,
    target: Target,
    /// The size of the pictures now (even: the encoder takes even sizes).
    width: u32,
    height: u32,
    /// A shared window's new size and how many pictures in a row found
    /// it: adopted once it holds (`SIZE_HOLDS_FOR`), not at every step
    /// of a resize, each of which would be a new encoder and a keyframe.
    new_size: Option<((u32, u32), u32)>,
    pace: Pace,
    /// A window blanked out of every picture: the app's own, so that
    /// sharing the screen never shows the meeting inside itself.
    hidden: Option<xlib::Window>,
    /// Sharing a window: whether the hidden one is stacked above it (so
    /// covers it) and when that was asked.
    hidden_above: Option<(Instant, bool)>,
    /// The picture in shared memory, made at the first frame and again
    /// when the size changes (`None` after: the server has no MIT-SHM, or
    /// it failed).
    shared: Option<Option<SharedImage>>,
    /// The last picture read through shared memory, as the server gave
    /// it: a picture that is the same again is not converted again, and
    /// is said to be unchanged (`VideoSource::unchanged`). Empty after a
    /// picture read otherwise.
    previous: Vec<u8>,
    unchanged: bool,
    /// Where the hidden window was blanked in the last picture: a picture
    /// the same as the last but blanked elsewhere is a new picture.
    last_blank: Option<(i32, i32, u32, u32)>,
    /// libXext, loaded for `shared`. Declared last: it is unloaded after
    /// the display is closed, as closing it calls into libXext.
    xext: Option<Xext>,
}

/// A screen-sized image in memory shared with the X server.
struct SharedImage {
    image: *mut xlib::XImage,
    shm: Box<XShmSegmentInfo>,
}

impl SharedImage {
    /// An image of `width`x`height` in the root's format, attached to the
    /// server; `None` if the server or the system will not share memory.
    ///
    /// # Safety
    /// `display` is open and used by this thread alone.
    unsafe fn new(
        xlib: &Xlib,
        xext: &Xext,
        display: *mut xlib::Display,
        width: u32,
        height: u32,
    ) -> Option<Self> {
        // SAFETY: per the caller; each handle made here is released on
        // every path that does not keep it.
        unsafe {
            // Memory is shared only with a server on this machine.
            let name = std::ffi::CStr::from_ptr((xlib.XDisplayString)(display)).to_bytes();
            let local = name.first() == Some(&b':') || name.starts_with(b"unix:");
            if !local || (xext.XShmQueryExtension)(display) == 0 {
                return None;
            }
            let screen = (xlib.XDefaultScreen)(display);
            let mut shm: Box<XShmSegmentInfo> = Box::new(std::mem::zeroed());
            let image = (xext.XShmCreateImage)(
                display,
                (xlib.XDefaultVisual)(display, screen),
                (xlib.XDefaultDepth)(display, screen).max(0) as u32,
                xlib::ZPixmap,
                ptr::null_mut(),
                &mut *shm,
                width,
                height,
            );
            if image.is_null() {
                return None;
            }
            let size = (*image).bytes_per_line.max(0) as usize * (*image).height.max(0) as usize;
            shm.shmid = libc::shmget(libc::IPC_PRIVATE, size, libc::IPC_CREAT | 0o600);
            if shm.shmid < 0 {
                destroy_shared_image(image);
                return None;
            }
            let address = libc::shmat(shm.shmid, ptr::null(), 0);
            // Removed now: it goes with the last detach, even after a crash.
            libc::shmctl(shm.shmid, libc::IPC_RMID, ptr::null_mut());
            if address as isize == -1 {
                destroy_shared_image(image);
                return None;
            }
            shm.shmaddr = address.cast();
            shm.readOnly = xlib::False;
            (*image).data = shm.shmaddr;
            // The server answers an attach it refuses (another machine,
            // another IPC namespace) with an error, later: waited for.
            let (attached, refused) =
                x_errors::catching(xlib, display, || (xext.XShmAttach)(display, &mut *shm) != 0);
            if !attached || refused {
                destroy_shared_image(image);
                libc::shmdt(address);
                return None;
            }
            Some(Self { image, shm })
        }
    }

    /// Releases the image (on the connection it was made on).
    ///
    /// # Safety
    /// `display` is the connection `new` was given, still open.
    unsafe fn release(mut self, xlib: &Xlib, xext: &Xext, display: *mut xlib::Display) {
        // SAFETY: per the caller; released once.
        unsafe {
            (xext.XShmDetach)(display, &mut *self.shm);
            (xlib.XSync)(display, xlib::False);
            destroy_shared_image(self.image);
            libc::shmdt(self.shm.shmaddr.cast());
        }
    }
}

/// Frees an image's structure, not its pixels (ours, in shared memory).
///
/// # Safety
/// `image` came from `XShmCreateImage` and is not used afterwards.
pub unsafe fn destroy_shared_image(image: *mut xlib::XImage) {
    // SAFETY: per the caller (XDestroyImage is a macro for this call).
    unsafe {
        (*image).data = ptr::null_mut();
        if let Some(destroy) = (*image).funcs.destroy_image {
            destroy(image);
        }
    }
}

// SAFETY: the display connection is used by whichever one thread owns the
// source (the capture thread), never by two at once.
unsafe impl Send for X11Screen {}

impl X11Screen {
    /// The screen of `display` (`$DISPLAY` when `None`), captured
    /// `frame_rate` times a second (1 to 30).
    pub fn open(display: Option<&str>, frame_rate: f64) -> Result<Self> {
        let source = Self::connect(display, Target::Screen, frame_rate)?;
        let (width, height) = source.connection.root_size().unwrap_or((0, 0));
        source.sized(width, height)
    }

    /// X window `window` of `display` (`$DISPLAY` when `None`), captured
    /// `frame_rate` times a second (1 to 30), at its size as it changes.
    pub fn open_window(display: Option<&str>, window: u64, frame_rate: f64) -> Result<Self> {
        let target = Target::Window(window as xlib::Window);
        let source = Self::connect(display, target, frame_rate)?;
        let place = source.window_place().map_err(|e| match e {
            MediaError::WindowClosed => {
                MediaError::Screen("that window is not there any more".into())
            }
            e => e,
        })?;
        let (width, height) = match place {
            Some(place) => (place.width, place.height),
            None => {
                return Err(MediaError::Screen(
                    "the window is not on the screen (minimised?): show it, then share it".into(),
                ));
            }
        };
        source.sized(width, height)
    }

    fn connect(display: Option<&str>, target: Target, frame_rate: f64) -> Result<Self> {
        if !(1.0..=30.0).contains(&frame_rate) {
            return Err(MediaError::InvalidParameter(format!(
                "a screen is captured 1 to 30 times a second, not {frame_rate}"
            )));
        }
        Ok(Self {
            connection: Connection::open(display)?,
            target,
            width: 0,
            height: 0,
            new_size: None,
            pace: Pace::new(frame_rate),
            hidden: None,
            hidden_above: None,
            shared: None,
            previous: Vec::new(),
            unchanged: false,
            last_blank: None,
            xext: None,
        })
    }

    fn sized(mut self, width: u32, height: u32) -> Result<Self> {
        // The encoder takes even sizes.
        (self.width, self.height) = (width & !1, height & !1);
        if self.width < 2 || self.height < 2 {
            return Err(MediaError::Screen(format!("a picture of {width}x{height}")));
        }
        Ok(self)
    }

    /// Where the shared window is now, in the root window's coordinates
    /// (on the screen or not), its size made even; `None` while it is not
    /// shown (minimised); an error once it is gone.
    fn window_place(&self) -> Result<Option<Area>> {
        let Target::Window(window) = self.target else {
            return Ok(None);
        };
        let c = &self.connection;
        // SAFETY: the connection is open and this thread's; the window may
        // be closed by its owner at any time, which is a refusal, noted.
        let ((shown, x, y, width, height), refused) = unsafe {
            x_errors::catching(&c.xlib, c.display, || {
                let mut a = std::mem::zeroed::<xlib::XWindowAttributes>();
                if (c.xlib.XGetWindowAttributes)(c.display, window, &mut a) == 0 {
                    return (None, 0, 0, 0, 0);
                }
                let (mut x, mut y, mut child) = (0, 0, 0);
                (c.xlib.XTranslateCoordinates)(
                    c.display, window, c.root, 0, 0, &mut x, &mut y, &mut child,
                );
                (
                    Some(a.map_state == xlib::IsViewable),
                    x,
                    y,
                    a.width.max(0) as u32,
                    a.height.max(0) as u32,
                )
            })
        };
        let Some(shown) = shown.filter(|_| !refused) else {
            return Err(MediaError::WindowClosed);
        };
        Ok(shown.then_some(Area {
            x,
            y,
            width: width & !1,
            height: height & !1,
        }))
    }

    /// Follows a shared window's size once a new one holds.
    fn follow_size(&mut self, width: u32, height: u32) {
        if (width, height) == (self.width, self.height) || width < 2 || height < 2 {
            self.new_size = None;
            return;
        }
        let seen = match self.new_size {
            Some((size, seen)) if size == (width, height) => seen + 1,
            _ => 1,
        };
        if seen < SIZE_HOLDS_FOR {
            self.new_size = Some(((width, height), seen));
            return;
        }
        // A new image in shared memory at the next read.
        self.new_size = None;
        self.release_shared();
        (self.width, self.height) = (width, height);
    }
}

impl X11Screen {
    /// Blanks X window `window` (where it is now, each picture) out of
    /// what is shared.
    pub fn hide_window(&mut self, window: u64) {
        self.hidden = Some(window as xlib::Window);
    }

    /// One picture now, unpaced: for a picker's thumbnail (read without
    /// shared memory, not worth making for one picture).
    pub fn snapshot(&mut self, frame: &mut VideoFrame) -> Result<()> {
        self.pace.now();
        if self.shared.is_none() {
            self.shared = Some(None);
        }
        self.next_frame(frame)
    }

    /// Where the hidden window is on the screen now, if it is shown.
    fn hidden_rect(&self) -> Option<(i32, i32, u32, u32)> {
        let window = self.hidden?;
        let c = &self.connection;
        // SAFETY: the connection is open. The window is the app's own main
        // window, which outlives any share (the share ends when the app
        // leaves the meeting).
        unsafe {
            let mut attributes = std::mem::zeroed::<xlib::XWindowAttributes>();
            if (c.xlib.XGetWindowAttributes)(c.display, window, &mut attributes) == 0
                || attributes.map_state != xlib::IsViewable
            {
                return None;
            }
            let (mut x, mut y, mut child) = (0, 0, 0);
            let translated = (c.xlib.XTranslateCoordinates)(
                c.display, window, c.root, 0, 0, &mut x, &mut y, &mut child,
            );
            if translated == 0 {
                return None;
            }
            Some((
                x,
                y,
                attributes.width.max(0) as u32,
                attributes.height.max(0) as u32,
            ))
        }
    }

    /// What the picture is made of now; `None` while a shared window is
    /// not shown (the last picture stays).
    fn capture_now(&mut self) -> Result<Option<Capture>> {
        let Some((root_width, root_height)) = self.connection.root_size() else {
            return Ok(None);
        };
        match self.target {
            Target::Screen => {
                // A screen made smaller since: asking for more of it than
                // there is would be refused, so the share ends.
                if root_width < self.width || root_height < self.height {
                    return Err(MediaError::Screen(
                        "the screen became smaller than what was shared: share it again".into(),
                    ));
                }
                let read = Area {
                    x: 0,
                    y: 0,
                    width: self.width,
                    height: self.height,
                };
                Ok(Some(Capture {
                    read,
                    at: (0, 0),
                    whole: true,
                }))
            }
            Target::Window(_) => {
                let Some(place) = self.window_place()? else {
                    return Ok(None);
                };
                self.follow_size(place.width, place.height);
                // The window from its top-left corner, as much of it as
                // the picture holds, where it is on the screen.
                let wanted = Area {
                    width: place.width.min(self.width),
                    height: place.height.min(self.height),
                    ..place
                };
                let Some(read) = wanted.clipped(root_width, root_height) else {
                    return Ok(None);
                };
                let at = ((read.x - place.x) as u32, (read.y - place.y) as u32);
                let whole = at == (0, 0) && (read.width, read.height) == (self.width, self.height);
                Ok(Some(Capture { read, at, whole }))
            }
        }
    }

    /// Whether the hidden window at `hidden` (x, y, width, height) shows
    /// in `area`: on a screen, wherever it is; over a shared window, only
    /// where it overlaps it and is stacked above it (asked of the server
    /// at most once a second: it walks the window tree).
    fn hidden_covers(&mut self, area: Area, (x, y, w, h): (i32, i32, u32, u32)) -> bool {
        let Target::Window(shared) = self.target else {
            return true;
        };
        let overlaps = x < area.x + area.width as i32
            && area.x < x.saturating_add(w as i32)
            && y < area.y + area.height as i32
            && area.y < y.saturating_add(h as i32);
        if !overlaps {
            return false;
        }
        let now = Instant::now();
        match self.hidden_above {
            Some((asked, above)) if now.duration_since(asked) < Duration::from_secs(1) => above,
            _ => {
                let c = &self.connection;
                let hidden = self.hidden.unwrap_or_default();
                // SAFETY: the connection is open and this thread's.
                let above =
                    unsafe { windows::stacked_above(&c.xlib, c.display, c.root, hidden, shared) };
                self.hidden_above = Some((now, above));
                above
            }
        }
    }

    fn release_shared(&mut self) {
        self.previous.clear();
        if let (Some(Some(shared)), Some(xext)) = (self.shared.take(), &self.xext) {
            // SAFETY: made on this connection, which is open; released once.
            unsafe { shared.release(&self.connection.xlib, xext, self.connection.display) };
        }
    }
}

/// Paints the part of `frame` at (`x`, `y`), `width`x`height` (clipped to
/// the frame) a flat dark grey.
pub fn blank_region(frame: &mut VideoFrame, x: i32, y: i32, width: u32, height: u32) {
    let (fw, fh) = (frame.width() as i64, frame.height() as i64);
    // Even edges, so the chroma covers exactly the luma blanked.
    let x0 = (i64::from(x).clamp(0, fw) & !1) as usize;
    let y0 = (i64::from(y).clamp(0, fh) & !1) as usize;
    let x1 = (((i64::from(x) + i64::from(width)).clamp(0, fw) + 1) & !1).min(fw) as usize;
    let y1 = (((i64::from(y) + i64::from(height)).clamp(0, fh) + 1) & !1).min(fh) as usize;
    if x1 <= x0 || y1 <= y0 {
        return;
    }
    let w = fw as usize;
    let (luma, u, v) = frame.planes_mut();
    for row in y0..y1 {
        luma[row * w + x0..row * w + x1].fill(40);
    }
    for row in y0 / 2..y1 / 2 {
        u[row * (w / 2) + x0 / 2..row * (w / 2) + x1 / 2].fill(128);
        v[row * (w / 2) + x0 / 2..row * (w / 2) + x1 / 2].fill(128);
    }
}

impl Drop for X11Screen {
    fn drop(&mut self) {
        // The image goes before the connection it was made on (a field,
        // dropped after this).
        self.release_shared();
    }
}

impl X11Screen {
    /// `area` of the screen now into `frame` through shared memory; false
    /// if there is none to use (the caller reads it the slow way).
    fn read_shared(&mut self, area: Area, frame: &mut VideoFrame) -> Result<bool> {
        if self.shared.is_none() {
            if self.xext.is_none() {
                self.xext = Xext::open().ok();
            }
            let c = &self.connection;
            // SAFETY: the connection is open and this thread's.
            let made = self.xext.as_ref().and_then(|xext| unsafe {
                SharedImage::new(&c.xlib, xext, c.display, area.width, area.height)
            });
            if made.is_none() {
                log::info!("the screen is read without shared memory (no MIT-SHM)");
            }
            self.shared = Some(made);
        }
        let (Some(Some(shared)), Some(xext)) = (&self.shared, &self.xext) else {
            return Ok(false);
        };
        let c = &self.connection;
        // SAFETY: the image is attached on this connection and sized to the
        // area (`follow_size` makes a new one when the size changes), which
        // lies within the screen (clipped to it, or checked:
        // `capture_now`); its pixels are read within its own bounds.
        unsafe {
            if (xext.XShmGetImage)(c.display, c.root, shared.image, area.x, area.y, !0) == 0 {
                return Ok(false);
            }
            let img = &*shared.image;
            if img.bits_per_pixel != 32 || img.bytes_per_line <= 0 {
                return Err(MediaError::Screen(format!(
                    "a screen of {} bits a pixel",
                    img.bits_per_pixel
                )));
            }
            let stride = img.bytes_per_line as usize;
            let len = stride * img.height.max(0) as usize;
            let data = std::slice::from_raw_parts(img.data as *const u8, len);
            let (w, h) = (img.width as u32, img.height as u32);
            // The same picture again, already in `frame`: a still screen
            // costs a comparison, not a conversion.
            self.unchanged = self.previous.as_slice() == data
                && (frame.width(), frame.height()) == (w & !1, h & !1);
            if !self.unchanged {
                // Allocates only when the size changed.
                self.previous.clear();
                self.previous.extend_from_slice(data);
                bgrx_to_i420(data, stride, w, h, frame)?;
            }
        }
        Ok(true)
    }

    /// What `capture` reads of the screen now into `frame` through the X
    /// connection: the whole of it, or its part at `capture.at`.
    fn read_slow(&self, capture: Capture, frame: &mut VideoFrame) -> Result<()> {
        let area = capture.read;
        let c = &self.connection;
        // SAFETY: the connection is open; the area lies within the screen;
        // the image is checked, read within its own bounds and destroyed
        // once.
        unsafe {
            let image = (c.xlib.XGetImage)(
                c.display,
                c.root,
                area.x,
                area.y,
                area.width,
                area.height,
                !0,
                xlib::ZPixmap,
            );
            if image.is_null() {
                return Err(MediaError::Screen("the X server gave no picture".into()));
            }
            let img = &*image;
            let result =
                if img.bits_per_pixel != 32 || img.data.is_null() || img.bytes_per_line <= 0 {
                    Err(MediaError::Screen(format!(
                        "a screen of {} bits a pixel",
                        img.bits_per_pixel
                    )))
                } else {
                    let stride = img.bytes_per_line as usize;
                    let len = stride * img.height.max(0) as usize;
                    let data = std::slice::from_raw_parts(img.data as *const u8, len);
                    let (w, h) = (img.width as u32, img.height as u32);
                    if capture.whole {
                        bgrx_to_i420(data, stride, w, h, frame)
                    } else {
                        bgrx_to_i420_at(data, stride, w, h, frame, capture.at)
                    }
                };
            (c.xlib.XDestroyImage)(image);
            result
        }
    }
}

impl VideoSource for X11Screen {
    fn next_frame(&mut self, frame: &mut VideoFrame) -> Result<()> {
        self.pace.wait();
        self.unchanged = false;
        if let Some(capture) = self.capture_now()? {
            // The picture's place on the screen, and where the hidden
            // window is blanked in it (asked first: the same pixels with
            // another blank are another picture).
            let picture = Area {
                x: capture.read.x - capture.at.0 as i32,
                y: capture.read.y - capture.at.1 as i32,
                width: self.width,
                height: self.height,
            };
            let blank = self
                .hidden_rect()
                .filter(|&hidden| self.hidden_covers(picture, hidden))
                .map(|(x, y, w, h)| (x - picture.x, y - picture.y, w, h));
            if blank != self.last_blank {
                self.previous.clear();
                self.last_blank = blank;
            }
            if !capture.whole {
                self.previous.clear();
                // Part of the picture, the rest blank: read the slow way (an
                // image made for each picture, while a window is partly off
                // the screen or smaller than the picture).
                frame.reshape(self.width, self.height)?;
                blank_region(frame, 0, 0, self.width, self.height);
                self.read_slow(capture, frame)?;
            } else if !self.read_shared(capture.read, frame)? {
                self.previous.clear();
                self.read_slow(capture, frame)?;
            }
            if let Some((x, y, w, h)) = blank {
                blank_region(frame, x, y, w, h);
            }
        } else {
            // A window not shown: its last picture stays, the same.
            self.unchanged = (frame.width(), frame.height()) == (self.width, self.height);
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

    /// The size of the pictures now: a shared window's follows the window.
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn unchanged(&self) -> bool {
        self.unchanged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hidden_window_is_blanked_where_it_is_and_nowhere_else() {
        let mut frame = VideoFrame::new(8, 4).expect("a frame");
        frame.planes_mut().0.fill(200);
        blank_region(&mut frame, 3, 1, 2, 2);
        let luma = frame.y();
        // Widened to even edges: columns 2..6, rows 0..4.
        assert_eq!(&luma[0..8], &[200, 200, 40, 40, 40, 40, 200, 200]);
        assert_eq!(&luma[24..32], &[200, 200, 40, 40, 40, 40, 200, 200]);
        // Off the frame, or partly: clipped, never a panic.
        blank_region(&mut frame, -100, -100, 50, 50);
        blank_region(&mut frame, 7, 3, 1000, 1000);
        blank_region(&mut frame, i32::MAX, i32::MIN, u32::MAX, u32::MAX);
        assert_eq!(frame.y()[31], 40);
    }
}
