#!/usr/bin/env bash
# Draws every raster icon the packages need from the one source,
# src-tauri/icons/talkline.svg: the desktop's sizes (icons/hicolor/, which
# the .deb installs), Tauri's set (32x32.png, 128x128.png, 128x128@2x.png,
# icon.png), Windows' icon.ico and macOS' icon.icns. Run it after changing
# the SVG; the files are committed, and the package test checks each is
# there at its size (src-tauri/tests/commands.rs).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v rsvg-convert >/dev/null || need+=(librsvg2-bin)
command -v icotool >/dev/null || need+=(icoutils)
command -v png2icns >/dev/null || need+=(icnsutils)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

icons=src-tauri/icons
drawn=$(mktemp -d)
trap 'rm -rf "$drawn"' EXIT
for size in 16 24 32 48 64 128 256 512 1024; do
  rsvg-convert -w "$size" -h "$size" "$icons/talkline.svg" -o "$drawn/$size.png"
done
mkdir -p "$icons/hicolor"
for size in 16 24 32 48 64 128 256 512; do
  cp "$drawn/$size.png" "$icons/hicolor/${size}x${size}.png"
done
cp "$drawn/32.png" "$icons/32x32.png"
cp "$drawn/128.png" "$icons/128x128.png"
cp "$drawn/256.png" "$icons/128x128@2x.png"
cp "$drawn/512.png" "$icons/icon.png"
# 256 stored as PNG (as Windows Vista and later read it), the rest as bitmaps.
icotool -c -o "$icons/icon.ico" "$drawn"/{16,24,32,48,64}.png --raw="$drawn/256.png"
png2icns "$icons/icon.icns" "$drawn"/{16,32,128,256,512,1024}.png >/dev/null
ls -l "$icons"
