// Small building blocks with Hugging Face parameter names: Embedding, LayerNorm, RMSNorm,
// and a plain named container for module paths like "attn" or "mlp".
#pragma once
#include <torch/torch.h>

#include "core/model/gelu_cpu.h"
#include "core/model/layernorm_cpu.h"

namespace peft {

struct ContainerImpl : torch::nn::Module {};
TORCH_MODULE(Container);

struct EmbeddingImpl : torch::nn::Module {
    EmbeddingImpl(int64_t n, int64_t d) { weight = register_parameter("weight", torch::empty({n, d}), false); }
    torch::Tensor forward(const torch::Tensor& ids) { return torch::embedding(weight, ids); }  // [B,T] -> [B,T,C]
    torch::Tensor weight;
};
TORCH_MODULE(Embedding);

// LayerNorm on CPU bf16 activations with frozen affine parameters: fused kernels
// (layernorm_cpu.h) in fp32 arithmetic, rounding once to bf16 as the fp32 LayerNorm of the cast
// input did; saves the bf16 input and two floats per row (not an fp32 copy of the input) and
// returns only the input's gradient.
struct LayerNormBf16Cpu : torch::autograd::Function<LayerNormBf16Cpu> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                                 const torch::Tensor& b, double eps) {
        torch::Tensor xc = x.contiguous();
        torch::Tensor wf = w.to(torch::kFloat32).contiguous(), bf = b.to(torch::kFloat32).contiguous();
        const int64_t C = xc.size(-1), rows = C > 0 ? xc.numel() / C : 0;
        torch::Tensor y = torch::empty_like(xc);
        torch::Tensor stats = torch::empty({2, rows}, xc.options().dtype(torch::kFloat32));
        const auto* xp = reinterpret_cast<const uint16_t*>(xc.data_ptr());
        auto* yp = reinterpret_cast<uint16_t*>(y.data_ptr());
        float* mean = stats.data_ptr<float>();
        float* rstd = mean + rows;
        const float e = static_cast<float>(eps);
        at::parallel_for(0, rows, 16, [&](int64_t r0, int64_t r1) {
            kernels::layerNormForward(xp + r0 * C, wf.data_ptr<float>(), bf.data_ptr<float>(), yp + r0 * C, mean + r0,
                                      rstd + r0, r1 - r0, C, e);
        });
        ctx->save_for_backward({xc, wf, stats});
        return y;
    }
    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list g) {
        auto saved = ctx->get_saved_variables();
        const torch::Tensor& xc = saved[0];
        const torch::Tensor& wf = saved[1];
        const torch::Tensor& stats = saved[2];
        torch::Tensor gc = g[0].to(xc.scalar_type()).contiguous();
        torch::Tensor gx = torch::empty_like(xc);
        const int64_t C = xc.size(-1), rows = stats.size(1);
        const auto* xp = reinterpret_cast<const uint16_t*>(xc.data_ptr());
        const auto* gp = reinterpret_cast<const uint16_t*>(gc.data_ptr());
        auto* op = reinterpret_cast<uint16_t*>(gx.data_ptr());
        const float* mean = stats.data_ptr<float>();
        const float* rstd = mean + rows;
        at::parallel_for(0, rows, 16, [&](int64_t r0, int64_t r1) {
            kernels::layerNormBackward(xp + r0 * C, gp + r0 * C, wf.data_ptr<float>(), mean + r0, rstd + r0,
                                       op + r0 * C, r1 - r0, C);
        });
        return {gx, torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

struct LayerNormImpl : torch::nn::Module {
    LayerNormImpl(int64_t d, double eps) : eps(eps) {
        weight = register_parameter("weight", torch::ones({d}), false);
        bias = register_parameter("bias", torch::zeros({d}), false);
    }
    torch::Tensor forward(const torch::Tensor& x) {
        // LibTorch's CPU LayerNorm is slow on bf16 tensors: normalise in fp32, round once (fused
        // kernels while the affine parameters are frozen, as under LoRA).
        if (x.is_cpu() && x.scalar_type() == torch::kBFloat16 && x.numel() > 0 && !weight.requires_grad() &&
            !bias.requires_grad())
            return LayerNormBf16Cpu::apply(x, weight, bias, eps);
        if (x.is_cpu() && x.scalar_type() == torch::kBFloat16)
            return torch::layer_norm(x.to(torch::kFloat32), {x.size(-1)}, weight.to(torch::kFloat32),
                                     bias.to(torch::kFloat32), eps)
                .to(x.scalar_type());
        return torch::layer_norm(x, {x.size(-1)}, weight.to(x.scalar_type()), bias.to(x.scalar_type()), eps);
    }
    torch::Tensor weight, bias;
    double eps;
};
TORCH_MODULE(LayerNorm);

// GELU (tanh approximation) on CPU: LibTorch 1.x's CPU tanh is slow (and its bf16 GELU is
// scalar), and the composed formula costs ~8 (forward) and ~12 (backward) passes over memory.
// fp32 and bf16 tensors go through fused one-pass kernels (gelu_cpu.h) computing the identical
// x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3), in fp32; other dtypes use the formula.
// A custom autograd function saves only the input and recomputes in backward.
struct GeluTanhCpu : torch::autograd::Function<GeluTanhCpu> {
    static constexpr double kA = 1.5957691216057308;  // 2 sqrt(2/pi)
    static constexpr double kB = kA * 0.044715;
    static bool fused(const torch::Tensor& x) {
        return x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kBFloat16;
    }
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x) {
        ctx->save_for_backward({x});
        if (fused(x)) {
            torch::Tensor xc = x.contiguous();
            torch::Tensor y = torch::empty_like(xc);
            const bool bf16 = xc.scalar_type() == torch::kBFloat16;
            at::parallel_for(0, xc.numel(), 16384, [&](int64_t b, int64_t e) {
                if (bf16)
                    kernels::geluTanhForward(reinterpret_cast<const uint16_t*>(xc.data_ptr()) + b,
                                             reinterpret_cast<uint16_t*>(y.data_ptr()) + b, e - b);
                else kernels::geluTanhForward(xc.data_ptr<float>() + b, y.data_ptr<float>() + b, e - b);
            });
            return y;
        }
        torch::Tensor xf = x.to(torch::kFloat32);
        torch::Tensor s = torch::sigmoid(xf * (xf * xf * kB + kA));
        return (xf * s).to(x.scalar_type());
    }
    static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::tensor_list g) {
        torch::Tensor x = ctx->get_saved_variables()[0];
        if (fused(x)) {
            torch::Tensor xc = x.contiguous();
            torch::Tensor gc = g[0].to(xc.scalar_type()).contiguous();
            torch::Tensor gx = torch::empty_like(xc);
            const bool bf16 = xc.scalar_type() == torch::kBFloat16;
            at::parallel_for(0, xc.numel(), 16384, [&](int64_t b, int64_t e) {
                if (bf16)
                    kernels::geluTanhBackward(reinterpret_cast<const uint16_t*>(xc.data_ptr()) + b,
                                              reinterpret_cast<const uint16_t*>(gc.data_ptr()) + b,
                                              reinterpret_cast<uint16_t*>(gx.data_ptr()) + b, e - b);
                else
                    kernels::geluTanhBackward(xc.data_ptr<float>() + b, gc.data_ptr<float>() + b,
                                              gx.data_ptr<float>() + b, e - b);
            });
            return {gx};
        }
        torch::Tensor xf = x.to(torch::kFloat32);
        torch::Tensor x2 = xf * xf;
        torch::Tensor s = torch::sigmoid(xf * (x2 * kB + kA));
        // d/dx x s(v), v = x (kA + kB x^2): s + x s (1 - s) (kA + 3 kB x^2)
        torch::Tensor d = s + xf * s * (1 - s) * (x2 * (3 * kB) + kA);
        return {(g[0].to(torch::kFloat32) * d).to(x.scalar_type())};
    }
};
inline torch::Tensor geluTanh(const torch::Tensor& x) {
    if (x.is_cpu()) return GeluTanhCpu::apply(x);
    return torch::gelu(x, "tanh");
}
// SiLU on CPU bf16 tensors runs in fp32 (the bf16 CPU kernel is scalar in LibTorch 1.x).
inline torch::Tensor siluAct(const torch::Tensor& x) {
    if (x.is_cpu() && x.scalar_type() == torch::kBFloat16)
        return torch::silu(x.to(torch::kFloat32)).to(x.scalar_type());
    return torch::silu(x);
}

// Llama's RMSNorm, computed in fp32 and cast back as transformers does. onePlus: Gemma's, which
// scales by (1 + w) in fp32 before the one cast (its weight starts at zero).
struct RMSNormImpl : torch::nn::Module {
    RMSNormImpl(int64_t d, double eps, bool onePlus = false) : eps(eps), onePlus(onePlus) {
        weight = register_parameter("weight", onePlus ? torch::zeros({d}) : torch::ones({d}), false);
    }
    torch::Tensor forward(const torch::Tensor& x) {
        torch::Tensor xf = x.to(torch::kFloat32);
        torch::Tensor var = xf.pow(2).mean(-1, true);
        xf = xf * torch::rsqrt(var + eps);
        if (onePlus) return (xf * (1.0 + weight.to(torch::kFloat32))).to(x.scalar_type());
        return weight.to(x.scalar_type()) * xf.to(x.scalar_type());
    }
    torch::Tensor weight;
    double eps;
    bool onePlus;
};
TORCH_MODULE(RMSNorm);

}  // namespace peft
