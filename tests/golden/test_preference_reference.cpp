// Three training steps of DPO, ORPO and SimPO on tiny-llama, LoRA started from the fixture's
// lora-qv-r4 adapter (so the policy differs from the reference at step 0), against an
// independent PyTorch implementation (tests/golden/preference_reference.py, run with Debian's
// python3-torch; it first checks its own forward against the fixture logits): per-step loss,
// pre-clip gradient norm and every reported metric within 1e-5 relative.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/train/trainer.h"
#include "tests/test_util.h"

using nlohmann::json;
using namespace peft;

namespace {

const char* kPairs =
    R"({"prompt_ids": [1, 45, 230, 17], "chosen_ids": [88, 301, 2], "rejected_ids": [412, 9, 77, 150, 2]})"
    "\n"
    R"({"prompt_ids": [1, 610, 33], "chosen_ids": [5, 290, 418, 2], "rejected_ids": [99, 2]})"
    "\n"
    R"({"prompt_ids": [1, 72, 199, 540, 12], "chosen_ids": [640, 2], "rejected_ids": [3, 381, 2]})"
    "\n"
    R"({"prompt_ids": [1, 250], "chosen_ids": [77, 78, 79, 2], "rejected_ids": [501, 502, 503, 504, 505, 2]})"
    "\n";

std::string sourceDir() { return peft::test::sourcePath(); }

// |a - b| within 1e-5 of the larger magnitude. Values that are differences of log-probabilities
// (margins, log-odds, rewards near zero) carry the fp32 rounding of the log-probabilities they come
// from, not of their own small size: for them the floor is 1e-7 of |logps_chosen| + |logps_rejected|
// (`scale`; fp32's epsilon is 6e-8).
void expectClose(double got, double want, const std::string& what, double scale = 0) {
    EXPECT_LE(std::abs(got - want), std::max(1e-5 * std::max(std::abs(got), std::abs(want)), 1e-7 * scale))
        << what << ": ours " << got << ", reference " << want;
}

void checkObjective(const json& objective) {
    test::TempDir d;
    std::ofstream(d.file("pairs.jsonl")) << kPairs;
    const std::string model = test::fixture("tiny-llama/base"),
                      adapter = test::fixture("tiny-llama/adapters/lora-qv-r4");
    // The reference run.
    std::string cmd = "/usr/bin/python3 '" + sourceDir() + "/tests/golden/preference_reference.py' --model '" + model +
        "' --adapter '" + adapter + "' --pairs '" + d.file("pairs.jsonl") + "' --objective '" + objective.dump() +
        "' --steps 3 --batch-size 2 --lr 0.01 --weight-decay 0.01 --out '" + d.file("ref.json") + "' > '" +
        d.file("ref.log") + "' 2>&1";
    int rc = std::system(cmd.c_str());
    std::ifstream logIn(d.file("ref.log"));
    std::string log((std::istreambuf_iterator<char>(logIn)), {});
    ASSERT_EQ(rc, 0) << "the Python reference failed (is Debian's python3-torch installed?):\n" << log;
    json ref = json::parse(std::ifstream(d.file("ref.json")));
    ASSERT_EQ(ref.size(), 3u);

    json cfg = {{"model", model},
                {"dataset", {{"path", d.file("pairs.jsonl")}, {"validation_split", 0.0}, {"max_length", 64}}},
                {"method", {{"peft_type", "LORA"}, {"init_from", adapter}}},
                {"training", test::referenceTraining()},
                {"objective", objective},
                {"output_dir", d.file("run")}};
    cfg["training"]["device"] = "cpu";
    Trainer trainer(RunConfig::fromJson(cfg, "test"));
    trainer.setup();
    std::vector<StepMetrics> steps;
    TrainResult r = trainer.run([&](const StepMetrics& m) { steps.push_back(m); });
    ASSERT_EQ(r.status, TrainStatus::Finished) << r.message;
    ASSERT_EQ(steps.size(), 3u);
    for (size_t s = 0; s < 3; ++s) {
        const std::string at = objective["type"].get<std::string>() + " step " + std::to_string(s + 1);
        const double scale =
            std::abs(ref[s]["logps_chosen"].get<double>()) + std::abs(ref[s]["logps_rejected"].get<double>());
        expectClose(steps[s].loss, ref[s]["loss"].get<double>(), at + " loss");
        expectClose(steps[s].gradNorm, ref[s]["grad_norm"].get<double>(), at + " grad_norm");
        int compared = 0;
        for (auto it = ref[s].begin(); it != ref[s].end(); ++it) {
            if (it.key() == "step" || it.key() == "loss" || it.key() == "grad_norm") continue;
            auto m = steps[s].objectiveMetrics.find(it.key());
            ASSERT_NE(m, steps[s].objectiveMetrics.end()) << at << ": no metric " << it.key();
            expectClose(m->second, it.value().get<double>(), at + " " + it.key(), scale);
            ++compared;
        }
        EXPECT_GE(compared, 6) << at;
    }
}

}  // namespace

TEST(PreferenceReference, Dpo) { checkObjective({{"type", "dpo"}, {"beta", 0.1}, {"label_smoothing", 0.0}}); }
TEST(PreferenceReference, DpoLabelSmoothing) {
    checkObjective({{"type", "dpo"}, {"beta", 0.5}, {"label_smoothing", 0.2}});
}
TEST(PreferenceReference, Orpo) { checkObjective({{"type", "orpo"}, {"lambda", 0.1}}); }
TEST(PreferenceReference, Simpo) {
    checkObjective({{"type", "simpo"}, {"beta", 2.0}, {"gamma", 1.0}, {"label_smoothing", 0.1}, {"sft_weight", 0.5}});
}
