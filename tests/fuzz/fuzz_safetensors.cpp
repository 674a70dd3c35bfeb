// libFuzzer target: a safetensors file (header and data) through File::open and readHeader.
// Bad input must end in PeftError; any other exception, crash or sanitizer report is a finding.
#include <cstdint>

#include "core/io/safetensors.h"
#include "core/util/error.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string path = peft::fuzz::writeScratch("model.safetensors", data, size);
    try {
        auto f = peft::st::File::open(path);
        // Touch every byte of every tensor: offsets were validated, so this must stay in bounds.
        uint64_t sum = 0;
        for (const auto& t : f->tensors()) {
            const uint8_t* p = f->data(t);
            for (uint64_t i = 0; i < t.nbytes(); ++i) sum += p[i];
            (void)t.numel();
        }
        (void)sum;
    } catch (const peft::PeftError&) {
    }
    try {
        std::map<std::string, std::string> meta;
        (void)peft::st::readHeader(path, &meta);
    } catch (const peft::PeftError&) {
    }
    return 0;
}
