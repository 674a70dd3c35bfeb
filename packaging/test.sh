#!/usr/bin/env bash
# README command 2: install what is missing, build, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/setup-deps.sh
bash packaging/build.sh
# The GGUF export tests run the real llama.cpp through node-llama-cpp (exact version, locked):
# without Node >= 20 or the npm registry this fails, as a missing test dependency must.
if ! command -v npm >/dev/null; then
  echo "test.sh: npm (Node >= 20) is needed for tests/llama_cpp (the GGUF tests run the real llama.cpp)" >&2
  exit 1
fi
(cd tests/llama_cpp && npm ci --no-audit --no-fund)
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "${CTEST_JOBS:-2}"
