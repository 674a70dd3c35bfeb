// Preference-run costs on top of budget::estimate (see preference_budget.h).
#include "core/budget/preference_budget.h"

#include "core/train/objectives/objective_spec.h"

namespace peft::budget {

PreferenceCost estimateWithObjective(const ModelConfig& mc, const nlohmann::json& methodCfg, BudgetOptions opts,
                                     const nlohmann::json& objective) {
    const ObjectiveSpec& spec = objectiveSpec(objective.value("type", std::string("sft")));
    PreferenceCost c;
    if (!spec.preference) {
        c.estimate = estimate(mc, methodCfg, opts);
        return c;
    }
    // A batch of B pairs runs as 2B sequences (chosen rows, then rejected rows) through one forward
    // and one backward: activations and step time are those of 2B sequences.
    opts.batch *= 2;
    c.estimate = estimate(mc, methodCfg, opts);
    const bool precomputed = objective.value("precompute_reference", false);
    if (!spec.usesReference || precomputed) return c;
    // The reference forward runs without grad: it keeps nothing for backward (its transient is one
    // layer's activations, below the step's own peak), and costs a forward, about a third of a
    // forward + backward.
    c.referenceForward = true;
    c.estimate.trainFlopsPerToken *= 4.0 / 3.0;
    const bool modulesToSave = methodCfg.is_object() && methodCfg.contains("modules_to_save") &&
        !methodCfg["modules_to_save"].is_null() && !methodCfg["modules_to_save"].empty();
    const std::string reference = objective.value("reference", std::string("auto"));
    const bool copy = reference == "frozen_copy" || c.estimate.params.trainableBase > 0 || modulesToSave;
    if (!copy) return c;
    // A second copy of the base weights in the run's storage (what the method adds is fp32 and not copied).
    MemoryParts& m = c.estimate.memory;
    c.referenceCopyBytes = m.weights - static_cast<uint64_t>(c.estimate.params.added) * 4;
    m.weightsByDtype["reference_copy"] += c.referenceCopyBytes;
    m.weights += c.referenceCopyBytes;
    return c;
}

std::vector<std::string> objectiveAssumptions(const nlohmann::json& objective, const PreferenceCost& c, int64_t pairs) {
    const ObjectiveSpec& spec = objectiveSpec(objective.value("type", std::string("sft")));
    std::vector<std::string> out;
    if (!spec.preference) return out;
    out.push_back("the batch counts pairs: each step runs " + std::to_string(pairs) + " chosen + " +
                  std::to_string(pairs) + " rejected sequences (the activations and time of " +
                  std::to_string(2 * pairs) + " sequences)");
    if (!spec.usesReference) out.push_back(spec.displayName + " needs no reference model");
    else if (!c.referenceForward)
        out.push_back("reference log-probs precomputed once before training (no reference forward in the steps)");
    else if (c.referenceCopyBytes > 0)
        out.push_back(
            "reference: a frozen copy of the base weights (+" + humanBytes(c.referenceCopyBytes) +
            ", counted in the weights: the method trains the model's own weights, or reference is frozen_copy), "
            "one no-grad forward per step (+1/3 of the step's compute)");
    else
        out.push_back(
            "reference: the same model with the adapter switched off (no second copy), one no-grad forward "
            "per step (+1/3 of the step's compute; it keeps no activations for backward)");
    return out;
}

}  // namespace peft::budget
