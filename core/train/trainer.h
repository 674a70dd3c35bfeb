// Trainer: turns a RunConfig (model + method + data + schedule) into a trained adapter.
// One loop, read top to bottom: batches -> loss -> backward -> clip -> step -> metrics ->
// eval -> checkpoint. Pause/stop are polled between steps from another thread.
#pragma once
#include <torch/torch.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/data/batcher.h"
#include "core/model/loader.h"
#include "core/peft/method.h"
#include "core/train/objectives/objective.h"
#include "core/train/optimizer.h"
#include "core/train/preflight.h"
#include "core/train/run_config.h"

namespace peft {

namespace dist {
class DataParallel;
}

class Tokenizer;
namespace eval {
struct EvalSet;
}

// One tokenised example (ids, labels with -100 where no loss is taken, or a class label, or a
// preference pair).
using Example = data::PreparedExample;

struct TrainData {
    std::vector<Example> train;
    std::vector<Example> validation;
    int64_t padId = 0;
};

struct StepMetrics {
    int64_t step = 0;
    int64_t totalSteps = 0;
    double epoch = 0;
    double loss = 0;
    double gradNorm = 0;
    double lr = 0;
    double tokensPerS = 0;
    double elapsedS = 0;
    std::optional<double> evalLoss, evalPerplexity, evalAccuracy;
    // The objective's own metrics as step means (preference: rewards_chosen, rewards_accuracy, ...),
    // and after an evaluation the same over the validation set under "eval_<name>".
    std::map<std::string, double> objectiveMetrics;
    std::map<std::string, double> generation;  // training.generation_eval_every: metric -> value (gen_<metric>)
    nlohmann::json toJson() const;
};

using MetricsSink = std::function<void(const StepMetrics&)>;
using ProgressFn = std::function<void(const std::string& what, double fraction)>;

// Shared with the thread that drives the UI: polled between steps.
struct TrainerControl {
    std::atomic<bool> stop{false};
    std::atomic<bool> pause{false};
};

enum class TrainStatus { Finished, Stopped, EarlyStopped, Failed };

struct TrainResult {
    TrainStatus status = TrainStatus::Finished;
    int64_t steps = 0;
    std::string message;
    std::string adapterDir;      // final adapter (peft layout)
    std::string lastCheckpoint;  // newest good checkpoint
    std::optional<double> finalEvalLoss;
};

class Trainer {
public:
    explicit Trainer(RunConfig cfg);
    ~Trainer();

    // Loads the model, attaches the method (or `init_from`), prepares data unless setData()
    // was called, creates the run folder and writes run.json.
    void setup(const ProgressFn& progress = {});
    void setData(TrainData data);
    // Polled while setup() prepares the dataset: when it returns true, setup throws
    // data::Cancelled (a Stop pressed before the first step).
    void setCancelCheck(std::function<bool()> f) { m_cancel = std::move(f); }

    // Data parallelism (core/dist): call before setup(). Each optimizer step then takes
    // batch_size x grad_accum x world rows in the same order whatever the world size, this rank
    // computes its share, gradients are summed across ranks, and only rank 0 writes files.
    void setDataParallel(std::shared_ptr<dist::DataParallel> dp) { m_dp = std::move(dp); }

    // Restores the newest checkpoint in output_dir. False when there is none.
    bool resumeFromLatest();

    TrainResult run(const MetricsSink& sink = {}, TrainerControl* control = nullptr);

    // Mean eval loss (token-weighted) and accuracy (classification) over the validation split.
    std::pair<double, std::optional<double>> evaluate();
    // The same evaluation with the objective's metrics (preference: rewards on validation pairs);
    // maxRows > 0 takes only the split's first maxRows rows (the time estimate's sample).
    EvalResult evaluateAll(int64_t maxRows = 0);

    // Saves a checkpoint now (also used on stop). Returns its folder.
    std::string saveCheckpoint();

    const RunConfig& config() const { return m_cfg; }
    CausalLM model() const { return m_model; }
    Adapter& adapter() { return m_adapter; }
    int64_t step() const { return m_step; }
    int64_t totalSteps() const { return m_totalSteps; }
    torch::Device device() const { return m_device; }
    // The memory check done by setup() (estimate vs. free memory); its warnings are also logged.
    const PreflightReport& preflightReport() const { return m_preflight; }
    const TrainData& data() const { return m_data; }
    Objective& objective() { return *m_objective; }

private:
    // setup()'s steps, in order (trainer.cpp says what each one sets up).
    void openRunFolder();
    void setupObjective();
    void loadBaseModel();
    NamedTensors attachMethod();  // the trainable tensors
    void setupOptimizer(const NamedTensors& params);
    void setupData();

    double stepLoss(const std::vector<data::Batch>& micro, int64_t count);
    void appendMetrics(const StepMetrics& m);
    void pruneCheckpoints();
    // Data parallelism: whether this process writes the run's files (rank 0, or no group), and
    // the world size (1 without a group).
    bool isWriter() const;
    int worldSize() const;
    // Pause/stop as every rank agrees (a plain run: this control alone). True: stop now.
    bool pollControl(TrainerControl* control);

    RunConfig m_cfg;
    torch::Device m_device = torch::kCPU;
    CausalLM m_model;
    Adapter m_adapter;
    std::unique_ptr<Optimizer> m_optimizer;
    TrainData m_data;
    bool m_haveData = false;
    std::function<bool()> m_cancel;
    bool m_classification = false;
    std::unique_ptr<Objective> m_objective;
    MetricSums m_stepMetrics;  // the objective's metric sums over the current step
    int64_t m_step = 0;
    int64_t m_totalSteps = 0;
    std::unique_ptr<data::Batcher> m_batcher;
    double m_elapsedBefore = 0;
    std::optional<double> m_bestEval;
    // training.generation_eval_every: the tuned model's generation metrics on a fixed sample of
    // the validation rows (built on first use).
    std::map<std::string, double> generationEval();
    std::shared_ptr<Tokenizer> m_genTok;
    std::shared_ptr<eval::EvalSet> m_genSet;
    int64_t m_badEvals = 0;
    std::string m_lastCheckpoint;
    std::shared_ptr<void> m_logSink;
    PreflightReport m_preflight;
    std::shared_ptr<dist::DataParallel> m_dp;
    data::BatcherOptions m_batchOptions;  // batchSize: rows of one micro-step over all ranks
};

std::string statusName(TrainStatus s);

// Optimizer steps of a run over `trainExamples` rows taken `rowsPerMicroStep` at a time (batch_size
// x world size): max_steps when set, else epochs x the micro-steps of an epoch / grad_accum.
int64_t plannedSteps(const TrainingConfig& t, int64_t trainExamples, int64_t rowsPerMicroStep);

// The newest checkpoint folder in <outputDir>/checkpoints, or "".
std::string latestCheckpoint(const std::string& outputDir);

}  // namespace peft
