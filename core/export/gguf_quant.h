// Element conversions for GGUF tensor data: fp32 -> fp16 / bf16 (round to nearest even) and the
// Q8_0 block quantiser, bit-exact with ggml's reference (quantize_row_q8_0_ref). No torch.
#pragma once
#include <cstdint>
#include <string>

#include "core/export/gguf_writer.h"

namespace peft::gguf {

uint16_t fp32ToFp16(float f);
float fp16ToFp32(uint16_t h);
uint16_t fp32ToBf16(float f);

// One Q8_0 block: fp16 scale d = max|x| / 127, then 32 int8 q = round(x / d) (half away from
// zero, as roundf). 34 bytes.
constexpr int kQ8Block = 32;
constexpr int kQ8BlockBytes = 34;
void quantizeQ8_0(const float* x, int64_t n, uint8_t* out);  // n % 32 == 0

// Converts `n` fp32 values to `type` into `out` (rowBytes(type, n) bytes).
void convertRow(const float* x, int64_t n, TensorType type, uint8_t* out);

}  // namespace peft::gguf
