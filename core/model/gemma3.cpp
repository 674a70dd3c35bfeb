// Gemma 3 (text): embeddings times sqrt(hidden), every RMSNorm x*(1+w) in fp32 (q/k norms too,
// before RoPE), attention scale query_pre_attn_scalar^-1/2, norms before and after both sublayers,
// a gelu-tanh gated MLP, and local sliding-window layers with their own RoPE base beside global
// ones (RotaryDecoder picks the mask and the tables per layer from config.slidingLayers).
#include "core/model/decoder.h"

namespace peft {

namespace {

class Gemma3Impl : public RotaryDecoderImpl {
public:
    explicit Gemma3Impl(const ModelConfig& c) : RotaryDecoderImpl(c) {}

protected:
    torch::Tensor layerForward(int64_t i, const torch::Tensor& h, const LayerContext& ctx, LayerCache& cache) override {
        Layer& b = m_layers[static_cast<size_t>(i)];
        auto& L = b.linears;  // q k v o gate up down
        auto& N = b.norms;    // input, post-attention, pre-feedforward, post-feedforward, q_norm, k_norm
        torch::Tensor x = N[0]->forward(h);
        torch::Tensor q = N[4]->forward(heads(L[0]->forward(x), m_config.numHeads));    // [B,H,T,D]
        torch::Tensor k = N[5]->forward(heads(L[1]->forward(x), m_config.numKvHeads));  // [B,kvH,T,D]
        torch::Tensor v = heads(L[2]->forward(x), m_config.numKvHeads);
        torch::Tensor a = N[1]->forward(L[3]->forward(attend(i, q, k, v, ctx, cache)));  // [B,T,C]
        BlockAdapter* ba = blockAdapter(i);
        if (ba) a = ba->afterAttention(a);
        torch::Tensor r = h + a;
        torch::Tensor y = N[2]->forward(r);
        torch::Tensor m = N[3]->forward(L[6]->forward(geluTanh(L[4]->forward(y)) * L[5]->forward(y)));
        if (ba) m = ba->afterMlp(m);
        return r + m;
    }
};

}  // namespace

CausalLM buildGemma3(const ModelConfig& c) { return std::make_shared<Gemma3Impl>(c); }

}  // namespace peft
