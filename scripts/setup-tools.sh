#!/usr/bin/env bash
# Tools the tests need that Debian does not package: tauri-driver (the
# WebDriver bridge to WebKitWebDriver). Installed once into cargo's bin dir.
set -euo pipefail
version=2.0.6
bin="${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver"
if [ -x "$bin" ] && "$bin" --help 2>&1 | grep -q "native-driver"; then
  exit 0
fi
echo "installing tauri-driver $version"
cargo install --locked --quiet tauri-driver --version "$version"
