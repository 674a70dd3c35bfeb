#!/usr/bin/env bash
# Equal-budget LoRA on a tiny synthetic task: target modules suggested by `rank-modules`
# (uniform rank, and with --allocate-ranks) versus the default q_proj,v_proj. Prints eval losses.
# Usage: tests/bench/select_vs_qv.sh [CLI] [MODEL_DIR]   (env: STEPS, METHOD, R, LR, SEED, TARGETS)
# TARGETS is the default to compare with, a JSON list (GPT-2: '["c_attn"]').
set -euo pipefail
CLI=${1:-build/app/peft-studio-cli}
MODEL=$(realpath "${2:-../shared/fixtures/tiny-llama/base}")
STEPS=${STEPS:-150}
METHOD=${METHOD:-fisher}
R=${R:-8}
LR=${LR:-2e-3}
SEED=${SEED:-42}
TARGETS=${TARGETS:-'["q_proj", "v_proj"]'}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The task: 40 people, each with a favourite fruit and a home city, each fact written in three
# sentence templates; a quarter of the sentences (seeded split) are held out for evaluation.
awk 'BEGIN {
  split("Alice Bruno Chen Dana Emil Fatima Goran Hana Ivan Julia Kofi Lena Marco Nadia Omar Paula Quinn Rosa Sven Tara Umar Vera Wim Xena Yusuf Zoe Arlo Bea Cyril Dora Elio Fern Gus Hedda Igor Jana Kai Lotte Milo Nora", names, " ")
  split("apples pears plums grapes cherries lemons figs melons peaches dates", fruit, " ")
  split("Oslo Lima Pune Kyiv Graz Turku Quito Porto", city, " ")
  for (i = 1; i <= 40; i++) {
    f = fruit[(i * 7) % 10 + 1]; c = city[(i * 5) % 8 + 1]; n = names[i]
    printf("{\"text\": \"%s likes %s and lives in %s.\"}\n", n, f, c)
    printf("{\"text\": \"In %s lives %s, who likes %s.\"}\n", c, n, f)
    printf("{\"text\": \"%s from %s eats %s every day.\"}\n", n, c, f)
  }
}' > "$WORK/facts.jsonl"

cat > "$WORK/qv.json" <<JSON
{"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": $R, "lora_alpha": $((2 * R)), "lora_dropout": 0.0, "target_modules": $TARGETS}
JSON
BUDGET=$("$CLI" estimate --model "$MODEL" --peft-config "$WORK/qv.json" --json 2>/dev/null |
  python3 -c "import json, sys; print(json.load(sys.stdin)[0]['trainable_params'])")
echo "budget (LoRA r=$R on $TARGETS): $BUDGET trainable parameters"

"$CLI" rank-modules --model "$MODEL" --dataset "$WORK/facts.jsonl" --format text --max-length 48 --batches 8 \
  --batch-size 8 --method "$METHOD" --budget "$BUDGET" --r "$R" --device cpu --out "$WORK/suggested.json" 2>/dev/null \
  | sed -n '/^Selected/,$p'
"$CLI" rank-modules --model "$MODEL" --dataset "$WORK/facts.jsonl" --format text --max-length 48 --batches 8 \
  --batch-size 8 --method "$METHOD" --budget "$BUDGET" --r "$R" --allocate-ranks --device cpu \
  --out "$WORK/allocated.json" 2>/dev/null | sed -n '/^rank_pattern/p'

train() {  # name adapter_config.json
  python3 - "$1" "$2" <<PY
import json, sys
name, cfg = sys.argv[1], json.load(open(sys.argv[2]))
cfg.pop("base_model_name_or_path", None)
run = {"model": "$MODEL", "output_dir": "$WORK/run-" + name,
       "dataset": {"path": "$WORK/facts.jsonl", "format": "text", "max_length": 48, "validation_split": 0.25},
       "method": cfg,
       "training": {"max_steps": $STEPS, "batch_size": 8, "lr": $LR, "scheduler": "constant", "precision": "fp32",
                    "device": "cpu", "eval_every": $STEPS, "save_every": 100000, "seed": $SEED, "max_grad_norm": 1.0}}
json.dump(run, open("$WORK/run-" + name + ".json", "w"))
PY
  "$CLI" train --config "$WORK/run-$1.json" --quiet > /dev/null 2>&1
  python3 - "$WORK/run-$1/metrics.jsonl" "$1" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
ev = [r for r in rows if "eval_loss" in r]
print(f"{sys.argv[2]:>10}: train loss {rows[-1]['loss']:.4f}  eval loss {ev[-1]['eval_loss']:.4f} (step {ev[-1]['step']})")
PY
}
train qv "$WORK/qv.json"
train suggested "$WORK/suggested.json"
train allocated "$WORK/allocated.json"
