// The hand-written CPU kernels against LibTorch references in double precision: fused GELU-tanh
// (forward and gradient, fp32 and bf16), the fused head + cross-entropy (loss and gradient
// through lmLossChunked, both logits layouts, one chunk and several), and LoRA in bf16 against
// its fp32 product.
#include "core/model/causal_lm.h"
#include "core/model/dnnl_cpu.h"
#include "core/model/linear.h"
#include "core/model/packed_weights.h"
#include "core/model/layers.h"
#include "core/model/loader.h"
#include "core/peft/method.h"
#include "core/train/lm_loss.h"
#include "core/train/lm_loss_cpu.h"
#include "tests/test_util.h"

#include <thread>
#include <tuple>

using namespace peft;

namespace {
torch::Tensor refGelu(const torch::Tensor& x) {
    torch::Tensor xd = x.to(torch::kFloat64);
    return 0.5 * xd * (1 + torch::tanh(0.7978845608028654 * (xd + 0.044715 * xd * xd * xd)));
}
}  // namespace

TEST(CpuKernels, GeluTanhMatchesFormulaFp32) {
    torch::manual_seed(1);
    // Odd size: the vector loops' tails run too; wide range: saturated ends.
    torch::Tensor x = (torch::randn({7, 1001}) * 4).set_requires_grad(true);
    torch::Tensor y = geluTanh(x);
    torch::Tensor g = torch::randn_like(x);
    y.backward(g);
    torch::Tensor xd = x.detach().to(torch::kFloat64).set_requires_grad(true);
    torch::Tensor yd = refGelu(xd);
    yd.backward(g.to(torch::kFloat64));
    EXPECT_LT((y.detach().to(torch::kFloat64) - yd.detach()).abs().max().item<double>(), 2e-6);
    // |g| reaches ~4 here: a few fp32 ulps of the product.
    EXPECT_LT((x.grad().to(torch::kFloat64) - xd.grad()).abs().max().item<double>(), 1e-5);
    // Far out in both tails: exactly x and (almost) 0, no NaN from exp overflow.
    torch::Tensor t = geluTanh(torch::tensor({-200.0f, -30.0f, 30.0f, 200.0f}));
    EXPECT_EQ(t[2].item<float>(), 30.0f);
    EXPECT_EQ(t[3].item<float>(), 200.0f);
    EXPECT_LT(std::abs(t[0].item<float>()), 1e-30);
    EXPECT_LT(std::abs(t[1].item<float>()), 1e-30);
    // NaN in, NaN out (divergence must stay visible).
    EXPECT_TRUE(std::isnan(geluTanh(torch::tensor({NAN}))[0].item<float>()));
}

TEST(CpuKernels, GeluTanhMatchesFormulaBf16) {
    torch::manual_seed(2);
    torch::Tensor x = (torch::randn({3, 777}) * 3).to(torch::kBFloat16).set_requires_grad(true);
    torch::Tensor y = geluTanh(x);
    ASSERT_EQ(y.scalar_type(), torch::kBFloat16);
    torch::Tensor g = torch::randn(x.sizes()).to(torch::kBFloat16);
    y.backward(g);
    torch::Tensor xd = x.detach().to(torch::kFloat64).set_requires_grad(true);
    torch::Tensor yd = refGelu(xd);
    yd.backward(g.to(torch::kFloat64));
    // One bf16 rounding of the fp32 result: relative error <= 2^-8.
    auto relErr = [](const torch::Tensor& a, const torch::Tensor& ref) {
        return ((a.to(torch::kFloat64) - ref).abs() / (ref.abs() + 1e-3)).max().item<double>();
    };
    EXPECT_LT(relErr(y.detach(), yd.detach()), 1.0 / 128);
    EXPECT_LT(relErr(x.grad(), xd.grad()), 1.0 / 128);
}

namespace {
// Reference: loss sum and d(loss * scale)/dz for logits z [n,V] in double.
std::pair<double, torch::Tensor> refXent(const torch::Tensor& z, const torch::Tensor& target, double scale) {
    torch::Tensor zd = z.to(torch::kFloat64).detach().set_requires_grad(true);
    torch::Tensor l = torch::nn::functional::cross_entropy(
        zd, target, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    (l * scale).backward();
    return {l.item<double>(), zd.grad()};
}
}  // namespace

TEST(CpuKernels, CrossEntropyKernelsMatchReference) {
    torch::manual_seed(3);
    const int64_t n = 37, V = 1003;
    torch::Tensor z = torch::randn({n, V}) * 3;
    torch::Tensor target = torch::randint(0, V, {n}, torch::kInt64);
    std::vector<int32_t> t32(n);
    for (int64_t i = 0; i < n; ++i) t32[static_cast<size_t>(i)] = static_cast<int32_t>(target[i].item<int64_t>());
    const float scale = 0.25f;
    for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
        torch::Tensor zq = z.to(dtype);
        auto [refLoss, refGrad] = refXent(zq, target, scale);
        const double tol = dtype == torch::kFloat32 ? 1e-5 : 4e-3;
        for (bool vocabMajor : {false, true}) {
            torch::Tensor buf = vocabMajor ? zq.t().contiguous() : zq.clone();
            std::vector<float> loss(static_cast<size_t>(n));
            // Two token ranges, as two threads would split them.
            for (auto [j0, j1] : {std::pair<int64_t, int64_t>{0, 20}, {20, n}}) {
                float* lp = loss.data() + j0;
                if (dtype == torch::kFloat32) {
                    if (vocabMajor)
                        kernels::crossEntropyCols(buf.data_ptr<float>(), V, n, j0, j1, t32.data(), lp, true, scale);
                    else kernels::crossEntropyRows(buf.data_ptr<float>(), V, j0, j1, t32.data(), lp, true, scale);
                } else {
                    auto* p = reinterpret_cast<uint16_t*>(buf.data_ptr());
                    if (vocabMajor) kernels::crossEntropyCols(p, V, n, j0, j1, t32.data(), lp, true, scale);
                    else kernels::crossEntropyRows(p, V, j0, j1, t32.data(), lp, true, scale);
                }
            }
            double sum = 0;
            for (float l : loss) sum += l;
            EXPECT_NEAR(sum, refLoss, 1e-5 * std::abs(refLoss))
                << (vocabMajor ? "vocab-major " : "token-major ") << dtype;
            torch::Tensor grad = (vocabMajor ? buf.t() : buf).to(torch::kFloat64);
            EXPECT_LT((grad - refGrad).abs().max().item<double>(), tol * scale)
                << (vocabMajor ? "vocab-major " : "token-major ") << dtype;
        }
    }
    // Vocabulary-major with scratch columns (as lm_loss.cpp pads each chunk to whole vectors): the
    // buffer is [V, 48] for 37 tokens, the scratch columns hold huge values and NaN, and the two
    // token ranges may use columns up to the next range's start / the row's end. Results match the
    // reference and no token column outside the ranges is touched.
    for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
        torch::Tensor zq = z.to(dtype);
        auto [refLoss, refGrad] = refXent(zq, target, scale);
        const double tol = dtype == torch::kFloat32 ? 1e-5 : 4e-3;
        const int64_t ld = 48;
        torch::Tensor buf = torch::full({V, ld}, 1e30, zq.options());
        buf.slice(1, n + 3, n + 4).fill_(NAN);
        buf.slice(1, 0, n).copy_(zq.t());
        std::vector<float> loss(static_cast<size_t>(n));
        for (auto [j0, j1, pad] : {std::tuple<int64_t, int64_t, int64_t>{0, 16, 16}, {16, n, ld}}) {
            float* lp = loss.data() + j0;
            if (dtype == torch::kFloat32)
                kernels::crossEntropyCols(buf.data_ptr<float>(), V, ld, j0, j1, t32.data(), lp, true, scale, pad);
            else
                kernels::crossEntropyCols(reinterpret_cast<uint16_t*>(buf.data_ptr()), V, ld, j0, j1, t32.data(), lp,
                                          true, scale, pad);
        }
        double sum = 0;
        for (float l : loss) sum += l;
        EXPECT_NEAR(sum, refLoss, 1e-5 * std::abs(refLoss)) << "padded " << dtype;
        torch::Tensor grad = buf.slice(1, 0, n).t().to(torch::kFloat64);
        EXPECT_LT((grad - refGrad).abs().max().item<double>(), tol * scale) << "padded " << dtype;
    }
    // A NaN logit makes that token's loss NaN (the trainer's divergence check sees it).
    torch::Tensor bad = z.clone();
    bad[5][7] = NAN;
    std::vector<float> loss(static_cast<size_t>(n));
    kernels::crossEntropyRows(bad.data_ptr<float>(), V, 0, n, t32.data(), loss.data(), false, 1.0f);
    EXPECT_TRUE(std::isnan(loss[5]));
    EXPECT_FALSE(std::isnan(loss[4]));
}

namespace {
// lmLossChunked (loss and gradient into the hidden states) against cross_entropy over the full
// head product, for the tiny GPT-2 fixture in `dtype`, with `chunkRows` rows per chunk.
void checkChunkedLoss(torch::Dtype dtype, int64_t chunkRows, double tol) {
    ModelOptions o;
    o.dtype = dtype;
    auto m = loadModel(test::fixture("tiny-gpt2/base"), o);
    torch::manual_seed(4);
    const int64_t V = m.model->config().vocabSize;
    torch::Tensor ids = torch::randint(0, V, {2, 9}, torch::kInt64);
    torch::Tensor labels = ids.clone();
    labels[0][3] = -100;  // a masked position is skipped
    torch::Tensor h = torch::randn({2, 9, m.model->config().hiddenSize}).to(dtype).set_requires_grad(true);
    LmLoss got = lmLossChunked(*m.model, h, labels, true, 0.5, chunkRows);
    torch::Tensor gotGrad = h.grad().to(torch::kFloat64).clone();

    torch::Tensor hr = h.detach().clone().set_requires_grad(true);
    torch::Tensor logits = m.model->lmHead(hr.slice(1, 0, 8)).to(torch::kFloat32).reshape({-1, V});
    torch::Tensor ref = torch::nn::functional::cross_entropy(
        logits, labels.slice(1, 1).reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum).ignore_index(-100));
    (ref * 0.5).backward();
    EXPECT_EQ(got.count, 15);
    EXPECT_NEAR(got.sum.item<double>(), ref.item<double>(), 1e-4 * std::abs(ref.item<double>()))
        << dtype << " rows " << chunkRows;
    torch::Tensor refGrad = hr.grad().to(torch::kFloat64);
    EXPECT_LT((gotGrad - refGrad).abs().max().item<double>(), tol * refGrad.abs().max().item<double>())
        << dtype << " rows " << chunkRows;
}
}  // namespace

TEST(CpuKernels, ChunkedLossMatchesFullCrossEntropyFp32) {
    checkChunkedLoss(torch::kFloat32, 0, 1e-5);
    checkChunkedLoss(torch::kFloat32, 4, 1e-5);
}

TEST(CpuKernels, ChunkedLossMatchesFullCrossEntropyBf16) {
    // bf16: the gradient is rounded to bf16 once before the head's backward product.
    checkChunkedLoss(torch::kBFloat16, 0, 2e-2);
    checkChunkedLoss(torch::kBFloat16, 4, 2e-2);
}

TEST(CpuKernels, LoraInBf16MatchesFp32) {
    // The LoRA products run in bf16 on bf16 activations (as under autocast); their output and
    // the fp32 master weights' gradients stay close to the all-fp32 computation.
    auto run = [](torch::Dtype dtype) {
        ModelOptions o;
        o.dtype = dtype;
        auto m = loadModel(test::fixture("tiny-gpt2/base"), o);
        nlohmann::json cfg = {{"peft_type", "LORA"},
                              {"r", 4},
                              {"lora_alpha", 8},
                              {"target_modules", {"c_attn"}},
                              {"fan_in_fan_out", true}};
        auto ad = attachAdapter(*m.model, cfg, "default");
        torch::manual_seed(5);
        for (auto& [name, t] : ad.method->trainable()) {
            torch::NoGradGuard ng;
            t.normal_(0, 0.2);  // B is zero at init: give both factors values
        }
        torch::Tensor ids = torch::tensor({{84, 483, 83, 26, 7, 99}}, torch::kInt64);
        torch::Tensor logits = m.model->forward(ids).to(torch::kFloat32);
        logits.pow(2).mean().backward();
        std::vector<torch::Tensor> grads;
        for (auto& [name, t] : ad.method->trainable()) {
            EXPECT_EQ(t.scalar_type(), torch::kFloat32) << name;
            EXPECT_TRUE(t.grad().defined()) << name;
            grads.push_back(t.grad().clone());
        }
        return std::make_pair(logits.detach(), grads);
    };
    auto [l32, g32] = run(torch::kFloat32);
    auto [l16, g16] = run(torch::kBFloat16);
    EXPECT_LT((l16 - l32).abs().max().item<double>(), 0.05 * l32.abs().max().item<double>());
    ASSERT_EQ(g16.size(), g32.size());
    for (size_t i = 0; i < g32.size(); ++i) {
        const double rel = (g16[i] - g32[i]).norm().item<double>() / (g32[i].norm().item<double>() + 1e-12);
        EXPECT_LT(rel, 0.05) << i;
    }
}

TEST(CpuKernels, CausalAttentionMatchesMaskedSoftmax) {
    // attention() with no mask is causal; on CPU it runs the fused scale+mask+softmax kernel.
    torch::manual_seed(6);
    const int64_t B = 2, H = 3, T = 19, D = 8;
    const double scale = 1.0 / std::sqrt(static_cast<double>(D));
    for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
        torch::Tensor q = torch::randn({B, H, T, D}).to(dtype).set_requires_grad(true);
        torch::Tensor k = torch::randn({B, H, T, D}).to(dtype).set_requires_grad(true);
        torch::Tensor v = torch::randn({B, H, T, D}).to(dtype).set_requires_grad(true);
        torch::Tensor out = attention(q, k, v, torch::Tensor(), scale);
        torch::Tensor g = torch::randn(out.sizes()).to(dtype);
        out.backward(g);

        auto d = [](const torch::Tensor& t) { return t.detach().to(torch::kFloat64).set_requires_grad(true); };
        torch::Tensor qd = d(q), kd = d(k), vd = d(v);
        torch::Tensor s = torch::matmul(qd, kd.transpose(-2, -1)) * scale;
        s = s.masked_fill(torch::ones({T, T}, torch::kBool).triu(1), -1e300);
        torch::Tensor ref = torch::matmul(torch::softmax(s, -1), vd);
        ref.backward(g.to(torch::kFloat64));
        const double tol = dtype == torch::kFloat32 ? 1e-5 : 5e-2;
        EXPECT_LT((out.detach().to(torch::kFloat64) - ref.detach()).abs().max().item<double>(), tol) << dtype;
        EXPECT_LT((q.grad().to(torch::kFloat64) - qd.grad()).abs().max().item<double>(), tol) << dtype;
        EXPECT_LT((k.grad().to(torch::kFloat64) - kd.grad()).abs().max().item<double>(), tol) << dtype;
        EXPECT_LT((v.grad().to(torch::kFloat64) - vd.grad()).abs().max().item<double>(), tol) << dtype;
    }
}

TEST(CpuKernels, RightPaddedBatchRunsCausalWithSameResult) {
    // setPadRowsUnread (the trainer): a right-padded batch runs as plain causal attention (the
    // fused kernel) instead of an additive [B,1,T,T] mask. Outputs and LoRA gradients at real
    // positions must not change; padding positions do change (which shows the other path ran).
    for (const char* fx : {"tiny-gpt2/base", "tiny-llama/base"}) {
        for (auto dtype : {torch::kFloat32, torch::kBFloat16}) {
            auto run = [&](bool unread) {
                ModelOptions o;
                o.dtype = dtype;
                auto m = loadModel(test::fixture(fx), o);
                const bool gpt2 = m.model->config().family == Family::Gpt2;
                nlohmann::json cfg = {
                    {"peft_type", "LORA"},
                    {"r", 4},
                    {"lora_alpha", 8},
                    {"target_modules", gpt2 ? nlohmann::json{"c_attn"} : nlohmann::json{"q_proj", "v_proj"}},
                    {"fan_in_fan_out", gpt2}};
                auto ad = attachAdapter(*m.model, cfg, "default");
                torch::manual_seed(7);
                for (auto& [name, t] : ad.method->trainable()) {
                    torch::NoGradGuard ng;
                    t.normal_(0, 0.2);
                }
                m.model->setPadRowsUnread(unread);
                torch::Tensor ids =
                    torch::tensor({{84, 483, 83, 26, 7, 99, 12, 5}, {31, 9, 250, 77, 0, 0, 0, 0}}, torch::kInt64);
                torch::Tensor mask = torch::tensor({{1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0, 0, 0}}, torch::kInt64);
                torch::Tensor h = m.model->hiddenStates(ids, mask).to(torch::kFloat32);
                torch::Tensor real = mask.to(torch::kFloat32).unsqueeze(-1);
                (h * real).pow(2).sum().backward();
                std::vector<torch::Tensor> grads;
                for (auto& [name, t] : ad.method->trainable()) grads.push_back(t.grad().clone());
                return std::make_pair(h.detach(), grads);
            };
            auto [hMask, gMask] = run(false);
            auto [hCausal, gCausal] = run(true);
            const double tol = dtype == torch::kFloat32 ? 1e-4 : 5e-2;
            const double scale = hMask.abs().max().item<double>();
            torch::Tensor realRows =
                torch::cat({hMask[0], hMask[1].slice(0, 0, 4)}) - torch::cat({hCausal[0], hCausal[1].slice(0, 0, 4)});
            EXPECT_LT(realRows.abs().max().item<double>(), tol * scale) << fx << " " << dtype;
            EXPECT_GT((hMask[1].slice(0, 4) - hCausal[1].slice(0, 4)).abs().max().item<double>(), 1e-3 * scale)
                << fx << " " << dtype << ": padding rows unchanged, so the causal path did not run";
            ASSERT_EQ(gMask.size(), gCausal.size());
            for (size_t i = 0; i < gMask.size(); ++i) {
                const double rel =
                    (gMask[i] - gCausal[i]).norm().item<double>() / (gMask[i].norm().item<double>() + 1e-12);
                EXPECT_LT(rel, dtype == torch::kFloat32 ? 1e-4 : 5e-2) << fx << " " << dtype << " grad " << i;
            }
        }
    }
}

TEST(CpuKernels, LayerNormBf16MatchesReference) {
    // bf16 LayerNorm with frozen affine parameters runs the fused kernels; compare output and
    // input gradient against LibTorch's LayerNorm in double on the same (bf16-rounded) values.
    // C = 50 has a tail after the 16-lane blocks; 37 rows split across threads unevenly.
    torch::manual_seed(7);
    for (int64_t C : {int64_t{50}, int64_t{768}}) {
        LayerNorm ln(C, 1e-5);
        {
            torch::NoGradGuard ng;
            ln->weight.copy_(torch::randn({C}) * 0.5 + 1);
            ln->bias.copy_(torch::randn({C}) * 0.1);
        }
        torch::Tensor x = (torch::randn({37, C}) * 3 + 2).to(torch::kBFloat16).set_requires_grad(true);
        torch::Tensor y = ln->forward(x);
        ASSERT_EQ(y.scalar_type(), torch::kBFloat16);
        ASSERT_TRUE(y.grad_fn());
        EXPECT_NE(y.grad_fn()->name().find("LayerNormBf16Cpu"), std::string::npos) << y.grad_fn()->name();
        torch::Tensor g = torch::randn({37, C}).to(torch::kBFloat16);
        y.backward(g);

        torch::Tensor xd = x.detach().to(torch::kFloat64).set_requires_grad(true);
        torch::Tensor ref =
            torch::layer_norm(xd, {C}, ln->weight.to(torch::kFloat64), ln->bias.to(torch::kFloat64), 1e-5);
        ref.backward(g.to(torch::kFloat64));
        const double yerr = (y.to(torch::kFloat64) - ref.detach()).abs().max().item<double>();
        const double gref = xd.grad().abs().max().item<double>();
        const double gerr = (x.grad().to(torch::kFloat64) - xd.grad()).abs().max().item<double>();
        EXPECT_LT(yerr, 4.0 / 128) << C;  // one bf16 rounding of values up to ~4
        EXPECT_LT(gerr, gref / 64) << C;
        EXPECT_GT(gref, 0.0);
    }
}

TEST(CpuKernels, PackedBf16LinearMatchesPlainProducts) {
    // Frozen bf16 weights in CPU training go through oneDNN with pre-packed copies (linear.h).
    // Forward, input gradient and a trainable bias's gradient must match the plain LibTorch
    // products in double on the same bf16 values, for GPT-2 Conv1D and nn.Linear layouts, shapes
    // that are not multiples of the kernels' blocks, and a weight edited in place (merge).
    if (std::getenv("PEFT_PACKED_WEIGHTS") && std::string(std::getenv("PEFT_PACKED_WEIGHTS")) == "0")
        GTEST_SKIP() << "PEFT_PACKED_WEIGHTS=0";
    torch::manual_seed(11);
    for (bool conv1d : {true, false}) {
        for (auto [in, out, rows] : {std::tuple<int64_t, int64_t, int64_t>{50, 70, 37}, {50, 70, 100}, {768, 96, 37}}) {
            const bool hasBias = in == 50;  // Llama projections have none
            Linear lin("layer", in, out, hasBias, conv1d, nullptr);
            {
                torch::NoGradGuard ng;
                lin->weight.set_data((torch::randn(lin->weight.sizes()) * 0.1).to(torch::kBFloat16));
                if (hasBias) lin->bias.set_data((torch::randn({out}) * 0.1).to(torch::kBFloat16));
            }
            lin->weight.set_requires_grad(false);
            if (hasBias) lin->bias.set_requires_grad(true);  // BitFit-style: the bias trains
            const int64_t before = packedWeightBytesInUse();
            for (int round = 0; round < 2; ++round) {
                if (round == 1) {  // an in-place edit (what merge does) must be seen
                    torch::NoGradGuard ng;
                    lin->weight.mul_(-2);
                }
                torch::Tensor x = torch::randn({rows, in}).to(torch::kBFloat16).set_requires_grad(true);
                if (hasBias) lin->bias.mutable_grad() = torch::Tensor();
                const int64_t productsBefore = kernels::packedProductCount();
                torch::Tensor y = lin->forward(x);
                ASSERT_TRUE(y.grad_fn());
                // The node sits under the view back to the input's shape (Conv1D) or on top.
                bool packed = false;
                for (auto fn = y.grad_fn(); fn && !packed;
                     fn = fn->next_edges().empty() ? nullptr : fn->next_edges()[0].function)
                    packed = fn->name().find("PackedLinearBf16Cpu") != std::string::npos;
                if (kernels::dnnlAvailable()) EXPECT_TRUE(packed) << y.grad_fn()->name();
                torch::Tensor g = torch::randn({rows, out}).to(torch::kBFloat16);
                y.backward(g);
                // oneDNN takes the packed layout for these rows (at 50x70 with 37 rows it wants
                // another one and LibTorch's product runs: the results are checked either way).
                if (kernels::dnnlAvailable() && !(in == 50 && rows == 37))
                    EXPECT_EQ(kernels::packedProductCount() - productsBefore, 2) << "forward + input gradient";

                torch::Tensor wd = lin->denseWeight().to(torch::kFloat64);  // [out,in]
                torch::Tensor ref = x.detach().to(torch::kFloat64).mm(wd.t());
                if (hasBias) ref = ref + lin->bias.detach().to(torch::kFloat64);
                torch::Tensor gxRef = g.to(torch::kFloat64).mm(wd);
                torch::Tensor gbRef = g.to(torch::kFloat64).sum(0);
                const double scale = ref.abs().max().item<double>();
                EXPECT_LT((y.to(torch::kFloat64) - ref).abs().max().item<double>(), scale / 64) << conv1d << " " << in;
                const double gscale = gxRef.abs().max().item<double>();
                EXPECT_LT((x.grad().to(torch::kFloat64) - gxRef).abs().max().item<double>(), gscale / 64);
                if (!hasBias) continue;
                ASSERT_TRUE(lin->bias.grad().defined());
                EXPECT_LT((lin->bias.grad().to(torch::kFloat64) - gbRef).abs().max().item<double>(),
                          gbRef.abs().max().item<double>() / 32);
            }
            if (kernels::dnnlAvailable()) EXPECT_GT(packedWeightBytesInUse(), before);
            lin->releasePacked();
            EXPECT_EQ(packedWeightBytesInUse(), before);
            // Inference (no grad) keeps the plain product and packs nothing.
            torch::NoGradGuard ng;
            torch::Tensor y = lin->forward(torch::randn({rows, in}).to(torch::kBFloat16));
            EXPECT_EQ(packedWeightBytesInUse(), before);
            EXPECT_EQ(y.sizes(), (std::vector<int64_t>{rows, out}));
        }
    }
}

TEST(CpuKernels, PackedWeightsOffForARunPacksNothing) {
    // training.packed_weights false (a scope on the trainer's thread): the same bf16 training
    // product runs through LibTorch, makes no copies, and gives the same result within bf16 rounding.
    if (!kernels::dnnlAvailable()) GTEST_SKIP() << "no oneDNN packed path in this build/CPU";
    if (std::getenv("PEFT_PACKED_WEIGHTS") && std::string(std::getenv("PEFT_PACKED_WEIGHTS")) == "0")
        GTEST_SKIP() << "PEFT_PACKED_WEIGHTS=0";
    torch::manual_seed(5);
    Linear lin("layer", 768, 96, false, true, nullptr);
    {
        torch::NoGradGuard ng;
        lin->weight.set_data((torch::randn(lin->weight.sizes()) * 0.1).to(torch::kBFloat16));
    }
    lin->weight.set_requires_grad(false);
    torch::Tensor x = torch::randn({64, 768}).to(torch::kBFloat16).set_requires_grad(true);
    const int64_t bytesBefore = packedWeightBytesInUse();
    const int64_t productsBefore = kernels::packedProductCount();
    EXPECT_TRUE(packedWeightsAllowedOnThisThread());
    torch::Tensor plain;
    {
        PackedWeightsScope off(false);
        EXPECT_FALSE(packedWeightsAllowedOnThisThread());
        {
            PackedWeightsScope on(true);  // scopes nest and restore
            EXPECT_TRUE(packedWeightsAllowedOnThisThread());
        }
        EXPECT_FALSE(packedWeightsAllowedOnThisThread());
        plain = lin->forward(x);
        plain.sum().backward();
        EXPECT_EQ(kernels::packedProductCount(), productsBefore);
        EXPECT_EQ(packedWeightBytesInUse(), bytesBefore);
    }
    EXPECT_TRUE(packedWeightsAllowedOnThisThread());
    // Another thread is not affected by this thread's scope.
    bool otherThread = false;
    {
        PackedWeightsScope off(false);
        std::thread([&] { otherThread = packedWeightsAllowedOnThisThread(); }).join();
    }
    EXPECT_TRUE(otherThread);
    torch::Tensor packed = lin->forward(x);
    EXPECT_EQ(kernels::packedProductCount(), productsBefore + 1);
    EXPECT_GT(packedWeightBytesInUse(), bytesBefore);
    const double scale = plain.abs().max().item<float>();
    EXPECT_LT((packed - plain).abs().max().item<float>(), scale / 64);
    lin->releasePacked();
}
