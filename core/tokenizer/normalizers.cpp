// Normalizers of tokenizer.json (Sequence, Prepend, Replace, NFC, NFKC, NFD, NFKD) and the
// JSON helpers shared by every component factory.
#include <spdlog/spdlog.h>

#include "core/tokenizer/components.h"
#include "core/tokenizer/text_util.h"
#include "core/tokenizer/unicode_norm.h"
#include "core/util/error.h"

namespace peft::tok {

using nlohmann::json;

const json& member(const json& j, const std::string& key, const std::string& where) {
    if (!j.is_object() || !j.contains(key))
        fail(where, "missing key '" + key + "'", "The tokenizer.json looks malformed; re-save it with transformers");
    return j.at(key);
}

std::string stringMember(const json& j, const std::string& key, const std::string& where) {
    const json& v = member(j, key, where);
    if (!v.is_string()) fail(where + "." + key, "expected a string, found " + std::string(v.type_name()));
    return v.get<std::string>();
}

std::string typeOf(const json& j, const std::string& where) {
    if (!j.is_object()) fail(where, "expected an object with a \"type\", found " + std::string(j.type_name()));
    return stringMember(j, "type", where);
}

std::string patternSource(const json& j, const std::string& where, bool* isString) {
    if (j.is_object() && j.contains("String") && j["String"].is_string()) {
        if (isString) *isString = true;
        return Regex::escape(j["String"].get<std::string>());
    }
    if (j.is_object() && j.contains("Regex") && j["Regex"].is_string()) {
        if (isString) *isString = false;
        return j["Regex"].get<std::string>();
    }
    fail(where, "expected a pattern {\"String\": ...} or {\"Regex\": ...}, found " + j.dump());
}

ReplacePattern::ReplacePattern(const json& j, const std::string& where) {
    bool isString = false;
    std::string src = patternSource(member(j, "pattern", where), where + ".pattern", &isString);
    if (isString) {
        m_literal = j["pattern"]["String"].get<std::string>();
        if (m_literal.empty()) fail(where + ".pattern", "an empty String pattern cannot be replaced");
    } else {
        m_regex = std::make_unique<Regex>(src, where + ".pattern");
    }
    m_content = stringMember(j, "content", where);
}

ReplacePattern::~ReplacePattern() = default;

void ReplacePattern::apply(std::string& s) const {
    if (!m_regex) {
        s = replaceAll(s, m_literal, m_content);
        return;
    }
    std::string out;
    size_t prev = 0;
    for (auto [a, b] : m_regex->findAll(s)) {
        out.append(s, prev, a - prev);
        out += m_content;
        prev = b;
    }
    out.append(s, prev, std::string::npos);
    s = std::move(out);
}

std::string singleChar(const json& j, const std::string& key, const std::string& where) {
    std::string s = stringMember(j, key, where);
    if (!isValidUtf8(s) || s.empty() || toCodePoints(s).size() != 1)
        fail(where + "." + key, "expected exactly one character, found '" + s + "'");
    return s;
}

namespace {

class SequenceNormalizer : public Normalizer {
public:
    std::vector<std::unique_ptr<Normalizer>> m_steps;
    void normalize(std::string& s) const override {
        for (const auto& n : m_steps) n->normalize(s);
    }
};

class PrependNormalizer : public Normalizer {
public:
    std::string m_prepend;
    void normalize(std::string& s) const override {
        if (!s.empty()) s.insert(0, m_prepend);
    }
};

class ReplaceNormalizer : public Normalizer {
public:
    ReplaceNormalizer(const json& j, const std::string& where) : m_replace(j, where) {}
    void normalize(std::string& s) const override { m_replace.apply(s); }

private:
    ReplacePattern m_replace;
};

class UnicodeNormalizer : public Normalizer {
public:
    explicit UnicodeNormalizer(UnicodeForm f) : m_form(f) {}
    void normalize(std::string& s) const override { s = unicodeNormalize(s, m_form); }

private:
    UnicodeForm m_form;
};

}  // namespace

std::unique_ptr<Normalizer> makeNormalizer(const json& j, const std::string& where) {
    const std::string type = typeOf(j, where);
    if (type == "Sequence")
        return makeSequence<SequenceNormalizer, Normalizer>(j, "normalizers", where, makeNormalizer);
    if (type == "Prepend") {
        auto p = std::make_unique<PrependNormalizer>();
        p->m_prepend = stringMember(j, "prepend", where);
        return p;
    }
    if (type == "Replace") return std::make_unique<ReplaceNormalizer>(j, where);
    if (type == "NFC") return std::make_unique<UnicodeNormalizer>(UnicodeForm::NFC);
    if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(UnicodeForm::NFKC);
    if (type == "NFD") return std::make_unique<UnicodeNormalizer>(UnicodeForm::NFD);
    if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(UnicodeForm::NFKD);
    fail(where, "unsupported normalizer type '" + type + "'",
         "Supported normalizers: Sequence, Prepend, Replace, NFC, NFKC, NFD, NFKD");
}

}  // namespace peft::tok
