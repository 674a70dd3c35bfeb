#!/usr/bin/env bash
# Memory estimate vs reality (issue 6): trains tiny and ~125M-parameter models on CPU for a few
# steps with the real trainer (`peft-studio-cli bench-train --peft-config`, the Trainer that
# `train` runs) under every method, in fp32 and bf16, and compares the peak resident memory with
# `peft-studio-cli estimate --json` for the same model, method, batch, sequence length and
# precision.
#
# What is compared: estimate `memory_bytes.total` (weights + optimizer state + step peak)
# against peak RSS (VmHWM, getrusage ru_maxrss) MINUS the process baseline `rss_start`, the RSS
# of the same process before it loaded anything (LibTorch, BLAS, the C++ runtime). The baseline
# is measured in each run. Weights are memory-mapped and count in RSS once touched.
# A second, allocator-independent figure: `live` = the peak of live CPU tensor bytes (counted by
# a wrapper around LibTorch's CPU allocator, `bench-train --count-tensors`) + the memory-mapped
# checkpoint when the run keeps the file's dtype (the models here are written in fp32, so fp32
# runs map the file and bf16 runs convert it into counted tensors).
#
# Usage: tests/bench/bench_memory_estimate.sh [BUILD_DIR] [MODELS] [PRECISIONS] [METHODS]
#   defaults: build "tiny-llama tiny-gpt2 gpt2-124m smollm-135m" "fp32 bf16"
#   (also: tiny-qwen3 tiny-gemma3 tiny-phi3)
#             "lora dora ia3 prompt prefix bottleneck bitfit full"
# Env: STEPS (2), ALLOC (glibc malloc environment for the trained process, e.g.
#      ALLOC="MALLOC_MMAP_THRESHOLD_=131072"), WORK (/tmp/peft-membench), OUT (table file, TSV).
set -euo pipefail
source "$(dirname "$0")/bench_env.sh"
bench_env "${1:-}" /tmp/peft-membench
MODELS="${2:-tiny-llama tiny-gpt2 gpt2-124m smollm-135m}"
PRECISIONS="${3:-fp32 bf16}"
METHODS="${4:-lora dora ia3 prompt prefix bottleneck bitfit full}"
STEPS="${STEPS:-2}"
ALLOC="${ALLOC:-}"
OUT="${OUT:-$WORK/results.tsv}"

# Model configs: two tiny ones (~4M parameters), GPT-2 124M, and a Llama of SmolLM-135M's shape
# (30 layers, GQA 9/3 heads, tied 49k vocabulary). Batch x sequence per model.
write_config() {
  case "$1" in
    tiny-llama) echo '{"model_type":"llama","architectures":["LlamaForCausalLM"],"hidden_size":256,"intermediate_size":704,
      "num_hidden_layers":4,"num_attention_heads":8,"num_key_value_heads":4,"vocab_size":2000,"max_position_embeddings":2048,
      "rms_norm_eps":1e-6,"rope_theta":10000.0,"tie_word_embeddings":false,"hidden_act":"silu","initializer_range":0.02}' ;;
    tiny-gpt2) echo '{"model_type":"gpt2","architectures":["GPT2LMHeadModel"],"n_layer":4,"n_embd":256,"n_head":8,
      "vocab_size":2000,"n_positions":1024,"n_inner":null,"activation_function":"gelu_new","layer_norm_epsilon":1e-5,
      "initializer_range":0.02,"tie_word_embeddings":true}' ;;
    gpt2-124m) echo '{"model_type":"gpt2","architectures":["GPT2LMHeadModel"],"n_layer":12,"n_embd":768,"n_head":12,
      "vocab_size":50257,"n_positions":1024,"n_inner":null,"activation_function":"gelu_new","layer_norm_epsilon":1e-5,
      "initializer_range":0.02,"tie_word_embeddings":true}' ;;
    smollm-135m) echo '{"model_type":"llama","architectures":["LlamaForCausalLM"],"hidden_size":576,"intermediate_size":1536,
      "num_hidden_layers":30,"num_attention_heads":9,"num_key_value_heads":3,"vocab_size":49152,"max_position_embeddings":2048,
      "rms_norm_eps":1e-5,"rope_theta":10000.0,"tie_word_embeddings":true,"hidden_act":"silu","initializer_range":0.02}' ;;
    # Issue 24's families at tiny-llama's size: Qwen3 (head_dim 64 with 4 heads over hidden 256,
    # q/k norms), Gemma 3 (post-norms, gelu-tanh, 5 sliding layers of 6 with a window of 64),
    # Phi-3 (fused qkv/gate_up, partial rotary 0.75).
    tiny-qwen3) echo '{"model_type":"qwen3","architectures":["Qwen3ForCausalLM"],"hidden_size":256,"intermediate_size":704,
      "num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":64,"vocab_size":2000,
      "max_position_embeddings":2048,"rms_norm_eps":1e-6,"rope_theta":1000000.0,"tie_word_embeddings":true,"hidden_act":"silu"}' ;;
    tiny-gemma3) echo '{"model_type":"gemma3_text","architectures":["Gemma3ForCausalLM"],"hidden_size":256,"intermediate_size":704,
      "num_hidden_layers":6,"num_attention_heads":4,"num_key_value_heads":1,"head_dim":64,"vocab_size":2000,
      "max_position_embeddings":2048,"rms_norm_eps":1e-6,"rope_theta":1000000.0,"rope_local_base_freq":10000.0,
      "query_pre_attn_scalar":64,"sliding_window":64,"sliding_window_pattern":6,"hidden_activation":"gelu_pytorch_tanh",
      "tie_word_embeddings":true}' ;;
    tiny-phi3) echo '{"model_type":"phi3","architectures":["Phi3ForCausalLM"],"hidden_size":256,"intermediate_size":704,
      "num_hidden_layers":4,"num_attention_heads":8,"num_key_value_heads":4,"vocab_size":2000,"max_position_embeddings":2048,
      "rms_norm_eps":1e-5,"rope_theta":10000.0,"partial_rotary_factor":0.75,"tie_word_embeddings":false,"hidden_act":"silu"}' ;;
    *) echo "unknown model $1" >&2; exit 2 ;;
  esac
}
shape_of() { case "$1" in tiny-*) echo "4 256" ;; *) echo "2 256" ;; esac; }

# adapter_config.json per method and family.
method_config() {
  local m="$1" fam="$2" attn ff ia3t
  if [ "$fam" = gpt2 ]; then attn='["c_attn"],"fan_in_fan_out":true'; ia3t='["c_attn","mlp.c_proj"]'; ff='["mlp.c_proj"]'
  elif [ "$fam" = phi3 ]; then attn='["qkv_proj"]'; ia3t='["qkv_proj","down_proj"]'; ff='["down_proj"]'
  else attn='["q_proj","v_proj"]'; ia3t='["k_proj","v_proj","down_proj"]'; ff='["down_proj"]'; fi
  case "$m" in
    lora) echo "{\"peft_type\":\"LORA\",\"task_type\":\"CAUSAL_LM\",\"r\":16,\"lora_alpha\":32,\"lora_dropout\":0.0,\"target_modules\":$attn}" ;;
    dora) echo "{\"peft_type\":\"LORA\",\"task_type\":\"CAUSAL_LM\",\"r\":16,\"lora_alpha\":32,\"lora_dropout\":0.0,\"use_dora\":true,\"target_modules\":$attn}" ;;
    ia3) echo "{\"peft_type\":\"IA3\",\"task_type\":\"CAUSAL_LM\",\"target_modules\":$ia3t,\"feedforward_modules\":$ff}" ;;
    prompt) echo '{"peft_type":"PROMPT_TUNING","task_type":"CAUSAL_LM","num_virtual_tokens":16}' ;;
    prefix) echo '{"peft_type":"PREFIX_TUNING","task_type":"CAUSAL_LM","num_virtual_tokens":16}' ;;
    bottleneck) echo '{"peft_type":"BOTTLENECK_ADAPTER","architecture":"houlsby","reduction_factor":16}' ;;
    bitfit) echo '{"peft_type":"BITFIT","train_norms":true}' ;;
    full) echo '{"peft_type":"FULL"}' ;;
    *) echo "unknown method $m" >&2; exit 2 ;;
  esac
}

echo "# $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $("$CLI" --version 2>/dev/null | head -1)"
echo "# $STEPS steps, AdamW; allocator env: ${ALLOC:-glibc defaults}"
printf 'model\tmethod\tprecision\tbatch\tseq\testimate_mib\test_weights_mib\test_optimizer_mib\test_step_peak_mib\trss_start_mib\trss_setup_mib\tpeak_rss_mib\tmeasured_mib\tratio\ttensor_peak_mib\tlive_mib\tlive_ratio\tstep_s\n' | tee "$OUT"
for model in $MODELS; do
  dir="$WORK/$model"
  if [ ! -f "$dir/model.safetensors" ]; then
    write_config "$model" > "$WORK/$model.config.json"
    "$CLI" init-model --config "$WORK/$model.config.json" --out "$dir" --seed 0 >&2
  fi
  fam=llama; grep -q '"gpt2"' "$dir/config.json" && fam=gpt2; grep -q '"phi3"' "$dir/config.json" && fam=phi3
  read -r B T <<<"$(shape_of "$model")"
  for prec in $PRECISIONS; do
    for m in $METHODS; do
      cfg="$WORK/$model.$m.json"
      method_config "$m" "$fam" > "$cfg"
      est=$("$CLI" estimate --model "$dir" --peft-config "$cfg" --batch-size "$B" --seq-len "$T" --precision "$prec" --json)
      run=$(env $ALLOC "$CLI" bench-train --model "$dir" --peft-config "$cfg" --precision "$prec" --batch "$B" --seq "$T" \
            --steps "$STEPS" --warmup 0 --device cpu --work-dir "$WORK/run" --count-tensors 2>/dev/null | tail -1)
      rm -rf "$WORK/run"
      mapped=0; [ "$prec" = fp32 ] && mapped=$(stat -c %s "$dir/model.safetensors")
      python3 - "$model" "$m" "$prec" "$B" "$T" "$est" "$run" "$mapped" <<'PY' | tee -a "$OUT"
import json, sys
model, m, prec, B, T, est, run, mapped = sys.argv[1:]
e = json.loads(est)[0]["memory_bytes"]; r = json.loads(run)
M = 1024.0 * 1024.0
measured = r["peak_rss_mib"] - r["rss_start_mib"]
live = r["tensor_peak_mib"] + int(mapped) / M
est_mib = e["total"] / M
print("\t".join([model, m, prec, B, T] + ["%.1f" % v for v in (
    est_mib, e["weights"] / M, e["optimizer_state"] / M, e["step_peak"] / M,
    r["rss_start_mib"], r["rss_after_setup_mib"], r["peak_rss_mib"], measured)] +
    ["%.2f" % (measured / est_mib), "%.1f" % r["tensor_peak_mib"], "%.1f" % live, "%.2f" % (live / est_mib),
     "%.2f" % r["step_s"]]))
PY
    done
  done
done

# The table for RESULTS.md (MiB; ratios are measured / estimate).
python3 - "$OUT" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
print("\n| model | method | precision | B x T | estimate | live (tensors + mapped) | live / est | peak RSS - start | RSS / est |")
print("| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
for r in rows:
    print("| %s | %s | %s | %sx%s | %s | %s | %s | %s | %s |" % (r["model"], r["method"], r["precision"], r["batch"], r["seq"],
          r["estimate_mib"], r["live_mib"], r["live_ratio"], r["measured_mib"], r["ratio"]))
PY
