// OpenBLAS kernel selection fix-up (see blas_tune.h). No LibTorch here: it runs before anything
// else in main().
#include "core/util/blas_tune.h"

#include <dlfcn.h>

#include <cstdlib>

namespace peft {

namespace {
void* openBlasHandle() {
    // Loaded already as a dependency of LibTorch's libblas.so.3 (Debian's alternatives):
    // RTLD_NOLOAD only looks it up.
    for (const char* name : {"libopenblas.so.0", "libopenblasp-r0.3.21.so", "libopenblas.so"}) {
        if (void* h = ::dlopen(name, RTLD_NOW | RTLD_NOLOAD)) return h;
    }
    return nullptr;
}
}  // namespace

std::string openBlasCoreName() {
    void* h = openBlasHandle();
    if (!h) return "";
    using CoreName = char* (*)();
    auto coreName = reinterpret_cast<CoreName>(::dlsym(h, "openblas_get_corename"));
    std::string out = coreName ? coreName() : "";
    ::dlclose(h);
    return out;
}

void setBlasThreads(int n) {
    void* h = openBlasHandle();
    if (!h) return;
    using SetThreads = void (*)(int);
    if (auto set = reinterpret_cast<SetThreads>(::dlsym(h, "openblas_set_num_threads"))) set(n < 1 ? 1 : n);
    ::dlclose(h);
}

std::string tuneBlasKernels() {
#if defined(__x86_64__) && defined(__GNUC__)
    if (std::getenv("OPENBLAS_CORETYPE")) return "";
    void* h = openBlasHandle();
    if (!h) return "";
    using CoreName = char* (*)();
    using VoidFn = void (*)();
    auto coreName = reinterpret_cast<CoreName>(::dlsym(h, "openblas_get_corename"));
    auto quit = reinterpret_cast<VoidFn>(::dlsym(h, "gotoblas_dynamic_quit"));
    auto init = reinterpret_cast<VoidFn>(::dlsym(h, "gotoblas_dynamic_init"));
    std::string line;
    if (coreName && quit && init) {
        const std::string before = coreName();
        // "Prescott" is OpenBLAS's generic x86-64 fallback for an unknown CPU.
        const char* pick = nullptr;
        __builtin_cpu_init();
        // Haswell (AVX2/FMA), not SkylakeX, even on AVX-512 CPUs: with Debian's OpenBLAS 0.3.21 the
        // SkylakeX kernels are ~1.3x faster on GPT-2-sized fp32 products but 25-28x SLOWER on small
        // ones (the bundled demo model, hidden 128: 0.17 s vs 4.4 s per fp32 LoRA step; measured with
        // OPENBLAS_CORETYPE set in the environment, so it is the kernels, not the re-selection).
        if (before == "Prescott" && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) pick = "Haswell";
        if (pick) {
            // gotoblas_dynamic_init() only selects when no table is set; it reads the variable.
            ::setenv("OPENBLAS_CORETYPE", pick, 1);
            quit();
            init();
            line = "OpenBLAS did not recognise this CPU (generic '" + before + "' kernels); selected its '" +
                std::string(coreName()) + "' kernels (set OPENBLAS_CORETYPE to override)";
        }
    }
    ::dlclose(h);
    return line;
#else
    return "";
#endif
}

}  // namespace peft
