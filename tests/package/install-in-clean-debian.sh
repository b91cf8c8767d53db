#!/usr/bin/env bash
# The .deb installs on a clean Debian 12, the installed app starts and joins
# a meeting: a minimal Debian (debootstrap, cached under ~/.cache/talkline)
# gets the package with apt, which brings what it depends on; the app then
# runs in that system on an Xvfb of the host, shows its window, and a second
# start with a talkline:// link hands the link to it and ends. Then a user
# (tests/package/join_installed.py, over WebDriver) joins a meeting on a
# Janus of the host with it, where a talkline CLI (CLIENT) sees its video.
#   usage: tests/package/install-in-clean-debian.sh PACKAGE.deb CLIENT
set -euo pipefail
package=$(readlink -f "$1")
client=$(readlink -f "${2:?the talkline CLI, which meets the installed app}")
here=$(cd "$(dirname "$0")/../.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/talkline
base="$cache/debian-bookworm-minbase.tar"
mirror=${TALKLINE_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ ! -f "$base" ]; then
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fresh=$(mktemp -d)
  trap 'rm -rf "$fresh"' EXIT
  timeout -k 10 900 debootstrap --variant=minbase bookworm "$fresh/root" "$mirror" >/dev/null \
    || { echo "FAILED: debootstrap could not make a clean Debian 12 from $mirror"; exit 1; }
  mkdir -p "$cache"
  tar -C "$fresh/root" -cf "$base.part" . && mv "$base.part" "$base"
  rm -rf "$fresh"
  trap - EXIT
fi

work=$(mktemp -d)
display=":$((200 + RANDOM % 300))"
# Every process running in the clean system: the app and its WebKit
# processes (started through unshare and chroot, so not children of ours).
in_chroot() {
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"
  done
  return 0
}
cleanup() {
  for pid in $(in_chroot); do kill -9 "$pid" 2>/dev/null || true; done
  [ -n "${xvfb:-}" ] && kill "$xvfb" 2>/dev/null || true
  [ -n "${bob:-}" ] && kill "$bob" 2>/dev/null || true
  [ -n "${janus:-}" ] && kill "$janus" 2>/dev/null || true
  sleep 1
  rm -rf "$work"
}
root="$work/root"
trap cleanup EXIT
mkdir -p "$root"
tar -C "$root" -xf "$base"
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$package" "$root/tmp/talkline.deb"

# Inside a private mount namespace: /proc, /dev and the host's X socket.
inside() {
  unshare -m bash -c '
    root=$1; shift
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mkdir -p "$root/tmp/.X11-unix"
    mount --bind /tmp/.X11-unix "$root/tmp/.X11-unix"
    exec chroot "$root" "$@"
  ' inside "$root" "$@"
}

echo "installing $(basename "$package") into a clean Debian 12"
inside timeout -k 10 900 sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/talkline.deb' >"$work/apt.log" 2>&1 \
  || { tail -30 "$work/apt.log"; echo "FAILED: the package did not install"; exit 1; }
inside dpkg -s talkline | grep -q '^Status: install ok installed' \
  || { echo "FAILED: dpkg does not list talkline as installed"; exit 1; }
for file in /usr/bin/talkline-app /usr/share/applications/talkline.desktop \
  /usr/share/icons/hicolor/scalable/apps/talkline.svg; do
  inside test -e "$file" || { echo "FAILED: the package did not install $file"; exit 1; }
done

Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp -fbdir "$work" >/dev/null 2>&1 &
xvfb=$!
for _ in $(seq 1 20); do [ -f "$work/Xvfb_screen0" ] && break; sleep 0.25; done
kill -0 "$xvfb" 2>/dev/null || { echo "FAILED: Xvfb did not start on $display"; exit 1; }
run_env=(env DISPLAY="$display" HOME=/root XDG_RUNTIME_DIR=/tmp/runtime
  TALKLINE_SERVER=ws://127.0.0.1:9 NO_AT_BRIDGE=1)
inside mkdir -p -m 700 /tmp/runtime
inside "${run_env[@]}" talkline-app >"$work/app.log" 2>&1 &
app=$!
shown=""
for _ in $(seq 1 60); do
  if DISPLAY="$display" xwininfo -root -tree 2>/dev/null | grep -q '"TalkLine"'; then shown=yes; break; fi
  kill -0 "$app" 2>/dev/null || break
  sleep 0.5
done
if [ -z "$shown" ]; then
  tail -30 "$work/app.log"
  echo "FAILED: the installed app showed no window"
  exit 1
fi
# The page is drawn, not only the window: the privacy policy's text makes
# many colours on the screen (an empty window or an error page, a few).
drawn=""
for _ in $(seq 1 40); do
  colours=$(python3 - "$work/Xvfb_screen0" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
header_size = struct.unpack(">I", data[0:4])[0]
ncolors = struct.unpack(">I", data[76:80])[0]
pixels = data[header_size + 12 * ncolors:]
print(len({pixels[i:i + 4] for i in range(0, len(pixels) - 3, 4)}))
PY
)
  if [ "$colours" -gt 100 ]; then drawn=yes; break; fi
  sleep 0.5
done
if [ -z "$drawn" ]; then
  tail -30 "$work/app.log"
  echo "FAILED: the installed app's page was not drawn ($colours colours on the screen)"
  exit 1
fi
echo "the installed app shows its window and draws its page ($colours colours)"
link='talkline://join?server=ws://127.0.0.1:9&room=1234'
answer=$(inside "${run_env[@]}" timeout -k 5 20 talkline-app "$link" 2>&1) \
  || { echo "$answer"; tail -30 "$work/app.log"; echo "FAILED: a second start did not hand its link over"; exit 1; }
case "$answer" in
  *"already running"*) echo "a second start handed its link to the running app" ;;
  *) echo "$answer"; echo "FAILED: the second start did not reach the running app"; exit 1 ;;
esac
apps=$(for pid in $(in_chroot); do cat "/proc/$pid/comm" 2>/dev/null; done | grep -cx talkline-app || true)
[ "$apps" = 1 ] || { tail -30 "$work/app.log"; echo "FAILED: $apps talkline-app processes run, not one"; exit 1; }
left=$(for pid in $(in_chroot); do cat "/proc/$pid/comm" 2>/dev/null; done | sort | uniq -c | paste -sd' ' -)
echo "running in the clean system: $left"

# Joining a meeting. The user's stand-in needs a WebDriver (the system's
# WebKitWebDriver behind tauri-driver, a static-enough binary copied in)
# and, as on a desktop, a session bus with an unlocked keyring.
for pid in $(in_chroot); do kill -TERM "$pid" 2>/dev/null || true; done
for _ in $(seq 1 20); do [ -z "$(in_chroot)" ] && break; sleep 0.25; done
inside timeout -k 10 600 sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq webkit2gtk-driver dbus gnome-keyring' >"$work/apt-driver.log" 2>&1 \
  || { tail -30 "$work/apt-driver.log"; echo "FAILED: WebKitWebDriver did not install in the clean system"; exit 1; }
driver_bin=$(command -v tauri-driver || echo "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver")
install -m 755 "$driver_bin" "$root/usr/local/bin/tauri-driver"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
janus_port=$(free_port)
"$here/scripts/janus-local.sh" "$janus_port" "$work/janus" >"$work/janus.log" 2>&1 &
janus=$!
for _ in $(seq 1 40); do (exec 3<>"/dev/tcp/127.0.0.1/$janus_port") 2>/dev/null && break; sleep 0.25; done
link="talkline://join?server=ws://127.0.0.1:$janus_port&room=1234"
"$client" join "$link" --name Bob --duration 120 --stats-json "$work/bob.json" >"$work/bob.log" 2>&1 &
bob=$!
for _ in $(seq 1 60); do grep -q "joined meeting 1234" "$work/bob.log" && break; sleep 0.25; done
grep -q "joined meeting 1234" "$work/bob.log" \
  || { tail -20 "$work/bob.log" "$work/janus.log"; echo "FAILED: the CLI did not join the local Janus"; exit 1; }

driver_port=$(free_port)
inside "${run_env[@]}" dbus-run-session -- sh -c \
  'echo -n talkline-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec tauri-driver --port "$0" --native-port "$1"' \
  "$driver_port" "$(free_port)" >"$work/driver.log" 2>&1 &
if ! timeout -k 5 240 python3 "$here/tests/package/join_installed.py" "$driver_port" "$link" Bob; then
  tail -40 "$work/driver.log"
  echo "FAILED: the installed app did not join the meeting"
  exit 1
fi
for _ in $(seq 1 40); do grep -q -- "- Winnie left" "$work/bob.log" && break; sleep 0.25; done
kill -TERM "$bob"
wait "$bob" || true
bob=""
frames=$(python3 - "$work/bob.json" <<'PY'
import json, sys
stats = json.load(open(sys.argv[1]))
print(next((r.get("video_frames_decoded", 0) for r in stats.get("remote", []) if r.get("display") == "Winnie"), 0))
PY
)
grep -q "+ Winnie joined" "$work/bob.log" \
  || { tail -20 "$work/bob.log"; echo "FAILED: the CLI never saw the installed app join"; exit 1; }
[ "$frames" -ge 100 ] \
  || { tail -20 "$work/bob.log"; echo "FAILED: the CLI decoded $frames frames of the installed app's video"; exit 1; }
echo "the CLI in the same meeting decoded $frames frames of the installed app's video"
echo "PASSED: the package installs on a clean Debian 12, the app starts and joins a meeting"
