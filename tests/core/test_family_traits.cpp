// Qwen3, Gemma 3 and Phi-3 from config.json alone, and the rule that callers ask for traits:
// - `estimate` gives exact parameter counts for the published configs (values copied from each
//   model's config.json), checked against the architecture formula written out independently here
//   (and against Keras' published count for Gemma 3 1B);
// - longrope follows transformers' formula (a tiny config of our own, expected values in double);
// - unsupported variants (vision towers, MoE, unknown rope types, soft-capping) name the feature;
// - no source file outside the registries and core/model compares model families.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/budget/budget.h"
#include "core/io/architecture.h"
#include "core/io/model_config.h"
#include "core/model/decoder.h"
#include "core/peft/method_spec.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace peft;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

// ---- Published configs (config.json values that decide the shapes) ------------------------------

json qwen3(int64_t hidden, int64_t inter, int64_t layers, int64_t heads, bool tied) {
    return {{"architectures", {"Qwen3ForCausalLM"}},
            {"model_type", "qwen3"},
            {"vocab_size", 151936},
            {"hidden_size", hidden},
            {"intermediate_size", inter},
            {"num_hidden_layers", layers},
            {"num_attention_heads", heads},
            {"num_key_value_heads", 8},
            {"head_dim", 128},
            {"hidden_act", "silu"},
            {"max_position_embeddings", 40960},
            {"rms_norm_eps", 1e-6},
            {"rope_theta", 1000000},
            {"rope_scaling", nullptr},
            {"attention_bias", false},
            {"tie_word_embeddings", tied},
            {"use_sliding_window", false},
            {"sliding_window", nullptr},
            {"max_window_layers", layers},
            {"bos_token_id", 151643},
            {"eos_token_id", 151645},
            {"torch_dtype", "bfloat16"}};
}
json qwen3_0_6b() { return qwen3(1024, 3072, 28, 16, true); }
json qwen3_4b() { return qwen3(2560, 9728, 36, 32, true); }
json qwen3_8b() { return qwen3(4096, 12288, 36, 32, false); }

json gemma3(int64_t vocab, int64_t hidden, int64_t inter, int64_t layers, int64_t heads, int64_t kv, int64_t window,
            int64_t maxPos, json ropeScaling) {
    json types = json::array();
    for (int64_t i = 0; i < layers; ++i) types.push_back((i + 1) % 6 ? "sliding_attention" : "full_attention");
    return {{"architectures", {"Gemma3ForCausalLM"}},
            {"model_type", "gemma3_text"},
            {"vocab_size", vocab},
            {"hidden_size", hidden},
            {"intermediate_size", inter},
            {"num_hidden_layers", layers},
            {"num_attention_heads", heads},
            {"num_key_value_heads", kv},
            {"head_dim", 256},
            {"hidden_activation", "gelu_pytorch_tanh"},
            {"max_position_embeddings", maxPos},
            {"rms_norm_eps", 1e-6},
            {"rope_theta", 1000000.0},
            {"rope_local_base_freq", 10000.0},
            {"rope_scaling", ropeScaling},
            {"query_pre_attn_scalar", 256},
            {"sliding_window", window},
            {"layer_types", types},
            {"final_logit_softcapping", nullptr},
            {"attn_logit_softcapping", nullptr},
            {"attention_bias", false},
            {"bos_token_id", 2},
            {"eos_token_id", 1},
            {"pad_token_id", 0},
            {"torch_dtype", "bfloat16"}};
}
json gemma3_270m() { return gemma3(262144, 640, 2048, 18, 4, 1, 512, 32768, nullptr); }
json gemma3_1b() { return gemma3(262144, 1152, 6912, 26, 4, 1, 512, 32768, nullptr); }
// Gemma-3-4B's text_config (the checkpoint's model_type is gemma3, with a vision tower).
json gemma3_4b_text() {
    return gemma3(262208, 2560, 10240, 34, 8, 4, 1024, 131072, {{"factor", 8.0}, {"rope_type", "linear"}});
}

json phi3_mini_4k() {
    return {{"architectures", {"Phi3ForCausalLM"}},
            {"model_type", "phi3"},
            {"vocab_size", 32064},
            {"hidden_size", 3072},
            {"intermediate_size", 8192},
            {"num_hidden_layers", 32},
            {"num_attention_heads", 32},
            {"num_key_value_heads", 32},
            {"hidden_act", "silu"},
            {"max_position_embeddings", 4096},
            {"original_max_position_embeddings", 4096},
            {"rms_norm_eps", 1e-5},
            {"rope_theta", 10000.0},
            {"rope_scaling", nullptr},
            {"sliding_window", 2047},
            {"tie_word_embeddings", false},
            {"bos_token_id", 1},
            {"eos_token_id", 32000},
            {"pad_token_id", 32000},
            {"torch_dtype", "bfloat16"}};
}
// Phi-4-mini: longrope with 48 short and 48 long factors (rotary dims 96 / 2). The published
// factor values are not reproduced here (they do not enter any count); ours are placeholders.
json phi4_mini() {
    std::vector<double> s(48, 1.0), l(48, 1.0);
    for (size_t i = 0; i < 48; ++i) l[i] = 1.0 + static_cast<double>(i);
    return {{"architectures", {"Phi3ForCausalLM"}},
            {"model_type", "phi3"},
            {"vocab_size", 200064},
            {"hidden_size", 3072},
            {"intermediate_size", 8192},
            {"num_hidden_layers", 32},
            {"num_attention_heads", 24},
            {"num_key_value_heads", 8},
            {"hidden_act", "silu"},
            {"max_position_embeddings", 131072},
            {"original_max_position_embeddings", 4096},
            {"rms_norm_eps", 1e-5},
            {"rope_theta", 10000.0},
            {"partial_rotary_factor", 0.75},
            {"rope_scaling", {{"type", "longrope"}, {"short_factor", s}, {"long_factor", l}}},
            {"sliding_window", 262144},
            {"tie_word_embeddings", true},
            {"bos_token_id", 199999},
            {"eos_token_id", 199999},
            {"pad_token_id", 199999},
            {"torch_dtype", "bfloat16"}};
}

// ---- The architecture formula, written out for these three families -----------------------------
// Embeddings V*H (+ an untied head V*H); per layer q H*(heads*D), k and v H*(kv*D) each, o (heads*D)*H,
// the gated MLP 3*H*I, the hidden-size RMSNorms (2, Gemma 4) and per-head q/k norms D each (Qwen3,
// Gemma 3); the final norm H. Fused projections (Phi-3) hold the same rows.
struct Shape {
    int64_t V, H, I, L, heads, kv, D;
    bool tied;
    int64_t hiddenNorms;
    bool qkNorm;
};
int64_t formulaTotal(const Shape& s) {
    const int64_t attn = s.H * s.heads * s.D + 2 * s.H * s.kv * s.D + s.heads * s.D * s.H;
    const int64_t layer = attn + 3 * s.H * s.I + s.hiddenNorms * s.H + (s.qkNorm ? 2 * s.D : 0);
    return s.V * s.H * (s.tied ? 1 : 2) + s.L * layer + s.H;
}

struct RealModel {
    const char* name;
    json config;
    Shape shape;
};
std::vector<RealModel> realModels() {
    return {
        {"Qwen3-0.6B", qwen3_0_6b(), {151936, 1024, 3072, 28, 16, 8, 128, true, 2, true}},
        {"Qwen3-4B", qwen3_4b(), {151936, 2560, 9728, 36, 32, 8, 128, true, 2, true}},
        {"Qwen3-8B", qwen3_8b(), {151936, 4096, 12288, 36, 32, 8, 128, false, 2, true}},
        {"Gemma-3-270M", gemma3_270m(), {262144, 640, 2048, 18, 4, 1, 256, true, 4, true}},
        {"Gemma-3-1B", gemma3_1b(), {262144, 1152, 6912, 26, 4, 1, 256, true, 4, true}},
        {"Gemma-3-4B (text)", gemma3_4b_text(), {262208, 2560, 10240, 34, 8, 4, 256, true, 4, true}},
        {"Phi-3-mini-4k", phi3_mini_4k(), {32064, 3072, 8192, 32, 32, 32, 96, false, 2, false}},
        {"Phi-4-mini", phi4_mini(), {200064, 3072, 8192, 32, 24, 8, 128, true, 2, false}},
    };
}

}  // namespace

TEST(FamilyCounts, EstimateIsExactForPublishedConfigs) {
    for (const auto& m : realModels()) {
        SCOPED_TRACE(m.name);
        const ModelConfig mc = ModelConfig::fromJson(m.config, m.name);
        const int64_t want = formulaTotal(m.shape);
        EXPECT_EQ(baseParamCount(mc), want);
        budget::BudgetOptions o;
        const budget::Estimate full = budget::estimate(mc, {{"peft_type", "FULL"}}, o);
        EXPECT_EQ(full.params.total(), want);
        EXPECT_EQ(full.params.trainable, want);
        // LoRA r=8 on peft's default targets (q_proj, v_proj) or, on Phi-3, the fused qkv_proj.
        const bool phi = mc.modelType == "phi3";
        json lora = {{"peft_type", "LORA"}, {"r", 8}, {"lora_alpha", 16}};
        if (phi) lora["target_modules"] = {"qkv_proj"};
        const budget::Estimate e = budget::estimate(mc, lora, o);
        const Shape& s = m.shape;
        const int64_t q = s.heads * s.D, kv = s.kv * s.D;
        const int64_t perLayer = phi ? 8 * (s.H + q + 2 * kv) : 8 * (s.H + q) + 8 * (s.H + kv);
        EXPECT_EQ(e.params.trainable, s.L * perLayer);
        EXPECT_EQ(e.params.total(), want + s.L * perLayer);
    }
}

TEST(FamilyCounts, Gemma3OneBMatchesKerasPublishedCount) {
    // keras-hub's gemma3_1b preset metadata: "params": 999885952 (text-only, 26 layers).
    EXPECT_EQ(baseParamCount(ModelConfig::fromJson(gemma3_1b(), "gemma-3-1b")), 999885952);
}

TEST(FamilyConfig, TraitsAndLayerTypes) {
    const ModelConfig g = ModelConfig::fromJson(gemma3_4b_text(), "gemma-3-4b");
    ASSERT_EQ(g.slidingLayers.size(), 34u);
    EXPECT_TRUE(g.slidingLayer(0));
    EXPECT_FALSE(g.slidingLayer(5));
    EXPECT_EQ(g.slidingWindow, 1024);
    EXPECT_EQ(g.rope.type, "linear");  // rope scaling on the global layers only
    EXPECT_DOUBLE_EQ(g.rope.factor, 8.0);
    EXPECT_EQ(g.localRope.type, "default");
    EXPECT_DOUBLE_EQ(g.localRope.theta, 10000.0);
    EXPECT_DOUBLE_EQ(g.queryScale, 1.0 / 16.0);
    const ArchTraits gt = archTable(g).traits;
    EXPECT_EQ(gt.norm, NormKind::RmsNormOnePlus);
    EXPECT_TRUE(gt.postNorms && gt.qkNorm && gt.embedScale && gt.localRope && gt.gatedMlp);
    // sliding_window_pattern instead of layer_types: every 6th layer global.
    json legacy = gemma3_1b();
    legacy.erase("layer_types");
    legacy["sliding_window_pattern"] = 6;
    const ModelConfig l = ModelConfig::fromJson(legacy, "gemma-3-1b legacy");
    for (int64_t i = 0; i < 26; ++i) EXPECT_EQ(l.slidingLayer(i), (i + 1) % 6 != 0) << i;
    // transformers 5 nests RoPE per layer type.
    json nested = gemma3_1b();
    nested.erase("rope_theta");
    nested.erase("rope_local_base_freq");
    nested["rope_parameters"] = {{"full_attention", {{"rope_type", "linear"}, {"factor", 2.0}, {"rope_theta", 5e5}}},
                                 {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 2e4}}}};
    const ModelConfig n = ModelConfig::fromJson(nested, "gemma nested");
    EXPECT_DOUBLE_EQ(n.rope.theta, 5e5);
    EXPECT_DOUBLE_EQ(n.rope.factor, 2.0);
    EXPECT_DOUBLE_EQ(n.localRope.theta, 2e4);

    const ModelConfig p = ModelConfig::fromJson(phi4_mini(), "phi-4-mini");
    EXPECT_EQ(p.headDim, 128);
    EXPECT_EQ(p.rotaryDim, 96);
    const ArchTraits pt = archTable(p).traits;
    EXPECT_TRUE(pt.fusedQkv && pt.fusedGateUp && pt.partialRotary);
    EXPECT_TRUE(pt.loraTargets.empty());  // peft has no phi3 default
    EXPECT_EQ(suggestedLoraTargets(archTable(p)), std::vector<std::string>{"qkv_proj"});
    EXPECT_EQ(suggestedIa3Targets(archTable(p)), (std::vector<std::string>{"qkv_proj", "down_proj"}));
    EXPECT_EQ(suggestedIa3Feedforward(archTable(p)), std::vector<std::string>{"down_proj"});

    const ModelConfig q = ModelConfig::fromJson(qwen3_0_6b(), "qwen3-0.6b");
    EXPECT_EQ(q.headDim, 128);  // != 1024 / 16
    const ArchTraits qt = archTable(q).traits;
    EXPECT_TRUE(qt.qkNorm);
    EXPECT_FALSE(qt.postNorms);
    // peft 0.21's mappings: qwen3 / gemma3_text LoRA q_proj, v_proj; IA3 q_proj, v_proj, down_proj.
    EXPECT_EQ(qt.loraTargets, (std::vector<std::string>{"q_proj", "v_proj"}));
    EXPECT_EQ(qt.ia3Targets, (std::vector<std::string>{"q_proj", "v_proj", "down_proj"}));
    EXPECT_EQ(gt.ia3Feedforward, std::vector<std::string>{"down_proj"});
}

TEST(FamilyConfig, Phi3WithoutTargetModulesSaysPeftHasNoDefault) {
    const ModelConfig p = ModelConfig::fromJson(phi3_mini_4k(), "phi-3");
    try {
        methodSpec("LORA").count(p, {{"peft_type", "LORA"}, {"r", 8}});
        FAIL() << "expected an error";
    } catch (const PeftError& e) {
        EXPECT_NE(std::string(e.what()).find("target_modules"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("qkv_proj"), std::string::npos) << e.what();
    }
}

TEST(FamilyConfig, UnsupportedVariantsNameTheFeature) {
    auto message = [](const json& j) {
        try {
            ModelConfig::fromJson(j, "config.json");
        } catch (const PeftError& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    json vision = {
        {"model_type", "gemma3"}, {"text_config", gemma3_4b_text()}, {"vision_config", {{"hidden_size", 1152}}}};
    EXPECT_NE(message(vision).find("vision"), std::string::npos) << message(vision);
    json visionKey = qwen3_0_6b();
    visionKey["vision_config"] = json::object();
    EXPECT_NE(message(visionKey).find("vision"), std::string::npos);
    json moe = qwen3_0_6b();
    moe["model_type"] = "qwen3_moe";
    EXPECT_NE(message(moe).find("mixture-of-experts"), std::string::npos) << message(moe);
    json experts = phi3_mini_4k();
    experts["num_local_experts"] = 16;
    EXPECT_NE(message(experts).find("mixture-of-experts"), std::string::npos);
    json yarn = qwen3_8b();
    yarn["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32768}};
    EXPECT_NE(message(yarn).find("rope type 'yarn'"), std::string::npos) << message(yarn);
    json cap = gemma3_1b();
    cap["final_logit_softcapping"] = 30.0;
    EXPECT_NE(message(cap).find("soft-capping"), std::string::npos) << message(cap);
    json shortFactors = phi4_mini();
    shortFactors["rope_scaling"]["short_factor"] = {1.0, 2.0};
    EXPECT_NE(message(shortFactors).find("short_factor"), std::string::npos) << message(shortFactors);
}

TEST(FamilyConfig, PrefixTuningRefusesHeadDimOtherThanHiddenOverHeads) {
    const ModelConfig q = ModelConfig::fromJson(qwen3_0_6b(), "qwen3-0.6b");
    EXPECT_THROW(methodSpec("PREFIX_TUNING").count(q, {{"peft_type", "PREFIX_TUNING"}, {"num_virtual_tokens", 8}}),
                 PeftError);
    const ModelConfig p = ModelConfig::fromJson(phi3_mini_4k(), "phi-3");
    EXPECT_GT(
        methodSpec("PREFIX_TUNING").count(p, {{"peft_type", "PREFIX_TUNING"}, {"num_virtual_tokens", 8}}).trainable, 0);
}

// ---- longrope: transformers' _compute_longrope_parameters, in double ----------------------------
TEST(LongRope, FrequenciesAttentionFactorAndSwitch) {
    // head_dim 16, partial_rotary_factor 0.5 -> 8 rotary dims, 4 pairs; 64 positions over an
    // original 16 -> factor 4, attention factor sqrt(1 + ln 4 / ln 16) = sqrt(1.5).
    const std::vector<double> shortF = {1.0, 1.5, 2.0, 3.0}, longF = {2.0, 4.0, 8.0, 16.0};
    json cfg = {{"model_type", "phi3"},
                {"vocab_size", 64},
                {"hidden_size", 32},
                {"intermediate_size", 48},
                {"num_hidden_layers", 1},
                {"num_attention_heads", 2},
                {"num_key_value_heads", 1},
                {"max_position_embeddings", 64},
                {"original_max_position_embeddings", 16},
                {"partial_rotary_factor", 0.5},
                {"rope_theta", 10000.0},
                {"rope_scaling", {{"type", "longrope"}, {"short_factor", shortF}, {"long_factor", longF}}}};
    const ModelConfig c = ModelConfig::fromJson(cfg, "longrope");
    ASSERT_EQ(c.rotaryDim, 8);
    EXPECT_EQ(c.rope.originalMaxPositions, 16);
    const double attn = std::sqrt(1.0 + std::log(4.0) / std::log(16.0));
    EXPECT_NEAR(c.rope.attentionFactor, attn, 1e-12);
    auto expectedInv = [&](const std::vector<double>& f, int i) {
        return 1.0 / (f[i] * std::pow(10000.0, 2.0 * i / 8.0));
    };
    torch::Tensor s = ropeInverseFrequencies(c.rope, 8, false), l = ropeInverseFrequencies(c.rope, 8, true);
    for (int i = 0; i < 4; ++i) {
        EXPECT_NEAR(s[i].item<double>() / expectedInv(shortF, i), 1.0, 1e-6) << i;
        EXPECT_NEAR(l[i].item<double>() / expectedInv(longF, i), 1.0, 1e-6) << i;
    }
    // Short factors while the pass stays within the original 16 positions, long ones past it; cos
    // and sin carry the attention factor either way.
    RotaryTables tables(c.rope, 8);
    for (int64_t last : {15, 16, 40}) {
        torch::Tensor pos = torch::arange(0, last + 1, torch::kInt64);
        auto [cosT, sinT] = tables(pos, torch::kFloat32);
        ASSERT_EQ(cosT.sizes(), (std::vector<int64_t>{last + 1, 8}));
        const auto& f = last + 1 > 16 ? longF : shortF;
        for (int i = 0; i < 4; ++i) {
            const double ang = static_cast<double>(last) * expectedInv(f, i);
            EXPECT_NEAR(cosT[last][i].item<double>(), std::cos(ang) * attn, 2e-5) << last << " " << i;
            EXPECT_NEAR(sinT[last][i + 4].item<double>(), std::sin(ang) * attn, 2e-5) << last << " " << i;
        }
    }
}

// ---- Traits, not identities ---------------------------------------------------------------------
// Lines of core/, ui/ and app/ sources matching `pattern`, outside the `allowedPrefixes` (paths
// relative to the source tree). `allowedHits` counts the matches inside them, so a test can check
// that the scan saw the registries' own.
struct SourceScan {
    std::vector<std::string> hits;
    int scanned = 0, allowedHits = 0;
};

static SourceScan scanSources(const fs::path& root, const std::regex& pattern,
                              const std::vector<std::string>& allowedPrefixes) {
    SourceScan out;
    for (const char* dir : {"core", "ui", "app"}) {
        if (!fs::exists(root / dir)) continue;
        for (const auto& e : fs::recursive_directory_iterator(root / dir)) {
            const std::string ext = e.path().extension().string();
            if (!e.is_regular_file() || (ext != ".cpp" && ext != ".h")) continue;
            ++out.scanned;
            const std::string rel = fs::relative(e.path(), root).generic_string();
            const bool allowed = std::any_of(allowedPrefixes.begin(), allowedPrefixes.end(),
                                             [&](const std::string& a) { return rel.rfind(a, 0) == 0; });
            std::ifstream f(e.path());
            std::string line;
            for (int n = 1; std::getline(f, line); ++n) {
                if (!std::regex_search(line, pattern)) continue;
                if (allowed) ++out.allowedHits;
                else out.hits.push_back(rel + ":" + std::to_string(n) + ": " + line);
            }
        }
    }
    return out;
}

static fs::path sourceRoot() { return peft::test::sourcePath(); }

static std::string listed(const std::vector<std::string>& hits) {
    std::ostringstream all;
    for (const auto& h : hits) all << "\n  " << h;
    return all.str();
}

// Family comparisons belong in the registries (core/io/model_config.*, core/io/architecture.*) and
// in core/model (which builds each family). Anywhere else, code asks ArchTable::traits.
TEST(Traits, NoFamilyComparisonOutsideTheRegistries) {
    const fs::path root = sourceRoot();
    ASSERT_TRUE(fs::exists(root / "core/io/architecture.cpp")) << "set PEFT_SOURCE_DIR to the source tree";
    const SourceScan s = scanSources(root, std::regex(R"(Family::|\.family\s*[!=]=|\.modelType\s*[!=]=)"),
                                     {"core/model/", "core/io/model_config.", "core/io/architecture."});
    EXPECT_GT(s.scanned, 100);
    EXPECT_GT(s.allowedHits, 0) << "the scan must see the registries' own comparisons";
    EXPECT_TRUE(s.hits.empty()) << "ask ArchTable::traits instead of comparing families:" << listed(s.hits);
}

// Method identities are compared only inside core/peft (the registries and each method's folder).
// Anywhere else, code asks the method's MethodSpec predicates (replacesBase, lowRankUpdate,
// mergesIntoBase, addsVirtualTokens, ...) or its defaults.
TEST(Traits, NoMethodNameComparisonOutsideTheRegistries) {
    const fs::path root = sourceRoot();
    ASSERT_TRUE(fs::exists(root / "core/peft/spec_registry.cpp")) << "set PEFT_SOURCE_DIR to the source tree";
    // Every registered peft_type, so a new method is covered without editing this test.
    std::string names;
    for (const MethodSpec* spec : allMethodSpecs()) names += (names.empty() ? "(" : "|") + spec->peftType();
    names += ")";
    const SourceScan s =
        scanSources(root, std::regex("[!=]=\\s*\"" + names + "\"|\"" + names + "\"\\s*[!=]="), {"core/peft/"});
    EXPECT_GT(s.scanned, 100);
    EXPECT_GT(s.allowedHits, 0) << "the scan must see the method folders' own comparisons";
    EXPECT_TRUE(s.hits.empty()) << "ask the MethodSpec's predicates instead of comparing method names:"
                                << listed(s.hits);

    // Nor are the Method page's card ids ("lora", "houlsby", ...): the GUI reads a card's fields
    // (its diagram, quantizeBase, fixed fields), which the method's own spec defines.
    std::string ids;
    for (const MethodSpec* spec : allMethodSpecs())
        for (const MethodCard& c : spec->cards()) ids += (ids.empty() ? "" : "|") + c.id;
    const SourceScan cards = scanSources(
        root, std::regex(R"((\bid|\.id|\bid\(\))\s*[!=]=\s*(QLatin1String|QStringLiteral)?\(?"()" + ids + ")\""),
        {"core/peft/"});
    EXPECT_TRUE(cards.hits.empty()) << "read the card's fields instead of comparing card ids:" << listed(cards.hits);
}
