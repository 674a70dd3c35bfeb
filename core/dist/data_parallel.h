// Data parallelism over LibTorch's c10d (the process groups torch.distributed and torchrun use):
// rendezvous through a TCPStore, a Gloo group for CPU ranks (NCCL where the LibTorch has CUDA and
// NCCL), a check that every rank runs the same config, gradients all-reduced in flat buckets once
// per optimizer step, and a stop/pause agreement so no rank waits on one that left.
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/data/batcher.h"
#include "core/dist/rank_env.h"
#include "core/train/run_config.h"

namespace peft::dist {

struct GroupOptions {
    std::chrono::milliseconds timeout{60000};  // rendezvous and every collective
    torch::Device device = torch::kCPU;        // where the trainer's gradients live
    std::string configJson;                    // this rank's run config: every rank must agree
};

class DataParallel {
public:
    // Connects to the other ranks. PeftError with a clear message when the port is in use, a rank
    // does not arrive within the timeout, WORLD_SIZE differs between ranks, or a rank's run config
    // differs from rank 0's.
    DataParallel(const RankEnv& env, const GroupOptions& opts);
    ~DataParallel();
    DataParallel(const DataParallel&) = delete;
    DataParallel& operator=(const DataParallel&) = delete;

    int rank() const { return m_env.rank; }
    int world() const { return m_env.world; }
    const RankEnv& env() const { return m_env; }
    std::string backend() const;

    // Rank 0's values into every rank's tensors (the trainable weights after initialisation).
    void broadcast(const std::vector<torch::Tensor>& tensors);
    // Sums every rank's gradients of `params` (an undefined gradient counts as zeros, and is
    // created) and `localLoss` in flat fp32 buckets; returns the summed loss. Gradients hold the
    // sum afterwards: with each rank's loss already divided by the global target count, that sum
    // is the gradient of the global batch's mean loss.
    double allReduceGradients(const std::vector<torch::Tensor>& params, double localLoss);
    // Every rank's (stop, pause) flags, OR-ed. Called at the top of each step.
    std::pair<bool, bool> agree(bool stop, bool pause);
    void barrier();

private:
    void check(const std::string& what, const std::function<void()>& f);
    struct Impl;
    RankEnv m_env;
    GroupOptions m_opts;
    std::unique_ptr<Impl> m_impl;
};

// This process as rank `env` of the run `cfg` (the CLI's ranks and the GUI's in-process rank 0):
// connects with every rank agreeing on `cfg` as given, then adapts `cfg` to this rank: a CUDA run
// trains on cuda:gpus[local rank] (cuda:local rank without training.gpus), and automatic threads
// become this machine's cores shared by its local ranks (unless OMP_NUM_THREADS is set, as
// torchrun does).
std::shared_ptr<DataParallel> joinRun(const RankEnv& env, RunConfig& cfg, std::chrono::milliseconds timeout);

// training.threads for one of `localWorld` ranks on this machine: as configured when set (> 0),
// or when OMP_NUM_THREADS is (torchrun sets it), else this machine's cores shared among the ranks.
int64_t rankThreads(int64_t configured, int localWorld);

// The rows of one global micro-batch (all ranks' rows) that `rank` computes: an equal contiguous
// share (rows [r*n/W, (r+1)*n/W)), cut into chunks of at most `maxRows`. Empty when the batch has
// fewer rows than ranks and this rank's share is none. With world 1 and maxRows >= the batch's
// rows, the batch itself.
std::vector<data::Batch> localShare(const data::Batch& global, int rank, int world, int64_t maxRows);

}  // namespace peft::dist
