//! X errors on our own connections, noted instead of ending the process.
//! Xlib's default error handler exits, and a window being shared or listed
//! can be closed by its owner between any two of our requests (as can the
//! screen shrink, or the app's own window go). Xlib has one handler for
//! the whole process, and the app's GTK has its own there: so ours is set
//! once, notes errors on the connections it was told of, and hands every
//! other error to the handler that was there before it (GTK's, or Xlib's).

use std::os::raw::c_int;
use std::sync::Once;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use x11_dl::xlib::{self, Xlib};

type Handler = unsafe extern "C" fn(*mut xlib::Display, *mut xlib::XErrorEvent) -> c_int;

/// Connections open at once whose errors are ours (a share, a picker's
/// thumbnails one after another).
const SLOTS: usize = 32;

/// The connections watched (their `Display` pointers; 0: a free slot)...
static WATCHED: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
/// ...and whether the server refused a request on each since it was
/// last asked.
static REFUSED: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];

static INSTALLED: Once = Once::new();
/// The handler before ours, for errors on connections not ours.
static PREVIOUS: OnceLock<Option<Handler>> = OnceLock::new();

fn slot_of(display: *mut xlib::Display) -> Option<usize> {
    let key = display as usize;
    WATCHED
        .iter()
        .position(|w| w.load(Ordering::Acquire) == key)
}

unsafe extern "C" fn on_error(display: *mut xlib::Display, event: *mut xlib::XErrorEvent) -> c_int {
    if let Some(slot) = slot_of(display) {
        REFUSED[slot].store(true, Ordering::Release);
        return 0;
    }
    match PREVIOUS.get().copied().flatten() {
        // SAFETY: the handler that was set before ours, given what Xlib
        // gave us.
        Some(previous) => unsafe { previous(display, event) },
        None => 0,
    }
}

/// From now on, errors on `display` are noted for `catching` (until
/// `forget`). False if every slot is taken: its errors then go where
/// they went before.
///
/// # Safety
/// `display` is an open connection of `xlib`.
pub(super) unsafe fn watch(xlib: &Xlib, display: *mut xlib::Display) -> bool {
    INSTALLED.call_once(|| {
        // SAFETY: sets the process's handler once; the one before is kept.
        let previous = unsafe { (xlib.XSetErrorHandler)(Some(on_error)) };
        let _ = PREVIOUS.set(previous);
    });
    let key = display as usize;
    WATCHED.iter().enumerate().any(|(slot, w)| {
        let claimed = w
            .compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if claimed {
            REFUSED[slot].store(false, Ordering::Release);
        }
        claimed
    })
}

/// `display` is being closed: its slot is free again.
pub(super) fn forget(display: *mut xlib::Display) {
    if let Some(slot) = slot_of(display) {
        WATCHED[slot].store(0, Ordering::Release);
    }
}

/// Runs `requests` on `display` (watched) and waits for the server's
/// answers to them; returns what `requests` returned and whether the
/// server refused any of them.
///
/// # Safety
/// `display` is open and used by this thread alone while this runs.
pub(super) unsafe fn catching<T>(
    xlib: &Xlib,
    display: *mut xlib::Display,
    requests: impl FnOnce() -> T,
) -> (T, bool) {
    let slot = slot_of(display);
    if let Some(slot) = slot {
        REFUSED[slot].store(false, Ordering::Release);
    }
    let out = requests();
    // SAFETY: per the caller.
    unsafe { (xlib.XSync)(display, xlib::False) };
    let refused = slot.is_some_and(|slot| REFUSED[slot].swap(false, Ordering::AcqRel));
    (out, refused)
}
