#!/usr/bin/env bash
# Rebuilds resources/demo: a tiny Llama pretrained from scratch, with the project's own trainer
# (FULL fine-tuning of a random init), on the King James Bible shipped by Debian's bible-kjv.
#
#   packaging/make_demo.sh [BUILD_DIR]        (default: build; needs app/peft-studio-cli built)
#
# Environment: DEMO_STEPS (pretraining optimizer steps, default 1200), DEMO_WORK (scratch folder,
# default build/demo-work), DEMO_NICE (niceness, default 5), DEMO_KEEP_BASE=1 (remake only the
# chat dataset and the held-out quiz, keep resources/demo/model), DEMO_SCORE=1 (afterwards train
# every shipped run config and score it on the held-out quiz with packaging/demo/score_demo.py).
# Deterministic for a given machine: seeds are fixed (BPE is deterministic; init and data order
# use seed 0).
#
# The held-out quiz (heldout.jsonl: "which book" questions, 20 verses of each of the 8 books) uses
# verses that no row of dataset.jsonl contains. Pretraining reads the whole Bible as plain text, held-out
# verses included: the quiz measures whether tuning taught the task beyond its own rows, as a
# benchmark does for a model that has read the web, not whether the base has never seen a verse.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
CLI="$BUILD/app/peft-studio-cli"
WORK="${DEMO_WORK:-$BUILD/demo-work}"
STEPS="${DEMO_STEPS:-1200}"
NICE="${DEMO_NICE:-5}"
DEMO="$ROOT/resources/demo"
HERE="$ROOT/packaging/demo"

[ -x "$CLI" ] || { echo "make_demo.sh: $CLI not found; build it first: ninja -C $BUILD peft-studio-cli" >&2; exit 1; }
mkdir -p "$WORK" "$DEMO"

# 1. The text. Prefer an installed bible-kjv; otherwise fetch the two .debs (no root needed) and
#    unpack them into the work folder. The KJV text is public domain (see its copyright file).
BIBLE=bible
DATA=/usr/lib
if ! command -v bible >/dev/null || [ ! -e /usr/lib/bible.data ]; then
  if [ ! -x "$WORK/kjv/usr/bin/bible" ]; then
    ( cd "$WORK" && apt-get download bible-kjv bible-kjv-text )
    for d in "$WORK"/bible-kjv*.deb; do dpkg-deb -x "$d" "$WORK/kjv"; done
  fi
  BIBLE="$WORK/kjv/usr/bin/bible"
  DATA="$WORK/kjv/usr/lib"
fi
"$BIBLE" -p "$DATA" -l 100000 "Gen1:1-Rev22:21" > "$WORK/kjv.txt"

# 2. Corpus, pretraining rows, the demo's chat dataset, and a 2048-token byte-level BPE.
python3 "$HERE/make_demo_data.py" --dump "$WORK/kjv.txt" --out "$WORK" --demo "$DEMO" --rows 1600 \
  --quiz-share 1.0 --heldout-per-book 20
# The preference pairs follow the chat dataset (its answers vs rambling ones), for run_dpo.json.
python3 "$HERE/make_demo_preferences.py" --dataset "$DEMO/dataset.jsonl" --out "$DEMO/preferences.jsonl"
if [ "${DEMO_KEEP_BASE:-0}" = 1 ] && [ -f "$DEMO/model/model.safetensors" ]; then
  echo "make_demo.sh: DEMO_KEEP_BASE=1: keeping $DEMO/model"
else
# (BPE training takes a few CPU minutes; a tokenizer already in the work folder is reused.)
[ -f "$WORK/tokenizer/tokenizer.json" ] ||
  python3 "$HERE/bpe_train.py" --text "$WORK/corpus.txt" --vocab-size 2048 --out "$WORK/tokenizer"
# Round trip through the project's tokenizer: the decoded text must equal the input.
printf '[{"text": "In the beginning God created the heaven and the earth.\\n<|im_start|>user\\nHi<|im_end|>"}]' > "$WORK/tok_cases.json"
"$CLI" tokenize --tokenizer "$WORK/tokenizer" --cases "$WORK/tok_cases.json" --out "$WORK/tok_out.json"
python3 - "$WORK/tok_cases.json" "$WORK/tok_out.json" <<'PY'
import json, sys
src, out = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert out[0]["decoded"] == src[0]["text"], out[0]
print("tokenizer round trip ok:", len(out[0]["ids"]), "tokens")
PY

# 3. A random init, then pretraining (FULL) with the project's trainer.
rm -rf "$WORK/init" "$WORK/pretrain"
"$CLI" init-model --config "$HERE/config.json" --out "$WORK/init" --tokenizer "$WORK/tokenizer" --seed 0
cp "$HERE/generation_config.json" "$WORK/init/"
sed -e "s#@WORK@#$WORK#g" -e "s#\"@STEPS@\"#$STEPS#" "$HERE/pretrain.json.in" > "$WORK/pretrain.json"
start=$(date +%s)
nice -n "$NICE" "$CLI" train --config "$WORK/pretrain.json"
echo "make_demo.sh: pretraining took $(( $(date +%s) - start )) s"

# 4. The trained model folder (FULL writes a whole model under adapter/) becomes the demo base.
rm -rf "$DEMO/model"
mkdir -p "$DEMO/model"
for f in config.json model.safetensors tokenizer.json tokenizer_config.json generation_config.json; do
  cp "$WORK/pretrain/adapter/$f" "$DEMO/model/$f"
done
cp "$WORK/pretrain/metrics.jsonl" "$DEMO/pretrain_metrics.jsonl" 2>/dev/null || true
"$CLI" generate --model "$DEMO/model" --prompt "And God said" --max-new-tokens 40 || true
fi

# 5. Optionally: train every shipped run config and score it, and the base, on the held-out quiz.
if [ "${DEMO_SCORE:-0}" = 1 ]; then
  echo "base model:"
  python3 "$HERE/score_demo.py" --cli "$CLI" --model "$DEMO/model" --heldout "$DEMO/heldout.jsonl"
  for cfg in "$DEMO"/run.json "$DEMO"/configs/*.json; do
    name=$(basename "$(dirname "$cfg")")-$(basename "$cfg" .json)
    rm -rf "$WORK/score-$name"
    start=$(date +%s)
    OMP_NUM_THREADS=1 "$CLI" train --quiet --config "$cfg" --output-dir "$WORK/score-$name"
    echo "$name: trained in $(( $(date +%s) - start )) s"
    out="$WORK/score-$name/adapter"
    if [ -f "$out/adapter_config.json" ]; then
      python3 "$HERE/score_demo.py" --cli "$CLI" --adapter "$out" --model "$DEMO/model" --heldout "$DEMO/heldout.jsonl"
    else
      python3 "$HERE/score_demo.py" --cli "$CLI" --model "$out" --heldout "$DEMO/heldout.jsonl"
    fi
  done
  # The DPO run on the preference pairs: base vs tuned preference accuracy on its validation pairs.
  rm -rf "$WORK/score-dpo"
  OMP_NUM_THREADS=1 "$CLI" train --quiet --config "$DEMO/run_dpo.json" --output-dir "$WORK/score-dpo"
  "$CLI" evaluate-pairs --run "$WORK/score-dpo"
fi
du -sh "$DEMO"
