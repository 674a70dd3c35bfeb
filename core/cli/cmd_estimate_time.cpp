// `peft-studio-cli estimate-time`: how long a run config will take, from a few real steps of it
// in a scratch folder (core/train/time_estimate.h), as the Budget page's "Run time" column.
#include <cstdio>
#include <iostream>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/train/run_config.h"
#include "core/train/time_estimate.h"
#include "core/util/error.h"

namespace peft::cli {

int cmdEstimateTime(const std::vector<std::string>& argv) {
    Args a(argv, {"config", "steps", "min-seconds", "warmup", "eval-rows", "processes", "threads", "scratch-dir"},
           {"json"}, "estimate-time");
    RunConfig rc = RunConfig::load(a.require("config"));
    TimeEstimateOptions o;
    o.timedSteps = a.getInt("steps", 5);
    o.minTimedSeconds = a.getDouble("min-seconds", 3.0);
    o.warmupSteps = a.getInt("warmup", 1);
    o.evalRows = a.getInt("eval-rows", 32);
    o.scratchDir = a.get("scratch-dir");
    if (o.timedSteps < 1 || o.warmupSteps < 0 || o.evalRows < 0 || !(o.minTimedSeconds >= 0))
        fail("estimate-time", "--steps must be at least 1, --warmup, --eval-rows and --min-seconds not negative",
             "Use e.g. --steps 5 --min-seconds 3 --warmup 1.");
    // The run as it would go with another number of processes or threads, without editing run.json.
    if (a.has("processes")) {
        rc.training.processes = a.getInt("processes", 1);
        rc.training.gpus.clear();
        if (rc.training.processes < 1) fail("estimate-time --processes", "must be at least 1", "");
    }
    if (a.has("threads")) {
        rc.training.threads = a.getInt("threads", 0);
        if (rc.training.threads < 0) fail("estimate-time --threads", "must be 0 (automatic) or more", "");
    }
    const bool quiet = a.has("json");
    const TimeEstimate e = estimateRunTime(rc, o, [&](const std::string& what, double f) {
        if (!quiet) std::fprintf(stderr, "\r%-40s %3.0f%%", what.c_str(), 100 * f);
    });
    if (!quiet) std::fprintf(stderr, "\n");
    if (quiet) {
        std::cout << e.toJson().dump(2) << "\n";
        return 0;
    }
    std::printf("run time: %s (%.0f s)\n", humanDuration(e.totalSeconds()).c_str(), e.totalSeconds());
    std::printf("  %lld steps x %.3f s (mean of %zu timed)%s  %s\n", static_cast<long long>(e.totalSteps),
                e.meanStepSeconds, e.stepSeconds.size(),
                e.allReduceTimed ? (" + " + std::to_string(e.allReduceSeconds) + " s all-reduce").c_str() : "",
                humanDuration(e.stepsSeconds()).c_str());
    std::printf("  setup (model, method, data)           %s\n", humanDuration(e.setupSeconds).c_str());
    std::printf("  %lld evaluations x %.2f s\n", static_cast<long long>(e.evaluations), e.evalSeconds);
    std::printf("  %lld checkpoints x %.2f s%s\n", static_cast<long long>(e.checkpoints), e.checkpointSeconds,
                e.checkpointTimed ? "" : " (not timed)");
    std::printf("  %lld process(es) on %s%s\n", static_cast<long long>(e.worldSize), e.device.c_str(),
                e.threadsPerProcess > 0 ? (", " + std::to_string(e.threadsPerProcess) + " threads each").c_str() : "");
    for (const auto& s : e.assumptions) std::printf("  assumes: %s\n", s.c_str());
    return 0;
}

}  // namespace peft::cli
