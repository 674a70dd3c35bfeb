// GPT-2: learned positions, LayerNorm, fused c_attn (Conv1D [in,out]), tanh-GELU MLP, tied head.
#include "core/model/causal_lm.h"
#include "core/model/layers.h"

#include <cstring>

namespace peft {

namespace {

// Head layout changes on CPU as single copy passes of whole head rows (D contiguous elements),
// forward and backward: [B,T,3C] -> q, k, v [B,H,T,D] contiguous, and [B,H,T,D] -> [B,T,C].
// The views they replace (split + view + transpose, transpose + reshape) made the attention
// products clone each operand through LibTorch's strided copy, and their backward ran the same
// clones plus a cat of the three gradients. Same values, fewer passes.
void copyHeadRows(const char* src, char* dst, int64_t B, int64_t T, int64_t H, int64_t D, int64_t srcRow,
                  int64_t srcOff, int64_t es, bool toHeads) {
    // toHeads: dst[b,h,t,:] = src[b,t, srcOff + h*D + :] (src rows srcRow elements long);
    // otherwise the reverse.
    at::parallel_for(0, B * T, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t bt = r0; bt < r1; ++bt) {
            const int64_t b = bt / T, t = bt % T;
            for (int64_t h = 0; h < H; ++h) {
                const int64_t tok = (bt * srcRow + srcOff + h * D) * es, head = (((b * H + h) * T + t) * D) * es;
                if (toHeads) std::memcpy(dst + head, src + tok, static_cast<size_t>(D * es));
                else std::memcpy(dst + tok, src + head, static_cast<size_t>(D * es));
            }
        }
    });
}

struct SplitHeadsCpu : torch::autograd::Function<SplitHeadsCpu> {
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& qkv,
                                                  int64_t H) {
        torch::Tensor src = qkv.contiguous();
        const int64_t B = src.size(0), T = src.size(1), C = src.size(2) / 3, D = C / H, es = src.element_size();
        torch::autograd::variable_list out;
        for (int64_t part = 0; part < 3; ++part) {
            torch::Tensor t = torch::empty({B, H, T, D}, src.options());
            copyHeadRows(static_cast<const char*>(src.data_ptr()), static_cast<char*>(t.data_ptr()), B, T, H, D, 3 * C,
                         part * C, es, true);
            out.push_back(t);
        }
        ctx->saved_data["H"] = H;
        return out;
    }
    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list g) {
        const int64_t H = ctx->saved_data["H"].toInt();
        torch::Tensor any = g[0].defined() ? g[0] : (g[1].defined() ? g[1] : g[2]);
        const int64_t B = any.size(0), T = any.size(2), D = any.size(3), C = H * D;
        torch::Tensor dqkv = torch::empty({B, T, 3 * C}, any.options());
        for (int64_t part = 0; part < 3; ++part) {
            if (!g[part].defined()) {
                dqkv.narrow(2, part * C, C).zero_();
                continue;
            }
            torch::Tensor gc = g[part].to(any.scalar_type()).contiguous();
            copyHeadRows(static_cast<const char*>(gc.data_ptr()), static_cast<char*>(dqkv.data_ptr()), B, T, H, D,
                         3 * C, part * C, dqkv.element_size(), false);
        }
        return {dqkv, torch::Tensor()};
    }
};

struct MergeHeadsCpu : torch::autograd::Function<MergeHeadsCpu> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a) {
        torch::Tensor src = a.contiguous();  // [B,H,T,D]
        const int64_t B = src.size(0), H = src.size(1), T = src.size(2), D = src.size(3);
        torch::Tensor out = torch::empty({B, T, H * D}, src.options());
        copyHeadRows(static_cast<const char*>(src.data_ptr()), static_cast<char*>(out.data_ptr()), B, T, H, D, H * D, 0,
                     src.element_size(), false);
        ctx->saved_data["H"] = H;
        return out;
    }
    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list g) {
        torch::Tensor gc = g[0].contiguous();  // [B,T,C]
        const int64_t H = ctx->saved_data["H"].toInt();
        const int64_t B = gc.size(0), T = gc.size(1), D = gc.size(2) / H;
        torch::Tensor ga = torch::empty({B, H, T, D}, gc.options());
        copyHeadRows(static_cast<const char*>(gc.data_ptr()), static_cast<char*>(ga.data_ptr()), B, T, H, D, H * D, 0,
                     gc.element_size(), true);
        return {ga};
    }
};

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
            b.cAttn =
                attn->register_module("c_attn", makeLinear(m_table.modulePath(i, "attn.c_attn"), m_table.linears[0]));
            b.cProj =
                attn->register_module("c_proj", makeLinear(m_table.modulePath(i, "attn.c_proj"), m_table.linears[1]));
            b.ln2 = block->register_module("ln_2", LayerNorm(c.hiddenSize, c.normEps));
            auto mlp = block->register_module("mlp", Container());
            b.cFc = mlp->register_module("c_fc", makeLinear(m_table.modulePath(i, "mlp.c_fc"), m_table.linears[2]));
            b.mlpProj =
                mlp->register_module("c_proj", makeLinear(m_table.modulePath(i, "mlp.c_proj"), m_table.linears[3]));
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
            throw std::runtime_error("sequence of " + std::to_string(past + T) +
                                     " tokens exceeds GPT-2's n_positions " + std::to_string(m_config.maxPositions) +
                                     "; lower max_length");
        torch::Tensor pos =
            torch::arange(past, past + T, torch::TensorOptions().dtype(torch::kInt64).device(h.device()));
        return h + m_wpe->forward(pos).to(h.scalar_type()).unsqueeze(0);
    }

    torch::Tensor layerForward(int64_t i, const torch::Tensor& h, const LayerContext& ctx, LayerCache& cache) override {
        const torch::Tensor& mask = ctx.mask;
        Gpt2Block& b = m_blocks[static_cast<size_t>(i)];
        const int64_t B = h.size(0), T = h.size(1), C = m_config.hiddenSize, H = m_config.numHeads,
                      D = m_config.headDim;
        torch::Tensor qkv = b.cAttn->forward(b.ln1->forward(h));  // [B,T,C] -> [B,T,3C]
        const bool cpuCopies = qkv.is_cpu() && qkv.dim() == 3;
        torch::Tensor q, k, v;  // [B,H,T,D]
        if (cpuCopies) {
            auto qkvHeads = SplitHeadsCpu::apply(qkv, H);
            q = qkvHeads[0], k = qkvHeads[1], v = qkvHeads[2];
        } else {
            auto parts = qkv.split(C, 2);
            auto heads = [&](const torch::Tensor& t) { return t.view({B, T, H, D}).transpose(1, 2); };
            q = heads(parts[0]), k = heads(parts[1]), v = heads(parts[2]);
        }
        if (cache.k.defined()) {
            k = torch::cat({cache.k, k}, 2);
            v = torch::cat({cache.v, v}, 2);
        }
        cache.k = k;
        cache.v = v;
        torch::Tensor a = attention(q, k, v, mask, 1.0 / std::sqrt(static_cast<double>(D)));  // [B,H,T,D]
        a = b.cProj->forward(cpuCopies ? MergeHeadsCpu::apply(a) : a.transpose(1, 2).reshape({B, T, C}));
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
