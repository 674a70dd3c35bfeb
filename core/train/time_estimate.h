// How long a run will take, from a few real steps of it: the Budget page's "Run time" column and
// `peft-studio-cli estimate-time`. The run config is trained as it is (model, method, objective,
// dataset, precision, device, threads) in a scratch folder for a warm-up and a few timed steps;
// then one checkpoint and one evaluation are timed, and the whole run is the sum of
//   setup + steps x (mean step + all-reduce) + checkpoints x checkpoint + evaluations x evaluation.
// Data parallel (training.processes / training.gpus): one process is measured as each rank of that
// world size runs (its batch_size rows, its share of the threads), the step count is the world's,
// and on CPU one all-reduce of the trainable tensors between that many ranks is timed too. Nothing is written outside the scratch folder, which is removed afterwards.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "core/train/run_config.h"

namespace peft {

struct TimeEstimateOptions {
    int64_t warmupSteps = 1;  // not timed: the first steps pay for allocation and packing
    // Timed steps: their mean is the run's step (batches differ in length, so a step's time varies;
    // the mean, not the median, is what a sum of steps adds up to).
    int64_t timedSteps = 5;
    // ...and more, while they add up to less than this (up to maxTimedSteps): a small model's step
    // is short and noisy, and the mean of a few seconds of steps is steadier than of five.
    double minTimedSeconds = 3.0;
    int64_t maxTimedSteps = 60;
    // Rows of the validation split evaluated for the timing (the whole split's time is scaled
    // from them); 0: the whole split.
    int64_t evalRows = 32;
    // A checkpoint larger than this (trainable tensors + optimizer state) is not written for the
    // timing; its time is then left out of the total and the assumptions say so.
    uint64_t maxCheckpointBytes = 2ull << 30;
    std::string scratchDir;  // empty: a fresh folder under the system's temporary directory
};

struct TimeEstimate {
    int64_t worldSize = 1;      // processes (CPU) or GPUs the estimate is for
    int threadsPerProcess = 0;  // CPU intra-op threads of each process (0 on a GPU)
    std::string device;         // "cpu" or "cuda:N"
    int64_t trainExamples = 0;
    int64_t totalSteps = 0;           // optimizer steps of the whole run at that world size
    std::vector<double> stepSeconds;  // the timed steps
    double meanStepSeconds = 0;
    // Data parallel on CPU: one step's gradient all-reduce between the ranks (Gloo over loopback,
    // timed here with the trainable tensors' size); 0 for one process, and not timed for GPUs.
    double allReduceSeconds = 0;
    bool allReduceTimed = false;
    double setupSeconds = 0;  // loading the model, attaching the method, preparing the data
    double evalSeconds = 0;   // one evaluation of the whole validation split (scaled)
    int64_t evaluations = 0;
    double checkpointSeconds = 0;  // one checkpoint (0 when not timed)
    int64_t checkpoints = 0;       // the run's checkpoints, the last one included
    bool checkpointTimed = false;
    // What the figure leaves out or takes for granted, one phrase each ("ranks run side by side
    // without slowing each other").
    std::vector<std::string> assumptions;

    double stepsSeconds() const { return (meanStepSeconds + allReduceSeconds) * static_cast<double>(totalSteps); }
    double totalSeconds() const;
    nlohmann::json toJson() const;
};

// Throws PeftError for a config that cannot train (the trainer's own checks), and
// data::Cancelled when `cancelled` returns true (polled during setup and between steps).
// `progress` gets a phrase and a fraction in [0, 1].
TimeEstimate estimateRunTime(const RunConfig& cfg, const TimeEstimateOptions& options = {},
                             const std::function<void(const std::string&, double)>& progress = {},
                             const std::function<bool()>& cancelled = {});

// "2 h 05 min", "3 min 20 s", "12 s": a duration for people.
std::string humanDuration(double seconds);

}  // namespace peft
