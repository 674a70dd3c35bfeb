// Tokenizer keys for GGUF. Token types use llama.cpp's numbering: 1 normal, 2 unknown, 3 control,
// 4 user-defined, 5 unused, 6 byte.
#include "core/export/gguf_tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>

#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"

namespace peft::gguf {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

enum TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

// Split regexes of byte-level BPE tokenizers as they appear in tokenizer.json, and the llama.cpp
// pre-tokenizer that implements each (llama-vocab.cpp lists the originals beside its versions).
const std::vector<std::pair<std::string, std::string>>& knownRegexes() {
    static const std::vector<std::pair<std::string, std::string>> k = {
        {R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)", "gpt-2"},
        {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
         "llama-bpe"},
        {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
         "qwen2"},
    };
    return k;
}

std::string jsonStr(const json& j, const char* key) {
    return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

// The pre-tokenizer name of a byte-level BPE tokenizer.json, or an error saying what it has.
std::string bytelevelPre(const json& pre, const std::string& where) {
    const std::string type = jsonStr(pre, "type");
    if (type == "ByteLevel") {
        if (!pre.value("use_regex", true))
            fail(where + ": pre_tokenizer",
                 "a ByteLevel pre-tokenizer without its regex (use_regex false) has no llama.cpp equivalent");
        return "gpt-2";
    }
    if (type == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array()) {
        const json& seq = pre["pretokenizers"];
        std::string regex;
        bool byteLevel = false;
        for (const auto& p : seq) {
            const std::string t = jsonStr(p, "type");
            if (t == "Split" && regex.empty() && p.contains("pattern") && p["pattern"].is_object()) {
                if (p["pattern"].contains("Regex")) regex = p["pattern"]["Regex"].get<std::string>();
                else fail(where + ": pre_tokenizer", "a Split on a plain string has no llama.cpp pre-tokenizer");
            } else if (t == "ByteLevel" && !p.value("use_regex", true)) {
                byteLevel = true;
            } else {
                fail(where + ": pre_tokenizer",
                     "the pre-tokenizer sequence has a '" + t +
                         "' step that llama.cpp's byte-level BPE does not reproduce",
                     "Only Split(regex) followed by ByteLevel(use_regex=false), or ByteLevel alone, can be exported.");
            }
        }
        if (regex.empty() || !byteLevel)
            fail(where + ": pre_tokenizer", "expected Split(regex) + ByteLevel(use_regex=false)");
        return preTokenizerForRegex(regex, where);
    }
    fail(where + ": pre_tokenizer",
         "pre-tokenizer '" + (type.empty() ? pre.dump() : type) + "' has no llama.cpp equivalent for a byte-level BPE");
}

bool isByteToken(const std::string& t) {
    static const std::regex re("<0x[0-9A-Fa-f]{2}>");
    return std::regex_match(t, re);
}

}  // namespace

std::string preTokenizerForRegex(const std::string& regex, const std::string& where) {
    for (const auto& [r, name] : knownRegexes())
        if (r == regex) return name;
    fail(where + ": pre_tokenizer",
         "the split regex " + json(regex).dump() +
             " matches no pre-tokenizer that llama.cpp knows (gpt-2, llama-bpe, qwen2)",
         "Nothing was written: a GGUF with the wrong pre-tokenizer would tokenize differently from the model's "
         "training.");
}

TokenizerSummary addTokenizerMetadata(Writer& w, const std::string& dir, const ModelConfig& cfg) {
    const fs::path tj = fs::path(dir) / "tokenizer.json";
    if (!fs::exists(tj))
        fail(tj.string(), "not found: a GGUF file carries the tokenizer, and it is read from tokenizer.json",
             "Copy tokenizer.json (and tokenizer_config.json) from the base model into this folder.");
    const std::string where = tj.string();
    const json j = readJsonFile(where);
    auto tok = Tokenizer::load(dir);  // also validates every component we rely on

    if (!j.contains("model") || !j["model"].is_object() || jsonStr(j["model"], "type") != "BPE")
        fail(where + ": model.type",
             "'" + (j.contains("model") ? jsonStr(j["model"], "type") : std::string()) +
                 "' cannot be exported; GGUF export supports BPE tokenizers");
    const json& m = j["model"];
    const bool byteFallback = m.value("byte_fallback", false);

    TokenizerSummary s;
    if (byteFallback) {
        s.model = "llama";
        s.pre = "default";
    } else {
        s.model = "gpt2";
        if (!j.contains("pre_tokenizer") || j["pre_tokenizer"].is_null())
            fail(where + ": pre_tokenizer", "a byte-level BPE without a pre-tokenizer has no llama.cpp equivalent");
        s.pre = bytelevelPre(j["pre_tokenizer"], where);
    }

    // Token strings by id: model vocab, then added tokens (which may lie beyond it).
    std::map<int64_t, std::string> byId;
    for (const auto& [text, id] : m["vocab"].items()) byId[id.get<int64_t>()] = text;
    std::map<int64_t, bool> added;  // id -> special
    if (j.contains("added_tokens") && j["added_tokens"].is_array())
        for (const auto& a : j["added_tokens"]) {
            const int64_t id = a.at("id").get<int64_t>();
            byId[id] = a.at("content").get<std::string>();
            added[id] = a.value("special", false);
        }
    const int64_t maxId = byId.empty() ? -1 : byId.rbegin()->first;
    if (maxId + 1 > cfg.vocabSize)
        fail(where,
             "the tokenizer has ids up to " + std::to_string(maxId) + " but the model's vocab_size is " +
                 std::to_string(cfg.vocabSize),
             "Use the tokenizer the model was trained with.");
    const int64_t n = cfg.vocabSize;
    std::vector<std::string> tokens(n);
    std::vector<int32_t> types(n, kUnused);
    const std::string unk = jsonStr(m, "unk_token");
    for (int64_t i = 0; i < n; ++i) {
        auto it = byId.find(i);
        if (it == byId.end()) {
            tokens[i] = "[PAD" + std::to_string(i) + "]";  // embedding rows past the tokenizer
            continue;
        }
        tokens[i] = it->second;
        auto a = added.find(i);
        if (s.model == "llama" && isByteToken(it->second)) types[i] = kByte;
        else if (!unk.empty() && it->second == unk) types[i] = kUnknown;
        else if (a != added.end()) types[i] = a->second ? kControl : kUserDefined;
        else types[i] = kNormal;
    }
    s.tokens = n;

    // Merges, as "left right" strings in rank order.
    std::vector<std::string> merges;
    if (m.contains("merges"))
        for (const auto& mg : m["merges"]) {
            if (mg.is_string()) merges.push_back(mg.get<std::string>());
            else if (mg.is_array() && mg.size() == 2)
                merges.push_back(mg[0].get<std::string>() + " " + mg[1].get<std::string>());
            else fail(where + ": model.merges", "expected \"a b\" or [a, b], got " + mg.dump());
        }

    w.setString("tokenizer.ggml.model", s.model);
    w.setString("tokenizer.ggml.pre", s.pre);
    w.setStringArray("tokenizer.ggml.tokens", tokens);
    w.setI32Array("tokenizer.ggml.token_type", types);
    if (s.model == "gpt2") {
        w.setStringArray("tokenizer.ggml.merges", merges);
    } else {
        // llama.cpp's SentencePiece tokenizer merges the adjacent pair whose joined text is the
        // highest-scoring token. Scoring each token by minus the rank of the merge that makes it
        // reproduces the BPE merge order (the official converter writes -1000 everywhere instead).
        std::map<std::string, float> score;
        for (size_t r = 0; r < merges.size(); ++r) {
            const std::string& mg = merges[r];
            const size_t sp = mg.find(' ', 1);
            if (sp == std::string::npos) continue;
            std::string joined = mg.substr(0, sp) + mg.substr(sp + 1);
            score.emplace(joined, -static_cast<float>(r));
        }
        std::vector<float> scores(n, 0.0f);
        for (int64_t i = 0; i < n; ++i) {
            auto it = score.find(tokens[i]);
            // Tokens no merge makes never win a merge; single characters are never a merge result.
            scores[i] = it != score.end() ? it->second : -1e9f;
        }
        w.setF32Array("tokenizer.ggml.scores", scores);
    }

    // Special ids: tokenizer_config.json's token strings first, config.json's ids otherwise.
    auto setId = [&](const char* key, std::optional<int64_t> id) {
        if (id && *id >= 0 && *id < n) w.setU32(std::string("tokenizer.ggml.") + key, static_cast<uint32_t>(*id));
    };
    std::optional<int64_t> bos = tok->bosId(), eos = tok->eosId(), pad = tok->padId();
    if (!bos && cfg.bosTokenId >= 0) bos = cfg.bosTokenId;
    if (!eos && cfg.eosTokenId >= 0) eos = cfg.eosTokenId;
    if (!pad && cfg.padTokenId >= 0) pad = cfg.padTokenId;
    setId("bos_token_id", bos);
    setId("eos_token_id", eos);
    setId("padding_token_id", pad);
    if (!unk.empty()) setId("unknown_token_id", tok->tokenToId(unk));

    // Whether the post-processor adds BOS / EOS, found by encoding a word both ways.
    const std::vector<int64_t> with = tok->encode("a", true), without = tok->encode("a", false);
    s.addBos = with.size() > without.size() && bos && with.front() == *bos;
    const bool addEos = with.size() > without.size() && eos && with.back() == *eos;
    w.setBool("tokenizer.ggml.add_bos_token", s.addBos);
    w.setBool("tokenizer.ggml.add_eos_token", addEos);
    if (s.model == "llama") {
        // Whether the normalizer / Metaspace prepends "▁" to the text, as SentencePiece's
        // add_dummy_prefix does: seen in the first token of a plain word.
        const bool prefix = !without.empty() && tok->idToToken(without.front()).rfind("\xE2\x96\x81", 0) == 0;
        w.setBool("tokenizer.ggml.add_space_prefix", prefix);
    }

    s.chatTemplate = tok->chatTemplate();
    if (!s.chatTemplate.empty()) w.setString("tokenizer.chat_template", s.chatTemplate);
    if (eos) s.stopTokens.push_back(tokens[*eos]);
    for (const char* eot : {"<|im_end|>", "<|eot_id|>", "<|end|>", "</s>", "<|endoftext|>"}) {
        auto id = tok->tokenToId(eot);
        if (id && s.chatTemplate.find(eot) != std::string::npos &&
            std::find(s.stopTokens.begin(), s.stopTokens.end(), eot) == s.stopTokens.end())
            s.stopTokens.push_back(eot);
    }
    return s;
}

}  // namespace peft::gguf
