// The causal-LM (SFT) and sequence-classification objectives (causal_lm.cpp, classification.cpp).
#pragma once
#include "core/train/objectives/objective.h"

namespace peft {

class CausalLmObjective : public Objective {
public:
    const ObjectiveSpec& spec() const override;
    void checkData(const std::vector<data::PreparedExample>& train, const std::string& where) const override;
    int64_t targetCount(const data::Batch& b) const override;
    torch::Tensor backward(const data::Batch& b, int64_t count, MetricSums& metrics) override;
    EvalResult evaluate(const std::vector<data::PreparedExample>& examples, int64_t batchSize, int64_t padId) override;
};

class ClassificationObjective : public Objective {
public:
    const ObjectiveSpec& spec() const override;
    void checkData(const std::vector<data::PreparedExample>& train, const std::string& where) const override;
    int64_t targetCount(const data::Batch& b) const override { return b.inputIds.size(0); }
    torch::Tensor backward(const data::Batch& b, int64_t count, MetricSums& metrics) override;
    EvalResult evaluate(const std::vector<data::PreparedExample>& examples, int64_t batchSize, int64_t padId) override;
};

}  // namespace peft
