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

}  // namespace peft
