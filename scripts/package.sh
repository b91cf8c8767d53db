#!/usr/bin/env bash
# Builds TalkLine's Linux package: a .deb of the app (release build), with
# its desktop entry (which registers talkline:// links) and its icon.
# Prints the package's path. The Windows and macOS bundles are built by
# `cargo tauri build` on those systems (src-tauri/tauri.conf.json).
#   usage: scripts/package.sh [--profile dev]
# (`--profile dev` packages the build the tests made, for the install test.)
set -euo pipefail
profile=release
if [ "${1:-}" = "--profile" ]; then profile=${2:?"--profile needs dev or release"}; fi
cd "$(dirname "$0")/.."
root_dir=$(pwd)
target=${CARGO_TARGET_DIR:-$root_dir/target}
out=${TALKLINE_PACKAGE_DIR:-$target/packages}

scripts/setup-debian.sh >&2
scripts/build-ui.sh >/dev/null
case "$profile" in
  release) cargo build --release --locked -p talkline-app >&2; built="$target/release" ;;
  dev) cargo build --locked -p talkline-app >&2; built="$target/debug" ;;
  *) echo "unknown profile $profile: dev or release" >&2; exit 2 ;;
esac

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

install -D -m 755 "$built/talkline-app" "$stage/usr/bin/talkline-app"
strip --strip-debug "$stage/usr/bin/talkline-app"
install -D -m 644 src-tauri/linux/talkline.desktop "$stage/usr/share/applications/talkline.desktop"
# One source for every size: the scalable icon, and each raster size drawn
# from it (scripts/icons.sh) for desktops and docks that want pixels.
install -D -m 644 src-tauri/icons/talkline.svg "$stage/usr/share/icons/hicolor/scalable/apps/talkline.svg"
for png in src-tauri/icons/hicolor/*.png; do
  size=$(basename "$png" .png)
  install -D -m 644 "$png" "$stage/usr/share/icons/hicolor/$size/apps/talkline.png"
done
install -D -m 644 ui/src/licences.json "$stage/usr/share/doc/talkline/licences.json"
cat > "$stage/usr/share/doc/talkline/copyright" <<COPYRIGHT
TalkLine, a conferencing client.
The licences of the libraries built into the app are listed in
licences.json beside this file, and in the app under About.
COPYRIGHT

# What the binary links to directly (its NEEDED entries; their own
# dependencies are their packages' business), as the packages shipping them.
needed=$(objdump -p "$stage/usr/bin/talkline-app" | awk '/NEEDED/{print $2}')
depends=$(ldd "$stage/usr/bin/talkline-app" | awk '/=> \//{print $1, $3}' | while read -r name path; do
  grep -qx "$name" <<<"$needed" || continue
  # "pkg:arch: path" (or "a, b: path"); diversions are not packages.
  { dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path" 2>/dev/null || true; } \
    | grep -v '^diversion' | head -1 | cut -d: -f1 | cut -d, -f1
done | sort -u | while read -r pkg; do
  version=$(dpkg-query -W -f='${Version}' "$pkg") || { echo "no version for $pkg" >&2; exit 1; }
  echo "$pkg (>= ${version%-*})"
done | paste -sd, - | sed 's/,/, /g')
[ -n "$depends" ] || { echo "no dependencies found for the binary" >&2; exit 1; }

mkdir -p "$stage/DEBIAN"
# Recommended: a font with Chinese characters, for the Chinese UI, and one
# with emoji, for chat messages.
cat > "$stage/DEBIAN/control" <<CONTROL
Package: talkline
Version: $version
Architecture: $arch
Maintainer: TalkLine developers <developers@talkline.invalid>
Section: net
Priority: optional
Depends: $depends
Recommends: gnome-keyring, xdg-utils, gstreamer1.0-plugins-good, fonts-noto-cjk | fonts-wqy-microhei, fonts-noto-color-emoji
Homepage: https://talkline.invalid
Description: video meetings by ID, link or QR code
 TalkLine joins video meetings on a Janus VideoRoom server, with beauty and
 virtual backgrounds computed on this device only, echo cancellation and
 noise suppression. talkline:// meeting links open it.
CONTROL

mkdir -p "$out"
package="$out/talkline_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$package" >/dev/null
echo "$package"
