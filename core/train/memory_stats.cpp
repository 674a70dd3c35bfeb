// Peak CUDA memory from the caching allocator; compiled in only where CMake found c10_cuda
// (PEFT_CUDA_MEMORY_STATS), so CPU-only LibTorch builds (Debian's 1.13) compile unchanged.
#include "core/train/memory_stats.h"

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

}  // namespace peft
