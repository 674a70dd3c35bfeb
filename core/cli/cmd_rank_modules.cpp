// `peft-studio-cli rank-modules`: scores every linear module of a model on a few batches of a
// dataset (gradient norm, Taylor, Fisher) and prints the ranking and a LoRA selection from it.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>

#include <spdlog/spdlog.h>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/cli/dataset_args.h"
#include "core/data/prepare.h"
#include "core/model/loader.h"
#include "core/select/importance.h"
#include "core/select/selection.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"

namespace peft::cli {

namespace {

// "250000", "2.5e5", "250k", "1.2M", "3B" -> count.
int64_t parseCount(const std::string& s, const std::string& where) {
    if (s.empty()) fail(where, "expects a parameter count, got nothing", "E.g. --budget 250000 or --budget 1.5M.");
    double mult = 1;
    std::string num = s;
    const char last = s.back();
    if (last == 'k' || last == 'K') mult = 1e3;
    else if (last == 'm' || last == 'M') mult = 1e6;
    else if (last == 'b' || last == 'B' || last == 'g' || last == 'G') mult = 1e9;
    if (mult != 1) num.pop_back();
    size_t used = 0;
    double v = 0;
    try {
        v = std::stod(num, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != num.size() || !std::isfinite(v) || v <= 0)
        fail(where, "expects a positive parameter count, got '" + s + "'", "E.g. --budget 250000 or --budget 1.5M.");
    return static_cast<int64_t>(std::llround(v * mult));
}

std::string fmt(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.4g", v);
    return b;
}

}  // namespace

int cmdRankModules(const std::vector<std::string>& argv) {
    Args a(argv,
           {"model", "dataset", "format", "max-length", "template", "train-on", "batches", "batch-size", "seed",
            "method", "budget", "top-k", "threshold", "r", "alpha", "precision", "device", "out"},
           {"json", "allocate-ranks"}, "rank-modules");
    const std::string modelDir = a.require("model");

    data::DatasetConfig dc = datasetFromArgs(a, "dataset");
    dc.validationSplit = 0.0;  // score on every example
    dc = data::DatasetConfig::fromJson(dc.toJson(), "dataset options");

    select::ScoreOptions so;
    so.batches = a.getInt("batches", 8);
    so.batchSize = a.getInt("batch-size", 4);
    so.seed = static_cast<uint64_t>(a.getInt("seed", 42));
    select::SelectionOptions sel;
    sel.method = select::parseImportanceMethod(a.get("method", "grad"), "rank-modules: --method");
    if (a.has("budget")) sel.budget = parseCount(a.get("budget"), "rank-modules: --budget");
    sel.topK = a.getInt("top-k", 0);
    sel.threshold = a.getDouble("threshold", 0.0);
    sel.r = a.getInt("r", 8);
    sel.alpha = a.getDouble("alpha", 2.0 * static_cast<double>(sel.r));
    sel.allocateRanks = a.has("allocate-ranks");
    sel.baseModel = modelDir;

    ModelOptions mo;
    mo.dtype = parseDtype(a.get("precision", "fp32"));
    const std::string dev = a.get("device", "auto");
    if (dev == "auto")
        mo.device = torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    else {
        try {
            mo.device = torch::Device(dev);
        } catch (const std::exception&) {
            fail("rank-modules: --device", "'" + dev + "' is not a device", "Use auto, cpu, cuda or cuda:N.");
        }
    }
    auto tok = Tokenizer::load(modelDir);
    data::PrepareOptions po;
    po.seed = so.seed;
    data::PreparedDataset pd = data::prepareDataset(dc, tok.get(), po);
    for (const auto& r : pd.report.rejections) spdlog::warn("{}:{}: {}", dc.path, r.line, r.reason);
    LoadedModel lm = loadModel(modelDir, mo);
    lm.model->to(mo.device);

    const bool json = a.has("json");
    so.progress = [json](int64_t done, int64_t total) {
        if (!json)
            std::fprintf(stderr, "\rscoring batch %lld/%lld", static_cast<long long>(done),
                         static_cast<long long>(total));
        if (!json && done == total) std::fprintf(stderr, "\n");
    };
    select::ImportanceReport rep = select::scoreModules(*lm.model, pd.train, pd.padId, so);
    select::Selection s = select::selectModules(rep, lm.model->config(), sel);

    if (a.has("out")) writeFileAtomic(a.get("out"), s.adapterConfig.dump(2) + "\n");
    if (json) {
        nlohmann::json out = {
            {"method", select::importanceMethodName(sel.method)}, {"scores", rep.toJson()}, {"selection", s.toJson()}};
        std::cout << out.dump(2) << "\n";
        return 0;
    }

    std::cout << "Importance (" << select::importanceMethodName(sel.method) << ") of " << rep.modules.size()
              << " modules on " << rep.batches << " batches (" << rep.examples << " examples, " << rep.tokens
              << " target tokens), mean loss " << fmt(rep.meanLoss) << "\n\n";
    std::vector<int64_t> rankOf(rep.modules.size(), 0);
    std::map<std::string, int64_t> chosenRank;
    for (const auto& m : s.modules) chosenRank[m.path] = m.rank;
    std::printf("%5s  %-44s %6s %12s %12s %12s  %s\n", "rank", "module", "layer", "grad", "taylor", "fisher",
                "selected");
    int64_t pos = 0;
    for (size_t idx : rep.ranking(sel.method)) {
        const auto& m = rep.modules[idx];
        auto it = chosenRank.find(m.path);
        std::string mark = it == chosenRank.end() ? "" : "r=" + std::to_string(it->second);
        std::printf("%5lld  %-44s %6lld %12s %12s %12s  %s\n", static_cast<long long>(++pos), m.path.c_str(),
                    static_cast<long long>(m.layer), fmt(m.gradNorm).c_str(), fmt(m.taylor).c_str(),
                    fmt(m.fisher).c_str(), mark.c_str());
    }
    std::printf("\n%6s %12s %12s %12s\n", "layer", "grad", "taylor", "fisher");
    for (const auto& l : rep.layers)
        std::printf("%6lld %12s %12s %12s\n", static_cast<long long>(l.layer), fmt(l.gradNorm).c_str(),
                    fmt(l.taylor).c_str(), fmt(l.fisher).c_str());
    std::cout << "\nSelected " << s.modules.size() << " modules, " << s.trainable << " trainable LoRA parameters";
    if (s.budget > 0) std::cout << " (budget " << s.budget << ")";
    std::cout << "\ntarget_modules: " << nlohmann::json(s.targetModules).dump()
              << "\nrank_pattern: " << s.rankPattern.dump() << "\n";
    if (a.has("out")) std::cout << "adapter config written to " << a.get("out") << "\n";
    return 0;
}

}  // namespace peft::cli
