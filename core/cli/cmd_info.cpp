// `peft-studio-cli info`: runtime facts and, with --model, a model folder's summary.
#include <iostream>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/io/model_config.h"
#include "core/util/runtime_info.h"

namespace peft::cli {

int cmdInfo(const std::vector<std::string>& argv) {
    Args a(argv, {"model"}, {}, "info");
    std::cout << versionLine() << "\n";
    std::cout << "threads: " << at::get_num_threads() << "\n";
    if (a.has("model")) {
        ModelConfig c = ModelConfig::load(a.get("model"));
        std::cout << "model_type: " << c.modelType << "\nlayers: " << c.numLayers << "\nhidden: " << c.hiddenSize
                  << "\nheads: " << c.numHeads << " (kv " << c.numKvHeads << ")\nvocab: " << c.vocabSize << "\n";
    }
    return 0;
}

}  // namespace peft::cli
