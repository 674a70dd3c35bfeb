// Prompt-learning dimensions (see prompt_learning.h).
#include "core/peft/prompt_learning.h"

#include "core/io/architecture.h"
#include "core/peft/spec_util.h"
#include "core/util/error.h"

namespace peft::spec {

PromptDims promptDims(const ModelConfig& mc, const nlohmann::json& cfg, bool prefix, const std::string& where) {
    PromptDims d;
    d.virtualTokens = getInt(cfg, "num_virtual_tokens", 0);
    d.tokenDim = getInt(cfg, "token_dim", mc.hiddenSize);
    d.layers = getInt(cfg, "num_layers", mc.numLayers);
    d.heads = getInt(cfg, "num_attention_heads", mc.numHeads);
    d.submodules = getInt(cfg, "num_transformer_submodules", 1);
    // Llama-family configs carry num_key_value_heads; GPT-2's does not. The rule is idempotent,
    // so a saved config (already rewritten) gives the same numbers.
    const bool kvHeads = archTable(mc).traits.kvHeadsInConfig;
    if (prefix && kvHeads && d.heads > 0) {
        d.tokenDim = d.tokenDim / d.heads * mc.numKvHeads;
        d.heads = mc.numKvHeads;
    }
    // A saved config carries the dimensions of the model it was made for: another model would not
    // load it, so say so instead of counting nonsense.
    const int64_t wantDim = prefix && kvHeads ? mc.kvDim() / mc.headDim * (mc.hiddenSize / mc.numHeads) : mc.hiddenSize;
    // peft cuts prefixes into heads of token_dim / heads = hidden_size / num_attention_heads
    // values; a model whose head_dim differs (Qwen3-0.6B, Gemma 3) cannot take them.
    if (prefix && mc.headDim * mc.numHeads != mc.hiddenSize)
        fail(where,
             "prefix tuning needs head_dim == hidden_size / num_attention_heads (peft's prefix layout); this " +
                 mc.modelType + " model has head_dim " + std::to_string(mc.headDim) + " and hidden_size / heads " +
                 std::to_string(mc.hiddenSize / mc.numHeads),
             "Use prompt tuning or LoRA for this model.");
    if (d.layers != mc.numLayers)
        fail(where,
             "key 'num_layers': the config was made for " + std::to_string(d.layers) + " layers, this model has " +
                 std::to_string(mc.numLayers),
             "Remove num_layers (and token_dim) to fill them in from the model.");
    if (d.tokenDim != wantDim)
        fail(where,
             "key 'token_dim': the config has " + std::to_string(d.tokenDim) + ", this model needs " +
                 std::to_string(wantDim),
             "Remove token_dim to fill it in from the model.");
    if (d.virtualTokens <= 0) fail(where, "key 'num_virtual_tokens' must be positive", "For example 20.");
    return d;
}

std::vector<Field> promptLearningFields(const char* virtualTokensHelp, const char* tokenDimHelp,
                                        const char* headsHelp) {
    return {{"num_virtual_tokens", 20, "int", virtualTokensHelp},
            {"token_dim", nullptr, "int|null", tokenDimHelp},
            {"num_transformer_submodules", nullptr, "int|null",
             "1 for decoder-only models (2 for encoder-decoder); filled in."},
            {"num_attention_heads", nullptr, "int|null", headsHelp},
            {"num_layers", nullptr, "int|null", "The model's decoder layers; filled in."},
            modulesToSaveField()};
}

void requireVirtualTokens(const nlohmann::json& cfg, const std::string& where) {
    if (!cfg.contains("num_virtual_tokens")) fail(where, "missing key 'num_virtual_tokens'", "For example 20.");
    requirePositive(cfg, "num_virtual_tokens", where);
}

}  // namespace peft::spec
