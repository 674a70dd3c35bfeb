#!/usr/bin/env bash
# README command 1: install what is missing, build, and open PEFT Studio on the bundled demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/setup-deps.sh
bash packaging/build.sh
DEMO="$PWD/resources/demo"
if [[ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
  echo "run: no display found; starting under xvfb-run (set DISPLAY to use your desktop)"
  exec xvfb-run -a -s "-screen 0 1280x800x24" "${BUILD_DIR:-build}/app/peft-studio" --demo "$DEMO" "$@"
fi
exec "${BUILD_DIR:-build}/app/peft-studio" --demo "$DEMO" "$@"
