#!/usr/bin/env bash
# Peak RSS and wall time of `export-gguf` against the GGUF's size, per tensor type, on a random
# Llama-shaped model (hidden 768, 6 layers, vocab 32000, fp32: ~370 MB) made with init-model.
# Usage: tests/bench/bench_gguf_export.sh [BUILD_DIR] [WORK_DIR]
set -euo pipefail
BUILD=${1:-build}
WORK=${2:-$(mktemp -d)}
CLI="$BUILD/app/peft-studio-cli"
FIX=${PEFT_FIXTURES:-../shared/fixtures}
mkdir -p "$WORK"
cat > "$WORK/config.json" <<'JSON'
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 768, "intermediate_size": 2048,
 "num_hidden_layers": 6, "num_attention_heads": 12, "num_key_value_heads": 12, "vocab_size": 32000,
 "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": false,
 "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
JSON
[ -f "$WORK/model/model.safetensors" ] || "$CLI" init-model --config "$WORK/config.json" --out "$WORK/model" \
    --tokenizer "$FIX/tiny-llama/base" --seed 1 >/dev/null
echo "model.safetensors: $(stat -c %s "$WORK/model/model.safetensors") bytes"
echo "| type | GGUF bytes | peak RSS (KiB) | RSS / GGUF | wall s |"
echo "| --- | ---: | ---: | ---: | ---: |"
for t in f32 f16 bf16 q8_0; do
    /usr/bin/time -f "%M %e" -o "$WORK/time.txt" "$CLI" export-gguf --model "$WORK/model" --out "$WORK/m-$t.gguf" \
        --type "$t" --quiet >/dev/null
    read -r rss wall < "$WORK/time.txt"
    bytes=$(stat -c %s "$WORK/m-$t.gguf")
    echo "| $t | $bytes | $rss | $(awk -v r="$rss" -v b="$bytes" 'BEGIN{printf "%.2f", r*1024/b}') | $wall |"
    rm -f "$WORK/m-$t.gguf"
done
# The process alone: LibTorch and the CLI loaded, no model.
/usr/bin/time -f "%M" -o "$WORK/time.txt" "$CLI" --version >/dev/null
echo "baseline (peft-studio-cli --version): $(cat "$WORK/time.txt") KiB"
