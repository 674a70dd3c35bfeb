// PEFT target matching with PCRE2 full-match regexes, as peft's check_target_module_exists does.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/peft/target_match.h"

#include <pcre2.h>

#include <memory>
#include <unordered_map>

#include "core/util/error.h"

namespace peft {

namespace {

struct CodeDeleter {
    void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
struct DataDeleter {
    void operator()(pcre2_match_data* d) const { pcre2_match_data_free(d); }
};

const pcre2_code* compiled(const std::string& pattern, const std::string& where) {
    thread_local std::unordered_map<std::string, std::unique_ptr<pcre2_code, CodeDeleter>> cache;
    auto it = cache.find(pattern);
    if (it != cache.end()) return it->second.get();
    int err = 0;
    PCRE2_SIZE off = 0;
    // Anchored at both ends: Python's re.fullmatch.
    pcre2_code* c = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                  PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_UTF, &err, &off, nullptr);
    if (!c) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(err, buf, sizeof(buf));
        fail(where,
             "the regular expression '" + pattern + "' does not compile at offset " + std::to_string(off) + " (" +
                 reinterpret_cast<const char*>(buf) + ")",
             "Fix the pattern, or give a list of module names instead.");
    }
    pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);  // best effort; the interpreter is used if JIT is absent
    auto& slot = cache[pattern];
    slot.reset(c);
    return c;
}

bool endsWithDotted(const std::string& path, const std::string& entry) {
    if (entry.empty()) return false;
    if (path == entry) return true;
    return path.size() > entry.size() && path.compare(path.size() - entry.size(), entry.size(), entry) == 0 &&
        path[path.size() - entry.size() - 1] == '.';
}

}  // namespace

bool regexFullMatch(const std::string& pattern, const std::string& subject, const std::string& where) {
    const pcre2_code* c = compiled(pattern, where);
    thread_local std::unique_ptr<pcre2_match_data, DataDeleter> md(pcre2_match_data_create(4, nullptr));
    int rc = pcre2_match(c, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0, md.get(), nullptr);
    return rc >= 0;
}

bool matchesTarget(const nlohmann::json& targetModules, const std::string& fullModulePath,
                   const std::string& shortName) {
    if (targetModules.is_null()) return false;
    if (targetModules.is_string()) {
        // "all-linear": every projection of a decoder layer (callers only pass those, never the head).
        if (targetModules.get_ref<const std::string&>() == "all-linear") return true;
        return regexFullMatch(targetModules.get<std::string>(), fullModulePath, "target_modules");
    }
    if (!targetModules.is_array()) return false;
    for (const auto& e : targetModules) {
        if (!e.is_string()) continue;
        const std::string& s = e.get_ref<const std::string&>();
        if (endsWithDotted(fullModulePath, s) || (!shortName.empty() && s == shortName)) return true;
    }
    return false;
}

bool patternKeyMatches(const std::string& key, const std::string& fullModulePath) {
    return regexFullMatch("(.*\\.)?(" + key + ")", fullModulePath, "rank_pattern/alpha_pattern key '" + key + "'");
}

double patternValue(const nlohmann::json& pattern, const std::string& fullModulePath, double fallback) {
    if (!pattern.is_object()) return fallback;
    for (auto it = pattern.begin(); it != pattern.end(); ++it)
        if (it.value().is_number() && patternKeyMatches(it.key(), fullModulePath)) return it.value().get<double>();
    return fallback;
}

std::string patternKeyFor(const nlohmann::json& pattern, const std::string& fullModulePath) {
    if (!pattern.is_object()) return "";
    for (auto it = pattern.begin(); it != pattern.end(); ++it)
        if (it.value().is_number() && patternKeyMatches(it.key(), fullModulePath)) return it.key();
    return "";
}

bool layerSelected(const nlohmann::json& layersToTransform, const nlohmann::json& layersPattern, int64_t layer,
                   const std::string& layerContainer) {
    if (!layersPattern.is_null() && !layersToTransform.is_null()) {
        bool named = false;
        if (layersPattern.is_string()) named = layersPattern.get<std::string>() == layerContainer;
        if (layersPattern.is_array())
            for (const auto& p : layersPattern)
                named = named || (p.is_string() && p.get<std::string>() == layerContainer);
        if (!named) return false;
    }
    if (layersToTransform.is_null()) return true;
    if (layersToTransform.is_number_integer()) return layersToTransform.get<int64_t>() == layer;
    if (layersToTransform.is_array())
        for (const auto& v : layersToTransform)
            if (v.is_number_integer() && v.get<int64_t>() == layer) return true;
    return false;
}

bool matchesLayers(const nlohmann::json& layersToTransform, const std::string& fullModulePath) {
    if (layersToTransform.is_null() || (layersToTransform.is_array() && layersToTransform.empty())) return true;
    // The layer index is the first all-digit path component ("model.layers.3.mlp" -> 3).
    size_t start = 0;
    while (start < fullModulePath.size()) {
        size_t end = fullModulePath.find('.', start);
        if (end == std::string::npos) end = fullModulePath.size();
        const std::string part = fullModulePath.substr(start, end - start);
        if (!part.empty() && std::all_of(part.begin(), part.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
            return layerSelected(layersToTransform, nullptr, std::stoll(part), "");
        start = end + 1;
    }
    return false;
}

}  // namespace peft
