// What the process runs on: version, LibTorch version, the active BLAS, threads, devices.
#pragma once
#include <optional>
#include <string>

namespace peft {

struct BlasInfo {
    std::string library;  // resolved path of the loaded BLAS shared object
    std::string name;     // "OpenBLAS", "reference BLAS", "MKL", "BLIS", "unknown"
    bool slow = false;    // true for the reference (netlib) BLAS
};

std::string projectVersion();
std::string torchVersion();
BlasInfo activeBlas();
// One line for --version and the About box.
std::string versionLine();
// Logs version, BLAS and threads once at start-up; warns when BLAS is the slow reference one.
void logRuntimeInfo();

// Sets LibTorch's intra-op threads (OpenMP, oneDNN) and OpenBLAS's to `requested`, or to the
// automatic count when it is 0 (cpu_cores.h: OMP_NUM_THREADS, else the usable physical cores).
// LibTorch keeps the count per thread: this thread takes it now, and threads that run their first
// LibTorch operator afterwards start with it. Returns the count; `why` gets a phrase for the log.
int useThreads(long long requested, std::string* why = nullptr);
// LibTorch's intra-op thread count on this thread.
int currentThreads();

// useThreads() for a scope (a training run on a worker thread); the previous count comes back
// at the end, so a run with training.threads 1 does not leave later work on one thread.
class ThreadsScope {
public:
    explicit ThreadsScope(long long requested);
    ~ThreadsScope();
    ThreadsScope(const ThreadsScope&) = delete;
    ThreadsScope& operator=(const ThreadsScope&) = delete;
    int count() const { return m_count; }
    const std::string& why() const { return m_why; }

private:
    int m_previous;
    int m_count;
    std::string m_why;
};

// Whether LibTorch computes bf16 matrix products on this CPU with oneDNN: x86 with AVX-512
// BW/VL/DQ, the test LibTorch itself makes. Elsewhere (AVX2-only x86, other CPUs) its bf16
// products fall back to a plain loop, measured ~14x slower than fp32 (LibTorch 1.13, 256x768 @
// 768x3072), so fp32 is the faster CPU precision there.
bool cpuHasFastBf16();
// Tests only: pretend the CPU has (true) or lacks (false) fast bf16; nullopt detects again.
void overrideCpuHasFastBf16(std::optional<bool> value);
// Whether LibTorch sees a CUDA device (false on a CPU-only LibTorch).
bool cudaAvailable();
// How many CUDA devices LibTorch sees (0 on a CPU-only LibTorch).
int cudaDeviceCount();
// The run precision to suggest for a new project: bf16 where it is fast (a CUDA device, or a CPU
// with fast bf16), else fp32.
std::string suggestedPrecision();

}  // namespace peft
