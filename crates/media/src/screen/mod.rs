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
//! PipeWire, and Windows and macOS through their own capture APIs: not
//! built on this machine (see README).

use std::ffi::CString;
use std::ptr;
use std::time::{Duration, Instant};

use x11_dl::xlib::{self, Xlib};
use x11_dl::xshm::{XShmSegmentInfo, Xext};

use crate::convert::bgrx_to_i420;
use crate::error::{MediaError, Result};
use crate::frame::VideoFrame;
use crate::source::{VideoSource, wall_clock_us};

mod windows;
mod x_errors;

pub use windows::{WindowInfo, find_window, list_windows};

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
        // SAFETY: the connection is open.
        let root = unsafe { (xlib.XRootWindow)(connection, (xlib.XDefaultScreen)(connection)) };
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
        // SAFETY: opened in `open`, closed once here.
        unsafe { (self.xlib.XCloseDisplay)(self.display) };
    }
}

/// What is shared: the whole screen, or one window of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Screen,
    Window(xlib::Window),
}

/// The part of the root window read for a picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Area {
    x: i32,
    y: i32,
    width: u32,
    height: u32,
}

/// The whole screen of an X display, or one window on it.
pub struct X11Screen {
    /// Before `xext`: closed before libXext is unloaded.
    connection: Connection,
    target: Target,
    /// The size of the pictures now (even: the encoder takes even sizes).
    width: u32,
    height: u32,
    frame_rate: f64,
    next_at: Instant,
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
        let (width, height) = match source.window_area()? {
            Some(area) => (area.width, area.height),
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
            frame_rate,
            next_at: Instant::now(),
            hidden: None,
            hidden_above: None,
            shared: None,
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

    /// Where the shared window is on the screen now, clipped to it and
    /// made even; `None` while it is not shown (minimised, or moved off
    /// the screen); an error once it is gone.
    fn window_area(&self) -> Result<Option<Area>> {
        let Target::Window(window) = self.target else {
            return Ok(None);
        };
        let c = &self.connection;
        let Some((root_width, root_height)) = c.root_size() else {
            return Ok(None);
        };
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
                    a.width.max(0),
                    a.height.max(0),
                )
            })
        };
        let Some(shown) = shown.filter(|_| !refused) else {
            return Err(MediaError::WindowClosed);
        };
        if !shown {
            return Ok(None);
        }
        // The part on the screen, with even edges.
        let (x0, y0) = (x.max(0), y.max(0));
        let x1 = (x.saturating_add(width)).min(root_width as i32);
        let y1 = (y.saturating_add(height)).min(root_height as i32);
        let (w, h) = (
            ((x1 - x0).max(0) as u32) & !1,
            ((y1 - y0).max(0) as u32) & !1,
        );
        Ok((w >= 2 && h >= 2).then_some(Area {
            x: x0,
            y: y0,
            width: w,
            height: h,
        }))
    }
}

impl X11Screen {
    /// Blanks X window `window` (where it is now, each picture) out of
    /// what is shared.
    pub fn hide_window(&mut self, window: u64) {
        self.hidden = Some(window as xlib::Window);
    }

    /// One picture now, unpaced: for a picker's thumbnail.
    pub fn snapshot(&mut self, frame: &mut VideoFrame) -> Result<()> {
        self.next_at = Instant::now();
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

    /// The part of the screen to read now; `None` while a shared window
    /// is not shown (the last picture stays).
    fn area_now(&mut self) -> Result<Option<Area>> {
        match self.target {
            Target::Screen => {
                // A screen made smaller since: asking for more of it than
                // there is would be refused, so the share ends.
                let fits = self
                    .connection
                    .root_size()
                    .is_some_and(|(w, h)| w >= self.width && h >= self.height);
                if !fits {
                    return Err(MediaError::Screen(
                        "the screen became smaller than what was shared: share it again".into(),
                    ));
                }
                Ok(Some(Area {
                    x: 0,
                    y: 0,
                    width: self.width,
                    height: self.height,
                }))
            }
            Target::Window(_) => {
                let area = self.window_area()?;
                if let Some(area) = area
                    && (area.width, area.height) != (self.width, self.height)
                {
                    // A new size: a new image in shared memory, at the next read.
                    self.release_shared();
                    (self.width, self.height) = (area.width, area.height);
                }
                Ok(area)
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
        // area (`area_now` makes a new one when the size changes), which
        // lies within the screen (clipped to it, or checked: `area_now`);
        // its pixels are read within its own bounds.
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
            bgrx_to_i420(data, stride, img.width as u32, img.height as u32, frame)?;
        }
        Ok(true)
    }

    /// `area` of the screen now into `frame` through the X connection.
    fn read_slow(&self, area: Area, frame: &mut VideoFrame) -> Result<()> {
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
                    bgrx_to_i420(data, stride, img.width as u32, img.height as u32, frame)
                };
            (c.xlib.XDestroyImage)(image);
            result
        }
    }
}

impl VideoSource for X11Screen {
    fn next_frame(&mut self, frame: &mut VideoFrame) -> Result<()> {
        // Paced here: a live source returns when its picture is due.
        let now = Instant::now();
        if self.next_at > now {
            std::thread::sleep(self.next_at - now);
        }
        let period = Duration::from_secs_f64(1.0 / self.frame_rate);
        self.next_at = (self.next_at + period).max(Instant::now());
        if let Some(area) = self.area_now()? {
            if !self.read_shared(area, frame)? {
                self.read_slow(area, frame)?;
            }
            if let Some((x, y, w, h)) = self.hidden_rect()
                && self.hidden_covers(area, (x, y, w, h))
            {
                blank_region(frame, x - area.x, y - area.y, w, h);
            }
        }
        frame.capture_time_us = wall_clock_us();
        Ok(())
    }

    fn frame_rate(&self) -> f64 {
        self.frame_rate
    }

    fn is_live(&self) -> bool {
        true
    }

    /// The size of the pictures now: a shared window's follows the window.
    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
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
