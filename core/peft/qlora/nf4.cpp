// NF4 block quantisation with optional double quantisation of the block scales.
#include "core/peft/qlora/nf4.h"

#include <spdlog/spdlog.h>

namespace peft {

const std::array<float, 16>& nf4CodeBook() {
    static const std::array<float, 16> k = {-1.0f,
                                            -0.6961928009986877f,
                                            -0.5250730514526367f,
                                            -0.39491748809814453f,
                                            -0.28444138169288635f,
                                            -0.18477343022823334f,
                                            -0.09105003625154495f,
                                            0.0f,
                                            0.07958029955625534f,
                                            0.16093020141124725f,
                                            0.24611230194568634f,
                                            0.33791524171829224f,
                                            0.44070982933044434f,
                                            0.5626170039176941f,
                                            0.7229568362236023f,
                                            1.0f};
    return k;
}

namespace {
torch::Tensor codeBookTensor(const torch::Device& dev) {
    const auto& cb = nf4CodeBook();
    return torch::tensor(std::vector<float>(cb.begin(), cb.end()), torch::kFloat32).to(dev);
}
}  // namespace

Nf4Weight::Nf4Weight(const torch::Tensor& weight, bool doubleQuant) {
    torch::NoGradGuard ng;
    m_shape = weight.sizes().vec();
    m_numel = weight.numel();
    const int64_t blocks = (m_numel + kBlock - 1) / kBlock;
    torch::Tensor flat = weight.detach().to(torch::kFloat32).reshape({-1});
    if (blocks * kBlock != m_numel)
        flat = torch::cat({flat, torch::zeros({blocks * kBlock - m_numel}, flat.options())});
    torch::Tensor b = flat.view({blocks, kBlock});
    torch::Tensor absmax = b.abs().amax(1).clamp_min(1e-12);  // [blocks]
    torch::Tensor normed = b / absmax.unsqueeze(1);           // [-1, 1]
    // Nearest code: argmin |x - level| over the 16 levels.
    torch::Tensor cb = codeBookTensor(flat.device());
    torch::Tensor codes = (normed.unsqueeze(-1) - cb).abs().argmin(-1).to(torch::kUInt8).reshape({-1});  // [blocks*64]
    torch::Tensor pairs = codes.view({-1, 2});
    m_packed = (pairs.select(1, 0) * 16 + pairs.select(1, 1)).contiguous();  // codes <= 15, so this fits a byte
    if (!doubleQuant) {
        m_absmax = absmax.contiguous();
        return;
    }
    // Double quantisation: subtract the mean, then 8-bit symmetric per 256 scales.
    m_absmaxOffset = absmax.mean();
    torch::Tensor centred = absmax - m_absmaxOffset;
    const int64_t ab = (blocks + kAbsmaxBlock - 1) / kAbsmaxBlock;
    if (ab * kAbsmaxBlock != blocks)
        centred = torch::cat({centred, torch::zeros({ab * kAbsmaxBlock - blocks}, centred.options())});
    torch::Tensor cv = centred.view({ab, kAbsmaxBlock});
    m_absmaxScale = (cv.abs().amax(1) / 127.0).clamp_min(1e-12).contiguous();  // [ab]
    m_absmaxQ = (cv / m_absmaxScale.unsqueeze(1))
                    .round()
                    .clamp(-127, 127)
                    .add(127)
                    .to(torch::kUInt8)
                    .reshape({-1})
                    .slice(0, 0, blocks)
                    .contiguous();
}

torch::Tensor Nf4Weight::dequantize(torch::Dtype dtype) const {
    torch::Tensor p = m_packed.to(torch::kInt64);
    torch::Tensor hi = p.div(16, "floor");
    torch::Tensor lo = p.remainder(16);
    torch::Tensor codes = torch::stack({hi, lo}, 1).reshape({-1});  // [blocks*64]
    torch::Tensor values = codeBookTensor(m_packed.device()).index_select(0, codes);
    torch::Tensor absmax;
    if (m_absmax.defined()) {
        absmax = m_absmax;
    } else {
        const int64_t blocks = m_absmaxQ.size(0);
        torch::Tensor q = m_absmaxQ.to(torch::kFloat32) - 127;
        torch::Tensor scale = m_absmaxScale.repeat_interleave(kAbsmaxBlock).slice(0, 0, blocks);
        absmax = q * scale + m_absmaxOffset;
    }
    torch::Tensor w = (values.view({-1, kBlock}) * absmax.unsqueeze(1)).reshape({-1}).slice(0, 0, m_numel);
    return w.view(m_shape).to(dtype);
}

int64_t Nf4Weight::storageBytes() const {
    int64_t b = m_packed.numel();
    if (m_absmax.defined()) return b + m_absmax.numel() * 4;
    return b + m_absmaxQ.numel() + m_absmaxScale.numel() * 4 + 4;
}

QuantizeReport quantizeBaseNf4(CausalLMImpl& model, bool doubleQuant) {
    QuantizeReport r;
    for (auto [path, lin] : model.linears()) {
        if (lin->quantized()) continue;
        r.params += lin->weight.numel();
        r.bytesBefore += lin->weightStorageBytes();
        lin->setQuantized(std::make_shared<Nf4Weight>(lin->denseWeight(), doubleQuant));
        r.bytesAfter += lin->weightStorageBytes();
    }
    spdlog::info("NF4: {} weights, {:.1f} MB -> {:.1f} MB ({:.3f} bytes/param)", r.params, r.bytesBefore / 1e6,
                 r.bytesAfter / 1e6, r.bytesPerParam());
    return r;
}

}  // namespace peft
