// Numerical and memory faults during training: NaN/inf loss, an exploding gradient norm, a dataset
// whose every label is masked, and an allocation failure. Each must end the run with a message
// that says what happened and what to try, never a crash; the OOM stop writes a checkpoint.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/data/prepare.h"
#include "core/train/optimizer.h"
#include "core/train/trainer.h"
#include "core/util/error.h"
#include "core/util/runtime_info.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

peft::RunConfig makeConfig(const peft::test::TempDir& d, const json& training, const json& dataset = nullptr) {
    if (!fs::exists(d.file("data.jsonl"))) {
        std::ofstream data(d.file("data.jsonl"));
        for (int i = 0; i < 12; ++i)
            data << json{{"text", "sample number " + std::to_string(i) + " for the fault tests"}}.dump() << "\n";
    }
    json t = {{"max_steps", 6},  {"batch_size", 2}, {"precision", "fp32"}, {"device", "cpu"},
              {"save_every", 2}, {"eval_every", 0}, {"lr", 1e-3}};
    for (auto it = training.begin(); it != training.end(); ++it) t[it.key()] = it.value();
    json j = {
        {"model", peft::test::fixture("tiny-llama/base")},
        {"dataset",
         dataset.is_null() ? json{{"path", d.file("data.jsonl")}, {"format", "text"}, {"max_length", 32}} : dataset},
        {"method", {{"peft_type", "LORA"}, {"r", 4}, {"target_modules", {"q_proj", "v_proj"}}}},
        {"training", t},
        {"output_dir", d.file("run")}};
    return peft::RunConfig::fromJson(j, "test");
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(TrainFaults, NonFiniteLossStopsWithAMessage) {
    // Weights that overflowed (a learning rate far too high in bf16, a corrupt init_from adapter)
    // make the loss NaN: caught before backward touches the optimizer.
    peft::test::TempDir d;
    peft::Trainer t(makeConfig(d, json::object()));
    t.setup();
    {
        torch::NoGradGuard ng;
        for (auto& [n, p] : t.adapter().method->trainable()) p.fill_(std::numeric_limits<float>::infinity());
    }
    peft::TrainResult r = t.run();
    ASSERT_EQ(r.status, peft::TrainStatus::Failed) << r.message;
    EXPECT_EQ(r.steps, 0);
    EXPECT_TRUE(contains(r.message, "loss became NaN") || contains(r.message, "loss became infinite")) << r.message;
    EXPECT_TRUE(contains(r.message, "at step 1")) << r.message;
    EXPECT_TRUE(contains(r.message, "Lower the learning rate")) << r.message;
    EXPECT_TRUE(contains(r.message, "No checkpoint was written yet")) << r.message;
}

TEST(TrainFaults, AbsurdLearningRateFailsWithAMessage) {
    // AdamW's step size lr / (1 - beta1^t) overflows float for lr = 1e38: once an "unexpected
    // error" from LibTorch, now a failed run that names the learning rate.
    peft::test::TempDir d;
    peft::Trainer t(makeConfig(d, {{"lr", 1e38}, {"optimizer", "adamw"}, {"scheduler", "constant"}}));
    t.setup();
    peft::TrainResult r = t.run();
    ASSERT_EQ(r.status, peft::TrainStatus::Failed) << r.message;
    EXPECT_EQ(r.steps, 0);
    EXPECT_TRUE(contains(r.message, "optimizer step failed at step 1")) << r.message;
    EXPECT_TRUE(contains(r.message, "Lower the learning rate")) << r.message;
}

TEST(TrainFaults, InfiniteGradientIsCaughtBeforeTheStep) {
    peft::test::TempDir d;
    peft::Trainer t(makeConfig(d, {{"max_grad_norm", 1.0}}));
    t.setup();
    // Poison one trainable tensor's gradient from step 3 on; the loss itself stays finite.
    auto params = t.adapter().method->trainable();
    ASSERT_FALSE(params.empty());
    torch::Tensor p = params.front().second;
    auto calls = std::make_shared<int>(0);
    p.register_hook(
        [calls](torch::Tensor g) { return ++*calls >= 3 ? g * std::numeric_limits<float>::infinity() : g; });
    torch::Tensor before;
    peft::TrainResult r = t.run([&](const peft::StepMetrics& m) {
        if (m.step == 2) before = p.detach().clone();
    });
    ASSERT_EQ(r.status, peft::TrainStatus::Failed) << r.message;
    EXPECT_EQ(r.steps, 2);
    EXPECT_TRUE(contains(r.message, "gradient norm")) << r.message;
    EXPECT_TRUE(contains(r.message, "at step 3")) << r.message;
    EXPECT_TRUE(contains(r.message, "learning rate")) << r.message;
    EXPECT_TRUE(contains(r.message, "step-00000002")) << r.message;  // the last good checkpoint is named
    ASSERT_TRUE(before.defined());
    EXPECT_TRUE(torch::equal(before, p.detach())) << "the poisoned step changed the weights";
    EXPECT_TRUE(torch::isfinite(p.detach()).all().item<bool>());
}

TEST(TrainFaults, EveryLabelMaskedIsRefusedAtSetup) {
    peft::test::TempDir d;
    peft::Trainer t(makeConfig(d, json::object()));
    peft::TrainData data;
    for (int i = 0; i < 4; ++i) {
        peft::Example e;
        e.inputIds = {1, 5, 6, 7, 8};
        e.labels = {-100, -100, -100, -100, -100};
        data.train.push_back(e);
    }
    t.setData(data);
    try {
        t.setup();
        FAIL() << "a dataset with every label masked was accepted";
    } catch (const peft::PeftError& e) {
        std::string m = e.what();
        EXPECT_TRUE(contains(m, "every label is masked")) << m;
        EXPECT_TRUE(contains(m, "train_on")) << m;
    }
}

TEST(TrainFaults, EveryLabelMaskedFromTheDataFileIsRefused) {
    // An instruction dataset whose responses are all cut off by max_length: only prompt tokens
    // remain, and they carry no loss.
    peft::test::TempDir d;
    {
        std::ofstream data(d.file("inst.jsonl"));
        std::string longPrompt;
        for (int i = 0; i < 60; ++i) longPrompt += "word ";
        for (int i = 0; i < 4; ++i) data << json{{"instruction", longPrompt}, {"output", "the answer"}}.dump() << "\n";
    }
    json ds = {{"path", d.file("inst.jsonl")},
               {"format", "instruction"},
               {"template", "alpaca"},
               {"max_length", 16},
               {"train_on", "responses"}};
    peft::Trainer t(makeConfig(d, json::object(), ds));
    try {
        t.setup();
        FAIL() << "a dataset whose every response is cut off was accepted";
    } catch (const peft::PeftError& e) {
        std::string m = e.what();
        EXPECT_TRUE(contains(m, "masked") || contains(m, "no training examples") || contains(m, "max_length")) << m;
    }
}

TEST(TrainFaults, MoreClassesThanTheScoreHeadIsRefusedAtSetup) {
    // Three classes (0, 1, 2) against num_labels 2: refused before any step, naming the row, the
    // class and the fix, instead of an index error from deep inside the loss.
    peft::test::TempDir d;
    {
        std::ofstream data(d.file("cls.jsonl"));
        for (int i = 0; i < 9; ++i)
            data << json{{"text", "review number " + std::to_string(i)}, {"label", i % 3}}.dump() << "\n";
    }
    json ds = {
        {"path", d.file("cls.jsonl")}, {"format", "classification"}, {"max_length", 16}, {"validation_split", 0.0}};
    // The head's size is the model's num_labels (config.json): 2 here, as transformers' default.
    const std::string model = d.file("model");
    fs::copy(peft::test::fixture("tiny-llama/base"), model, fs::copy_options::recursive);
    json mc = json::parse(std::ifstream(model + "/config.json"));
    mc["num_labels"] = 2;
    mc.erase("id2label");
    mc.erase("label2id");
    std::ofstream(model + "/config.json") << mc.dump(2);
    peft::RunConfig cfg = makeConfig(d, json::object(), ds);
    cfg.model = model;
    cfg.method = {{"peft_type", "LORA"}, {"task_type", "SEQ_CLS"}, {"r", 4}, {"target_modules", {"q_proj", "v_proj"}}};
    peft::Trainer t(cfg);
    try {
        t.setup();
        FAIL() << "a class beyond num_labels was accepted";
    } catch (const peft::PeftError& e) {
        const std::string m = e.what();
        EXPECT_TRUE(contains(m, "class 2 is outside the score head's 2 labels")) << m;
        EXPECT_TRUE(contains(m, "cls.jsonl:3")) << m;  // the first row with class 2
        EXPECT_TRUE(contains(m, "\"num_labels\": 3")) << m;
        EXPECT_TRUE(contains(m, "config.json")) << m;
    }
    // With num_labels 3 in config.json the same data trains.
    mc["num_labels"] = 3;
    std::ofstream(model + "/config.json") << mc.dump(2);
    cfg.outputDir = d.file("run3");
    peft::Trainer ok(cfg);
    ASSERT_NO_THROW(ok.setup());
    EXPECT_EQ(ok.run().status, peft::TrainStatus::Finished);
}

TEST(TrainFaults, StopWhilePreparingDataEndsSetupWithoutARun) {
    // A Stop pressed while setup() prepares the dataset (the GUI passes its stop flag): setup
    // throws data::Cancelled and no checkpoint or metrics file exists.
    peft::test::TempDir d;
    {
        std::ofstream data(d.file("big.jsonl"));
        for (int i = 0; i < 600; ++i) data << json{{"text", "row " + std::to_string(i)}}.dump() << "\n";
    }
    json ds = {{"path", d.file("big.jsonl")}, {"format", "text"}, {"max_length", 16}};
    peft::Trainer t(makeConfig(d, json::object(), ds));
    int polls = 0;
    t.setCancelCheck([&] { return ++polls >= 2; });  // after the file is read, at row 256
    EXPECT_THROW(t.setup(), peft::data::Cancelled);
    EXPECT_EQ(polls, 2);
    EXPECT_FALSE(fs::exists(d.file("run/checkpoints")));
    EXPECT_FALSE(fs::exists(d.file("run/metrics.jsonl")));
}

TEST(TrainFaults, AllocationFailureStopsWithACheckpoint) {
    peft::test::TempDir d;
    peft::Trainer t(makeConfig(d, {{"max_steps", 8}}));
    t.setup();
    auto params = t.adapter().method->trainable();
    auto calls = std::make_shared<int>(0);
    // At step 4's backward, ask the CPU allocator for 8 PiB: a real allocation failure inside autograd.
    params.front().second.register_hook([calls](torch::Tensor g) {
        if (++*calls == 4) return g + torch::empty({int64_t{1} << 51}, torch::kFloat32).sum();
        return g;
    });
    peft::TrainResult r = t.run();
    ASSERT_EQ(r.status, peft::TrainStatus::Failed) << r.message;
    EXPECT_TRUE(contains(r.message, "out of memory")) << r.message;
    EXPECT_TRUE(contains(r.message, "batch_size")) << r.message;
    EXPECT_EQ(r.steps, 3);
    ASSERT_FALSE(r.lastCheckpoint.empty());
    EXPECT_NE(r.lastCheckpoint.find("step-00000003"), std::string::npos) << r.lastCheckpoint;
    EXPECT_TRUE(fs::exists(r.lastCheckpoint + "/trainer_state.json"));
    // ... and the run resumes from it.
    peft::Trainer again(makeConfig(d, {{"max_steps", 8}}));
    again.setup();
    ASSERT_TRUE(again.resumeFromLatest());
    EXPECT_EQ(again.step(), 3);
    EXPECT_EQ(again.run().status, peft::TrainStatus::Finished);
}

// --- Pre-run memory check (issue 10: "before a run starts, compare the budget estimate with free
// memory and warn").

TEST(PreflightMemory, WarnsOnlyWhenTheEstimateExceedsNinetyPercentOfFreeMemory) {
    const uint64_t gib = uint64_t{1} << 30;
    EXPECT_TRUE(peft::memoryWarnings(8 * gib, 16 * gib, "RAM").empty());
    EXPECT_TRUE(peft::memoryWarnings(9 * gib, 10 * gib, "RAM").empty());  // exactly 90%: still fits
    auto w = peft::memoryWarnings(10 * gib, 10 * gib, "RAM");
    ASSERT_EQ(w.size(), 1u);
    EXPECT_TRUE(contains(w[0], "10.0 GiB") || contains(w[0], "10.00 GiB")) << w[0];
    EXPECT_TRUE(contains(w[0], "of RAM is free")) << w[0];
    EXPECT_TRUE(contains(w[0], "batch_size")) << w[0];  // says what to try
    EXPECT_TRUE(contains(w[0], "quantize_base")) << w[0];
    // Unknown free memory or no estimate: no warning rather than a wrong one.
    EXPECT_TRUE(peft::memoryWarnings(10 * gib, std::nullopt, "GPU memory").empty());
    EXPECT_TRUE(peft::memoryWarnings(0, gib, "RAM").empty());
}

TEST(PreflightMemory, ARunThatFitsIsNotFlagged) {
    peft::test::TempDir d;
    peft::RunConfig cfg = makeConfig(d, json::object());
    peft::PreflightReport r = peft::preflight(cfg, "cpu");
    EXPECT_EQ(r.memoryKind, "RAM");
    EXPECT_GT(r.estimatedBytes, 0u);
    ASSERT_TRUE(r.availableBytes.has_value());  // /proc/meminfo is readable on Linux
    EXPECT_GT(*r.availableBytes, 0u);
    EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
}

TEST(PreflightMemory, ARunThatCannotFitIsFlaggedAtSetupBeforeAnyStep) {
    // 200k sequences of 8192 tokens per step: the activations alone are far beyond any machine's
    // RAM. The trainer's setup must report it before the first step (setup does not allocate batches).
    peft::test::TempDir d;
    json dataset = {{"path", d.file("data.jsonl")}, {"format", "text"}, {"max_length", 8192}};
    peft::RunConfig cfg = makeConfig(d, {{"batch_size", 200000}}, dataset);
    peft::PreflightReport direct = peft::preflight(cfg, "cpu");
    ASSERT_TRUE(direct.availableBytes.has_value());
    EXPECT_GT(direct.estimatedBytes, *direct.availableBytes);
    ASSERT_EQ(direct.warnings.size(), 1u);
    EXPECT_TRUE(contains(direct.warnings[0], "will probably run out of memory")) << direct.warnings[0];

    peft::Trainer t(cfg);
    t.setup();
    ASSERT_EQ(t.preflightReport().warnings.size(), 1u);
    EXPECT_EQ(t.preflightReport().estimatedBytes, direct.estimatedBytes);
    EXPECT_EQ(t.step(), 0);
}

TEST(PreflightMemory, UnknownGpuMemoryGivesNoFalseWarning) {
    // On a CPU-only LibTorch the CUDA runtime is not loaded: free GPU memory is unknown, so no
    // warning is made up; the estimate itself is still computed.
    peft::test::TempDir d;
    peft::RunConfig cfg = makeConfig(d, {{"batch_size", 200000}});
    peft::PreflightReport r = peft::preflight(cfg, "cuda");
    EXPECT_EQ(r.memoryKind, "GPU memory");
    EXPECT_GT(r.estimatedBytes, 0u);
    if (!r.availableBytes) EXPECT_TRUE(r.warnings.empty());
}

TEST(PreflightPrecision, Bf16OnACpuWithoutFastBf16IsFlagged) {
    // Without AVX-512, LibTorch's bf16 products are a slow loop (~14x slower than fp32): a bf16
    // CPU run says so and names the fix; a GPU run, an fp32 run, or a CPU with fast bf16 do not.
    const auto w = peft::precisionWarnings("bf16", "cpu", false);
    ASSERT_EQ(w.size(), 1u);
    EXPECT_TRUE(contains(w[0], "training.precision")) << w[0];
    EXPECT_TRUE(contains(w[0], "fp32")) << w[0];
    EXPECT_TRUE(peft::precisionWarnings("bf16", "cpu", true).empty());
    EXPECT_TRUE(peft::precisionWarnings("bf16", "cuda", false).empty());
    EXPECT_TRUE(peft::precisionWarnings("fp32", "cpu", false).empty());
    // Through the trainer's preflight, with the CPU's answer overridden both ways.
    peft::test::TempDir d;
    peft::RunConfig cfg = makeConfig(d, {{"precision", "bf16"}});
    peft::overrideCpuHasFastBf16(false);
    const peft::PreflightReport slow = peft::preflight(cfg, "cpu");
    peft::overrideCpuHasFastBf16(true);
    const peft::PreflightReport fast = peft::preflight(cfg, "cpu");
    peft::overrideCpuHasFastBf16(std::nullopt);
    ASSERT_EQ(slow.warnings.size(), 1u);
    EXPECT_TRUE(contains(slow.warnings[0], "AVX-512")) << slow.warnings[0];
    EXPECT_GT(slow.estimatedBytes, 0u);  // the memory estimate still ran
    EXPECT_TRUE(fast.warnings.empty()) << fast.warnings.front();
    peft::overrideCpuHasFastBf16(false);
    EXPECT_EQ(peft::suggestedPrecision(), peft::cudaAvailable() ? "bf16" : "fp32");
    peft::overrideCpuHasFastBf16(true);
    EXPECT_EQ(peft::suggestedPrecision(), "bf16");
    peft::overrideCpuHasFastBf16(std::nullopt);
}

TEST(MixedPrecision, Bf16WeightsUpdateThroughAnFp32Master) {
    // Updates of 1e-3 on a weight of 1.0 are below bf16's spacing there (2^-7): applied to the
    // bf16 tensor itself they would all be lost. The fp32 master accumulates them.
    for (const std::string opt : {"sgd", "adamw"}) {
        SCOPED_TRACE(opt);
        peft::TrainingConfig cfg;
        cfg.optimizer = opt;
        cfg.momentum = 0;
        cfg.weightDecay = 0;
        torch::Tensor w = torch::ones({4}, torch::kBFloat16).set_requires_grad(true);
        peft::Optimizer o({{"w", w}}, cfg);
        for (int i = 0; i < 10; ++i) {
            w.mutable_grad() = torch::ones({4}, torch::kBFloat16);
            o.step(1e-3);  // SGD: -1e-3 per step; AdamW with a constant gradient: also ~-1e-3
            o.zeroGrad();
        }
        const double got = w[0].item<double>();
        EXPECT_LT(got, 1.0) << "every update was lost";
        EXPECT_NEAR(got, 0.99, 0.005);
        // The master is part of the state and comes back on resume.
        auto st = o.state();
        std::map<std::string, torch::Tensor> saved;
        for (auto& [k, t] : st) saved[k] = t.clone();
        ASSERT_TRUE(saved.count("w.master"));
        EXPECT_EQ(saved["w.master"].scalar_type(), torch::kFloat32);
        EXPECT_NEAR(saved["w.master"][0].item<double>(), 0.99, 1e-4);
        torch::Tensor w2 = w.detach().clone().set_requires_grad(true);
        peft::Optimizer again({{"w", w2}}, cfg);
        again.loadState(saved, o.stepCount(), "test");
        EXPECT_NEAR(again.state().back().second[0].item<double>(), 0.99, 1e-4);
        // A checkpoint from before master copies: the master starts from the (bf16) weight.
        saved.erase("w.master");
        torch::Tensor w3 = w.detach().clone().set_requires_grad(true);
        peft::Optimizer old({{"w", w3}}, cfg);
        old.loadState(saved, o.stepCount(), "test");
        EXPECT_EQ(old.state().back().second[0].item<double>(), w[0].item<double>());
    }
}
