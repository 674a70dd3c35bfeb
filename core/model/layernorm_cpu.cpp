// Fused bf16 LayerNorm kernels (see layernorm_cpu.h). Built at -O3 with AVX-512 / AVX2 clones
// (core/CMakeLists.txt, core/util/cpu_math.h). The row sums keep kLanes partial results so that
// they vectorise; the rows are re-read from cache rather than kept in a buffer.
#include "core/model/layernorm_cpu.h"

#include <cmath>

#include "core/util/cpu_math.h"

namespace peft::kernels {

namespace {

constexpr int kLanes = 16;

PEFT_INLINE float sumLanes(const float* acc) {
    float s = 0.0f;
    for (int k = 0; k < kLanes; ++k) s += acc[k];
    return s;
}

}  // namespace

PEFT_CLONES void layerNormForward(const uint16_t* x, const float* w, const float* b, uint16_t* y, float* mean,
                                  float* rstd, int64_t rows, int64_t C, float eps) {
    const int64_t cb = C / kLanes * kLanes;
    for (int64_t r = 0; r < rows; ++r) {
        const uint16_t* xr = x + r * C;
        uint16_t* yr = y + r * C;
        float acc[kLanes] = {};
        for (int64_t c = 0; c < cb; c += kLanes)
            for (int k = 0; k < kLanes; ++k) acc[k] += load(xr, c + k);
        float s = sumLanes(acc);
        for (int64_t c = cb; c < C; ++c) s += load(xr, c);
        const float mu = s / static_cast<float>(C);
        for (float& a : acc) a = 0.0f;
        for (int64_t c = 0; c < cb; c += kLanes)
            for (int k = 0; k < kLanes; ++k) {
                const float d = load(xr, c + k) - mu;
                acc[k] += d * d;
            }
        float q = sumLanes(acc);
        for (int64_t c = cb; c < C; ++c) {
            const float d = load(xr, c) - mu;
            q += d * d;
        }
        const float rs = 1.0f / std::sqrt(q / static_cast<float>(C) + eps);
        mean[r] = mu;
        rstd[r] = rs;
        for (int64_t c = 0; c < C; ++c) store(yr, c, (load(xr, c) - mu) * rs * w[c] + b[c]);
    }
}

PEFT_CLONES void layerNormBackward(const uint16_t* x, const uint16_t* g, const float* w, const float* mean,
                                   const float* rstd, uint16_t* gx, int64_t rows, int64_t C) {
    const int64_t cb = C / kLanes * kLanes;
    for (int64_t r = 0; r < rows; ++r) {
        const uint16_t* xr = x + r * C;
        const uint16_t* gr = g + r * C;
        uint16_t* out = gx + r * C;
        const float mu = mean[r], rs = rstd[r];
        float a1[kLanes] = {}, a2[kLanes] = {};
        for (int64_t c = 0; c < cb; c += kLanes)
            for (int k = 0; k < kLanes; ++k) {
                const float gw = load(gr, c + k) * w[c + k];
                a1[k] += gw;
                a2[k] += gw * ((load(xr, c + k) - mu) * rs);
            }
        float s1 = sumLanes(a1), s2 = sumLanes(a2);
        for (int64_t c = cb; c < C; ++c) {
            const float gw = load(gr, c) * w[c];
            s1 += gw;
            s2 += gw * ((load(xr, c) - mu) * rs);
        }
        const float m1 = s1 / static_cast<float>(C), m2 = s2 / static_cast<float>(C);
        for (int64_t c = 0; c < C; ++c) {
            const float xhat = (load(xr, c) - mu) * rs;
            store(out, c, rs * (load(gr, c) * w[c] - m1 - xhat * m2));
        }
    }
}

}  // namespace peft::kernels
