#!/usr/bin/env bash
# Loading a 0.5B bf16 checkpoint (issue 3: resident memory <= file size + 10%; issue 9: load time
# < 2x the time to read the file). Writes a Qwen2-0.5B-shaped bf16 checkpoint with our own
# `init-model --dtype bf16` (random weights, never committed) and measures, RUNS times each,
# alternating:
#   read  : `cat model.safetensors > /dev/null`
#   load  : `peft-studio-cli info --model DIR --load` = loadModel (maps the file, checks every
#           tensor, builds the model) + reading every weight page (what the first forward faults
#           in) + one 1-token forward pass, each timed; VmRSS at start and VmHWM (peak RSS).
# Both warm (file in the page cache) and cold (the file's cached pages dropped first with
# `dd iflag=nocache`, i.e. posix_fadvise(DONTNEED), which needs no root; a VM's host may still
# cache the disk). With a C compiler at hand, each run also times the load with the reader's
# read-ahead (madvise MADV_WILLNEED) turned off by an LD_PRELOAD shim (no_willneed.c): the same
# binary, before and after that change. Prints medians. Usage:
#   tests/bench/bench_load.sh [BUILD_DIR] [RUNS]   (defaults: build 5; WORK=/tmp/peft-load-bench)
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
bench_env "${1:-}" /tmp/peft-load-bench
RUNS="${2:-5}"
MODEL="$WORK/qwen2-0.5b-bf16"
if [ ! -f "$MODEL/model.safetensors" ]; then
  cat > "$WORK/config.json" <<'JSON'
{"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864,
 "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936,
 "max_position_embeddings": 32768, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": true,
 "hidden_act": "silu", "initializer_range": 0.02, "torch_dtype": "bfloat16", "bos_token_id": 151643, "eos_token_id": 151643}
JSON
  "$CLI" init-model --config "$WORK/config.json" --out "$MODEL" --dtype bf16 --seed 0 >&2
fi
FILE="$MODEL/model.safetensors"
SIZE=$(stat -c %s "$FILE")
SHIM=""
if command -v cc >/dev/null; then
  SHIM="$WORK/no_willneed.so"
  cc -shared -fPIC -O2 -o "$SHIM" "$ROOT/tests/bench/no_willneed.c"
fi
drop() { dd if="$FILE" iflag=nocache count=0 status=none; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/^$1: *//p"; }

echo "# $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $("$CLI" --version 2>/dev/null | head -1)"
echo "# $FILE: $SIZE bytes ($(awk -v s="$SIZE" 'BEGIN {printf "%.1f MiB", s/1048576}')), $RUNS runs each"
for mode in warm cold; do
  read_s=(); load_s=(); touch_s=(); fwd_s=(); ready_s=(); proc_s=(); peak=(); start=(); nora_s=()
  cat "$FILE" > /dev/null  # warm the cache once
  for i in $(seq "$RUNS"); do
    [ "$mode" = cold ] && drop
    t0=$(now); cat "$FILE" > /dev/null; t1=$(now)
    read_s+=("$(echo "$t1 - $t0" | bc -l)")
    [ "$mode" = cold ] && drop
    t0=$(now); out=$("$CLI" info --model "$MODEL" --load --precision bf16 2>/dev/null); t1=$(now)
    proc_s+=("$(echo "$t1 - $t0" | bc -l)")
    l=$(echo "$out" | field load_s); t=$(echo "$out" | field touch_s)
    load_s+=("$l"); touch_s+=("$t"); fwd_s+=("$(echo "$out" | field forward_s)")
    ready_s+=("$(echo "$l + $t" | bc -l)")
    peak+=("$(echo "$out" | field peak_rss_mib)"); start+=("$(echo "$out" | field rss_start_mib)")
    if [ -n "$SHIM" ]; then
      [ "$mode" = cold ] && drop
      out=$(LD_PRELOAD="$SHIM" "$CLI" info --model "$MODEL" --load --precision bf16 2>/dev/null)
      nora_s+=("$(echo "$out" | field load_s) + $(echo "$out" | field touch_s)")
      nora_s[-1]=$(echo "${nora_s[-1]}" | bc -l)
    fi
  done
  m() { printf '%s\n' "$@" | median; }
  awk -v mode="$mode" -v rd="$(m "${read_s[@]}")" -v ld="$(m "${load_s[@]}")" -v tc="$(m "${touch_s[@]}")" \
      -v rdy="$(m "${ready_s[@]}")" -v fw="$(m "${fwd_s[@]}")" -v pr="$(m "${proc_s[@]}")" \
      -v pk="$(m "${peak[@]}")" -v st="$(m "${start[@]}")" -v size="$SIZE" \
      -v nora="$( [ -n "$SHIM" ] && m "${nora_s[@]}" || echo 0)" 'BEGIN {
    mib = size / 1048576
    printf "RESULT %s: read %.3f s | loadModel %.3f s + page-in %.3f s = %.3f s (%.2fx read) | 1-token forward %.3f s | whole process %.3f s\n",
           mode, rd, ld, tc, rdy, rdy / rd, fw, pr
    if (nora > 0) printf "RESULT %s: without read-ahead (shim): loadModel + page-in %.3f s (%.2fx read)\n", mode, nora, nora / rd
    printf "RESULT %s: peak RSS %.1f MiB, baseline %.1f MiB, peak - baseline %.1f MiB = %.3fx file (%.1f MiB); peak alone %.3fx file\n",
           mode, pk, st, pk - st, (pk - st) / mib, mib, pk / mib }'
done
