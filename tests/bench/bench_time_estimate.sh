#!/usr/bin/env bash
# The Budget page's run time against the run itself: for each demo run config (and, with
# PROCESSES="1 2", for 1 and 2 local ranks), `peft-studio-cli estimate-time` (a warm-up and five
# timed steps, one checkpoint, one evaluation, scaled) and then the real `train` of the same config,
# timed from start to exit. Prints a Markdown table for tests/bench/RESULTS.md with the ratio
# estimate / actual, the CPU and the load average before and after (figures from a loaded machine
# are not valid).
#   tests/bench/bench_time_estimate.sh [BUILD_DIR] [CONFIGS...]
#   (default: build, resources/demo/run.json resources/demo/configs/lora.json resources/demo/run_dpo.json)
# MAX_STEPS=N caps every run at N steps (both sides), for a quick sitting.
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
bench_env "${1:-}" /tmp/peft-bench-time
shift || true
CONFIGS=("$@")
[ ${#CONFIGS[@]} -gt 0 ] || CONFIGS=("$ROOT/resources/demo/run.json" "$ROOT/resources/demo/configs/lora.json" "$ROOT/resources/demo/run_dpo.json")
PROCESSES="${PROCESSES:-1}"
MAX_STEPS="${MAX_STEPS:-}"
PY="${PY:-/usr/bin/python3}"
# Each sitting in a folder of its own under WORK (nothing is deleted).
WORK=$(mktemp -d "$WORK/sitting-XXXXXX")
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
ROWS=()
for cfg in "${CONFIGS[@]}"; do
  name=$(basename "$cfg" .json)
  for procs in $PROCESSES; do
    # The config as given, with its output in the work folder, relative paths resolved against its own folder.
    run="$WORK/$name-p$procs"
    "$PY" - "$cfg" "$run" "$procs" "$MAX_STEPS" > "$WORK/$name-p$procs.json" <<'PY'
import json, os, sys
cfg_path, run, procs, max_steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
c = json.load(open(cfg_path))
base = os.path.dirname(os.path.abspath(cfg_path))
def resolve(p):
    return p if os.path.isabs(p) else os.path.normpath(os.path.join(base, p))
c["model"] = resolve(c["model"])
c["dataset"]["path"] = resolve(c["dataset"]["path"])
if c["dataset"].get("validation_file"): c["dataset"]["validation_file"] = resolve(c["dataset"]["validation_file"])
if isinstance(c.get("method", {}).get("init_from"), str): c["method"]["init_from"] = resolve(c["method"]["init_from"])
c["output_dir"] = run
c["training"]["processes"] = procs
if max_steps: c["training"]["max_steps"] = int(max_steps)
print(json.dumps(c, indent=2))
PY
    est_json=$("$CLI" estimate-time --config "$WORK/$name-p$procs.json" --json 2>"$WORK/$name-p$procs.estimate.log")
    est=$(echo "$est_json" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["total_seconds"])')
    steps=$(echo "$est_json" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["total_steps"])')
    step_s=$(echo "$est_json" | "$PY" -c 'import json,sys; d = json.load(sys.stdin); print("%.4f + %.4f" % (d["mean_step_seconds"], d["all_reduce_seconds"]))')
    t0=$(date +%s.%N)
    "$CLI" train --quiet --config "$WORK/$name-p$procs.json" > "$WORK/$name-p$procs.train.log" 2>&1
    t1=$(date +%s.%N)
    actual=$("$PY" -c "print($t1 - $t0)")
    ratio=$("$PY" -c "print('%.2f' % ($est / $actual))")
    echo "$name x $procs process(es): estimate $(printf %.1f "$est") s, actual $(printf %.1f "$actual") s, ratio $ratio" >&2
    ROWS+=("| $name | $procs | $steps | $step_s | $(printf %.1f "$est") | $(printf %.1f "$actual") | ${ratio}x |")
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) CPUs); load average before: $LOAD_START, after: $LOAD_END"
echo "Command: PROCESSES=\"$PROCESSES\" MAX_STEPS=$MAX_STEPS tests/bench/bench_time_estimate.sh $BUILD ${CONFIGS[*]}"
echo
echo "| config | processes | steps | measured step + all-reduce (s) | estimate (s) | actual (s) | estimate / actual |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${ROWS[@]}"
