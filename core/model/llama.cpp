// The Llama family: RMSNorm, RoPE (default, linear, llama3 scaling), grouped-query attention,
// SwiGLU. Mistral is Llama with a sliding window we do not need at these lengths; Qwen2 adds
// q/k/v biases (the architecture table carries that difference).
#include "core/model/causal_lm.h"
#include "core/model/layers.h"

namespace peft {

namespace {

struct LlamaBlock {
    RMSNorm inNorm{nullptr}, postNorm{nullptr};
    Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr}, gate{nullptr}, up{nullptr}, down{nullptr};
};

// RoPE inverse frequencies [D/2], in fp32 as transformers computes them.
torch::Tensor inverseFrequencies(const ModelConfig& c) {
    const int64_t D = c.headDim;
    torch::Tensor exps = torch::arange(0, D, 2, torch::kInt64).to(torch::kFloat32) / static_cast<float>(D);
    torch::Tensor inv = 1.0 / torch::pow(static_cast<float>(c.rope.theta), exps);
    if (c.rope.type == "linear") {
        inv = inv / static_cast<float>(c.rope.factor);
    } else if (c.rope.type == "llama3") {
        const double factor = c.rope.factor, lowF = c.rope.lowFreqFactor, highF = c.rope.highFreqFactor;
        const double oldCtx = static_cast<double>(c.rope.originalMaxPositions);
        const double lowWavelen = oldCtx / lowF, highWavelen = oldCtx / highF;
        torch::Tensor wavelen = 2 * M_PI / inv;
        // Long wavelengths are divided by the factor, short ones kept, the band between blended.
        torch::Tensor scaled = torch::where(wavelen > lowWavelen, inv / factor, inv);
        torch::Tensor smooth = (oldCtx / wavelen - lowF) / (highF - lowF);
        torch::Tensor smoothed = (1 - smooth) * scaled / factor + smooth * scaled;
        torch::Tensor medium = (wavelen >= highWavelen).logical_and(wavelen <= lowWavelen);
        inv = torch::where(medium, smoothed, scaled);
    }
    return inv.to(torch::kFloat32);
}

torch::Tensor rotateHalf(const torch::Tensor& x) {
    auto halves = x.chunk(2, -1);
    return torch::cat({-halves[1], halves[0]}, -1);
}

class LlamaImpl : public CausalLMImpl {
public:
    explicit LlamaImpl(const ModelConfig& c) : CausalLMImpl(c) {
        auto model = register_module("model", Container());
        m_embed = model->register_module("embed_tokens", Embedding(c.vocabSize, c.hiddenSize));
        auto list = model->register_module("layers", torch::nn::ModuleList());
        const auto& L = m_table.linears;  // q k v o gate up down
        for (int64_t i = 0; i < c.numLayers; ++i) {
            auto block = Container();
            LlamaBlock b;
            auto attn = block->register_module("self_attn", Container());
            auto mlp = block->register_module("mlp", Container());
            auto mk = [&](const auto& parent, const LinearSpec& s) {
                return parent->register_module(s.name, makeLinear(m_table.modulePath(i, s.path), s));
            };
            b.q = mk(attn, L[0]);
            b.k = mk(attn, L[1]);
            b.v = mk(attn, L[2]);
            b.o = mk(attn, L[3]);
            b.gate = mk(mlp, L[4]);
            b.up = mk(mlp, L[5]);
            b.down = mk(mlp, L[6]);
            b.inNorm = block->register_module("input_layernorm", RMSNorm(c.hiddenSize, c.normEps));
            b.postNorm = block->register_module("post_attention_layernorm", RMSNorm(c.hiddenSize, c.normEps));
            list->push_back(block);
            m_blocks.push_back(b);
        }
        m_norm = model->register_module("norm", RMSNorm(c.hiddenSize, c.normEps));
        if (!c.tieWordEmbeddings) {
            auto head = register_module("lm_head", Container());
            m_head = head->register_parameter("weight", torch::empty({c.vocabSize, c.hiddenSize}), false);
        }
        m_invFreq = inverseFrequencies(c);
    }

    torch::Tensor embeddingWeight() override { return m_embed->weight; }
    torch::Tensor lmHeadWeight() override { return m_head.defined() ? m_head : m_embed->weight; }

protected:
    torch::Tensor embedTokens(const torch::Tensor& ids) override { return m_embed->forward(ids); }

    std::pair<torch::Tensor, torch::Tensor> rope(const torch::Tensor& positions) override {
        torch::Tensor inv = m_invFreq.to(positions.device());
        torch::Tensor freqs = positions.to(torch::kFloat32).unsqueeze(1) * inv.unsqueeze(0);  // [T,D/2]
        torch::Tensor emb = torch::cat({freqs, freqs}, -1);                                    // [T,D]
        return {emb.cos().to(m_dtype), emb.sin().to(m_dtype)};
    }

    torch::Tensor layerForward(int64_t i, const torch::Tensor& h, const torch::Tensor& mask, const torch::Tensor& cos,
                               const torch::Tensor& sin, LayerCache& cache) override {
        LlamaBlock& b = m_blocks[static_cast<size_t>(i)];
        const int64_t B = h.size(0), T = h.size(1), H = m_config.numHeads, kvH = m_config.numKvHeads, D = m_config.headDim;
        torch::Tensor x = b.inNorm->forward(h);
        torch::Tensor q = b.q->forward(x).view({B, T, H, D}).transpose(1, 2);     // [B,H,T,D]
        torch::Tensor k = b.k->forward(x).view({B, T, kvH, D}).transpose(1, 2);   // [B,kvH,T,D]
        torch::Tensor v = b.v->forward(x).view({B, T, kvH, D}).transpose(1, 2);
        q = q * cos + rotateHalf(q) * sin;
        k = k * cos + rotateHalf(k) * sin;
        if (cache.k.defined()) {
            k = torch::cat({cache.k, k}, 2);
            v = torch::cat({cache.v, v}, 2);
        }
        cache.k = k;
        cache.v = v;
        torch::Tensor a = attention(q, k, v, mask, 1.0 / std::sqrt(static_cast<double>(D)));
        a = b.o->forward(a.transpose(1, 2).reshape({B, T, H * D}));
        BlockAdapter* ba = blockAdapter(i);
        if (ba) a = ba->afterAttention(a);
        torch::Tensor r = h + a;
        torch::Tensor y = b.postNorm->forward(r);
        torch::Tensor m = b.down->forward(siluAct(b.gate->forward(y)) * b.up->forward(y));
        if (ba) m = ba->afterMlp(m);
        return r + m;
    }

    torch::Tensor finalNorm(const torch::Tensor& h) override { return m_norm->forward(h); }

private:
    Embedding m_embed{nullptr};
    RMSNorm m_norm{nullptr};
    std::vector<LlamaBlock> m_blocks;
    torch::Tensor m_head;
    torch::Tensor m_invFreq;
};

}  // namespace

CausalLM buildLlama(const ModelConfig& c) { return std::make_shared<LlamaImpl>(c); }

CausalLM buildGpt2(const ModelConfig& c);

CausalLM buildModel(const ModelConfig& c) {
    // The one place a family picks its builder.
    return c.family == Family::Gpt2 ? buildGpt2(c) : buildLlama(c);
}

}  // namespace peft
