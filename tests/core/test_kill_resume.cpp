// Kill-and-resume: `peft-studio-cli train` is SIGKILLed at random points (fixed seed), resumed with
// --resume each time, and must end with the same adapter and the same per-step losses as a run
// that was never interrupted.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "core/io/safetensors.h"
#include "core/train/trainer.h"
#include "tests/cli_process.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int64_t kSteps = 24;

// Starts the CLI with its output in `log`; returns the child's pid.
pid_t spawn(const std::vector<std::string>& args, const std::string& log) { return peft::test::spawnCli(args, log); }

using peft::test::waitExit;

// Steps recorded in metrics.jsonl so far (complete lines only).
int64_t stepsDone(const std::string& outDir) {
    std::ifstream in(fs::path(outDir) / "metrics.jsonl");
    std::string line;
    int64_t last = 0;
    while (std::getline(in, line)) {
        auto j = json::parse(line, nullptr, false);
        if (!j.is_discarded() && j.contains("step")) last = j["step"].get<int64_t>();
    }
    return last;
}

std::map<int64_t, double> lossesByStep(const std::string& outDir, const std::string& key = "loss") {
    std::ifstream in(fs::path(outDir) / "metrics.jsonl");
    std::string line;
    std::map<int64_t, double> out;
    while (std::getline(in, line)) {
        auto j = json::parse(line);
        int64_t s = j["step"].get<int64_t>();
        EXPECT_EQ(out.count(s), 0u) << "step " << s << " is recorded twice in " << outDir << "/metrics.jsonl";
        out[s] = j[key].get<double>();
    }
    return out;
}

std::string readAll(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// `objective`: null for SFT on text rows, or a preference objective on preference pairs.
void writeRunConfig(const std::string& path, const std::string& dataPath, const std::string& outDir,
                    const json& objective = nullptr) {
    const bool pairs = !objective.is_null();
    json cfg = {{"model", peft::test::fixture("tiny-llama/base")},
                {"dataset",
                 pairs ? json{{"path", dataPath}, {"format", "preference"}, {"template", "chatml"}, {"max_length", 48}}
                       : json{{"path", dataPath}, {"format", "text"}, {"max_length", 48}}},
                {"method",
                 {{"peft_type", "LORA"},
                  {"r", 4},
                  {"lora_alpha", 8},
                  {"lora_dropout", 0.1},
                  {"target_modules", {"q_proj", "v_proj", "gate_proj"}}}},
                {"training",
                 {{"max_steps", kSteps},
                  {"batch_size", 2},
                  {"grad_accum", 2},
                  {"lr", 5e-3},
                  {"precision", "fp32"},
                  {"device", "cpu"},
                  {"save_every", 2},
                  {"keep_checkpoints", 2},
                  {"eval_every", 0},
                  {"seed", 11},
                  {"scheduler", "cosine"},
                  {"warmup_steps", 2}}},
                {"output_dir", outDir}};
    if (pairs) cfg["objective"] = objective;
    std::ofstream(path) << cfg.dump(2);
}

void killAndResume(const json& objective) {
    peft::test::TempDir d;
    {
        std::ofstream data(d.file("data.jsonl"));
        std::mt19937 gen(5);
        const char* words[] = {"the",    "adapter", "learns",  "a",       "low",  "rank",
                               "update", "of",      "weights", "quickly", "and",  "resumes",
                               "after",  "crash",   "without", "losing",  "steps"};
        auto sentence = [&](int shortest, int spread) {
            std::string text;
            int n = shortest + static_cast<int>(gen() % static_cast<unsigned>(spread));
            for (int k = 0; k < n; ++k) text += std::string(k ? " " : "") + words[gen() % 17];
            return text;
        };
        for (int i = 0; i < 40; ++i) {
            if (objective.is_null()) {
                data << json{{"text", sentence(6, 20)}}.dump() << "\n";
            } else {
                std::string prompt = sentence(2, 6), chosen = sentence(1, 5), rejected = sentence(3, 8);
                data << json{{"prompt", prompt}, {"chosen", chosen}, {"rejected", rejected + " " + chosen}}.dump()
                     << "\n";
            }
        }
    }
    const std::string refOut = d.file("ref"), killOut = d.file("killed");
    writeRunConfig(d.file("ref.json"), d.file("data.jsonl"), refOut, objective);
    writeRunConfig(d.file("killed.json"), d.file("data.jsonl"), killOut, objective);

    // The uninterrupted run.
    const auto t0 = std::chrono::steady_clock::now();
    int rc = waitExit(spawn({"train", "--config", d.file("ref.json"), "--quiet"}, d.file("ref.log")));
    ASSERT_EQ(rc, 0) << readAll(d.file("ref.log"));
    const double refSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    // The interrupted one: each round waits for a random step (or a random delay, which may land
    // while the model loads or a checkpoint is written) and then sends SIGKILL.
    std::mt19937 rng(20261126);
    int kills = 0;
    for (int round = 0; round < 6; ++round) {
        const bool resume = !peft::latestCheckpoint(killOut).empty();
        std::vector<std::string> args = {"train", "--config", d.file("killed.json"), "--quiet"};
        if (resume) args.push_back("--resume");
        const int64_t before = stepsDone(killOut);
        pid_t pid = spawn(args, d.file("killed.log"));
        // A preference run's steps are short next to its start-up: it is killed after steps only.
        const bool byStep = round % 2 == 0 || !objective.is_null();
        const int64_t target = std::min<int64_t>(kSteps - 1, before + 1 + static_cast<int64_t>(rng() % 4));
        const double delay = std::uniform_real_distribution<double>(0.2, 1.0)(rng) * refSeconds;
        const auto start = std::chrono::steady_clock::now();
        bool exited = false;
        int status = 0;
        while (true) {
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                exited = true;
                break;
            }
            const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (byStep ? stepsDone(killOut) >= target : t >= delay) break;
            if (t > 120) break;
            std::this_thread::sleep_for(std::chrono::microseconds(500));
        }
        if (exited) {
            ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << readAll(d.file("killed.log"));
            break;  // it finished before the kill
        }
        ::kill(pid, SIGKILL);
        waitExit(pid);
        ++kills;
        std::printf("round %d: killed at step %lld (%s)\n", round, static_cast<long long>(stepsDone(killOut)),
                    byStep ? "after a step" : "after a delay");
    }
    EXPECT_GE(kills, 3) << "the run ended too early to be killed several times";
    // Finish it.
    std::vector<std::string> args = {"train", "--config", d.file("killed.json"), "--quiet"};
    if (!peft::latestCheckpoint(killOut).empty()) args.push_back("--resume");
    rc = waitExit(spawn(args, d.file("killed.log")));
    ASSERT_EQ(rc, 0) << readAll(d.file("killed.log"));

    // Same adapter within 1e-6.
    auto a = peft::st::File::open(refOut + "/adapter/adapter_model.safetensors");
    auto b = peft::st::File::open(killOut + "/adapter/adapter_model.safetensors");
    ASSERT_EQ(a->tensors().size(), b->tensors().size());
    ASSERT_FALSE(a->tensors().empty());
    double maxDiff = 0, maxAbs = 0;
    for (const auto& ta : a->tensors()) {
        const auto& tb = b->at(ta.name);
        ASSERT_EQ(ta.dtype, peft::st::DType::F32) << ta.name;
        ASSERT_EQ(ta.shape, tb.shape) << ta.name;
        const float* pa = reinterpret_cast<const float*>(a->data(ta));
        const float* pb = reinterpret_cast<const float*>(b->data(tb));
        for (int64_t i = 0; i < ta.numel(); ++i) {
            maxDiff = std::max(maxDiff, static_cast<double>(std::fabs(pa[i] - pb[i])));
            if (ta.name.find("lora_B") != std::string::npos)
                maxAbs = std::max(maxAbs, static_cast<double>(std::fabs(pa[i])));
        }
    }
    EXPECT_LE(maxDiff, 1e-6);
    EXPECT_GT(maxAbs, 0.0);  // lora_B starts at zero: something was trained

    // Every step recorded once, with the uninterrupted run's loss.
    auto ref = lossesByStep(refOut), got = lossesByStep(killOut);
    ASSERT_EQ(ref.size(), static_cast<size_t>(kSteps));
    ASSERT_EQ(got.size(), ref.size());
    for (const auto& [s, l] : ref) EXPECT_NEAR(got[s], l, 1e-6) << "step " << s;
    if (!objective.is_null()) {
        auto margins = lossesByStep(refOut, "rewards_margin"), gotMargins = lossesByStep(killOut, "rewards_margin");
        ASSERT_EQ(margins.size(), static_cast<size_t>(kSteps));
        for (const auto& [s, m] : margins) EXPECT_NEAR(gotMargins[s], m, 1e-6) << "step " << s;
    }
}

}  // namespace

TEST(KillResume, RandomKillsThenResumeMatchUninterruptedRun) { killAndResume(nullptr); }

// DPO (reference: the adapter switched off) resumes to the same losses and rewards.
TEST(KillResume, PreferenceRunResumesExactly) { killAndResume({{"type", "dpo"}, {"beta", 0.5}}); }
