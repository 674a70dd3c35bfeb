// GPT-2: learned positions, LayerNorm, fused c_attn (Conv1D [in,out]), tanh-GELU MLP, tied head.
#include "core/model/causal_lm.h"
#include "core/model/layers.h"

namespace peft {

namespace {

struct Gpt2Block {
    LayerNorm ln1{nullptr}, ln2{nullptr};
    Linear cAttn{nullptr}, cProj{nullptr}, cFc{nullptr}, mlpProj{nullptr};
};

class Gpt2Impl : public CausalLMImpl {
public:
    explicit Gpt2Impl(const ModelConfig& c) : CausalLMImpl(c) {
        auto tr = register_module("transformer", Container());
        m_wte = tr->register_module("wte", Embedding(c.vocabSize, c.hiddenSize));
        m_wpe = tr->register_module("wpe", Embedding(c.maxPositions, c.hiddenSize));
        auto list = tr->register_module("h", torch::nn::ModuleList());
        for (int64_t i = 0; i < c.numLayers; ++i) {
            auto block = Container();
            Gpt2Block b;
            b.ln1 = block->register_module("ln_1", LayerNorm(c.hiddenSize, c.normEps));
            auto attn = block->register_module("attn", Container());
            b.cAttn = attn->register_module("c_attn", makeLinear(m_table.modulePath(i, "attn.c_attn"), m_table.linears[0]));
            b.cProj = attn->register_module("c_proj", makeLinear(m_table.modulePath(i, "attn.c_proj"), m_table.linears[1]));
            b.ln2 = block->register_module("ln_2", LayerNorm(c.hiddenSize, c.normEps));
            auto mlp = block->register_module("mlp", Container());
            b.cFc = mlp->register_module("c_fc", makeLinear(m_table.modulePath(i, "mlp.c_fc"), m_table.linears[2]));
            b.mlpProj = mlp->register_module("c_proj", makeLinear(m_table.modulePath(i, "mlp.c_proj"), m_table.linears[3]));
            list->push_back(block);
            m_blocks.push_back(b);
        }
        m_lnF = tr->register_module("ln_f", LayerNorm(c.hiddenSize, c.normEps));
        if (!c.tieWordEmbeddings) {
            auto head = register_module("lm_head", Container());
            m_head = head->register_parameter("weight", torch::empty({c.vocabSize, c.hiddenSize}), false);
        }
    }

    torch::Tensor embeddingWeight() override { return m_wte->weight; }
    torch::Tensor lmHeadWeight() override { return m_head.defined() ? m_head : m_wte->weight; }

protected:
    torch::Tensor embedTokens(const torch::Tensor& ids) override { return m_wte->forward(ids); }

    torch::Tensor addPositions(const torch::Tensor& h, int64_t past) override {
        const int64_t T = h.size(1);
        if (past + T > m_config.maxPositions)
            throw std::runtime_error("sequence of " + std::to_string(past + T) + " tokens exceeds GPT-2's n_positions " +
                                     std::to_string(m_config.maxPositions) + "; lower max_length");
        torch::Tensor pos = torch::arange(past, past + T, torch::TensorOptions().dtype(torch::kInt64).device(h.device()));
        return h + m_wpe->forward(pos).to(h.scalar_type()).unsqueeze(0);
    }

    torch::Tensor layerForward(int64_t i, const torch::Tensor& h, const torch::Tensor& mask, const torch::Tensor&,
                               const torch::Tensor&, LayerCache& cache) override {
        Gpt2Block& b = m_blocks[static_cast<size_t>(i)];
        const int64_t B = h.size(0), T = h.size(1), C = m_config.hiddenSize, H = m_config.numHeads, D = m_config.headDim;
        torch::Tensor qkv = b.cAttn->forward(b.ln1->forward(h));  // [B,T,C] -> [B,T,3C]
        auto parts = qkv.split(C, 2);
        auto heads = [&](const torch::Tensor& t) { return t.view({B, T, H, D}).transpose(1, 2); };  // [B,H,T,D]
        torch::Tensor q = heads(parts[0]), k = heads(parts[1]), v = heads(parts[2]);
        if (cache.k.defined()) {
            k = torch::cat({cache.k, k}, 2);
            v = torch::cat({cache.v, v}, 2);
        }
        cache.k = k;
        cache.v = v;
        torch::Tensor a = attention(q, k, v, mask, 1.0 / std::sqrt(static_cast<double>(D)));  // [B,H,T,D]
        a = b.cProj->forward(a.transpose(1, 2).reshape({B, T, C}));
        BlockAdapter* ba = blockAdapter(i);
        if (ba) a = ba->afterAttention(a);
        torch::Tensor x = h + a;
        torch::Tensor m = b.mlpProj->forward(geluTanh(b.cFc->forward(b.ln2->forward(x))));
        if (ba) m = ba->afterMlp(m);
        return x + m;
    }

    torch::Tensor finalNorm(const torch::Tensor& h) override { return m_lnF->forward(h); }

private:
    Embedding m_wte{nullptr}, m_wpe{nullptr};
    LayerNorm m_lnF{nullptr};
    std::vector<Gpt2Block> m_blocks;
    torch::Tensor m_head;
};

}  // namespace


CausalLM buildGpt2(const ModelConfig& c) { return std::make_shared<Gpt2Impl>(c); }

}  // namespace peft
