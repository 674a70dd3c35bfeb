// The pipeline stages of a Hugging Face tokenizer.json: normalizers, pre-tokenizers,
// post-processors and decoders, each built from its JSON object by a factory that refuses
// (PeftError naming the type and file) any component it does not implement.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/util/error.h"

namespace peft::tok {

class Regex;

// A piece of text on its way to the model. `atStart`: the piece begins at offset 0 of the
// original input (HF's `offsets_original().0 == 0`, used by Metaspace's prepend_scheme "first").
struct Piece {
    std::string text;
    bool atStart = false;
};

class Normalizer {
public:
    virtual ~Normalizer() = default;
    virtual void normalize(std::string& s) const = 0;
};

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    // Replaces each piece by its sub-pieces (empty pieces are dropped).
    virtual void preTokenize(std::vector<Piece>& pieces) const = 0;
};

class PostProcessor {
public:
    virtual ~PostProcessor() = default;
    // Runs only when special tokens are requested (ids of a single sequence).
    virtual void process(std::vector<int64_t>& ids) const = 0;
};

class Decoder {
public:
    virtual ~Decoder() = default;
    // HF's decode_chain: tokens in, tokens out; the caller joins the result.
    virtual void decodeChain(std::vector<std::string>& tokens) const = 0;
};

// `where` is "<file>: <json key path>", used verbatim in error messages.
std::unique_ptr<Normalizer> makeNormalizer(const nlohmann::json& j, const std::string& where);
std::unique_ptr<PreTokenizer> makePreTokenizer(const nlohmann::json& j, const std::string& where);
std::unique_ptr<PostProcessor> makePostProcessor(const nlohmann::json& j, const std::string& where);
std::unique_ptr<Decoder> makeDecoder(const nlohmann::json& j, const std::string& where);

// JSON access with errors naming the key.
const nlohmann::json& member(const nlohmann::json& j, const std::string& key, const std::string& where);
std::string stringMember(const nlohmann::json& j, const std::string& key, const std::string& where);
std::string typeOf(const nlohmann::json& j, const std::string& where);
// Reads a `{"String": s}` / `{"Regex": r}` pattern object; returns a regex source
// (String patterns escaped) and whether it was a plain string.
std::string patternSource(const nlohmann::json& j, const std::string& where, bool* isString = nullptr);
// A single Unicode character given as a JSON string (Metaspace replacement, Strip content).
std::string singleChar(const nlohmann::json& j, const std::string& key, const std::string& where);

// tokenizers' Replace, a normalizer and a decoder alike: every match of a `{"String": s}` or
// `{"Regex": r}` pattern becomes `content`.
class ReplacePattern {
public:
    ReplacePattern(const nlohmann::json& j, const std::string& where);
    ~ReplacePattern();
    void apply(std::string& s) const;

private:
    std::string m_literal;
    std::unique_ptr<Regex> m_regex;
    std::string m_content;
};

// The steps of a "Sequence" component: `j[key]` must be a list, and `make(entry, where)` builds
// each entry (where names it: "<where>.<key>[i]").
template <class Step, class Make>
std::vector<std::unique_ptr<Step>> sequenceSteps(const nlohmann::json& j, const std::string& key,
                                                 const std::string& where, Make make) {
    const nlohmann::json& list = member(j, key, where);
    if (!list.is_array()) fail(where + "." + key, "expected a list");
    std::vector<std::unique_ptr<Step>> steps;
    for (size_t i = 0; i < list.size(); ++i)
        steps.push_back(make(list[i], where + "." + key + "[" + std::to_string(i) + "]"));
    return steps;
}

// A "Sequence" component: a Seq (a Step that applies its m_steps in order) with its steps read
// from j[key] as sequenceSteps reads them.
template <class Seq, class Step, class Make>
std::unique_ptr<Step> makeSequence(const nlohmann::json& j, const std::string& key, const std::string& where,
                                   Make make) {
    auto seq = std::make_unique<Seq>();
    seq->m_steps = sequenceSteps<Step>(j, key, where, make);
    return seq;
}

}  // namespace peft::tok
