// Shared decoder forward pass: embeddings, prompt/prefix adapters, masks, layers, head.
#include "core/model/causal_lm.h"

#include "core/model/softmax_cpu.h"
#include "core/util/error.h"

namespace peft {

CausalLMImpl::CausalLMImpl(ModelConfig config)
    : m_config(std::move(config)), m_table(archTable(m_config)), m_state(std::make_shared<AdapterState>()) {
    m_blockAdapters.resize(static_cast<size_t>(m_config.numLayers));
}

Linear CausalLMImpl::makeLinear(const std::string& path, const LinearSpec& spec) {
    Linear l(path, spec.in, spec.out, spec.bias, spec.conv1d, m_state);
    m_linears.insert_or_assign(path, l);
    return l;
}

std::vector<std::pair<std::string, Linear>> CausalLMImpl::linears() const {
    std::vector<std::pair<std::string, Linear>> out;
    // Forward order: layer by layer, in the table's order.
    for (int64_t i = 0; i < m_config.numLayers; ++i)
        for (const auto& s : m_table.linears) {
            std::string p = m_table.modulePath(i, s.path);
            auto it = m_linears.find(p);
            if (it != m_linears.end()) out.emplace_back(p, it->second);
        }
    return out;
}

Linear CausalLMImpl::linear(const std::string& path) const {
    auto it = m_linears.find(path);
    if (it == m_linears.end()) throw PeftError("no linear module named '" + path + "' in this model");
    return it->second;
}

void CausalLMImpl::setBlockAdapter(int64_t layer, const std::string& name, std::shared_ptr<BlockAdapter> a) {
    m_blockAdapters.at(static_cast<size_t>(layer))[name] = std::move(a);
}
void CausalLMImpl::setPromptProvider(const std::string& name, std::shared_ptr<PromptProvider> p) {
    m_prompts[name] = std::move(p);
}
void CausalLMImpl::setPrefixProvider(const std::string& name, std::shared_ptr<PrefixProvider> p) {
    m_prefixes[name] = std::move(p);
}

void CausalLMImpl::removeAdapterEverywhere(const std::string& name) {
    for (auto& [p, l] : m_linears) l->removeAdapter(name);
    for (auto& m : m_blockAdapters) m.erase(name);
    m_prompts.erase(name);
    m_prefixes.erase(name);
}

std::shared_ptr<PromptProvider> CausalLMImpl::activePrompt() const {
    if (!m_state->enabled) return nullptr;
    auto it = m_prompts.find(m_state->active);
    return it == m_prompts.end() ? nullptr : it->second;
}
std::shared_ptr<PrefixProvider> CausalLMImpl::activePrefix() const {
    if (!m_state->enabled) return nullptr;
    auto it = m_prefixes.find(m_state->active);
    return it == m_prefixes.end() ? nullptr : it->second;
}
BlockAdapter* CausalLMImpl::blockAdapter(int64_t layer) const {
    if (!m_state->enabled) return nullptr;
    const auto& m = m_blockAdapters[static_cast<size_t>(layer)];
    auto it = m.find(m_state->active);
    return it == m.end() ? nullptr : it->second.get();
}

torch::Tensor CausalLMImpl::hiddenStates(const torch::Tensor& ids, const torch::Tensor& attentionMask, KVCache* cache) {
    if (ids.dim() != 2)
        throw PeftError("input_ids must be [batch, tokens], got " + std::to_string(ids.dim()) + " dims");
    int64_t maxId = ids.numel() ? ids.max().item<int64_t>() : 0;
    int64_t minId = ids.numel() ? ids.min().item<int64_t>() : 0;
    if (minId < 0 || maxId >= m_config.vocabSize)
        throw PeftError("token id " + std::to_string(minId < 0 ? minId : maxId) + " is outside the vocabulary of " +
                        std::to_string(m_config.vocabSize));
    return hiddenStatesFromEmbeddings(embedTokens(ids), attentionMask, cache);
}

torch::Tensor CausalLMImpl::hiddenStatesFromEmbeddings(torch::Tensor h, torch::Tensor mask, KVCache* cache) {
    const int64_t B = h.size(0);
    auto dev = h.device();
    KVCache local;
    KVCache& kv = cache ? *cache : local;
    if (!mask.defined()) mask = torch::ones({B, h.size(1)}, torch::TensorOptions().dtype(torch::kInt64).device(dev));
    const bool first = kv.length() == 0;
    if (first) {
        kv.layers.assign(static_cast<size_t>(m_config.numLayers), LayerCache{});
        // Prefix tuning: the prefixes become the first keys of every layer.
        if (auto prefix = activePrefix()) {
            auto pkv = prefix->keyValues(B);
            for (size_t i = 0; i < pkv.size(); ++i) {
                kv.layers[i].k = pkv[i].k.to(m_dtype);
                kv.layers[i].v = pkv[i].v.to(m_dtype);
            }
            kv.keyMask = torch::ones({B, prefix->length()}, mask.options());
        }
        // Prompt tuning: virtual tokens join the sequence (and the logits).
        if (auto prompt = activePrompt()) {
            torch::Tensor virt = prompt->embeddings(B).to(h.scalar_type());  // [B,P,C]
            h = torch::cat({virt, h}, 1);
            mask = torch::cat({torch::ones({B, prompt->numVirtualTokens()}, mask.options()), mask}, 1);
        }
    }
    const int64_t T = h.size(1);
    const int64_t past = kv.length();
    // Positions of new tokens: after everything in the cache (prefix tuning shifts real tokens).
    h = addPositions(h.to(m_dtype), past);
    kv.keyMask = kv.keyMask.defined() ? torch::cat({kv.keyMask, mask}, 1) : mask;
    const int64_t Tk = kv.length();

    auto opts = torch::TensorOptions().device(dev);
    // No cache, no prefix and no padding (or only right padding, under setPadRowsUnread): a plain
    // causal mask that attention() applies itself (fused kernels, no [B,1,T,Tk] tensor).
    // Otherwise an additive mask.
    bool plainCausal = past == 0 && Tk == T && T > 1;
    if (plainCausal) {
        const torch::Tensor& km = kv.keyMask;
        // Without padding, or (setPadRowsUnread, no cache to keep) with every row's padding at its end.
        plainCausal = (m_padRowsUnread && !cache) ? (km.slice(1, 1) <= km.slice(1, 0, Tk - 1)).all().item<bool>()
                                                  : km.all().item<bool>();
    }
    LayerContext ctx;
    if (!plainCausal) ctx.mask = additiveMask(kv.keyMask, past, T, opts);
    // Sliding-window layers need their own mask once some key lies outside the window.
    if (!m_config.slidingLayers.empty() && Tk > m_config.slidingWindow)
        ctx.slidingMask = additiveMask(kv.keyMask, past, T, opts, m_config.slidingWindow);

    rope(torch::arange(past, past + T, opts.dtype(torch::kInt64)), ctx);
    for (int64_t i = 0; i < m_config.numLayers; ++i) h = layerForward(i, h, ctx, kv.layers[static_cast<size_t>(i)]);
    return finalNorm(h);
}

torch::Tensor CausalLMImpl::additiveMask(const torch::Tensor& keyMask, int64_t past, int64_t T,
                                         const torch::TensorOptions& opts, int64_t window) const {
    // Additive mask [B,1,T,Tk]: causal (query i sees keys <= past+i) and key padding.
    const int64_t B = keyMask.size(0), Tk = keyMask.size(1);
    torch::Tensor qpos = torch::arange(past, past + T, opts.dtype(torch::kInt64)).unsqueeze(1);  // [T,1]
    torch::Tensor kpos = torch::arange(0, Tk, opts.dtype(torch::kInt64)).unsqueeze(0);           // [1,Tk]
    torch::Tensor seen = kpos <= qpos;                                                           // [T,Tk]
    if (window > 0) seen = seen & (qpos - kpos < window);  // transformers: kv_idx > q_idx - window
    torch::Tensor allowed = seen.unsqueeze(0) & keyMask.to(torch::kBool).unsqueeze(1);  // [B,T,Tk]
    return torch::zeros({B, 1, T, Tk}, opts.dtype(m_dtype))
        .masked_fill(allowed.logical_not().unsqueeze(1), maskValue(m_dtype));
}

torch::Tensor CausalLMImpl::lmHead(const torch::Tensor& hidden) {
    torch::Tensor w = lmHeadWeight();
    return torch::nn::functional::linear(hidden, w.to(hidden.scalar_type()));
}

torch::Tensor CausalLMImpl::forward(const torch::Tensor& ids, const torch::Tensor& attentionMask, KVCache* cache) {
    return lmHead(hiddenStates(ids, attentionMask, cache));
}

void CausalLMImpl::enableClassification(int64_t numLabels) {
    if (m_score.defined()) return;
    m_scoreModule = std::make_shared<torch::nn::Module>();
    // transformers initialises the fresh head N(0, initializer_range = 0.02).
    m_score = m_scoreModule->register_parameter(
        "weight",
        torch::randn({numLabels, m_config.hiddenSize}, lmHeadWeight().options().dtype(torch::kFloat32)) * 0.02, false);
    register_module("score", m_scoreModule);
}

torch::Tensor CausalLMImpl::classify(const torch::Tensor& ids, const torch::Tensor& attentionMask) {
    if (!m_score.defined()) throw PeftError("the model has no classification head; enable it first");
    torch::Tensor h = hiddenStates(ids, attentionMask);                                    // [B,T',C]
    torch::Tensor logits = torch::nn::functional::linear(h, m_score.to(h.scalar_type()));  // [B,T',L]
    const int64_t B = ids.size(0), T = ids.size(1), offset = h.size(1) - T;
    torch::Tensor last;
    if (m_config.padTokenId >= 0) {
        // transformers: the rightmost token that is not padding.
        torch::Tensor nonPad = ids.ne(m_config.padTokenId).to(torch::kInt64);
        torch::Tensor idx = torch::arange(T, ids.options().dtype(torch::kInt64));
        last = (idx * nonPad).argmax(-1);
    } else {
        last = torch::full({B}, T - 1, ids.options().dtype(torch::kInt64));
    }
    torch::Tensor rows = torch::arange(B, last.options());
    return logits.index({rows, last + offset});
}

double maskValue(torch::Dtype dtype) {
    return dtype == torch::kFloat32 ? std::numeric_limits<float>::lowest() : -3.3895e38;
}

namespace {

// Causal attention probabilities on CPU for fp32/bf16 scores [.., T, T]: scale, mask and softmax
// in one fused pass (softmax_cpu.h) instead of mul, masked_fill, fp32 softmax and a cast back;
// saves only the probabilities, and the backward is one pass too.
struct CausalSoftmaxCpu : torch::autograd::Function<CausalSoftmaxCpu> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& scores, double scale) {
        torch::Tensor s = scores.contiguous();
        torch::Tensor p = torch::empty_like(s);
        const int64_t T = s.size(-1), mats = s.numel() / (T * T);
        const bool bf16 = s.scalar_type() == torch::kBFloat16;
        const float sc = static_cast<float>(scale);
        at::parallel_for(0, mats, 1, [&](int64_t b, int64_t e) {
            const int64_t off = b * T * T, rows = (e - b) * T;
            if (bf16)
                kernels::causalSoftmaxForward(reinterpret_cast<const uint16_t*>(s.data_ptr()) + off,
                                              reinterpret_cast<uint16_t*>(p.data_ptr()) + off, rows, T, sc);
            else kernels::causalSoftmaxForward(s.data_ptr<float>() + off, p.data_ptr<float>() + off, rows, T, sc);
        });
        ctx->save_for_backward({p});
        ctx->saved_data["scale"] = scale;
        return p;
    }
    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list g) {
        torch::Tensor p = ctx->get_saved_variables()[0];
        const float sc = static_cast<float>(ctx->saved_data["scale"].toDouble());
        torch::Tensor gc = g[0].to(p.scalar_type()).contiguous();
        torch::Tensor gs = torch::empty_like(p);
        const int64_t T = p.size(-1), mats = p.numel() / (T * T);
        const bool bf16 = p.scalar_type() == torch::kBFloat16;
        at::parallel_for(0, mats, 1, [&](int64_t b, int64_t e) {
            const int64_t off = b * T * T, rows = (e - b) * T;
            if (bf16)
                kernels::causalSoftmaxBackward(reinterpret_cast<const uint16_t*>(p.data_ptr()) + off,
                                               reinterpret_cast<const uint16_t*>(gc.data_ptr()) + off,
                                               reinterpret_cast<uint16_t*>(gs.data_ptr()) + off, rows, T, sc);
            else
                kernels::causalSoftmaxBackward(p.data_ptr<float>() + off, gc.data_ptr<float>() + off,
                                               gs.data_ptr<float>() + off, rows, T, sc);
        });
        return {gs, torch::Tensor()};
    }
};

}  // namespace

bool fusedAttentionAvailable() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
    return true;
#else
    return false;
#endif
}

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        const torch::Tensor& mask, double scale) {
    const int64_t H = q.size(1), kvH = k.size(1), T = q.size(2), Tk = k.size(2);
    // Undefined mask: causal over equal-length queries and keys (see hiddenStatesFromEmbeddings).
    const bool causal = !mask.defined() && T == Tk && T > 1;
    torch::Tensor kk = k, vv = v;
    if (kvH != H) {
        // Grouped-query attention: query head h reads key/value head h / (H / kvH).
        kk = k.repeat_interleave(H / kvH, 1);
        vv = v.repeat_interleave(H / kvH, 1);
    }
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
    // An undefined Tensor is not "no mask" to SDPA: pass nullopt for the plain causal case.
    const c10::optional<at::Tensor> attnMask = mask.defined() ? c10::optional<at::Tensor>(mask) : c10::nullopt;
    return at::scaled_dot_product_attention(q, kk, vv, attnMask, 0.0, causal, scale);
#else
    if (causal && q.is_cpu() && (q.scalar_type() == torch::kFloat32 || q.scalar_type() == torch::kBFloat16))
        return torch::matmul(CausalSoftmaxCpu::apply(torch::matmul(q, kk.transpose(-2, -1)), scale), vv);
    torch::Tensor scores = torch::matmul(q, kk.transpose(-2, -1)) * scale;  // [B,H,T,Tk]
    if (mask.defined()) scores = scores + mask;
    else if (causal)
        scores.masked_fill_(torch::ones({T, Tk}, q.options().dtype(torch::kBool)).triu(1), maskValue(q.scalar_type()));
    torch::Tensor probs = torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type());
    return torch::matmul(probs, vv);  // [B,H,T,D]
#endif
}

}  // namespace peft
