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

// Live bytes of CPU tensor storage allocated through LibTorch's CPU allocator (memory-mapped
// weights are not counted: they never pass through it). Off until enableCpuTensorCounting(),
// which wraps the CPU allocator; call it before any tensor that should be counted is made.
// For benchmarks: it tells what tensors hold apart from what malloc keeps on top.
struct CpuTensorBytes {
    int64_t current = 0;
    int64_t peak = 0;
};
void enableCpuTensorCounting();
CpuTensorBytes cpuTensorBytes();
void resetCpuTensorPeak();  // peak := current

}  // namespace peft
