#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs every TalkLine test: formatting,
# lints, the front-end's type check, unit tests, end-to-end calls through a
# real Janus on loopback, and the desktop window driven over WebDriver.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-debian.sh
if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install the Rust toolchain (rustup, stable >= 1.91)" >&2
  exit 1
fi
scripts/setup-tools.sh

# Every platform's crates, not only this one's: the licence list in About
# is checked against the whole dependency tree (`cargo metadata`).
cargo fetch --locked
echo "== front-end (type check and build: the app embeds ui/dist)"
scripts/build-ui.sh
echo "== front-end components (vitest on index.html in happy-dom, the core faked)"
(cd ui && npm test)
echo "== format"
cargo fmt --all -- --check
echo "== lints"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== the dependencies: licences, duplicate versions, known vulnerabilities (RustSec, from a snapshot)"
scripts/check-dependencies.sh
echo "== every test: units, codecs, links, protocol, a misbehaving server, PulseAudio, permissions,"
echo "   consent, the store and keyring, end-to-end calls through a real Janus on 127.0.0.1 with"
echo "   talkline clients and headless Chromium, the app's commands through Tauri's mock runtime,"
echo "   and the real window under Xvfb over WebDriver"
# One cargo invocation for the whole workspace: cargo resolves features per
# invocation, so separate `-p` runs would build the dependency tree once per
# feature set. One test at a time: the calls run real-time media on a
# 2-core machine.
cargo test --workspace --locked --no-fail-fast -- --test-threads=1
echo "== the Linux package: installs with apt on a clean Debian 12, the installed app starts and joins a meeting"
package=$(scripts/package.sh --profile dev)
tests/package/install-in-clean-debian.sh "$package" "${CARGO_TARGET_DIR:-target}/debug/talkline"
