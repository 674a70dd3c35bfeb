// Fused CPU LayerNorm kernels for bf16 activations with fp32 arithmetic: one read of the bf16
// rows and one bf16 write, instead of a cast to fp32, LibTorch's fp32 LayerNorm (which saves
// its fp32 input) and a cast back; the backward forms the input gradient in one pass too.
// The affine weight and bias are fp32 and not differentiated here. No LibTorch here.
#pragma once
#include <cstdint>

namespace peft::kernels {

// rows x C: y = (x - mean) * rstd * w + b per row; mean and rstd (1 / sqrt(var + eps), biased
// variance) are written per row for the backward.
void layerNormForward(const uint16_t* xBf16, const float* w, const float* b, uint16_t* yBf16, float* mean, float* rstd,
                      int64_t rows, int64_t C, float eps);
// gx = rstd * (g w - mean(g w) - xhat * mean(g w xhat)), xhat = (x - mean) * rstd, per row.
void layerNormBackward(const uint16_t* xBf16, const uint16_t* gBf16, const float* w, const float* mean,
                       const float* rstd, uint16_t* gxBf16, int64_t rows, int64_t C);

}  // namespace peft::kernels
