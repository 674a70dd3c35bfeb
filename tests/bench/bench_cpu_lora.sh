#!/usr/bin/env bash
# CPU training benchmark: our real trainer (peft-studio-cli bench-train) against the PyTorch
# eager peer (../shared/bench/peer_cpu_lora_gpt2.py), GPT-2 124M shape, LoRA r=16 on c_attn.
# Runs ours and the peer alternately (PAIRS pairs per precision and thread count) so background
# load hits both, then prints medians, the ratio and peak RSS, with the load average before each
# pair. Usage:
#   tests/bench/bench_cpu_lora.sh [BUILD_DIR] [PAIRS] [PRECISIONS]   (defaults: build 3 "bf16 fp32")
# THREADS="1 all" (default) runs both sides at each listed intra-op thread count; "all" is the
# count peft-studio-cli picks by itself (every usable physical core: `peft-studio-cli info`).
# Both sides get --threads N and OPENBLAS_NUM_THREADS=N, so neither uses more cores than the other.
# Efficiency: before each pair the script times the step's matrix products (the GPT-2 layer shapes
# and the LM head, M = batch x seq rows) in the run's precision at the same thread count, with
# LibTorch's own torch.mm (Python torch, the same Debian LibTorch 1.13), and reports
#   efficiency = tokens/s x FLOP per token / the products' FLOP/s,
# FLOP per token = 4 x (the frozen linears' and head's multiply-adds: forward + input gradient)
# + 12 T C per layer (attention scores and values, forward + backward) + 6 r (in+out) per LoRA.
# Debian's python3-torch provides the peer's and the products' torch (apt-get install python3-torch).
# PEER_OPENBLAS_CORETYPE=SkylakeX gives the peer the OpenBLAS kernels that peft-studio-cli selects
# itself on CPUs Debian's OpenBLAS 0.3.21 does not recognise (core/util/blas_tune.h).
# Per-pair ratios are printed too: this shared host's matrix-product speed flips between a fast
# and a slow state within seconds (a probe product timed just before a run did not predict the
# run's state, session 5), so the median over several pairs is the figure to quote.
# MODE=ranks compares parallelism on the same global batch (2 x BATCH rows per step, ours only):
# 1 rank x 1 thread, 1 rank x 2 threads, and 2 data-parallel ranks (Gloo) x 1 thread with BATCH
# rows each, started with torchrun's variables; target: 2 ranks >= 1.7x 1 rank x 1 thread.
# Both modes end with a Markdown table for tests/bench/RESULTS.md (medians, ratios, the CPU and
# the load average before and after): numbers taken on a loaded machine are not valid figures.
# A quick check that the script works: STEPS=1 WARMUP=0 SEQ=16 tests/bench/bench_cpu_lora.sh build 1 fp32
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
bench_env "${1:-}" /tmp/peft-bench-gpt2
PAIRS="${2:-3}"
PRECISIONS="${3:-bf16 fp32}"
PEER="${PEER:-$ROOT/../shared/bench/peer_cpu_lora_gpt2.py}"
PY="${PY:-/usr/bin/python3}"
BATCH="${BATCH:-2}" SEQ="${SEQ:-128}" STEPS="${STEPS:-5}" WARMUP="${WARMUP:-2}"
THREADS="${THREADS:-1 all}"
MODE="${MODE:-peer}"
case "$MODE" in peer|ranks) ;; *) echo "MODE must be peer or ranks, not '$MODE'" >&2; exit 2 ;; esac
COMMAND="MODE=$MODE THREADS=\"$THREADS\" BATCH=$BATCH SEQ=$SEQ STEPS=$STEPS WARMUP=$WARMUP tests/bench/bench_cpu_lora.sh $BUILD $PAIRS \"$PRECISIONS\""
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
TABLE=()
PEER_OPENBLAS_CORETYPE="${PEER_OPENBLAS_CORETYPE:-}"
[ -f "$PEER" ] || { echo "no peer script at $PEER (set PEER=)" >&2; exit 2; }
"$PY" -c "import torch" 2>/dev/null || { echo "$PY has no torch: apt-get install -y python3-torch" >&2; exit 2; }

if [ ! -f "$WORK/model/model.safetensors" ]; then
  cat > "$WORK/config.json" <<'JSON'
{"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_layer": 12, "n_embd": 768, "n_head": 12,
 "vocab_size": 50257, "n_positions": 1024, "n_ctx": 1024, "n_inner": null, "activation_function": "gelu_new",
 "layer_norm_epsilon": 1e-05, "initializer_range": 0.02, "tie_word_embeddings": true,
 "bos_token_id": 50256, "eos_token_id": 50256}
JSON
  "$CLI" init-model --config "$WORK/config.json" --out "$WORK/model" --seed 0 >&2
fi

all_threads=$("$CLI" info 2>/dev/null | sed -n 's/^threads: *\([0-9]*\).*/\1/p')
[ -n "$all_threads" ] || all_threads=$(nproc)
echo "# $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, all cores = $all_threads threads ($("$CLI" info 2>/dev/null | sed -n 's/^threads: *//p')); $("$CLI" --version 2>/dev/null | head -1)"
peer_env=(); [ -n "$PEER_OPENBLAS_CORETYPE" ] && peer_env=(env "OPENBLAS_CORETYPE=$PEER_OPENBLAS_CORETYPE")
peer_core=$("${peer_env[@]}" "$PY" -c "import ctypes, torch
try:
    l = ctypes.CDLL('libopenblas.so.0'); l.openblas_get_corename.restype = ctypes.c_char_p
    print('OpenBLAS ' + l.openblas_get_corename().decode(), end='')
except OSError: print('no OpenBLAS', end='')
print(', torch', torch.__version__)" 2>/dev/null || echo unknown)
echo "# peer: $PY $PEER ($peer_core)"
echo "# batch $BATCH x seq $SEQ, $STEPS timed steps after $WARMUP warm-up, $PAIRS alternating pairs, threads: $THREADS"
field() { sed -n "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/p"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# GPT-2 124M shape: 12 layers, C 768, vocab 50257, LoRA r 16 on c_attn (768 -> 2304).
FLOP_PER_TOKEN=$(awk -v T="$SEQ" 'BEGIN { L = 12; C = 768; V = 50257; r = 16
  lin = L * (C * 3 * C + C * C + C * 4 * C + 4 * C * C) + C * V
  printf "%.0f", 4 * lin + L * 12 * T * C + L * 6 * r * (C + 3 * C) }')
echo "# FLOP per token: $FLOP_PER_TOKEN"
# The step's products at N threads: prints their FLOP/s (best of 3 rounds of every shape).
products() {  # products THREADS PRECISION
  OPENBLAS_NUM_THREADS="$1" "${peer_env[@]}" "$PY" - "$1" "$2" "$((BATCH * SEQ))" <<'PY'
import sys, time, torch
n, prec, M = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
torch.set_num_threads(n)
dt = torch.bfloat16 if prec == "bf16" else torch.float32
C, V = 768, 50257
shapes = [(C, 3 * C), (C, C), (C, 4 * C), (4 * C, C), (C, V)]
xs = [(torch.randn(M, k).to(dt), torch.randn(k, m).to(dt)) for k, m in shapes]
flop = sum(2.0 * M * k * m for k, m in shapes)
for a, b in xs: torch.mm(a, b)
best = float("inf")
for _ in range(3):
    t = time.perf_counter()
    for a, b in xs: torch.mm(a, b)
    best = min(best, time.perf_counter() - t)
print("%.4g" % (flop / best))
PY
}
ours_run() {  # ours_run THREADS BATCH: one bench-train JSON line
  OPENBLAS_NUM_THREADS="$1" "$CLI" bench-train --threads "$1" --model "$WORK/model" --precision "$prec" --batch "$2" --seq "$SEQ" \
    --steps "$STEPS" --warmup "$WARMUP" --device cpu --r 16 --alpha 32 --targets c_attn --fan-in-fan-out 2>/dev/null | tail -1
}
two_ranks() {  # 2 ranks x 1 thread, BATCH rows each: rank 0's JSON line (tokens/s over both ranks)
  local port; port=$("$PY" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  local pids=()
  for r in 0 1; do
    RANK=$r LOCAL_RANK=$r WORLD_SIZE=2 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port OPENBLAS_NUM_THREADS=1 \
      "$CLI" bench-train --threads 1 --model "$WORK/model" --precision "$prec" --batch "$BATCH" --seq "$SEQ" --steps "$STEPS" \
      --warmup "$WARMUP" --device cpu --r 16 --alpha 32 --targets c_attn --fan-in-fan-out > "$WORK/rank$r.out" 2> "$WORK/rank$r.err" &
    pids+=($!)
  done
  local rc=0
  for p in "${pids[@]}"; do wait "$p" || rc=$?; done
  [ "$rc" = 0 ] || { echo "2 ranks failed ($rc): $(tail -3 "$WORK/rank0.err" "$WORK/rank1.err")" >&2; return 1; }
  tail -1 "$WORK/rank0.out"
}
print_table() {
  echo
  echo "### bench_cpu_lora.sh, $MODE mode ($(date -u +%Y-%m-%d))"
  echo
  echo "Command: \`$COMMAND\`"
  echo "CPU: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) CPUs; all cores = $all_threads threads). Load average (1/5/15 min) before: $LOAD_START; after: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Batch $BATCH x seq $SEQ, $STEPS timed steps after $WARMUP warm-up, median of $PAIRS runs; GPT-2 124M shape, LoRA r16 on c_attn."
  echo
  printf '%s\n' "${TABLE[@]}"
}
if [ "$MODE" = ranks ]; then
  TABLE+=("| precision | setting | global batch | tokens/s (median) | runs | vs 1 rank x 1 thread | products GFLOP/s (1 thread) | efficiency |"
          "|---|---|---|---|---|---|---|---|")
  for prec in $PRECISIONS; do
    one=(); two_thr=(); ranks2=(); prods=()
    for i in $(seq "$PAIRS"); do
      echo "round $i $prec: load average $(cut -d' ' -f1-3 /proc/loadavg)"
      prods+=("$(products 1 "$prec")")
      o=$(ours_run 1 $((2 * BATCH))); one+=("$(echo "$o" | field tokens_per_s)")
      o=$(ours_run 2 $((2 * BATCH))); two_thr+=("$(echo "$o" | field tokens_per_s)")
      o=$(two_ranks); ranks2+=("$(echo "$o" | field tokens_per_s)")
      echo "round $i $prec: 1x1 ${one[-1]}, 1x2 threads ${two_thr[-1]}, 2 ranks x 1 ${ranks2[-1]} tok/s; products ${prods[-1]} FLOP/s"
    done
    fm=$(printf '%s\n' "${prods[@]}" | median)
    base=$(printf '%s\n' "${one[@]}" | median)
    for setting in "1 rank x 1 thread:one" "1 rank x 2 threads:two_thr" "2 ranks x 1 thread:ranks2"; do
      name=${setting%%:*}; arr="${setting##*:}[@]"; vals=("${!arr}")
      m=$(printf '%s\n' "${vals[@]}" | median)
      # One thread's products bound one rank; two ranks or two threads have twice that to use.
      cores=1; [ "$name" != "1 rank x 1 thread" ] && cores=2
      TABLE+=("$(awk -v p="$prec" -v n="$name" -v gb=$((2 * BATCH)) -v m="$m" -v runs="$(printf '%.1f ' "${vals[@]}")" -v b="$base" -v f="$fm" -v c="$cores" -v fpt="$FLOP_PER_TOKEN" \
        'BEGIN { printf "| %s | %s | %d x %d | %.1f | %s | %.2fx | %.1f | %.0f%% |", p, n, gb, '"$SEQ"', m, runs, m / b, f / 1e9, 100 * m * fpt / (c * f) }')")
    done
  done
  print_table
  exit 0
fi
TABLE+=("| precision | threads | ours tok/s | peer tok/s | ours / peer (median of pair ratios) | products GFLOP/s | efficiency ours | efficiency peer | peak RSS ours / peer MiB |"
        "|---|---|---|---|---|---|---|---|---|")
for thr in $THREADS; do
  [ "$thr" = all ] && thr=$all_threads
  for prec in $PRECISIONS; do
    ours=(); peer=(); ours_rss=(); peer_rss=(); ratios=(); prods=()
    peerflag=""; [ "$prec" = bf16 ] && peerflag="--bf16"
    for i in $(seq "$PAIRS"); do
      echo "pair $i $prec x $thr threads: load average $(cut -d' ' -f1-3 /proc/loadavg)"
      prods+=("$(products "$thr" "$prec")")
      o=$(OPENBLAS_NUM_THREADS="$thr" "$CLI" bench-train --threads "$thr" --model "$WORK/model" --precision "$prec" --batch "$BATCH" --seq "$SEQ" \
          --steps "$STEPS" --warmup "$WARMUP" --device cpu --r 16 --alpha 32 --targets c_attn --fan-in-fan-out 2>/dev/null | tail -1)
      p=$(OPENBLAS_NUM_THREADS="$thr" "${peer_env[@]}" "$PY" "$PEER" $peerflag --threads "$thr" --batch "$BATCH" --seq "$SEQ" --steps "$STEPS" --warmup "$WARMUP" | tail -1)
      echo "products $prec x $thr: ${prods[-1]} FLOP/s"
      echo "ours $prec: $o"
      echo "peer $prec: $p"
      ours+=("$(echo "$o" | field tokens_per_s)"); peer+=("$(echo "$p" | field tokens_per_s)")
      ours_rss+=("$(echo "$o" | field peak_rss_mib)"); peer_rss+=("$(echo "$p" | field peak_rss_mib)")
      r=$(awk -v a="${ours[-1]}" -v b="${peer[-1]}" 'BEGIN {printf "%.2f", a / b}'); ratios+=("$r")
      echo "pair $i $prec x $thr: ours ${ours[-1]} / peer ${peer[-1]} = ${r}x"
    done
    echo "pair ratios $prec x $thr: ${ratios[*]} (median $(printf '%s\n' "${ratios[@]}" | median)x)"
    om=$(printf '%s\n' "${ours[@]}" | median); pm=$(printf '%s\n' "${peer[@]}" | median)
    orss=$(printf '%s\n' "${ours_rss[@]}" | median); prss=$(printf '%s\n' "${peer_rss[@]}" | median)
    fm=$(printf '%s\n' "${prods[@]}" | median)
    awk -v p="$prec" -v n="$thr" -v om="$om" -v pm="$pm" -v orss="$orss" -v prss="$prss" -v f="$fm" -v fpt="$FLOP_PER_TOKEN" 'BEGIN {
      printf "RESULT %s x %d threads: ours %.1f tok/s, peer %.1f tok/s, ratio %.2fx; products %.1f GFLOP/s, efficiency ours %.0f%%, peer %.0f%%; peak RSS ours %.0f MiB, peer %.0f MiB (%.2fx)\n",
             p, n, om, pm, om / pm, f / 1e9, 100 * om * fpt / f, 100 * pm * fpt / f, orss, prss, orss / prss }'
    rm=$(printf '%s\n' "${ratios[@]}" | median)
    TABLE+=("$(awk -v p="$prec" -v n="$thr" -v om="$om" -v pm="$pm" -v rm="$rm" -v f="$fm" -v fpt="$FLOP_PER_TOKEN" -v orss="$orss" -v prss="$prss" \
      'BEGIN { printf "| %s | %d | %.1f | %.1f | %.2fx (%.2fx) | %.1f | %.0f%% | %.0f%% | %.0f / %.0f |", p, n, om, pm, om / pm, rm, f / 1e9, 100 * om * fpt / f, 100 * pm * fpt / f, orss, prss }')")
  done
done
print_table
