#!/usr/bin/env bash
# Runs one fuzz target for N seconds (default 600) at low priority. New inputs go to
# build-fuzz/work/<target>, crashes to build-fuzz/crashes/<target>; the committed seeds are read only.
# Usage: tests/fuzz/run.sh <target> [seconds]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
t="$1"; secs="${2:-600}"
b="$root/build-fuzz"
mkdir -p "$b/work/$t" "$b/crashes/$t"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
dict=()
[[ -f "$root/tests/fuzz/$t.dict" ]] && dict=(-dict="$root/tests/fuzz/$t.dict")
exec nice -n 15 "$b/fuzz_$t" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 -max_len=131072 \
  -print_final_stats=1 -artifact_prefix="$b/crashes/$t/" "${dict[@]}" "$b/work/$t" "$root/tests/fuzz/corpus/$t"
