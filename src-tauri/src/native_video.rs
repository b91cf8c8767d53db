//! Remote video drawn natively, over the webview instead of inside it
//! (X11; the page uses it where it starts, and falls back to its canvases
//! where it does not).
//!
//! Without a GPU, WebKitGTK paints each screen update into a new
//! shared-memory bitmap that its UI process blits and unmaps; with video in
//! canvases that painting is most of the window's CPU (BENCHMARKS.md,
//! session 27). Here the core decodes each tile (its mailbox holds the
//! newest picture) and a thread of its own, on its own X connection, draws
//! it into a child window of the app's window at the rectangle the page
//! reported, through one shared-memory image per tile that is reused frame
//! after frame. Neither WebKit nor the GTK main thread sees a frame.
//!
//! The child window is shaped to the picture, letterboxed as the page's
//! `object-fit: contain` would, less the holes the page asks for (names,
//! icons, a menu over the tile), so the page shows through them. A frame
//! counts as drawn when the X server reports the put completed: an X error
//! goes to the process's handler (GDK's), never to us, and a put that was
//! refused only shows as one that never completes.
//!
//! Known gaps: it polls the mailboxes every few ms rather than waiting on
//! them, the tiles' rounded corners are square, and there is no Wayland,
//! Windows or macOS surface yet.

use std::collections::HashMap;
use std::os::raw::{c_char, c_int, c_uint, c_ulong};
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use talkline_media::display::{FRAME_HEADER_BYTES, FrameMailbox, Tiles};
use talkline_media::to_screen::{BgrxScaler, ScreenImage, fit_inside};
use x11_dl::xfixes;
use x11_dl::xlib::{self, Xlib};
use x11_dl::xshm::{XShmSegmentInfo, Xext};

/// How often the drawing thread looks for new pictures.
const POLL: Duration = Duration::from_millis(4);
/// Latency samples kept per tile, as the page's own counters keep.
const LATENCY_SAMPLES: usize = 300;
/// Larger rectangles than any screen are a broken page.
const MAX_SIDE: u32 = 8192;
/// More tiles than a 5x5 gallery and its strip, or more holes than a tile
/// has labels and menus over it, are a broken page too.
const MAX_TILES: usize = 64;
const MAX_HOLES: usize = 16;
/// A put the server has not completed in this long was refused.
const PUT_TIMEOUT: Duration = Duration::from_secs(1);

/// A rectangle in the window's device pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
}

/// Where one tile's video goes, in the window's device pixels.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Placement {
    pub tile: String,
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
    /// Left and right swapped: the self-view, as a mirror shows you.
    #[serde(default)]
    pub mirror: bool,
    /// What the page draws over the video (a name, an icon, a menu): left
    /// out of the video's window, so the page shows through.
    #[serde(default)]
    pub holes: Vec<Rect>,
}

impl Placement {
    fn same_size(&self, other: &Placement) -> bool {
        (self.width, self.height) == (other.width, other.height)
    }
}

/// What the drawing thread did for one tile, for the page's counters.
struct TileCounters {
    drawn: AtomicU64,
    /// Puts the X server never completed (refused).
    failed: AtomicU64,
    seq: AtomicU64,
    width: AtomicU32,
    height: AtomicU32,
    latency_us: [AtomicU32; LATENCY_SAMPLES],
}

impl Default for TileCounters {
    fn default() -> Self {
        Self {
            drawn: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            seq: AtomicU64::new(0),
            width: AtomicU32::new(0),
            height: AtomicU32::new(0),
            latency_us: std::array::from_fn(|_| AtomicU32::new(0)),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TileStatsView {
    drawn: u64,
    failed: u64,
    seq: u64,
    width: u32,
    height: u32,
    latency_ms: Vec<f64>,
}

pub struct NativeVideo {
    placements: Sender<Vec<Placement>>,
    counters: Arc<Mutex<HashMap<String, Arc<TileCounters>>>>,
    thread: JoinHandle<()>,
}

impl NativeVideo {
    /// Opens an X connection and a drawing thread for the window `parent`
    /// (its X window id); an error if there is no X server or no MIT-SHM.
    pub fn start(parent: xlib::Window, tiles: Arc<Tiles>) -> Result<Self, String> {
        let (placements, receive) = mpsc::channel();
        let (ready, started) = mpsc::channel();
        let counters: Arc<Mutex<HashMap<String, Arc<TileCounters>>>> = Arc::default();
        let shared = Arc::clone(&counters);
        let thread = std::thread::Builder::new()
            .name("talkline-native-video".into())
            .spawn(move || match Drawer::open(parent) {
                Ok(mut drawer) => {
                    let _ = ready.send(Ok(()));
                    drawer.run(&receive, &tiles, &shared);
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                }
            })
            .map_err(|e| format!("no thread for native video: {e}"))?;
        started
            .recv()
            .map_err(|_| "the native video thread ended".to_string())??;
        Ok(Self {
            placements,
            counters,
            thread,
        })
    }

    pub fn place(&self, placements: Vec<Placement>) -> Result<(), String> {
        check(&placements)?;
        self.placements
            .send(placements)
            .map_err(|_| "the native video thread ended".to_string())
    }

    /// Ends the drawing thread, its windows and its X connection.
    fn stop(self) {
        let Self {
            placements, thread, ..
        } = self;
        // The thread sees the channel closed within one round.
        drop(placements);
        let _ = thread.join();
    }

    pub fn stats(&self) -> HashMap<String, TileStatsView> {
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        counters
            .iter()
            .map(|(tile, c)| {
                let drawn = c.drawn.load(Ordering::Relaxed);
                let kept = (drawn as usize).min(LATENCY_SAMPLES);
                let latency_ms = c.latency_us[..kept]
                    .iter()
                    .map(|l| f64::from(l.load(Ordering::Relaxed)) / 1000.0)
                    .collect();
                (
                    tile.clone(),
                    TileStatsView {
                        drawn,
                        failed: c.failed.load(Ordering::Relaxed),
                        seq: c.seq.load(Ordering::Relaxed),
                        width: c.width.load(Ordering::Relaxed),
                        height: c.height.load(Ordering::Relaxed),
                        latency_ms,
                    },
                )
            })
            .collect()
    }
}

/// Refuses what no page in its right mind sends: more tiles or holes than
/// a gallery has, sizes larger than any screen.
fn check(placements: &[Placement]) -> Result<(), String> {
    if placements.len() > MAX_TILES {
        return Err(format!(
            "{} tiles is more than {MAX_TILES}",
            placements.len()
        ));
    }
    for p in placements {
        if p.width == 0 || p.height == 0 || p.width > MAX_SIDE || p.height > MAX_SIDE {
            return Err(format!(
                "a tile of {}x{} cannot be drawn",
                p.width, p.height
            ));
        }
        if p.holes.len() > MAX_HOLES {
            return Err(format!(
                "{} holes in a tile is more than {MAX_HOLES}",
                p.holes.len()
            ));
        }
    }
    Ok(())
}

/// A put the server has not completed yet, and what it drew.
struct Pending {
    /// The put's request number, which its completion event carries.
    serial: c_ulong,
    seq: u64,
    capture_us: u64,
    width: u32,
    height: u32,
    since: Instant,
}

/// One tile's child window and the shared-memory image drawn into it.
struct Surface {
    placement: Placement,
    window: xlib::Window,
    gc: xlib::GC,
    image: *mut xlib::XImage,
    /// Boxed: the image keeps a pointer to it (its `obdata`), which must
    /// stay valid as the surface moves.
    shm: Box<XShmSegmentInfo>,
    mailbox: Arc<FrameMailbox>,
    seen: u64,
    /// The newest picture, copied out of the mailbox (reused).
    picture: Vec<u8>,
    scaler: BgrxScaler,
    counters: Arc<TileCounters>,
    /// Where the picture sits in the window (x, y, width, height), which
    /// the window's shape was last set to; None before the first picture.
    shown: Option<(usize, usize, usize, usize)>,
    /// The image is the server's to read until this completes.
    pending: Option<Pending>,
}

struct Drawer {
    xlib: Xlib,
    xext: Xext,
    xfixes: xfixes::Xlib,
    display: *mut xlib::Display,
    parent: xlib::Window,
    /// The event type of a completed shared-memory put.
    completion: c_int,
    surfaces: HashMap<String, Surface>,
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

impl Drawer {
    fn open(parent: xlib::Window) -> Result<Self, String> {
        let xlib = Xlib::open().map_err(|e| format!("no libX11: {e}"))?;
        let xext = Xext::open().map_err(|e| format!("no libXext: {e}"))?;
        let xfixes = xfixes::Xlib::open().map_err(|e| format!("no libXfixes: {e}"))?;
        // SAFETY: a new connection, used by this thread alone.
        let display = unsafe { (xlib.XOpenDisplay)(ptr::null()) };
        if display.is_null() {
            return Err("no X display".into());
        }
        // SAFETY: `display` is open.
        if unsafe { (xext.XShmQueryExtension)(display) } == 0 {
            // SAFETY: closed once, not used after.
            unsafe { (xlib.XCloseDisplay)(display) };
            return Err("the X server has no MIT-SHM".into());
        }
        // ShmCompletion is the extension's first event.
        // SAFETY: `display` is open and has MIT-SHM.
        let completion = unsafe { (xext.XShmGetEventBase)(display) };
        Ok(Self {
            xlib,
            xext,
            xfixes,
            display,
            parent,
            completion,
            surfaces: HashMap::new(),
        })
    }

    fn run(
        &mut self,
        placements: &Receiver<Vec<Placement>>,
        tiles: &Tiles,
        counters: &Mutex<HashMap<String, Arc<TileCounters>>>,
    ) {
        loop {
            let mut latest = None;
            loop {
                match placements.try_recv() {
                    Ok(p) => latest = Some(p),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => return,
                }
            }
            if let Some(wanted) = latest {
                self.place(wanted, tiles, counters);
            }
            self.take_completions();
            let mut drew = false;
            for surface in self.surfaces.values_mut() {
                drew |= draw(&self.xlib, &self.xext, &self.xfixes, self.display, surface);
            }
            if drew {
                // SAFETY: `display` is open.
                unsafe { (self.xlib.XFlush)(self.display) };
            }
            std::thread::sleep(POLL);
        }
    }

    /// Counts the puts the server completed; a put it never completes
    /// (refused) is given up after `PUT_TIMEOUT`.
    fn take_completions(&mut self) {
        // SAFETY: `display` is open; events are read into a zeroed union
        // and only the fields common to every event are read.
        unsafe {
            while (self.xlib.XPending)(self.display) > 0 {
                let mut event: xlib::XEvent = std::mem::zeroed();
                (self.xlib.XNextEvent)(self.display, &mut event);
                if event.get_type() != self.completion {
                    continue;
                }
                let (window, serial) = (event.any.window, event.any.serial);
                if let Some(surface) = self.surfaces.values_mut().find(|s| s.window == window) {
                    surface.completed(serial);
                }
            }
        }
        for surface in self.surfaces.values_mut() {
            if surface
                .pending
                .as_ref()
                .is_some_and(|p| p.since.elapsed() > PUT_TIMEOUT)
            {
                surface.pending = None;
                if surface.counters.failed.fetch_add(1, Ordering::Relaxed) == 0 {
                    log::warn!("native video: the X server refused a picture");
                }
            }
        }
    }

    fn place(
        &mut self,
        wanted: Vec<Placement>,
        tiles: &Tiles,
        counters: &Mutex<HashMap<String, Arc<TileCounters>>>,
    ) {
        let mut keep: HashMap<String, Placement> =
            wanted.into_iter().map(|p| (p.tile.clone(), p)).collect();
        // A new size needs a new image; a move, new holes or a mirror do not.
        let gone: Vec<String> = self
            .surfaces
            .iter()
            .filter(|(tile, s)| !keep.get(*tile).is_some_and(|p| p.same_size(&s.placement)))
            .map(|(tile, _)| tile.clone())
            .collect();
        for tile in gone {
            if let Some(surface) = self.surfaces.remove(&tile) {
                self.destroy(surface);
            }
        }
        for (tile, surface) in &mut self.surfaces {
            let Some(wanted) = keep.remove(tile) else {
                continue;
            };
            if wanted == surface.placement {
                continue;
            }
            if (wanted.x, wanted.y) != (surface.placement.x, surface.placement.y) {
                // SAFETY: the window is this display's.
                unsafe {
                    (self.xlib.XMoveWindow)(self.display, surface.window, wanted.x, wanted.y)
                };
            }
            // Holes are in the window's coordinates: a tile that moves
            // under a menu that stays has its hole elsewhere in it.
            let reshape = wanted.holes != surface.placement.holes
                || (!wanted.holes.is_empty()
                    && (wanted.x, wanted.y) != (surface.placement.x, surface.placement.y));
            surface.placement = wanted;
            if reshape && let Some(shown) = surface.shown {
                set_shape(&self.xfixes, self.display, surface, shown);
            }
        }
        keep.retain(|tile, _| !self.surfaces.contains_key(tile));
        // Counters of tiles no longer placed go (a participant who left, a
        // past meeting): their counts would be read as this meeting's.
        counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|tile, _| self.surfaces.contains_key(tile) || keep.contains_key(tile));
        for (tile, placement) in keep {
            let shared = {
                let mut all = counters.lock().unwrap_or_else(|p| p.into_inner());
                Arc::clone(all.entry(tile.clone()).or_default())
            };
            match self.create(placement, tiles.get_or_create(&tile), shared) {
                Ok(surface) => {
                    self.surfaces.insert(tile, surface);
                }
                Err(e) => log::warn!("native video: a tile cannot be drawn: {e}"),
            }
        }
        // SAFETY: `display` is open.
        unsafe { (self.xlib.XFlush)(self.display) };
    }

    fn create(
        &self,
        placement: Placement,
        mailbox: Arc<FrameMailbox>,
        counters: Arc<TileCounters>,
    ) -> Result<Surface, String> {
        let (x, y, w, h) = (placement.x, placement.y, placement.width, placement.height);
        // SAFETY: every call below is on this thread's open display, with
        // handles created here; failures are checked before use.
        unsafe {
            let window =
                (self.xlib.XCreateSimpleWindow)(self.display, self.parent, x, y, w, h, 0, 0, 0);
            // Clicks and the pointer go through to the page underneath, and
            // nothing shows before the first picture (the page's tile does).
            let empty = (self.xfixes.XFixesCreateRegion)(self.display, ptr::null_mut(), 0);
            for kind in [SHAPE_INPUT, SHAPE_BOUNDING] {
                (self.xfixes.XFixesSetWindowShapeRegion)(self.display, window, kind, 0, 0, empty);
            }
            (self.xfixes.XFixesDestroyRegion)(self.display, empty);
            let mut attrs: xlib::XWindowAttributes = std::mem::zeroed();
            if (self.xlib.XGetWindowAttributes)(self.display, window, &mut attrs) == 0 {
                (self.xlib.XDestroyWindow)(self.display, window);
                return Err("the parent window is gone".into());
            }
            let mut shm: Box<XShmSegmentInfo> = Box::new(std::mem::zeroed());
            let image = (self.xext.XShmCreateImage)(
                self.display,
                attrs.visual,
                attrs.depth as c_uint,
                xlib::ZPixmap,
                ptr::null_mut(),
                &mut *shm,
                w,
                h,
            );
            if image.is_null() {
                (self.xlib.XDestroyWindow)(self.display, window);
                return Err("no shared-memory image".into());
            }
            if (*image).bits_per_pixel != 32 || (*image).byte_order != xlib::LSBFirst {
                talkline_media::screen::destroy_shared_image(image);
                (self.xlib.XDestroyWindow)(self.display, window);
                return Err("the window's pixels are not 32-bit BGRX".into());
            }
            let size = (*image).bytes_per_line as usize * (*image).height as usize;
            shm.shmid = libc::shmget(libc::IPC_PRIVATE, size, libc::IPC_CREAT | 0o600);
            if shm.shmid < 0 {
                talkline_media::screen::destroy_shared_image(image);
                (self.xlib.XDestroyWindow)(self.display, window);
                return Err("no shared memory".into());
            }
            let address = libc::shmat(shm.shmid, ptr::null(), 0);
            // Removed now: it goes away with the last detach, even if we crash.
            libc::shmctl(shm.shmid, libc::IPC_RMID, ptr::null_mut());
            if address as isize == -1 {
                talkline_media::screen::destroy_shared_image(image);
                (self.xlib.XDestroyWindow)(self.display, window);
                return Err("shared memory not attached".into());
            }
            shm.shmaddr = address.cast::<c_char>();
            shm.readOnly = xlib::False;
            (*image).data = shm.shmaddr;
            (self.xext.XShmAttach)(self.display, &mut *shm);
            let gc = (self.xlib.XCreateGC)(self.display, window, 0, ptr::null_mut());
            (self.xlib.XMapWindow)(self.display, window);
            Ok(Surface {
                placement,
                window,
                gc,
                image,
                shm,
                mailbox,
                seen: 0,
                picture: Vec::new(),
                scaler: BgrxScaler::default(),
                counters,
                shown: None,
                pending: None,
            })
        }
    }

    fn destroy(&self, mut surface: Surface) {
        // SAFETY: the surface's handles were made on this display and are
        // released once, here.
        unsafe {
            (self.xext.XShmDetach)(self.display, &mut *surface.shm);
            (self.xlib.XSync)(self.display, xlib::False);
            (*surface.image).data = ptr::null_mut();
            talkline_media::screen::destroy_shared_image(surface.image);
            libc::shmdt(surface.shm.shmaddr.cast());
            (self.xlib.XFreeGC)(self.display, surface.gc);
            (self.xlib.XDestroyWindow)(self.display, surface.window);
        }
    }
}

/// The Shape extension's kinds: what is drawn, and what takes the pointer.
const SHAPE_BOUNDING: c_int = 0;
const SHAPE_INPUT: c_int = 2;

/// Shapes the tile's window to the picture at `shown`, less the page's
/// holes.
fn set_shape(
    xfixes: &xfixes::Xlib,
    display: *mut xlib::Display,
    surface: &Surface,
    shown: (usize, usize, usize, usize),
) {
    let to_x = |v: i64| v.clamp(0, i64::from(i16::MAX)) as i16;
    let to_side = |v: i64| v.clamp(0, i64::from(u16::MAX)) as u16;
    let (x, y, w, h) = shown;
    let mut picture = [xlib::XRectangle {
        x: to_x(x as i64),
        y: to_x(y as i64),
        width: to_side(w as i64),
        height: to_side(h as i64),
    }];
    let p = &surface.placement;
    // On the stack: at most MAX_HOLES.
    let mut holes = [xlib::XRectangle {
        x: 0,
        y: 0,
        width: 0,
        height: 0,
    }; MAX_HOLES];
    let n = p.holes.len().min(MAX_HOLES);
    for (out, hole) in holes.iter_mut().zip(&p.holes) {
        // The window's own coordinates; a hole reaching past its left or
        // top edge is cut at it.
        let hx = i64::from(hole.x) - i64::from(p.x);
        let hy = i64::from(hole.y) - i64::from(p.y);
        let (left, top) = (hx.max(0), hy.max(0));
        *out = xlib::XRectangle {
            x: to_x(left),
            y: to_x(top),
            width: to_side(hx + i64::from(hole.width) - left),
            height: to_side(hy + i64::from(hole.height) - top),
        };
    }
    // SAFETY: the display is open, the window is its; regions are made
    // and destroyed here.
    unsafe {
        let region = (xfixes.XFixesCreateRegion)(display, picture.as_mut_ptr(), 1);
        if n > 0 {
            let cut = (xfixes.XFixesCreateRegion)(display, holes.as_mut_ptr(), n as c_int);
            (xfixes.XFixesSubtractRegion)(display, region, region, cut);
            (xfixes.XFixesDestroyRegion)(display, cut);
        }
        (xfixes.XFixesSetWindowShapeRegion)(display, surface.window, SHAPE_BOUNDING, 0, 0, region);
        (xfixes.XFixesDestroyRegion)(display, region);
    }
}

impl Surface {
    /// The server has read the image: the picture is on screen. A late
    /// completion of a put given up on is not this put's.
    fn completed(&mut self, serial: c_ulong) {
        if self.pending.as_ref().is_none_or(|p| p.serial != serial) {
            return;
        }
        let Some(p) = self.pending.take() else {
            return;
        };
        let c = &self.counters;
        let n = c.drawn.fetch_add(1, Ordering::Relaxed) as usize;
        let delay = now_us()
            .saturating_sub(p.capture_us)
            .min(u64::from(u32::MAX));
        c.latency_us[n % LATENCY_SAMPLES].store(delay as u32, Ordering::Relaxed);
        c.seq.store(p.seq, Ordering::Relaxed);
        c.width.store(p.width, Ordering::Relaxed);
        c.height.store(p.height, Ordering::Relaxed);
    }
}

/// Draws the tile's newest picture if there is one and the image is free;
/// true if it sent one to the server.
fn draw(
    xlib: &Xlib,
    xext: &Xext,
    xfixes: &xfixes::Xlib,
    display: *mut xlib::Display,
    surface: &mut Surface,
) -> bool {
    if surface.pending.is_some()
        || !surface
            .mailbox
            .copy_newer(surface.seen, &mut surface.picture)
    {
        return false;
    }
    let Some((seq, width, height)) = talkline_media::display::parse_header(&surface.picture) else {
        return false;
    };
    let capture_us = surface
        .picture
        .get(16..24)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes);
    let (box_w, box_h) = (
        surface.placement.width as usize,
        surface.placement.height as usize,
    );
    // Not asked for again, drawn or not: a picture the scaler refuses
    // would be copied every round.
    surface.seen = seq;
    let shown = fit_inside(width as usize, height as usize, box_w, box_h);
    let (x, y, w, h) = shown;
    // SAFETY: the image and its shared memory live as long as the surface,
    // and no put of it is pending (checked above).
    let (out, stride) = unsafe {
        let image = surface.image;
        let stride = (*image).bytes_per_line as usize;
        let len = stride * (*image).height as usize;
        (
            std::slice::from_raw_parts_mut((*image).data.cast::<u8>(), len),
            stride,
        )
    };
    let Some(at) = out.get_mut(y * stride + x * 4..) else {
        return false;
    };
    let drawn = surface.scaler.draw(
        &surface.picture[FRAME_HEADER_BYTES..],
        width as usize,
        height as usize,
        ScreenImage {
            pixels: at,
            width: w,
            height: h,
            stride,
        },
        surface.placement.mirror,
    );
    if !drawn {
        return false;
    }
    if surface.shown != Some(shown) {
        set_shape(xfixes, display, surface, shown);
        surface.shown = Some(shown);
    }
    // SAFETY: the display is open; the image belongs to this window. The
    // server sends a completion event once it has read the image, carrying
    // this request's number.
    let serial = unsafe { (xlib.XNextRequest)(display) };
    // SAFETY: as above.
    unsafe {
        (xext.XShmPutImage)(
            display,
            surface.window,
            surface.gc,
            surface.image,
            x as c_int,
            y as c_int,
            x as c_int,
            y as c_int,
            w as c_uint,
            h as c_uint,
            xlib::True,
        );
    }
    surface.pending = Some(Pending {
        serial,
        seq,
        capture_us,
        width,
        height,
        since: Instant::now(),
    });
    true
}

impl Drop for Drawer {
    fn drop(&mut self) {
        let surfaces: Vec<Surface> = self.surfaces.drain().map(|(_, s)| s).collect();
        for surface in surfaces {
            self.destroy(surface);
        }
        // SAFETY: closed once, at the end of the thread that opened it.
        unsafe { (self.xlib.XCloseDisplay)(self.display) };
    }
}

/// Draws the meeting's tiles natively at `placements` (an empty list hides
/// them all), starting the drawing thread for `window` on first use. A start
/// that failed is tried again on the next call, not remembered.
pub fn place<R: tauri::Runtime>(
    window: &tauri::WebviewWindow<R>,
    tiles: &Arc<Tiles>,
    placements: Vec<Placement>,
) -> Result<(), String> {
    let mut native = NATIVE.lock().unwrap_or_else(|p| p.into_inner());
    if native.is_none() {
        *native = Some(NativeVideo::start(x_window_of(window)?, Arc::clone(tiles))?);
    }
    match native.as_ref() {
        Some(native) => native.place(placements),
        None => Err("native video did not start".into()),
    }
}

/// Ends native drawing (the window is closing): its thread, windows and X
/// connection go before the window they are children of.
pub fn stop() {
    let native = NATIVE.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(native) = native {
        native.stop();
    }
}

/// What the drawing thread drew per tile; empty before it started.
pub fn stats() -> HashMap<String, TileStatsView> {
    let native = NATIVE.lock().unwrap_or_else(|p| p.into_inner());
    native.as_ref().map(NativeVideo::stats).unwrap_or_default()
}

/// Placements and stats come from the page a few times a second, never
/// per frame: a lock costs nothing here.
static NATIVE: Mutex<Option<NativeVideo>> = Mutex::new(None);

pub(crate) fn x_window_of<R: tauri::Runtime>(
    window: &tauri::WebviewWindow<R>,
) -> Result<xlib::Window, String> {
    use raw_window_handle::{HasWindowHandle, RawWindowHandle};
    let handle = window
        .window_handle()
        .map_err(|e| format!("no window handle: {e}"))?;
    match handle.as_raw() {
        RawWindowHandle::Xlib(h) => Ok(h.window),
        RawWindowHandle::Xcb(h) => Ok(xlib::Window::from(h.window.get())),
        _ => Err("native video needs an X11 window".into()),
    }
}
