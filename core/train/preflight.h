// Pre-run checks: the budget estimate of a run's peak memory against the memory free on the device
// it will use, so a run that cannot fit is flagged before hours of data preparation and loading.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/train/run_config.h"

namespace peft {

struct PreflightReport {
    uint64_t estimatedBytes = 0;             // budget::estimate's training peak (0 when it could not be computed)
    std::optional<uint64_t> availableBytes;  // free memory on the device; nullopt when unknown
    std::string memoryKind;                  // "RAM" or "GPU memory"
    std::vector<std::string> warnings;       // one sentence each: what and what to try
};

// MemAvailable from /proc/meminfo (nullopt where it cannot be read).
std::optional<uint64_t> availableHostMemory();
// Free memory on the current CUDA device via the CUDA runtime already loaded by LibTorch
// (nullopt on a CPU-only build or when the runtime is not loaded).
std::optional<uint64_t> availableCudaMemory();

// Estimates the run's peak memory and compares it with what is free on `deviceType` ("cpu" or
// "cuda"). Warns when the estimate exceeds 90% of the free memory; adds the chat-template and
// end-of-sequence warnings of template_checks.h. Never throws for a bad config:
// the real setup reports those.
PreflightReport preflight(const RunConfig& cfg, const std::string& deviceType);

// A bf16 run on a CPU without fast bf16 products (runtime_info.h: cpuHasFastBf16) is warned about:
// there fp32 is many times faster.
std::vector<std::string> precisionWarnings(const std::string& precision, const std::string& deviceType,
                                           bool cpuFastBf16);

// Same comparison with the numbers given (for tests and the GUI's what-if).
std::vector<std::string> memoryWarnings(uint64_t estimatedBytes, std::optional<uint64_t> availableBytes,
                                        const std::string& memoryKind);

}  // namespace peft
