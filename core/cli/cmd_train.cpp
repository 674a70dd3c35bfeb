// `peft-studio-cli train`: runs a RunConfig with a terminal progress bar and ETA; --resume
// continues from the newest checkpoint. Ctrl-C stops cleanly with a checkpoint.
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <cstdio>
#include <iostream>
#include <unistd.h>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/dist/data_parallel.h"
#include "core/dist/launcher.h"
#include "core/train/trainer.h"
#include "core/util/cpu_cores.h"
#include "core/util/error.h"

namespace peft::cli {

namespace {
TrainerControl* g_control = nullptr;
void onSigint(int) {
    if (g_control) g_control->stop.store(true);
}

std::string formatDuration(double s) {
    if (!std::isfinite(s) || s < 0) return "--:--";
    long t = static_cast<long>(s + 0.5);
    char buf[32];
    if (t >= 3600) std::snprintf(buf, sizeof(buf), "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else std::snprintf(buf, sizeof(buf), "%02ld:%02ld", t / 60, t % 60);
    return buf;
}
}  // namespace

int cmdTrain(const std::vector<std::string>& argv) {
    Args a(argv, {"config", "output-dir", "max-steps", "nproc", "dist-timeout"}, {"resume", "quiet"}, "train");
    const std::string path = a.require("config");
    nlohmann::json j = readJsonFile(path);
    if (a.has("output-dir")) j["output_dir"] = a.get("output-dir");
    if (a.has("max-steps")) {
        if (!j.contains("training")) j["training"] = nlohmann::json::object();
        j["training"]["max_steps"] = a.getInt("max-steps", -1);
    }
    RunConfig cfg = RunConfig::fromJson(j, path);
    // Inputs named relative to the config file's folder (e.g. the bundled demo's run.json) resolve there.
    cfg.resolveRelativePaths(std::filesystem::path(path).parent_path().string());
    const double distTimeout = a.getDouble("dist-timeout", 60);
    if (!(distTimeout > 0)) fail("train --dist-timeout", "must be a positive number of seconds", "The default is 60.");
    // --nproc, or the config's training.processes / training.gpus outside a rank.
    const bool insideRank = std::getenv("WORLD_SIZE") != nullptr;
    if (a.has("nproc") || (!insideRank && cfg.training.localRanks() > 1)) {
        // Launcher: the same command without --nproc in N local ranks (core/dist/launcher.h).
        std::vector<std::string> rest;
        for (size_t i = 0; i < argv.size(); ++i) {
            if (argv[i] == "--nproc") {
                ++i;
                continue;
            }
            if (argv[i].rfind("--nproc=", 0) == 0) continue;
            rest.push_back(argv[i]);
        }
        rest.insert(rest.begin(), "train");
        dist::LaunchOptions lo;
        lo.nproc = static_cast<int>(a.getInt("nproc", cfg.training.localRanks()));
        lo.logDir = (std::filesystem::path(cfg.outputDir) / "logs").string();
        lo.timeoutS = distTimeout;
        return dist::launchLocalRanks(rest, lo);
    }
    // A rank of a data-parallel run (torchrun's variables, or --nproc's).
    std::shared_ptr<dist::DataParallel> dp;
    const std::optional<dist::RankEnv> rankEnv = dist::RankEnv::fromEnvironment();
    if (a.has("resume") && latestCheckpoint(cfg.outputDir).empty()) {
        std::cerr << "train: no checkpoint in " << cfg.outputDir << "/checkpoints to resume from. "
                  << "Run without --resume to start the run.\n";
        return 3;
    }
    if (rankEnv && rankEnv->world > 1)
        dp = dist::joinRun(*rankEnv, cfg, std::chrono::milliseconds(static_cast<int64_t>(distTimeout * 1000)));
    const bool rank0 = !dp || dp->rank() == 0;
    Trainer trainer(cfg);
    trainer.setDataParallel(dp);
    trainer.setup([](const std::string& what, double) { spdlog::info("{}", what); });
    if (a.has("resume")) trainer.resumeFromLatest();

    TrainerControl control;
    g_control = &control;
    std::signal(SIGINT, onSigint);
    std::signal(SIGTERM, onSigint);
    const bool tty = ::isatty(STDERR_FILENO) && !a.has("quiet") && rank0;
    const int64_t startStep = trainer.step();
    TrainResult r = trainer.run(
        [&](const StepMetrics& m) {
            const double perStep = (m.step - startStep) > 0 ? m.elapsedS / static_cast<double>(m.step) : 0;
            const double eta = perStep * static_cast<double>(m.totalSteps - m.step);
            const int width = 30;
            const int filled = m.totalSteps ? static_cast<int>(width * m.step / m.totalSteps) : 0;
            char line[256];
            std::snprintf(line, sizeof(line), "[%s%s] %lld/%lld loss %.4f lr %.2e gnorm %.3f %.0f tok/s ETA %s%s",
                          std::string(static_cast<size_t>(filled), '#').c_str(),
                          std::string(static_cast<size_t>(width - filled), '.').c_str(), static_cast<long long>(m.step),
                          static_cast<long long>(m.totalSteps), m.loss, m.lr, m.gradNorm, m.tokensPerS,
                          formatDuration(eta).c_str(),
                          m.evalLoss ? (" eval " + std::to_string(*m.evalLoss).substr(0, 6)).c_str() : "");
            if (tty) std::fprintf(stderr, "\r%s\033[K", line);
            else if (!rank0) return;
            else if (m.step == m.totalSteps || m.evalLoss || m.step % 10 == 0) std::fprintf(stderr, "%s\n", line);
        },
        &control);
    if (tty) std::fprintf(stderr, "\n");
    g_control = nullptr;
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    std::cout << statusName(r.status) << ": " << r.message << "\n";
    if (!r.adapterDir.empty()) std::cout << "adapter: " << r.adapterDir << "\n";
    if (!r.lastCheckpoint.empty()) std::cout << "checkpoint: " << r.lastCheckpoint << "\n";
    return r.status == TrainStatus::Failed ? 1 : r.status == TrainStatus::Stopped ? 130 : 0;
}

}  // namespace peft::cli
