// libFuzzer entry point for the parquet target; the body is in tests/fuzz/fuzz_bodies.h.
#define PEFT_FUZZ_PARQUET
#include "tests/fuzz/fuzz_bodies.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    peft::fuzz::parquetBody(data, size);
    return 0;
}
