// Helpers shared by the GoogleTest suites: fixture paths and scratch folders.
#pragma once
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "core/util/blas_tune.h"
#include "core/util/error.h"

namespace peft::test {

// Every test process selects the same OpenBLAS kernels as peft-studio-cli does at start-up
// (core/util/blas_tune.h), before any BLAS call, so library results and CLI results agree to
// the last bit where a test compares them.
inline const bool kBlasKernelsTuned = (peft::tuneBlasKernels(), true);

inline std::string fixtures() {
    const char* f = std::getenv("PEFT_FIXTURES");
    return f ? std::string(f) : std::string("../shared/fixtures");
}

inline std::string fixture(const std::string& rel) { return fixtures() + "/" + rel; }

// A path in the source tree (PEFT_SOURCE_DIR, which CTest sets; "." without it).
inline std::string sourcePath(const std::string& rel = "") {
    const char* s = std::getenv("PEFT_SOURCE_DIR");
    const std::string root = s ? s : ".";
    return rel.empty() ? root : root + "/" + rel;
}

inline std::string cliPath() {
    const char* f = std::getenv("PEFT_CLI");
    return f ? std::string(f) : std::string("peft-studio-cli");
}

struct CliResult {
    int rc = -1;
    std::string out;
};

// Runs `cmd` through the shell and collects its stdout (append " 2>&1" for stderr too). rc is the
// exit status, or -1 when the shell could not start or was killed by a signal.
inline CliResult runShell(const std::string& cmd) {
    CliResult r;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
    const int status = pclose(p);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

// Runs peft-studio-cli with `args` (shell-quoted by the caller) and collects its stdout, and its
// stderr too when `withStderr`.
inline CliResult runCli(const std::string& args, bool withStderr = true) {
    return runShell(cliPath() + " " + args + (withStderr ? " 2>&1" : " 2>/dev/null"));
}

// A fresh empty folder under the system temp dir, removed when the object dies.
class TempDir {
public:
    TempDir() {
        std::random_device rd;
        m_path = std::filesystem::temp_directory_path() / ("peft-test-" + std::to_string(rd()) + std::to_string(rd()));
        std::filesystem::create_directories(m_path);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    std::string path() const { return m_path.string(); }
    std::string file(const std::string& name) const { return (m_path / name).string(); }

private:
    std::filesystem::path m_path;
};

// Writes `bytes` to `name` in `d` (binary) and returns its path.
inline std::string write(const TempDir& d, const std::string& name, const std::string& bytes) {
    std::ofstream f(d.file(name), std::ios::binary);
    f << bytes;
    return d.file(name);
}

// Writes `bytes` to `path`, creating its folders.
inline void writeAt(const std::filesystem::path& path, const std::string& bytes) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
}

// A safetensors file as bytes: the 8-byte little-endian header length, `header` (JSON, not
// checked, so tests can write broken ones) and `data`.
inline void writeRaw(const std::string& path, const std::string& header, const std::string& data) {
    std::ofstream o(path, std::ios::binary);
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) o.put(static_cast<char>(n >> (8 * i)));
    o << header << data;
}

// The message of the PeftError `fn` throws, or "" when it throws none.
inline std::string errorOf(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const peft::PeftError& e) {
        return e.what();
    }
    return "";
}

// The "training" block of the golden reference runs (tests/golden), as their Python references
// train: 3 unshuffled fp32 AdamW steps of batch 2 at a constant lr 1e-2 (weight decay 0.01, grad
// norm 1), with no checkpoint and no evaluation.
inline nlohmann::json referenceTraining() {
    return {{"max_steps", 3},       {"batch_size", 2},      {"shuffle", false},     {"scheduler", "constant"},
            {"lr", 1e-2},           {"weight_decay", 0.01}, {"max_grad_norm", 1.0}, {"precision", "fp32"},
            {"optimizer", "adamw"}, {"save_every", 0},      {"eval_every", 0}};
}

// Passes when `text` contains every one of `parts`; the failure shows the text and what is missing.
inline ::testing::AssertionResult mentions(const std::string& text, std::initializer_list<std::string> parts) {
    std::string missing;
    for (const std::string& p : parts)
        if (text.find(p) == std::string::npos) missing += " '" + p + "'";
    if (missing.empty()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "missing" << missing << " in: " << text;
}

}  // namespace peft::test
