// Subset selection from importance scores: top-k, a relative threshold, or a trainable-parameter
// budget for LoRA (exact counts from the LoRA MethodSpec), with optional rank allocation written
// as peft's rank_pattern, and a ready adapter_config.json.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/io/model_config.h"
#include "core/select/importance.h"

namespace peft::select {

struct SelectionOptions {
    ImportanceMethod method = ImportanceMethod::GradNorm;
    int64_t topK = 0;            // > 0: at most this many modules
    double threshold = 0;        // > 0: only modules scoring >= threshold * the best score (0..1]
    int64_t budget = 0;          // > 0: trainable LoRA parameters may not exceed it
    int64_t r = 8;               // LoRA rank of every selected module (before allocation)
    double alpha = 16;           // lora_alpha at rank r
    bool allocateRanks = false;  // spread the same parameter total over the modules by importance
    std::string baseModel;       // base_model_name_or_path written into the adapter config
};

struct SelectedModule {
    std::string path;
    std::string name;
    int64_t layer = 0;
    double score = 0;
    int64_t rank = 0;
    int64_t params = 0;  // trainable LoRA parameters of this module at `rank`
};

struct Selection {
    std::vector<SelectedModule> modules;                     // ranking order
    std::vector<std::string> targetModules;                  // full module paths, ranking order
    nlohmann::json rankPattern = nlohmann::json::object();   // full path -> rank, where != r
    nlohmann::json alphaPattern = nlohmann::json::object();  // full path -> alpha (alpha/rank kept = alpha/r)
    nlohmann::json adapterConfig;                            // a complete LoRA adapter_config.json
    int64_t trainable = 0;                                   // exact, from methodSpec("LORA").count(adapterConfig)
    int64_t budget = 0;                                      // the budget the selection was made under (0 = none)
    nlohmann::json toJson() const;
};

// Modules are taken best-first. A module is skipped when it scores below the threshold or when
// adding it would take the exact LoRA count past the budget (the next ones are still tried, so
// every module left out either scores too low or does not fit); selection stops at topK.
// Throws PeftError when nothing is selected (e.g. a budget below the cheapest module) or the
// options are out of range.
//
// Rank allocation: the parameter total (the budget, or the uniform-rank total without one) is
// split over the selected modules in proportion to score: rank_i ~ score_i, each at least 1 and
// at most min(in, out), rounded down and then topped up best-deficit-first while it fits.
Selection selectModules(const ImportanceReport& report, const ModelConfig& mc, const SelectionOptions& opts);

}  // namespace peft::select
