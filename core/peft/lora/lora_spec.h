// LoRA's MethodSpec (LoRA, rsLoRA, DoRA; QLoRA is LoRA over an NF4-stored base, see budget/).
#pragma once
#include "core/peft/method_spec.h"

namespace peft {

const MethodSpec& loraMethodSpec();

// The LoRA rank and alpha of one module after rank_pattern / alpha_pattern.
struct LoraModuleParams {
    int64_t r = 8;
    double alpha = 8;
};
LoraModuleParams loraParamsFor(const nlohmann::json& cfg, const std::string& fullModulePath);

}  // namespace peft
