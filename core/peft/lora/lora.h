// LoRA and DoRA (peft's LORA type): a low-rank update B@A scaled by alpha/r (or alpha/sqrt(r)
// with use_rslora) beside each targeted projection; DoRA adds a per-output magnitude vector.
#pragma once
#include <torch/torch.h>

#include "core/model/linear.h"

namespace peft {

// One LoRA/DoRA adapter on one projection. A [r,in], B [out,r], magnitude [out] (DoRA), all fp32.
class LoraLinear : public LinearAdapter {
public:
    LoraLinear(int64_t in, int64_t out, int64_t r, double scaling, double dropout, bool dora, LinearImpl& base);

    torch::Tensor transformOutput(const torch::Tensor& x, const torch::Tensor& baseOut, LinearImpl& base) override;
    torch::Tensor mergedWeight(const torch::Tensor& weight) override;
    torch::Tensor unmergedWeight(const torch::Tensor& weight) override;

    // scaling * B @ A as [out, in]
    torch::Tensor deltaWeight() const;
    // DoRA: the row norm of W + scaling * B@A, as peft's get_weight_norm. [out]
    torch::Tensor weightNorm(const torch::Tensor& weight, const torch::Tensor& loraWeight, double scaling) const;

    torch::Tensor A, B, magnitude;
    torch::Tensor Bbias;  // lora_bias: lora_B's own bias [out] (zeros at init), else undefined
    double scaling;
    double dropout;
    bool dora;
    bool merged = false;

private:
    torch::Tensor m_doraFactor;  // cached at merge for unmerge, [out]
};

}  // namespace peft
