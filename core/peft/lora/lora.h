// LoRA (peft's LORA type): a low-rank update B@A scaled by alpha/r (or alpha/sqrt(r) with
// use_rslora) beside each targeted projection. Variants that change how the update is applied
// (DoRA: dora.cpp) plug in through LoraVariant, as peft's LoraVariant classes do.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "core/model/linear.h"
#include "core/peft/lora/lora_spec.h"

namespace peft {

class LoraLinear;

// What a variant changes in one LoRA layer: its extra trained tensors, its forward and its merge.
// Plain LoRA has no variant. A variant that only changes initialisation (PiSSA, OLoRA) needs none.
class LoraVariant {
public:
    virtual ~LoraVariant() = default;

    // An extra trained tensor: peft's in-memory part name ("lora_magnitude_vector"; trained key
    // "<module>.<part>.<adapter>.weight") and the saved key's suffix after the module path.
    struct Tensor {
        std::string part;
        std::string savedSuffix;
        torch::Tensor tensor;
    };
    virtual std::vector<Tensor> tensors() const = 0;

    // The layer's output from the base output and the LoRA branch `lora` = B(A(xin)) [..,out],
    // both from `xin`, the fp32 (dropped-out when `drop`) input.
    virtual torch::Tensor forward(const LoraLinear& l, const torch::Tensor& xin, const torch::Tensor& lora,
                                  const torch::Tensor& baseOut, LinearImpl& base, bool drop) = 0;
    // fp32 [out,in]: the merged weight from `w` and `delta` (= scaling * B@A), and back.
    virtual torch::Tensor merge(const torch::Tensor& w, const torch::Tensor& delta) = 0;
    virtual torch::Tensor unmerge(const torch::Tensor& w, const torch::Tensor& delta) = 0;
};

// One LoRA adapter on one projection. A [r,in], B [out,r], all fp32.
class LoraLinear : public LinearAdapter {
public:
    LoraLinear(int64_t in, int64_t out, int64_t r, double scaling, double dropout, LinearImpl& base,
               LoraInit init = LoraInit::Default);

    torch::Tensor transformOutput(const torch::Tensor& x, const torch::Tensor& baseOut, LinearImpl& base) override;
    torch::Tensor mergedWeight(const torch::Tensor& weight) override;
    torch::Tensor unmergedWeight(const torch::Tensor& weight) override;

    // scaling * B @ A as [out, in]
    torch::Tensor deltaWeight() const;

    torch::Tensor A, B;
    torch::Tensor Bbias;  // lora_bias: lora_B's own bias [out] (zeros at init), else undefined
    double scaling;
    double dropout;
    bool merged = false;
    std::unique_ptr<LoraVariant> variant;  // null for plain LoRA
};

// DoRA (dora.cpp): a trained magnitude per output row, initialised to the row norms of W + B@A.
std::unique_ptr<LoraVariant> makeDoraVariant(const LoraLinear& l, LinearImpl& base);

}  // namespace peft
