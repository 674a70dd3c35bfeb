// Peak accelerator memory of this process (the CUDA caching allocator's statistics), for
// benchmarks and the trainer's reports. Reports "unavailable" on CPU-only LibTorch builds.
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace peft {

struct DeviceMemory {
    bool available = false;     // false on CPU devices and builds without CUDA statistics
    int64_t peakAllocated = 0;  // bytes held by tensors at the peak
    int64_t peakReserved = 0;   // bytes the caching allocator held from the driver at the peak
};

void resetPeakDeviceMemory(const torch::Device& device);
DeviceMemory peakDeviceMemory(const torch::Device& device);

}  // namespace peft
