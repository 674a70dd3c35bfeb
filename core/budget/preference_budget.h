// The cost of a preference run (DPO, ORPO, SimPO; core/train/objectives): each pair is two
// sequences, DPO adds a reference forward, and where the adapter cannot be switched off to give
// the reference (full fine-tuning, BitFit, a method with trainable base weights) a frozen second
// copy of the base weights. No torch.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/budget/budget.h"

namespace peft::budget {

struct PreferenceCost {
    Estimate estimate;                // for 2 x batch sequences, the frozen copy counted in memory.weights
    uint64_t referenceCopyBytes = 0;  // the frozen reference's weights (0: none)
    bool referenceForward = false;    // a no-grad reference forward runs each step
};

// `objective` is run.json's resolved "objective" (RunConfig::objective); for SFT this is
// estimate() unchanged. opts.batch counts pairs.
PreferenceCost estimateWithObjective(const ModelConfig& mc, const nlohmann::json& methodCfg, BudgetOptions opts,
                                     const nlohmann::json& objective);

// What a preference estimate assumed, one sentence each (the CLI's `estimate --objective` and the
// Budget page show them); empty for SFT. `pairs` is opts.batch as given.
std::vector<std::string> objectiveAssumptions(const nlohmann::json& objective, const PreferenceCost& cost,
                                              int64_t pairs);

}  // namespace peft::budget
