#!/usr/bin/env bash
# Builds the window's front-end (ui/ → ui/dist), which the app embeds at
# compile time. Installs exactly the locked npm packages.
set -euo pipefail
cd "$(dirname "$0")/../ui"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build
