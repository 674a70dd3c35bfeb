// Base logits of the fixture models (GPT-2, Llama, Llama-3 RoPE in both config forms) within 1e-4.
#include "core/io/tensor_io.h"
#include "core/model/loader.h"
#include "tests/test_util.h"

using namespace peft;

namespace {
double maxAbsDiff(const std::string& modelDir, const std::string& refFile) {
    auto m = loadModel(test::fixture(modelDir));
    auto ref = loadSafetensors(test::fixture(refFile));
    torch::NoGradGuard ng;
    torch::Tensor logits = m.model->forward(ref.at("input_ids"));
    EXPECT_EQ(logits.sizes(), ref.at("logits").sizes());
    return (logits - ref.at("logits")).abs().max().item<double>();
}
}  // namespace

TEST(ModelLogits, TinyGpt2) { EXPECT_LT(maxAbsDiff("tiny-gpt2/base", "tiny-gpt2/base_reference.safetensors"), 1e-4); }
TEST(ModelLogits, TinyLlama) {
    EXPECT_LT(maxAbsDiff("tiny-llama/base", "tiny-llama/base_reference.safetensors"), 1e-4);
}
TEST(ModelLogits, TinyLlama3Rope) {
    EXPECT_LT(maxAbsDiff("tiny-llama3-rope/base", "tiny-llama3-rope/base_reference.safetensors"), 1e-4);
}
TEST(ModelLogits, TinyLlama3RopeLegacyConfig) {
    EXPECT_LT(maxAbsDiff("tiny-llama3-rope/base-legacy-config", "tiny-llama3-rope/base_reference.safetensors"), 1e-4);
}

TEST(ModelLogits, KvCacheMatchesFullForward) {
    auto m = loadModel(test::fixture("tiny-llama/base"));
    auto ids = loadSafetensors(test::fixture("tiny-llama/base_reference.safetensors")).at("input_ids");
    torch::NoGradGuard ng;
    torch::Tensor full = m.model->forward(ids);
    KVCache cache;
    torch::Tensor a = m.model->forward(ids.slice(1, 0, 7), {}, &cache);
    torch::Tensor b = m.model->forward(ids.slice(1, 7), {}, &cache);
    EXPECT_LT((torch::cat({a, b}, 1) - full).abs().max().item<double>(), 1e-5);
}

TEST(ModelLogits, RunsInBf16) {
    ModelOptions o;
    o.dtype = torch::kBFloat16;
    auto m = loadModel(test::fixture("tiny-llama/base"), o);
    auto ref = loadSafetensors(test::fixture("tiny-llama/base_reference.safetensors"));
    torch::NoGradGuard ng;
    torch::Tensor logits = m.model->forward(ref.at("input_ids")).to(torch::kFloat32);
    EXPECT_LT((logits - ref.at("logits")).abs().max().item<double>(), 0.1);
}

#include "core/model/generate.h"

TEST(Generate, GreedyMatchesArgmaxOfFullForward) {
    auto m = loadModel(test::fixture("tiny-gpt2/base"));
    std::vector<int64_t> prompt = {84, 483, 83, 26};
    GenerateOptions o;
    o.greedy = true;
    o.maxNewTokens = 6;
    o.stopIds = {-1};  // never stop early
    auto out = generateIds(*m.model, prompt, o);
    ASSERT_EQ(out.size(), 6u);
    // Re-derive each token with a full forward pass, no cache.
    std::vector<int64_t> seq = prompt;
    torch::NoGradGuard ng;
    for (int64_t id : out) {
        torch::Tensor logits = m.model->forward(torch::tensor(seq, torch::kInt64).unsqueeze(0));
        EXPECT_EQ(logits[0][-1].argmax().item<int64_t>(), id);
        seq.push_back(id);
    }
}

TEST(Generate, SamplingIsSeededAndTopKRespected) {
    auto m = loadModel(test::fixture("tiny-llama/base"));
    GenerateOptions o;
    o.maxNewTokens = 8;
    o.topK = 1;  // top-1 sampling is greedy
    o.stopIds = {-1};
    auto a = generateIds(*m.model, {1, 5, 9}, o);
    o.greedy = true;
    auto b = generateIds(*m.model, {1, 5, 9}, o);
    EXPECT_EQ(a, b);
    GenerateOptions s;
    s.maxNewTokens = 8;
    s.stopIds = {-1};
    s.seed = 7;
    EXPECT_EQ(generateIds(*m.model, {1, 5, 9}, s), generateIds(*m.model, {1, 5, 9}, s));
}

TEST(Generate, RepetitionPenaltyLowersSeenTokens) {
    at::Generator gen = at::detail::createCPUGenerator(0);
    GenerateOptions o;
    o.greedy = true;
    o.repetitionPenalty = 10.0;
    torch::Tensor logits = torch::tensor({1.0f, 3.0f, 2.9f});
    EXPECT_EQ(pickToken(logits, {}, o, gen), 1);
    EXPECT_EQ(pickToken(logits, {1}, o, gen), 2);
}

// Mistral, Qwen2 and Llama 3 configs of our own: they build, load from a folder and run; Qwen2
// carries q/k/v biases (not on o_proj) and a tied head; the KV cache agrees with a full pass.
#include <fstream>
#include <set>

#include "core/peft/full/export_model.h"

namespace {
std::string writeRandomModel(const test::TempDir& d, nlohmann::json cfg) {
    ModelConfig mc = ModelConfig::fromJson(cfg, "test config");
    CausalLM m = buildModel(mc);
    torch::manual_seed(0);
    {
        torch::NoGradGuard ng;
        for (auto& p : m->named_parameters()) p.value().set_data(torch::randn(p.value().sizes()) * 0.05);
    }
    exportModelFolder(*m, "", d.path());
    return d.path();
}

void checkRuns(const nlohmann::json& cfg) {
    test::TempDir d;
    auto lm = loadModel(writeRandomModel(d, cfg));
    torch::Tensor ids = torch::randint(0, cfg["vocab_size"].get<int64_t>(), {2, 9});
    torch::NoGradGuard ng;
    torch::Tensor full = lm.model->forward(ids);
    EXPECT_EQ(full.sizes(), (std::vector<int64_t>{2, 9, cfg["vocab_size"].get<int64_t>()}));
    EXPECT_TRUE(torch::isfinite(full).all().item<bool>());
    KVCache cache;
    torch::Tensor a = lm.model->forward(ids.slice(1, 0, 4), {}, &cache);
    torch::Tensor b = lm.model->forward(ids.slice(1, 4), {}, &cache);
    EXPECT_LT((torch::cat({a, b}, 1) - full).abs().max().item<double>(), 1e-5);
}
}  // namespace

TEST(OtherFamilies, Qwen2BiasAndTiedHead) {
    nlohmann::json cfg = {{"model_type", "qwen2"},    {"vocab_size", 300},           {"hidden_size", 64},
                          {"num_hidden_layers", 2},   {"num_attention_heads", 4},    {"num_key_value_heads", 2},
                          {"intermediate_size", 128}, {"tie_word_embeddings", true}, {"rope_theta", 1000000.0},
                          {"rms_norm_eps", 1e-6}};
    CausalLM m = buildModel(ModelConfig::fromJson(cfg, "qwen2"));
    std::set<std::string> names;
    for (auto& p : m->named_parameters()) names.insert(p.key());
    EXPECT_TRUE(names.count("model.layers.0.self_attn.q_proj.bias"));
    EXPECT_TRUE(names.count("model.layers.0.self_attn.v_proj.bias"));
    EXPECT_FALSE(names.count("model.layers.0.self_attn.o_proj.bias"));
    EXPECT_FALSE(names.count("lm_head.weight"));  // tied to the embeddings
    EXPECT_TRUE(m->lmHeadWeight().is_same(m->embeddingWeight()));
    checkRuns(cfg);
}

TEST(OtherFamilies, MistralRuns) {
    checkRuns({{"model_type", "mistral"},
               {"vocab_size", 256},
               {"hidden_size", 64},
               {"num_hidden_layers", 2},
               {"num_attention_heads", 8},
               {"num_key_value_heads", 2},
               {"intermediate_size", 96},
               {"sliding_window", 4096},
               {"rope_theta", 10000.0}});
}

TEST(OtherFamilies, Llama3RopeScalingRuns) {
    checkRuns({{"model_type", "llama"},
               {"vocab_size", 512},
               {"hidden_size", 64},
               {"num_hidden_layers", 1},
               {"num_attention_heads", 4},
               {"num_key_value_heads", 1},
               {"intermediate_size", 96},
               {"rope_theta", 500000.0},
               {"rope_scaling",
                {{"rope_type", "llama3"},
                 {"factor", 8.0},
                 {"low_freq_factor", 1.0},
                 {"high_freq_factor", 4.0},
                 {"original_max_position_embeddings", 8}}}});
}
