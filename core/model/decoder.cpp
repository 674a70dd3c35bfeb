// The rotary decoder skeleton and RoPE (see decoder.h), and the registry that picks each
// family's builder.
#include "core/model/decoder.h"

#include <cmath>
#include <map>

namespace peft {

torch::Tensor ropeInverseFrequencies(const RopeConfig& r, int64_t rotaryDim, bool longFactors) {
    const int64_t D = rotaryDim;
    torch::Tensor exps = torch::arange(0, D, 2, torch::kInt64).to(torch::kFloat32) / static_cast<float>(D);
    if (r.type == "longrope") {
        // Each frequency divided by its own factor: 1 / (factor_i * theta^(2i/D)).
        const std::vector<double>& f = longFactors ? r.longFactor : r.shortFactor;
        torch::Tensor ext = torch::tensor(f, torch::kFloat64).to(torch::kFloat32);
        return (1.0 / (ext * torch::pow(static_cast<float>(r.theta), exps))).to(torch::kFloat32);
    }
    torch::Tensor inv = 1.0 / torch::pow(static_cast<float>(r.theta), exps);
    if (r.type == "linear") {
        inv = inv / static_cast<float>(r.factor);
    } else if (r.type == "llama3") {
        const double factor = r.factor, lowF = r.lowFreqFactor, highF = r.highFreqFactor;
        const double oldCtx = static_cast<double>(r.originalMaxPositions);
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

RotaryTables::RotaryTables(const RopeConfig& r, int64_t rotaryDim)
    : m_inv(ropeInverseFrequencies(r, rotaryDim)),
      m_originalMax(r.originalMaxPositions),
      m_attentionFactor(r.attentionFactor) {
    if (r.type == "longrope") m_longInv = ropeInverseFrequencies(r, rotaryDim, true);
}

std::pair<torch::Tensor, torch::Tensor> RotaryTables::operator()(const torch::Tensor& positions,
                                                                 torch::Dtype dtype) const {
    // longrope, as transformers: the long factors for the whole pass once it reaches past the
    // original context (max position + 1 > original_max_position_embeddings).
    const bool useLong =
        m_longInv.defined() && positions.numel() > 0 && positions.max().item<int64_t>() + 1 > m_originalMax;
    torch::Tensor inv = (useLong ? m_longInv : m_inv).to(positions.device());
    torch::Tensor freqs = positions.to(torch::kFloat32).unsqueeze(1) * inv.unsqueeze(0);  // [T,rd/2]
    torch::Tensor emb = torch::cat({freqs, freqs}, -1);                                   // [T,rd]
    if (m_attentionFactor != 1.0)
        return {(emb.cos() * m_attentionFactor).to(dtype), (emb.sin() * m_attentionFactor).to(dtype)};
    return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

namespace {
torch::Tensor rotateHalf(const torch::Tensor& x) {
    auto halves = x.chunk(2, -1);
    return torch::cat({-halves[1], halves[0]}, -1);
}
}  // namespace

torch::Tensor applyRotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
    const int64_t rd = cos.size(-1), D = x.size(-1);
    if (rd == D) return x * cos + rotateHalf(x) * sin;
    // Partial rotary (Phi-3's partial_rotary_factor): the other dimensions pass unchanged.
    torch::Tensor xr = x.narrow(-1, 0, rd), xp = x.narrow(-1, rd, D - rd);
    return torch::cat({xr * cos + rotateHalf(xr) * sin, xp}, -1);
}

RotaryDecoderImpl::RotaryDecoderImpl(const ModelConfig& c) : CausalLMImpl(c) {
    const bool onePlus = m_table.traits.norm == NormKind::RmsNormOnePlus;
    auto model = register_module("model", Container());
    m_embed = model->register_module("embed_tokens", Embedding(c.vocabSize, c.hiddenSize));
    auto list = model->register_module("layers", torch::nn::ModuleList());
    for (int64_t i = 0; i < c.numLayers; ++i) {
        auto block = Container();
        std::map<std::string, Container> parents;  // "self_attn", "mlp"
        // A table path "self_attn.q_proj" is module q_proj inside container self_attn.
        auto parentOf = [&](const std::string& path, std::string& leaf) -> torch::nn::Module& {
            const size_t dot = path.find('.');
            if (dot == std::string::npos) {
                leaf = path;
                return *block;
            }
            leaf = path.substr(dot + 1);
            const std::string p = path.substr(0, dot);
            auto it = parents.find(p);
            if (it == parents.end()) it = parents.emplace(p, block->register_module(p, Container())).first;
            return *it->second;
        };
        Layer layer;
        for (const LinearSpec& s : m_table.linears) {
            std::string leaf;
            torch::nn::Module& parent = parentOf(s.path, leaf);
            layer.linears.push_back(parent.register_module(leaf, makeLinear(m_table.modulePath(i, s.path), s)));
        }
        for (const NormSpec& n : m_table.norms) {
            std::string leaf;
            torch::nn::Module& parent = parentOf(n.path, leaf);
            layer.norms.push_back(parent.register_module(leaf, RMSNorm(n.size, c.normEps, onePlus)));
        }
        list->push_back(block);
        m_layers.push_back(std::move(layer));
    }
    m_norm = model->register_module("norm", RMSNorm(c.hiddenSize, c.normEps, onePlus));
    if (!c.tieWordEmbeddings) {
        auto head = register_module("lm_head", Container());
        m_head = head->register_parameter("weight", torch::empty({c.vocabSize, c.hiddenSize}), false);
    }
    const int64_t rd = c.rotaryDim > 0 ? c.rotaryDim : c.headDim;
    m_rope = RotaryTables(c.rope, rd);
    // Sliding layers with a RoPE of their own (Gemma 3's rope_local_base_freq).
    m_hasLocalRope = m_table.traits.localRope && !c.slidingLayers.empty();
    if (m_hasLocalRope) m_localRope = RotaryTables(c.localRope, rd);
}

torch::Tensor RotaryDecoderImpl::embedTokens(const torch::Tensor& ids) {
    torch::Tensor e = m_embed->forward(ids);  // [B,T,C]
    if (!m_table.traits.embedScale) return e;
    // Gemma: times sqrt(hidden), the scale first rounded to the weights' dtype as transformers does.
    const double scale = std::sqrt(static_cast<double>(m_config.hiddenSize));
    return e * torch::scalar_tensor(scale, e.options().dtype(torch::kFloat32)).to(e.scalar_type());
}

void RotaryDecoderImpl::rope(const torch::Tensor& positions, LayerContext& ctx) {
    std::tie(ctx.cos, ctx.sin) = m_rope(positions, m_dtype);
    if (m_hasLocalRope) std::tie(ctx.localCos, ctx.localSin) = m_localRope(positions, m_dtype);
}

torch::Tensor RotaryDecoderImpl::heads(const torch::Tensor& x, int64_t n) const {
    return x.view({x.size(0), x.size(1), n, m_config.headDim}).transpose(1, 2);
}

torch::Tensor RotaryDecoderImpl::attend(int64_t i, torch::Tensor q, torch::Tensor k, torch::Tensor v,
                                        const LayerContext& ctx, LayerCache& cache) {
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
    const bool local = m_config.slidingLayer(i) && ctx.localCos.defined();
    const torch::Tensor& cos = local ? ctx.localCos : ctx.cos;
    const torch::Tensor& sin = local ? ctx.localSin : ctx.sin;
    q = applyRotary(q, cos, sin);
    k = applyRotary(k, cos, sin);
    if (cache.k.defined()) {
        k = torch::cat({cache.k, k}, 2);
        v = torch::cat({cache.v, v}, 2);
    }
    cache.k = k;
    cache.v = v;
    const double scale = m_config.queryScale > 0 ? m_config.queryScale : 1.0 / std::sqrt(static_cast<double>(D));
    torch::Tensor a = attention(q, k, v, layerMask(i, ctx), scale);  // [B,H,T,D]
    return a.transpose(1, 2).reshape({B, T, H * D});
}

CausalLM buildGpt2(const ModelConfig& c);
CausalLM buildLlama(const ModelConfig& c);
CausalLM buildPhi3(const ModelConfig& c);
CausalLM buildGemma3(const ModelConfig& c);

CausalLM buildModel(const ModelConfig& c) {
    // The one place a family picks its forward file.
    switch (c.family) {
        case Family::Gpt2: return buildGpt2(c);
        case Family::Qwen3: return buildLlama(c);  // Llama with q/k norms (traits.qkNorm)
        case Family::Phi3: return buildPhi3(c);
        case Family::Gemma3: return buildGemma3(c);
        case Family::Llama: break;
    }
    return buildLlama(c);
}

}  // namespace peft
