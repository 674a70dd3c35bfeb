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

// How A and B start (init_lora_weights): peft's default (A Kaiming-uniform, B zero), "gaussian"
// (A normal with std 1/r, B zero) or false (both as nn.Linear initialises them: training does
// not start from the base model).
enum class LoraInit { Default, Gaussian, Random };

// LoRA's adapter_config.json read once: parse() validates with the spec and fills the spec's
// defaults (peft's LoraConfig), so the torch side (lora.cpp) and the budget never restate them.
struct LoraConfig {
    int64_t r = 0;
    double alpha = 0;
    double dropout = 0;
    bool rslora = false;
    bool dora = false;
    bool loraBias = false;
    std::string bias;                   // "none" | "all" | "lora_only"
    LoraInit init = LoraInit::Default;  // init_lora_weights: true, "gaussian" or false
    nlohmann::json rankPattern, alphaPattern;

    static LoraConfig parse(const nlohmann::json& cfg, const std::string& where);
    LoraModuleParams forModule(const std::string& fullModulePath) const;
    // alpha / r, or alpha / sqrt(r) with rsLoRA, for one module after the patterns.
    double scaling(const std::string& fullModulePath) const;
};

}  // namespace peft
