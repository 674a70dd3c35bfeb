// DoRA as a LoRA variant (peft's DoraLinearVariant / DoraLinearLayer): the weight is split into a
// trained magnitude per output row and a direction that LoRA updates.
#include "core/peft/lora/lora.h"

namespace peft {

namespace {

// The row norm of W + s * loraWeight, as peft's get_weight_norm. [out,in] -> [out]
torch::Tensor weightNorm(const torch::Tensor& weight, const torch::Tensor& loraWeight, double s) {
    return torch::linalg_vector_norm(weight + s * loraWeight, 2, {1});
}

class DoraVariant : public LoraVariant {
public:
    DoraVariant(const LoraLinear& l, LinearImpl& base) {
        torch::NoGradGuard ng;
        torch::Tensor w = base.denseWeight().to(torch::kFloat32);
        m_magnitude = weightNorm(w, l.deltaWeight() / l.scaling, l.scaling).clone().set_requires_grad(true);
    }

    // peft saves the magnitude without its ".weight" leaf.
    std::vector<Tensor> tensors() const override {
        return {{"lora_magnitude_vector", ".lora_magnitude_vector", m_magnitude}};
    }

    torch::Tensor forward(const LoraLinear& l, const torch::Tensor& xin, const torch::Tensor& lora,
                          const torch::Tensor& baseOut, LinearImpl& base, bool drop) override {
        // The weight norm is detached so it acts as a constant, as in peft.
        torch::Tensor w = base.denseWeight().to(l.A.scalar_type());  // [out,in]
        torch::Tensor loraW = torch::mm(l.B, l.A);
        torch::Tensor norm = weightNorm(w, loraW.detach(), l.scaling).detach();
        torch::Tensor magScale = (m_magnitude / norm).view({1, -1});  // [1,out]
        torch::Tensor baseResult;
        if (!drop) {
            baseResult = baseOut.to(l.A.scalar_type());
            if (base.bias.defined()) baseResult = baseResult - base.bias.to(l.A.scalar_type());
        } else {
            baseResult = torch::nn::functional::linear(xin, w);  // the base on the dropped-out input
        }
        torch::Tensor doraOut = (magScale - 1) * baseResult + magScale * lora * l.scaling;
        return baseOut + doraOut.to(baseOut.scalar_type());
    }

    torch::Tensor merge(const torch::Tensor& w, const torch::Tensor& delta) override {
        m_factor = m_magnitude.detach() / weightNorm(w, delta, 1.0);  // [out], kept for unmerge
        return m_factor.view({-1, 1}) * (w + delta);
    }
    torch::Tensor unmerge(const torch::Tensor& w, const torch::Tensor& delta) override {
        return w / m_factor.view({-1, 1}) - delta;
    }

private:
    torch::Tensor m_magnitude;  // [out]
    torch::Tensor m_factor;     // magnitude / norm at merge time [out]
};

}  // namespace

std::unique_ptr<LoraVariant> makeDoraVariant(const LoraLinear& l, LinearImpl& base) {
    return std::make_unique<DoraVariant>(l, base);
}

}  // namespace peft
