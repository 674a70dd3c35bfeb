// libFuzzer target: adapter_config.json through the method specs (validate, count, saved tensors,
// footprint) against a small fixed Llama config.
#include <cstdint>

#include <nlohmann/json.hpp>

#include "core/io/model_config.h"
#include "core/peft/method_spec.h"
#include "core/util/error.h"

namespace {
const peft::ModelConfig& modelConfig() {
    static const peft::ModelConfig mc = peft::ModelConfig::fromJson(
        nlohmann::json::parse(R"({"model_type":"llama","architectures":["LlamaForCausalLM"],
            "hidden_size":16,"intermediate_size":32,"num_hidden_layers":2,"num_attention_heads":4,
            "num_key_value_heads":2,"vocab_size":64,"max_position_embeddings":128,
            "rms_norm_eps":1e-6,"tie_word_embeddings":false})"),
        "config.json");
    return mc;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto j = nlohmann::json::parse(data, data + size, nullptr, false);
    if (j.is_discarded()) return 0;
    try {
        std::string type = peft::peftTypeOf(j, "adapter_config.json");
        const auto& spec = peft::methodSpec(type);
        spec.validate(j, "adapter_config.json");
        auto report = spec.count(modelConfig(), j);
        (void)report.percent();
        auto saved = spec.savedTensors(modelConfig(), j);
        (void)spec.footprint(modelConfig(), j);
        (void)spec.adapterBytes(modelConfig(), j, 2);
        (void)spec.withDefaults(j);
    } catch (const peft::PeftError&) {
    }
    return 0;
}
