#!/usr/bin/env bash
# Issue 9 start-up target: "the GUI's first window appears in under 1.5 s".
# Launches build/app/peft-studio RUNS times on an already running Xvfb display (Xvfb's own start-up
# is not counted) and prints, per run and as a median, the time from just before exec to the first
# exposed + painted main window (`--time-startup`), with and without the bundled demo opened.
# Usage: tests/bench/bench_startup.sh [BUILD_DIR] [RUNS]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build}"
runs="${2:-5}"
app="$build/app/peft-studio"
[[ -x "$app" ]] || { echo "no GUI binary at $app (build with PEFT_STUDIO_GUI=ON)" >&2; exit 1; }
display=":$((90 + RANDOM % 9))"
Xvfb "$display" -screen 0 1280x800x24 >/dev/null 2>&1 &
xvfb_pid=$!
trap 'kill $xvfb_pid 2>/dev/null || true' EXIT
sleep 1
export DISPLAY="$display" QT_QPA_PLATFORM=xcb
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for mode in empty demo; do
  args=(--time-startup)
  [[ $mode == demo ]] && args+=(--demo "$root/resources/demo")
  times=()
  for ((i = 0; i < runs; ++i)); do
    t0=$(date +%s%3N)
    t1=$("$app" "${args[@]}" 2>/dev/null | awk '/^first-window-ms/ {print $2}')
    [[ -n "$t1" ]] || { echo "run $i ($mode): no first-window line" >&2; exit 1; }
    times+=($((t1 - t0)))
  done
  echo "$mode: runs ${times[*]} ms; median $(printf '%s\n' "${times[@]}" | median) ms"
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
