//! A plain X window for tests to share: one colour (the server paints it,
//! so nothing needs drawing), a UTF-8 title, and what its user does to it
//! (resize, minimise, show, close), through libX11.

// Shared by tests of more than one crate; each uses part of it.
#![allow(dead_code)]

use std::ffi::CString;

use x11_dl::xlib;

pub struct TestWindow {
    x: xlib::Xlib,
    display: *mut xlib::Display,
    pub id: u64,
}

impl TestWindow {
    /// A `width`x`height` window at (`x`, `y`) on X display `display`,
    /// filled with `rgb` (0xRRGGBB, on a 24-bit screen) and titled `title`.
    pub fn show(
        display: &str,
        title: &str,
        (x, y): (i32, i32),
        (width, height): (u32, u32),
        rgb: u32,
    ) -> Self {
        let lib = xlib::Xlib::open().expect("libX11 (package libx11-6)");
        let name = CString::new(display).expect("display name");
        // SAFETY: every pointer passed to libX11 comes from libX11 on the
        // same open display, or outlives the call.
        unsafe {
            let d = (lib.XOpenDisplay)(name.as_ptr());
            assert!(!d.is_null(), "cannot open X display {display}");
            let root = (lib.XDefaultRootWindow)(d);
            let id = (lib.XCreateSimpleWindow)(d, root, x, y, width, height, 0, 0, rgb.into());
            let atom = |n: &str| {
                let n = CString::new(n).expect("atom name");
                (lib.XInternAtom)(d, n.as_ptr(), xlib::False)
            };
            (lib.XChangeProperty)(
                d,
                id,
                atom("_NET_WM_NAME"),
                atom("UTF8_STRING"),
                8,
                xlib::PropModeReplace,
                title.as_ptr(),
                title.len() as i32,
            );
            (lib.XMapWindow)(d, id);
            (lib.XSync)(d, xlib::False);
            Self {
                x: lib,
                display: d,
                id,
            }
        }
    }

    pub fn resize(&self, width: u32, height: u32) {
        // SAFETY: the window and display are ours and open.
        unsafe {
            (self.x.XResizeWindow)(self.display, self.id, width, height);
            (self.x.XSync)(self.display, xlib::False);
        }
    }

    pub fn move_to(&self, x: i32, y: i32) {
        // SAFETY: the window and display are ours and open.
        unsafe {
            (self.x.XMoveWindow)(self.display, self.id, x, y);
            (self.x.XSync)(self.display, xlib::False);
        }
    }

    /// Taken off the screen (as minimising does without a window manager).
    pub fn hide(&self) {
        // SAFETY: as above.
        unsafe {
            (self.x.XUnmapWindow)(self.display, self.id);
            (self.x.XSync)(self.display, xlib::False);
        }
    }

    pub fn unhide(&self) {
        // SAFETY: as above.
        unsafe {
            (self.x.XMapWindow)(self.display, self.id);
            (self.x.XSync)(self.display, xlib::False);
        }
    }

    /// Closed by its owner.
    pub fn close(self) {}
}

impl Drop for TestWindow {
    fn drop(&mut self) {
        // SAFETY: opened in `show`, closed once here; closing the
        // connection destroys the window it made.
        unsafe {
            (self.x.XDestroyWindow)(self.display, self.id);
            (self.x.XCloseDisplay)(self.display);
        }
    }
}
