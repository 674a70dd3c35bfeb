# Sourced by the benchmark scripts (after `set -euo pipefail`), then `bench_env "${1:-}" DEFAULT_WORK`:
# sets ROOT (this checkout), BUILD (the first argument, or ROOT/build; absolute), CLI (that build's
# peft-studio-cli, which must exist) and WORK (the WORK environment variable, or DEFAULT_WORK;
# created).
bench_env() {
  ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
  CLI="$BUILD/app/peft-studio-cli"
  [ -x "$CLI" ] || { echo "no $CLI: build peft-studio-cli first (ninja -C $BUILD peft-studio-cli)" >&2; exit 2; }
  WORK="${WORK:-$2}"
  mkdir -p "$WORK"
}
