// The Llama family and Qwen3: RMSNorm, RoPE, grouped-query attention, SwiGLU. Mistral is Llama
// with a sliding window we do not apply (4096 tokens and more); Qwen2 adds q/k/v biases (the
// table carries them); Qwen3 adds per-head RMSNorm on q and k before RoPE (traits.qkNorm) and an
// explicit head_dim.
#include "core/model/decoder.h"

namespace peft {

namespace {

class LlamaImpl : public RotaryDecoderImpl {
public:
    explicit LlamaImpl(const ModelConfig& c) : RotaryDecoderImpl(c) {}

protected:
    torch::Tensor layerForward(int64_t i, const torch::Tensor& h, const LayerContext& ctx, LayerCache& cache) override {
        Layer& b = m_layers[static_cast<size_t>(i)];
        auto& L = b.linears;  // q k v o gate up down
        auto& N = b.norms;    // input, post-attention [, q_norm, k_norm]
        torch::Tensor x = N[0]->forward(h);
        torch::Tensor q = heads(L[0]->forward(x), m_config.numHeads);    // [B,H,T,D]
        torch::Tensor k = heads(L[1]->forward(x), m_config.numKvHeads);  // [B,kvH,T,D]
        torch::Tensor v = heads(L[2]->forward(x), m_config.numKvHeads);
        if (m_table.traits.qkNorm) {
            q = N[2]->forward(q);
            k = N[3]->forward(k);
        }
        torch::Tensor a = L[3]->forward(attend(i, q, k, v, ctx, cache));  // [B,T,C]
        BlockAdapter* ba = blockAdapter(i);
        if (ba) a = ba->afterAttention(a);
        torch::Tensor r = h + a;
        torch::Tensor y = N[1]->forward(r);
        torch::Tensor m = L[6]->forward(siluAct(L[4]->forward(y)) * L[5]->forward(y));
        if (ba) m = ba->afterMlp(m);
        return r + m;
    }
};

}  // namespace

CausalLM buildLlama(const ModelConfig& c) { return std::make_shared<LlamaImpl>(c); }

}  // namespace peft
