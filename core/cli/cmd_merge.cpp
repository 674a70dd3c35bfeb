// `peft-studio-cli merge`: base model + adapter -> a merged Hugging Face model folder.
#include <spdlog/spdlog.h>

#include <iostream>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/model/loader.h"
#include "core/peft/full/export_model.h"
#include "core/peft/method.h"
#include "core/util/error.h"

namespace peft::cli {

int cmdMerge(const std::vector<std::string>& argv) {
    Args a(argv, {"model", "adapter", "out", "dtype"}, {}, "merge");
    const std::string modelDir = a.require("model"), adapterDir = a.require("adapter"), out = a.require("out");
    ModelOptions opts;
    if (a.has("dtype")) opts.dtype = parseDtype(a.get("dtype"));
    auto loaded = loadModel(modelDir, opts);
    Adapter ad = loadAdapter(*loaded.model, adapterDir);
    if (!ad.method->canMerge())
        fail(adapterDir, ad.method->peftType() + " adapters cannot be merged into the base weights",
             "Only LoRA, DoRA and (IA)3 merge; use the adapter with the base model instead.");
    ad.method->merge();
    exportModelFolder(*loaded.model, modelDir, out);
    std::cout << "merged " << adapterDir << " into " << modelDir << " -> " << out << "\n";
    return 0;
}

}  // namespace peft::cli
