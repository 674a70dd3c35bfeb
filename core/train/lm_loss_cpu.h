// Fused CPU cross-entropy over a chunk of logits (see lm_loss.cpp): per token the max, the
// exp-sum and the loss, and, for training, the logits overwritten in place by the gradient
// scale * (softmax - onehot(target)). fp32 arithmetic on fp32 or bf16 (uint16_t) buffers; two
// reads and one write of the buffer instead of the ~8 passes (and an fp32 copy) that the same
// steps take as LibTorch ops. No LibTorch here.
#pragma once
#include <cstdint>

namespace peft::kernels {

// Token-major logits z[j * V + v], tokens j in [j0, j1). loss[j - j0] receives each token's loss.
void crossEntropyRows(float* z, int64_t V, int64_t j0, int64_t j1, const int32_t* target, float* loss, bool grad,
                      float scale);
void crossEntropyRows(uint16_t* z, int64_t V, int64_t j0, int64_t j1, const int32_t* target, float* loss, bool grad,
                      float scale);
// Vocabulary-major logits zT[v * ld + j] (the product W h^T), tokens j in [j0, j1). Columns
// [j1, padEnd) (padEnd <= ld) are scratch: the kernel may overwrite them to keep its loops a whole
// number of vectors; a column's values never affect another column. padEnd <= j1: no scratch.
void crossEntropyCols(float* zT, int64_t V, int64_t ld, int64_t j0, int64_t j1, const int32_t* target, float* loss,
                      bool grad, float scale, int64_t padEnd = 0);
void crossEntropyCols(uint16_t* zT, int64_t V, int64_t ld, int64_t j0, int64_t j1, const int32_t* target, float* loss,
                      bool grad, float scale, int64_t padEnd = 0);

}  // namespace peft::kernels
