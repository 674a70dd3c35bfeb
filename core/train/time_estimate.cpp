// estimateRunTime: a few real steps of the run, timed (see time_estimate.h).
#include "core/train/time_estimate.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "core/data/prepare.h"
#include "core/dist/data_parallel.h"
#include "core/dist/launcher.h"
#include "core/train/objectives/objective_spec.h"
#include "core/train/trainer.h"
#include "core/util/cpu_cores.h"
#include "core/util/error.h"
#include "core/util/runtime_info.h"

namespace fs = std::filesystem;

namespace peft {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Thrown by the metrics sink to leave Trainer::run() after the timed steps: run() then saves
// nothing (a stop would write a checkpoint, a finish the adapter too).
struct EnoughSteps {};

fs::path makeScratch(const std::string& requested) {
    if (!requested.empty()) {
        fs::create_directories(requested);
        return requested;
    }
    std::random_device rd;
    for (int i = 0; i < 16; ++i) {
        char name[48];
        std::snprintf(name, sizeof(name), "peft-studio-timing-%08x", rd());
        fs::path p = fs::temp_directory_path() / name;
        if (fs::create_directory(p)) return p;
    }
    fail("time estimate", "cannot create a scratch folder under " + fs::temp_directory_path().string(),
         "Set TMPDIR to a writable folder.");
}

struct RemoveOnExit {
    fs::path dir;
    bool keep;
    ~RemoveOnExit() {
        std::error_code ec;
        if (!keep) fs::remove_all(dir, ec);
    }
};

int64_t evaluationsIn(int64_t totalSteps, int64_t evalEvery) {
    // The trainer evaluates every eval_every steps and at the last step.
    if (evalEvery <= 0) return 1;
    return totalSteps / evalEvery + (totalSteps % evalEvery != 0 ? 1 : 0);
}

// One optimizer step's collectives between `world` CPU ranks of this machine, as the trainer makes
// them (the stop/pause agreement and the all-reduce of `numel` fp32 gradients and the loss): Gloo
// over loopback, one thread per rank in this process; the median of `reps` after one warm-up.
double timeCpuAllReduce(int64_t numel, int world, int reps) {
    const int port = dist::freeLocalPort();
    std::vector<double> times;
    std::mutex mu;
    std::string error;
    std::vector<std::thread> ranks;
    for (int r = 0; r < world; ++r)
        ranks.emplace_back([&, r] {
            try {
                dist::RankEnv env;
                env.rank = r;
                env.world = world;
                env.localRank = r;
                env.localWorld = world;
                env.masterPort = port;
                dist::GroupOptions go;
                go.timeout = std::chrono::milliseconds(30000);
                go.configJson = "{}";
                dist::DataParallel dp(env, go);
                torch::Tensor p = torch::zeros({std::max<int64_t>(1, numel)}).set_requires_grad(true);
                p.mutable_grad() = torch::ones_like(p);
                for (int i = 0; i <= reps; ++i) {
                    dp.barrier();
                    const auto t0 = Clock::now();
                    dp.agree(false, false);
                    dp.allReduceGradients({p}, 0.0);
                    if (r == 0 && i > 0) {
                        std::lock_guard<std::mutex> lock(mu);
                        times.push_back(since(t0));
                    }
                }
            } catch (const std::exception& e) {
                std::lock_guard<std::mutex> lock(mu);
                if (error.empty()) error = e.what();
            }
        });
    for (auto& t : ranks) t.join();
    if (!error.empty() || times.empty())
        fail("time estimate", "timing the ranks' all-reduce failed: " + error,
             "Measure with one process, or check the loopback network.");
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

int64_t checkpointsIn(int64_t totalSteps, int64_t saveEvery) {
    // Every save_every steps before the last, and one at the end.
    return (saveEvery > 0 ? (totalSteps - 1) / saveEvery : 0) + 1;
}
}  // namespace

double TimeEstimate::totalSeconds() const {
    return setupSeconds + stepsSeconds() + evalSeconds * static_cast<double>(evaluations) +
        checkpointSeconds * static_cast<double>(checkpoints);
}

nlohmann::json TimeEstimate::toJson() const {
    return {{"world_size", worldSize},
            {"threads_per_process", threadsPerProcess},
            {"device", device},
            {"train_examples", trainExamples},
            {"total_steps", totalSteps},
            {"step_seconds", stepSeconds},
            {"mean_step_seconds", meanStepSeconds},
            {"all_reduce_seconds", allReduceSeconds},
            {"all_reduce_timed", allReduceTimed},
            {"setup_seconds", setupSeconds},
            {"evaluation_seconds", evalSeconds},
            {"evaluations", evaluations},
            {"checkpoint_seconds", checkpointSeconds},
            {"checkpoint_timed", checkpointTimed},
            {"checkpoints", checkpoints},
            {"steps_seconds", stepsSeconds()},
            {"total_seconds", totalSeconds()},
            {"assumptions", assumptions}};
}

std::string humanDuration(double seconds) {
    if (!(seconds >= 0)) return "?";
    const long long s = std::llround(seconds);
    char buf[64];
    if (s >= 86400) std::snprintf(buf, sizeof(buf), "%lld d %02lld h", s / 86400, (s / 3600) % 24);
    else if (s >= 3600) std::snprintf(buf, sizeof(buf), "%lld h %02lld min", s / 3600, (s / 60) % 60);
    else if (s >= 60) std::snprintf(buf, sizeof(buf), "%lld min %02lld s", s / 60, s % 60);
    else std::snprintf(buf, sizeof(buf), "%lld s", s);
    return buf;
}

TimeEstimate estimateRunTime(const RunConfig& cfg, const TimeEstimateOptions& options,
                             const std::function<void(const std::string&, double)>& progress,
                             const std::function<bool()>& cancelled) {
    if (options.timedSteps < 1 || options.warmupSteps < 0)
        fail("time estimate", "needs at least one timed step and a non-negative warm-up", "");
    auto report = [&](const std::string& what, double f) {
        if (progress) progress(what, std::clamp(f, 0.0, 1.0));
    };
    auto checkCancel = [&] {
        if (cancelled && cancelled()) throw data::Cancelled();
    };
    TimeEstimate est;
    const TrainingConfig& t = cfg.training;
    est.worldSize = std::max<int64_t>(1, t.localRanks());
    if (est.worldSize > 1 && objectiveSpec(cfg.objective.value("type", std::string("sft"))).preference)
        fail("training.processes", "a preference objective trains in one process only",
             "Set Processes (or GPUs) to one for DPO, ORPO and SimPO.");

    // The run as one of its ranks runs it: its own batch_size rows per micro-step, its threads.
    RunConfig probe = cfg;
    const fs::path scratch = makeScratch(options.scratchDir);
    RemoveOnExit cleanup{scratch, !options.scratchDir.empty()};
    probe.outputDir = (scratch / "run").string();
    probe.training.evalEvery = 0;
    probe.training.saveEvery = 0;
    probe.training.generationEvalEvery = 0;
    probe.training.earlyStoppingPatience = 0;
    probe.training.processes = 1;
    probe.training.gpus.clear();
    if (est.worldSize > 1) probe.training.threads = dist::rankThreads(t.threads, static_cast<int>(est.worldSize));
    if (t.device.rfind("cuda", 0) == 0 && !t.gpus.empty())
        probe.training.device = "cuda:" + std::to_string(t.gpus.front());

    Trainer trainer(probe);
    trainer.setCancelCheck(cancelled ? cancelled : std::function<bool()>());
    auto t0 = Clock::now();
    trainer.setup([&](const std::string& what, double f) { report(what, 0.4 * f); });
    est.setupSeconds = since(t0);
    est.device = trainer.device().str();
    est.threadsPerProcess = trainer.device().is_cpu() ? resolveThreadCount(probe.training.threads) : 0;
    est.trainExamples = static_cast<int64_t>(trainer.data().train.size());
    est.totalSteps = plannedSteps(t, est.trainExamples, t.batchSize * est.worldSize);
    checkCancel();

    // Warm-up and timed steps; the sink leaves run() once they are done (nothing saved). A step's
    // time varies (batch lengths, the allocator, the OS), so small models are timed for at least
    // minTimedSeconds (up to maxTimedSteps steps) to make the mean worth having.
    const int64_t total = trainer.totalSteps();
    const int64_t warm = std::min(options.warmupSteps, std::max<int64_t>(0, total - 1));
    std::vector<double> all;
    double timedSum = 0;
    auto done = [&](int64_t step) {
        const int64_t timed = step - warm;
        if (step >= total) return true;
        if (timed < options.timedSteps) return false;
        return timedSum >= options.minTimedSeconds || timed >= std::max(options.timedSteps, options.maxTimedSteps);
    };
    Clock::time_point last = Clock::now();
    bool enough = false;
    TrainResult result;
    try {
        result = trainer.run([&](const StepMetrics& m) {
            all.push_back(since(last));
            last = Clock::now();
            if (m.step > warm) timedSum += all.back();
            const double f =
                std::min(1.0,
                         std::max(static_cast<double>(m.step) / static_cast<double>(warm + options.timedSteps),
                                  timedSum / std::max(1e-9, options.minTimedSeconds)));
            report("Timing step " + std::to_string(m.step), 0.4 + 0.4 * f);
            checkCancel();
            if (done(m.step)) throw EnoughSteps{};
        });
    } catch (const EnoughSteps&) {
        enough = true;
    }
    if (!enough || all.size() <= static_cast<size_t>(warm))
        fail("time estimate", "the timing run ended after " + std::to_string(all.size()) + " steps: " + result.message,
             "Fix what the message names, then measure again.");
    est.stepSeconds.assign(all.begin() + warm, all.end());
    for (double x : est.stepSeconds) est.meanStepSeconds += x / static_cast<double>(est.stepSeconds.size());

    // One checkpoint, as the run writes them, unless it is too large to write for a timing.
    est.checkpoints = checkpointsIn(est.totalSteps, t.saveEvery);
    uint64_t ckBytes = 0;
    for (const auto& [name, p] : trainer.adapter().method->trainable())
        ckBytes += static_cast<uint64_t>(p.numel()) * static_cast<uint64_t>(p.element_size());
    // The tensors and their optimizer state: Adam(W) two moments, SGD with momentum one buffer.
    ckBytes *= t.optimizer == "sgd" ? (t.momentum > 0 ? 2 : 1) : 3;
    if (ckBytes <= options.maxCheckpointBytes) {
        report("Timing a checkpoint", 0.85);
        t0 = Clock::now();
        trainer.saveCheckpoint();
        est.checkpointSeconds = since(t0);
        est.checkpointTimed = true;
    } else {
        est.assumptions.push_back("checkpoint writes are not included (each is about " + std::to_string(ckBytes >> 20) +
                                  " MiB; the timing does not write one that large)");
    }
    checkCancel();

    // One evaluation, from the first rows of the validation split.
    const int64_t valRows = static_cast<int64_t>(trainer.data().validation.size());
    if (valRows > 0) {
        report("Timing an evaluation", 0.9);
        const int64_t rows = options.evalRows > 0 ? std::min(valRows, options.evalRows) : valRows;
        ThreadsScope threads(probe.training.threads);
        t0 = Clock::now();
        trainer.evaluateAll(rows);
        est.evalSeconds = since(t0) * static_cast<double>(valRows) / static_cast<double>(rows);
        est.evaluations = evaluationsIn(est.totalSteps, t.evalEvery);
        if (rows < valRows)
            est.assumptions.push_back("an evaluation's time is scaled from " + std::to_string(rows) + " of the " +
                                      std::to_string(valRows) + " validation rows");
    }
    if (t.generationEvalEvery > 0)
        est.assumptions.push_back("the generation checks every " + std::to_string(t.generationEvalEvery) +
                                  " steps are not included");
    if (est.worldSize > 1) {
        int64_t numel = 0;
        for (const auto& [name, p] : trainer.adapter().method->trainable()) numel += p.numel();
        if (trainer.device().is_cpu()) {
            report("Timing the ranks' all-reduce", 0.95);
            est.allReduceSeconds = timeCpuAllReduce(numel, static_cast<int>(est.worldSize), 5);
            est.allReduceTimed = true;
        }
        est.assumptions.push_back(
            std::to_string(est.worldSize) + " ranks run side by side as fast as the one measured (" +
            (trainer.device().is_cpu() ? std::to_string(est.threadsPerProcess) + " threads each"
                                       : std::string("one GPU each; the all-reduce over NCCL is not included")) +
            ")");
    }
    report("Done", 1.0);
    const std::string allReduce =
        est.allReduceTimed ? fmt::format(" + all-reduce {:.3f} s", est.allReduceSeconds) : std::string();
    spdlog::info(
        "time estimate: {} steps x ({:.3f} s, the mean of {} timed{}) + setup {:.1f} s + {} evaluations x {:.2f} s + "
        "{} checkpoints x {:.2f} s = {}",
        est.totalSteps, est.meanStepSeconds, est.stepSeconds.size(), allReduce, est.setupSeconds, est.evaluations,
        est.evalSeconds, est.checkpoints, est.checkpointSeconds, humanDuration(est.totalSeconds()));
    return est;
}

}  // namespace peft
