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
