// Fused CPU cross-entropy kernels (see lm_loss_cpu.h). Built at -O3 with AVX-512 / AVX2 clones
// (core/CMakeLists.txt, core/util/cpu_math.h).
#include "core/train/lm_loss_cpu.h"

#include <cmath>
#include <limits>
#include <vector>

#include "core/util/cpu_math.h"

namespace peft::kernels {

namespace {

constexpr int kLanes = 16;  // independent accumulators: the reductions vectorise

template <class T>
PEFT_INLINE void rows(T* z, int64_t V, int64_t j0, int64_t j1, const int32_t* target, float* loss, bool grad,
                      float scale) {
    for (int64_t j = j0; j < j1; ++j) {
        T* row = z + j * V;
        const float zt = load(row, target[j]);
        float acc[kLanes];
        for (float& a : acc) a = std::numeric_limits<float>::lowest();
        int64_t v = 0;
        for (; v + kLanes <= V; v += kLanes)
            for (int k = 0; k < kLanes; ++k) {
                const float x = load(row, v + k);
                acc[k] = x > acc[k] ? x : acc[k];
            }
        float m = acc[0];
        for (int k = 1; k < kLanes; ++k) m = acc[k] > m ? acc[k] : m;
        for (; v < V; ++v) m = load(row, v) > m ? load(row, v) : m;
        for (float& a : acc) a = 0.0f;
        for (v = 0; v + kLanes <= V; v += kLanes)
            for (int k = 0; k < kLanes; ++k) acc[k] += expApprox(load(row, v + k) - m);
        float s = 0.0f;
        for (float a : acc) s += a;
        for (; v < V; ++v) s += expApprox(load(row, v) - m);
        loss[j - j0] = m + std::log(s) - zt;
        if (!grad) continue;
        const float inv = scale / s;
        for (v = 0; v < V; ++v) store(row, v, expApprox(load(row, v) - m) * inv);
        store(row, target[j], load(row, target[j]) - scale);
    }
}

template <class T>
PEFT_INLINE void cols(T* z, int64_t V, int64_t ld, int64_t j0, int64_t j1, int64_t padEnd, const int32_t* target,
                      float* loss, bool grad, float scale) {
    // The loops run over nc columns: the tokens, rounded up to whole vectors where the caller
    // gave scratch columns for it (a scalar tail of n % 16 columns cost as much as the rest).
    const int64_t n = j1 - j0, rounded = (n + kLanes - 1) / kLanes * kLanes;
    const int64_t nc = padEnd >= j0 + rounded ? rounded : n;
    std::vector<float> mv(static_cast<size_t>(nc), std::numeric_limits<float>::lowest()),
        sv(static_cast<size_t>(nc), 0.0f);
    float* m = mv.data();
    float* s = sv.data();
    for (int64_t v = 0; v < V; ++v) {
        const T* row = z + v * ld + j0;
        for (int64_t j = 0; j < nc; ++j) {
            const float x = load(row, j);
            m[j] = x > m[j] ? x : m[j];
        }
    }
    for (int64_t v = 0; v < V; ++v) {
        const T* row = z + v * ld + j0;
        for (int64_t j = 0; j < nc; ++j) s[j] += expApprox(load(row, j) - m[j]);
    }
    for (int64_t j = 0; j < n; ++j) loss[j] = m[j] + std::log(s[j]) - load(z, target[j0 + j] * ld + j0 + j);
    if (!grad) return;
    for (int64_t j = 0; j < nc; ++j) s[j] = scale / s[j];
    for (int64_t v = 0; v < V; ++v) {
        T* row = z + v * ld + j0;
        for (int64_t j = 0; j < nc; ++j) store(row, j, expApprox(load(row, j) - m[j]) * s[j]);
    }
    for (int64_t j = j0; j < j1; ++j) store(z, target[j] * ld + j, load(z, target[j] * ld + j) - scale);
}

}  // namespace

PEFT_CLONES void crossEntropyRows(float* z, int64_t V, int64_t j0, int64_t j1, const int32_t* target, float* loss,
                                  bool grad, float scale) {
    rows(z, V, j0, j1, target, loss, grad, scale);
}
PEFT_CLONES void crossEntropyRows(uint16_t* z, int64_t V, int64_t j0, int64_t j1, const int32_t* target, float* loss,
                                  bool grad, float scale) {
    rows(z, V, j0, j1, target, loss, grad, scale);
}
PEFT_CLONES void crossEntropyCols(float* zT, int64_t V, int64_t ld, int64_t j0, int64_t j1, const int32_t* target,
                                  float* loss, bool grad, float scale, int64_t padEnd) {
    cols(zT, V, ld, j0, j1, padEnd, target, loss, grad, scale);
}
PEFT_CLONES void crossEntropyCols(uint16_t* zT, int64_t V, int64_t ld, int64_t j0, int64_t j1, const int32_t* target,
                                  float* loss, bool grad, float scale, int64_t padEnd) {
    cols(zT, V, ld, j0, j1, padEnd, target, loss, grad, scale);
}

}  // namespace peft::kernels
