// Fused causal softmax kernels (see softmax_cpu.h). Built at -O3 with AVX-512 / AVX2 clones
// (core/CMakeLists.txt, core/util/cpu_math.h).
#include "core/model/softmax_cpu.h"

#include <limits>

#include "core/util/cpu_math.h"

namespace peft::kernels {

namespace {

template <class T>
PEFT_INLINE void forward(const T* s, T* p, int64_t rows, int64_t len, float scale) {
    for (int64_t r = 0; r < rows; ++r) {
        const T* in = s + r * len;
        T* out = p + r * len;
        const int64_t n = r % len + 1;  // visible keys
        float m = std::numeric_limits<float>::lowest();
        for (int64_t j = 0; j < n; ++j) {
            const float x = load(in, j) * scale;
            m = x > m ? x : m;
        }
        float sum = 0.0f;
        for (int64_t j = 0; j < n; ++j) sum += expApprox(load(in, j) * scale - m);
        const float inv = 1.0f / sum;
        for (int64_t j = 0; j < n; ++j) store(out, j, expApprox(load(in, j) * scale - m) * inv);
        for (int64_t j = n; j < len; ++j) store(out, j, 0.0f);
    }
}

template <class T>
PEFT_INLINE void backward(const T* p, const T* g, T* gs, int64_t rows, int64_t len, float scale) {
    for (int64_t r = 0; r < rows; ++r) {
        const T* pr = p + r * len;
        const T* gr = g + r * len;
        T* out = gs + r * len;
        const int64_t n = r % len + 1;
        float dot = 0.0f;
        for (int64_t j = 0; j < n; ++j) dot += load(gr, j) * load(pr, j);
        for (int64_t j = 0; j < n; ++j) store(out, j, scale * load(pr, j) * (load(gr, j) - dot));
        for (int64_t j = n; j < len; ++j) store(out, j, 0.0f);
    }
}

}  // namespace

PEFT_CLONES void causalSoftmaxForward(const float* s, float* p, int64_t rows, int64_t T, float scale) {
    forward(s, p, rows, T, scale);
}
PEFT_CLONES void causalSoftmaxForward(const uint16_t* s, uint16_t* p, int64_t rows, int64_t T, float scale) {
    forward(s, p, rows, T, scale);
}
PEFT_CLONES void causalSoftmaxBackward(const float* p, const float* g, float* gs, int64_t rows, int64_t T, float scale) {
    backward(p, g, gs, rows, T, scale);
}
PEFT_CLONES void causalSoftmaxBackward(const uint16_t* p, const uint16_t* g, uint16_t* gs, int64_t rows, int64_t T,
                                       float scale) {
    backward(p, g, gs, rows, T, scale);
}

}  // namespace peft::kernels
