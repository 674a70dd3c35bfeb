// Chunked causal-LM head + cross-entropy with a hand-formed gradient (see lm_loss.h).
#include "core/train/lm_loss.h"

#include "core/train/loss_chunks.h"

#include <algorithm>

namespace peft {

LmLoss lmLossChunked(CausalLMImpl& model, const torch::Tensor& hidden, const torch::Tensor& labels, bool backward,
                     double gradScale, int64_t chunkRows) {
    const int64_t C = hidden.size(-1), T = hidden.size(1);
    LmLoss out;
    torch::Tensor y = labels.slice(1, 1).reshape({-1});  // [B*(T-1)]
    torch::Tensor keep = y.ne(-100);
    torch::Tensor rows = keep.nonzero().view({-1});     // labelled rows only
    out.count = rows.size(0);
    out.sum = torch::zeros({}, hidden.options().dtype(torch::kFloat32));
    if (out.count == 0) return out;
    torch::Tensor h = hidden.slice(1, 0, T - 1).reshape({-1, C}).index_select(0, rows);  // [N,C]
    torch::Tensor target = y.index_select(0, rows);                                        // [N]

    torch::Tensor w = model.lmHeadWeight();  // [V,C]
    const bool headTrains = w.requires_grad();
    const bool doBackward = backward && torch::GradMode::is_enabled() && (hidden.requires_grad() || headTrains);
    const int64_t V = w.size(0);
    const int64_t N = out.count;
    // fp32 logits per chunk: ~16 MiB on CPU for bf16, ~256 MiB for fp32 and on GPUs (see
    // loss_chunks.h; the budget's memory model uses the same rule).
    if (chunkRows <= 0) chunkRows = lmLossChunkRows(V, N, hidden.scalar_type() == torch::kFloat32, hidden.is_cuda());
    chunkRows = std::min(chunkRows, N);

    // A trainable head (full fine-tuning, modules_to_save) needs autograd through the weight:
    // same chunks, each chunk's loss back-propagated on its own.
    if (doBackward && headTrains) {
        std::vector<torch::Tensor> grads;
        torch::Tensor hd = h.detach();
        for (int64_t s = 0; s < N; s += chunkRows) {
            const int64_t e = std::min(N, s + chunkRows);
            torch::Tensor hc = hd.slice(0, s, e).detach().requires_grad_(true);
            torch::Tensor logits = model.lmHead(hc).to(torch::kFloat32);
            torch::Tensor l = torch::nn::functional::cross_entropy(
                logits, target.slice(0, s, e), torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
            (l * gradScale).backward();
            out.sum += l.detach();
            grads.push_back(hc.grad());
        }
        if (h.requires_grad()) h.backward(torch::cat(grads, 0));
        return out;
    }

    torch::Tensor gradH;
    {
        torch::NoGradGuard ng;
        torch::Tensor hd = h.detach();
        torch::Tensor wc = w.detach().to(hd.scalar_type());
        if (doBackward) gradH = torch::empty_like(hd);
        for (int64_t s = 0; s < N; s += chunkRows) {
            const int64_t e = std::min(N, s + chunkRows);
            torch::Tensor tc = target.slice(0, s, e).unsqueeze(1);  // [n,1]
            // One exp pass over the fp32 logits: p = exp(z - max), lse = max + log(sum p),
            // loss = lse - z[target]; the same buffer then becomes the gradient p/sum - onehot.
            torch::Tensor z = torch::mm(hd.slice(0, s, e), wc.t()).to(torch::kFloat32);  // [n,V] fp32
            torch::Tensor zt = z.gather(1, tc);
            torch::Tensor m = std::get<0>(z.max(1, true));
            torch::Tensor p = z.sub_(m).exp_();
            torch::Tensor sum = p.sum(1, true);
            out.sum += (m + sum.log() - zt).sum();
            if (!doBackward) continue;
            p.div_(sum);
            p.scatter_add_(1, tc, torch::full_like(tc, -1.0, p.options()));
            // The loss scale goes on the small [n,C] result rather than the [n,V] buffer.
            torch::Tensor gh = torch::mm(p.to(wc.scalar_type()), wc);
            if (gradScale != 1.0) gh.mul_(gradScale);
            gradH.slice(0, s, e).copy_(gh);
        }
    }
    if (doBackward) h.backward(gradH);
    return out;
}

}  // namespace peft
