// Prompt-learning dimensions (see prompt_learning.h).
#include "core/peft/prompt_learning.h"

#include "core/peft/spec_util.h"

namespace peft::spec {

PromptDims promptDims(const ModelConfig& mc, const nlohmann::json& cfg, bool prefix) {
    PromptDims d;
    d.virtualTokens = getInt(cfg, "num_virtual_tokens", 0);
    d.tokenDim = getInt(cfg, "token_dim", mc.hiddenSize);
    d.layers = getInt(cfg, "num_layers", mc.numLayers);
    d.heads = getInt(cfg, "num_attention_heads", mc.numHeads);
    d.submodules = getInt(cfg, "num_transformer_submodules", 1);
    // Llama-family configs carry num_key_value_heads; GPT-2's does not. The rule is idempotent,
    // so a saved config (already rewritten) gives the same numbers.
    if (prefix && mc.family == Family::Llama && d.heads > 0) {
        d.tokenDim = d.tokenDim / d.heads * mc.numKvHeads;
        d.heads = mc.numKvHeads;
    }
    return d;
}

const std::vector<FieldRule>& promptLearningRules() {
    static const std::vector<FieldRule> k = {{"num_virtual_tokens", "int"},
                                             {"token_dim", "int|null"},
                                             {"num_transformer_submodules", "int|null"},
                                             {"num_attention_heads", "int|null"},
                                             {"num_layers", "int|null"}};
    return k;
}

}  // namespace peft::spec
