// Preference accuracy of the base and the tuned model on a run's validation pairs: how often each
// gives the chosen answer a higher log-probability than the rejected one (summed, and per token),
// and the run objective's reward accuracy and margin (DPO's rewards are measured against the base,
// so the base has none). The Evaluate page and `peft-studio-cli evaluate-pairs` run it.
#pragma once
#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace peft {

struct RunConfig;

struct PairSideResult {
    double logpAccuracy =
        std::nan("");  // fraction of pairs with log π(chosen) > log π(rejected), summed over answer tokens
    double perTokenAccuracy = std::nan("");  // the same with each answer's mean log-probability per token
    double meanLogpMargin = std::nan("");    // mean of log π(chosen) − log π(rejected)
    double rewardAccuracy = std::nan("");    // the objective's rewards: fraction with reward(chosen) > reward(rejected)
    double meanRewardMargin = std::nan("");  // mean of reward(chosen) − reward(rejected)
};

struct PairEvalReport {
    std::string objective;           // the run's objective type (rewards follow its definition)
    int64_t pairs = 0;               // validation pairs evaluated
    std::vector<std::string> sides;  // "base", then "tuned" when the run has an adapter or a tuned model
    std::map<std::string, PairSideResult> results;
    std::string rewardNote;  // how the rewards were computed, one sentence
    bool cancelled = false;
    double seconds = 0;
    nlohmann::json toJson() const;
};

struct PairEvalOptions {
    int64_t batchSize = 8;  // pairs per forward (2x sequences)
    int64_t limit = -1;     // the first N validation pairs; -1: all
    std::string device = "auto";
    // (pairs done, pairs in all) after each batch; from the calling thread.
    std::function<void(int64_t, int64_t)> onProgress;
    const std::atomic<bool>* cancel = nullptr;
};

// Loads the run's model (and <output_dir>/adapter, or the tuned model folder of a full
// fine-tuning run) and its validation pairs (the split the trainer uses). Throws PeftError when
// the dataset holds no preference pairs or the run has no validation split.
PairEvalReport evaluatePreferencePairs(const RunConfig& run, const PairEvalOptions& opts);

}  // namespace peft
