// Python-compatible whitespace splitting and the answer normalisation of exact match.
#include "core/eval/text_norm.h"

#include "core/eval/text_metric.h"
#include "core/tokenizer/text_util.h"
#include "core/util/error.h"

namespace peft::eval {

bool pyIsSpace(char32_t c) {
    // CPython's _PyUnicode_IsWhitespace: bidirectional types WS, B, S plus the ASCII separators.
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
        (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

std::u32string codePoints(const std::string& s) {
    const std::string ok = tok::isValidUtf8(s) ? s : tok::utf8Lossy(s);
    std::u32string out;
    for (size_t i = 0; i < ok.size();) out.push_back(tok::nextCodePoint(ok, i));
    return out;
}

std::string toUtf8(const std::u32string& s) {
    std::string out;
    for (char32_t c : s) tok::appendUtf8(out, c);
    return out;
}

std::u32string pyLower(const std::u32string& s) {
    std::u32string out;
    for (char32_t c : s) {
        if ((c >= U'A' && c <= U'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7) ||
            (c >= 0x391 && c <= 0x3AB && c != 0x3A2) || (c >= 0x410 && c <= 0x42F)) {
            c += 0x20;
        } else if (c >= 0x400 && c <= 0x40F) {
            c += 0x50;
        } else if (c == 0x130) {
            out.push_back(U'i');
            c = 0x307;
        } else if (c == 0x178) {
            c = 0xFF;
        } else if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) {
            c |= 1;  // pairs: even upper, odd lower
        } else if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) {
            if (c & 1) ++c;  // pairs: odd upper, even lower
        }
        out.push_back(c);
    }
    return out;
}

std::vector<std::string> pySplit(const std::string& s) {
    std::vector<std::string> out;
    std::u32string cur;
    for (char32_t c : codePoints(s)) {
        if (pyIsSpace(c)) {
            if (!cur.empty()) out.push_back(toUtf8(cur));
            cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    if (!cur.empty()) out.push_back(toUtf8(cur));
    return out;
}

std::string pyRstrip(const std::string& s) {
    std::u32string cp = codePoints(s);
    while (!cp.empty() && pyIsSpace(cp.back())) cp.pop_back();
    return toUtf8(cp);
}

Normalization Normalization::parse(const std::string& spec, const std::string& where) {
    if (spec.empty() || spec == "squad") return {};
    if (spec == "none") return {false, false, false, false};
    if (spec == "lower") return {true, false, false, true};
    Normalization n{false, false, false, false};
    size_t start = 0;
    while (start <= spec.size()) {
        size_t comma = spec.find(',', start);
        std::string part = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (part == "case") n.lowercase = true;
        else if (part == "punct") n.punctuation = true;
        else if (part == "articles") n.articles = true;
        else if (part == "space") n.whitespace = true;
        else
            fail(where, "unknown normalisation '" + part + "'",
                 "Use squad (default), lower, none, or a comma list of case,punct,articles,space.");
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return n;
}

std::string normalizeAnswer(const std::string& s, const Normalization& n) {
    // The order of SQuAD's normalize_answer: lower, remove punctuation, remove articles, fix spaces.
    std::u32string t = codePoints(s);
    if (n.lowercase) t = pyLower(t);
    if (n.punctuation) {
        std::u32string kept;
        for (char32_t c : t) {
            const bool punct = (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
                (c >= 0x7B && c <= 0x7E);
            if (!punct) kept.push_back(c);
        }
        t.swap(kept);
    }
    if (n.articles) {
        // re.sub(r'\b(a|an|the)\b', ' ', text). Python's \b is a Unicode word boundary; outside ASCII
        // we count every code point but whitespace and curly quotes as a word character (letters,
        // the common case), which differs from Python only next to non-ASCII symbols such as dashes.
        auto isWord = [](char32_t c) {
            return (c >= U'0' && c <= U'9') || (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') || c == U'_' ||
                (c > 0x7F && !pyIsSpace(c) && c != 0x2018 && c != 0x2019 && c != 0x201C && c != 0x201D);
        };
        std::u32string out;
        size_t i = 0;
        while (i < t.size()) {
            bool matched = false;
            if (i == 0 || !isWord(t[i - 1])) {
                for (const std::u32string art : {U"the", U"an", U"a"}) {
                    if (t.compare(i, art.size(), art) == 0 &&
                        (i + art.size() == t.size() || !isWord(t[i + art.size()]))) {
                        out.push_back(U' ');
                        i += art.size();
                        matched = true;
                        break;
                    }
                }
            }
            if (!matched) out.push_back(t[i++]);
        }
        t.swap(out);
    }
    std::string r = toUtf8(t);
    if (n.whitespace) {
        std::string joined;
        for (const auto& w : pySplit(r)) joined += (joined.empty() ? "" : " ") + w;
        r = joined;
    }
    return r;
}

}  // namespace peft::eval
