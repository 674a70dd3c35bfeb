// Peak CUDA memory from the caching allocator; compiled in only where CMake found c10_cuda
// (PEFT_CUDA_MEMORY_STATS), so CPU-only LibTorch builds (Debian's 1.13) compile unchanged.
#include "core/train/memory_stats.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <torch/version.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <unordered_map>

#if defined(PEFT_CUDA_MEMORY_STATS)
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace peft {

void resetPeakDeviceMemory(const torch::Device& device) {
#if defined(PEFT_CUDA_MEMORY_STATS)
    if (device.is_cuda()) {
        torch::cuda::synchronize();
        c10::cuda::CUDACachingAllocator::resetPeakStats(device.has_index() ? device.index() : 0);
    }
#else
    (void)device;
#endif
}

DeviceMemory peakDeviceMemory(const torch::Device& device) {
    DeviceMemory m;
#if defined(PEFT_CUDA_MEMORY_STATS)
    if (device.is_cuda()) {
        torch::cuda::synchronize();
        const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.has_index() ? device.index() : 0);
        m.available = true;
        m.peakAllocated = stats.allocated_bytes[0].peak;  // index 0: StatType::AGGREGATE
        m.peakReserved = stats.reserved_bytes[0].peak;
    }
#else
    (void)device;
#endif
    return m;
}

namespace {
std::atomic<int64_t> g_cpuCurrent{0};
std::atomic<int64_t> g_cpuPeak{0};

// Sizes by address: some kernels (oneDNN) use raw_allocate, which needs data == context.
std::mutex g_cpuMutex;
std::unordered_map<void*, size_t> g_cpuSizes;

void countedFree(void* p) {
    if (!p) return;
    size_t bytes = 0;
    {
        std::lock_guard<std::mutex> lock(g_cpuMutex);
        auto it = g_cpuSizes.find(p);
        if (it != g_cpuSizes.end()) {
            bytes = it->second;
            g_cpuSizes.erase(it);
        }
    }
    c10::free_cpu(p);
    g_cpuCurrent -= static_cast<int64_t>(bytes);
}
// Same memory as LibTorch's default CPU allocator (c10::alloc_cpu), with a running count.
// LibTorch 2.3 made Allocator::allocate non-const and added a pure copy_data.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define PEFT_ALLOCATE_CONST
#define PEFT_ALLOCATOR_COPY_DATA 1
#else
#define PEFT_ALLOCATE_CONST const
#endif
class CountingCpuAllocator : public c10::Allocator {
public:
    c10::DataPtr allocate(size_t n) PEFT_ALLOCATE_CONST override {
        void* p = n ? c10::alloc_cpu(n) : nullptr;
        if (p) {
            std::lock_guard<std::mutex> lock(g_cpuMutex);
            g_cpuSizes[p] = n;
        }
        const int64_t now = g_cpuCurrent += static_cast<int64_t>(n);
        int64_t old = g_cpuPeak.load();
        while (now > old && !g_cpuPeak.compare_exchange_weak(old, now)) {
        }
        return {p, p, &countedFree, c10::Device(c10::DeviceType::CPU)};
    }
    c10::DeleterFnPtr raw_deleter() const override { return &countedFree; }
#ifdef PEFT_ALLOCATOR_COPY_DATA
    void copy_data(void* dest, const void* src, std::size_t count) const override {
        if (count) std::memcpy(dest, src, count);
    }
#endif
};
}  // namespace

void enableCpuTensorCounting() {
    static CountingCpuAllocator alloc;
    c10::SetCPUAllocator(&alloc, /*priority=*/200);
}

CpuTensorBytes cpuTensorBytes() { return {g_cpuCurrent.load(), g_cpuPeak.load()}; }

void resetCpuTensorPeak() { g_cpuPeak = g_cpuCurrent.load(); }

}  // namespace peft
