// Subcommand table and dispatch for peft-studio-cli.
#include "core/cli/commands.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <iostream>

#include "core/util/error.h"
#include "core/util/log.h"
#include "core/util/runtime_info.h"

namespace peft::cli {

const std::vector<Command>& commands() {
    static const std::vector<Command> k = {
        {"info",
         "Show version, LibTorch, BLAS and threads; with --model, summarise a model folder; with --load, time loading "
         "it and its peak RSS",
         "peft-studio-cli info [--model DIR [--load [--precision bf16|fp32]]]", cmdInfo},
        {"init-model", "Write a randomly initialised model folder from a config.json (for pretraining and benchmarks)",
         "peft-studio-cli init-model --config config.json --out DIR [--tokenizer DIR] [--seed N] [--dtype fp32|bf16]",
         cmdInitModel},
        {"train", "Train a run config (run.json); --resume continues from the newest checkpoint",
         "peft-studio-cli train --config run.json [--resume] [--output-dir DIR] [--max-steps N] [--quiet] [--nproc N] "
         "[--dist-timeout SECONDS]",
         cmdTrain},
        {"tokenize", "Encode/decode a JSON list of {\"text\"} cases with a tokenizer.json",
         "peft-studio-cli tokenize --tokenizer DIR --cases IN.json --out OUT.json [--no-special-tokens]", cmdTokenize},
        {"generate", "Continue a prompt with a model (and an adapter), streaming tokens",
         "peft-studio-cli generate (--model DIR [--adapter ADIR] | --adapter ADIR) --prompt TEXT [--max-new-tokens N] "
         "[--greedy]\n"
         "  (--adapter alone: the base is the adapter's base_model_name_or_path)\n"
         "  [--temperature T] [--top-k K] [--top-p P] [--repetition-penalty R] [--seed S] [--stop STR]... [--precision "
         "fp32|bf16]\n"
         "  [--template auto|chatml|llama3|llama2|zephyr|alpaca|plain]  (wrap the prompt as a chat turn, as training "
         "did)",
         cmdGenerate},
        {"merge", "Merge a LoRA/DoRA/(IA)3 adapter into its base and write a Hugging Face model folder",
         "peft-studio-cli merge --model DIR --adapter ADIR --out DIR [--dtype fp32|bf16]", cmdMerge},
        {"export-gguf",
         "Write a GGUF for llama.cpp / Ollama / LM Studio: the model (adapter merged in) or a LoRA adapter alone",
         "peft-studio-cli export-gguf --model DIR [--adapter ADIR] --out FILE.gguf [--type f32|f16|bf16|q8_0] "
         "[--lora-only] [--modelfile [--from BASE.gguf]] [--quiet]",
         cmdExportGguf},
        {"logits", "Write a model's (optionally adapted) logits for input_ids from a safetensors file",
         "peft-studio-cli logits --model DIR [--adapter ADIR] --input IN.safetensors --out OUT.safetensors "
         "[--pad-token-id N]",
         cmdLogits},
        {"dataset", "Import a dataset file and print its validation report",
         "peft-studio-cli dataset --file F [--format auto|text|instruction|chat|classification|tokens] [--tokenizer "
         "DIR] [--max-length N] [--template auto|chatml|llama3|llama2|zephyr|alpaca|plain] [--train-on responses|all] "
         "[--packing] [--validation-file F | --validation-split R] [--column FIELD=COLUMN]... [--stop-on-error] "
         "[--seed N] [--json]",
         cmdDataset},
        {"bench-train",
         "Time the real trainer (LoRA, or any method with --peft-config) on random tokens and print one JSON line: "
         "tokens/s, step time, peak RSS (and CUDA peak memory)",
         "peft-studio-cli bench-train --model DIR [--precision bf16|fp32] [--batch 2] [--seq 128] [--steps 5] "
         "[--warmup 2] [--device auto|cpu|cuda] [--r 16] [--alpha 32] [--targets c_attn[,..]] [--fan-in-fan-out] "
         "[--peft-config adapter_config.json] [--count-tensors] [--no-packed-weights] [--threads N] [--seed N] "
         "[--work-dir DIR] [--profile TRACE.json]",
         cmdBenchTrain},
        {"estimate", "Trainable parameters, memory, adapter size (and time) per method, from config.json alone",
         "peft-studio-cli estimate --model DIR_OR_CONFIG [--peft-config adapter_config.json]... [--batch-size N "
         "--seq-len T --precision fp32|bf16|fp16] [--optimizer adamw|adam|sgd|sgd-momentum] [--quantize "
         "none|nf4|nf4-dq] [--gradient-checkpointing] [--no-packed-weights] [--device cpu|cuda] [--attention "
         "eager|fused] [--num-labels N] [--with-full] [--objective sft|dpo|orpo|simpo|JSON|FILE] [--dataset-tokens N "
         "--epochs E --tokens-per-second X] [--json]",
         cmdEstimate},
        {"estimate-time",
         "How long a run config will take: a warm-up and a few timed steps of the real run in a scratch folder, one "
         "checkpoint and one evaluation, scaled to the whole run (and to training.processes ranks)",
         "peft-studio-cli estimate-time --config run.json [--steps 5] [--min-seconds 3] [--warmup 1] [--eval-rows 32] "
         "[--processes N] [--threads N] [--scratch-dir DIR] [--json]",
         cmdEstimateTime},
        {"evaluate",
         "Score a model and its adapter on a dataset or a run's validation split: generation metrics (em, contains, "
         "rougeL, bleu, chrf, acc) or multiple choice by log-likelihood (acc, acc_norm); base vs tuned; JSON + CSV "
         "report",
         "peft-studio-cli evaluate (--model DIR [--adapter ADIR] --dataset F | --run RUN_DIR_OR_RUN_JSON [--dataset "
         "F]) [--metrics em,contains,rougeL,bleu,chrf,acc] [--normalize squad|lower|none|case,punct,articles,space] "
         "[--choices [--fewshot N]] [--limit N] [--base-too] [--format auto|instruction|chat|classification] "
         "[--template auto|chatml|llama3|llama2|zephyr|alpaca|plain] [--column FIELD=COLUMN]... [--max-new-tokens N] "
         "[--stop STR]... [--batch-size B] [--precision fp32|bf16] [--device auto|cpu|cuda] [--out report.json] [--csv "
         "report.csv] [--quiet]",
         cmdEvaluate},
        {"evaluate-pairs",
         "Preference accuracy of base vs tuned on a preference run's validation pairs: chosen vs rejected "
         "log-probabilities and the objective's rewards",
         "peft-studio-cli evaluate-pairs --run RUN_DIR_OR_RUN_JSON [--limit N] [--batch-size N] [--device "
         "auto|cpu|cuda] [--json]",
         cmdEvaluatePairs},
        {"models", "List the Hugging Face cache: each model's size, architecture and whether PEFT Studio supports it",
         "peft-studio-cli models [--cache-dir DIR] [--datasets] [--json]", cmdModels},
        {"download", "Download a model (or dataset) from the Hugging Face Hub into the cache",
         "peft-studio-cli download ORG/NAME[@REV] [--revision R] [--include GLOB]... [--cache-dir DIR] [--repo-type "
         "model|dataset] [--quiet]\n"
         "  env: HF_TOKEN (or $HF_HOME/token), HF_ENDPOINT (mirror), HF_HUB_CACHE / HF_HOME, HF_HUB_OFFLINE=1 (cache "
         "only)",
         cmdDownload},
        {"rank-modules",
         "Score every linear module on a dataset (gradient norm, Taylor, Fisher) and suggest LoRA "
         "target_modules/rank_pattern",
         "peft-studio-cli rank-modules --model DIR --dataset FILE [--format F] [--max-length N] [--template T] "
         "[--train-on responses|all] [--batches N] [--batch-size B] [--seed S] [--method grad|taylor|fisher] [--budget "
         "PARAMS] [--top-k K] [--threshold F] [--r R] [--alpha A] [--allocate-ranks] [--precision fp32|bf16] [--device "
         "auto|cpu|cuda] [--out adapter_config.json] [--json]",
         cmdRankModules},
    };
    return k;
}

namespace {
void printHelp() {
    std::cout << "peft-studio-cli " << projectVersion()
              << " - headless parameter-efficient fine-tuning\n\nUsage: peft-studio-cli <command> [options]\n\n"
                 "Commands:\n";
    for (const auto& c : commands()) {
        std::string n = c.name;
        n.resize(14, ' ');
        std::cout << "  " << n << c.summary << "\n";
    }
    std::cout << "\nGlobal options:\n  --help        this text (or `<command> --help`)\n"
                 "  --version     version, LibTorch and BLAS\n  --verbose     debug logging\n";
}
}  // namespace

int runCli(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    bool verbose = false;
    for (auto it = args.begin(); it != args.end();) {
        if (*it == "--verbose") {
            verbose = true;
            it = args.erase(it);
        } else {
            ++it;
        }
    }
    setupLogging("peft-studio-cli", verbose);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        printHelp();
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "--version") {
        std::cout << versionLine() << "\n";
        return 0;
    }
    for (const auto& c : commands()) {
        if (args[0] != c.name) continue;
        std::vector<std::string> rest(args.begin() + 1, args.end());
        for (const auto& a : rest)
            if (a == "--help" || a == "-h") {
                std::cout << "Usage: " << c.usage << "\n\n" << c.summary << "\n";
                return 0;
            }
        useThreads(0);  // every usable core by default (a run's training.threads may override)
        logRuntimeInfo();
        try {
            return c.run(rest);
        } catch (const PeftError& e) {
            spdlog::error("{}", e.what());
            return 1;
        } catch (const std::exception& e) {
            spdlog::error("{}: unexpected error: {}", c.name, e.what());
            return 1;
        }
    }
    std::cerr << "peft-studio-cli: unknown command '" << args[0] << "'. Run 'peft-studio-cli --help' for the list.\n";
    return 2;
}

}  // namespace peft::cli
