#!/usr/bin/env bash
# Sets up a fresh Debian machine, starts a local meeting server (Janus on
# 127.0.0.1:8188) and joins meeting 1234 with TalkLine.
#   scripts/run.sh [talkline join options…]
# Others join the same meeting from another terminal with, e.g.,
#   target/debug/talkline join 1234 --name Bob
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh
cargo build --locked -p talkline-cli
bin="${CARGO_TARGET_DIR:-target}/debug/talkline"

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

if [ $# -eq 0 ]; then
  set -- --name "${USER:-guest}"
fi
echo "joining meeting 1234 (Ctrl-C to leave)"
"$bin" join 1234 --server "ws://127.0.0.1:$port" "$@"
