// Pre-run memory check: budget estimate vs. free RAM (/proc/meminfo) or free GPU memory.
#include "core/train/preflight.h"

#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/budget/budget.h"
#include "core/model/causal_lm.h"
#include "core/data/dataset_config.h"
#include "core/io/model_config.h"
#include "core/peft/method_spec.h"
#include "core/train/template_checks.h"
#include "core/util/error.h"
#include "core/util/runtime_info.h"

namespace peft {

std::optional<uint64_t> availableHostMemory() {
    std::ifstream in("/proc/meminfo");
    std::string key;
    uint64_t value = 0;
    std::string unit;
    while (in >> key >> value) {
        std::getline(in, unit);
        if (key == "MemAvailable:") return value * 1024;  // the kernel reports kB
    }
    return std::nullopt;
}

std::optional<uint64_t> availableCudaMemory() {
    // cudaError_t cudaMemGetInfo(size_t* free, size_t* total): looked up at run time so a CPU-only
    // build needs no CUDA headers.
    using MemGetInfo = int (*)(size_t*, size_t*);
    auto fn = reinterpret_cast<MemGetInfo>(::dlsym(RTLD_DEFAULT, "cudaMemGetInfo"));
    if (!fn) return std::nullopt;
    size_t freeBytes = 0, total = 0;
    if (fn(&freeBytes, &total) != 0) return std::nullopt;
    return static_cast<uint64_t>(freeBytes);
}

std::vector<std::string> memoryWarnings(uint64_t estimatedBytes, std::optional<uint64_t> availableBytes,
                                        const std::string& memoryKind) {
    std::vector<std::string> out;
    if (estimatedBytes == 0 || !availableBytes) return out;
    if (static_cast<double>(estimatedBytes) > 0.9 * static_cast<double>(*availableBytes)) {
        out.push_back("this run needs about " + budget::humanBytes(estimatedBytes) + " but only " +
                      budget::humanBytes(*availableBytes) + " of " + memoryKind +
                      " is free: it will probably run out of memory. Lower batch_size or max_length, use bf16, "
                      "quantize_base (QLoRA) or gradient accumulation, or close other programs.");
    }
    return out;
}

std::vector<std::string> precisionWarnings(const std::string& precision, const std::string& deviceType,
                                           bool cpuFastBf16) {
    std::vector<std::string> out;
    if (precision == "bf16" && deviceType == "cpu" && !cpuFastBf16)
        out.push_back(
            "training.precision is bf16 but this CPU has no AVX-512: LibTorch's bf16 matrix products fall back "
            "to a slow loop here (about 14x slower than fp32). Set training.precision to fp32 (Train page: "
            "Precision) for a much faster run.");
    return out;
}

PreflightReport preflight(const RunConfig& cfg, const std::string& deviceType) {
    PreflightReport r;
    const bool gpu = deviceType == "cuda";
    r.memoryKind = gpu ? "GPU memory" : "RAM";
    try {
        namespace fs = std::filesystem;
        ModelConfig mc = ModelConfig::load((fs::path(cfg.model) / "config.json").string());
        const TrainingConfig& t = cfg.training;
        budget::BudgetOptions o;
        o.batch = t.batchSize;
        data::DatasetConfig dc = data::DatasetConfig::fromJson(cfg.dataset, "dataset");
        o.seqLen = dc.maxLength;
        o.precision = t.precision == "bf16" ? budget::Precision::Bf16 : budget::Precision::Fp32;
        o.optimizer = t.optimizer == "sgd" ? (t.momentum > 0 ? budget::Optimizer::SgdMomentum : budget::Optimizer::Sgd)
            : t.optimizer == "adam"        ? budget::Optimizer::Adam
                                           : budget::Optimizer::AdamW;
        o.quantizeBase = t.quantizeBase ? budget::BaseQuant::Nf4DoubleQuant
                                        : budget::BaseQuant::None;  // as Trainer::setup quantises
        o.device = gpu ? budget::Device::Cuda : budget::Device::Cpu;
        o.fusedAttention = fusedAttentionAvailable();
        o.packedWeights = t.packedWeights;
        nlohmann::json method = cfg.method;
        method.erase("init_from");
        const bool full = methodSpec(peftTypeOf(method, "method")).replacesBase();
        r.estimatedBytes = budget::estimate(mc, full ? nlohmann::json(nullptr) : method, o).memory.trainingTotal();
    } catch (const std::exception& e) {
        spdlog::debug("preflight: no memory estimate ({})", e.what());
        r.warnings = precisionWarnings(cfg.training.precision, deviceType, cpuHasFastBf16());
        for (auto& w : templateWarnings(cfg)) r.warnings.push_back(std::move(w));
        return r;
    }
    r.availableBytes = gpu ? availableCudaMemory() : availableHostMemory();
    r.warnings = memoryWarnings(r.estimatedBytes, r.availableBytes, r.memoryKind);
    for (auto& w : precisionWarnings(cfg.training.precision, deviceType, cpuHasFastBf16()))
        r.warnings.push_back(std::move(w));
    for (auto& w : templateWarnings(cfg)) r.warnings.push_back(std::move(w));  // chat template and end-of-sequence
    return r;
}

}  // namespace peft
