// Three AdamW steps from the lora-qv-r4 adapter reproduce the HF stack's loss, pre-clip gradient
// norm and final adapter tensors (tiny-gpt2 and tiny-llama).
#include "core/io/model_config.h"
#include "core/io/tensor_io.h"
#include "core/train/trainer.h"
#include "tests/test_util.h"

using namespace peft;

namespace {

void checkTrainReference(const std::string& arch) {
    test::TempDir out;
    auto ref = loadSafetensors(test::fixture(arch + "/train_reference.safetensors"));
    auto summary = readJsonFile(test::fixture(arch + "/summary.json"))["train_reference"];
    nlohmann::json cfg = {
        {"model", test::fixture(arch + "/base")},
        {"method", {{"peft_type", "LORA"}, {"init_from", test::fixture(arch + "/adapters/lora-qv-r4")}}},
        {"training", test::referenceTraining()},
        {"output_dir", out.path()}};
    Trainer trainer(RunConfig::fromJson(cfg, "test"));
    TrainData data;
    torch::Tensor ids = ref.at("input_ids"), labels = ref.at("labels");
    for (int64_t i = 0; i < ids.size(0); ++i) {
        Example e;
        for (int64_t t = 0; t < ids.size(1); ++t) {
            e.inputIds.push_back(ids[i][t].item<int64_t>());
            e.labels.push_back(labels[i][t].item<int64_t>());
        }
        data.train.push_back(e);
    }
    trainer.setData(data);
    trainer.setup();
    std::vector<StepMetrics> steps;
    TrainResult r = trainer.run([&](const StepMetrics& m) { steps.push_back(m); });
    ASSERT_EQ(r.status, TrainStatus::Finished) << r.message;
    ASSERT_EQ(steps.size(), 3u);
    const auto& expected = summary["loss_and_gradnorm_before_clip"];
    for (size_t s = 0; s < 3; ++s) {
        double loss = expected[s][0].get<double>(), norm = expected[s][1].get<double>();
        EXPECT_NEAR(steps[s].loss, loss, 1e-4 * std::abs(loss)) << arch << " step " << s + 1;
        EXPECT_NEAR(steps[s].gradNorm, norm, 1e-4 * std::abs(norm)) << arch << " step " << s + 1;
    }
    int compared = 0;
    for (const auto& [name, t] : trainer.adapter().method->trainable()) {
        auto it = ref.find(name);
        ASSERT_NE(it, ref.end()) << name;
        EXPECT_LT((t.detach() - it->second).abs().max().item<double>(), 1e-4) << name;
        ++compared;
    }
    EXPECT_EQ(compared, static_cast<int>(ref.size()) - 2);  // every tensor but input_ids and labels
}

}  // namespace

TEST(TrainReference, TinyGpt2) { checkTrainReference("tiny-gpt2"); }
TEST(TrainReference, TinyLlama) { checkTrainReference("tiny-llama"); }
