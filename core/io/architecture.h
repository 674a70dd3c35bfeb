// The tensor-name table for each supported family, in one place: which modules a layer has,
// their Hugging Face names and shapes. The model builder, the PEFT methods (target matching,
// adapter keys) and the budget (parameter counts from config.json alone) all read it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/io/model_config.h"

namespace peft {

// A linear projection inside one decoder layer.
struct LinearSpec {
    std::string path;       // relative to the layer: "self_attn.q_proj", "attn.c_attn"
    std::string name;       // last component: "q_proj", "c_attn" (what target_modules names)
    std::string kind;       // "attention" or "mlp"
    int64_t in = 0;
    int64_t out = 0;
    bool bias = false;
    bool conv1d = false;    // GPT-2 Conv1D: weight stored [in, out]
    bool feedforwardInput = false;  // (IA)3: this module is a feed-forward output projection
};

// A norm inside a layer or at the top.
struct NormSpec {
    std::string path;  // "input_layernorm", "ln_1"
    int64_t size = 0;
    bool bias = false;  // LayerNorm has a bias, RMSNorm does not
};

struct ArchTable {
    std::string layerPrefix;      // "transformer.h" | "model.layers"
    std::string embedTokens;      // "transformer.wte" | "model.embed_tokens"
    std::string embedPositions;   // "transformer.wpe" | ""
    std::string finalNorm;        // "transformer.ln_f" | "model.norm"
    std::string lmHead = "lm_head";
    std::vector<LinearSpec> linears;  // per layer, in forward order
    std::vector<NormSpec> norms;      // per layer
    NormSpec finalNormSpec;

    // "transformer.h.3.attn.c_attn"
    std::string modulePath(int64_t layer, const std::string& rel) const {
        return layerPrefix + "." + std::to_string(layer) + "." + rel;
    }
};

ArchTable archTable(const ModelConfig& c);

// Base model parameter count as transformers counts it (tied embeddings once).
int64_t baseParamCount(const ModelConfig& c);

}  // namespace peft
