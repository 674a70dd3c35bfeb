// libFuzzer entry point for the eval target; the body is in tests/fuzz/fuzz_bodies.h.
#define PEFT_FUZZ_EVAL
#include "tests/fuzz/fuzz_bodies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    peft::fuzz::evalBody(data, size);
    return 0;
}
