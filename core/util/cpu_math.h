// Inline scalar helpers for hand-written CPU kernels (gelu_cpu.cpp, lm_loss_cpu.cpp): written
// so that loops calling them vectorise (no calls, no branches). Include only in kernel files
// built with -O3 -fno-trapping-math (core/CMakeLists.txt). No LibTorch here.
#pragma once
#include <cstdint>
#include <cstring>

#define PEFT_INLINE __attribute__((always_inline)) inline

// AVX-512 / AVX2+FMA / baseline clones of a kernel, picked at load time by CPU features (not by
// CPU model: newer Xeons are not "skylake-avx512" to GCC's resolver).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define PEFT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define PEFT_CLONES
#endif

namespace peft::kernels {

// exp(x) for x clamped to [-80, 80] (results stay normal floats: no slow denormal arithmetic):
// 2^n * e^r, |r| <= ln2/2, degree-6 Taylor polynomial (relative error below 2e-7, about 1-2 ulp),
// exponent built in the bits.
PEFT_INLINE float expApprox(float x) {
    x = x < -80.0f ? -80.0f : (x > 80.0f ? 80.0f : x);
    // Round to nearest by adding and removing 1.5 * 2^23 (no floor: plain SSE2 vectorises it).
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693145751953125f;   // ln2 split in a high part exact in float ...
    r = r - n * 1.428606765330187045e-06f;  // ... and the rest
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    // A NaN input gives a NaN polynomial (propagated, so NaN losses are still caught); its exponent
    // is taken as 0 so the float-to-int conversion and the shift stay defined (UBSan found this).
    const float ne = n == n ? n : 0.0f;
    const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(ne) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

PEFT_INLINE float sigmoidApprox(float v) { return 1.0f / (1.0f + expApprox(-v)); }

PEFT_INLINE float bf16ToFloat(uint16_t h) {
    const uint32_t bits = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

// Round to nearest even, as LibTorch's conversion; NaN stays NaN.
PEFT_INLINE uint16_t floatToBf16(float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    const uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
    return static_cast<uint16_t>((bits & 0x7FFFFFFFu) > 0x7F800000u ? 0x7FC0u : rounded);
}

// Storage <-> fp32 for kernels templated on float / bf16 (uint16_t) buffers.
PEFT_INLINE float load(const float* p, int64_t i) { return p[i]; }
PEFT_INLINE float load(const uint16_t* p, int64_t i) { return bf16ToFloat(p[i]); }
PEFT_INLINE void store(float* p, int64_t i, float v) { p[i] = v; }
PEFT_INLINE void store(uint16_t* p, int64_t i, float v) { p[i] = floatToBf16(v); }

}  // namespace peft::kernels
