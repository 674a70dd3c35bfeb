// Tensor-name tables and traits for each family: GPT-2, the Llama family (llama, mistral, qwen2),
// Qwen3, Phi-3 and Gemma 3 (text). One function per family; archTable picks by family.
#include "core/io/architecture.h"

namespace peft {

namespace {

const std::string kLlamaHint = "Llama-family modules: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj.";

ArchTable gpt2Table(const ModelConfig& c) {
    ArchTable t;
    const int64_t h = c.hiddenSize;
    t.traits.displayName = "GPT-2";
    t.traits.gatedMlp = false;
    t.traits.norm = NormKind::LayerNorm;
    t.traits.positions = PositionKind::Learned;
    t.traits.fusedQkv = true;
    t.traits.kvHeadsInConfig = false;
    t.traits.loraTargets = {"c_attn"};
    t.traits.ia3Targets = {"c_attn", "mlp.c_proj"};
    t.traits.ia3Feedforward = {"mlp.c_proj"};
    t.traits.moduleHint = "GPT-2 modules: c_attn, c_proj, c_fc (attention c_proj is attn.c_proj).";
    t.layerPrefix = "transformer.h";
    t.embedTokens = "transformer.wte";
    t.embedPositions = "transformer.wpe";
    t.finalNorm = "transformer.ln_f";
    t.linears = {
        {"attn.c_attn", "c_attn", "attention", h, 3 * h, true, true, false},
        {"attn.c_proj", "c_proj", "attention", h, h, true, true, false},
        {"mlp.c_fc", "c_fc", "mlp", h, c.intermediateSize, true, true, false},
        {"mlp.c_proj", "c_proj", "mlp", c.intermediateSize, h, true, true, true},
    };
    t.norms = {{"ln_1", h, true}, {"ln_2", h, true}};
    t.finalNormSpec = {"transformer.ln_f", h, true};
    return t;
}

// model.layers.N with separate q/k/v/o and gate/up/down projections (Llama, Qwen3, Gemma 3).
ArchTable llamaLayout(const ModelConfig& c) {
    ArchTable t;
    const int64_t h = c.hiddenSize;
    t.layerPrefix = "model.layers";
    t.embedTokens = "model.embed_tokens";
    t.finalNorm = "model.norm";
    const int64_t q = c.numHeads * c.headDim, kv = c.kvDim();
    const bool qkvBias = c.attentionBias;
    const bool oBias = c.attentionBias && !c.qkvBiasOnly;
    t.linears = {
        {"self_attn.q_proj", "q_proj", "attention", h, q, qkvBias, false, false},
        {"self_attn.k_proj", "k_proj", "attention", h, kv, qkvBias, false, false},
        {"self_attn.v_proj", "v_proj", "attention", h, kv, qkvBias, false, false},
        {"self_attn.o_proj", "o_proj", "attention", q, h, oBias, false, false},
        {"mlp.gate_proj", "gate_proj", "mlp", h, c.intermediateSize, c.mlpBias, false, false},
        {"mlp.up_proj", "up_proj", "mlp", h, c.intermediateSize, c.mlpBias, false, false},
        {"mlp.down_proj", "down_proj", "mlp", c.intermediateSize, h, c.mlpBias, false, true},
    };
    t.norms = {{"input_layernorm", h, false}, {"post_attention_layernorm", h, false}};
    t.finalNormSpec = {"model.norm", h, false};
    t.traits.loraTargets = {"q_proj", "v_proj"};
    t.traits.ia3Targets = {"q_proj", "v_proj", "down_proj"};
    t.traits.ia3Feedforward = {"down_proj"};
    t.traits.moduleHint = kLlamaHint;
    return t;
}

ArchTable llamaTable(const ModelConfig& c) {
    ArchTable t = llamaLayout(c);
    t.traits.displayName = "Llama family (" + c.modelType + ")";
    // peft's IA3 mapping: llama and mistral scale k and v, qwen2 q and v.
    if (c.modelType != "qwen2") t.traits.ia3Targets = {"k_proj", "v_proj", "down_proj"};
    return t;
}

ArchTable qwen3Table(const ModelConfig& c) {
    ArchTable t = llamaLayout(c);
    t.traits.displayName = "Qwen3";
    t.traits.qkNorm = true;
    t.norms.push_back({"self_attn.q_norm", c.headDim, false});
    t.norms.push_back({"self_attn.k_norm", c.headDim, false});
    t.traits.moduleHint = "Qwen3 modules: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj.";
    return t;
}

ArchTable gemma3Table(const ModelConfig& c) {
    ArchTable t = llamaLayout(c);
    const int64_t h = c.hiddenSize;
    t.traits.displayName = "Gemma 3 (text)";
    t.traits.norm = NormKind::RmsNormOnePlus;
    t.traits.qkNorm = true;
    t.traits.postNorms = true;
    t.traits.localRope = true;
    t.traits.embedScale = true;
    t.norms = {{"input_layernorm", h, false},           {"post_attention_layernorm", h, false},
               {"pre_feedforward_layernorm", h, false}, {"post_feedforward_layernorm", h, false},
               {"self_attn.q_norm", c.headDim, false},  {"self_attn.k_norm", c.headDim, false}};
    t.traits.moduleHint = "Gemma 3 modules: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj.";
    return t;
}

ArchTable phi3Table(const ModelConfig& c) {
    ArchTable t;
    const int64_t h = c.hiddenSize, I = c.intermediateSize;
    t.traits.displayName = "Phi-3";
    t.traits.partialRotary = c.rotaryDim < c.headDim;
    t.traits.fusedQkv = true;
    t.traits.fusedGateUp = true;
    // peft has no phi3 entry in its target-module mappings: target_modules must be named.
    t.traits.moduleHint =
        "Phi-3 modules: qkv_proj, o_proj, gate_up_proj, down_proj (q, k and v share qkv_proj; gate and up share "
        "gate_up_proj).";
    t.layerPrefix = "model.layers";
    t.embedTokens = "model.embed_tokens";
    t.finalNorm = "model.norm";
    const int64_t q = c.numHeads * c.headDim, kv = c.kvDim();
    t.linears = {
        {"self_attn.qkv_proj", "qkv_proj", "attention", h, q + 2 * kv, false, false, false},  // rows: q, k, v
        {"self_attn.o_proj", "o_proj", "attention", q, h, false, false, false},
        {"mlp.gate_up_proj", "gate_up_proj", "mlp", h, 2 * I, false, false, false},  // rows: gate, up
        {"mlp.down_proj", "down_proj", "mlp", I, h, false, false, true},
    };
    t.norms = {{"input_layernorm", h, false}, {"post_attention_layernorm", h, false}};
    t.finalNormSpec = {"model.norm", h, false};
    return t;
}

std::vector<std::string> attentionInputs(const ArchTable& t) {
    std::vector<std::string> out;
    for (size_t i = 0; i + 1 < t.linears.size(); ++i)
        if (t.linears[i].kind == "attention" && t.linears[i + 1].kind == "attention") out.push_back(t.linears[i].name);
    return out;
}

}  // namespace

ArchTable archTable(const ModelConfig& c) {
    switch (c.family) {
        case Family::Gpt2: return gpt2Table(c);
        case Family::Qwen3: return qwen3Table(c);
        case Family::Phi3: return phi3Table(c);
        case Family::Gemma3: return gemma3Table(c);
        case Family::Llama: break;
    }
    return llamaTable(c);
}

std::vector<std::string> suggestedLoraTargets(const ArchTable& t) {
    return t.traits.loraTargets.empty() ? attentionInputs(t) : t.traits.loraTargets;
}

std::vector<std::string> suggestedIa3Feedforward(const ArchTable& t) {
    if (!t.traits.ia3Feedforward.empty()) return t.traits.ia3Feedforward;
    std::vector<std::string> out;
    for (const auto& l : t.linears)
        if (l.feedforwardInput) out.push_back(l.name);
    return out;
}

std::vector<std::string> suggestedIa3Targets(const ArchTable& t) {
    if (!t.traits.ia3Targets.empty()) return t.traits.ia3Targets;
    std::vector<std::string> out = attentionInputs(t);
    for (const auto& f : suggestedIa3Feedforward(t)) out.push_back(f);
    return out;
}

int64_t baseParamCount(const ModelConfig& c) {
    ArchTable t = archTable(c);
    int64_t perLayer = 0;
    for (const auto& l : t.linears) perLayer += l.in * l.out + (l.bias ? l.out : 0);
    for (const auto& n : t.norms) perLayer += n.size * (n.bias ? 2 : 1);
    int64_t total = perLayer * c.numLayers;
    total += c.vocabSize * c.hiddenSize;                                                      // token embeddings
    if (t.traits.positions == PositionKind::Learned) total += c.maxPositions * c.hiddenSize;  // learned positions
    total += t.finalNormSpec.size * (t.finalNormSpec.bias ? 2 : 1);
    if (!c.tieWordEmbeddings) total += c.vocabSize * c.hiddenSize;  // untied lm_head
    return total;
}

}  // namespace peft
