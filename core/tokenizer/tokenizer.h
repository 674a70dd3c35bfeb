// Tokenizer: a Hugging Face tokenizer.json (normalizer, pre-tokenizer, BPE model, post-processor,
// decoder, added tokens) reproduced exactly. Components it does not implement are refused by name.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace peft {

// Supported (anything else is refused by type name): model BPE (merges as "a b" or [a, b],
// byte_fallback, unk/fuse_unk, ignore_merges, continuing_subword_prefix, end_of_word_suffix;
// dropout must be null); normalizers Sequence, Prepend, Replace, NFC, NFKC, NFD, NFKD;
// pre-tokenizers ByteLevel, Split, Metaspace, Digits, Whitespace, WhitespaceSplit, Sequence;
// post-processors TemplateProcessing (single), ByteLevel, Bert/RobertaProcessing, Sequence;
// decoders ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence.
// Thread-safe: encode/decode may be called concurrently (the BPE word cache is locked).
class Tokenizer {
public:
    // Loads <dir>/tokenizer.json (or a path to the file itself) and, when present beside it,
    // tokenizer_config.json (for chat_template, bos/eos/pad token strings).
    // Throws PeftError naming the file and the component it cannot handle.
    static std::shared_ptr<Tokenizer> load(const std::string& pathOrDir);
    virtual ~Tokenizer() = default;

    // What `tokenizer(text)["input_ids"]` returns: with addSpecialTokens the post-processor runs.
    virtual std::vector<int64_t> encode(const std::string& text, bool addSpecialTokens = true) const = 0;
    // `decode(ids, skip_special_tokens=...)`.
    virtual std::string decode(const std::vector<int64_t>& ids, bool skipSpecialTokens = false) const = 0;

    virtual int64_t vocabSize() const = 0;  // including added tokens
    virtual std::optional<int64_t> tokenToId(const std::string& token) const = 0;
    virtual std::string idToToken(int64_t id) const = 0;
    virtual bool isSpecial(int64_t id) const = 0;

    // From tokenizer_config.json when present (empty / nullopt otherwise).
    virtual std::optional<int64_t> bosId() const = 0;
    virtual std::optional<int64_t> eosId() const = 0;
    virtual std::optional<int64_t> padId() const = 0;
    virtual std::string chatTemplate() const = 0;
};

}  // namespace peft
