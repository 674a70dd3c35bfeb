// Fused causal softmax kernels (see softmax_cpu.h). Built at -O3 with AVX-512 / AVX2 clones
// (core/CMakeLists.txt, core/util/cpu_math.h).
#include "core/model/softmax_cpu.h"

#include <limits>
#include <vector>

#include "core/util/cpu_math.h"

namespace peft::kernels {

namespace {

constexpr int kLanes = 16;

// Row r sees keys [0, n), n = r % len + 1. The loops run over nb = n rounded up to whole blocks of
// kLanes keys (while that stays inside the row; otherwise a scalar tail does the rest), masking
// the keys past n; the max and the sums keep kLanes partial results, so that they vectorise
// (a single running sum is a serial chain the compiler must not reorder).
PEFT_INLINE int64_t blockedLength(int64_t n, int64_t len) {
    const int64_t rounded = (n + kLanes - 1) / kLanes * kLanes;
    return rounded <= len ? rounded : n / kLanes * kLanes;
}

template <class T>
PEFT_INLINE void forward(const T* s, T* p, int64_t rows, int64_t len, float scale, float* buf) {
    constexpr float kLowest = std::numeric_limits<float>::lowest();
    for (int64_t r = 0; r < rows; ++r) {
        const T* in = s + r * len;
        T* out = p + r * len;
        const int64_t n = r % len + 1;  // visible keys
        const int64_t nb = blockedLength(n, len);
        float acc[kLanes];
        for (float& a : acc) a = kLowest;
        for (int64_t b = 0; b < nb; b += kLanes)
            for (int k = 0; k < kLanes; ++k) {
                const float v = load(in, b + k) * scale;  // in the row: nb <= len
                const float x = b + k < n ? v : kLowest;
                buf[b + k] = x;
                acc[k] = x > acc[k] ? x : acc[k];
            }
        float m = acc[0];
        for (int k = 1; k < kLanes; ++k) m = acc[k] > m ? acc[k] : m;
        for (int64_t j = nb; j < n; ++j) {
            buf[j] = load(in, j) * scale;
            m = buf[j] > m ? buf[j] : m;
        }
        for (float& a : acc) a = 0.0f;
        for (int64_t b = 0; b < nb; b += kLanes)
            for (int k = 0; k < kLanes; ++k) {
                const float ev = expApprox(buf[b + k] - m);
                const float e = b + k < n ? ev : 0.0f;
                buf[b + k] = e;
                acc[k] += e;
            }
        float sum = 0.0f;
        for (float a : acc) sum += a;
        for (int64_t j = nb; j < n; ++j) {
            buf[j] = expApprox(buf[j] - m);
            sum += buf[j];
        }
        const float inv = 1.0f / sum;
        const int64_t end = nb > n ? nb : n;  // masked keys hold 0 in buf
        for (int64_t j = 0; j < end; ++j) store(out, j, buf[j] * inv);
        for (int64_t j = end; j < len; ++j) store(out, j, 0.0f);
    }
}

template <class T>
PEFT_INLINE void backward(const T* p, const T* g, T* gs, int64_t rows, int64_t len, float scale) {
    for (int64_t r = 0; r < rows; ++r) {
        const T* pr = p + r * len;
        const T* gr = g + r * len;
        T* out = gs + r * len;
        const int64_t n = r % len + 1;
        const int64_t nb = blockedLength(n, len);
        float acc[kLanes];
        for (float& a : acc) a = 0.0f;
        for (int64_t b = 0; b < nb; b += kLanes)
            for (int k = 0; k < kLanes; ++k) {
                const float d = load(gr, b + k) * load(pr, b + k);
                acc[k] += b + k < n ? d : 0.0f;
            }
        float dot = 0.0f;
        for (float a : acc) dot += a;
        for (int64_t j = nb; j < n; ++j) dot += load(gr, j) * load(pr, j);
        for (int64_t b = 0; b < nb; b += kLanes)
            for (int k = 0; k < kLanes; ++k) {
                const float d = scale * load(pr, b + k) * (load(gr, b + k) - dot);
                store(out, b + k, b + k < n ? d : 0.0f);
            }
        for (int64_t j = nb; j < n; ++j) store(out, j, scale * load(pr, j) * (load(gr, j) - dot));
        for (int64_t j = nb > n ? nb : n; j < len; ++j) store(out, j, 0.0f);
    }
}

}  // namespace

PEFT_CLONES void causalSoftmaxForward(const float* s, float* p, int64_t rows, int64_t T, float scale) {
    std::vector<float> buf(static_cast<size_t>(T));
    forward(s, p, rows, T, scale, buf.data());
}
PEFT_CLONES void causalSoftmaxForward(const uint16_t* s, uint16_t* p, int64_t rows, int64_t T, float scale) {
    std::vector<float> buf(static_cast<size_t>(T));
    forward(s, p, rows, T, scale, buf.data());
}
PEFT_CLONES void causalSoftmaxBackward(const float* p, const float* g, float* gs, int64_t rows, int64_t T,
                                       float scale) {
    backward(p, g, gs, rows, T, scale);
}
PEFT_CLONES void causalSoftmaxBackward(const uint16_t* p, const uint16_t* g, uint16_t* gs, int64_t rows, int64_t T,
                                       float scale) {
    backward(p, g, gs, rows, T, scale);
}

}  // namespace peft::kernels
