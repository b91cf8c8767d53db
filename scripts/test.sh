#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs every TalkLine test: formatting,
# lints, the front-end's type check, unit tests, end-to-end calls through a
# real Janus on loopback, and the desktop window driven over WebDriver.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh
if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install the Rust toolchain (rustup, stable >= 1.85)" >&2
  exit 1
fi
scripts/setup-tools.sh

echo "== front-end (type check and build: the app embeds ui/dist)"
scripts/build-ui.sh
echo "== format"
cargo fmt --all -- --check
echo "== lints"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== unit and integration tests (codecs, links, protocol, a misbehaving server, PulseAudio, permissions, consent, the app core)"
cargo test --locked -p talkline-media -p talkline-meeting -p talkline-privacy -p talkline-store -p talkline-client
echo "== end-to-end tests (real Janus on 127.0.0.1, talkline clients, headless Chromium)"
# One call at a time: each runs real-time media on a 2-core machine.
cargo test --locked -p talkline-cli -- --test-threads=1
echo "== the app: commands through Tauri's mock runtime, then the real window under Xvfb over WebDriver"
# These start `talkline` CLI clients, built just above.
cargo test --locked -p talkline-app -- --test-threads=1
