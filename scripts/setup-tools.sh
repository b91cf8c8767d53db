#!/usr/bin/env bash
# Tools the tests need that Debian does not package, installed once into
# cargo's bin dir: tauri-driver (the WebDriver bridge to WebKitWebDriver)
# and cargo-deny (the dependency tree against the RustSec advisories).
set -euo pipefail
bin_dir="${CARGO_HOME:-$HOME/.cargo}/bin"

tauri_driver=2.0.6
if ! { [ -x "$bin_dir/tauri-driver" ] && "$bin_dir/tauri-driver" --help 2>&1 | grep -q "native-driver"; }; then
  echo "installing tauri-driver $tauri_driver"
  cargo install --locked --quiet tauri-driver --version "$tauri_driver"
fi

cargo_deny=0.20.2
if ! { [ -x "$bin_dir/cargo-deny" ] && "$bin_dir/cargo-deny" --version 2>/dev/null | grep -qF "$cargo_deny"; }; then
  echo "installing cargo-deny $cargo_deny"
  cargo install --locked --quiet cargo-deny --version "$cargo_deny"
fi
