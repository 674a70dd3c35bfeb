// libFuzzer target: tokenizer.json through Tokenizer::load, then encode/decode of a fixed text.
#include <cstdint>

#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"
#include "tests/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string path = peft::fuzz::writeScratch("tokenizer.json", data, size);
    try {
        auto tok = peft::Tokenizer::load(path);
        auto ids = tok->encode("Hello world! 123  <|endoftext|> caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd\n\tx", true);
        (void)tok->decode(ids, false);
        (void)tok->decode(ids, true);
        (void)tok->decode({0, 1, 2, -1, 1 << 30}, false);
    } catch (const peft::PeftError&) {
    }
    return 0;
}
