#!/usr/bin/env bash
# Sets up a fresh Debian machine, starts a local meeting server (Janus on
# 127.0.0.1:8188, the app's default server) and opens the TalkLine app.
#   scripts/run.sh            the desktop app
#   scripts/run.sh --cli …    the `talkline` command instead: joins meeting 1234
# Others join the same meeting from another terminal with, e.g.,
#   target/debug/talkline join 1234 --name Bob
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh
target="${CARGO_TARGET_DIR:-target}"
cli=0
if [ "${1:-}" = "--cli" ]; then
  cli=1
  shift
fi
if [ $cli -eq 0 ] && [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "error: no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset)." >&2
  echo "Run it from a desktop session, or use the command-line client: scripts/run.sh --cli" >&2
  exit 1
fi
scripts/build-ui.sh
cargo build --locked -p talkline-cli -p talkline-app

port=8188
if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
  # Debian's janus package may run a system-wide Janus here; it cannot
  # gather candidates on loopback, so a call through it would get no media.
  echo "something already listens on 127.0.0.1:$port; using it as the meeting server" >&2
  echo "(if it is the system Janus: systemctl stop janus, then run this again)" >&2
else
  echo "starting the local meeting server on ws://127.0.0.1:$port (log: janus.log)"
  scripts/janus-local.sh "$port" > janus.log 2>&1 &
  janus_pid=$!
  trap 'kill $janus_pid 2>/dev/null' EXIT
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.1
  done
fi

if [ $cli -eq 1 ]; then
  [ $# -gt 0 ] || set -- --name "${USER:-guest}"
  echo "joining meeting 1234 (Ctrl-C to leave)"
  "$target/debug/talkline" join 1234 --server "ws://127.0.0.1:$port" "$@"
fi
echo "opening TalkLine; meeting 1234 is open on the local server"
echo "  (a second participant: $target/debug/talkline join 1234 --name Bob)"
TALKLINE_SERVER="ws://127.0.0.1:$port" "$target/debug/talkline-app"
