// Fused GELU-tanh kernels (see gelu_cpu.h). Plain loops the compiler vectorises; built at -O3
// (core/CMakeLists.txt), with AVX-512 / AVX2 clones (cpu_math.h).
#include "core/model/gelu_cpu.h"

#include "core/util/cpu_math.h"

namespace peft::kernels {

namespace {

constexpr float kA = 1.5957691216057308f;  // 2 sqrt(2/pi)
constexpr float kB = kA * 0.044715f;

PEFT_INLINE float geluF(float x) { return x * sigmoidApprox(x * (x * x * kB + kA)); }

PEFT_INLINE float geluGradF(float x, float g) {
    const float x2 = x * x;
    const float s = sigmoidApprox(x * (x2 * kB + kA));
    // d/dx x s(v), v = x (kA + kB x^2): s + x s (1 - s) (kA + 3 kB x^2)
    return g * (s + x * s * (1.0f - s) * (x2 * (3.0f * kB) + kA));
}

}  // namespace

PEFT_CLONES void geluTanhForward(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = geluF(x[i]);
}

PEFT_CLONES void geluTanhForward(const uint16_t* x, uint16_t* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] = floatToBf16(geluF(bf16ToFloat(x[i])));
}

PEFT_CLONES void geluTanhBackward(const float* x, const float* g, float* gx, int64_t n) {
    for (int64_t i = 0; i < n; ++i) gx[i] = geluGradF(x[i], g[i]);
}

PEFT_CLONES void geluTanhBackward(const uint16_t* x, const uint16_t* g, uint16_t* gx, int64_t n) {
    for (int64_t i = 0; i < n; ++i) gx[i] = floatToBf16(geluGradF(bf16ToFloat(x[i]), bf16ToFloat(g[i])));
}

}  // namespace peft::kernels
