// `peft-studio-cli init-model`: a randomly initialised model folder from a config.json, as
// transformers' from_config would make it (normal(0, initializer_range) weights, unit norms,
// zero biases). Used to pretrain the bundled demo and to build benchmark models.
#include <filesystem>
#include <iostream>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/io/model_config.h"
#include "core/model/causal_lm.h"
#include "core/model/loader.h"
#include "core/peft/full/export_model.h"

namespace peft::cli {

int cmdInitModel(const std::vector<std::string>& argv) {
    Args a(argv, {"config", "out", "tokenizer", "seed", "dtype"}, {}, "init-model");
    ModelConfig cfg = ModelConfig::load(a.require("config"));
    const std::string out = a.require("out");
    torch::manual_seed(static_cast<uint64_t>(a.getInt("seed", 0)));
    CausalLM model = buildModel(cfg);
    const double std = cfg.raw.value("initializer_range", 0.02);
    {
        torch::NoGradGuard ng;
        for (auto& p : model->named_parameters()) {
            const std::string& n = p.key();
            const bool norm = n.find("norm") != std::string::npos || n.find("ln_") != std::string::npos;
            if (n.size() >= 4 && n.compare(n.size() - 4, 4, "bias") == 0)
                p.value().set_data(torch::zeros_like(p.value()));
            else if (norm) p.value().set_data(torch::ones_like(p.value()));
            else p.value().set_data(torch::randn(p.value().sizes()) * std);
        }
    }
    torch::Dtype dt = parseDtype(a.get("dtype", "fp32"));
    model->to(dt);
    model->setComputeDtype(dt);
    exportModelFolder(*model, a.get("tokenizer"), out);
    std::cout << "wrote " << out << " (" << cfg.modelType << ", " << baseParamCount(cfg) << " parameters)\n";
    return 0;
}

}  // namespace peft::cli
