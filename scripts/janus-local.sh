#!/usr/bin/env bash
# Runs a Janus meeting server on 127.0.0.1 for TalkLine: the VideoRoom plugin
# (rooms 1234, and 4321 with PIN "secret") over WebSockets, nothing else.
#   scripts/janus-local.sh [PORT] [STATE_DIR]
# Runs in the foreground (exec), so the caller can stop or kill it by PID.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
port="${1:-8188}"
dir="${2:-${XDG_RUNTIME_DIR:-/tmp}/talkline-janus-$port}"
mkdir -p "$dir"

lib=""
for base in /usr/lib/*-linux-gnu /usr/lib; do
  if [ -e "$base/janus/plugins/libjanus_videoroom.so" ]; then lib="$base/janus"; break; fi
done
if [ -z "$lib" ] || ! command -v janus >/dev/null; then
  echo "janus is not installed: run scripts/setup-debian.sh" >&2
  exit 1
fi

# Separate RTP port ranges keep servers on different ports apart, all
# under Linux's ephemeral ports (32768 and up): a test that blocks Janus's
# range with a firewall must not block the sockets other programs were
# given (where the ranges met, one socket in 28 landed in it, and a call
# through a TURN relay never came up).
rtp_base=$(( 20000 + (port % 12) * 1000 ))
for f in "$here"/tests/janus/*.jcfg; do
  sed -e "s|@CONFIG_DIR@|$dir|" -e "s|@JANUS_LIB@|$lib|" \
      -e "s|@ADMIN_SECRET@|talkline-local|" \
      -e "s|@RTP_PORTS@|$rtp_base-$((rtp_base + 999))|" \
      -e "s|@WS_PORT@|$port|" "$f" > "$dir/$(basename "$f")"
done

# wss:// beside ws:// when given a port, a certificate and its key (the tests
# of TLS signaling make theirs with a test authority).
if [ -n "${TALKLINE_JANUS_WSS_PORT:-}" ]; then
  ws="$dir/janus.transport.websockets.jcfg"
  sed -i -e "s|^\twss = false|\twss = true\n\twss_port = $TALKLINE_JANUS_WSS_PORT\n\twss_interface = \"lo\"\n\twss_ip = \"127.0.0.1\"|" "$ws"
  printf 'certificates: {\n\tcert_pem = "%s"\n\tcert_key = "%s"\n}\n' \
    "${TALKLINE_JANUS_CERT:?the certificate for wss://}" "${TALKLINE_JANUS_KEY:?its key}" >> "$ws"
fi

# ICE over TCP too (TALKLINE_JANUS_ICE_TCP=1), for clients behind a firewall
# that blocks UDP. Janus offers it only in ICE-lite mode.
if [ -n "${TALKLINE_JANUS_ICE_TCP:-}" ]; then
  sed -i -e "s|^nat: {|nat: {\n\tice_lite = true\n\tice_tcp = true|" "$dir/janus.jcfg"
fi

# Janus ignores loopback interfaces when gathering ICE candidates; this shim
# makes 127.0.0.1 look like an ordinary interface (see the C file).
shim="$dir/getifaddrs_shim.so"
if [ ! -e "$shim" ] || [ "$here/tests/janus/getifaddrs_shim.c" -nt "$shim" ]; then
  cc -shared -fPIC -O2 -o "$shim" "$here/tests/janus/getifaddrs_shim.c" -ldl
fi
# Tests of impaired networks delay what Janus sends (TALKLINE_UDP_DELAY_MS,
# TALKLINE_UDP_JITTER_MS; see tests/janus/udp_delay_shim.c).
preload="$shim"
if [ -n "${TALKLINE_UDP_DELAY_MS:-}${TALKLINE_UDP_JITTER_MS:-}" ]; then
  delay="$dir/udp_delay_shim.so"
  if [ ! -e "$delay" ] || [ "$here/tests/janus/udp_delay_shim.c" -nt "$delay" ]; then
    cc -shared -fPIC -O2 -o "$delay" "$here/tests/janus/udp_delay_shim.c" -ldl -lpthread
  fi
  preload="$shim:$delay"
fi
# JANUS_DEBUG_LEVEL=5 logs every keyframe request it relays, for debugging.
LD_PRELOAD="$preload" exec janus -F "$dir" -C "$dir/janus.jcfg" ${JANUS_DEBUG_LEVEL:+--debug-level="$JANUS_DEBUG_LEVEL"}
