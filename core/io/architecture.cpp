// Tensor-name tables for GPT-2 and the Llama family.
#include "core/io/architecture.h"

namespace peft {

ArchTable archTable(const ModelConfig& c) {
    ArchTable t;
    const int64_t h = c.hiddenSize;
    if (c.family == Family::Gpt2) {
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
    } else {
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
    }
    return t;
}

int64_t baseParamCount(const ModelConfig& c) {
    ArchTable t = archTable(c);
    int64_t perLayer = 0;
    for (const auto& l : t.linears) perLayer += l.in * l.out + (l.bias ? l.out : 0);
    for (const auto& n : t.norms) perLayer += n.size * (n.bias ? 2 : 1);
    int64_t total = perLayer * c.numLayers;
    total += c.vocabSize * c.hiddenSize;                                     // token embeddings
    if (c.family == Family::Gpt2) total += c.maxPositions * c.hiddenSize;   // learned positions
    total += t.finalNormSpec.size * (t.finalNormSpec.bias ? 2 : 1);
    if (!c.tieWordEmbeddings) total += c.vocabSize * c.hiddenSize;          // untied lm_head
    return total;
}

}  // namespace peft
