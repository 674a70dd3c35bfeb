// Added tokens of tokenizer.json (special or not): found in the text before the normalizer and
// pre-tokenizer run, leftmost-longest, honouring single_word, lstrip and rstrip like HF.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tokenizer/text_util.h"

namespace peft::tok {

struct AddedToken {
    std::string content;
    int64_t id = -1;
    bool singleWord = false;
    bool lstrip = false;
    bool rstrip = false;
    bool normalized = false;
    bool special = false;
};

// A piece of the input: either plain text (id < 0) or one added token.
struct AddedSplit {
    size_t start = 0, end = 0;  // byte range in the searched string
    int64_t id = -1;
};

class AddedTokenMatcher {
public:
    // `patterns[i]` is the text searched for token `tokens[i]` (its content, normalized when
    // the token is `normalized`).
    AddedTokenMatcher(std::vector<AddedToken> tokens, std::vector<std::string> patterns);
    bool empty() const { return m_tokens.empty(); }
    // Splits s into text pieces and added-token pieces, covering s (tokens absorb the spaces
    // they strip). An empty s gives one empty text piece.
    std::vector<AddedSplit> split(const std::string& s) const;

private:
    std::vector<AddedToken> m_tokens;
    std::vector<std::string> m_patterns;
    std::vector<std::vector<size_t>> m_byFirstByte;  // candidate indices, longest pattern first
    Regex m_word;
};

}  // namespace peft::tok
