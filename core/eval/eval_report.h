// An evaluation's result: aggregate metrics per side (base, tuned), per-example rows, and for
// classification answers the confusion matrix; written as JSON and CSV (atomically).
#pragma once
#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/data/dataset_file.h"
#include "core/eval/classification.h"

namespace peft::eval {

struct ExampleRow {
    int64_t index = 0;  // position in the evaluated set
    int64_t line = 0;   // line in the dataset file
    std::string prompt;
    std::vector<std::string> references;
    std::map<std::string, std::string> answers;                   // side -> generated answer
    std::map<std::string, std::map<std::string, double>> scores;  // side -> metric -> value
    // Multiple choice.
    std::vector<std::string> choices;
    int64_t answer = -1;
    std::map<std::string, std::vector<double>> loglikelihoods;  // side -> per choice
};

struct EvalReport {
    std::string kind = "generation";  // generation | multiple_choice
    std::string model, adapter, dataset, format, templateName;
    std::vector<std::string> sides;                                  // "base" and/or "tuned", in that order
    std::vector<std::string> metrics;                                // in the order asked for
    std::map<std::string, std::map<std::string, double>> aggregate;  // side -> metric -> value
    std::map<std::string, std::map<std::string, double>> stderrs;    // side -> metric -> standard error
    std::map<std::string, ClassificationReport> classification;      // side -> (when "acc" was asked for)
    std::vector<ExampleRow> rows;
    std::vector<data::Rejection> rejections;
    bool cancelled = false;
    double seconds = 0;

    nlohmann::json toJson() const;
    // Reads what toJson wrote; throws PeftError naming `where` and the key on anything else.
    static EvalReport fromJson(const nlohmann::json& j, const std::string& where);
    // One line per example: index, line, prompt, reference, then per side the answer and each
    // metric (RFC 4180 quoting).
    std::string toCsv() const;
};

// Writes `jsonPath` and, when not empty, `csvPath`, each through a temporary file and a rename.
void writeReport(const EvalReport& r, const std::string& jsonPath, const std::string& csvPath);
EvalReport readReport(const std::string& jsonPath);

// Mean and lm-evaluation-harness's mean_stderr (sample standard deviation / sqrt(n)); NaN for n < 2.
double mean(const std::vector<double>& v);
double meanStderr(const std::vector<double>& v);

}  // namespace peft::eval
