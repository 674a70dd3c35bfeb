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
TEST(ModelLogits, TinyLlama) { EXPECT_LT(maxAbsDiff("tiny-llama/base", "tiny-llama/base_reference.safetensors"), 1e-4); }
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
