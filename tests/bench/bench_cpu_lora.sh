#!/usr/bin/env bash
# CPU training benchmark: our real trainer (peft-studio-cli bench-train) against the PyTorch
# eager peer (../shared/bench/peer_cpu_lora_gpt2.py), GPT-2 124M shape, LoRA r=16 on c_attn.
# Runs ours and the peer alternately (PAIRS pairs per precision) so background load hits both,
# then prints medians, the ratio and peak RSS, with the load average before each pair. Usage:
#   tests/bench/bench_cpu_lora.sh [BUILD_DIR] [PAIRS] [PRECISIONS]   (defaults: build 3 "bf16 fp32")
# PEER_OPENBLAS_CORETYPE=SkylakeX gives the peer the OpenBLAS kernels that peft-studio-cli selects
# itself on CPUs Debian's OpenBLAS 0.3.21 does not recognise (core/util/blas_tune.h); both sides
# run LibTorch's default intra-op threads (1 here) unless THREADS=N is set for both.
# Per-pair ratios are printed too: this shared host's matrix-product speed flips between a fast
# and a slow state within seconds (a probe product timed just before a run did not predict the
# run's state, session 5), so the median over several pairs is the figure to quote.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${1:-$ROOT/build}"
PAIRS="${2:-3}"
PRECISIONS="${3:-bf16 fp32}"
CLI="$BUILD/app/peft-studio-cli"
PEER="${PEER:-$ROOT/../shared/bench/peer_cpu_lora_gpt2.py}"
PY="${PY:-/usr/bin/python3}"
BATCH="${BATCH:-2}" SEQ="${SEQ:-128}" STEPS="${STEPS:-5}" WARMUP="${WARMUP:-2}"
WORK="${WORK:-/tmp/peft-bench-gpt2}"
THREADS="${THREADS:-}"
PEER_OPENBLAS_CORETYPE="${PEER_OPENBLAS_CORETYPE:-}"
[ -x "$CLI" ] || { echo "no $CLI: build peft-studio-cli first" >&2; exit 2; }
[ -f "$PEER" ] || { echo "no peer script at $PEER (set PEER=)" >&2; exit 2; }
"$PY" -c "import torch" 2>/dev/null || { echo "$PY has no torch: apt-get install -y python3-torch" >&2; exit 2; }

mkdir -p "$WORK"
if [ ! -f "$WORK/model/model.safetensors" ]; then
  cat > "$WORK/config.json" <<'JSON'
{"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_layer": 12, "n_embd": 768, "n_head": 12,
 "vocab_size": 50257, "n_positions": 1024, "n_ctx": 1024, "n_inner": null, "activation_function": "gelu_new",
 "layer_norm_epsilon": 1e-05, "initializer_range": 0.02, "tie_word_embeddings": true,
 "bos_token_id": 50256, "eos_token_id": 50256}
JSON
  "$CLI" init-model --config "$WORK/config.json" --out "$WORK/model" --seed 0 >&2
fi

echo "# $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $("$CLI" --version 2>/dev/null | head -1)"
peer_env=(); [ -n "$PEER_OPENBLAS_CORETYPE" ] && peer_env=(env "OPENBLAS_CORETYPE=$PEER_OPENBLAS_CORETYPE")
ours_thr=(); peer_thr=(); [ -n "$THREADS" ] && { ours_thr=(--threads "$THREADS"); peer_thr=(--threads "$THREADS"); }
peer_core=$("${peer_env[@]}" "$PY" -c "import ctypes, torch
try:
    l = ctypes.CDLL('libopenblas.so.0'); l.openblas_get_corename.restype = ctypes.c_char_p
    print('OpenBLAS ' + l.openblas_get_corename().decode(), end='')
except OSError: print('no OpenBLAS', end='')
print(', torch', torch.__version__, 'threads', torch.get_num_threads() if not '$THREADS' else '$THREADS')" 2>/dev/null || echo unknown)
echo "# peer: $PY $PEER ($peer_core)"
echo "# batch $BATCH x seq $SEQ, $STEPS timed steps after $WARMUP warm-up, $PAIRS alternating pairs"
field() { sed -n "s/.*\"$1\": *\([0-9.e+-]*\).*/\1/p"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for prec in $PRECISIONS; do
  ours=(); peer=(); ours_rss=(); peer_rss=(); ratios=()
  peerflag=""; [ "$prec" = bf16 ] && peerflag="--bf16"
  for i in $(seq "$PAIRS"); do
    echo "pair $i $prec: load average $(cut -d' ' -f1-3 /proc/loadavg)"
    o=$("$CLI" bench-train "${ours_thr[@]}" --model "$WORK/model" --precision "$prec" --batch "$BATCH" --seq "$SEQ" \
        --steps "$STEPS" --warmup "$WARMUP" --device cpu --r 16 --alpha 32 --targets c_attn --fan-in-fan-out 2>/dev/null | tail -1)
    p=$("${peer_env[@]}" "$PY" "$PEER" $peerflag "${peer_thr[@]}" --batch "$BATCH" --seq "$SEQ" --steps "$STEPS" --warmup "$WARMUP" | tail -1)
    echo "ours $prec: $o"
    echo "peer $prec: $p"
    ours+=("$(echo "$o" | field tokens_per_s)"); peer+=("$(echo "$p" | field tokens_per_s)")
    ours_rss+=("$(echo "$o" | field peak_rss_mib)"); peer_rss+=("$(echo "$p" | field peak_rss_mib)")
    r=$(awk -v a="${ours[-1]}" -v b="${peer[-1]}" 'BEGIN {printf "%.2f", a / b}'); ratios+=("$r")
    echo "pair $i $prec: ours ${ours[-1]} / peer ${peer[-1]} = ${r}x"
  done
  echo "pair ratios $prec: ${ratios[*]} (median $(printf '%s\n' "${ratios[@]}" | median)x)"
  om=$(printf '%s\n' "${ours[@]}" | median); pm=$(printf '%s\n' "${peer[@]}" | median)
  orss=$(printf '%s\n' "${ours_rss[@]}" | median); prss=$(printf '%s\n' "${peer_rss[@]}" | median)
  awk -v p="$prec" -v om="$om" -v pm="$pm" -v orss="$orss" -v prss="$prss" 'BEGIN {
    printf "RESULT %s: ours %.1f tok/s, peer %.1f tok/s, ratio %.2fx; peak RSS ours %.0f MiB, peer %.0f MiB (%.2fx)\n",
           p, om, pm, om / pm, orss, prss, orss / prss }'
done
