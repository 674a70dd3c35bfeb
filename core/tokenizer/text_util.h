// UTF-8 helpers and the PCRE2 regex wrapper shared by the tokenizer components: code point
// decoding, lossy UTF-8 repair (as Rust's from_utf8_lossy), GPT-2's byte<->char map, bounded regex.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace peft::tok {

// Decodes the code point at s[i] (s must be valid UTF-8) and advances i past it.
char32_t nextCodePoint(const std::string& s, size_t& i);
void appendUtf8(std::string& out, char32_t cp);
std::vector<char32_t> toCodePoints(const std::string& s);
// True when s is well-formed UTF-8; otherwise badOffset receives the first bad byte.
bool isValidUtf8(const std::string& s, size_t* badOffset = nullptr);
// Replaces each maximal ill-formed subsequence by U+FFFD, as Rust's String::from_utf8_lossy.
std::string utf8Lossy(const std::string& bytes);
// Byte length of the UTF-8 sequence starting with lead byte b (1 for stray bytes).
size_t utf8SeqLen(unsigned char b);

// GPT-2's reversible byte -> printable char map (as UTF-8 strings) and its inverse.
const std::vector<std::string>& byteToUnicode();
// Returns -1 when cp is not one of the 256 mapped chars.
int unicodeToByte(char32_t cp);

// Replaces every non-overlapping occurrence of `from` (non-empty) by `to`.
std::string replaceAll(const std::string& s, const std::string& from, const std::string& to);

// A compiled PCRE2 pattern (UTF + UCP, so \p{L}, \s, \w are Unicode-aware; MULTILINE like
// Oniguruma's Ruby syntax used by HF tokenizers). Matching is bounded by match/depth/heap limits:
// a catastrophic pattern raises PeftError instead of hanging. Thread-safe for matching.
class Regex {
public:
    // `where` names the file and key, for error messages.
    Regex(const std::string& pattern, const std::string& where);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // All non-overlapping matches [start, end) in byte offsets, in order. After an empty match
    // the search resumes one character later (as Oniguruma's find_iter). `s` must be valid UTF-8.
    std::vector<std::pair<size_t, size_t>> findAll(const std::string& s) const;
    // Whether the pattern matches anywhere in s.
    bool search(const std::string& s) const;
    const std::string& pattern() const { return m_pattern; }

    // The literal text as a pattern matching exactly it.
    static std::string escape(const std::string& literal);

private:
    // Returns false when there is no match; throws on limit errors.
    bool matchAt(const std::string& s, size_t start, size_t& mStart, size_t& mEnd) const;

    std::string m_pattern;
    std::string m_where;
    void* m_code = nullptr;     // pcre2_code_8*
    void* m_context = nullptr;  // pcre2_match_context_8*
    bool m_jit = false;
};

// Splits s by the regex into (piece, isMatch) covering the whole string, as HF's
// Pattern::find_matches (an empty s gives one empty non-match).
std::vector<std::pair<std::pair<size_t, size_t>, bool>> findMatches(const Regex& re, const std::string& s);

}  // namespace peft::tok
