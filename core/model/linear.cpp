// Linear with adapter slots.
#include "core/model/linear.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <spdlog/spdlog.h>

#include "core/model/dnnl_cpu.h"
#include "core/model/packed_weights.h"

namespace peft {

LinearImpl::LinearImpl(std::string path, int64_t in, int64_t out, bool hasBias, bool conv1d,
                       std::shared_ptr<AdapterState> state)
    : m_path(std::move(path)), m_in(in), m_out(out), m_conv1d(conv1d), m_state(std::move(state)) {
    weight = register_parameter("weight", conv1d ? torch::empty({in, out}) : torch::empty({out, in}), false);
    if (hasBias) bias = register_parameter("bias", torch::zeros({out}), false);
}

namespace {

// y[M,N] (contiguous) <- the bias row b[N] in every row, by plain copies (no strided broadcast).
void fillBiasRows(torch::Tensor& y, const torch::Tensor& b) {
    const int64_t M = y.size(0);
    const size_t rowBytes = static_cast<size_t>(y.size(1) * y.element_size());
    const char* src = static_cast<const char*>(b.data_ptr());
    char* dst = static_cast<char*>(y.data_ptr());
    for (int64_t r = 0; r < M; ++r) std::memcpy(dst + r * rowBytes, src, rowBytes);
}

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
    fillBiasRows(y, b);
    return y.addmm_(x2, w2);
}

}  // namespace

// Pre-packed copies of one frozen bf16 weight (dnnl_cpu.h): `fwd` is B = W as [in, out] for
// y = x @ B, `bwd` is B = W^T as [out, in] for the input gradient g @ B. Built lazily, rebuilt when
// the weight tensor is replaced or edited in place (merge, unmerge, load), held in LibTorch
// tensors (so memory statistics see them), and limited process-wide to kPackedWeightCapBytes.
namespace {
std::atomic<int64_t> g_packedBytes{0};
}

int64_t packedWeightBytesInUse() { return g_packedBytes.load(); }

struct PackedFrozenWeight {
    std::mutex mutex;
    torch::Tensor weight;  // the plain weight these copies were made from
    const void* ptr = nullptr;
    uint32_t version = 0;
    bool conv1d = false;
    std::shared_ptr<kernels::PackedBf16Matrix> fwd, bwd;
    torch::Tensor fwdBuf, bwdBuf;
    bool fwdTried = false, bwdTried = false;

    ~PackedFrozenWeight() { g_packedBytes -= held(); }
    int64_t held() const { return (fwdBuf.defined() ? fwdBuf.numel() : 0) + (bwdBuf.defined() ? bwdBuf.numel() : 0); }
    bool matches(const torch::Tensor& w) const { return w.data_ptr() == ptr && w._version() == version; }
    // B for the forward ([in,out]) or the input gradient ([out,in]); null where it cannot be
    // packed or the process-wide cap is reached (LibTorch's product is used then).
    std::shared_ptr<kernels::PackedBf16Matrix> get(bool forward) {
        std::lock_guard<std::mutex> lock(mutex);
        auto& slot = forward ? fwd : bwd;
        bool& tried = forward ? fwdTried : bwdTried;
        if (slot || tried) return slot;
        tried = true;
        const auto* w = reinterpret_cast<const uint16_t*>(weight.data_ptr());
        const int64_t r = weight.size(0), c = weight.size(1);  // Conv1D [in,out]; Linear [out,in]
        // forward B = [in,out]: Conv1D's W itself, Linear's W^T; the input gradient's B = [out,in].
        const bool plainIsB = (forward == conv1d);
        const int64_t K = plainIsB ? r : c, N = plainIsB ? c : r;
        const auto bytes = static_cast<int64_t>(kernels::PackedBf16Matrix::packedBytes(K, N));
        if (bytes <= 0) return nullptr;
        if (g_packedBytes.fetch_add(bytes) + bytes > kPackedWeightCapBytes) {
            g_packedBytes -= bytes;
            return nullptr;
        }
        torch::Tensor buf = torch::empty({bytes}, torch::TensorOptions().dtype(torch::kUInt8));
        slot = plainIsB ? kernels::PackedBf16Matrix::pack(w, K, N, c, 1, buf.data_ptr())
                        : kernels::PackedBf16Matrix::pack(w, K, N, 1, c, buf.data_ptr());
        if (!slot) {
            g_packedBytes -= bytes;
            return nullptr;
        }
        (forward ? fwdBuf : bwdBuf) = buf;
        return slot;
    }
};

namespace {

struct PackedHolder : torch::CustomClassHolder {
    std::shared_ptr<PackedFrozenWeight> p;
};

// y = x2 @ W (+ b) with the pre-packed weight; the input gradient uses the packed transpose. The
// weight is frozen; a bias may train (BitFit, LoRA bias="all"): its gradient is the row sum.
struct PackedLinearBf16Cpu : torch::autograd::Function<PackedLinearBf16Cpu> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x2,
                                 const torch::Tensor& bias, const std::shared_ptr<PackedFrozenWeight>& p) {
        auto holder = c10::make_intrusive<PackedHolder>();
        holder->p = p;
        ctx->saved_data["p"] = c10::IValue::make_capsule(holder);
        const bool hasBias = bias.numel() > 0;  // an empty tensor stands for "no bias"
        ctx->saved_data["bias"] = hasBias;
        torch::Tensor xc = x2.contiguous();
        const int64_t M = xc.size(0), N = p->fwd->cols();
        torch::Tensor y = torch::empty({M, N}, xc.options());
        const auto* xp = reinterpret_cast<const uint16_t*>(xc.data_ptr());
        auto* yp = reinterpret_cast<uint16_t*>(y.data_ptr());
        torch::Tensor bc = hasBias ? bias.contiguous() : bias;
        const bool done = hasBias ? p->fwd->multiplyBias(xp, M, reinterpret_cast<const uint16_t*>(bc.data_ptr()), yp)
                                  : p->fwd->multiply(xp, M, yp);
        if (!done) {
            torch::Tensor w = p->conv1d ? p->weight : p->weight.t();
            y = hasBias ? torch::addmm(bias, xc, w) : torch::mm(xc, w);
        }
        return y;
    }
    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list g) {
        auto holder = c10::static_intrusive_pointer_cast<PackedHolder>(ctx->saved_data["p"].toCapsule());
        PackedFrozenWeight& p = *holder->p;
        at::internal::lazy_init_num_threads();
        torch::Tensor gc = g[0].to(torch::kBFloat16).contiguous();
        const int64_t M = gc.size(0);
        torch::Tensor gx;
        if (ctx->needs_input_grad(0)) {
            auto b = p.get(false);
            if (b) {
                gx = torch::empty({M, b->cols()}, gc.options());
                if (!b->multiply(reinterpret_cast<const uint16_t*>(gc.data_ptr()), M,
                                 reinterpret_cast<uint16_t*>(gx.data_ptr())))
                    gx = torch::Tensor();
            }
            if (!gx.defined()) gx = torch::mm(gc, p.conv1d ? p.weight.t() : p.weight);
        }
        torch::Tensor gb;
        if (ctx->saved_data["bias"].toBool() && ctx->needs_input_grad(1)) gb = gc.sum(0);
        return {gx, gb, torch::Tensor()};
    }
};

bool packingEnabled() {
    static const bool on = [] {
        const char* e = std::getenv("PEFT_PACKED_WEIGHTS");
        const std::string v = e ? e : "";
        const bool off = v == "0" || v == "off" || v == "false" || v == "no";
        if (!v.empty() && !off && v != "1" && v != "on" && v != "true" && v != "yes")
            spdlog::warn("PEFT_PACKED_WEIGHTS='{}' is not 0/off/false or 1/on/true; packed weights stay on", v);
        return !off && kernels::dnnlAvailable();
    }();
    return on;
}

thread_local bool t_packedWeightsAllowed = true;

}  // namespace

PackedWeightsScope::PackedWeightsScope(bool allowed) : m_previous(t_packedWeightsAllowed) {
    t_packedWeightsAllowed = allowed;
}
PackedWeightsScope::~PackedWeightsScope() { t_packedWeightsAllowed = m_previous; }
bool packedWeightsAllowedOnThisThread() { return t_packedWeightsAllowed; }

// The packed path, or undefined where it does not apply (the caller keeps LibTorch's products):
// CPU bf16 training steps (grad mode on) with a frozen bf16 weight and at least 16 rows.
// Inference (no grad) keeps the plain products: it would hold a second copy of the weights for
// prompt-sized products only.
torch::Tensor LinearImpl::packedForward(const torch::Tensor& x2) {
    if (!x2.is_cpu() || x2.scalar_type() != torch::kBFloat16 || !torch::GradMode::is_enabled() || !weight.defined() ||
        weight.scalar_type() != torch::kBFloat16 || weight.requires_grad() || !weight.is_contiguous() ||
        weight.dim() != 2 || x2.size(0) < 16 || !t_packedWeightsAllowed || !packingEnabled())
        return {};
    if (bias.defined() && bias.scalar_type() != torch::kBFloat16) return {};
    if (!m_packed || !m_packed->matches(weight)) {
        auto p = std::make_shared<PackedFrozenWeight>();
        p->weight = weight.detach();
        p->ptr = weight.data_ptr();
        p->version = weight._version();
        p->conv1d = m_conv1d;
        m_packed = std::move(p);
    }
    if (!m_packed->get(true)) return {};
    // oneDNN sizes its OpenMP team from this thread's setting: make it LibTorch's (a trainer
    // worker thread may not have run a LibTorch parallel operator yet).
    at::internal::lazy_init_num_threads();
    // Custom autograd functions cannot take an undefined tensor (LibTorch 1.13): "no bias" is an
    // empty one.
    return PackedLinearBf16Cpu::apply(x2, bias.defined() ? bias : torch::empty({0}, x2.options()), m_packed);
}

void LinearImpl::releasePacked() { m_packed.reset(); }

torch::Tensor LinearImpl::baseForward(const torch::Tensor& x) {
    if (m_quant) {
        torch::Tensor w = m_quant->dequantize(x.scalar_type());  // [out,in]
        return torch::nn::functional::linear(x, w, bias.defined() ? bias.to(x.scalar_type()) : bias);
    }
    if (m_conv1d) {
        // Conv1D: y = x @ W[in,out] + b
        auto sizes = x.sizes().vec();
        torch::Tensor x2 = x.reshape({-1, m_in});
        torch::Tensor y = packedForward(x2);
        if (!y.defined() && bias.defined()) y = addmmFrozenBiasCpu(bias, x2, weight);
        if (!y.defined()) y = bias.defined() ? torch::addmm(bias, x2, weight) : torch::mm(x2, weight);
        sizes.back() = m_out;
        return y.view(sizes);
    }
    if (x.is_cpu() && x.scalar_type() == torch::kBFloat16 && x.dim() >= 2) {
        torch::Tensor y = packedForward(x.reshape({-1, m_in}));
        if (y.defined()) {
            auto sizes = x.sizes().vec();
            sizes.back() = m_out;
            return y.view(sizes);
        }
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
    if (m_quant)
        throw std::runtime_error(m_path + ": cannot merge into a quantised (NF4) weight; dequantise the base first");
    // Weights may be views on a read-only-in-spirit mapped file; assign a fresh tensor.
    torch::Tensor nw = (m_conv1d ? w.t() : w).contiguous().to(weight.scalar_type());
    weight.set_data(nw);
}

void LinearImpl::addAdapter(const std::string& name, std::shared_ptr<LinearAdapter> a) {
    m_adapters[name] = std::move(a);
}
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
