//! The close button, as a window manager presses it: a WM_DELETE_WINDOW
//! message to the app's top-level window (what the title bar's ×, Alt+F4
//! and a taskbar's "Close window" send on X11). Xvfb has no window
//! manager, so the test sends it itself, through libX11.

use std::ffi::{CStr, CString, c_int};
use std::ptr;

use x11_dl::xlib;

/// Windows can vanish while they are looked at (GTK makes and drops
/// helper windows): an X error then is no reason to end the test process,
/// which is what libX11's default handler does.
unsafe extern "C" fn ignore_x_errors(_: *mut xlib::Display, _: *mut xlib::XErrorEvent) -> c_int {
    0
}

/// Sends WM_DELETE_WINDOW to every mapped top-level window on `display`
/// titled `title` that takes it; returns how many it was sent to.
pub fn request_close(display: &str, title: &str) -> usize {
    let x = xlib::Xlib::open().expect("libX11 (package libx11-6)");
    let name = CString::new(display).expect("display name");
    // SAFETY: every pointer passed to libX11 comes from libX11 on the same
    // open display, and each list it returns is freed once, with XFree.
    unsafe {
        let d = (x.XOpenDisplay)(name.as_ptr());
        assert!(!d.is_null(), "cannot open X display {display}");
        let previous = (x.XSetErrorHandler)(Some(ignore_x_errors));
        let atom = |n: &str| {
            let n = CString::new(n).expect("atom name");
            (x.XInternAtom)(d, n.as_ptr(), xlib::False)
        };
        let (protocols, delete) = (atom("WM_PROTOCOLS"), atom("WM_DELETE_WINDOW"));
        let root = (x.XDefaultRootWindow)(d);
        let (mut root_out, mut parent) = (0, 0);
        let mut children: *mut xlib::Window = ptr::null_mut();
        let mut count = 0;
        let mut sent = 0;
        if (x.XQueryTree)(
            d,
            root,
            &mut root_out,
            &mut parent,
            &mut children,
            &mut count,
        ) != 0
            && !children.is_null()
        {
            for &w in std::slice::from_raw_parts(children, count as usize) {
                let mut attributes: xlib::XWindowAttributes = std::mem::zeroed();
                if (x.XGetWindowAttributes)(d, w, &mut attributes) == 0
                    || attributes.map_state != xlib::IsViewable
                {
                    continue;
                }
                let mut fetched: *mut std::ffi::c_char = ptr::null_mut();
                if (x.XFetchName)(d, w, &mut fetched) == 0 || fetched.is_null() {
                    continue;
                }
                let titled = CStr::from_ptr(fetched).to_bytes() == title.as_bytes();
                (x.XFree)(fetched.cast());
                let mut list: *mut xlib::Atom = ptr::null_mut();
                let mut n = 0;
                let takes_delete =
                    (x.XGetWMProtocols)(d, w, &mut list, &mut n) != 0 && !list.is_null() && {
                        let takes = std::slice::from_raw_parts(list, n as usize).contains(&delete);
                        (x.XFree)(list.cast());
                        takes
                    };
                if !(titled && takes_delete) {
                    continue;
                }
                let mut data = xlib::ClientMessageData::new();
                data.set_long(0, delete as std::ffi::c_long);
                data.set_long(1, xlib::CurrentTime as std::ffi::c_long);
                let mut event = xlib::XEvent {
                    client_message: xlib::XClientMessageEvent {
                        type_: xlib::ClientMessage,
                        serial: 0,
                        send_event: xlib::True,
                        display: d,
                        window: w,
                        message_type: protocols,
                        format: 32,
                        data,
                    },
                };
                if (x.XSendEvent)(d, w, xlib::False, xlib::NoEventMask, &mut event) != 0 {
                    sent += 1;
                }
            }
            (x.XFree)(children.cast());
        }
        (x.XSync)(d, xlib::False);
        (x.XSetErrorHandler)(previous);
        (x.XCloseDisplay)(d);
        sent
    }
}
