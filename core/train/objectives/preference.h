// What DPO, ORPO and SimPO share: a micro-batch of pairs (chosen rows, then rejected rows) goes
// through the model once; each answer's log-probability is summed over its tokens; the reference
// model (when the objective uses one) is the same model with the adapter switched off, a frozen
// copy, or log-probabilities computed once before training. Each objective then only defines
// its per-pair loss and rewards, as a function (dpo.cpp, orpo.cpp, simpo.cpp).
#pragma once
#include <nlohmann/json.hpp>

#include "core/train/lm_loss.h"
#include "core/train/objectives/objective.h"

namespace peft {

// Per-pair inputs of a preference loss, [P] fp32 each.
struct PairLogps {
    torch::Tensor chosen, rejected;              // log π of each answer, summed over its tokens (with grad)
    torch::Tensor chosenTokens, rejectedTokens;  // counted tokens of each answer
    torch::Tensor refChosen, refRejected;        // log ref, summed (no grad); undefined without a reference
    torch::Tensor chosenNll;                     // scalar: NLL of the chosen answers, mean over their tokens
};

// A pair batch's per-sequence sums [2P] (chosen rows first, then rejected) as pairs, with the
// chosen answers' NLL; no reference. The trainer's forward and evaluate-pairs both use it.
PairLogps splitPairs(const SequenceLogps& s, int64_t pairs);

// A preference loss for each pair and the values reported for it (batch means in metrics.jsonl).
struct PairLoss {
    torch::Tensor loss;                            // [P]; the objective's loss is its mean
    torch::Tensor rewardsChosen, rewardsRejected;  // [P]
    torch::Tensor logpsChosen, logpsRejected;      // [P]: the log-probabilities the loss uses
    std::map<std::string, torch::Tensor> extra;    // [P]: objective-specific metrics (ORPO: nll_loss, ...)
};

// -(1-ε)·logσ(z) - ε·logσ(-z), elementwise: the (conservative) sigmoid preference loss.
torch::Tensor smoothedSigmoidLoss(const torch::Tensor& z, double labelSmoothing);

// What tells DPO, ORPO and SimPO apart: the loss and rewards of each pair from its log-probabilities
// and the objective's resolved settings (dpo.cpp, orpo.cpp, simpo.cpp; registered in registry.cpp).
using PairLossFn = PairLoss (*)(const PairLogps& x, const nlohmann::json& settings);
// A number from an objective's resolved settings (resolveObjectiveConfig filled in every default).
inline double setting(const nlohmann::json& settings, const char* key) { return settings.at(key).get<double>(); }

class PreferenceObjective : public Objective {
public:
    // `spec` and `loss` are the registry's entry for this objective (registry.cpp).
    PreferenceObjective(const ObjectiveSpec& spec, nlohmann::json settings, PairLossFn loss)
        : m_spec(spec), m_settings(std::move(settings)), m_loss(loss) {}
    const ObjectiveSpec& spec() const override { return m_spec; }
    void bind(const ObjectiveContext& ctx) override;
    void checkData(const std::vector<data::PreparedExample>& train, const std::string& where) const override;
    int64_t targetCount(const data::Batch& b) const override { return b.pairs; }
    torch::Tensor backward(const data::Batch& b, int64_t count, MetricSums& metrics) override;
    EvalResult evaluate(const std::vector<data::PreparedExample>& examples, int64_t batchSize, int64_t padId) override;
    // precompute_reference: every pair's reference log-probs, read from <outputDir>/reference_logps.safetensors
    // when it matches the data, else computed once and written there; the frozen copy is then released.
    void prepareData(std::vector<data::PreparedExample>& train, std::vector<data::PreparedExample>& validation,
                     const std::string& outputDir, int64_t batchSize, int64_t padId) override;

    // The loss of each pair from its log-probabilities (no model: unit tests call it directly).
    PairLoss pairLoss(const PairLogps& x) const { return m_loss(x, m_settings); }
    // How the reference is computed: "adapter_disabled", "frozen_copy" or "" (none); set by bind().
    const std::string& referenceKind() const { return m_referenceKind; }
    // The reference log-probabilities of each pair's chosen and rejected sequence, [P] each, for
    // a batch of pairs (no grad). Precomputing them before training uses the same call.
    std::pair<torch::Tensor, torch::Tensor> referenceLogps(const data::Batch& b);

protected:
    PairLogps forwardPairs(const data::Batch& b);

    const ObjectiveSpec& m_spec;
    nlohmann::json m_settings;
    PairLossFn m_loss;
    std::string m_referenceKind;
    CausalLM m_reference;  // the frozen copy, when the adapter cannot be switched off
};

}  // namespace peft
