#!/usr/bin/env bash
# GPU benchmark for a CUDA machine with a Python torch (+ transformers, peft): builds
# peft-studio-cli against that torch, then runs our trainer (bench-train) and the
# transformers+peft peer (peer_gpu_lora.py) one after the other on the same GPU:
# GPT-2 124M LoRA r=16 c_attn 8x512 and TinyLlama-1.1B LoRA r=16 q,v 4x1024, bf16.
# Usage: SRC=<checkout> DEPS=<unpacked -dev packages root, optional> OUT=<dir> [PAIRS=1|2] gpu_bench.sh
set -u
SRC="${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
OUT="${OUT:-/tmp/gpu-bench}"
DEPS="${DEPS:-}"
B=/tmp/peft-gpu-build W=/tmp/peft-gpu-work
STEPS="${STEPS:-15}" WARMUP="${WARMUP:-3}"
mkdir -p "$OUT" "$W"
log() { echo "== $(date +%T) $*" | tee -a "$OUT/results.txt"; }
log "env"
{ nvidia-smi -L; nproc; python3 -c "import torch, transformers, peft; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'transformers', transformers.__version__, 'peft', peft.__version__)"; } 2>&1 | tee -a "$OUT/results.txt"
TP=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
log "configure"
cmake -S "$SRC" -B "$B" -G Ninja -DPEFT_STUDIO_GUI=OFF -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=Release \
  ${DEPS:+-DPEFT_DEPS_ROOT=$DEPS} -DCMAKE_PREFIX_PATH="$TP" > "$OUT/build.log" 2>&1 || log "CONFIGURE FAILED"
log "build"
if ! ninja -C "$B" -j"$(nproc)" -k 0 peft-studio-cli >> "$OUT/build.log" 2>&1; then
  log "BUILD FAILED; retrying without CUDA memory statistics"
  cmake -DPEFT_CUDA_MEMORY_STATS=OFF "$B" >> "$OUT/build.log" 2>&1
  ninja -C "$B" -j"$(nproc)" -k 0 peft-studio-cli >> "$OUT/build.log" 2>&1 || log "BUILD FAILED AGAIN"
fi
grep -E "error|Error" "$OUT/build.log" | head -60 > "$OUT/build_errors.txt"
CLI="$B/app/peft-studio-cli"
log "built: $(ls -la "$CLI" 2>&1)"

cat > "$W/gpt2.json" <<'JSON'
{"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_layer": 12, "n_embd": 768, "n_head": 12,
 "vocab_size": 50257, "n_positions": 1024, "n_ctx": 1024, "activation_function": "gelu_new",
 "layer_norm_epsilon": 1e-05, "initializer_range": 0.02, "tie_word_embeddings": true}
JSON
cat > "$W/tinyllama.json" <<'JSON'
{"model_type": "llama", "architectures": ["LlamaForCausalLM"], "num_hidden_layers": 22, "hidden_size": 2048,
 "intermediate_size": 5632, "num_attention_heads": 32, "num_key_value_heads": 4, "vocab_size": 32000,
 "max_position_embeddings": 2048, "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "hidden_act": "silu",
 "tie_word_embeddings": false, "initializer_range": 0.02, "bos_token_id": 1, "eos_token_id": 2}
JSON
ours() {  # name model batch seq targets [extra]
  log "ours $1"
  timeout 150 "$CLI" bench-train --model "$W/$2" --device cuda --precision bf16 --batch "$3" --seq "$4" \
    --steps "$STEPS" --warmup "$WARMUP" --r 16 --alpha 32 --targets "$5" ${6:-} 2>>"$OUT/ours_stderr.txt" | tail -1 | tee -a "$OUT/results.txt"
}
peer() {  # model batch seq [extra]
  log "peer $1 ${4:-}"
  PYTHONUNBUFFERED=1 timeout 150 python3 "$SRC/tests/bench/peer_gpu_lora.py" --model "$1" --batch "$2" --seq "$3" \
    --steps "$STEPS" --warmup "$WARMUP" ${4:-} 2>>"$OUT/peer_stderr.txt" | tail -1 | tee -a "$OUT/results.txt"
}
if [ ! -x "$CLI" ]; then
  log "no peft-studio-cli: measuring the peer only"
  peer gpt2 8 512
  peer tinyllama 4 1024
  exit 1
fi
log "init models"
"$CLI" init-model --config "$W/gpt2.json" --out "$W/gpt2" --dtype bf16 >> "$OUT/ours_stderr.txt" 2>&1 || log "init gpt2 failed"
ours gpt2 gpt2 8 512 c_attn --fan-in-fan-out
peer gpt2 8 512
"$CLI" init-model --config "$W/tinyllama.json" --out "$W/tinyllama" --dtype bf16 >> "$OUT/ours_stderr.txt" 2>&1 || log "init tinyllama failed"
ours tinyllama tinyllama 4 1024 q_proj,v_proj
peer tinyllama 4 1024
# The peer with bf16 weights (no fp32 copy of the frozen base), then a second pair.
peer gpt2 8 512 --bf16-weights
peer tinyllama 4 1024 --bf16-weights
if [ "${PAIRS:-2}" -ge 2 ]; then
  ours gpt2 gpt2 8 512 c_attn --fan-in-fan-out
  peer gpt2 8 512
  ours tinyllama tinyllama 4 1024 q_proj,v_proj
  peer tinyllama 4 1024
fi
log "done"
