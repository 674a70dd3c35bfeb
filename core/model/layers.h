// Small building blocks with Hugging Face parameter names: Embedding, LayerNorm, RMSNorm,
// and a plain named container for module paths like "attn" or "mlp".
#pragma once
#include <torch/torch.h>

namespace peft {

struct ContainerImpl : torch::nn::Module {};
TORCH_MODULE(Container);

struct EmbeddingImpl : torch::nn::Module {
    EmbeddingImpl(int64_t n, int64_t d) { weight = register_parameter("weight", torch::empty({n, d}), false); }
    torch::Tensor forward(const torch::Tensor& ids) { return torch::embedding(weight, ids); }  // [B,T] -> [B,T,C]
    torch::Tensor weight;
};
TORCH_MODULE(Embedding);

struct LayerNormImpl : torch::nn::Module {
    LayerNormImpl(int64_t d, double eps) : eps(eps) {
        weight = register_parameter("weight", torch::ones({d}), false);
        bias = register_parameter("bias", torch::zeros({d}), false);
    }
    torch::Tensor forward(const torch::Tensor& x) {
        return torch::layer_norm(x, {x.size(-1)}, weight.to(x.scalar_type()), bias.to(x.scalar_type()), eps);
    }
    torch::Tensor weight, bias;
    double eps;
};
TORCH_MODULE(LayerNorm);

// Llama's RMSNorm, computed in fp32 and cast back as transformers does.
struct RMSNormImpl : torch::nn::Module {
    RMSNormImpl(int64_t d, double eps) : eps(eps) { weight = register_parameter("weight", torch::ones({d}), false); }
    torch::Tensor forward(const torch::Tensor& x) {
        torch::Tensor xf = x.to(torch::kFloat32);
        torch::Tensor var = xf.pow(2).mean(-1, true);
        xf = xf * torch::rsqrt(var + eps);
        return weight.to(x.scalar_type()) * xf.to(x.scalar_type());
    }
    torch::Tensor weight;
    double eps;
};
TORCH_MODULE(RMSNorm);

}  // namespace peft
