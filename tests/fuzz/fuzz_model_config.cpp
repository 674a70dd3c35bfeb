// libFuzzer target: config.json through readJsonFile and ModelConfig::fromJson.
#include <cstdint>

#include "core/io/model_config.h"
#include "core/util/error.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string path = peft::fuzz::writeScratch("config.json", data, size);
    try {
        auto j = peft::readJsonFile(path);
        auto mc = peft::ModelConfig::fromJson(j, path);
        (void)mc;
    } catch (const peft::PeftError&) {
    }
    return 0;
}
