//! The windows of an X display that can be shared one by one: those a
//! window manager lists as the user's (EWMH `_NET_CLIENT_LIST_STACKING`),
//! or without one, the shown top-level windows that have a title. Topmost
//! first, as a picker shows them.

use std::os::raw::{c_int, c_uchar, c_ulong};
use std::ptr;

use x11_dl::xlib::{self, Xlib};

use super::Connection;
use super::x_errors::catching;
use crate::error::Result;

/// A window that can be shared, as a picker lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowInfo {
    /// The X window (what `X11Screen::open_window` takes).
    pub id: u64,
    /// Its title, as its owner set it (control characters taken out).
    pub title: String,
    pub width: u32,
    pub height: u32,
}

/// Windows smaller than this either way are not offered (tool tips,
/// docks, invisible helpers).
const MIN_SIDE: i32 = 40;
/// A title is cut here: it is a label in a picker.
const MAX_TITLE_CHARS: usize = 200;
/// More windows than a picker can show are not looked at.
const MAX_WINDOWS: usize = 256;

/// The windows of `display` (`$DISPLAY` when `None`) that can be shared,
/// topmost first, without `except` (the app's own: the meeting is never
/// shared inside itself).
pub fn list_windows(display: Option<&str>, except: Option<u64>) -> Result<Vec<WindowInfo>> {
    let connection = Connection::open(display)?;
    let (xlib, display, root) = (&connection.xlib, connection.display, connection.root);
    // SAFETY: the connection is open and this thread's; every property
    // and list the server gives is freed once, after it is copied.
    let candidates = unsafe {
        match window_list_property(xlib, display, root, "_NET_CLIENT_LIST_STACKING") {
            Some(windows) => windows,
            // A window manager that reparents without EWMH lists nothing:
            // its frames are the top-level windows, the apps' inside.
            None => children_of(xlib, display, root)
                .into_iter()
                .map(|w| client_of(xlib, display, w))
                .collect(),
        }
    };
    let mut found = Vec::new();
    // Stacking order is bottom to top.
    for window in candidates.into_iter().rev().take(MAX_WINDOWS) {
        if Some(window) == except {
            continue;
        }
        // SAFETY: as above; a window closed meanwhile is a refusal, noted.
        let Some((width, height)) = (unsafe { shown_size(xlib, display, window) }) else {
            continue;
        };
        // SAFETY: as above.
        let Some(title) = (unsafe { title_of(xlib, display, window) }) else {
            continue;
        };
        found.push(WindowInfo {
            id: window,
            title,
            width,
            height,
        });
    }
    Ok(found)
}

/// The window of `display` that `query` names: its X id (`0x3a00007` or
/// decimal), or else the first (topmost) whose title contains it.
pub fn find_window(display: Option<&str>, query: &str) -> Result<WindowInfo> {
    let windows = list_windows(display, None)?;
    let id = match query.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => query.parse::<u64>().ok(),
    };
    // An id first; a number that is no window's id may be in a title.
    let by_id = id.and_then(|id| windows.iter().position(|w| w.id == id));
    let found = by_id.or_else(|| windows.iter().position(|w| w.title.contains(query)));
    found.map(|i| windows[i].clone()).ok_or_else(|| {
        crate::MediaError::Screen(format!("no shown window with the id or title {query:?}"))
    })
}

/// A property of `window` that is a list of windows, if it is set.
///
/// # Safety
/// `display` is open and this thread's.
unsafe fn window_list_property(
    xlib: &Xlib,
    display: *mut xlib::Display,
    window: xlib::Window,
    name: &str,
) -> Option<Vec<xlib::Window>> {
    let name = std::ffi::CString::new(name).ok()?;
    // SAFETY: per the caller; the property is freed once.
    unsafe {
        let atom = (xlib.XInternAtom)(display, name.as_ptr(), xlib::True);
        if atom == 0 {
            return None;
        }
        let (values, format, count) = property(xlib, display, window, atom, xlib::XA_WINDOW)?;
        let windows = if format == 32 {
            // Format 32 is handed over as C longs, whatever their width.
            std::slice::from_raw_parts(values.cast::<c_ulong>(), count)
                .iter()
                .map(|&w| w as xlib::Window)
                .collect()
        } else {
            Vec::new()
        };
        (xlib.XFree)(values.cast());
        Some(windows)
    }
}

/// A property's values, format and count (`None`: not set, or refused).
/// The values are the caller's to free with `XFree`.
///
/// # Safety
/// `display` is open and this thread's.
unsafe fn property(
    xlib: &Xlib,
    display: *mut xlib::Display,
    window: xlib::Window,
    atom: xlib::Atom,
    kind: xlib::Atom,
) -> Option<(*mut c_uchar, c_int, usize)> {
    let (mut actual, mut format, mut count, mut after) = (0, 0, 0, 0);
    let mut values: *mut c_uchar = ptr::null_mut();
    // SAFETY: per the caller; a refused request leaves `values` null or
    // is freed here.
    unsafe {
        let (status, refused) = catching(xlib, display, || {
            (xlib.XGetWindowProperty)(
                display,
                window,
                atom,
                0,
                4096,
                xlib::False,
                kind,
                &mut actual,
                &mut format,
                &mut count,
                &mut after,
                &mut values,
            )
        });
        if status != 0 || refused || values.is_null() || actual != kind {
            if !values.is_null() {
                (xlib.XFree)(values.cast());
            }
            return None;
        }
        Some((values, format, count as usize))
    }
}

/// Whether `upper` is stacked above `lower` on the screen (each counted
/// by its top-level window: a window manager's frame, or itself); false
/// when either is gone.
///
/// # Safety
/// `display` is open and this thread's.
pub(super) unsafe fn stacked_above(
    xlib: &Xlib,
    display: *mut xlib::Display,
    root: xlib::Window,
    upper: xlib::Window,
    lower: xlib::Window,
) -> bool {
    // SAFETY: per the caller.
    unsafe {
        let (Some(upper), Some(lower)) = (
            top_level_of(xlib, display, root, upper),
            top_level_of(xlib, display, root, lower),
        ) else {
            return false;
        };
        // Bottom to top.
        let order = children_of(xlib, display, root);
        let at = |w| order.iter().position(|&o| o == w);
        matches!((at(upper), at(lower)), (Some(u), Some(l)) if u > l)
    }
}

/// The root's child that holds `window` (itself, if it is one).
///
/// # Safety
/// `display` is open and this thread's.
unsafe fn top_level_of(
    xlib: &Xlib,
    display: *mut xlib::Display,
    root: xlib::Window,
    mut window: xlib::Window,
) -> Option<xlib::Window> {
    // Window trees are shallow; a bound keeps a broken one from looping.
    for _ in 0..64 {
        let (mut root_back, mut parent) = (0, 0);
        let mut children: *mut xlib::Window = ptr::null_mut();
        let mut count = 0;
        // SAFETY: per the caller; the list of children is freed once.
        let (listed, refused) = unsafe {
            catching(xlib, display, || {
                (xlib.XQueryTree)(
                    display,
                    window,
                    &mut root_back,
                    &mut parent,
                    &mut children,
                    &mut count,
                )
            })
        };
        if !children.is_null() {
            // SAFETY: given by the server for us to free.
            unsafe { (xlib.XFree)(children.cast()) };
        }
        if listed == 0 || refused || parent == 0 {
            return None;
        }
        if parent == root {
            return Some(window);
        }
        window = parent;
    }
    None
}

/// The application's window in top-level window `frame`: the one (itself,
/// or a descendant two levels down at most) that has `WM_STATE`, which a
/// window manager sets on the windows it manages; else `frame` itself.
///
/// # Safety
/// `display` is open and this thread's.
unsafe fn client_of(xlib: &Xlib, display: *mut xlib::Display, frame: xlib::Window) -> xlib::Window {
    // SAFETY: per the caller.
    unsafe {
        let wm_state = (xlib.XInternAtom)(display, c"WM_STATE".as_ptr(), xlib::True);
        if wm_state == 0 {
            return frame;
        }
        let managed = |w| {
            property(xlib, display, w, wm_state, wm_state)
                .map(|(values, _, _)| (xlib.XFree)(values.cast()))
                .is_some()
        };
        if managed(frame) {
            return frame;
        }
        for child in children_of(xlib, display, frame) {
            if managed(child) {
                return child;
            }
            if let Some(&inner) = children_of(xlib, display, child)
                .iter()
                .find(|&&w| managed(w))
            {
                return inner;
            }
        }
        frame
    }
}

/// The children of `parent`, bottom to top (of the root: the top-level
/// windows, where no window manager lists them).
///
/// # Safety
/// `display` is open and this thread's.
unsafe fn children_of(
    xlib: &Xlib,
    display: *mut xlib::Display,
    parent: xlib::Window,
) -> Vec<xlib::Window> {
    let (mut root_back, mut parent_back) = (0, 0);
    let mut children: *mut xlib::Window = ptr::null_mut();
    let mut count = 0;
    // SAFETY: per the caller; the list is freed once.
    unsafe {
        let listed = (xlib.XQueryTree)(
            display,
            parent,
            &mut root_back,
            &mut parent_back,
            &mut children,
            &mut count,
        );
        if listed == 0 || children.is_null() {
            return Vec::new();
        }
        let windows = std::slice::from_raw_parts(children, count as usize).to_vec();
        (xlib.XFree)(children.cast());
        windows
    }
}

/// A window's size if it is shown and big enough to be worth sharing.
///
/// # Safety
/// `display` is open and this thread's.
unsafe fn shown_size(
    xlib: &Xlib,
    display: *mut xlib::Display,
    window: xlib::Window,
) -> Option<(u32, u32)> {
    // SAFETY: per the caller.
    unsafe {
        let mut a = std::mem::zeroed::<xlib::XWindowAttributes>();
        let (status, refused) = catching(xlib, display, || {
            (xlib.XGetWindowAttributes)(display, window, &mut a)
        });
        let shown = status != 0
            && !refused
            && a.map_state == xlib::IsViewable
            && a.override_redirect == 0
            && a.class == xlib::InputOutput
            && a.width >= MIN_SIDE
            && a.height >= MIN_SIDE;
        shown.then_some((a.width as u32, a.height as u32))
    }
}

/// A window's title: `_NET_WM_NAME` (UTF-8), else `WM_NAME`; `None` if it
/// has none.
///
/// # Safety
/// `display` is open and this thread's.
unsafe fn title_of(
    xlib: &Xlib,
    display: *mut xlib::Display,
    window: xlib::Window,
) -> Option<String> {
    // SAFETY: per the caller; each value is freed once, after it is copied.
    let raw = unsafe {
        let net_name = (xlib.XInternAtom)(display, c"_NET_WM_NAME".as_ptr(), xlib::True);
        let utf8 = (xlib.XInternAtom)(display, c"UTF8_STRING".as_ptr(), xlib::True);
        let wide = (net_name != 0 && utf8 != 0)
            .then(|| property(xlib, display, window, net_name, utf8))
            .flatten()
            .map(|(values, _, count)| {
                let text = std::slice::from_raw_parts(values, count).to_vec();
                (xlib.XFree)(values.cast());
                text
            });
        wide.or_else(|| {
            property(xlib, display, window, xlib::XA_WM_NAME, xlib::XA_STRING).map(
                |(values, _, count)| {
                    // Latin-1: each byte is its own character.
                    let text = std::slice::from_raw_parts(values, count)
                        .iter()
                        .map(|&b| char::from(b))
                        .collect::<String>()
                        .into_bytes();
                    (xlib.XFree)(values.cast());
                    text
                },
            )
        })?
    };
    let title: String = String::from_utf8_lossy(&raw)
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_TITLE_CHARS)
        .collect();
    let title = title.trim().to_string();
    (!title.is_empty()).then_some(title)
}
