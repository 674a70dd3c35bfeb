// The run-time estimate (core/train/time_estimate.h): its step count is the trainer's own, for one
// process and for data-parallel ranks; the total adds up its measured parts; it writes nothing
// outside its scratch folder; Cancel and impossible configs end it with the right error.
// (How close the estimate comes to a real run is a benchmark: tests/bench/bench_time_estimate.sh.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/data/prepare.h"
#include "core/dist/data_parallel.h"
#include "core/train/time_estimate.h"
#include "core/train/trainer.h"
#include "core/util/cpu_cores.h"
#include "core/util/error.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace peft;

namespace {

// A LoRA run on tiny-llama over `rows` text rows, a quarter of them held out.
RunConfig smallRun(const test::TempDir& tmp, int rows, const json& training) {
    {
        std::ofstream data(tmp.file("data.jsonl"));
        for (int i = 0; i < rows; ++i)
            data << json{{"text", "row " + std::to_string(i) + " of the timing data set"}}.dump() << "\n";
    }
    json t = {{"batch_size", 2}, {"precision", "fp32"}, {"device", "cpu"},
              {"eval_every", 4}, {"save_every", 5},     {"seed", 1}};
    for (auto it = training.begin(); it != training.end(); ++it) t[it.key()] = it.value();
    const json cfg = {
        {"model", test::fixture("tiny-llama/base")},
        {"dataset",
         {{"path", tmp.file("data.jsonl")}, {"format", "text"}, {"max_length", 24}, {"validation_split", 0.25}}},
        {"method", {{"peft_type", "LORA"}, {"r", 4}, {"lora_alpha", 8}, {"target_modules", {"q_proj", "v_proj"}}}},
        {"training", t},
        {"output_dir", tmp.file("run")}};
    return RunConfig::fromJson(cfg, "test");
}

int64_t trainerSteps(const RunConfig& cfg, int64_t* examples = nullptr) {
    Trainer tr(cfg);
    tr.setup();
    if (examples) *examples = static_cast<int64_t>(tr.data().train.size());
    return tr.totalSteps();
}

}  // namespace

TEST(PlannedSteps, EqualsTheTrainersCount) {
    test::TempDir tmp;
    for (const json& t : {json{{"epochs", 1}}, json{{"epochs", 3}, {"grad_accum", 2}},
                          json{{"epochs", 2}, {"batch_size", 3}}, json{{"max_steps", 7}}}) {
        RunConfig cfg = smallRun(tmp, 22, t);
        int64_t n = 0;
        const int64_t steps = trainerSteps(cfg, &n);
        EXPECT_EQ(plannedSteps(cfg.training, n, cfg.training.batchSize), steps) << t.dump();
    }
    // By hand: 17 rows, 4 per micro-step -> 5 micro-steps (the last has one row); 2 per step -> 2 a epoch.
    TrainingConfig t;
    t.batchSize = 4;
    t.gradAccum = 2;
    t.epochs = 3;
    EXPECT_EQ(plannedSteps(t, 17, 4), 6);
    EXPECT_EQ(plannedSteps(t, 17, 8), 3);  // two ranks of 4: 3 micro-steps, 1 step an epoch
    EXPECT_EQ(plannedSteps(t, 2, 8), 3);   // fewer rows than one step still trains a step an epoch
}

TEST(TimeEstimate, AddsUpItsMeasuredPartsAndLeavesNothingBehind) {
    test::TempDir tmp;
    RunConfig cfg = smallRun(tmp, 40, {{"epochs", 2}});
    int64_t n = 0;
    const int64_t steps = trainerSteps(cfg, &n);
    fs::remove_all(cfg.outputDir);
    TimeEstimateOptions o;
    o.warmupSteps = 1;
    o.timedSteps = 2;
    o.minTimedSeconds = 0;  // exactly two timed steps
    o.evalRows = 4;
    std::vector<double> fractions;
    const TimeEstimate e = estimateRunTime(cfg, o, [&](const std::string&, double f) { fractions.push_back(f); });
    EXPECT_EQ(e.worldSize, 1);
    EXPECT_EQ(e.trainExamples, n);
    EXPECT_EQ(e.totalSteps, steps);
    ASSERT_EQ(e.stepSeconds.size(), 2u);
    EXPECT_GT(e.meanStepSeconds, 0);
    EXPECT_DOUBLE_EQ(e.meanStepSeconds, 0.5 * (e.stepSeconds[0] + e.stepSeconds[1]));
    EXPECT_EQ(e.allReduceSeconds, 0);  // one process
    EXPECT_FALSE(e.allReduceTimed);
    EXPECT_GT(e.setupSeconds, 0);
    // eval_every 4 plus the last step; save_every 5 before the last step plus the last.
    EXPECT_EQ(e.evaluations, steps / 4 + (steps % 4 ? 1 : 0));
    EXPECT_EQ(e.checkpoints, (steps - 1) / 5 + 1);
    EXPECT_TRUE(e.checkpointTimed);
    EXPECT_GT(e.checkpointSeconds, 0);
    EXPECT_GT(e.evalSeconds, 0);
    EXPECT_NEAR(e.totalSeconds(),
                e.setupSeconds + steps * e.meanStepSeconds + e.evaluations * e.evalSeconds +
                    e.checkpoints * e.checkpointSeconds,
                1e-9);
    EXPECT_EQ(e.threadsPerProcess, resolveThreadCount(0));
    EXPECT_EQ(e.device, "cpu");
    // 10 validation rows, 4 timed: the evaluation is scaled and the assumption says so.
    ASSERT_FALSE(e.assumptions.empty());
    EXPECT_NE(e.assumptions[0].find("4 of the 10 validation rows"), std::string::npos) << e.assumptions[0];
    // The run's own folder is untouched; the progress only goes forward and ends at 1.
    EXPECT_FALSE(fs::exists(cfg.outputDir));
    ASSERT_FALSE(fractions.empty());
    for (size_t i = 1; i < fractions.size(); ++i) EXPECT_GE(fractions[i], fractions[i - 1]);
    EXPECT_DOUBLE_EQ(fractions.back(), 1.0);
    const json j = e.toJson();
    EXPECT_EQ(j["total_steps"], steps);
    EXPECT_DOUBLE_EQ(j["total_seconds"].get<double>(), e.totalSeconds());

    // Short steps are timed until they add up to minTimedSeconds, at most maxTimedSteps of them.
    o.timedSteps = 1;
    o.minTimedSeconds = 1e9;
    o.maxTimedSteps = 4;
    EXPECT_EQ(estimateRunTime(cfg, o).stepSeconds.size(), 4u);
}

TEST(TimeEstimate, DataParallelMeasuresOneRankAndCountsTheWorldsSteps) {
    test::TempDir tmp;
    RunConfig cfg = smallRun(tmp, 40, {{"epochs", 1}, {"processes", 2}});
    TimeEstimateOptions o;
    o.warmupSteps = 0;
    o.timedSteps = 1;
    const TimeEstimate e = estimateRunTime(cfg, o);
    EXPECT_EQ(e.worldSize, 2);
    // 30 training rows, 2 ranks x 2 rows per micro-step: ceil(30 / 4) = 8 steps.
    EXPECT_EQ(e.trainExamples, 30);
    EXPECT_EQ(e.totalSteps, 8);
    EXPECT_EQ(e.threadsPerProcess, resolveThreadCount(dist::rankThreads(0, 2)));
    // The ranks' all-reduce was timed and is part of every step.
    EXPECT_TRUE(e.allReduceTimed);
    EXPECT_GT(e.allReduceSeconds, 0);
    EXPECT_NEAR(e.stepsSeconds(), 8 * (e.meanStepSeconds + e.allReduceSeconds), 1e-9);
    bool said = false;
    for (const auto& a : e.assumptions) said = said || a.find("2 ranks run side by side") != std::string::npos;
    EXPECT_TRUE(said);
    EXPECT_NE(e.toJson().dump().find("\"all_reduce_seconds\""), std::string::npos);
    // An explicit thread count is each rank's, as the ranks take it.
    EXPECT_EQ(dist::rankThreads(3, 2), 3);
}

TEST(TimeEstimate, PreferenceObjectivesRefuseSeveralProcessesBeforeLoading) {
    test::TempDir tmp;
    RunConfig cfg = smallRun(tmp, 8, {{"processes", 2}});
    cfg.objective = {{"type", "dpo"}, {"beta", 0.1}};
    try {
        estimateRunTime(cfg);
        FAIL() << "expected an error";
    } catch (const PeftError& e) {
        EXPECT_NE(std::string(e.what()).find("training.processes"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("one process"), std::string::npos) << e.what();
    }
}

TEST(TimeEstimate, CancelStopsItAndRemovesTheScratchFolder) {
    test::TempDir tmp;
    RunConfig cfg = smallRun(tmp, 40, {{"epochs", 1}});
    // The scratch folder goes under TMPDIR: a folder of this test's own, so it can be seen empty.
    const std::string scratchRoot = tmp.file("tmpdir");
    fs::create_directories(scratchRoot);
    const char* oldTmp = std::getenv("TMPDIR");
    const std::string saved = oldTmp ? oldTmp : "";
    setenv("TMPDIR", scratchRoot.c_str(), 1);
    int polls = 0;
    // Cancel after a few polls (during setup's data preparation or between steps).
    EXPECT_THROW(estimateRunTime(cfg, {}, {}, [&] { return ++polls >= 3; }), data::Cancelled);
    EXPECT_GE(polls, 3);
    // Cancel after the first timed step.
    polls = 0;
    bool stepping = false;
    EXPECT_THROW(
        estimateRunTime(
            cfg, {}, [&](const std::string& what, double) { stepping = stepping || what.rfind("Timing step", 0) == 0; },
            [&] { return stepping; }),
        data::Cancelled);
    EXPECT_TRUE(stepping);
    if (oldTmp) setenv("TMPDIR", saved.c_str(), 1);
    else unsetenv("TMPDIR");
    EXPECT_TRUE(fs::is_empty(scratchRoot));
    EXPECT_FALSE(fs::exists(cfg.outputDir));
}

TEST(TimeEstimate, BadOptionsAreErrors) {
    test::TempDir tmp;
    RunConfig cfg = smallRun(tmp, 8, {});
    TimeEstimateOptions o;
    o.timedSteps = 0;
    EXPECT_THROW(estimateRunTime(cfg, o), PeftError);
    EXPECT_EQ(humanDuration(0), "0 s");
    EXPECT_EQ(humanDuration(59.4), "59 s");
    EXPECT_EQ(humanDuration(125), "2 min 05 s");
    EXPECT_EQ(humanDuration(3 * 3600 + 7 * 60 + 20), "3 h 07 min");
    EXPECT_EQ(humanDuration(2 * 86400 + 5 * 3600), "2 d 05 h");
}
