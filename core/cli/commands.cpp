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
        {"info", "Show version, LibTorch, BLAS and threads; with --model, summarise a model folder",
         "peft-studio-cli info [--model DIR]", cmdInfo},
        {"merge", "Merge a LoRA/DoRA/(IA)3 adapter into its base and write a Hugging Face model folder", "peft-studio-cli merge --model DIR --adapter ADIR --out DIR [--dtype fp32|bf16]", cmdMerge},
        {"logits", "Write a model's (optionally adapted) logits for input_ids from a safetensors file", "peft-studio-cli logits --model DIR [--adapter ADIR] --input IN.safetensors --out OUT.safetensors [--pad-token-id N]", cmdLogits},
        {"estimate", "Trainable parameters, memory, adapter size (and time) per method, from config.json alone", "peft-studio-cli estimate --model DIR_OR_CONFIG [--peft-config adapter_config.json]... [--batch-size N --seq-len T --precision fp32|bf16|fp16] [--optimizer adamw|adam|sgd|sgd-momentum] [--quantize none|nf4|nf4-dq] [--gradient-checkpointing] [--num-labels N] [--with-full] [--dataset-tokens N --epochs E --tokens-per-second X] [--json]", cmdEstimate},
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
