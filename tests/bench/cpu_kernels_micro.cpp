// Stand-alone timing of the hand-written CPU kernels at the GPT-2 124M / 2x128 training shape
// (per step: 12 layers of attention probabilities and GELU, one 50257 x 254 loss chunk). No
// LibTorch; not part of the build. Build and run from the repository root:
//   g++ -O3 -fno-trapping-math -std=c++17 -I. tests/bench/cpu_kernels_micro.cpp core/model/softmax_cpu.cpp \
//       core/train/lm_loss_cpu.cpp core/model/gelu_cpu.cpp core/model/layernorm_cpu.cpp -o /tmp/cpu_kernels_micro
//   /tmp/cpu_kernels_micro
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "core/model/gelu_cpu.h"
#include "core/model/layernorm_cpu.h"
#include "core/model/softmax_cpu.h"
#include "core/train/lm_loss_cpu.h"

using namespace peft::kernels;

namespace {
uint16_t bf(float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    return static_cast<uint16_t>(b >> 16);
}
template <class F>
double ms(F f, int n) {
    f();
    const auto t = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) f();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count() / n;
}
}  // namespace

int main() {
    std::mt19937 g(1);
    std::normal_distribution<float> nd(0, 2);
    const int64_t T = 128, rows = 24 * T;  // batch 2 x 12 heads
    std::vector<uint16_t> s(rows * T), p(rows * T), gp(rows * T), gs(rows * T);
    for (auto& x : s) x = bf(nd(g));
    for (auto& x : gp) x = bf(nd(g) * 0.01f);
    std::printf("causal softmax forward, 12 layers: %.2f ms\n",
                12 * ms([&] { causalSoftmaxForward(s.data(), p.data(), rows, T, 0.125f); }, 20));
    std::printf("causal softmax backward, 12 layers: %.2f ms\n",
                12 * ms([&] { causalSoftmaxBackward(p.data(), gp.data(), gs.data(), rows, T, 0.125f); }, 20));

    const int64_t V = 50257, n = 254;
    std::vector<int32_t> tg(n);
    for (auto& t : tg) t = static_cast<int32_t>(g() % V);
    std::vector<float> loss(n);
    for (int64_t ld : {n, int64_t{256}}) {
        std::vector<uint16_t> z0(V * ld), z(V * ld);
        for (auto& x : z0) x = bf(nd(g));
        const double copy = ms([&] { std::memcpy(z.data(), z0.data(), z.size() * 2); }, 5);
        const double t = ms(
            [&] {
                std::memcpy(z.data(), z0.data(), z.size() * 2);
                crossEntropyCols(z.data(), V, ld, 0, n, tg.data(), loss.data(), true, 1.0f / n, ld);
            },
            5);
        std::printf("cross-entropy, vocab-major bf16, %ld tokens in rows of %ld: %.2f ms\n", static_cast<long>(n),
                    static_cast<long>(ld), t - copy);
    }

    const int64_t N = 256 * 3072;
    std::vector<uint16_t> x(N), y(N), gy(N), gx(N);
    for (auto& v : x) v = bf(nd(g));
    for (auto& v : gy) v = bf(nd(g));
    std::printf("GELU forward, 12 layers: %.2f ms\n", 12 * ms([&] { geluTanhForward(x.data(), y.data(), N); }, 20));
    std::printf("GELU backward, 12 layers: %.2f ms\n",
                12 * ms([&] { geluTanhBackward(x.data(), gy.data(), gx.data(), N); }, 20));

    const int64_t R = 256, C = 768;
    std::vector<float> w(C, 1.0f), b(C, 0.0f), mean(R), rstd(R);
    std::printf(
        "LayerNorm forward, 25 norms: %.2f ms\n",
        25 *
            ms([&] { layerNormForward(x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), R, C, 1e-5f); },
               50));
    std::printf(
        "LayerNorm backward, 24 norms: %.2f ms\n",
        24 *
            ms([&] { layerNormBackward(x.data(), gy.data(), w.data(), mean.data(), rstd.data(), gx.data(), R, C); },
               50));
    return 0;
}
