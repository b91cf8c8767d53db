#!/usr/bin/env bash
# A Python environment with the speech-quality measures the voice benchmark
# reports (STOI and PESQ from PyPI), kept outside the clone so repeated runs
# reuse it. Prints the path of its python. Idempotent.
set -euo pipefail
venv="${TALKLINE_SPEECH_VENV:-$HOME/.cache/talkline/speech-venv}"
if ! "$venv/bin/python" -c "import pystoi, pesq, scipy" 2>/dev/null; then
  if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
    apt-get install -y -q python3-venv >&2
  fi
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install -q "pystoi==0.4.1" "pesq==0.0.4" >&2
fi
echo "$venv/bin/python"
