// The BPE model of tokenizer.json: vocabulary, merges by rank, byte fallback, unk fusing,
// ignore_merges, continuing_subword_prefix / end_of_word_suffix, with a per-word cache.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace peft::tok {

class BpeModel {
public:
    // `j` is tokenizer.json's "model" object; `where` names the file for errors.
    BpeModel(const nlohmann::json& j, const std::string& where);

    // Appends the ids of one pre-tokenized word.
    void tokenize(const std::string& word, std::vector<int64_t>& out) const;

    std::optional<int64_t> tokenToId(const std::string& token) const;
    const std::string* idToToken(int64_t id) const;
    const std::unordered_map<std::string, int64_t>& vocab() const { return m_vocab; }

private:
    std::vector<int64_t> mergeWord(const std::string& word) const;

    std::unordered_map<std::string, int64_t> m_vocab;
    std::unordered_map<int64_t, std::string> m_idToToken;
    // (left id << 32 | right id) -> (rank, merged id)
    std::unordered_map<uint64_t, std::pair<int32_t, int64_t>> m_merges;
    std::optional<std::string> m_unk;
    std::string m_prefix;  // continuing_subword_prefix
    std::string m_suffix;  // end_of_word_suffix
    bool m_fuseUnk = false;
    bool m_byteFallback = false;
    bool m_ignoreMerges = false;
    std::vector<int64_t> m_byteIds;  // id of <0xNN>, -1 when absent

    mutable std::shared_mutex m_cacheMutex;
    mutable std::unordered_map<std::string, std::vector<int64_t>> m_cache;
};

}  // namespace peft::tok
