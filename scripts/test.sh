#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs every TalkLine test: formatting,
# lints, unit tests, and end-to-end calls through a real Janus on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh
if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install the Rust toolchain (rustup, stable >= 1.85)" >&2
  exit 1
fi

echo "== format"
cargo fmt --all -- --check
echo "== lints"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== unit and integration tests (codecs, links, protocol, a misbehaving server, PulseAudio, permissions)"
cargo test --locked -p talkline-media -p talkline-meeting -p talkline-privacy -p talkline-store
echo "== end-to-end tests (real Janus on 127.0.0.1, talkline clients, headless Chromium)"
# One call at a time: each runs real-time media on a 2-core machine.
cargo test --locked -p talkline-cli -- --test-threads=1
