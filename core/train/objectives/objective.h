// Objective: what a training step optimises, behind one small interface. The trainer hands it
// each micro-batch with the step's global target count; it runs the forward, back-propagates its
// share of the step loss and reports its metrics; it also runs the evaluation pass. Causal LM,
// sequence classification, DPO, ORPO and SimPO are siblings (one file each); the registry
// (registry.cpp) picks one from run.json's "objective" (objective_spec.h holds the settings).
#pragma once
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/data/batcher.h"
#include "core/model/causal_lm.h"
#include "core/train/objectives/objective_spec.h"

namespace peft {

struct Adapter;
struct RunConfig;

// Metric name -> sum over the step's micro-batches of a per-unit value (device scalars, so the
// step syncs with the host once); the trainer reports sum / count, a mean over the step.
using MetricSums = std::map<std::string, torch::Tensor>;

struct EvalResult {
    double loss = std::nan("");
    std::optional<double> accuracy;         // classification; preference: the reward accuracy
    std::map<std::string, double> metrics;  // the objective's metrics, as means over the validation set
};

// What an objective works with, given by Trainer::setup once the model and the method exist.
struct ObjectiveContext {
    CausalLM model;                  // the trained model
    Adapter* adapter = nullptr;      // the method attached to it
    const RunConfig* run = nullptr;  // the run (a frozen reference copy is loaded from run->model)
    torch::Device device = torch::kCPU;
};

class Objective {
public:
    virtual ~Objective() = default;
    virtual const ObjectiveSpec& spec() const = 0;

    // Called once by Trainer::setup after the method is attached (a reference model is made here).
    virtual void bind(const ObjectiveContext& ctx) { m_ctx = ctx; }
    // Throws PeftError naming `where` when the prepared data cannot train this objective (every
    // label masked; sequences where pairs are needed, or the reverse).
    virtual void checkData(const std::vector<data::PreparedExample>& train, const std::string& where) const = 0;

    // After the data is prepared, before training: a chance to annotate examples (DPO's precomputed
    // reference log-probabilities, cached in `outputDir`).
    virtual void prepareData(std::vector<data::PreparedExample>& train, std::vector<data::PreparedExample>& validation,
                             const std::string& outputDir, int64_t batchSize, int64_t padId) {}

    // Units the step loss is averaged over in one micro-batch: target tokens (causal LM), rows
    // (classification), pairs (preference). The trainer sums them over the step (and ranks).
    virtual int64_t targetCount(const data::Batch& b) const = 0;
    // Forward and backward of one micro-batch: back-propagates (its summed loss) / count, adds its
    // metric sums to `metrics`, and returns the summed loss (detached device scalar).
    virtual torch::Tensor backward(const data::Batch& b, int64_t count, MetricSums& metrics) = 0;
    // The evaluation pass over `examples` in batches of `batchSize` (the caller sets eval mode and
    // no-grad).
    virtual EvalResult evaluate(const std::vector<data::PreparedExample>& examples, int64_t batchSize,
                                int64_t padId) = 0;

protected:
    ObjectiveContext m_ctx;
};

// The registry: run.json's resolved "objective" (RunConfig::objective) -> its implementation.
// "sft" on a SEQ_CLS method is sequence classification. Throws PeftError for a preference
// objective on a classification method.
std::unique_ptr<Objective> makeObjective(const nlohmann::json& objective, bool classification);

// Before anything loads: a preference objective needs a preference dataset and the reverse. The
// dataset's format is read from run.json, or detected from its file when "auto". Throws
// PeftError naming the objective and the dataset, with the fix.
void checkObjectiveMatchesDataset(const RunConfig& run);

}  // namespace peft
