// Which modules a PEFT config selects, matched as HF peft does: `target_modules` as a regex string
// (full match against the module path) or a list (exact path, or a `.`-suffix of it), plus
// `layers_to_transform` and the `rank_pattern`/`alpha_pattern` key rule. No torch: budget/ uses it too.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace peft {

// peft's rule for `target_modules`, `exclude_modules`, `feedforward_modules`, `modules_to_save`:
// a string is a regex that must match the whole `fullModulePath`; a list matches when an entry
// equals the path or the path ends with "." + entry. `shortName` ("q_proj") is accepted for
// callers that have it; a list entry equal to it always matches. Null or empty matches nothing.
bool matchesTarget(const nlohmann::json& targetModules, const std::string& fullModulePath,
                   const std::string& shortName = {});

// Full-match of a Perl-compatible regex (PCRE2; compiled patterns are cached per thread).
// Throws PeftError naming `where` when the pattern does not compile.
bool regexFullMatch(const std::string& pattern, const std::string& subject, const std::string& where = "regex");

// peft's key rule for `rank_pattern` / `alpha_pattern`: `key` matches the module path when the
// path is `key` or ends with "." + key, `key` read as a regex ("(.*\.)?(key)").
bool patternKeyMatches(const std::string& key, const std::string& fullModulePath);

// Looks up `pattern` (a JSON object key -> number) for `fullModulePath`; returns `fallback` when
// no key matches. The first matching key in the object's order wins.
double patternValue(const nlohmann::json& pattern, const std::string& fullModulePath, double fallback);
// The key patternValue would pick for `fullModulePath`, or "" when none matches.
std::string patternKeyFor(const nlohmann::json& pattern, const std::string& fullModulePath);

// `layers_to_transform` (null, an int, or a list of ints) against a decoder layer index; null
// selects every layer. `layers_pattern` (null, a string or a list) must, when given, name the
// container holding the layers ("layers", "h"); `layerContainer` is that name for this model.
bool layerSelected(const nlohmann::json& layersToTransform, const nlohmann::json& layersPattern, int64_t layer,
                   const std::string& layerContainer);

// layers_to_transform against a module path: the layer index is its first numeric component.
bool matchesLayers(const nlohmann::json& layersToTransform, const std::string& fullModulePath);

}  // namespace peft
