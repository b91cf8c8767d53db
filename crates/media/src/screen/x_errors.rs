//! X requests that may be refused without ending the process. Xlib's
//! default error handler exits, and a window being shared or listed can be
//! closed by its owner between any two of our requests; so requests that
//! name someone else's window run with a handler that notes the refusal.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use x11_dl::xlib::{self, Xlib};

/// Whether the X server refused something while `catching` ran.
static REFUSED: AtomicBool = AtomicBool::new(false);

/// One `catching` at a time in the process: the error handler is the
/// process's, not the connection's, and two threads swapping it at once
/// would leave ours in place of the one before (GTK's, in the app).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

unsafe extern "C" fn note_refusal(
    _display: *mut xlib::Display,
    _event: *mut xlib::XErrorEvent,
) -> std::os::raw::c_int {
    REFUSED.store(true, Ordering::SeqCst);
    0
}

/// Runs `requests` on `display` and waits for the server's answers to
/// them; returns what `requests` returned and whether the server refused
/// any of them.
///
/// # Safety
/// `display` is open and used by this thread alone while this runs.
pub(super) unsafe fn catching<T>(
    xlib: &Xlib,
    display: *mut xlib::Display,
    requests: impl FnOnce() -> T,
) -> (T, bool) {
    // A poisoned lock guards nothing but the handler swap: still usable.
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // SAFETY: per the caller; the handler before is put back on every path.
    unsafe {
        REFUSED.store(false, Ordering::SeqCst);
        let before = (xlib.XSetErrorHandler)(Some(note_refusal));
        let out = requests();
        (xlib.XSync)(display, xlib::False);
        (xlib.XSetErrorHandler)(before);
        (out, REFUSED.load(Ordering::SeqCst))
    }
}
