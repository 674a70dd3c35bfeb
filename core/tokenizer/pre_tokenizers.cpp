// Pre-tokenizers of tokenizer.json: ByteLevel (GPT-2 regex + byte map), Split, Metaspace,
// Digits, Whitespace, WhitespaceSplit and Sequence. Only ids matter here, so offsets are not kept.
#include "core/tokenizer/components.h"
#include "core/tokenizer/text_util.h"
#include "core/util/error.h"

namespace peft::tok {

using nlohmann::json;

namespace {

const char* const kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior parseBehavior(const json& j, const std::string& where) {
    std::string b = stringMember(j, "behavior", where);
    if (b == "Removed") return Behavior::Removed;
    if (b == "Isolated") return Behavior::Isolated;
    if (b == "MergedWithPrevious") return Behavior::MergedWithPrevious;
    if (b == "MergedWithNext") return Behavior::MergedWithNext;
    if (b == "Contiguous") return Behavior::Contiguous;
    fail(where + ".behavior", "unsupported split behavior '" + b + "'",
         "Expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous");
}

using Spans = std::vector<std::pair<std::pair<size_t, size_t>, bool>>;

// HF's NormalizedString::split: combines the (span, isMatch) list per behavior, drops empties.
void splitInto(const Piece& p, Spans spans, Behavior behavior, std::vector<Piece>& out) {
    std::vector<std::pair<size_t, size_t>> parts;
    switch (behavior) {
        case Behavior::Isolated:
            for (auto& s : spans) parts.push_back(s.first);
            break;
        case Behavior::Removed:
            for (auto& s : spans)
                if (!s.second) parts.push_back(s.first);
            break;
        case Behavior::MergedWithPrevious: {
            bool prevMatch = false;
            for (auto& [span, isMatch] : spans) {
                if (isMatch && !prevMatch && !parts.empty()) parts.back().second = span.second;
                else parts.push_back(span);
                prevMatch = isMatch;
            }
            break;
        }
        case Behavior::MergedWithNext: {
            bool prevMatch = false;
            for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
                if (it->second && !prevMatch && !parts.empty()) parts.back().first = it->first.first;
                else parts.push_back(it->first);
                prevMatch = it->second;
            }
            std::reverse(parts.begin(), parts.end());
            break;
        }
        case Behavior::Contiguous: {
            bool prevMatch = false;
            for (auto& [span, isMatch] : spans) {
                if (isMatch == prevMatch && !parts.empty()) parts.back().second = span.second;
                else parts.push_back(span);
                prevMatch = isMatch;
            }
            break;
        }
    }
    for (auto [a, b] : parts) {
        if (a == b) continue;
        out.push_back(Piece{p.text.substr(a, b - a), p.atStart && a == 0});
    }
}

class RegexSplit : public PreTokenizer {
public:
    RegexSplit(const std::string& pattern, const std::string& where, Behavior b, bool invert)
        : m_re(pattern, where), m_behavior(b), m_invert(invert) {}
    void preTokenize(std::vector<Piece>& pieces) const override {
        std::vector<Piece> out;
        out.reserve(pieces.size() * 2);
        for (const auto& p : pieces) {
            Spans spans = findMatches(m_re, p.text);
            if (m_invert)
                for (auto& s : spans) s.second = !s.second;
            splitInto(p, std::move(spans), m_behavior, out);
        }
        pieces.swap(out);
    }

private:
    Regex m_re;
    Behavior m_behavior;
    bool m_invert;
};

class ByteLevelPre : public PreTokenizer {
public:
    ByteLevelPre(bool addPrefixSpace, bool useRegex, const std::string& where) : m_addPrefixSpace(addPrefixSpace) {
        if (useRegex) m_split = std::make_unique<RegexSplit>(kGpt2Pattern, where, Behavior::Isolated, false);
    }
    void preTokenize(std::vector<Piece>& pieces) const override {
        if (m_addPrefixSpace)
            for (auto& p : pieces)
                if (!p.text.empty() && p.text[0] != ' ') p.text.insert(0, " ");
        if (m_split) m_split->preTokenize(pieces);
        const auto& map = byteToUnicode();
        for (auto& p : pieces) {
            std::string mapped;
            mapped.reserve(p.text.size() * 2);
            for (char c : p.text) mapped += map[static_cast<unsigned char>(c)];
            p.text = std::move(mapped);
        }
    }

private:
    bool m_addPrefixSpace;
    std::unique_ptr<RegexSplit> m_split;
};

enum class PrependScheme { First, Always, Never };

class MetaspacePre : public PreTokenizer {
public:
    MetaspacePre(std::string replacement, PrependScheme scheme, bool split, const std::string& where)
        : m_rep(std::move(replacement)), m_scheme(scheme), m_split(split), m_repRe(Regex::escape(m_rep), where) {}
    void preTokenize(std::vector<Piece>& pieces) const override {
        std::vector<Piece> out;
        out.reserve(pieces.size() * 4);
        for (auto p : pieces) {
            p.text = replaceAll(p.text, " ", m_rep);
            bool prepend = m_scheme == PrependScheme::Always || (m_scheme == PrependScheme::First && p.atStart);
            if (prepend && !p.text.empty() && p.text.compare(0, m_rep.size(), m_rep) != 0) p.text.insert(0, m_rep);
            if (m_split) splitInto(p, findMatches(m_repRe, p.text), Behavior::MergedWithNext, out);
            else if (!p.text.empty()) out.push_back(std::move(p));
        }
        pieces.swap(out);
    }

private:
    std::string m_rep;
    PrependScheme m_scheme;
    bool m_split;
    Regex m_repRe;
};

class SequencePre : public PreTokenizer {
public:
    std::vector<std::unique_ptr<PreTokenizer>> m_steps;
    void preTokenize(std::vector<Piece>& pieces) const override {
        for (const auto& s : m_steps) s->preTokenize(pieces);
    }
};

bool boolMember(const json& j, const std::string& key, bool def, const std::string& where) {
    if (!j.contains(key) || j[key].is_null()) return def;
    if (!j[key].is_boolean()) fail(where + "." + key, "expected true or false, found " + j[key].dump());
    return j[key].get<bool>();
}

}  // namespace

std::unique_ptr<PreTokenizer> makePreTokenizer(const json& j, const std::string& where) {
    const std::string type = typeOf(j, where);
    if (type == "Sequence") return makeSequence<SequencePre, PreTokenizer>(j, "pretokenizers", where, makePreTokenizer);
    if (type == "ByteLevel")
        return std::make_unique<ByteLevelPre>(boolMember(j, "add_prefix_space", true, where),
                                              boolMember(j, "use_regex", true, where), where);
    if (type == "Split") {
        std::string src = patternSource(member(j, "pattern", where), where + ".pattern");
        if (src.empty()) fail(where + ".pattern", "an empty split pattern");
        return std::make_unique<RegexSplit>(src, where + ".pattern", parseBehavior(j, where),
                                            boolMember(j, "invert", false, where));
    }
    if (type == "Metaspace") {
        std::string rep = singleChar(j, "replacement", where);
        PrependScheme scheme = PrependScheme::Always;
        if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
            std::string s = stringMember(j, "prepend_scheme", where);
            if (s == "first") scheme = PrependScheme::First;
            else if (s == "always") scheme = PrependScheme::Always;
            else if (s == "never") scheme = PrependScheme::Never;
            else fail(where + ".prepend_scheme", "unsupported value '" + s + "'", "Expected first, always or never");
        } else if (j.contains("add_prefix_space")) {
            scheme = boolMember(j, "add_prefix_space", true, where) ? PrependScheme::Always : PrependScheme::Never;
        }
        return std::make_unique<MetaspacePre>(rep, scheme, boolMember(j, "split", true, where), where);
    }
    if (type == "Digits") {
        bool individual = boolMember(j, "individual_digits", false, where);
        return std::make_unique<RegexSplit>(individual ? "\\p{N}" : "\\p{N}+", where, Behavior::Isolated, false);
    }
    if (type == "Whitespace") return std::make_unique<RegexSplit>(R"(\w+|[^\w\s]+)", where, Behavior::Removed, true);
    if (type == "WhitespaceSplit") return std::make_unique<RegexSplit>(R"(\s+)", where, Behavior::Removed, false);
    fail(where, "unsupported pre-tokenizer type '" + type + "'",
         "Supported pre-tokenizers: ByteLevel, Split, Metaspace, Digits, Whitespace, WhitespaceSplit, Sequence");
}

}  // namespace peft::tok
