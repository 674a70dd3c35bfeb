// Chunked causal-LM head + cross-entropy with a hand-formed gradient (see lm_loss.h).
#include "core/train/lm_loss.h"

#include "core/train/loss_chunks.h"

#include <algorithm>
#include <vector>

#include "core/data/dataset_format.h"
#include "core/train/lm_loss_cpu.h"

namespace peft {

namespace {

// CPU, fp32 or bf16: each chunk's logits come from one product in the head's dtype and go
// through the fused kernel (lm_loss_cpu.h), which forms loss and gradient in place, in fp32
// arithmetic, without an fp32 copy of the chunk. bf16 uses the vocabulary-major product W h^T
// (oneDNN runs it ~1.7x faster than h W^T on this shape: the 50k-row weight is the left
// operand), fp32 the token-major one (OpenBLAS is faster that way round). Returns the
// gradient for h (undefined without backward) and adds the loss sum to `out`.
torch::Tensor fusedCpuChunks(const torch::Tensor& hd, const torch::Tensor& w, const torch::Tensor& target,
                             bool backward, double gradScale, int64_t chunkRows, LmLoss& out,
                             torch::Tensor* tokenLoss) {
    torch::NoGradGuard ng;
    const int64_t N = hd.size(0), V = w.size(0);
    const bool bf16 = hd.scalar_type() == torch::kBFloat16;
    const bool vocabMajor = bf16;
    torch::Tensor wc = w.to(hd.scalar_type());
    // Logits buffer per chunk: at most ~`budget` bytes in equal chunks. bf16: 32 MiB (all 254 rows
    // of a 2x128 GPT-2 batch in one product: oneDNN prefers the wide one); fp32: 16 MiB (four
    // chunks of 64 rows there: same speed through OpenBLAS, 12 MiB less peak memory than two).
    if (chunkRows <= 0) {
        const int64_t budget = bf16 ? (int64_t{32} << 20) : (int64_t{16} << 20);
        const int64_t chunks = std::max<int64_t>(1, (N * V * hd.element_size() + budget - 1) / budget);
        chunkRows = std::max<int64_t>(16, (N + chunks - 1) / chunks);
    }
    chunkRows = std::min(chunkRows, N);
    std::vector<int32_t> tgt(static_cast<size_t>(N));
    {
        torch::Tensor t = target.to(torch::kInt64).contiguous();
        const int64_t* tp = t.data_ptr<int64_t>();
        for (int64_t i = 0; i < N; ++i) tgt[static_cast<size_t>(i)] = static_cast<int32_t>(tp[i]);
    }
    std::vector<float> loss(static_cast<size_t>(N));
    torch::Tensor gradH;
    if (backward && chunkRows < N) gradH = torch::empty_like(hd);
    const float scale = static_cast<float>(gradScale);
    for (int64_t s = 0; s < N; s += chunkRows) {
        const int64_t e = std::min(N, s + chunkRows), n = e - s;
        torch::Tensor hc = hd.slice(0, s, e);
        // Vocabulary-major: the chunk's tokens are the columns of z; pad them with zero rows of h to
        // a multiple of 16 so that every thread's column range is whole vectors (the padding
        // columns are scratch to the kernel and dropped from the gradient).
        const int64_t ld = vocabMajor ? (n + 15) / 16 * 16 : n;
        if (ld != n) hc = torch::cat({hc, torch::zeros({ld - n, hc.size(1)}, hc.options())});
        torch::Tensor z = vocabMajor ? torch::mm(wc, hc.t()) : torch::mm(hc, wc.t());  // [V,ld] or [n,V]
        void* zp = z.data_ptr();
        const int32_t* tp = tgt.data() + s;
        float* lp = loss.data() + s;
        const int64_t grain = vocabMajor ? 16 : 1;
        at::parallel_for(0, (n + grain - 1) / grain, 1, [&](int64_t b0, int64_t b1) {
            const int64_t j0 = b0 * grain, j1 = std::min(n, b1 * grain), pad = std::min(ld, b1 * grain);
            if (vocabMajor) {
                if (bf16)
                    kernels::crossEntropyCols(static_cast<uint16_t*>(zp), V, ld, j0, j1, tp, lp + j0, backward, scale,
                                              pad);
                else
                    kernels::crossEntropyCols(static_cast<float*>(zp), V, ld, j0, j1, tp, lp + j0, backward, scale,
                                              pad);
            } else {
                if (bf16)
                    kernels::crossEntropyRows(static_cast<uint16_t*>(zp), V, j0, j1, tp, lp + j0, backward, scale);
                else kernels::crossEntropyRows(static_cast<float*>(zp), V, j0, j1, tp, lp + j0, backward, scale);
            }
        });
        if (!backward) continue;
        // vocab-major: grad^T = W^T G^T, [C,n]; token-major: G W, [n,C]
        torch::Tensor gh = vocabMajor ? torch::mm(wc.t(), z).t().slice(0, 0, n) : torch::mm(z, wc);
        if (chunkRows >= N) gradH = gh;
        else gradH.slice(0, s, e).copy_(gh);
    }
    double sum = 0;
    for (float l : loss) sum += l;
    out.sum = torch::full({}, sum, out.sum.options());
    if (tokenLoss) *tokenLoss = torch::from_blob(loss.data(), {N}, torch::kFloat32).clone();
    return gradH;
}

// The head and cross-entropy over labelled rows h [N,C] (no autograd: `w` and `h` detached):
// adds the summed loss to out.sum, returns d(gradScale * loss)/dh [N,C] when `backward`, and
// writes each row's loss [N] fp32 to `tokenLoss` when given.
torch::Tensor headCrossEntropy(const torch::Tensor& hd, const torch::Tensor& w, const torch::Tensor& target,
                               bool backward, double gradScale, int64_t chunkRowsArg, int64_t chunkRows, LmLoss& out,
                               torch::Tensor* tokenLoss) {
    const bool fusedCpu = hd.is_cpu() && (hd.scalar_type() == torch::kFloat32 || hd.scalar_type() == torch::kBFloat16);
    if (fusedCpu) return fusedCpuChunks(hd, w, target, backward, gradScale, chunkRowsArg, out, tokenLoss);
    torch::NoGradGuard ng;
    const int64_t N = hd.size(0);
    torch::Tensor gradH;
    torch::Tensor wc = w.to(hd.scalar_type());
    if (backward) gradH = torch::empty_like(hd);
    if (tokenLoss) *tokenLoss = torch::empty({N}, hd.options().dtype(torch::kFloat32));
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
        torch::Tensor rowLoss = m + sum.log() - zt;  // [n,1]
        out.sum += rowLoss.sum();
        if (tokenLoss) tokenLoss->slice(0, s, e).copy_(rowLoss.view({-1}));
        if (!backward) continue;
        p.div_(sum);
        p.scatter_add_(1, tc, torch::full_like(tc, -1.0, p.options()));
        // The loss scale goes on the small [n,C] result rather than the [n,V] buffer.
        torch::Tensor gh = torch::mm(p.to(wc.scalar_type()), wc);
        if (gradScale != 1.0) gh.mul_(gradScale);
        gradH.slice(0, s, e).copy_(gh);
    }
    return gradH;
}

// Per-row log-probabilities of `target` under the head, -cross-entropy [N], as an autograd node
// on h [N,C]: the forward forms each row's gradient once (the same chunked kernels as the loss)
// and keeps it, [N,C]; the backward scales it by the incoming per-row gradient.
struct TokenLogProb : public torch::autograd::Function<TokenLogProb> {
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& h, const torch::Tensor& w,
                                 const torch::Tensor& target, int64_t chunkRows) {
        LmLoss out;
        out.sum = torch::zeros({}, h.options().dtype(torch::kFloat32));
        torch::Tensor tokenLoss;
        const bool grad = h.requires_grad();
        torch::Tensor g = headCrossEntropy(h.detach(), w.detach(), target, grad, 1.0, 0, chunkRows, out, &tokenLoss);
        ctx->saved_data["grad"] = grad;
        if (grad) ctx->saved_data["g"] = g;  // d(-logp)/dh per row [N,C]
        return tokenLoss.neg_();
    }
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list go) {
        torch::Tensor gh;
        if (ctx->saved_data["grad"].toBool()) {
            torch::Tensor g = ctx->saved_data["g"].toTensor();
            gh = (g.to(torch::kFloat32) * go[0].to(torch::kFloat32).neg().unsqueeze(1)).to(g.scalar_type());
        }
        return {gh, torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

}  // namespace

LmLoss lmLossChunked(CausalLMImpl& model, const torch::Tensor& hidden, const torch::Tensor& labels, bool backward,
                     double gradScale, int64_t chunkRows) {
    const int64_t chunkRowsArg = chunkRows;
    const int64_t C = hidden.size(-1), T = hidden.size(1);
    LmLoss out;
    torch::Tensor y = labels.slice(1, 1).reshape({-1});  // [B*(T-1)]
    torch::Tensor keep = y.ne(data::kIgnoreIndex);
    torch::Tensor rows = keep.nonzero().view({-1});  // labelled rows only
    out.count = rows.size(0);
    out.sum = torch::zeros({}, hidden.options().dtype(torch::kFloat32));
    if (out.count == 0) return out;
    torch::Tensor h = hidden.slice(1, 0, T - 1).reshape({-1, C}).index_select(0, rows);  // [N,C]
    torch::Tensor target = y.index_select(0, rows);                                      // [N]

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

    torch::Tensor gradH =
        headCrossEntropy(h.detach(), w.detach(), target, doBackward, gradScale, chunkRowsArg, chunkRows, out, nullptr);
    if (doBackward) h.backward(gradH);
    return out;
}

}  // namespace peft

namespace peft {

int64_t countTargetTokens(const torch::Tensor& labels) {
    return labels.slice(1, 1).ne(data::kIgnoreIndex).sum().item<int64_t>();
}

torch::Tensor alignLabels(const torch::Tensor& hidden, const torch::Tensor& labels) {
    if (hidden.size(1) <= labels.size(1)) return labels;
    const int64_t extra = hidden.size(1) - labels.size(1);
    return torch::cat({torch::full({labels.size(0), extra}, data::kIgnoreIndex, labels.options()), labels}, 1);
}

SequenceLogps sequenceLogps(CausalLMImpl& model, const torch::Tensor& hidden, const torch::Tensor& labels) {
    const int64_t S = hidden.size(0), T = hidden.size(1), C = hidden.size(-1);
    SequenceLogps out;
    torch::Tensor y = labels.slice(1, 1).reshape({-1});  // [S*(T-1)]
    torch::Tensor rows = y.ne(data::kIgnoreIndex).nonzero().view({-1});
    torch::Tensor seq = torch::div(rows, T - 1, "floor");  // the sequence of each counted row
    auto f32 = hidden.options().dtype(torch::kFloat32);
    out.tokens = torch::zeros({S}, f32).index_add_(0, seq, torch::ones({rows.size(0)}, f32));
    out.logps = torch::zeros({S}, f32);
    if (rows.size(0) == 0) return out;
    torch::Tensor h = hidden.slice(1, 0, T - 1).reshape({-1, C}).index_select(0, rows);  // [N,C]
    torch::Tensor target = y.index_select(0, rows);                                      // [N]
    torch::Tensor w = model.lmHeadWeight();                                              // [V,C]
    const int64_t N = rows.size(0);
    const int64_t chunkRows = lmLossChunkRows(w.size(0), N, hidden.scalar_type() == torch::kFloat32, hidden.is_cuda());
    torch::Tensor tokenLogp;  // [N]
    if (torch::GradMode::is_enabled() && w.requires_grad()) {
        // A trainable head (full fine-tuning, modules_to_save): plain autograd, chunk by chunk.
        std::vector<torch::Tensor> parts;
        for (int64_t s = 0; s < N; s += chunkRows) {
            const int64_t e = std::min(N, s + chunkRows);
            torch::Tensor logits = model.lmHead(h.slice(0, s, e)).to(torch::kFloat32);  // [n,V]
            parts.push_back(torch::log_softmax(logits, -1).gather(1, target.slice(0, s, e).unsqueeze(1)).view({-1}));
        }
        tokenLogp = torch::cat(parts);
    } else if (torch::GradMode::is_enabled() && h.requires_grad()) {
        tokenLogp = TokenLogProb::apply(h, w, target, chunkRows);
    } else {
        torch::NoGradGuard ng;
        LmLoss l;
        l.sum = torch::zeros({}, f32);
        headCrossEntropy(h.detach(), w.detach(), target, false, 1.0, 0, chunkRows, l, &tokenLogp);
        tokenLogp.neg_();
    }
    out.logps = out.logps.index_add(0, seq, tokenLogp);
    return out;
}

}  // namespace peft
