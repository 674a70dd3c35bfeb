// Shared helpers for the libFuzzer targets: a per-process scratch folder, a file writer, and the
// one place that says which exception ends bad input.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/util/error.h"

namespace peft::fuzz {

// A scratch folder unique to this process (fuzzers may run in parallel).
inline const std::filesystem::path& scratchDir() {
    static const std::filesystem::path dir = [] {
        auto d = std::filesystem::temp_directory_path() / ("peft-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        return d;
    }();
    return dir;
}

inline std::string writeScratch(const std::string& name, const uint8_t* data, size_t size) {
    auto p = scratchDir() / name;
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    return p.string();
}

// Runs `fn`. A PeftError is how bad input must end, so it is swallowed; anything else (another
// exception, a crash) escapes and is a finding.
template <class Fn>
void swallowPeftError(Fn&& fn) {
    try {
        fn();
    } catch (const peft::PeftError&) {
    }
}

}  // namespace peft::fuzz
