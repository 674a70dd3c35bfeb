// Dimensions shared by prompt tuning and prefix tuning, filled in from the model config the way
// peft's _prepare_prompt_learning_config does (values already in adapter_config.json win).
#pragma once
#include <nlohmann/json.hpp>

#include "core/io/model_config.h"
#include "core/peft/spec_util.h"

namespace peft::spec {

struct PromptDims {
    int64_t virtualTokens = 0;  // num_virtual_tokens
    int64_t tokenDim = 0;       // token_dim (prefix tuning on a GQA model: the key/value width)
    int64_t layers = 0;         // num_layers
    int64_t heads = 0;          // num_attention_heads (prefix tuning on GQA: key/value heads)
    int64_t submodules = 1;     // num_transformer_submodules (1 for decoder-only models)
};

// `prefix` applies peft's GQA rule: token_dim // num_attention_heads * num_key_value_heads.
// Throws PeftError naming `where` when the config's num_layers/token_dim belong to another model.
PromptDims promptDims(const ModelConfig& mc, const nlohmann::json& cfg, bool prefix,
                      const std::string& where = "prompt-learning config");

// The fields every prompt-learning config shares (num_virtual_tokens, token_dim,
// num_transformer_submodules, num_attention_heads, num_layers, modules_to_save), with the help
// texts that differ between prompt and prefix tuning.
std::vector<Field> promptLearningFields(const char* virtualTokensHelp, const char* tokenDimHelp, const char* headsHelp);
// num_virtual_tokens is required and positive.
void requireVirtualTokens(const nlohmann::json& cfg, const std::string& where);

}  // namespace peft::spec
