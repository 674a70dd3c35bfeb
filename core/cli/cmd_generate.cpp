// `peft-studio-cli generate`: continue a prompt with a model (and optionally an adapter), streaming.
#include <iostream>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/data/chat_template.h"
#include "core/model/generate.h"
#include "core/model/loader.h"
#include "core/peft/adapter_base.h"
#include "core/peft/method.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"

namespace peft::cli {

int cmdGenerate(const std::vector<std::string>& argv) {
    Args a(argv,
           {"model", "adapter", "prompt", "max-new-tokens", "temperature", "top-k", "top-p", "repetition-penalty",
            "seed", "stop", "precision", "template"},
           {"greedy"}, "generate");
    // Without --model, the adapter's adapter_config.json names its base (a self-contained run folder).
    const std::string dir =
        a.has("model") || !a.has("adapter") ? a.require("model") : adapterBaseModel(a.get("adapter"));
    ModelOptions mo;
    mo.dtype = parseDtype(a.get("precision", "fp32"));
    LoadedModel lm = loadModel(dir, mo);
    Adapter adapter;
    if (a.has("adapter")) adapter = loadAdapter(*lm.model, a.get("adapter"));
    auto tok = Tokenizer::load(dir);
    GenerateOptions o;
    o.maxNewTokens = a.getInt("max-new-tokens", 64);
    o.greedy = a.has("greedy");
    o.temperature = a.getDouble("temperature", 0.8);
    o.topK = a.getInt("top-k", 50);
    o.topP = a.getDouble("top-p", 0.95);
    o.repetitionPenalty = a.getDouble("repetition-penalty", 1.0);
    o.seed = static_cast<uint64_t>(a.getInt("seed", 0));
    o.stopStrings = a.getAll("stop");
    std::string prompt = a.require("prompt");
    if (a.has("template")) {
        // The prompt as one user turn of a chat template, as a chat/instruction run trained it.
        const std::string t = a.get("template");
        std::optional<data::TemplateKind> k = data::templateFromName(t);
        if (!k && t == "auto") {
            bool found = false;
            k = data::recogniseTokenizerConfig(dir, &found);
            if (!k)
                fail("--template auto",
                     found ? dir + "/tokenizer_config.json has a chat_template PEFT Studio does not recognise"
                           : dir + " has no chat_template in tokenizer_config.json",
                     "Name the template the run trained with: chatml, llama3, llama2, zephyr, alpaca or plain.");
        }
        if (!k)
            fail("--template", "unknown template '" + t + "'",
                 "Use auto, chatml, llama3, llama2, zephyr, alpaca or plain.");
        prompt = data::generationPrompt(*k, prompt);
    }
    std::cout << prompt << std::flush;
    generateText(*lm.model, *tok, prompt, o, [](const std::string& piece) {
        std::cout << piece << std::flush;
        return true;
    });
    std::cout << "\n";
    return 0;
}

}  // namespace peft::cli
