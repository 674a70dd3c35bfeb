// Budget: exact parameter counts for Mistral (GQA), Llama 3 (128k vocabulary, GQA) and Qwen2
// (q/k/v bias, tied embeddings) against hand-written formulas; memory parts that add up; NF4
// bytes per parameter; file sizes; a 70B config estimated quickly; the CLI's --json output.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/budget/budget.h"
#include "core/model/dnnl_cpu.h"
#include "core/model/causal_lm.h"
#include "core/io/model_config.h"
#include "core/peft/method_spec.h"
#include "core/peft/target_match.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using nlohmann::json;
using namespace peft;
using budget::BudgetOptions;

namespace {

ModelConfig mistral7b() {
    return ModelConfig::fromJson({{"model_type", "mistral"},
                                  {"vocab_size", 32000},
                                  {"hidden_size", 4096},
                                  {"num_hidden_layers", 32},
                                  {"num_attention_heads", 32},
                                  {"num_key_value_heads", 8},
                                  {"intermediate_size", 14336},
                                  {"max_position_embeddings", 32768},
                                  {"rms_norm_eps", 1e-5},
                                  {"hidden_act", "silu"},
                                  {"tie_word_embeddings", false},
                                  {"rope_theta", 1000000.0},
                                  {"sliding_window", nullptr}},
                                 "mistral-7b config");
}
ModelConfig llama3_8b() {
    return ModelConfig::fromJson({{"model_type", "llama"},
                                  {"vocab_size", 128256},
                                  {"hidden_size", 4096},
                                  {"num_hidden_layers", 32},
                                  {"num_attention_heads", 32},
                                  {"num_key_value_heads", 8},
                                  {"intermediate_size", 14336},
                                  {"max_position_embeddings", 8192},
                                  {"rms_norm_eps", 1e-5},
                                  {"hidden_act", "silu"},
                                  {"tie_word_embeddings", false},
                                  {"rope_theta", 500000.0},
                                  {"attention_bias", false},
                                  {"mlp_bias", false}},
                                 "llama-3-8b config");
}
ModelConfig qwen2_05b() {
    return ModelConfig::fromJson({{"model_type", "qwen2"},
                                  {"vocab_size", 151936},
                                  {"hidden_size", 896},
                                  {"num_hidden_layers", 24},
                                  {"num_attention_heads", 14},
                                  {"num_key_value_heads", 2},
                                  {"intermediate_size", 4864},
                                  {"max_position_embeddings", 32768},
                                  {"rms_norm_eps", 1e-6},
                                  {"hidden_act", "silu"},
                                  {"tie_word_embeddings", true},
                                  {"rope_theta", 1000000.0}},
                                 "qwen2-0.5b config");
}
ModelConfig llama2_70b() {
    return ModelConfig::fromJson({{"model_type", "llama"},
                                  {"vocab_size", 32000},
                                  {"hidden_size", 8192},
                                  {"num_hidden_layers", 80},
                                  {"num_attention_heads", 64},
                                  {"num_key_value_heads", 8},
                                  {"intermediate_size", 28672},
                                  {"max_position_embeddings", 4096},
                                  {"rms_norm_eps", 1e-5},
                                  {"hidden_act", "silu"},
                                  {"tie_word_embeddings", false}},
                                 "llama-2-70b config");
}

// Hand formula for a Llama-family model: per layer q,k,v,o + gate,up,down + two norms.
int64_t llamaBase(int64_t V, int64_t H, int64_t L, int64_t kv, int64_t I, bool tied, bool qkvBias) {
    const int64_t layer = H * H + 2 * H * kv + H * H + 3 * H * I + 2 * H + (qkvBias ? H + 2 * kv : 0);
    return V * H * (tied ? 1 : 2) + L * layer + H;
}

ParamReport count(const ModelConfig& mc, const json& cfg) { return methodSpec(peftTypeOf(cfg, "test")).count(mc, cfg); }

json lora(int r, json targets) {
    return {{"peft_type", "LORA"},
            {"task_type", "CAUSAL_LM"},
            {"r", r},
            {"lora_alpha", 2 * r},
            {"target_modules", targets}};
}

TEST(BudgetCounts, MistralGqa) {
    const ModelConfig mc = mistral7b();
    const int64_t H = 4096, kv = 1024, I = 14336, L = 32;
    const int64_t base = llamaBase(32000, H, L, kv, I, false, false);
    EXPECT_EQ(base, 7241732096LL);  // the published Mistral-7B count
    EXPECT_EQ(count(mc, nullptr).trainable, base);
    // LoRA r=8 on q,v: r*(in+out) each.
    ParamReport r = count(mc, lora(8, {"q_proj", "v_proj"}));
    EXPECT_EQ(r.trainable, L * (8 * (H + H) + 8 * (H + kv)));
    EXPECT_EQ(r.total(), base + r.trainable);
    // DoRA adds a magnitude per output feature.
    json dora = lora(8, {"q_proj", "v_proj"});
    dora["use_dora"] = true;
    EXPECT_EQ(count(mc, dora).trainable, L * (8 * (H + H) + 8 * (H + kv) + H + kv));
    // IA3: k and v scale their outputs (kv wide), down_proj its input (I wide).
    json ia3 = {{"peft_type", "IA3"},
                {"target_modules", {"k_proj", "v_proj", "down_proj"}},
                {"feedforward_modules", {"down_proj"}}};
    EXPECT_EQ(count(mc, ia3).trainable, L * (kv + kv + I));
    // Prefix tuning uses the key/value width on GQA models.
    json prefix = {{"peft_type", "PREFIX_TUNING"}, {"num_virtual_tokens", 20}};
    EXPECT_EQ(count(mc, prefix).trainable, 20 * L * 2 * kv);
    prefix["prefix_projection"] = true;
    prefix["encoder_hidden_size"] = 256;
    EXPECT_EQ(count(mc, prefix).trainable, 20 * kv + kv * 256 + 256 + 256 * (L * 2 * kv) + L * 2 * kv);
    json prompt = {{"peft_type", "PROMPT_TUNING"}, {"num_virtual_tokens", 20}};
    EXPECT_EQ(count(mc, prompt).trainable, 20 * H);
}

TEST(BudgetCounts, Llama3LargeVocabulary) {
    const ModelConfig mc = llama3_8b();
    const int64_t H = 4096, kv = 1024, I = 14336, L = 32, V = 128256;
    EXPECT_EQ(count(mc, nullptr).trainable, llamaBase(V, H, L, kv, I, false, false));
    EXPECT_EQ(count(mc, nullptr).trainable, 8030261248LL);  // the published Llama-3-8B count
    const int64_t allLinear = L * 16 * ((H + H) + 2 * (H + kv) + (H + H) + 3 * (H + I));
    EXPECT_EQ(allLinear, 41943040);
    EXPECT_EQ(count(mc, lora(16, "all-linear")).trainable, allLinear);
    EXPECT_EQ(
        count(mc, lora(16, {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"})).trainable,
        allLinear);
    // A regex string is matched against the whole module path.
    EXPECT_EQ(count(mc, lora(8, R"(.*\.self_attn\.(q|v)_proj)")).trainable, L * 8 * ((H + H) + (H + kv)));
    EXPECT_THROW(count(mc, lora(8, "q_proj")), PeftError);  // a regex must match the full path
    // rank_pattern: q_proj gets r=4, v_proj keeps 8.
    json rp = lora(8, {"q_proj", "v_proj"});
    rp["rank_pattern"] = {{"q_proj", 4}};
    EXPECT_EQ(count(mc, rp).trainable, L * (4 * (H + H) + 8 * (H + kv)));
    // layers_to_transform and exclude_modules.
    json lt = lora(8, {"q_proj", "v_proj"});
    lt["layers_to_transform"] = {0, 1, 31};
    ParamReport ltr = count(mc, lt);
    EXPECT_EQ(ltr.trainable, 3 * (8 * (H + H) + 8 * (H + kv)));
    EXPECT_EQ(ltr.byLayer[31], 8 * (H + H) + 8 * (H + kv));
    EXPECT_EQ(ltr.byLayer[2], 0);
    json ex = lora(8, "all-linear");
    ex["exclude_modules"] = {"down_proj"};
    EXPECT_EQ(count(mc, ex).trainable, allLinear / 16 * 8 - L * 8 * (H + I));
    // rank_pattern keys are regexes matched against the end of the module path.
    json rpl = lora(8, {"q_proj"});
    rpl["rank_pattern"] = {{"layers\\.0\\.self_attn\\.q_proj", 2}};
    EXPECT_EQ(count(mc, rpl).trainable, 2 * (H + H) + (L - 1) * 8 * (H + H));
    // modules_to_save on a causal LM: the head's trained copy counts as trainable and added.
    json mts = lora(8, {"q_proj"});
    mts["modules_to_save"] = {"lm_head"};
    ParamReport mr = count(mc, mts);
    EXPECT_EQ(mr.trainable, L * 8 * (H + H) + V * H);
    EXPECT_EQ(mr.total(), 8030261248LL + L * 8 * (H + H) + V * H);
    EXPECT_EQ(mr.byModule.at("lm_head"), V * H);
    // Targeting the head explicitly: lora on lm_head [V, H].
    EXPECT_EQ(count(mc, lora(8, {"lm_head"})).trainable, 8 * (H + V));
    // LoRA on the embedding: lora_embedding_A [r, V] + lora_embedding_B [H, r].
    EXPECT_EQ(count(mc, lora(8, {"embed_tokens"})).trainable, 8 * (V + H));
}

TEST(BudgetCounts, Qwen2BiasAndTiedEmbeddings) {
    const ModelConfig mc = qwen2_05b();
    const int64_t H = 896, kv = 128, I = 4864, L = 24, V = 151936;
    const int64_t base = llamaBase(V, H, L, kv, I, true, true);
    EXPECT_EQ(base, 494032768LL);  // the published Qwen2-0.5B count
    EXPECT_EQ(count(mc, nullptr).total(), base);
    // bias=lora_only trains the q/v biases too; bias=all every bias (q, k, v).
    json lo = lora(8, {"q_proj", "v_proj"});
    lo["bias"] = "lora_only";
    const int64_t qv = L * (8 * (H + H) + 8 * (H + kv));
    EXPECT_EQ(count(mc, lo).trainable, qv + L * (H + kv));
    EXPECT_EQ(count(mc, lo).total(), base + qv);  // biases are base parameters: nothing added
    lo["bias"] = "all";
    EXPECT_EQ(count(mc, lo).trainable, qv + L * (H + 2 * kv));
    // BitFit: only biases (Qwen2 has them on q/k/v), plus the norm weights when asked.
    json bitfit = {{"peft_type", "BITFIT"}};
    EXPECT_EQ(count(mc, bitfit).trainable, L * (H + 2 * kv));
    bitfit["train_norms"] = true;
    EXPECT_EQ(count(mc, bitfit).trainable, L * (H + 2 * kv) + L * 2 * H + H);
    // BitFit on a bias-free Llama trains nothing and says why.
    ParamReport none = count(llama3_8b(), {{"peft_type", "BITFIT"}});
    EXPECT_EQ(none.trainable, 0);
    EXPECT_FALSE(none.notes.empty());
    // Bottleneck adapters: Houlsby two per layer, Pfeiffer one; b = H / reduction_factor.
    const int64_t b = H / 16, per = H * b + b + b * H + H;
    EXPECT_EQ(count(mc, {{"peft_type", "BOTTLENECK_ADAPTER"}, {"architecture", "houlsby"}}).trainable, L * 2 * per);
    EXPECT_EQ(count(mc, {{"peft_type", "BOTTLENECK_ADAPTER"}, {"architecture", "pfeiffer"}}).trainable, L * per);
    EXPECT_EQ(count(mc, {{"peft_type", "BOTTLENECK_ADAPTER"}, {"architecture", "pfeiffer"}, {"bottleneck_size", 32}})
                  .trainable,
              L * (H * 32 + 32 + 32 * H + H));
    // Sequence classification: the score head [num_labels, H] replaces lm_head (tied here, so the
    // base only gains the head) and its trained copy is added.
    ModelConfig cls = mc;
    cls.numLabels = 5;
    json seq = lora(8, {"q_proj", "v_proj"});
    seq["task_type"] = "SEQ_CLS";
    ParamReport sr = count(cls, seq);
    EXPECT_EQ(sr.trainable, qv + 5 * H);
    EXPECT_EQ(sr.total(), base + 5 * H + qv + 5 * H);
}

TEST(BudgetCounts, GptTwoTargetsBySuffix) {
    const ModelConfig mc = ModelConfig::load(test::fixture("param-counts/gpt2-124m/config.json"));
    // "c_proj" matches both attn.c_proj and mlp.c_proj; "mlp.c_proj" only the MLP one.
    const int64_t H = 768, L = 12;
    EXPECT_EQ(count(mc, lora(4, {"c_proj"})).trainable, L * 4 * ((H + H) + (4 * H + H)));
    EXPECT_EQ(count(mc, lora(4, {"mlp.c_proj"})).trainable, L * 4 * (4 * H + H));
    EXPECT_TRUE(matchesTarget(json::array({"c_proj"}), "transformer.h.0.attn.c_proj"));
    EXPECT_FALSE(matchesTarget(json::array({"proj"}), "transformer.h.0.attn.c_proj"));
    EXPECT_TRUE(matchesTarget("transformer\\.h\\.\\d+\\.attn\\.c_attn", "transformer.h.11.attn.c_attn"));
    EXPECT_FALSE(matchesTarget("attn\\.c_attn", "transformer.h.11.attn.c_attn"));
}

TEST(BudgetValidation, ErrorsNameTheKey) {
    const ModelConfig mc = mistral7b();
    auto message = [&](const json& cfg) {
        try {
            count(mc, cfg);
        } catch (const PeftError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    json bad = lora(8, {"q_proj"});
    bad["r"] = "eight";
    EXPECT_NE(message(bad).find("'r'"), std::string::npos) << message(bad);
    bad = lora(8, {"q_proj"});
    bad["lora_alhpa"] = 16;
    EXPECT_NE(message(bad).find("lora_alhpa"), std::string::npos);
    bad = lora(8, {"c_attn"});
    EXPECT_NE(message(bad).find("target_modules"), std::string::npos);
    bad = lora(8, {"q_proj"});
    bad["megatron_core"] = "megatron.core";  // a field peft writes: accepted
    EXPECT_EQ(message(bad), "no error");
    bad = {{"peft_type", "IA3"}, {"target_modules", {"k_proj"}}, {"feedforward_modules", {"down_proj"}}};
    EXPECT_NE(message(bad).find("feedforward_modules"), std::string::npos);
    EXPECT_THROW(methodSpec("LOHA"), PeftError);
    // A prompt-learning config saved for another model is refused, naming the key.
    bad = {{"peft_type", "PREFIX_TUNING"}, {"num_virtual_tokens", 5}, {"num_layers", 2}};
    EXPECT_NE(message(bad).find("num_layers"), std::string::npos);
}

TEST(BudgetSpecs, EveryMethodHasHelpForItsFields) {
    EXPECT_EQ(allMethodSpecs().size(), 7u);
    for (const MethodSpec* s : allMethodSpecs()) {
        SCOPED_TRACE(s->peftType());
        const json d = s->defaults();
        const json h = s->help();
        EXPECT_EQ(d["peft_type"], s->peftType());
        for (auto it = d.begin(); it != d.end(); ++it)
            if (it.key() != "peft_type" && it.key() != "task_type" && s->peftType() != "FULL")
                EXPECT_TRUE(h.contains(it.key())) << it.key();
        EXPECT_NO_THROW(s->validate(d, "defaults"));
    }
}

void expectPartsAddUp(const budget::Estimate& e) {
    const auto& m = e.memory;
    uint64_t w = 0;
    for (const auto& [k, v] : m.weightsByDtype) w += v;
    EXPECT_EQ(w, m.weights);
    EXPECT_EQ(m.activationLayers + m.activationAttention + m.activationLoss + m.activationTransient, m.activations);
    EXPECT_EQ(m.trainingTotal(), m.weights + m.packedWeights + m.optimizerState + m.stepPeak);
    EXPECT_LE(m.stepPeak, m.activations + m.gradients + m.optimizerTransient);
    EXPECT_GE(m.stepPeak, std::max(m.activations, m.gradients));
    const json j = budget::toJson(e);
    EXPECT_EQ(j["memory_bytes"]["total"].get<uint64_t>(), m.trainingTotal());
}

TEST(BudgetMemory, FullFineTuneFp32) {
    const ModelConfig mc = llama3_8b();
    const budget::Estimate e = budget::estimate(mc, nullptr, BudgetOptions().withBatch(1).withSeqLen(256));
    const uint64_t n = 8030261248ULL;
    EXPECT_EQ(e.memory.weights, 4 * n);
    EXPECT_EQ(e.memory.gradients, 4 * n);
    EXPECT_EQ(e.memory.optimizerState, 8 * n);  // AdamW: two fp32 moments
    expectPartsAddUp(e);
    // bf16 halves weights and gradients; the trainer keeps an fp32 master copy of each bf16
    // weight that trains and fp32 moments for it: 12 bytes of optimizer state per parameter.
    const budget::Estimate b = budget::estimate(mc, nullptr, BudgetOptions().withPrecision(budget::Precision::Bf16));
    EXPECT_EQ(b.memory.weights, 2 * n);
    EXPECT_EQ(b.memory.gradients, 2 * n);
    EXPECT_EQ(b.memory.optimizerState, 12 * n);
    // The step's temporaries for the largest tensor (the 128256 x 4096 embedding): AdamW's sqrt(v)
    // and denominator in fp32; in bf16 also its gradient's fp32 copy for the master update.
    EXPECT_EQ(e.memory.optimizerTransient, 128256ULL * 4096 * 8);
    EXPECT_EQ(b.memory.optimizerTransient, 128256ULL * 4096 * 12);
    expectPartsAddUp(b);
    // SGD keeps no state.
    EXPECT_EQ(
        budget::estimate(mc, nullptr, BudgetOptions().withOptimizer(budget::Optimizer::Sgd)).memory.optimizerState, 0u);
}

TEST(BudgetMemory, LoraWeightsGradientsAndKvCache) {
    const ModelConfig mc = mistral7b();
    const json cfg = lora(16, "all-linear");
    BudgetOptions o;
    o.batch = 2;
    o.seqLen = 1024;
    o.precision = budget::Precision::Bf16;
    const budget::Estimate e = budget::estimate(mc, cfg, o);
    const uint64_t t = static_cast<uint64_t>(e.params.trainable);
    EXPECT_EQ(e.memory.weightsByDtype.at("bf16"), 2 * 7241732096ULL);
    EXPECT_EQ(e.memory.weightsByDtype.at("fp32"), 4 * t);
    EXPECT_EQ(e.memory.gradients, 4 * t);
    EXPECT_EQ(e.memory.optimizerState, 8 * t);
    // Keys and values: 2 x layers x batch x context x kv width x 2 bytes.
    EXPECT_EQ(e.memory.kvCache, 2ULL * 32 * 2 * 1024 * 1024 * 2);
    expectPartsAddUp(e);
    // The adapter file: fp32 A and B for every target plus the header.
    EXPECT_GT(e.adapterFileBytes, 4 * t);
    EXPECT_LT(e.adapterFileBytes, 4 * t + 200000);
    EXPECT_EQ(e.checkpointBytes, e.adapterFileBytes + e.memory.optimizerState);
}

TEST(BudgetMemory, Nf4BytesPerParameter) {
    const ModelConfig mc = llama3_8b();
    const int64_t H = 4096, kv = 1024, I = 14336, L = 32;
    const double linear = static_cast<double>(L * (2 * H * H + 2 * H * kv + 3 * H * I));
    const json cfg = lora(16, {"q_proj", "v_proj"});
    const budget::Estimate q = budget::estimate(
        mc, cfg, BudgetOptions().withPrecision(budget::Precision::Bf16).withQuantizeBase(budget::BaseQuant::Nf4));
    const double perParam =
        static_cast<double>(q.memory.weightsByDtype.at("nf4") + q.memory.weightsByDtype.at("nf4_constants")) / linear;
    EXPECT_NEAR(perParam, 0.5625, 1e-4);
    const budget::Estimate dq = budget::estimate(
        mc, cfg,
        BudgetOptions().withPrecision(budget::Precision::Bf16).withQuantizeBase(budget::BaseQuant::Nf4DoubleQuant));
    const double perParamDq =
        static_cast<double>(dq.memory.weightsByDtype.at("nf4") + dq.memory.weightsByDtype.at("nf4_constants")) / linear;
    EXPECT_NEAR(perParamDq, 0.5 + 1.0 / 64 + 4.0 / (64 * 256), 1e-4);
    // Embeddings and head stay bf16: 2 x 128256 x 4096 x 2 bytes + norms.
    EXPECT_EQ(q.memory.weightsByDtype.at("bf16"), 2ULL * (2 * 128256 * 4096 + 65 * 4096));
    expectPartsAddUp(q);
    // Full fine-tuning cannot keep its base in NF4.
    EXPECT_THROW(budget::estimate(mc, nullptr, BudgetOptions().withQuantizeBase(budget::BaseQuant::Nf4)), PeftError);
}

TEST(BudgetMemory, ActivationsBehave) {
    const ModelConfig mc = mistral7b();
    const json all = lora(16, "all-linear");
    const json prefix = {{"peft_type", "PREFIX_TUNING"}, {"num_virtual_tokens", 20}};
    auto act = [&](const json& cfg, BudgetOptions o) { return budget::estimate(mc, cfg, o).memory.activations; };
    BudgetOptions o;
    o.seqLen = 512;
    const uint64_t a1 = act(all, o);
    o.batch = 2;
    const uint64_t a2 = act(all, o);
    EXPECT_NEAR(static_cast<double>(a2) / static_cast<double>(a1), 2.0, 0.05);
    o.batch = 1;
    // Frozen linears keep no input: prefix tuning keeps less than LoRA on every linear.
    EXPECT_LT(act(prefix, o), a1);
    // Gradient checkpointing keeps far less.
    BudgetOptions gc = o;
    gc.gradientCheckpointing = true;
    EXPECT_LT(act(all, gc) * 3, a1);
    // LoRA only in the last layer: the layers below keep nothing.
    json last = lora(16, "all-linear");
    last["layers_to_transform"] = {31};
    EXPECT_LT(act(last, o) * 5, a1);
    // Hand formula for one LoRA (q,v) layer in fp32, B=1, T=128: x, residual, normalised
    // attention input, q/k/v, probs, gate/silu/up outputs, r per adapter.
    json qv = lora(8, {"q_proj", "v_proj"});
    qv["layers_to_transform"] = {31};
    // The head and loss of a plain loop: whole logits, log-softmax, two fp32 gradients in backward.
    BudgetOptions small;
    small.seqLen = 128;
    small.loss = budget::LossImpl::Eager;
    const budget::Estimate e = budget::estimate(mc, qv, small);
    const uint64_t T = 128, H = 4096, I = 14336, V = 32000;
    const uint64_t layer = (T * (3 * H + 3 * I + 2 * 8) + 3 * T * H) * 4;
    EXPECT_EQ(e.memory.activationLayers, layer + T * H * 4);  // + the final norm's input
    EXPECT_EQ(e.memory.activationAttention, 32 * T * T * 4);
    EXPECT_EQ(e.memory.activationLoss, T * V * 4 + T * V * 4 + T * 16);
    EXPECT_EQ(e.memory.activationTransient, T * V * 8);
    // Our trainer's chunked loss (fp32 on CPU: chunks of 256 MiB of logits, here all T rows):
    // hidden states, their labelled rows and their gradient [T,H], one chunk's fp32 logits.
    small.loss = budget::LossImpl::Chunked;
    const budget::Estimate c = budget::estimate(mc, qv, small);
    EXPECT_EQ(c.memory.activationLayers, e.memory.activationLayers);
    EXPECT_EQ(c.memory.activationLoss, 3 * T * H * 4 + T * 16);
    EXPECT_EQ(c.memory.activationTransient, T * V * 4);
    // bf16 on CPU: RMSNorm and SiLU keep fp32 copies; LoRA runs its products in bf16 on the
    // normalised input itself (one bf16 [T,H] that q and v share) and keeps A's bf16 output; the
    // fused causal softmax keeps its bf16 output only; the loss runs in 16 MiB chunks (131 rows of
    // 32000 fp32 logits, here all 128) with their bf16 product.
    small.precision = budget::Precision::Bf16;
    const budget::Estimate h = budget::estimate(mc, qv, small);
    const uint64_t layerBf16 = T * (2 * 4 * H + 2 * H + 2 * 2 * 8 + 4 * I + 2 * 2 * I) + 3 * T * H * 2;
    EXPECT_EQ(h.memory.activationLayers, layerBf16 + T * H * 4);
    EXPECT_EQ(h.memory.activationAttention, 32 * T * T * 2);
    // A plain loop (eager softmax in fp32, adapters in fp32) keeps both softmax copies and the
    // adapters' fp32 input copies.
    BudgetOptions plain = small;
    plain.loss = budget::LossImpl::Eager;
    const budget::Estimate hp = budget::estimate(mc, qv, plain);
    EXPECT_EQ(hp.memory.activationAttention, 32 * T * T * (4 + 2));
    EXPECT_EQ(hp.memory.activationLayers - h.memory.activationLayers, T * (2 * 4 * H - 2 * H + 2 * 4 * 8 - 2 * 2 * 8));
    EXPECT_EQ(h.memory.activationTransient, T * V * (4 + 2));
    // On a GPU the bf16 SiLU keeps its bf16 input; fused attention keeps no T x T matrix but its
    // output and log-sum-exp.
    small.device = budget::Device::Cuda;
    small.fusedAttention = true;
    const budget::Estimate g = budget::estimate(mc, qv, small);
    EXPECT_EQ(g.memory.activationLayers, layerBf16 - T * 2 * I + T * (H * 2 + 32 * 4) + T * H * 4);
    EXPECT_EQ(g.memory.activationAttention, 0u);
}

TEST(BudgetFiles, WholeModelExportMatchesTheFixtureFiles) {
    for (const std::string m : {"tiny-gpt2", "tiny-llama", "tiny-llama3-rope"}) {
        SCOPED_TRACE(m);
        const ModelConfig mc = ModelConfig::load(test::fixture(m + "/base"));
        const budget::Estimate e = budget::estimate(mc, nullptr);
        EXPECT_EQ(e.fullModelBytes, std::filesystem::file_size(test::fixture(m + "/base/model.safetensors")));
        EXPECT_EQ(e.adapterFileBytes, e.fullModelBytes);
    }
}

TEST(BudgetTime, SecondsFromThroughput) {
    EXPECT_DOUBLE_EQ(budget::estimateSeconds(1000.0, 1'000'000, 3.0), 3000.0);
    EXPECT_THROW(budget::estimateSeconds(0.0, 10, 1.0), PeftError);
}

TEST(BudgetSpeed, SeventyBillionAllMethods) {
    const ModelConfig mc = llama2_70b();
    EXPECT_EQ(count(mc, nullptr).trainable, 68976648192LL);  // the published Llama-2-70B count
    const std::vector<json> cfgs = {
        nullptr,
        lora(16, "all-linear"),
        [] {
            json j = lora(8, {"q_proj", "v_proj"});
            j["use_dora"] = true;
            return j;
        }(),
        {{"peft_type", "IA3"}},
        {{"peft_type", "PROMPT_TUNING"}, {"num_virtual_tokens", 20}},
        {{"peft_type", "PREFIX_TUNING"}, {"num_virtual_tokens", 20}, {"prefix_projection", true}},
        {{"peft_type", "BOTTLENECK_ADAPTER"}, {"architecture", "houlsby"}},
        {{"peft_type", "BITFIT"}, {"train_norms", true}}};
    double ms = 1e9;
    for (int rep = 0; rep < 5; ++rep) {  // best of 5: the first pass also warms the regex cache
        const auto t0 = std::chrono::steady_clock::now();
        for (const auto& c : cfgs) {
            const budget::Estimate e = budget::estimate(mc, c, BudgetOptions().withSeqLen(4096));
            EXPECT_GT(e.memory.trainingTotal(), 0u);
        }
        ms = std::min(ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    for (const auto& c : cfgs) {
        const auto t0 = std::chrono::steady_clock::now();
        budget::estimate(mc, c, BudgetOptions().withSeqLen(4096));
        std::printf("  %-20s %.2f ms\n", peftTypeOf(c, "t").c_str(),
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    // The goal is < 50 ms (measured in the bench); this only guards against a gross regression.
    EXPECT_LT(ms, 500.0) << ms << " ms";
    std::printf("70B, %zu methods: %.2f ms\n", cfgs.size(), ms);
}

TEST(BudgetCli, JsonMatchesTheLibrary) {
    test::TempDir dir;
    const std::string cfgPath = dir.file("adapter_config.json");
    const json cfg = lora(8, {"q_proj", "v_proj"});
    std::ofstream(cfgPath) << cfg.dump();
    const std::string model = test::fixture("param-counts/tinyllama-1.1b/config.json");
    const std::string out = dir.file("out.json");
    const std::string cmd = test::cliPath() + " estimate --model " + model + " --peft-config " + cfgPath +
        " --with-full --batch-size 2 --seq-len 64 --precision bf16 --json > " + out + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    const json j = readJsonFile(out);
    ASSERT_TRUE(j.is_array());
    ASSERT_EQ(j.size(), 2u);
    const ModelConfig mc = ModelConfig::load(model);
    BudgetOptions o;
    o.batch = 2;
    o.seqLen = 64;
    o.precision = budget::Precision::Bf16;
    o.fusedAttention = fusedAttentionAvailable();  // the CLI's default: this build's attention
    const budget::Estimate lib = budget::estimate(mc, cfg, o);
    EXPECT_EQ(j[0]["trainable_params"].get<int64_t>(), 1126400);  // as in param-counts/expected.json
    EXPECT_EQ(j[0]["trainable_params"].get<int64_t>(), lib.params.trainable);
    EXPECT_EQ(j[0]["total_params"].get<int64_t>(), lib.params.total());
    EXPECT_EQ(j[0]["memory_bytes"]["total"].get<uint64_t>(), lib.memory.trainingTotal());
    EXPECT_EQ(j[0]["memory_bytes"]["activations"].get<uint64_t>(), lib.memory.activations);
    EXPECT_EQ(j[1]["peft_type"], "FULL");
    EXPECT_EQ(j[1]["trainable_params"].get<int64_t>(), 1100048384);
    // Without --peft-config: full fine-tuning; a bare folder works too.
    const std::string cmd2 =
        test::cliPath() + " estimate --model " + test::fixture("tiny-gpt2/base") + " --json > " + out + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd2.c_str()), 0);
    const json j2 = readJsonFile(out);
    ASSERT_EQ(j2.size(), 1u);
    EXPECT_EQ(j2[0]["peft_type"], "FULL");
    // A bad option fails with a non-zero exit code.
    const std::string cmd3 = test::cliPath() + " estimate --model " + model + " --precision fp8 > /dev/null 2>&1";
    EXPECT_NE(std::system(cmd3.c_str()), 0);
    EXPECT_NE(
        std::system((test::cliPath() + " estimate --model " + model + " --attention flash > /dev/null 2>&1").c_str()),
        0);
    EXPECT_NE(std::system((test::cliPath() + " estimate --model " + model + " --device tpu > /dev/null 2>&1").c_str()),
              0);
    // --device and --attention reach the library: a bf16 step on a GPU with fused attention.
    const std::string cmd4 = test::cliPath() + " estimate --model " + model + " --peft-config " + cfgPath +
        " --batch-size 2 --seq-len 64 --precision bf16 --device cuda --attention fused --json > " + out +
        " 2>/dev/null";
    ASSERT_EQ(std::system(cmd4.c_str()), 0) << cmd4;
    const json j4 = readJsonFile(out);
    o.device = budget::Device::Cuda;
    o.fusedAttention = true;
    const budget::Estimate gpu = budget::estimate(mc, cfg, o);
    EXPECT_EQ(j4[0]["memory_bytes"]["total"].get<uint64_t>(), gpu.memory.trainingTotal());
    EXPECT_EQ(j4[0]["memory_bytes"]["activation_parts"]["attention_matrices"].get<uint64_t>(), 0u);
    EXPECT_EQ(j4[0]["options"]["device"], "cuda");
    EXPECT_EQ(j4[0]["options"]["attention"], "fused");
}

}  // namespace

TEST(BudgetMemory, PackedWeightCopiesOnCpuBf16Only) {
    // CPU bf16 training keeps two oneDNN copies of every frozen decoder-layer weight (forward and
    // input-gradient layouts), capped process-wide; nothing else does.
    const ModelConfig mc = qwen2_05b();
    const json cfg = lora(16, json::array({"q_proj", "v_proj"}));
    const auto cpuBf16 = BudgetOptions().withPrecision(budget::Precision::Bf16).withBatch(1).withSeqLen(128);
    const budget::Estimate e = budget::estimate(mc, cfg, cpuBf16);
    expectPartsAddUp(e);
    if (!kernels::dnnlAvailable()) {
        EXPECT_EQ(e.memory.packedWeights, 0u);
        GTEST_SKIP() << "no oneDNN bf16 kernels in this build/CPU";
    }
    // Qwen2-0.5B layer linears: 24 x (q 896x896 + k,v 896x128 x2 + o 896x896 + 3 x 896x4864).
    const uint64_t layerWeights = 24ULL * (896 * 896 * 2 + 896 * 128 * 2 + 3 * 896 * 4864);
    EXPECT_EQ(e.memory.packedWeights, std::min<uint64_t>(2 * 2 * layerWeights, kernels::kPackedWeightCapBytes));
    EXPECT_EQ(budget::toJson(e)["memory_bytes"]["packed_weights"].get<uint64_t>(), e.memory.packedWeights);
    // The cap binds for a 7B model.
    EXPECT_EQ(budget::estimate(mistral7b(), cfg, cpuBf16).memory.packedWeights,
              uint64_t(kernels::kPackedWeightCapBytes));
    // fp32, CUDA, NF4 base, full fine-tuning, or switched off: none.
    EXPECT_EQ(budget::estimate(mc, cfg, BudgetOptions().withBatch(1).withSeqLen(128)).memory.packedWeights, 0u);
    EXPECT_EQ(budget::estimate(mc, cfg, BudgetOptions(cpuBf16).withDevice(budget::Device::Cuda)).memory.packedWeights,
              0u);
    EXPECT_EQ(
        budget::estimate(mc, cfg, BudgetOptions(cpuBf16).withQuantizeBase(budget::BaseQuant::Nf4)).memory.packedWeights,
        0u);
    EXPECT_EQ(budget::estimate(mc, nullptr, cpuBf16).memory.packedWeights, 0u);
    BudgetOptions off = cpuBf16;
    off.packedWeights = false;
    EXPECT_EQ(budget::estimate(mc, cfg, off).memory.packedWeights, 0u);
    EXPECT_EQ(e.memory.trainingTotal() - budget::estimate(mc, cfg, off).memory.trainingTotal(), e.memory.packedWeights);
}
