// Checks budget/'s activation + gradient estimate against what LibTorch really allocates: small
// eager GPT-2 and Llama stacks written the plain way (softmax attention with a [B,H,T,T] matrix,
// cross-entropy on fp32 logits) run forward + backward under a counting CPU allocator, for full
// fine-tuning, LoRA, IA3, prompt and prefix tuning. The measured peak above the weights must lie
// within 25% of the estimate.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <atomic>
#include <cstdio>

#include "core/budget/budget.h"
#include "core/io/architecture.h"
#include "core/io/model_config.h"
#include "core/peft/method_spec.h"

using nlohmann::json;
using namespace peft;

namespace {

// ---- A counting CPU allocator: current and peak bytes of live tensor storage. ----------------
std::atomic<int64_t> gCurrent{0};
std::atomic<int64_t> gPeak{0};

struct Record {
    void* ptr;
    size_t n;
};
void countingDelete(void* ctx) {
    auto* r = static_cast<Record*>(ctx);
    c10::free_cpu(r->ptr);
    gCurrent -= static_cast<int64_t>(r->n);
    delete r;
}
class CountingAllocator : public c10::Allocator {
public:
    c10::DataPtr allocate(size_t n) const override {
        void* p = n ? c10::alloc_cpu(n) : nullptr;
        const int64_t now = gCurrent += static_cast<int64_t>(n);
        int64_t old = gPeak.load();
        while (now > old && !gPeak.compare_exchange_weak(old, now)) {
        }
        return {p, new Record{p, n}, &countingDelete, c10::Device(c10::DeviceType::CPU)};
    }
    c10::DeleterFnPtr raw_deleter() const override { return nullptr; }
};
CountingAllocator gAlloc;

// ---- A plain eager decoder ---------------------------------------------------------------------
struct Adapter {
    torch::Tensor a, b;  // LoRA [r,in], [out,r]
    torch::Tensor ia3;   // [out] or [in]
    bool ia3Input = false;
};

struct Net {
    ModelConfig mc;
    std::vector<std::vector<torch::Tensor>> w;      // per layer: linear weights in ArchTable order
    std::vector<std::vector<torch::Tensor>> bias;   // GPT-2 biases
    std::vector<std::vector<torch::Tensor>> norms;  // per layer: norm weights (and biases for GPT-2)
    std::vector<std::map<int, Adapter>> adapters;   // per layer: linear index -> adapter
    torch::Tensor embed, pos, finalNorm, finalNormB, lmHead;
    torch::Tensor prompt;                         // [P, H]
    std::vector<torch::Tensor> prefixK, prefixV;  // per layer [P, kvDim]
    std::vector<torch::Tensor> params;            // every trainable tensor
};

torch::Tensor randn(std::vector<int64_t> s, bool grad) { return (torch::randn(s) * 0.02).set_requires_grad(grad); }

Net build(const ModelConfig& mc, const json& cfg) {
    torch::manual_seed(0);
    Net n;
    n.mc = mc;
    const std::string type = peftTypeOf(cfg, "test");
    const bool full = type == "FULL";
    const ArchTable a = archTable(mc);
    const int64_t H = mc.hiddenSize;
    n.embed = randn({mc.vocabSize, H}, full);
    if (mc.family == Family::Gpt2) n.pos = randn({mc.maxPositions, H}, full);
    for (int64_t l = 0; l < mc.numLayers; ++l) {
        std::vector<torch::Tensor> ws, bs, ns;
        for (const auto& s : a.linears) {
            ws.push_back(randn({s.out, s.in}, full));
            bs.push_back(s.bias ? randn({s.out}, full) : torch::Tensor());
        }
        for (const auto& s : a.norms) {
            ns.push_back((torch::ones({s.size})).set_requires_grad(full));
            if (s.bias) ns.push_back(torch::zeros({s.size}).set_requires_grad(full));
        }
        n.w.push_back(ws);
        n.bias.push_back(bs);
        n.norms.push_back(ns);
        n.adapters.emplace_back();
    }
    n.finalNorm = torch::ones({H}).set_requires_grad(full);
    if (mc.family == Family::Gpt2) n.finalNormB = torch::zeros({H}).set_requires_grad(full);
    n.lmHead = mc.tieWordEmbeddings ? n.embed : randn({mc.vocabSize, H}, full);
    if (full) {
        for (auto& v : n.w)
            for (auto& t : v) n.params.push_back(t);
    }
    // Adapters, placed from the same target selection the estimate uses (via the spec's saved keys).
    if (type == "LORA" || type == "IA3") {
        for (const auto& t : methodSpec(type).savedTensors(mc, cfg)) {
            for (int64_t l = 0; l < mc.numLayers; ++l)
                for (size_t i = 0; i < a.linears.size(); ++i) {
                    const std::string p = "base_model.model." + a.modulePath(l, a.linears[i].path) + ".";
                    if (t.key.rfind(p, 0) != 0) continue;
                    const std::string rest = t.key.substr(p.size());
                    Adapter& ad = n.adapters[static_cast<size_t>(l)][static_cast<int>(i)];
                    if (rest == "lora_A.weight") ad.a = randn(t.shape, true);
                    if (rest == "lora_B.weight") ad.b = randn(t.shape, true);
                    if (rest == "ia3_l") {
                        ad.ia3Input = t.shape[0] == 1;
                        ad.ia3 = (torch::ones({t.shape[0] * t.shape[1]})).set_requires_grad(true);
                    }
                }
        }
        for (auto& m : n.adapters)
            for (auto& [i, ad] : m)
                for (auto* t : {&ad.a, &ad.b, &ad.ia3})
                    if (t->defined()) n.params.push_back(*t);
    }
    if (type == "PROMPT_TUNING") {
        n.prompt = randn({cfg["num_virtual_tokens"].get<int64_t>(), H}, true);
        n.params.push_back(n.prompt);
    }
    if (type == "PREFIX_TUNING") {
        for (int64_t l = 0; l < mc.numLayers; ++l) {
            n.prefixK.push_back(randn({cfg["num_virtual_tokens"].get<int64_t>(), mc.kvDim()}, true));
            n.prefixV.push_back(randn({cfg["num_virtual_tokens"].get<int64_t>(), mc.kvDim()}, true));
            n.params.push_back(n.prefixK.back());
            n.params.push_back(n.prefixV.back());
        }
    }
    return n;
}

torch::Tensor lin(const Net& n, int64_t l, int i, const torch::Tensor& x) {
    const auto& ad = n.adapters[static_cast<size_t>(l)];
    auto it = ad.find(i);
    const torch::Tensor& b = n.bias[static_cast<size_t>(l)][static_cast<size_t>(i)];
    const torch::Tensor& W = n.w[static_cast<size_t>(l)][static_cast<size_t>(i)];
    if (it == ad.end()) return torch::linear(x, W, b);
    const Adapter& a = it->second;
    if (a.ia3.defined()) {
        if (a.ia3Input) return torch::linear(x * a.ia3, W, b);
        return torch::linear(x, W, b) * a.ia3;
    }
    return torch::linear(x, W, b) + torch::linear(torch::linear(x, a.a), a.b) * 2.0;
}

torch::Tensor rmsnorm(const torch::Tensor& x, const torch::Tensor& w) {
    return x * torch::rsqrt(x.pow(2).mean(-1, true) + 1e-6) * w;
}

torch::Tensor rotate(const torch::Tensor& x) {
    const int64_t h = x.size(-1) / 2;
    return torch::cat({-x.narrow(-1, h, h), x.narrow(-1, 0, h)}, -1);
}

torch::Tensor forwardLoss(const Net& n, const torch::Tensor& ids, const torch::Tensor& labels) {
    const ModelConfig& mc = n.mc;
    const int64_t B = ids.size(0), T = ids.size(1), H = mc.hiddenSize, nh = mc.numHeads, nkv = mc.numKvHeads,
                  d = mc.headDim;
    const bool gpt2 = mc.family == Family::Gpt2;
    torch::Tensor x = torch::embedding(n.embed, ids);  // [B,T,H]
    if (gpt2) x = x + torch::embedding(n.pos, torch::arange(T));
    int64_t P = 0;
    if (n.prompt.defined()) {
        P = n.prompt.size(0);
        x = torch::cat({n.prompt.unsqueeze(0).expand({B, P, H}), x}, 1);
    }
    const int64_t Tq = T + P;
    const int64_t Pk = n.prefixK.empty() ? 0 : n.prefixK[0].size(0);
    const int64_t Tk = Tq + Pk;
    torch::Tensor mask = torch::ones({Tq, Tk}, torch::kBool).triu(1 + Pk);  // true = hidden
    torch::Tensor inv = torch::pow(10000.0, -torch::arange(0, d, 2, torch::kFloat) / d);
    torch::Tensor ang = torch::outer(torch::arange(Tq, torch::kFloat), inv);
    torch::Tensor cos = torch::cat({ang.cos(), ang.cos()}, -1), sin = torch::cat({ang.sin(), ang.sin()}, -1);
    const double scale = 1.0 / std::sqrt(static_cast<double>(d));
    for (int64_t l = 0; l < mc.numLayers; ++l) {
        const auto& nw = n.norms[static_cast<size_t>(l)];
        torch::Tensor q, k, v, h;
        if (gpt2) {
            h = torch::layer_norm(x, {H}, nw[0], nw[1], 1e-5);
            auto qkv = lin(n, l, 0, h).split(H, -1);
            q = qkv[0].view({B, Tq, nh, d}).transpose(1, 2);
            k = qkv[1].view({B, Tq, nh, d}).transpose(1, 2);
            v = qkv[2].view({B, Tq, nh, d}).transpose(1, 2);
        } else {
            h = rmsnorm(x, nw[0]);
            q = lin(n, l, 0, h).view({B, Tq, nh, d}).transpose(1, 2);
            k = lin(n, l, 1, h).view({B, Tq, nkv, d}).transpose(1, 2);
            v = lin(n, l, 2, h).view({B, Tq, nkv, d}).transpose(1, 2);
            q = q * cos + rotate(q) * sin;
            k = k * cos + rotate(k) * sin;
        }
        if (Pk) {
            const int64_t kvh = gpt2 ? nh : nkv;
            k = torch::cat(
                {n.prefixK[static_cast<size_t>(l)].view({1, Pk, kvh, d}).transpose(1, 2).expand({B, kvh, Pk, d}), k},
                2);
            v = torch::cat(
                {n.prefixV[static_cast<size_t>(l)].view({1, Pk, kvh, d}).transpose(1, 2).expand({B, kvh, Pk, d}), v},
                2);
        }
        if (!gpt2 && nkv != nh) {  // repeat_kv
            k = k.unsqueeze(2).expand({B, nkv, nh / nkv, Tk, d}).reshape({B, nh, Tk, d});
            v = v.unsqueeze(2).expand({B, nkv, nh / nkv, Tk, d}).reshape({B, nh, Tk, d});
        }
        torch::Tensor att = torch::matmul(q, k.transpose(-2, -1)) * scale;  // [B,nh,Tq,Tk]
        att = att.masked_fill(mask, -std::numeric_limits<float>::infinity());
        att = torch::softmax(att, -1);
        torch::Tensor o = torch::matmul(att, v).transpose(1, 2).reshape({B, Tq, nh * d});
        const int oi = gpt2 ? 1 : 3;
        x = x + lin(n, l, oi, o);
        if (gpt2) {
            h = torch::layer_norm(x, {H}, nw[2], nw[3], 1e-5);
            x = x + lin(n, l, 3, torch::gelu(lin(n, l, 2, h), "tanh"));
        } else {
            h = rmsnorm(x, nw[1]);
            x = x + lin(n, l, 6, torch::silu(lin(n, l, 4, h)) * lin(n, l, 5, h));
        }
    }
    x = gpt2 ? torch::layer_norm(x, {H}, n.finalNorm, n.finalNormB, 1e-5) : rmsnorm(x, n.finalNorm);
    torch::Tensor logits = torch::linear(x, n.lmHead);  // [B,Tq,V]
    // transformers' causal-LM loss: shift the labels (not the logits), mean over unmasked labels.
    torch::Tensor full = torch::full({B, Tq + 1}, -100, torch::kLong);
    full.narrow(1, P, T).copy_(labels);
    torch::Tensor shifted = full.narrow(1, 1, Tq).contiguous();
    return torch::nn::functional::cross_entropy(logits.view({-1, logits.size(-1)}), shifted.view({-1}),
                                                torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100));
}

struct Result {
    double measured, estimated;
};

Result measure(const ModelConfig& mc, const json& cfg, int64_t B, int64_t T) {
    c10::SetCPUAllocator(&gAlloc, 200);
    torch::Tensor ids = torch::randint(mc.vocabSize, {B, T});
    torch::Tensor labels = ids.clone();
    Net n = build(mc, cfg);
    const int64_t base = gCurrent.load();
    gPeak = base;
    {
        torch::Tensor loss = forwardLoss(n, ids, labels);
        loss.backward();
    }
    const double measured = static_cast<double>(gPeak.load() - base);
    budget::BudgetOptions o;
    o.batch = B;
    o.seqLen = T;
    // This net forms the whole logits and takes cross-entropy (and runs eager attention): the
    // budget's model of a plain training loop, not of our trainer's chunked loss.
    o.loss = budget::LossImpl::Eager;
    o.fusedAttention = false;
    const budget::Estimate e = budget::estimate(mc, cfg, o);
    // During one step on top of the weights: activations and the parameters' gradients.
    const double estimated = static_cast<double>(e.memory.stepPeak);
    return {measured, estimated};
}

ModelConfig llamaCfg() {
    return ModelConfig::fromJson({{"model_type", "llama"},
                                  {"vocab_size", 2000},
                                  {"hidden_size", 256},
                                  {"num_hidden_layers", 4},
                                  {"num_attention_heads", 8},
                                  {"num_key_value_heads", 4},
                                  {"intermediate_size", 704},
                                  {"max_position_embeddings", 512},
                                  {"tie_word_embeddings", false}},
                                 "llama test config");
}
ModelConfig gpt2Cfg() {
    return ModelConfig::fromJson({{"model_type", "gpt2"},
                                  {"vocab_size", 2000},
                                  {"n_embd", 256},
                                  {"n_layer", 4},
                                  {"n_head", 8},
                                  {"n_positions", 512}},
                                 "gpt2 test config");
}

std::vector<std::pair<std::string, json>> methods(const ModelConfig& mc) {
    const bool gpt2 = mc.family == Family::Gpt2;
    json qv = {{"peft_type", "LORA"},
               {"r", 8},
               {"lora_alpha", 16},
               {"target_modules", gpt2 ? json{"c_attn"} : json{"q_proj", "v_proj"}}};
    json all = {{"peft_type", "LORA"}, {"r", 16}, {"lora_alpha", 16}, {"target_modules", "all-linear"}};
    return {{"full", nullptr},
            {"lora q,v", qv},
            {"lora all-linear", all},
            {"ia3", {{"peft_type", "IA3"}}},
            {"prompt tuning 16", {{"peft_type", "PROMPT_TUNING"}, {"num_virtual_tokens", 16}}},
            {"prefix tuning 16", {{"peft_type", "PREFIX_TUNING"}, {"num_virtual_tokens", 16}}}};
}

void runAll(const ModelConfig& mc, const char* name) {
    at::set_num_threads(1);
    for (const auto& [label, cfg] : methods(mc)) {
        for (auto [B, T] : {std::pair<int64_t, int64_t>{2, 64}, {2, 192}}) {
            const Result r = measure(mc, cfg, B, T);
            const double ratio = r.estimated / r.measured;
            std::printf("%-6s %-18s B=%lld T=%-4lld measured %10.0f  estimated %10.0f  ratio %.3f\n", name,
                        label.c_str(), static_cast<long long>(B), static_cast<long long>(T), r.measured, r.estimated,
                        ratio);
            EXPECT_NEAR(ratio, 1.0, 0.25) << name << " " << label << " B=" << B << " T=" << T;
        }
    }
}

TEST(BudgetMeasured, LlamaEagerWithinTwentyFivePercent) { runAll(llamaCfg(), "llama"); }
TEST(BudgetMeasured, Gpt2EagerWithinTwentyFivePercent) { runAll(gpt2Cfg(), "gpt2"); }

}  // namespace
