// The tensor-name table for each supported family, in one place: which modules a layer has,
// their Hugging Face names and shapes. The model builder, the PEFT methods (target matching,
// adapter keys) and the budget (parameter counts from config.json alone) all read it. Its traits
// answer what callers would otherwise infer from the family ("is the MLP gated?"), so code outside
// core/model and this table never asks which family a model is.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/io/model_config.h"

namespace peft {

// A linear projection inside one decoder layer.
struct LinearSpec {
    std::string path;  // relative to the layer: "self_attn.q_proj", "attn.c_attn"
    std::string name;  // last component: "q_proj", "c_attn" (what target_modules names)
    std::string kind;  // "attention" or "mlp"
    int64_t in = 0;
    int64_t out = 0;
    bool bias = false;
    bool conv1d = false;            // GPT-2 Conv1D: weight stored [in, out]
    bool feedforwardInput = false;  // (IA)3: this module is a feed-forward output projection
};

// A norm inside a layer or at the top.
struct NormSpec {
    std::string path;  // "input_layernorm", "ln_1"
    int64_t size = 0;
    bool bias = false;  // LayerNorm has a bias, RMSNorm does not
};

enum class NormKind {
    LayerNorm,       // GPT-2: mean and variance, weight and bias
    RmsNorm,         // Llama: x / rms(x) cast to the input dtype, times w
    RmsNormOnePlus,  // Gemma: x / rms(x) times (1 + w), all in fp32, cast once
};
enum class PositionKind { Learned, Rotary };

struct ArchTraits {
    std::string displayName;  // "GPT-2", "Llama family (mistral)", "Qwen3", "Phi-3", "Gemma 3 (text)"
    bool gatedMlp = true;     // down(act(gate(x)) * up(x)); false: down(act(fc(x)))
    NormKind norm = NormKind::RmsNorm;
    PositionKind positions = PositionKind::Rotary;
    bool partialRotary = false;   // RoPE turns only the first rotaryDim dimensions of a head
    bool qkNorm = false;          // per-head norm on q and k before RoPE (q_norm, k_norm)
    bool postNorms = false;       // a norm on each sublayer's output before the residual add
    bool localRope = false;       // sliding-window layers have a RoPE base of their own
    bool embedScale = false;      // token embeddings times sqrt(hidden_size)
    bool fusedQkv = false;        // one projection gives q, k and v (c_attn, qkv_proj)
    bool fusedGateUp = false;     // one projection gives gate and up (gate_up_proj)
    bool kvHeadsInConfig = true;  // config.json has num_key_value_heads (peft's prefix layout reads it)
    // peft's default target_modules for this model_type (TRANSFORMERS_MODELS_TO_LORA_/IA3_
    // TARGET_MODULES_MAPPING and the IA3 feedforward mapping); empty where peft has none (phi3):
    // target_modules must then be named.
    std::vector<std::string> loraTargets, ia3Targets, ia3Feedforward;
    std::string moduleHint;  // the module names, for "target_modules match nothing" errors
};

struct ArchTable {
    ArchTraits traits;
    std::string layerPrefix;     // "transformer.h" | "model.layers"
    std::string embedTokens;     // "transformer.wte" | "model.embed_tokens"
    std::string embedPositions;  // "transformer.wpe" | ""
    std::string finalNorm;       // "transformer.ln_f" | "model.norm"
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

// LoRA targets to offer when nothing is chosen: peft's default, or where peft has none the
// attention input projections (every attention linear but the block's last, e.g. qkv_proj).
std::vector<std::string> suggestedLoraTargets(const ArchTable& t);
// (IA)3 targets and feed-forward modules to offer, the same way.
std::vector<std::string> suggestedIa3Targets(const ArchTable& t);
std::vector<std::string> suggestedIa3Feedforward(const ArchTable& t);

// Base model parameter count as transformers counts it (tied embeddings once).
int64_t baseParamCount(const ModelConfig& c);

}  // namespace peft
