#!/usr/bin/env bash
# Configures and builds PEFT Studio into ./build (Ninja, RelWithDebInfo). Extra args go to CMake.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DPEFT_STUDIO_GUI="${PEFT_STUDIO_GUI:-ON}" "$@"
# Each torch translation unit peaks near 1.1 GB; two jobs fit every machine we target.
cmake --build "$BUILD_DIR" -j "${JOBS:-2}"
