// fp16/bf16 rounding and Q8_0 blocks, written from the IEEE 754 encodings and ggml's block
// layout (uint16 scale, then 32 int8).
#include "core/export/gguf_quant.h"

#include <cmath>
#include <cstring>

namespace peft::gguf {

namespace {
uint32_t bitsOf(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}
float floatOf(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
}  // namespace

uint16_t fp32ToFp16(float f) {
    const uint32_t x = bitsOf(f);
    const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return sign | 0x7e00u;   // NaN stays a (quiet) NaN
    if (ax >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds past the largest half: inf
    const uint32_t exp = ax >> 23;
    if (exp < 113) {
        // Below 2^-14: a half subnormal, k * 2^-24. value = m * 2^(exp-150), so k = m >> (126-exp).
        if (exp < 102) return sign;  // under 2^-25: rounds to zero
        const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126 - exp;
        uint32_t k = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (k & 1))) ++k;  // a carry into 0x400 is the smallest normal
        return sign | static_cast<uint16_t>(k);
    }
    // Normal: rebias the exponent (127 -> 15) and round 23 mantissa bits to 10, ties to even.
    const uint32_t r = ax - (112u << 23);
    return sign | static_cast<uint16_t>((r + 0xfffu + ((r >> 13) & 1u)) >> 13);
}

float fp16ToFp32(uint16_t h) {
    const uint32_t sign = (h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ffu;
    if (exp == 0) {
        float v = std::ldexp(static_cast<float>(man), -24);
        return sign ? -v : v;
    }
    if (exp == 31) return floatOf(sign | 0x7f800000u | (man << 13));
    return floatOf(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t fp32ToBf16(float f) {
    uint32_t x = bitsOf(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40);  // quiet NaN
    return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

void quantizeQ8_0(const float* x, int64_t n, uint8_t* out) {
    for (int64_t b = 0; b < n / kQ8Block; ++b, x += kQ8Block, out += kQ8BlockBytes) {
        float amax = 0.0f;
        for (int j = 0; j < kQ8Block; ++j) amax = std::fmax(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        // ggml multiplies by the float reciprocal (not a division per element); the rounding
        // of x * (1/d) can differ from x / d in the last place, so do exactly the same.
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t dh = fp32ToFp16(d);
        std::memcpy(out, &dh, 2);
        for (int j = 0; j < kQ8Block; ++j) {
            const float q = std::round(x[j] * id);
            out[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(q));
        }
    }
}

void convertRow(const float* x, int64_t n, TensorType type, uint8_t* out) {
    switch (type) {
        case TensorType::F32: std::memcpy(out, x, 4 * n); return;
        case TensorType::F16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h = fp32ToFp16(x[i]);
                std::memcpy(out + 2 * i, &h, 2);
            }
            return;
        case TensorType::BF16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h = fp32ToBf16(x[i]);
                std::memcpy(out + 2 * i, &h, 2);
            }
            return;
        case TensorType::Q8_0: quantizeQ8_0(x, n, out); return;
    }
}

}  // namespace peft::gguf
