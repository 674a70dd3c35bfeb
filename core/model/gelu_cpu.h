// Fused CPU kernels for GELU (tanh approximation), forward and backward, on fp32 or bf16
// buffers with fp32 arithmetic: one pass over memory instead of the ~8 (forward) and ~12
// (backward) element-wise LibTorch ops the composed formula takes. No LibTorch here.
#pragma once
#include <cstdint>

namespace peft::kernels {

// y = x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3)  (== 0.5 x (1 + tanh u))
void geluTanhForward(const float* x, float* y, int64_t n);
void geluTanhForward(const uint16_t* xBf16, uint16_t* yBf16, int64_t n);
// gx = g * d/dx[gelu](x)
void geluTanhBackward(const float* x, const float* g, float* gx, int64_t n);
void geluTanhBackward(const uint16_t* xBf16, const uint16_t* gBf16, uint16_t* gxBf16, int64_t n);

}  // namespace peft::kernels
