// `peft-studio-cli evaluate`: score a model (and its adapter) on a dataset or a run's validation
// split: generation metrics, or multiple choice by log-likelihood; base vs tuned; JSON + CSV.
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/eval/evaluator.h"
#include "core/util/error.h"

namespace peft::cli {

namespace {
std::string csvPathFor(const std::string& json) {
    std::filesystem::path p(json);
    return p.extension() == ".json" ? p.replace_extension(".csv").string() : json + ".csv";
}

void printSummary(const eval::EvalReport& r) {
    std::printf("%zu examples%s (%.1f s)\n", r.rows.size(), r.cancelled ? ", cancelled" : "", r.seconds);
    std::printf("%-10s", "metric");
    for (const auto& s : r.sides) std::printf("%18s", s.c_str());
    std::printf("\n");
    std::vector<std::string> names = r.metrics;
    if (!r.classification.empty()) names.push_back("macro_f1");
    for (const auto& m : names) {
        std::printf("%-10s", m.c_str());
        for (const auto& s : r.sides) {
            double v = std::nan(""), se = std::nan("");
            if (auto a = r.aggregate.find(s); a != r.aggregate.end())
                if (auto it = a->second.find(m); it != a->second.end()) v = it->second;
            if (auto a = r.stderrs.find(s); a != r.stderrs.end())
                if (auto it = a->second.find(m); it != a->second.end()) se = it->second;
            char cell[64];
            if (std::isfinite(se)) std::snprintf(cell, sizeof cell, "%.4f ± %.4f", v, se);
            else std::snprintf(cell, sizeof cell, "%.4f", v);
            std::printf("%18s", cell);
        }
        std::printf("\n");
    }
}
}  // namespace

int cmdEvaluate(const std::vector<std::string>& argv) {
    Args a(argv,
           {"model", "adapter", "run", "dataset", "metrics", "normalize", "limit", "format", "template", "column",
            "max-new-tokens", "stop", "batch-size", "precision", "device", "fewshot", "out", "csv"},
           {"choices", "base-too", "quiet"}, "evaluate");
    eval::EvalJob job;
    if (a.has("run")) {
        // A run folder (its run.json) or a run config file.
        namespace fs = std::filesystem;
        const fs::path p = a.get("run");
        const bool folder = fs::is_directory(p);
        RunConfig rc = RunConfig::load(folder ? (p / "run.json").string() : p.string());
        if (folder) rc.outputDir = p.string();
        job = eval::jobForRun(rc);
        job.baseToo = true;
    }
    if (a.has("model")) job.modelDir = a.get("model");
    if (a.has("adapter")) job.adapterDir = a.get("adapter");
    if (!a.has("run")) job.baseToo = a.has("base-too");
    if (job.modelDir.empty()) fail("evaluate", "--model is required (or --run)", "Give --model DIR.");
    job.datasetPath = a.get("dataset");
    if (job.datasetPath.empty() && !job.run)
        fail("evaluate", "--dataset is required (or --run)", "Give --dataset FILE.");
    job.choices = a.has("choices");
    job.fewshot = a.getInt("fewshot", 0);
    job.limit = a.getInt("limit", -1);
    job.precision = a.get("precision", "fp32");
    job.device = a.get("device", "auto");
    job.data.format = a.get("format", "auto");
    job.data.templateName = a.get("template", "auto");
    for (const auto& m : a.getAll("column")) {
        auto eq = m.find('=');
        if (eq == std::string::npos)
            fail("evaluate", "--column expects FIELD=COLUMN, got '" + m + "'", "E.g. --column output=response.");
        job.data.columnMapping[m.substr(0, eq)] = m.substr(eq + 1);
    }
    if (a.has("metrics")) job.eval.metrics = eval::parseMetricList(a.get("metrics"));
    job.eval.metricOptions.normalization = eval::Normalization::parse(a.get("normalize", "squad"));
    job.eval.maxNewTokens = a.getInt("max-new-tokens", 64);
    job.eval.stopStrings = a.getAll("stop");
    job.eval.batchSize = a.getInt("batch-size", 8);
    std::string out = a.get("out");
    if (out.empty()) {
        if (!job.run) fail("evaluate", "--out is required", "Give --out report.json.");
        out = eval::runReportPath(job.run->outputDir);
        std::filesystem::create_directories(std::filesystem::path(out).parent_path());
    }
    const std::string csv = a.get("csv", csvPathFor(out));
    const bool quiet = a.has("quiet");
    job.eval.onProgress = [quiet](int64_t done, int64_t total) {
        if (!quiet)
            std::fprintf(stderr, "\revaluating %lld/%lld", static_cast<long long>(done), static_cast<long long>(total));
        if (!quiet && done == total) std::fprintf(stderr, "\n");
    };
    eval::EvalReport rep = eval::runEvalJob(job);
    for (const auto& r : rep.rejections) spdlog::warn("{}:{}: skipped: {}", r.file, r.line, r.reason);
    eval::writeReport(rep, out, csv);
    printSummary(rep);
    std::printf("report: %s\nrows:   %s\n", out.c_str(), csv.c_str());
    return 0;
}

}  // namespace peft::cli
