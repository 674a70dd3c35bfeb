// Row-chunk size of the chunked causal-LM head + loss (lm_loss.cpp), without torch, so the
// budget's memory model (core/budget) and the trainer use the one rule.
#pragma once
#include <algorithm>
#include <cstdint>

namespace peft {

// Rows of [rows, vocab] fp32 logits formed at once: ~16 MiB of them for non-fp32 compute on CPU
// (small buffers stay in the allocator's heap and cache), ~256 MiB otherwise (fp32 on CPU: one
// large BLAS product beats several thin ones; GPUs: fewer, larger products). At least 64 rows,
// at most `rows`.
inline int64_t lmLossChunkRows(int64_t vocab, int64_t rows, bool fp32Compute, bool cuda) {
    const bool thin = !cuda && !fp32Compute;
    const int64_t budget = thin ? (int64_t{16} << 20) : (int64_t{256} << 20);
    const int64_t r = std::max<int64_t>(64, budget / (std::max<int64_t>(1, vocab) * 4));
    return std::max<int64_t>(0, std::min(r, rows));
}

}  // namespace peft
