// Runtime facts for logs and the About box. BLAS is found by walking the loaded shared objects:
// Debian's LibTorch calls whatever libblas.so.3 the alternatives system points at.
#include "core/util/runtime_info.h"

#include <dlfcn.h>
#include <link.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <atomic>
#include <filesystem>

#include "core/util/blas_tune.h"
#include "core/util/cpu_cores.h"

namespace peft {

std::string projectVersion() { return PEFT_STUDIO_VERSION; }

std::string torchVersion() {
#ifdef TORCH_VERSION
    return TORCH_VERSION;
#else
    return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
        std::to_string(TORCH_VERSION_PATCH);
#endif
}

int useThreads(long long requested, std::string* why) {
    const int n = resolveThreadCount(requested, why);
    // at::set_num_threads sets this thread's OpenMP count and the count later threads start with.
    at::set_num_threads(n);
    setBlasThreads(n);
    return n;
}

int currentThreads() { return at::get_num_threads(); }

ThreadsScope::ThreadsScope(long long requested) : m_previous(at::get_num_threads()) {
    m_count = useThreads(requested, &m_why);
}
ThreadsScope::~ThreadsScope() {
    at::set_num_threads(m_previous);
    setBlasThreads(m_previous);
}

namespace {
int collect(struct dl_phdr_info* info, size_t, void* data) {
    auto* out = static_cast<std::vector<std::string>*>(data);
    if (info->dlpi_name && *info->dlpi_name) out->emplace_back(info->dlpi_name);
    return 0;
}
}  // namespace

BlasInfo activeBlas() {
    std::vector<std::string> libs;
    dl_iterate_phdr(collect, &libs);
    BlasInfo info;
    info.name = "unknown";
    for (const auto& lib : libs) {
        std::error_code ec;
        std::string real = std::filesystem::weakly_canonical(lib, ec).string();
        if (ec) real = lib;
        auto has = [&](const char* s) { return real.find(s) != std::string::npos; };
        if (has("openblas")) {
            info = {real, "OpenBLAS", false};
            break;
        }
        if (has("libmkl")) {
            info = {real, "MKL", false};
            break;
        }
        if (has("blis")) {
            info = {real, "BLIS", false};
            break;
        }
        if (has("libblas.so") || has("/blas/")) info = {real, "reference BLAS", true};
    }
    if (info.name == "unknown" && torch::hasMKL()) info.name = "MKL (linked into LibTorch)";
    return info;
}

std::string versionLine() {
    BlasInfo b = activeBlas();
    std::string s = "PEFT Studio " + projectVersion() + " (LibTorch " + torchVersion() + ", BLAS: " + b.name;
    const std::string core = b.name == "OpenBLAS" ? openBlasCoreName() : "";
    if (!core.empty()) s += " " + core;
    if (!b.library.empty()) s += " [" + b.library + "]";
    s += ")";
    return s;
}

void logRuntimeInfo() {
    BlasInfo b = activeBlas();
    spdlog::info("{}", versionLine());
    std::string why;
    resolveThreadCount(0, &why);
    spdlog::info("threads: intra-op {}, inter-op {} ({})", at::get_num_threads(), at::get_num_interop_threads(), why);
    if (b.name == "OpenBLAS" && openBlasCoreName() == "Prescott")
        spdlog::warn(
            "OpenBLAS runs its generic 'Prescott' kernels (it did not recognise this CPU): fp32 products are "
            "several times slower than they could be. Set OPENBLAS_CORETYPE (e.g. Haswell or SkylakeX).");
    if (!cpuHasFastBf16())
        spdlog::info(
            "this CPU has no AVX-512: bf16 matrix products fall back to a slow loop in LibTorch, so CPU "
            "training is faster in fp32 (new projects default to it)");
    if (b.slow)
        spdlog::warn(
            "BLAS is the slow reference implementation ({}); fp32 training will be ~14x slower. "
            "Install libopenblas0-pthread (packaging/setup-deps.sh does) and check "
            "'update-alternatives --display libblas.so.3-x86_64-linux-gnu'.",
            b.library);
}

namespace {
std::atomic<int> g_fastBf16Override{-1};  // -1: detect; 0/1: a test's answer (read on worker threads)
}

bool cpuHasFastBf16() {
    if (const int o = g_fastBf16Override.load(); o >= 0) return o == 1;
#if defined(__x86_64__) && defined(__GNUC__)
    static const bool fast =
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    return fast;
#else
    return false;
#endif
}

void overrideCpuHasFastBf16(std::optional<bool> value) { g_fastBf16Override = value ? int(*value) : -1; }

bool cudaAvailable() { return torch::cuda::is_available(); }
int cudaDeviceCount() { return static_cast<int>(torch::cuda::device_count()); }

std::string suggestedPrecision() { return cudaAvailable() || cpuHasFastBf16() ? "bf16" : "fp32"; }

}  // namespace peft
