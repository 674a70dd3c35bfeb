// QLoRA's base: frozen linear weights stored as 4-bit NormalFloat (NF4), block-wise absmax
// quantised (64 weights per block), optionally with the absmax constants double-quantised to
// 8 bits (256 per block), and dequantised on the fly in the forward pass.
#pragma once
#include <torch/torch.h>

#include "core/model/causal_lm.h"
#include "core/model/linear.h"

namespace peft {

// The 16 NF4 levels (quantiles of N(0,1) scaled to [-1, 1], with an exact zero), as bitsandbytes.
const std::array<float, 16>& nf4CodeBook();

class Nf4Weight : public QuantizedWeight {
public:
    static constexpr int64_t kBlock = 64;
    static constexpr int64_t kAbsmaxBlock = 256;

    // weight: dense [out, in]
    Nf4Weight(const torch::Tensor& weight, bool doubleQuant);
    torch::Tensor dequantize(torch::Dtype dtype) const override;  // [out, in]
    int64_t storageBytes() const override;

private:
    std::vector<int64_t> m_shape;
    int64_t m_numel = 0;
    torch::Tensor m_packed;        // uint8 [ceil(numel/2)], two 4-bit codes per byte (high nibble first)
    torch::Tensor m_absmax;        // fp32 [blocks] (no double quant)
    torch::Tensor m_absmaxQ;       // uint8 [blocks] (double quant)
    torch::Tensor m_absmaxScale;   // fp32 [ceil(blocks/256)]
    torch::Tensor m_absmaxOffset;  // fp32 scalar: mean subtracted before quantising absmax
};

struct QuantizeReport {
    int64_t params = 0;       // weights quantised
    int64_t bytesBefore = 0;  // their dense storage
    int64_t bytesAfter = 0;   // NF4 storage
    double bytesPerParam() const { return params ? static_cast<double>(bytesAfter) / static_cast<double>(params) : 0; }
};

// Replaces every decoder projection's weight by NF4 (embeddings, norms and the head stay dense,
// as bitsandbytes leaves them). Call before attaching LoRA; the adapter saves as ordinary LoRA.
QuantizeReport quantizeBaseNf4(CausalLMImpl& model, bool doubleQuant = true);

}  // namespace peft
