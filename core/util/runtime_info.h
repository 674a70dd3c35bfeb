// What the process runs on: version, LibTorch version, the active BLAS, threads, devices.
#pragma once
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

}  // namespace peft
