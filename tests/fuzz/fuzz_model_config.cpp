// libFuzzer entry point for the model_config target; the body is in tests/fuzz/fuzz_bodies.h.
#define PEFT_FUZZ_MODEL_CONFIG
#include "tests/fuzz/fuzz_bodies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    peft::fuzz::modelConfigBody(data, size);
    return 0;
}
