#!/usr/bin/python3
"""A desktop's screen-cast backend for the tests: it answers the real
xdg-desktop-portal's org.freedesktop.impl.portal.ScreenCast calls as a
desktop does, and shares a "screen" that is a GStreamer test picture
published on the real PipeWire daemon (pipewiresink, mode=provide).

Why not the real backend: xdg-desktop-portal-wlr 0.7 refuses to cast
from a compositor that renders without a GPU (pixman): it asks for a
DMA-BUF format that such a compositor never offers (upstream issue
emersion/xdg-desktop-portal-wlr#289). Everything else on the path (the
portal the client talks to, the PipeWire remote it hands over, PipeWire
and its session manager) is the real thing.

The user's choice is made by the test: the first argument is the
picture, one colour (0xAARRGGBB, 1280x720) or `file:PATH` (a PNG shown
as the screen, at its size: for the benchmark that compares this path
with X11's and Chromium's on the same page; GStreamer 1.22's
`pipewiresink` crashes on `ximagesrc`'s buffers, so the X screen itself
is not read). SIGUSR1 ends every session as a desktop's
own "Stop sharing" does; SIGUSR2 makes the next Start answer as a
dialog the user cancelled; SIGHUP makes it answer 3 s late, as a user
taking their time; SIGWINCH makes it name a stream that does not exist. Each call is printed, for the test's log.
"""

import os
import signal
import subprocess
import sys
import time
import json

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

NAME = "org.freedesktop.impl.portal.desktop.talkline_test"
CAST = "org.freedesktop.impl.portal.ScreenCast"
SESSION = "org.freedesktop.impl.portal.Session"
PROPERTIES = "org.freedesktop.DBus.Properties"
WIDTH, HEIGHT = 1280, 720
# How long a held dialog takes to be answered.
HOLD_MS = 3000
PICTURE = sys.argv[1] if len(sys.argv) > 1 else "0xffff0000"


def say(*what):
    print(*what, flush=True)


def node_named(name, within=10.0):
    """The id of the PipeWire node called `name`, once it is there."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        dump = subprocess.run(["pw-dump"], capture_output=True, text=True).stdout
        try:
            objects = json.loads(dump or "[]")
        except ValueError:
            objects = []
        for o in objects:
            props = (o.get("info") or {}).get("props") or {}
            if props.get("node.name") == name:
                return o["id"]
        time.sleep(0.1)
    return None


class Session(dbus.service.Object):
    def __init__(self, bus, path, sessions):
        super().__init__(bus, path)
        self.path = path
        self.sessions = sessions
        self.picture = None
        sessions[path] = self

    def share(self):
        name = "talkline-test-screen-%d" % len(self.sessions)
        if PICTURE.startswith("file:"):
            source = [
                "filesrc", "location=%s" % PICTURE[len("file:"):], "!",
                "pngdec", "!", "imagefreeze", "is-live=true", "!",
                "videoconvert", "!", "video/x-raw,format=BGRx,framerate=10/1",
            ]
        else:
            source = [
                "videotestsrc", "pattern=solid-color",
                "foreground-color=%s" % PICTURE, "is-live=true", "!",
                "video/x-raw,format=BGRx,width=%d,height=%d,framerate=10/1"
                % (WIDTH, HEIGHT),
            ]
        self.picture = subprocess.Popen(
            ["gst-launch-1.0", "-q"] + source + [
                "!", "pipewiresink", "mode=provide",
                "stream-properties=p,node.name=%s,media.class=Video/Source" % name,
            ]
        )
        return node_named(name)

    def end(self):
        if self.picture is not None:
            self.picture.terminate()
            self.picture.wait()
            self.picture = None
        self.sessions.pop(self.path, None)
        try:
            self.remove_from_connection()
        except LookupError:
            pass

    @dbus.service.method(SESSION, in_signature="", out_signature="")
    def Close(self):
        say("Close", self.path)
        self.end()

    @dbus.service.signal(SESSION, signature="")
    def Closed(self):
        pass


class ScreenCast(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, "/org/freedesktop/portal/desktop")
        self.bus = bus
        self.sessions = {}
        self.refuse_next = False
        self.hold_next = False
        self.missing_next = False

    @dbus.service.method(CAST, in_signature="oosa{sv}", out_signature="ua{sv}")
    def CreateSession(self, handle, session_handle, app_id, options):
        say("CreateSession", session_handle)
        Session(self.bus, session_handle, self.sessions)
        return (dbus.UInt32(0), dbus.Dictionary({}, signature="sv"))

    @dbus.service.method(CAST, in_signature="oosa{sv}", out_signature="ua{sv}")
    def SelectSources(self, handle, session_handle, app_id, options):
        say("SelectSources", *("%s=%s" % (k, v) for k, v in sorted(options.items())))
        if session_handle not in self.sessions:
            return (dbus.UInt32(2), dbus.Dictionary({}, signature="sv"))
        return (dbus.UInt32(0), dbus.Dictionary({}, signature="sv"))

    @dbus.service.method(
        CAST,
        in_signature="oossa{sv}",
        out_signature="ua{sv}",
        async_callbacks=("reply", "error"),
    )
    def Start(self, handle, session_handle, app_id, parent_window, options, reply, error):
        if self.hold_next:
            # The user takes their time in the dialog: answered later.
            self.hold_next = False
            say("Start", session_handle, "held: the user is choosing")

            def answer():
                reply(*self.answer(session_handle))
                return GLib.SOURCE_REMOVE

            GLib.timeout_add(HOLD_MS, answer)
            return
        reply(*self.answer(session_handle))

    def answer(self, session_handle):
        session = self.sessions.get(session_handle)
        if self.refuse_next:
            self.refuse_next = False
            say("Start", session_handle, "cancelled by the user")
            return (dbus.UInt32(1), dbus.Dictionary({}, signature="sv"))
        if self.missing_next:
            # A stream the desktop names but never makes.
            self.missing_next = False
            node = 4242
        else:
            node = session.share() if session else None
        say("Start", session_handle, "node", node)
        if node is None:
            return (dbus.UInt32(2), dbus.Dictionary({}, signature="sv"))
        stream = dbus.Struct(
            (
                dbus.UInt32(node),
                dbus.Dictionary(
                    {
                        "source_type": dbus.UInt32(1),
                        "size": dbus.Struct(
                            (dbus.Int32(WIDTH), dbus.Int32(HEIGHT)), signature=None
                        ),
                    },
                    signature="sv",
                ),
            ),
            signature=None,
        )
        streams = dbus.Array([stream], signature="(ua{sv})")
        return (dbus.UInt32(0), dbus.Dictionary({"streams": streams}, signature="sv"))

    def _properties(self):
        return {
            "AvailableSourceTypes": dbus.UInt32(1),
            "AvailableCursorModes": dbus.UInt32(1 | 2),
            "version": dbus.UInt32(4),
        }

    @dbus.service.method(PROPERTIES, in_signature="ss", out_signature="v")
    def Get(self, interface, name):
        return self._properties()[name]

    @dbus.service.method(PROPERTIES, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return dbus.Dictionary(self._properties() if interface == CAST else {}, signature="sv")

    def stop_all(self):
        """The desktop's own "Stop sharing": every session ends."""
        for session in list(self.sessions.values()):
            say("Stopped by the desktop", session.path)
            session.Closed()
            session.end()
        return GLib.SOURCE_CONTINUE

    def hold(self):
        self.hold_next = True
        say("holding the next Start")
        return GLib.SOURCE_CONTINUE

    def lose_next(self):
        self.missing_next = True
        say("naming a missing stream next")
        return GLib.SOURCE_CONTINUE

    def cancel_next(self):
        self.refuse_next = True
        say("refusing the next Start")
        return GLib.SOURCE_CONTINUE


def main():
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    cast = ScreenCast(bus)
    _name = dbus.service.BusName(NAME, bus)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR1, cast.stop_all)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGUSR2, cast.cancel_next)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGHUP, cast.hold)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGWINCH, cast.lose_next)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    say("ready")
    loop.run()
    for session in list(cast.sessions.values()):
        session.end()


if __name__ == "__main__":
    main()
