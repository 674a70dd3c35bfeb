#!/usr/bin/env bash
# Configures and builds PEFT Studio into ./build (Ninja, RelWithDebInfo). Extra args go to CMake.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
# ccache (used when installed, see CMakeLists.txt) hashes the paths inside this checkout relative to
# the build folder, so a clone at another path (CI's fresh clone) reuses what any other clone of the
# same sources compiled. Without it, a new path missed every translation unit (~40 min on 2 cores).
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(pwd)}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DPEFT_STUDIO_GUI="${PEFT_STUDIO_GUI:-ON}" "$@"
# Each torch translation unit peaks near 1.1 GB; two jobs fit every machine we target.
cmake --build "$BUILD_DIR" -j "${JOBS:-2}"
