// Target selection shared by the module-wrapping methods (LoRA, IA3): defaults per model type
// ("which modules if target_modules is absent", as peft's mapping), `all-linear`, exclusions.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/peft/module_tree.h"

namespace peft::spec {

// peft's default target_modules per model type for `method` ("LORA" or "IA3"), and for IA3 the
// default feedforward_modules.
nlohmann::json defaultTargets(const ModelConfig& mc, const std::string& method);
nlohmann::json defaultFeedforward(const ModelConfig& mc);

// The modules `cfg` selects: target_modules (or the default; "all-linear" = every linear except
// the output head), minus exclude_modules, within layers_to_transform. Linears and embeddings
// are candidates; the head only when named explicitly. Throws PeftError naming target_modules
// when nothing matches, as peft does.
std::vector<const ModuleEntry*> selectTargets(const ModuleTree& tree, const nlohmann::json& cfg, const ModelConfig& mc,
                                              const std::string& method, const std::string& where);

}  // namespace peft::spec
