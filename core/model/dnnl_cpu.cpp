// oneDNN products with pre-packed bf16 weights (see dnnl_cpu.h).
#include "core/model/dnnl_cpu.h"

#include <atomic>

#ifdef PEFT_HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>

#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#endif

namespace peft::kernels {

namespace {
std::atomic<int64_t> g_packedProducts{0};
}

int64_t packedProductCount() { return g_packedProducts.load(); }

#ifndef PEFT_HAVE_DNNL

bool dnnlAvailable() { return false; }
size_t PackedBf16Matrix::packedBytes(int64_t, int64_t) { return 0; }
std::shared_ptr<PackedBf16Matrix> PackedBf16Matrix::pack(const uint16_t*, int64_t, int64_t, int64_t, int64_t, void*) {
    return nullptr;
}

#else

namespace {

using dt = dnnl::memory::data_type;

dnnl::engine& cpuEngine() {
    static dnnl::engine e(dnnl::engine::kind::cpu, 0);
    return e;
}

// The packed layout is chosen for a reference number of rows; products with other M reuse it when
// oneDNN's kernel for that M reads the same layout, and fall back otherwise.
constexpr int64_t kRefRows = 256;

class PackedImpl final : public PackedBf16Matrix {
public:
    PackedImpl(dnnl::memory::desc packedDesc, dnnl::memory packed, int64_t K, int64_t N)
        : m_desc(std::move(packedDesc)), m_packed(std::move(packed)), m_k(K), m_n(N) {}

    bool multiply(const uint16_t* a, int64_t M, uint16_t* c) override { return run(a, M, nullptr, c); }
    bool multiplyBias(const uint16_t* a, int64_t M, const uint16_t* bias, uint16_t* c) override {
        return run(a, M, bias, c);
    }
    int64_t rows() const override { return m_k; }
    int64_t cols() const override { return m_n; }
    size_t bytes() const override { return m_desc.get_size(); }

private:
    // C = A @ B, plus the bias row where `bias` is not null.
    bool run(const uint16_t* a, int64_t M, const uint16_t* bias, uint16_t* c) {
        if (M <= 0) return true;
        const dnnl::matmul* prim = primitive(M, bias != nullptr);
        if (!prim) return false;
        try {
            dnnl::engine& eng = cpuEngine();
            dnnl::memory::desc aDesc({M, m_k}, dt::bf16, dnnl::memory::dims{m_k, 1});
            dnnl::memory::desc cDesc({M, m_n}, dt::bf16, dnnl::memory::dims{m_n, 1});
            dnnl::memory am(aDesc, eng, const_cast<uint16_t*>(a));
            dnnl::memory cm(cDesc, eng, c);
            thread_local dnnl::stream s(eng);
            std::unordered_map<int, dnnl::memory> args{
                {DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, m_packed}, {DNNL_ARG_DST, cm}};
            if (bias) args.emplace(DNNL_ARG_BIAS, dnnl::memory(biasDesc(), eng, const_cast<uint16_t*>(bias)));
            prim->execute(s, args);
            s.wait();
            ++g_packedProducts;
            return true;
        } catch (const dnnl::error&) {
            return false;
        }
    }
    dnnl::memory::desc biasDesc() const { return dnnl::memory::desc({1, m_n}, dt::bf16, dnnl::memory::dims{m_n, 1}); }

    // One primitive per (M, with bias); null (remembered) where the kernel for M wants another
    // weight layout or oneDNN only has a slow reference kernel.
    const dnnl::matmul* primitive(int64_t M, bool withBias) {
        std::lock_guard<std::mutex> lock(m_mutex);
        auto key = std::make_pair(M, withBias);
        auto it = m_prims.find(key);
        if (it != m_prims.end()) return it->second ? &*it->second : nullptr;
        std::unique_ptr<dnnl::matmul> p;
        try {
            dnnl::memory::desc aDesc({M, m_k}, dt::bf16, dnnl::memory::dims{m_k, 1});
            dnnl::memory::desc cDesc({M, m_n}, dt::bf16, dnnl::memory::dims{m_n, 1});
            const dnnl::matmul::desc md = withBias ? dnnl::matmul::desc(aDesc, m_desc, biasDesc(), cDesc)
                                                   : dnnl::matmul::desc(aDesc, m_desc, cDesc);
            dnnl::matmul::primitive_desc pd(md, cpuEngine());
            const std::string impl = pd.impl_info_str();
            if (pd.weights_desc() == m_desc && impl.find("ref") == std::string::npos)
                p = std::make_unique<dnnl::matmul>(pd);
        } catch (const dnnl::error&) {
        }
        auto& slot = m_prims[key];
        slot = std::move(p);
        return slot ? &*slot : nullptr;
    }

    dnnl::memory::desc m_desc;
    dnnl::memory m_packed;
    int64_t m_k, m_n;
    std::mutex m_mutex;
    std::map<std::pair<int64_t, bool>, std::unique_ptr<dnnl::matmul> > m_prims;
};

}  // namespace

bool dnnlAvailable() {
    static const bool ok = [] {
        try {
            // A tiny product tells whether a bf16 kernel that is not the reference one exists.
            dnnl::memory::desc a({32, 32}, dt::bf16, dnnl::memory::format_tag::ab);
            dnnl::memory::desc b({32, 32}, dt::bf16, dnnl::memory::format_tag::any);
            dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, a), cpuEngine());
            return std::string(pd.impl_info_str()).find("ref") == std::string::npos;
        } catch (const dnnl::error&) {
            return false;
        }
    }();
    return ok;
}

namespace {

// The layout oneDNN's kernel wants for B at the reference M; undefined desc where it has none
// but the reference kernel.
dnnl::memory::desc packedDesc(int64_t K, int64_t N) {
    if (!dnnlAvailable() || K <= 0 || N <= 0) return {};
    try {
        dnnl::memory::desc aDesc({kRefRows, K}, dt::bf16, dnnl::memory::dims{K, 1});
        dnnl::memory::desc cDesc({kRefRows, N}, dt::bf16, dnnl::memory::dims{N, 1});
        dnnl::memory::desc anyB({K, N}, dt::bf16, dnnl::memory::format_tag::any);
        dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(aDesc, anyB, cDesc), cpuEngine());
        if (std::string(pd.impl_info_str()).find("ref") != std::string::npos) return {};
        return pd.weights_desc();
    } catch (const dnnl::error&) {
        return {};
    }
}

}  // namespace

size_t PackedBf16Matrix::packedBytes(int64_t K, int64_t N) { return packedDesc(K, N).get_size(); }

std::shared_ptr<PackedBf16Matrix> PackedBf16Matrix::pack(const uint16_t* src, int64_t K, int64_t N, int64_t strideK,
                                                         int64_t strideN, void* dst) {
    const dnnl::memory::desc desc = packedDesc(K, N);
    if (desc.get_size() == 0 || !dst) return nullptr;
    try {
        dnnl::engine& eng = cpuEngine();
        dnnl::memory::desc plain({K, N}, dt::bf16, dnnl::memory::dims{strideK, strideN});
        dnnl::memory srcMem(plain, eng, const_cast<uint16_t*>(src));
        dnnl::memory packed(desc, eng, dst);
        dnnl::stream s(eng);
        dnnl::reorder(srcMem, packed).execute(s, srcMem, packed);
        s.wait();
        return std::make_shared<PackedImpl>(desc, std::move(packed), K, N);
    } catch (const dnnl::error&) {
        return nullptr;
    }
}

#endif

}  // namespace peft::kernels
