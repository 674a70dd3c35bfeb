// Budget: parameter, memory, file-size and time estimates for a model config and a method config,
// from config.json alone (no weights, no torch; all methods for a 70B config in well under 50 ms).
// The formulas and their assumptions are written next to the code in budget.cpp and in
// core/budget/README.md.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>

#include "core/io/model_config.h"
#include "core/peft/method_spec.h"

namespace peft::budget {

enum class Precision { Fp32, Bf16, Fp16 };
enum class Optimizer { AdamW, Adam, Sgd, SgdMomentum };
enum class BaseQuant { None, Nf4, Nf4DoubleQuant };
enum class Device { Cpu, Cuda };
// How the head and the loss run: Chunked = our trainer (core/train/lm_loss.cpp: row chunks, the
// [tokens, vocabulary] logits never exist whole); Eager = logits for every position, then
// cross-entropy, with the stock tanh-GELU (a plain PyTorch training loop;
// tests/core/test_budget_measured.cpp).
enum class LossImpl { Chunked, Eager };

struct BudgetOptions {
    int64_t batch = 1;
    int64_t seqLen = 512;
    Precision precision = Precision::Fp32;  // base weights, activations, gradients of base params
    Optimizer optimizer = Optimizer::AdamW;
    bool gradientCheckpointing = false;        // keep only each layer's input; recompute one layer in backward
    BaseQuant quantizeBase = BaseQuant::None;  // QLoRA-style NF4 storage of the frozen layer linears
    int64_t numLabels = 0;                     // SEQ_CLS head size; 0 = config.json's id2label count
    int64_t generationContext = 0;             // KV cache length for generation; 0 = seqLen
    // Where the step runs: some CPU kernels of LibTorch 1.x are slow in bf16, so the models compute
    // LayerNorm and SiLU in fp32 there and autograd keeps those fp32 copies (core/model/layers.h).
    Device device = Device::Cpu;
    LossImpl loss = LossImpl::Chunked;
    // Fused attention (at::scaled_dot_product_attention, LibTorch >= 2.1; see
    // fusedAttentionAvailable() in core/model/causal_lm.h): no [B,heads,T,T] matrix is kept.
    bool fusedAttention = false;
    // [B,H,T,T] attention matrices autograd keeps per layer in eager attention: the softmax output
    // (fp32, kept by softmax's backward; in a non-fp32 run probs@V keeps its cast to the precision
    // too). Set 2 for an implementation that also keeps the pre-softmax scores.
    int attentionMatricesKept = 1;
    // CPU bf16 training keeps oneDNN copies of the frozen layer weights (core/model/linear.h)
    // where this build and CPU have the kernels (kernels::dnnlAvailable()).
    bool packedWeights = true;

    // Builders with chained setters (LibTorch's options style).
    BudgetOptions& withBatch(int64_t b) { return set(batch, b); }
    BudgetOptions& withSeqLen(int64_t t) { return set(seqLen, t); }
    BudgetOptions& withPrecision(Precision p) { return set(precision, p); }
    BudgetOptions& withOptimizer(Optimizer o) { return set(optimizer, o); }
    BudgetOptions& withQuantizeBase(BaseQuant q) { return set(quantizeBase, q); }
    BudgetOptions& withGradientCheckpointing(bool g) { return set(gradientCheckpointing, g); }
    BudgetOptions& withDevice(Device d) { return set(device, d); }
    BudgetOptions& withLoss(LossImpl l) { return set(loss, l); }
    BudgetOptions& withFusedAttention(bool f) { return set(fusedAttention, f); }

private:
    template <class T>
    BudgetOptions& set(T& field, T value) {
        field = value;
        return *this;
    }
};

Precision parsePrecision(const std::string& s, const std::string& where);  // fp32|bf16|fp16 (float32, ...)
Optimizer parseOptimizer(const std::string& s, const std::string& where);  // adamw|adam|sgd|sgd-momentum
BaseQuant parseQuant(const std::string& s, const std::string& where);      // none|nf4|nf4-dq
Device parseDevice(const std::string& s, const std::string& where);        // cpu|cuda (cuda:N)
std::string toString(Precision p);
std::string toString(Optimizer o);
std::string toString(BaseQuant q);
std::string toString(Device d);
int bytesOf(Precision p);

struct MemoryParts {
    // Training.
    uint64_t weights = 0;                            // everything resident: frozen base + trainable
    uint64_t packedWeights = 0;                      // CPU bf16: oneDNN copies of frozen layer weights
    std::map<std::string, uint64_t> weightsByDtype;  // "fp32", "bf16", "nf4", "nf4_constants"
    uint64_t gradients = 0;
    uint64_t optimizerState = 0;
    uint64_t activations = 0;          // peak of what autograd keeps + the backward transient
    uint64_t activationLayers = 0;     // per-layer hidden-size tensors kept for backward
    uint64_t activationAttention = 0;  // [B,heads,T,T] attention matrices kept
    uint64_t activationLoss = 0;       // logits, fp32 log-probs, token ids
    uint64_t activationTransient = 0;  // the largest short-lived gradient set during backward
    uint64_t optimizerTransient = 0;   // the optimizer step's temporaries (base weights that train)
    // Activations and gradients never peak together (a layer's gradients appear as its kept
    // tensors are freed): the largest live set of the two during one step, <= their sum.
    uint64_t stepPeak = 0;
    // Peak memory of a training step: weights (and their packed copies) + optimizer state + stepPeak.
    uint64_t trainingTotal() const { return weights + packedWeights + optimizerState + stepPeak; }
    // Generation (not part of the training total).
    uint64_t kvCache = 0;          // keys and values for batch x generationContext
    uint64_t generationTotal = 0;  // weights + KV cache + one step's logits
};

struct Estimate {
    std::string peftType;
    std::string displayName;
    ParamReport params;
    MemoryParts memory;
    uint64_t adapterFileBytes = 0;  // adapter_model.safetensors (FULL: model.safetensors), exact
    uint64_t checkpointBytes = 0;   // a resumable training checkpoint: the adapter file + optimizer state
    uint64_t fullModelBytes = 0;    // a whole-model export (what full fine-tuning saves) in the base dtype
    double trainFlopsPerToken = 0;  // forward + backward, matmuls only (see budget.cpp)
    BudgetOptions options;
};

// One method (cfg = an adapter_config.json object, or null for full fine-tuning).
Estimate estimate(const ModelConfig& mc, const nlohmann::json& methodCfg, const BudgetOptions& opts = {});

// Wall time for `epochs` passes over `datasetTokens` at a measured `tokensPerSecond` (from a short
// calibration run or a past run's metrics). Throws PeftError for a non-positive throughput.
double estimateSeconds(double tokensPerSecond, int64_t datasetTokens, double epochs);

// The CLI's --json object: trainable_params, total_params, memory_bytes {total, parts...}, ...
nlohmann::json toJson(const Estimate& e);

// "1.23 GiB", "512 B".
std::string humanBytes(uint64_t b);
// "6.74B", "4.19M", "15.4K".
std::string humanCount(int64_t n);

}  // namespace peft::budget
