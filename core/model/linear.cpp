// Linear with adapter slots.
#include "core/model/linear.h"

#include <cstring>

namespace peft {

LinearImpl::LinearImpl(std::string path, int64_t in, int64_t out, bool hasBias, bool conv1d,
                       std::shared_ptr<AdapterState> state)
    : m_path(std::move(path)), m_in(in), m_out(out), m_conv1d(conv1d), m_state(std::move(state)) {
    weight = register_parameter("weight", conv1d ? torch::empty({in, out}) : torch::empty({out, in}), false);
    if (hasBias) bias = register_parameter("bias", torch::zeros({out}), false);
}

namespace {

// y = b + x2 @ w2 on CPU for a frozen bias: the output is filled with the bias rows by plain
// copies and the product accumulates into it in place (beta = 1, the same single rounding as
// addmm). Out-of-place addmm broadcasts the bias through LibTorch's strided copy first, which
// cost ~0.2 ms per GPT-2 layer product (11 ms of a 2x128 bf16 step). Undefined where it does
// not apply (the caller uses addmm).
torch::Tensor addmmFrozenBiasCpu(const torch::Tensor& bias, const torch::Tensor& x2, const torch::Tensor& w2) {
    if (!x2.is_cpu() || bias.requires_grad() || bias.scalar_type() != x2.scalar_type() || bias.dim() != 1 ||
        (x2.scalar_type() != torch::kBFloat16 && x2.scalar_type() != torch::kFloat32) || x2.size(0) == 0)
        return {};
    torch::Tensor b = bias.contiguous();
    const int64_t M = x2.size(0), N = w2.size(1);
    if (b.size(0) != N) return {};
    torch::Tensor y = torch::empty({M, N}, x2.options());
    const size_t rowBytes = static_cast<size_t>(N * y.element_size());
    const char* src = static_cast<const char*>(b.data_ptr());
    char* dst = static_cast<char*>(y.data_ptr());
    for (int64_t r = 0; r < M; ++r) std::memcpy(dst + r * rowBytes, src, rowBytes);
    return y.addmm_(x2, w2);
}

}  // namespace

torch::Tensor LinearImpl::baseForward(const torch::Tensor& x) {
    if (m_quant) {
        torch::Tensor w = m_quant->dequantize(x.scalar_type());  // [out,in]
        return torch::nn::functional::linear(x, w, bias.defined() ? bias.to(x.scalar_type()) : bias);
    }
    if (m_conv1d) {
        // Conv1D: y = x @ W[in,out] + b
        auto sizes = x.sizes().vec();
        torch::Tensor x2 = x.reshape({-1, m_in});
        torch::Tensor y;
        if (bias.defined()) y = addmmFrozenBiasCpu(bias, x2, weight);
        if (!y.defined()) y = bias.defined() ? torch::addmm(bias, x2, weight) : torch::mm(x2, weight);
        sizes.back() = m_out;
        return y.view(sizes);
    }
    return torch::nn::functional::linear(x, weight, bias);
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
    if (m_adapters.empty() || !m_state || !m_state->enabled) return baseForward(x);
    auto it = m_adapters.find(m_state->active);
    if (it == m_adapters.end()) return baseForward(x);
    torch::Tensor xin = it->second->transformInput(x);
    torch::Tensor y = baseForward(xin);
    return it->second->transformOutput(x, y, *this);
}

torch::Tensor LinearImpl::denseWeight() const {
    if (m_quant) return m_quant->dequantize(torch::kFloat32);
    return m_conv1d ? weight.t() : weight;
}

void LinearImpl::setDenseWeight(const torch::Tensor& w) {
    torch::NoGradGuard ng;
    if (m_quant) throw std::runtime_error(m_path + ": cannot merge into a quantised (NF4) weight; dequantise the base first");
    // Weights may be views on a read-only-in-spirit mapped file; assign a fresh tensor.
    torch::Tensor nw = (m_conv1d ? w.t() : w).contiguous().to(weight.scalar_type());
    weight.set_data(nw);
}

void LinearImpl::addAdapter(const std::string& name, std::shared_ptr<LinearAdapter> a) { m_adapters[name] = std::move(a); }
void LinearImpl::removeAdapter(const std::string& name) { m_adapters.erase(name); }
std::shared_ptr<LinearAdapter> LinearImpl::adapter(const std::string& name) const {
    auto it = m_adapters.find(name);
    return it == m_adapters.end() ? nullptr : it->second;
}

void LinearImpl::setQuantized(std::shared_ptr<QuantizedWeight> q) {
    m_quant = std::move(q);
    weight.set_data(torch::empty({0}, weight.options()));
}

int64_t LinearImpl::weightStorageBytes() const {
    if (m_quant) return m_quant->storageBytes();
    return weight.numel() * weight.element_size();
}

}  // namespace peft
