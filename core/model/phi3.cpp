// Phi-3 and Phi-4-mini: the Llama layer with fused projections (qkv_proj: q, k, v rows;
// gate_up_proj: gate rows, then up), partial rotary (partial_rotary_factor) and longrope scaling,
// both handled by RotaryDecoder's RoPE. A sliding window, when configured, applies to every layer.
#include "core/model/decoder.h"

namespace peft {

namespace {

class Phi3Impl : public RotaryDecoderImpl {
public:
    explicit Phi3Impl(const ModelConfig& c) : RotaryDecoderImpl(c) {}

protected:
    torch::Tensor layerForward(int64_t i, const torch::Tensor& h, const LayerContext& ctx, LayerCache& cache) override {
        Layer& b = m_layers[static_cast<size_t>(i)];
        auto& L = b.linears;  // qkv_proj o_proj gate_up_proj down_proj
        auto& N = b.norms;    // input, post-attention
        const int64_t H = m_config.numHeads, kvH = m_config.numKvHeads;
        const int64_t qDim = H * m_config.headDim, kvDim = m_config.kvDim(), I = m_config.intermediateSize;
        torch::Tensor x = N[0]->forward(h);
        torch::Tensor qkv = L[0]->forward(x);                       // [B,T,qDim+2kvDim]
        torch::Tensor q = heads(qkv.narrow(-1, 0, qDim), H);        // [B,H,T,D]
        torch::Tensor k = heads(qkv.narrow(-1, qDim, kvDim), kvH);  // [B,kvH,T,D]
        torch::Tensor v = heads(qkv.narrow(-1, qDim + kvDim, kvDim), kvH);
        torch::Tensor a = L[1]->forward(attend(i, q, k, v, ctx, cache));  // [B,T,C]
        BlockAdapter* ba = blockAdapter(i);
        if (ba) a = ba->afterAttention(a);
        torch::Tensor r = h + a;
        torch::Tensor gu = L[2]->forward(N[1]->forward(r));  // [B,T,2I]
        torch::Tensor m = L[3]->forward(gu.narrow(-1, I, I) * siluAct(gu.narrow(-1, 0, I)));
        if (ba) m = ba->afterMlp(m);
        return r + m;
    }
};

}  // namespace

CausalLM buildPhi3(const ModelConfig& c) { return std::make_shared<Phi3Impl>(c); }

}  // namespace peft
