// Importance estimation: scores every linear projection of every decoder layer (and every layer)
// on a few batches of the user's dataset, by gradient norm, first-order Taylor and Fisher.
#pragma once
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/data/prepare.h"
#include "core/model/causal_lm.h"

namespace peft::select {

enum class ImportanceMethod { GradNorm, Taylor, Fisher };

// "grad" | "taylor" | "fisher"; throws PeftError naming `where` otherwise.
ImportanceMethod parseImportanceMethod(const std::string& name, const std::string& where = "method");
std::string importanceMethodName(ImportanceMethod m);

// One candidate module. Every score is computed in the same pass; `score(method)` picks one.
//   gradNorm: mean over batches of ||dL/dW||_F, L the batch's mean per-example loss.
//   taylor:   mean over batches of sum_ij |W_ij * dL/dW_ij| (first-order estimate of the loss
//             change when the module's weight is removed).
//   fisher:   mean over examples of ||dl_n/dW||_F^2 (the trace of the module's block of the
//             empirical Fisher diagonal; l_n is example n's mean token loss).
struct ModuleScore {
    std::string path;  // full module path, as peft names it: "model.layers.0.self_attn.q_proj"
    std::string name;  // "q_proj"
    int64_t layer = 0;
    int64_t in = 0, out = 0;
    bool conv1d = false;  // GPT-2 Conv1D (peft then wants fan_in_fan_out)
    double gradNorm = 0, taylor = 0, fisher = 0;
    double score(ImportanceMethod m) const;
};

// Per decoder layer: gradNorm is the mean over batches of the layer's whole-gradient norm
// sqrt(sum over its modules of ||dL/dW||^2); taylor and fisher are sums over its modules.
struct LayerScore {
    int64_t layer = 0;
    double gradNorm = 0, taylor = 0, fisher = 0;
    double score(ImportanceMethod m) const;
};

struct ImportanceReport {
    std::vector<ModuleScore> modules;  // forward order (layer by layer)
    std::vector<LayerScore> layers;
    std::vector<std::string> moduleNames;  // the per-layer module names, in forward order ("q_proj", ...)
    int64_t batches = 0;                   // batches actually scored
    int64_t examples = 0;                  // examples with at least one target token
    int64_t tokens = 0;                    // target tokens
    double meanLoss = 0;                   // mean per-example loss over the scored examples
    uint64_t seed = 0;

    // Module indices sorted by score, best first (ties keep forward order).
    std::vector<size_t> ranking(ImportanceMethod m) const;
    nlohmann::json toJson() const;
};

struct ScoreOptions {
    int64_t batches = 8;  // capped at one pass over the examples
    int64_t batchSize = 4;
    uint64_t seed = 42;  // batch order (the examples are shuffled with it)
    // Called after each batch with (done, total). `stop`, when set to true, ends the pass early
    // (the report then covers the batches done so far).
    std::function<void(int64_t, int64_t)> progress;
    const std::atomic<bool>* stop = nullptr;
};

// Scores the model's linears on causal-LM examples (labels -100 where masked). The model is left
// as it was: no weight changes, no adapters, parameters' requires_grad restored. The model must
// have no adapter attached (scores are of the base weights). Throws PeftError when no example has
// a target token. Works on the model's device and dtype (reductions in fp32/fp64).
ImportanceReport scoreModules(CausalLMImpl& model, const std::vector<data::PreparedExample>& examples, int64_t padId,
                              const ScoreOptions& opts);

}  // namespace peft::select
