// `peft-studio-cli evaluate-pairs`: preference accuracy of the base and the tuned model on a
// preference run's validation pairs (core/train/objectives/pair_evaluation.h), as the Evaluate
// page shows it.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/train/objectives/pair_evaluation.h"
#include "core/train/run_config.h"
#include "core/util/error.h"

namespace peft::cli {

int cmdEvaluatePairs(const std::vector<std::string>& argv) {
    Args a(argv, {"run", "limit", "batch-size", "device"}, {"json"}, "evaluate-pairs");
    namespace fs = std::filesystem;
    const fs::path p = a.require("run");
    // A run folder (its run.json) or a run config file, as `evaluate --run` takes it.
    const bool folder = fs::is_directory(p);
    RunConfig rc = RunConfig::load(folder ? (p / "run.json").string() : p.string());
    if (folder) rc.outputDir = p.string();
    PairEvalOptions o;
    o.limit = a.getInt("limit", -1);
    o.batchSize = a.getInt("batch-size", 8);
    o.device = a.get("device", "auto");
    if (o.batchSize <= 0) fail("evaluate-pairs --batch-size", "must be positive", "Use e.g. 8.");
    const PairEvalReport r = evaluatePreferencePairs(rc, o);
    if (a.has("json")) {
        std::cout << r.toJson().dump(2) << "\n";
        return 0;
    }
    std::printf("%lld validation pairs, objective %s, %.1f s\n", static_cast<long long>(r.pairs), r.objective.c_str(),
                r.seconds);
    std::printf("%-6s %16s %18s %16s %16s %16s\n", "side", "logp accuracy", "per-token accuracy", "logp margin",
                "reward accuracy", "reward margin");
    auto cell = [](double v) {
        static char buf[32];
        if (std::isfinite(v)) std::snprintf(buf, sizeof buf, "%.4f", v);
        else std::snprintf(buf, sizeof buf, "-");
        return std::string(buf);
    };
    for (const auto& side : r.sides) {
        const PairSideResult& s = r.results.at(side);
        std::printf("%-6s %16s %18s %16s %16s %16s\n", side.c_str(), cell(s.logpAccuracy).c_str(),
                    cell(s.perTokenAccuracy).c_str(), cell(s.meanLogpMargin).c_str(), cell(s.rewardAccuracy).c_str(),
                    cell(s.meanRewardMargin).c_str());
    }
    std::printf("%s\n", r.rewardNote.c_str());
    return 0;
}

}  // namespace peft::cli
