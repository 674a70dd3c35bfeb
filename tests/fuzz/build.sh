#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined) from the light, torch-free
# parsers only. Usage: tests/fuzz/build.sh [outdir]   (default: build-fuzz). Run a target with
#   build-fuzz/fuzz_<name> -max_total_time=600 tests/fuzz/corpus/<name>
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/build-fuzz}"
mkdir -p "$out/obj"
CXX="${CXX_FUZZ:-clang++}"
FLAGS=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
       -fno-sanitize-recover=undefined -DPCRE2_CODE_UNIT_WIDTH=8 -DSPDLOG_FMT_EXTERNAL
       -DPEFT_HAVE_SNAPPY -DPEFT_HAVE_ZSTD -DPEFT_HAVE_ZLIB -I"$root")
LINK=(-fsanitize=fuzzer,address,undefined)
LIBS=(-lpcre2-8 -lspdlog -lfmt -lsnappy -lzstd -lz -pthread)

util="core/util/error.cpp core/util/atomic_file.cpp"
io_st="core/io/safetensors.cpp"
io_cfg="core/io/model_config.cpp core/io/architecture.cpp"
tok="$(cd "$root" && ls core/tokenizer/*.cpp | tr '\n' ' ')"
parquet="core/data/parquet_reader.cpp core/data/parquet_codecs.cpp"
data="core/data/dataset_file.cpp core/data/dataset_format.cpp core/data/chat_template.cpp $parquet"
specs="$(cd "$root" && ls core/peft/*/*_spec.cpp | tr '\n' ' ') core/peft/spec_registry.cpp core/peft/module_tree.cpp core/peft/prompt_learning.cpp core/peft/spec_util.cpp core/peft/spec_targets.cpp core/peft/target_match.cpp"
runcfg="core/train/run_config.cpp core/data/dataset_config.cpp core/train/objectives/objective_spec.cpp"
evalsrc="$(cd "$root" && ls core/eval/*.cpp | grep -v evaluator.cpp | tr '\n' ' ')"

declare -A SRCS=(
  [safetensors]="$util $io_st"
  [model_config]="$util $io_cfg"
  [tokenizer]="$util $io_cfg $tok"
  [adapter_config]="$util $io_cfg $specs"
  [dataset]="$util $data"
  [run_config]="$util $io_cfg $runcfg $data"
  [eval]="$util $io_cfg $runcfg $data $tok core/data/prepare.cpp core/data/validation_report.cpp $evalsrc"
  [parquet]="$util $parquet"
)

compile() {  # src -> object path (cached by mtime)
  local src="$1" obj="$out/obj/$(echo "$1" | tr '/' '_').o"
  # Core sources are cached by mtime (headers are not tracked: delete build-fuzz/obj after a header
  # change); the small fuzz entry points, which include fuzz_bodies.h, are always rebuilt.
  if [[ ! -f "$obj" || "$root/$src" -nt "$obj" || "$src" == tests/fuzz/* ]]; then
    "$CXX" "${FLAGS[@]}" -c "$root/$src" -o "$obj"
  fi
  echo "$obj"
}

targets=("${@:2}")
[[ ${#targets[@]} -eq 0 ]] && targets=(safetensors model_config tokenizer adapter_config dataset run_config eval parquet)
for t in "${targets[@]}"; do
  objs=()
  for s in ${SRCS[$t]}; do objs+=("$(compile "$s")"); done
  objs+=("$(compile "tests/fuzz/fuzz_$t.cpp")")
  "$CXX" "${LINK[@]}" "${objs[@]}" "${LIBS[@]}" -o "$out/fuzz_$t"
  echo "built $out/fuzz_$t"
done
