// OpenBLAS kernel selection fix-up, applied once at process start (before any BLAS call).
#pragma once
#include <string>

namespace peft {

// Debian 12's OpenBLAS 0.3.21 (DYNAMIC_ARCH) does not recognise recent Xeons (Sapphire/Emerald
// Rapids report CPU models it has no entry for) and falls back to its generic "Prescott" SSE3
// kernels: fp32 matrix products run ~3-4x slower than the CPU allows. When the loaded OpenBLAS
// chose that fallback and the CPU has AVX2 + FMA, this re-runs OpenBLAS's own kernel selection
// with OPENBLAS_CORETYPE=Haswell (also on AVX-512 CPUs: blas_tune.cpp says why not SkylakeX),
// exactly what setting that variable before start-up does. Nothing happens when OPENBLAS_CORETYPE is already set, when
// the BLAS is not OpenBLAS, or when OpenBLAS picked a real core itself.
// Returns a line for the log ("" when nothing was changed).
std::string tuneBlasKernels();

// OpenBLAS's own thread count (its pthread build keeps one for the process; fp32 products run on
// it). Nothing happens when OpenBLAS is not loaded.
void setBlasThreads(int n);

// The OpenBLAS core in use ("SkylakeX", "Prescott", ...), or "" when OpenBLAS is not loaded.
std::string openBlasCoreName();

}  // namespace peft
