#!/usr/bin/env bash
# Installs the Debian packages TalkLine needs to build, run and test.
# Idempotent: apt-get skips what is already there. Needs root (or sudo).
set -euo pipefail

packages=(
  # build
  build-essential pkg-config cmake nasm clang libclang-dev
  libvpx-dev libasound2-dev libdbus-1-dev libssl-dev
  # the meeting server the app and the tests use on loopback
  janus libjs-janus-gateway libjs-webrtc-adapter
  # tests: browser peer, audio path without a sound card, network namespaces
  chromium pulseaudio pulseaudio-utils libasound2-plugins iproute2 util-linux procps nftables
  # a TURN server (UDP, TCP and TLS relays) for the tests of calls through firewalls
  coturn
  # speech for the voice-processing tests (echo cancellation, noise suppression)
  espeak-ng
  # the OS keyring the store keeps its key in (tests run it in a private D-Bus session)
  dbus gnome-keyring libsecret-tools
  # sharing a Wayland desktop's screen: PipeWire (built against); its tests run the real
  # portal, PipeWire and WirePlumber in a private session (dbus-x11 is the session bus
  # the portal asks for, without a systemd user session) and a stand-in desktop backend
  # (Python, D-Bus, GStreamer's PipeWire sink)
  libpipewire-0.3-dev pipewire-bin wireplumber xdg-desktop-portal dbus-x11
  gstreamer1.0-pipewire gstreamer1.0-tools python3-dbus python3-gi
  # the desktop app: Tauri 2 on WebKitGTK 4.1, and its window tests (Xvfb, WebKitWebDriver)
  libwebkit2gtk-4.1-dev libgtk-3-dev libxdo-dev
  webkit2gtk-driver xvfb xauth
  # the window test reads the invitation link the app copied off the X clipboard
  xclip
  # the window test opens talkline:// links the way a desktop does (xdg-open, xdg-mime)
  xdg-utils
  # the package test installs the .deb into a clean Debian made with debootstrap
  debootstrap x11-utils
  # the window decodes remote VP8 with WebCodecs, which WebKitGTK runs on GStreamer's vpx plugin
  gstreamer1.0-plugins-good
  # Chinese text on the screenshots of the Chinese UI (a Chinese desktop has such a font),
  # and the emoji people put in chat messages
  fonts-wqy-microhei fonts-noto-color-emoji
)
# The front-end is built with Node.js (>= 18) and npm; use the machine's own if it has one.
command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
