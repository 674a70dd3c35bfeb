// Frozen bf16 weights pre-packed for oneDNN's matrix-product kernels (CPU only).
//
// LibTorch's bf16 `mm` hands oneDNN the weight in its plain layout on every call, and oneDNN
// re-blocks it into the layout its AMX / AVX-512 kernels read (a copy of the whole operand per
// product). A frozen weight never changes between steps, so it can be re-blocked once: measured on
// the 2-core AMX Xeon, a GPT-2 c_fc product (256x768 @ 768x3072) with a cold pre-packed weight took
// 1.83-1.91 ms against 2.38-2.48 ms in the plain layout (tests/bench/RESULTS.md).
//
// No torch headers here (one heavy translation unit fewer); the caller passes raw bf16 buffers.
// Built only where oneDNN's headers were found (PEFT_HAVE_DNNL); elsewhere `available()` is false
// and callers keep LibTorch's products.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace peft::kernels {

// Process-wide limit on the bytes held by packed copies (two per frozen weight: forward and
// input-gradient layouts). GPT-2 124M needs 324 MiB; past the limit layers keep LibTorch's products.
constexpr int64_t kPackedWeightCapBytes = int64_t{2} << 30;

// Whether pre-packed products can run in this build and on this CPU (bf16 matmul available).
bool dnnlAvailable();

// Products that ran on a packed copy (process-wide), for tests and diagnostics: a product whose row
// count wants another layout falls back to LibTorch and does not count.
int64_t packedProductCount();

// B[K,N] in bf16, re-blocked once for C[M,N] = A[M,K] @ B (+ bias) with A and C row-major, contiguous.
class PackedBf16Matrix {
public:
    // Bytes the packed copy of a K x N matrix needs; 0 where oneDNN is not available or has no
    // fast kernel for the shape (the caller keeps LibTorch's products).
    static size_t packedBytes(int64_t K, int64_t N);
    // Packs into `dst` (packedBytes(K, N) bytes, owned by the caller and kept alive as long as the
    // result). Element (k, n) of the source is src[k * strideK + n * strideN]. Null on failure.
    static std::shared_ptr<PackedBf16Matrix> pack(const uint16_t* src, int64_t K, int64_t N, int64_t strideK,
                                                  int64_t strideN, void* dst);
    virtual ~PackedBf16Matrix() = default;
    // C = A @ B. Returns false when no kernel takes this M (the caller falls back).
    virtual bool multiply(const uint16_t* a, int64_t M, uint16_t* c) = 0;
    // C = A @ B + bias (bias: N bf16 values added to every row in the kernel's epilogue, before the
    // one rounding to bf16, as LibTorch's addmm; cheaper than filling C with the bias rows and
    // accumulating into it).
    virtual bool multiplyBias(const uint16_t* a, int64_t M, const uint16_t* bias, uint16_t* c) = 0;
    virtual int64_t rows() const = 0;  // K
    virtual int64_t cols() const = 0;  // N
    virtual size_t bytes() const = 0;  // memory held by the packed copy
};

}  // namespace peft::kernels
