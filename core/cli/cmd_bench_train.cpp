// `peft-studio-cli bench-train`: times the real Trainer (setup, batches, loss, backward, clip,
// AdamW) on random token rows for a few steps after a warm-up, and prints one JSON line.
// LoRA by default; --peft-config runs any method (the memory benchmark uses it). Started as ranks
// (torchrun's variables, e.g. by tests/bench/bench_cpu_lora.sh's RANKS mode) it trains data-parallel:
// each rank --batch rows per step, tokens/s counted over all ranks.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#if TORCH_VERSION_MAJOR < 2
#include <torch/csrc/autograd/profiler_legacy.h>
#endif

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/dist/data_parallel.h"
#include "core/model/linear.h"
#include "core/train/memory_stats.h"
#include "core/train/trainer.h"
#include "core/util/error.h"
#include "core/util/runtime_info.h"

namespace peft::cli {

namespace {
std::vector<std::string> splitComma(const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= s.size()) {
        size_t end = s.find(',', start);
        if (end == std::string::npos) end = s.size();
        if (end > start) out.push_back(s.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

// Resident set size of this process now ("VmRSS" in /proc/self/status), in bytes; 0 if unknown.
double currentRssBytes() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) * 1024.0;
    return 0;
}
}  // namespace

int cmdBenchTrain(const std::vector<std::string>& argv) {
    Args a(argv,
           {"model", "precision", "batch", "seq", "steps", "warmup", "device", "r", "alpha", "targets", "threads",
            "seed", "work-dir", "profile", "peft-config"},
           {"fan-in-fan-out", "count-tensors", "no-packed-weights"}, "bench-train");
    const std::string model = a.require("model");
    const int64_t batch = a.getInt("batch", 2), seq = a.getInt("seq", 128);
    const int64_t steps = a.getInt("steps", 5), warmup = a.getInt("warmup", 2);
    if (batch < 1 || seq < 2 || steps < 1 || warmup < 0)
        fail("bench-train", "--batch, --seq, --steps must be positive (--seq at least 2) and --warmup not negative",
             "Use e.g. --batch 2 --seq 128 --steps 5 --warmup 2.");
    // --threads N (0 or absent: automatic) for this thread and, through training.threads, the run.
    const int64_t threads = a.getInt("threads", 0);
    useThreads(threads);
    // Before anything is loaded: LibTorch, BLAS and the C++ runtime alone.
    const double rssStart = currentRssBytes();
    if (a.has("count-tensors")) enableCpuTensorCounting();
    const ModelConfig mc = ModelConfig::load(model);

    nlohmann::json method = {{"peft_type", "LORA"},
                             {"r", a.getInt("r", 16)},
                             {"lora_alpha", a.getDouble("alpha", 32)},
                             {"lora_dropout", 0.0},
                             {"target_modules", splitComma(a.get("targets", "c_attn"))},
                             {"fan_in_fan_out", a.has("fan-in-fan-out")}};
    if (a.has("peft-config")) {
        // An adapter_config.json (a file, or a folder holding one) for any method, FULL included.
        std::filesystem::path p(a.get("peft-config"));
        if (std::filesystem::is_directory(p)) p /= "adapter_config.json";
        method = readJsonFile(p.string());
    }
    namespace fs = std::filesystem;
    // Ranks must agree on the whole run config, the folder included: theirs is named by the rendezvous port.
    const char* port = std::getenv("WORLD_SIZE") ? std::getenv("MASTER_PORT") : nullptr;
    const fs::path work = a.has("work-dir") ? fs::path(a.get("work-dir"))
                                            : fs::temp_directory_path() /
            ("peft-bench-" + (port ? std::string("port-") + port : std::to_string(::getpid())));
    nlohmann::json run = {{"model", model},
                          {"method", method},
                          {"output_dir", work.string()},
                          {"training",
                           {{"max_steps", warmup + steps},
                            {"batch_size", batch},
                            {"precision", a.get("precision", "bf16")},
                            {"device", a.get("device", "auto")},
                            {"optimizer", "adamw"},
                            {"lr", 1e-4},
                            {"shuffle", false},
                            {"eval_every", 0},
                            {"save_every", 0},
                            {"keep_checkpoints", 1},
                            {"packed_weights", !a.has("no-packed-weights")},
                            {"threads", threads}}}};
    RunConfig cfg = RunConfig::fromJson(run, "bench-train");
    // A rank of a data-parallel benchmark: every step takes --batch rows on each rank.
    std::shared_ptr<dist::DataParallel> dp;
    const std::optional<dist::RankEnv> rankEnv = dist::RankEnv::fromEnvironment();
    const int64_t world = rankEnv ? rankEnv->world : 1;
    if (world > 1) dp = dist::joinRun(*rankEnv, cfg, std::chrono::milliseconds(60000));

    // Random rows of `seq` tokens, every position a target (as the peer's language-model loss).
    TrainData data;
    std::mt19937_64 rng(static_cast<uint64_t>(a.getInt("seed", 0)));
    std::uniform_int_distribution<int64_t> tok(0, mc.vocabSize - 1);
    for (int64_t i = 0; i < batch * world * (warmup + steps); ++i) {
        Example e;
        e.inputIds.resize(static_cast<size_t>(seq));
        for (auto& t : e.inputIds) t = tok(rng);
        e.labels = e.inputIds;
        data.train.push_back(std::move(e));
    }
    Trainer trainer(cfg);
    trainer.setDataParallel(dp);
    trainer.setData(std::move(data));
    trainer.setup();
    const double rssAfterSetup = currentRssBytes();
    const CpuTensorBytes tensorsAfterSetup = cpuTensorBytes();
    // The model is built with placeholder parameters that loading replaces (never touched, so
    // never resident): the training peak is counted from here.
    resetCpuTensorPeak();
    resetPeakDeviceMemory(trainer.device());

    using Clock = std::chrono::steady_clock;
    std::vector<Clock::time_point> marks;
    std::vector<double> losses;
    int64_t packedBytes = 0;  // oneDNN copies of frozen weights (core/model/linear.h), freed at the end
    const auto start = Clock::now();
    TrainResult r;
    auto runAll = [&] {
        r = trainer.run([&](const StepMetrics& m) {
            marks.push_back(Clock::now());
            losses.push_back(m.loss);
            packedBytes = std::max(packedBytes, packedWeightBytesInUse());
        });
    };
    if (a.has("profile")) {
#if TORCH_VERSION_MAJOR < 2
        // Per-operator chrome trace of every step (LibTorch 1.x legacy profiler).
        torch::autograd::profiler::RecordProfile guard(a.get("profile"));
        runAll();
#else
        fail("bench-train", "--profile needs the LibTorch 1.x legacy profiler",
             "Profile with torch.profiler from Python instead.");
#endif
    } else {
        runAll();
    }
    if (r.status != TrainStatus::Finished) fail("bench-train", "training ended early: " + r.message, "");
    // Per-step wall times measured at the metrics callback (the loop synchronises on the loss).
    std::vector<double> stepS;
    for (size_t i = 0; i < marks.size(); ++i)
        stepS.push_back(std::chrono::duration<double>(marks[i] - (i ? marks[i - 1] : start)).count());
    std::vector<double> timed(stepS.begin() + static_cast<long>(warmup), stepS.end());
    const double mean = [&] {
        double s = 0;
        for (double x : timed) s += x;
        return s / static_cast<double>(timed.size());
    }();
    std::vector<double> sorted = timed;
    std::sort(sorted.begin(), sorted.end());
    const double median = sorted[sorted.size() / 2];

    struct rusage ru {};
    ::getrusage(RUSAGE_SELF, &ru);
    const DeviceMemory mem = peakDeviceMemory(trainer.device());
    nlohmann::json out = {{"runner", "peft-studio"},
                          {"torch", torchVersion()},
                          {"device", trainer.device().str()},
                          {"precision", cfg.training.precision},
                          {"model_type", mc.modelType},
                          {"layers", mc.numLayers},
                          {"d", mc.hiddenSize},
                          {"batch", batch},
                          {"ranks", world},
                          {"seq", seq},
                          {"threads", at::get_num_threads()},
                          {"trainable",
                           [&] {
                               int64_t n = 0;
                               for (const auto& [k, t] : trainer.adapter().method->trainable()) n += t.numel();
                               return n;
                           }()},
                          {"step_s", mean},
                          {"step_s_median", median},
                          {"tokens_per_s", static_cast<double>(batch * world * seq) / mean},
                          {"first_loss", losses.empty() ? 0.0 : losses.front()},
                          {"last_loss", losses.empty() ? 0.0 : losses.back()},
                          {"peak_rss_mib", static_cast<double>(ru.ru_maxrss) / 1024.0},
                          {"rss_start_mib", rssStart / (1024.0 * 1024.0)},
                          {"rss_after_setup_mib", rssAfterSetup / (1024.0 * 1024.0)},
                          {"packed_weights_mib", static_cast<double>(packedBytes) / (1024.0 * 1024.0)},
                          {"peft_type", cfg.method.value("peft_type", std::string("LORA"))}};
    if (a.has("count-tensors")) {
        // Live CPU tensor bytes (not counting memory-mapped weights): after setup, and the peak
        // from then on (the training steps, the final save).
        out["tensor_after_setup_mib"] = static_cast<double>(tensorsAfterSetup.current) / (1024.0 * 1024.0);
        out["tensor_peak_mib"] = static_cast<double>(cpuTensorBytes().peak) / (1024.0 * 1024.0);
    }
    if (mem.available) {
        out["cuda_peak_allocated_mib"] = static_cast<double>(mem.peakAllocated) / (1024.0 * 1024.0);
        out["cuda_peak_reserved_mib"] = static_cast<double>(mem.peakReserved) / (1024.0 * 1024.0);
    }
    std::cout << out.dump() << std::endl;
    if (!a.has("work-dir")) {
        std::error_code ec;
        fs::remove_all(work, ec);
    }
    return 0;
}

}  // namespace peft::cli
