// The causal-LM head and cross-entropy, computed in row chunks so the [tokens, vocabulary]
// logits never exist whole: only labelled rows go through the head, each chunk's gradient is
// formed in place (softmax minus one-hot) and pushed back into the hidden states in one call.
#pragma once
#include <torch/torch.h>

#include "core/model/causal_lm.h"

namespace peft {

struct LmLoss {
    torch::Tensor sum;  // scalar fp32: summed cross-entropy over the counted labels (no grad)
    int64_t count = 0;  // labels that counted
};

// hidden [B,T,C] from model.hiddenStates(); labels [B,T] with -100 where no loss is taken
// (transformers' shift: position t predicts labels[t+1]). When `backward` is true and hidden
// requires grad, back-propagates sum * gradScale into the model (adapter gradients accumulate,
// as loss.backward() would). `chunkRows` <= 0 picks a size: on CPU (fp32, bf16) each chunk's
// logits stay within 64 MiB in the head's dtype and go through a fused loss/gradient kernel
// (lm_loss_cpu.h); elsewhere each chunk's fp32 logits stay near 16 MiB (256 MiB on CUDA).
LmLoss lmLossChunked(CausalLMImpl& model, const torch::Tensor& hidden, const torch::Tensor& labels, bool backward,
                     double gradScale = 1.0, int64_t chunkRows = 0);

// Number of labels [B,T] that count after the causal shift.
int64_t countTargetTokens(const torch::Tensor& labels);

// Labels [B,T] widened with ignored positions in front to the hidden states' length [B,T+P]
// (prompt tuning prepends P virtual positions, which carry no labels).
torch::Tensor alignLabels(const torch::Tensor& hidden, const torch::Tensor& labels);

struct SequenceLogps {
    torch::Tensor logps;   // [S] fp32: each sequence's log-probability summed over its counted labels
    torch::Tensor tokens;  // [S] fp32: how many labels counted
};

// Per-sequence log-probabilities (preference objectives): hidden [S,T,C], labels [S,T] with the
// causal shift of lmLossChunked. Differentiable w.r.t. hidden (and a trainable head) when grad
// mode is on; the head runs in the same row chunks as the loss, and the [N,V] logits are not
// kept for backward unless the head itself trains.
SequenceLogps sequenceLogps(CausalLMImpl& model, const torch::Tensor& hidden, const torch::Tensor& labels);

}  // namespace peft
