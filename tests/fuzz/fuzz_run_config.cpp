// libFuzzer target: a run config (run.json) through RunConfig::fromJson and back to JSON.
#include <cstdint>

#include <nlohmann/json.hpp>

#include "core/train/run_config.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto j = nlohmann::json::parse(data, data + size, nullptr, false);
    if (j.is_discarded()) return 0;
    try {
        auto rc = peft::RunConfig::fromJson(j, "run.json");
        auto back = rc.toJson();
        auto again = peft::RunConfig::fromJson(back, "run.json (round trip)");
        (void)again;
    } catch (const peft::PeftError&) {
    }
    return 0;
}
