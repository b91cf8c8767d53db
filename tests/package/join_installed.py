#!/usr/bin/env python3
"""Joins a meeting with the installed app, as a user would, over WebDriver.

The install test runs `tauri-driver` (in front of WebKitWebDriver) inside the
clean Debian; this script is the user: it accepts the policy, pastes the
meeting link, allows the test camera and microphone when asked, clicks Join
and waits until the other participant's video is drawn in the window.
Only the standard library: it runs on the machine that runs the tests.

    usage: join_installed.py DRIVER_PORT LINK OTHER_NAME
"""
import http.client
import json
import sys
import time

LONG = 60.0


class Failed(Exception):
    pass


class Driver:
    """One kept-alive HTTP connection to tauri-driver.

    urllib sends `Connection: close` with every request; tauri-driver passes
    it on to WebKitWebDriver, which then closes its side without saying so,
    and tauri-driver's pooled client (hyper before 1.12) may still send the
    next request down that closing socket and get a reset. A persistent
    connection does not ask for a close. A request that still meets a reset
    was never read by WebKitWebDriver, so it is sent once more on a fresh
    connection.
    """

    def __init__(self, port):
        self.port = port
        self.conn = None

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=90)
            try:
                self.conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
                reply = self.conn.getresponse()
                payload = reply.read()
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine) as e:
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise Failed(f"{method} {path}: {e!r}") from None
                time.sleep(0.2)
                continue
            if reply.status >= 400:
                raise Failed(f"{method} {path}: {reply.status} {payload[:500]!r}")
            return json.loads(payload or b"{}").get("value")


class Window:
    def __init__(self, port):
        self.driver = Driver(port)
        deadline = time.monotonic() + 60
        capabilities = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "wry",
                    "tauri:options": {"application": "/usr/bin/talkline-app"},
                }
            }
        }
        while True:
            try:
                self.session = self.driver.request("POST", "/session", capabilities)["sessionId"]
                return
            except (OSError, Failed) as e:
                if time.monotonic() > deadline:
                    raise Failed(f"no WebDriver session with the installed app: {e}")
                time.sleep(0.5)

    def cmd(self, method, path, body=None):
        return self.driver.request(method, f"/session/{self.session}{path}", body)

    def eval(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def wait_for(self, what, script, *args, timeout=LONG):
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.eval(script, *args)
            except (Failed, OSError):
                value = None  # the page is loading
            if value:
                return value
            if time.monotonic() > deadline:
                raise Failed(f"waited {timeout:.0f} s for {what}")
            time.sleep(0.25)

    def wait_visible(self, css):
        self.wait_for(
            css,
            "const e = document.querySelector(arguments[0]);"
            " return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0;",
            css,
        )

    def element(self, css):
        found = self.cmd("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(found.values()))

    def click(self, css):
        self.cmd("POST", f"/element/{self.element(css)}/click", {})

    def type_into(self, css, text):
        element = self.element(css)
        self.cmd("POST", f"/element/{element}/clear", {})
        self.cmd("POST", f"/element/{element}/value", {"text": text})

    def choose(self, css, value):
        self.eval(
            "const s = document.querySelector(arguments[0]); s.value = arguments[1];"
            " s.dispatchEvent(new Event('change', {bubbles: true})); return true;",
            css,
            value,
        )

    def close(self):
        try:
            self.cmd("DELETE", "")
        except (OSError, Failed):
            pass


def join(window, link, other):
    window.wait_visible("#screen-policy")
    window.click("#policy-accept")
    window.wait_visible("#screen-home")
    window.type_into("#meeting-input", link)
    window.type_into("#display-name", "Winnie")
    window.click("#home-join")
    window.wait_visible("#screen-prejoin")
    print("the installed app reached the pre-join of the meeting", flush=True)
    # No camera or sound card here: the test sources, each allowed when
    # the app asks with Appendix II's purpose.
    for picker in ("#camera-select", "#mic-select"):
        window.wait_for(
            f"{picker} to list the test source",
            "const s = document.querySelector(arguments[0]);"
            " return !!s && [...s.options].some(o => o.value === 'test');",
            picker,
        )
        window.choose(picker, "test")
        window.wait_visible("#permission-allow")
        window.click("#permission-allow")
        window.wait_for(
            "the permission prompt to close",
            "return document.getElementById('permission-prompt').hidden;",
        )
    window.click("#join-now")
    window.wait_visible("#screen-meeting")
    print("the installed app is in the meeting", flush=True)
    tile = window.wait_for(
        f"{other}'s tile",
        "const t = [...document.querySelectorAll('#tiles .tile')]"
        ".find(t => t.querySelector('.name').textContent === arguments[0]);"
        " return t ? t.dataset.tile : null;",
        other,
    )
    tile_stats = "const t = window.__talkline.frames.tiles[arguments[0]];"
    drawn = tile_stats + " return t ? t.drawn : 0;"
    window.wait_for(f"{other}'s video", tile_stats + " return !!t && t.drawn > 0;", tile)
    first = window.eval(drawn, tile)
    time.sleep(3)
    later = window.eval(drawn, tile)
    if later - first < 30:
        raise Failed(f"{other}'s video hardly moves in the window: {later - first} frames in 3 s")
    print(f"the installed app draws {other}'s video ({later - first} frames in 3 s)", flush=True)


def main():
    port, link, other = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    window = Window(port)
    try:
        join(window, link, other)
        # Long enough in the meeting for the other side to count its frames.
        time.sleep(5)
        window.click("#leave")
        window.wait_visible("#leave-confirm")
        window.click("#leave-confirm")
        window.wait_visible("#screen-home")
        print("the installed app left the meeting", flush=True)
    finally:
        window.close()


if __name__ == "__main__":
    try:
        main()
    except Failed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
