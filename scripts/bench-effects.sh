#!/usr/bin/env bash
# The effects benchmark, side by side with MediaPipe's own runtime: sets up
# a Python environment with mediapipe 0.10.21 from PyPI (once, outside the
# repository), then runs `cargo bench -p talkline-effects --bench effects`.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${TALKLINE_MEDIAPIPE_VENV:-$HOME/.cache/talkline/mediapipe-venv}"
if ! "$venv/bin/python" -c "import mediapipe" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "mediapipe==0.10.21"
fi
TALKLINE_MEDIAPIPE_PYTHON="$venv/bin/python" \
  exec cargo bench -p talkline-effects --bench effects -j 1 "$@"
