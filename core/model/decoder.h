// RotaryDecoder: what the rotary families (Llama, Qwen3, Phi-3, Gemma 3) share, so that each
// family file is only its layer's forward pass: the model.embed_tokens / model.layers / model.norm
// / lm_head modules built from the architecture table (its linears and norms under their Hugging
// Face paths), RoPE (default, linear, llama3, longrope; partial; a second base for sliding layers),
// and the attention step with its KV cache.
#pragma once
#include <utility>
#include <vector>

#include "core/model/causal_lm.h"
#include "core/model/layers.h"

namespace peft {

// RoPE inverse frequencies [rotaryDim/2], in fp32 as transformers computes them. longrope: the
// short factors (`longFactors` false) or the long ones.
torch::Tensor ropeInverseFrequencies(const RopeConfig& r, int64_t rotaryDim, bool longFactors = false);

// RoPE for one base: cos/sin tables [T, rotaryDim] for absolute positions.
class RotaryTables {
public:
    RotaryTables() = default;
    RotaryTables(const RopeConfig& r, int64_t rotaryDim);
    std::pair<torch::Tensor, torch::Tensor> operator()(const torch::Tensor& positions, torch::Dtype dtype) const;

private:
    torch::Tensor m_inv, m_longInv;  // longInv: longrope past originalMaxPositions
    int64_t m_originalMax = 0;
    double m_attentionFactor = 1.0;
};

// x [B,n,T,D] with RoPE on its first cos.size(-1) dimensions (all of them unless partial).
torch::Tensor applyRotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

class RotaryDecoderImpl : public CausalLMImpl {
public:
    explicit RotaryDecoderImpl(const ModelConfig& c);

    torch::Tensor embeddingWeight() override { return m_embed->weight; }
    torch::Tensor lmHeadWeight() override { return m_head.defined() ? m_head : m_embed->weight; }

protected:
    // One layer's modules, in the architecture table's order (ArchTable::linears, ::norms).
    struct Layer {
        std::vector<Linear> linears;
        std::vector<RMSNorm> norms;
    };

    torch::Tensor embedTokens(const torch::Tensor& ids) override;
    void rope(const torch::Tensor& positions, LayerContext& ctx) override;
    torch::Tensor finalNorm(const torch::Tensor& h) override { return m_norm->forward(h); }

    // [B,T,n*D] -> [B,n,T,D]
    torch::Tensor heads(const torch::Tensor& x, int64_t n) const;
    // RoPE on q [B,H,T,D] and k [B,kvH,T,D], keys and values appended to the cache, attention with
    // layer i's mask; returns [B,T,H*D] for the output projection. scale 0: 1/sqrt(head_dim).
    torch::Tensor attend(int64_t i, torch::Tensor q, torch::Tensor k, torch::Tensor v, const LayerContext& ctx,
                         LayerCache& cache);

    std::vector<Layer> m_layers;
    Embedding m_embed{nullptr};
    RMSNorm m_norm{nullptr};
    torch::Tensor m_head;
    RotaryTables m_rope, m_localRope;
    bool m_hasLocalRope = false;
};

}  // namespace peft
