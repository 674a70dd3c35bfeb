// Fused CPU kernels for causal attention probabilities: scale, causal mask and softmax in one
// pass (forward), and the softmax gradient times the scale (backward). fp32 arithmetic on fp32
// or bf16 (uint16_t) buffers. No LibTorch here.
#pragma once
#include <cstdint>

namespace peft::kernels {

// scores/probs: `rows` rows of T keys each; row r is query r % T and sees keys 0..r % T.
// probs = softmax(scale * scores) over the visible keys, 0 elsewhere.
void causalSoftmaxForward(const float* scores, float* probs, int64_t rows, int64_t T, float scale);
void causalSoftmaxForward(const uint16_t* scores, uint16_t* probs, int64_t rows, int64_t T, float scale);
// gradScores = scale * probs * (gradProbs - sum(gradProbs * probs)) over the visible keys, 0 elsewhere.
void causalSoftmaxBackward(const float* probs, const float* gradProbs, float* gradScores, int64_t rows, int64_t T,
                           float scale);
void causalSoftmaxBackward(const uint16_t* probs, const uint16_t* gradProbs, uint16_t* gradScores, int64_t rows,
                           int64_t T, float scale);

}  // namespace peft::kernels
