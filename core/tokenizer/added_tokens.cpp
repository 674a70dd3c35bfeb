// Added-token matching (see added_tokens.h): a leftmost-longest scan, then HF's single_word,
// lstrip and rstrip rules.
#include "core/tokenizer/added_tokens.h"

#include <algorithm>

namespace peft::tok {

namespace {
bool isWhiteSpace(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
        (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Start of the code point that ends at s[end) (end > 0).
size_t prevCharStart(const std::string& s, size_t end) {
    size_t i = end - 1;
    while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
    return i;
}
}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens, std::vector<std::string> patterns)
    : m_tokens(std::move(tokens)), m_patterns(std::move(patterns)), m_byFirstByte(256), m_word("\\w", "added tokens") {
    for (size_t i = 0; i < m_patterns.size(); ++i)
        if (!m_patterns[i].empty()) m_byFirstByte[static_cast<unsigned char>(m_patterns[i][0])].push_back(i);
    for (auto& v : m_byFirstByte)
        std::stable_sort(v.begin(), v.end(),
                         [&](size_t a, size_t b) { return m_patterns[a].size() > m_patterns[b].size(); });
}

std::vector<AddedSplit> AddedTokenMatcher::split(const std::string& s) const {
    std::vector<AddedSplit> out;
    if (s.empty()) {
        out.push_back(AddedSplit{0, 0, -1});
        return out;
    }
    auto isWordChar = [&](size_t from, size_t to) { return m_word.search(s.substr(from, to - from)); };
    size_t startOffset = 0;  // end of the last emitted piece
    size_t pos = 0;          // where the scan resumes
    while (pos < s.size()) {
        // Leftmost-longest match at or after pos.
        size_t mStart = std::string::npos, idx = 0;
        for (size_t p = pos; p < s.size() && mStart == std::string::npos; ++p) {
            for (size_t i : m_byFirstByte[static_cast<unsigned char>(s[p])]) {
                const std::string& pat = m_patterns[i];
                if (s.compare(p, pat.size(), pat) == 0) {
                    mStart = p;
                    idx = i;
                    break;
                }
            }
        }
        if (mStart == std::string::npos) break;
        size_t start = mStart, stop = mStart + m_patterns[idx].size();
        pos = stop;
        const AddedToken& tok = m_tokens[idx];
        if (start < startOffset) continue;  // inside spaces an earlier token already took
        if (tok.singleWord) {
            bool wordBefore = start > 0 && isWordChar(prevCharStart(s, start), start);
            bool wordAfter = false;
            if (stop < s.size()) {
                size_t k = stop;
                nextCodePoint(s, k);
                wordAfter = isWordChar(stop, k);
            }
            if (wordBefore || wordAfter) continue;
        }
        if (tok.lstrip) {
            size_t ns = start;
            while (ns > 0) {
                size_t k = prevCharStart(s, ns), kk = k;
                if (!isWhiteSpace(nextCodePoint(s, kk))) break;
                ns = k;
            }
            start = std::max(ns, startOffset);
        }
        if (tok.rstrip) {
            while (stop < s.size()) {
                size_t k = stop;
                if (!isWhiteSpace(nextCodePoint(s, k))) break;
                stop = k;
            }
        }
        if (startOffset < start) out.push_back(AddedSplit{startOffset, start, -1});
        out.push_back(AddedSplit{start, stop, tok.id});
        startOffset = stop;
    }
    if (startOffset != s.size()) out.push_back(AddedSplit{startOffset, s.size(), -1});
    return out;
}

}  // namespace peft::tok
