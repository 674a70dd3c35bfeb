// `peft-studio-cli tokenize`: encodes/decodes a JSON list of {"text"} cases with a model's
// tokenizer.json, writing the list back with "ids" (special tokens added) and "decoded" (specials kept).
#include <spdlog/spdlog.h>

#include <iostream>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/io/model_config.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"

namespace peft::cli {

int cmdTokenize(const std::vector<std::string>& argv) {
    Args a(argv, {"tokenizer", "cases", "out"}, {"no-special-tokens"}, "tokenize");
    const std::string casesPath = a.require("cases");
    const std::string outPath = a.require("out");
    auto tok = Tokenizer::load(a.require("tokenizer"));
    const bool addSpecial = !a.has("no-special-tokens");

    nlohmann::json cases = readJsonFile(casesPath);
    if (!cases.is_array())
        fail(casesPath, "expected a JSON list of {\"text\": ...} objects", "Wrap the cases in [ ... ]");
    for (size_t i = 0; i < cases.size(); ++i) {
        auto& c = cases[i];
        if (!c.is_object() || !c.contains("text") || !c["text"].is_string())
            fail(casesPath + ": [" + std::to_string(i) + "]", "expected an object with a string \"text\"");
        auto ids = tok->encode(c["text"].get<std::string>(), addSpecial);
        c["ids"] = ids;
        c["decoded"] = tok->decode(ids, false);
    }
    writeFileAtomic(outPath, cases.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    spdlog::info("tokenize: {} case(s) written to {}", cases.size(), outPath);
    std::cout << cases.size() << " case(s) -> " << outPath << "\n";
    return 0;
}

}  // namespace peft::cli
