// Which modules an adapter config targets, by peft's rules: a string target_modules is a regex
// that must match the whole module path; a list matches a module whose path equals an entry or
// ends with "." + entry; layers_to_transform then keeps only the listed layer indices.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

namespace peft {

// True when `fullModulePath` ("model.layers.0.self_attn.q_proj") is named by `targetModules`
// (a JSON string regex, a list of names, or "all-linear"). `shortName` is the last component.
bool matchesTarget(const nlohmann::json& targetModules, const std::string& fullModulePath, const std::string& shortName);

// peft's layers_to_transform (an int or a list of ints; null/absent/empty = every layer):
// the layer index is the number after the layer list ("model.layers.3.mlp" -> 3).
bool matchesLayers(const nlohmann::json& layersToTransform, const std::string& fullModulePath);

// Full-string regex match (PCRE2); throws PeftError naming `where` for a bad pattern.
bool regexFullMatch(const std::string& pattern, const std::string& subject, const std::string& where = "target_modules");

// peft's rank_pattern / alpha_pattern lookup: the first key equal to the module path, else the
// first key K for which "(.*\.)?(K)$" matches the path. Empty when none.
std::string patternKeyFor(const nlohmann::json& patterns, const std::string& fullModulePath);

}  // namespace peft
