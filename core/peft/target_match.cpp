// peft's target_modules / layers_to_transform / rank_pattern matching, with PCRE2 regexes.
#include "core/peft/target_match.h"

#include <pcre2.h>

#include <regex>

#include "core/util/error.h"

namespace peft {

bool regexFullMatch(const std::string& pattern, const std::string& subject, const std::string& where) {
    int errCode = 0;
    PCRE2_SIZE errOffset = 0;
    // Anchor both ends: Python's re.fullmatch.
    std::string anchored = "(?:" + pattern + ")\\z";
    pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(anchored.c_str()), anchored.size(),
                                   PCRE2_ANCHORED | PCRE2_UTF, &errCode, &errOffset, nullptr);
    if (!re) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(errCode, buf, sizeof(buf));
        fail(where, "'" + pattern + "' is not a valid regular expression (" + reinterpret_cast<char*>(buf) + ")",
             "Use a list of module names, or fix the regex.");
    }
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(re, nullptr);
    int rc = pcre2_match(re, reinterpret_cast<PCRE2_SPTR>(subject.c_str()), subject.size(), 0, 0, md, nullptr);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc >= 0;
}

bool matchesTarget(const nlohmann::json& targetModules, const std::string& path, const std::string& shortName) {
    if (targetModules.is_string()) {
        const std::string t = targetModules.get<std::string>();
        if (t == "all-linear") return true;  // every projection of a decoder layer (the head is never one)
        return regexFullMatch(t, path);
    }
    if (!targetModules.is_array()) return false;
    for (const auto& e : targetModules) {
        if (!e.is_string()) fail("target_modules", "entries must be strings", "Write module names like \"q_proj\".");
        const std::string t = e.get<std::string>();
        if (t == path || t == shortName) return true;
        if (path.size() > t.size() && path.compare(path.size() - t.size(), t.size(), t) == 0 &&
            path[path.size() - t.size() - 1] == '.')
            return true;
    }
    return false;
}

bool matchesLayers(const nlohmann::json& layers, const std::string& path) {
    if (layers.is_null() || (layers.is_array() && layers.empty())) return true;
    static const std::regex kLayer(R"(.*\.[^.]*\.(\d+)\.)");
    std::smatch m;
    if (!std::regex_search(path, m, kLayer) || m.position(0) != 0) return false;
    const int64_t idx = std::stoll(m[1].str());
    if (layers.is_number_integer()) return layers.get<int64_t>() == idx;
    if (!layers.is_array()) fail("layers_to_transform", "expected an integer or a list of integers", "");
    for (const auto& l : layers)
        if (l.is_number_integer() && l.get<int64_t>() == idx) return true;
    return false;
}

std::string patternKeyFor(const nlohmann::json& patterns, const std::string& path) {
    if (!patterns.is_object() || patterns.empty()) return {};
    for (auto it = patterns.begin(); it != patterns.end(); ++it)
        if (it.key() == path) return it.key();
    for (auto it = patterns.begin(); it != patterns.end(); ++it)
        if (regexFullMatch("(.*\\.)?(" + it.key() + ")", path, "rank_pattern/alpha_pattern")) return it.key();
    return {};
}

}  // namespace peft
