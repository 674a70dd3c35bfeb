// Optimizers written out as torch defines them (AdamW with decoupled weight decay, Adam with
// L2 decay, SGD with momentum), with state that saves and restores exactly, plus LR schedules.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "core/train/run_config.h"

namespace peft {

class Optimizer {
public:
    Optimizer(std::vector<std::pair<std::string, torch::Tensor>> params, const TrainingConfig& cfg);
    // One update with learning rate `lr` from the gradients in .grad().
    void step(double lr);
    void zeroGrad();
    int64_t stepCount() const { return m_step; }
    // State as named tensors ("<param>.exp_avg", ..., "<param>.master" for low-precision
    // parameters) plus the step count.
    std::vector<std::pair<std::string, torch::Tensor>> state() const;
    void loadState(const std::map<std::string, torch::Tensor>& state, int64_t stepCount, const std::string& where);
    const std::vector<std::pair<std::string, torch::Tensor>>& params() const { return m_params; }

private:
    std::vector<std::pair<std::string, torch::Tensor>> m_params;
    TrainingConfig m_cfg;
    int64_t m_step = 0;
    std::vector<torch::Tensor> m_m, m_v;  // first/second moments (or momentum buffer in m_m)
    // fp32 master copy of each parameter stored in bf16/fp16 (full fine-tuning, BitFit, trainable
    // biases in a bf16 run), undefined for fp32 parameters. Updates accumulate here and the
    // parameter is its rounding; without it, updates smaller than bf16's spacing (~0.4% of the
    // weight) would be lost. The moments of such parameters are fp32 too.
    std::vector<torch::Tensor> m_master;
};

// Learning rate at optimizer step `step` (0-based) of `total`, as transformers' schedulers.
double scheduledLr(const TrainingConfig& cfg, int64_t step, int64_t total);

// Total L2 norm of the gradients; scales them so the norm is at most maxNorm (when > 0).
// Returns the norm before clipping.
double clipGradNorm(const std::vector<std::pair<std::string, torch::Tensor>>& params, double maxNorm);

}  // namespace peft
