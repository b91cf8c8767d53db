#!/usr/bin/env bash
# Coverage-guided fuzzing of TalkLine's parsers of outside input with
# libFuzzer (cargo fuzz, nightly Rust, AddressSanitizer).
#
#   scripts/fuzz.sh                 every target, 60 s each
#   scripts/fuzz.sh rtp_video 3600  one target for an hour
#   scripts/fuzz.sh --list          the targets
#
# What libFuzzer finds worth keeping goes into fuzz/corpus/<target>/ (commit
# it: the tests replay it on stable Rust); a crash is written to
# fuzz/artifacts/<target>/ and the run stops. Copy a crash into the corpus
# and fix it: it stays there as a regression test (crates/fuzzing/tests).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "cargo fuzz needs nightly Rust: rustup toolchain install nightly" >&2
  exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi
# Its own target directory: sanitizer builds share nothing with the others.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/talkline/target}/fuzz"

targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^talkline-fuzz$')
if [ "${1:-}" = "--list" ]; then
  echo "$targets"
  exit 0
fi
chosen=${1:-$targets}
seconds=${2:-60}
for target in $chosen; do
  if ! grep -qx "$target" <<<"$targets"; then
    echo "no fuzz target \"$target\"; these exist:" >&2
    echo "$targets" >&2
    exit 2
  fi
  echo "== $target ($seconds s)"
  # -rss_limit_mb: a parser that allocates without bound is a finding too.
  # -timeout: one input taking seconds is a hang.
  cargo +nightly fuzz run --fuzz-dir fuzz "$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1
done
