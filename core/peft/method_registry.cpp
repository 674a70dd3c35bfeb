// The torch-side registry: peft_type -> Method factory. Adding a method = a folder + one line here.
#include "core/peft/method.h"

#include "core/util/error.h"

namespace peft {

std::unique_ptr<Method> makeLoraMethod();
std::unique_ptr<Method> makeIa3Method();
std::unique_ptr<Method> makePromptTuningMethod();
std::unique_ptr<Method> makePrefixTuningMethod();
std::unique_ptr<Method> makeBottleneckMethod();
std::unique_ptr<Method> makeBitFitMethod();
std::unique_ptr<Method> makeFullMethod();

namespace {
using Factory = std::unique_ptr<Method> (*)();
const std::vector<std::pair<std::string, Factory>>& registry() {
    static const std::vector<std::pair<std::string, Factory>> k = {
        {"LORA", makeLoraMethod},
        {"IA3", makeIa3Method},
        {"PROMPT_TUNING", makePromptTuningMethod},
        {"PREFIX_TUNING", makePrefixTuningMethod},
        {"BOTTLENECK_ADAPTER", makeBottleneckMethod},
        {"BITFIT", makeBitFitMethod},
        {"FULL", makeFullMethod},
    };
    return k;
}
}  // namespace

std::unique_ptr<Method> createMethod(const std::string& peftType) {
    for (const auto& [name, make] : registry())
        if (name == peftType) return make();
    std::string known;
    for (const auto& [name, make] : registry()) known += (known.empty() ? "" : ", ") + name;
    fail("adapter_config.json", "unknown peft_type '" + peftType + "'", "Use one of: " + known + ".");
}

std::vector<std::string> methodTypes() {
    std::vector<std::string> out;
    for (const auto& [name, make] : registry()) out.push_back(name);
    return out;
}

}  // namespace peft
