// HfTokenizer: the Tokenizer interface over a tokenizer.json pipeline (added tokens ->
// normalizer -> pre-tokenizer -> BPE -> post-processor; decoder on the way back), plus
// tokenizer_config.json (bos/eos/pad, chat template).
#include "core/tokenizer/tokenizer.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include "core/io/model_config.h"
#include "core/tokenizer/added_tokens.h"
#include "core/tokenizer/bpe.h"
#include "core/tokenizer/components.h"
#include "core/tokenizer/text_util.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"

namespace peft {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

bool boolField(const json& j, const std::string& key, bool def, const std::string& where) {
    if (!j.contains(key) || j[key].is_null()) return def;
    if (!j[key].is_boolean()) fail(where + "." + key, "expected true or false, found " + j[key].dump());
    return j[key].get<bool>();
}

// transformers' clean_up_tokenization: drops the space before common punctuation/contractions.
std::string cleanUpTokenization(std::string s) {
    static const std::pair<const char*, const char*> kRules[] = {
        {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : kRules) s = tok::replaceAll(s, from, to);
    return s;
}

// A token in tokenizer_config.json: "text" or {"content": "text", ...}; nullopt when absent/null.
std::optional<std::string> configToken(const json& cfg, const std::string& key, const std::string& where) {
    if (!cfg.contains(key) || cfg[key].is_null()) return std::nullopt;
    const json& v = cfg[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    fail(where + "." + key, "expected a token string or {\"content\": ...}, found " + v.dump());
}

class HfTokenizer : public Tokenizer {
public:
    explicit HfTokenizer(const std::string& file) : m_file(file) {
        const json root = readJsonFile(file);
        if (!root.is_object()) fail(file, "expected a JSON object at the top level", "Is this a tokenizer.json?");
        const std::string w = file + ": ";
        const json& model = tok::member(root, "model", file);
        std::string modelType = model.contains("type") && model["type"].is_string() ? model["type"].get<std::string>()
            : model.contains("merges")                                              ? "BPE"
                                                                                    : "(no type)";
        if (modelType != "BPE")
            fail(w + "model", "unsupported tokenizer model type '" + modelType + "'",
                 "Only BPE tokenizers (GPT-2, Llama, Mistral, Qwen style) are supported");
        m_model = std::make_unique<tok::BpeModel>(model, w + "model");

        auto component = [&](const char* key) -> const json* {
            return root.contains(key) && !root[key].is_null() ? &root[key] : nullptr;
        };
        if (auto j = component("normalizer")) m_normalizer = tok::makeNormalizer(*j, w + "normalizer");
        if (auto j = component("pre_tokenizer")) m_preTokenizer = tok::makePreTokenizer(*j, w + "pre_tokenizer");
        if (auto j = component("post_processor")) m_postProcessor = tok::makePostProcessor(*j, w + "post_processor");
        if (auto j = component("decoder")) m_decoder = tok::makeDecoder(*j, w + "decoder");
        if (component("truncation") || component("padding"))
            spdlog::debug("{}: truncation/padding settings are ignored (transformers overrides them per call)", file);

        std::vector<tok::AddedToken> raw, norm;
        std::vector<std::string> rawPat, normPat;
        if (auto list = component("added_tokens")) {
            if (!list->is_array()) fail(w + "added_tokens", "expected a list");
            for (size_t i = 0; i < list->size(); ++i) {
                const std::string aw = w + "added_tokens[" + std::to_string(i) + "]";
                const json& a = (*list)[i];
                tok::AddedToken t;
                t.content = tok::stringMember(a, "content", aw);
                const json& id = tok::member(a, "id", aw);
                if (!id.is_number_integer()) fail(aw + ".id", "expected an integer id");
                t.id = id.get<int64_t>();
                t.special = boolField(a, "special", false, aw);
                t.singleWord = boolField(a, "single_word", false, aw);
                t.lstrip = boolField(a, "lstrip", false, aw);
                t.rstrip = boolField(a, "rstrip", false, aw);
                t.normalized = boolField(a, "normalized", !t.special, aw);
                if (t.content.empty()) fail(aw + ".content", "an added token cannot be empty");
                m_addedById[t.id] = t.content;
                m_addedByContent[t.content] = t.id;
                if (t.special) m_specialIds.insert(t.id);
                if (t.normalized) {
                    std::string pat = t.content;
                    if (m_normalizer) m_normalizer->normalize(pat);
                    normPat.push_back(pat);
                    norm.push_back(t);
                } else {
                    rawPat.push_back(t.content);
                    raw.push_back(t);
                }
            }
        }
        m_rawMatcher = std::make_unique<tok::AddedTokenMatcher>(std::move(raw), std::move(rawPat));
        m_normMatcher = std::make_unique<tok::AddedTokenMatcher>(std::move(norm), std::move(normPat));

        std::unordered_set<std::string> all;
        for (const auto& [t, id] : m_model->vocab()) all.insert(t);
        for (const auto& [t, id] : m_addedByContent) all.insert(t);
        m_vocabSize = static_cast<int64_t>(all.size());

        loadConfig(fs::path(file).parent_path());
    }

    std::vector<int64_t> encode(const std::string& text, bool addSpecialTokens) const override {
        size_t bad = 0;
        if (!tok::isValidUtf8(text, &bad))
            fail("tokenizer " + m_file, "the text is not valid UTF-8 (bad byte at offset " + std::to_string(bad) + ")",
                 "Convert the data to UTF-8");
        std::vector<int64_t> ids;
        std::vector<tok::Piece> words;
        for (const auto& rs : m_rawMatcher->split(text)) {
            if (rs.id >= 0) {
                ids.push_back(rs.id);
                continue;
            }
            std::string s = text.substr(rs.start, rs.end - rs.start);
            if (m_normalizer) m_normalizer->normalize(s);
            const bool atStart = rs.start == 0;
            for (const auto& ns : m_normMatcher->split(s)) {
                if (ns.id >= 0) {
                    ids.push_back(ns.id);
                    continue;
                }
                words.clear();
                words.push_back(tok::Piece{s.substr(ns.start, ns.end - ns.start), atStart && ns.start == 0});
                if (m_preTokenizer) m_preTokenizer->preTokenize(words);
                for (const auto& wd : words) m_model->tokenize(wd.text, ids);
            }
        }
        if (addSpecialTokens && m_postProcessor) m_postProcessor->process(ids);
        return ids;
    }

    std::string decode(const std::vector<int64_t>& ids, bool skipSpecialTokens) const override {
        std::vector<std::string> tokens;
        tokens.reserve(ids.size());
        for (int64_t id : ids) {
            if (skipSpecialTokens && m_specialIds.count(id)) continue;
            tokens.push_back(idToToken(id));
        }
        std::string out;
        if (m_decoder) {
            m_decoder->decodeChain(tokens);
            for (const auto& t : tokens) out += t;
        } else {
            for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
        }
        if (m_cleanUpSpaces) out = cleanUpTokenization(std::move(out));
        return out;
    }

    int64_t vocabSize() const override { return m_vocabSize; }

    std::optional<int64_t> tokenToId(const std::string& token) const override {
        auto it = m_addedByContent.find(token);
        if (it != m_addedByContent.end()) return it->second;
        return m_model->tokenToId(token);
    }

    std::string idToToken(int64_t id) const override {
        auto it = m_addedById.find(id);
        if (it != m_addedById.end()) return it->second;
        if (const std::string* t = m_model->idToToken(id)) return *t;
        fail("tokenizer " + m_file,
             "token id " + std::to_string(id) + " is not in the vocabulary (size " + std::to_string(m_vocabSize) + ")",
             "The ids do not belong to this tokenizer");
    }

    bool isSpecial(int64_t id) const override { return m_specialIds.count(id) > 0; }
    std::optional<int64_t> bosId() const override { return m_bos; }
    std::optional<int64_t> eosId() const override { return m_eos; }
    std::optional<int64_t> padId() const override { return m_pad; }
    std::string chatTemplate() const override { return m_chatTemplate; }

private:
    void loadConfig(const fs::path& dir) {
        const fs::path cfgPath = dir / "tokenizer_config.json";
        json cfg = json::object();
        if (fs::exists(cfgPath)) {
            cfg = readJsonFile(cfgPath.string());
            if (!cfg.is_object()) fail(cfgPath.string(), "expected a JSON object at the top level");
        }
        const std::string cw = cfgPath.string();
        // Older folders keep the special tokens in special_tokens_map.json.
        json stm = json::object();
        const fs::path stmPath = dir / "special_tokens_map.json";
        if (fs::exists(stmPath)) {
            stm = readJsonFile(stmPath.string());
            if (!stm.is_object()) stm = json::object();
        }
        auto resolve = [&](const std::string& key) -> std::optional<int64_t> {
            std::optional<std::string> tokStr = configToken(cfg, key, cw);
            if (!tokStr) tokStr = configToken(stm, key, stmPath.string());
            if (!tokStr) return std::nullopt;
            auto id = tokenToId(*tokStr);
            if (!id)
                spdlog::warn("{}: {} '{}' is not in the tokenizer's vocabulary; {} id left unset", cw, key, *tokStr,
                             key);
            return id;
        };
        m_bos = resolve("bos_token");
        m_eos = resolve("eos_token");
        m_pad = resolve("pad_token");
        m_cleanUpSpaces = boolField(cfg, "clean_up_tokenization_spaces", false, cw);
        if (cfg.contains("chat_template") && !cfg["chat_template"].is_null()) {
            const json& ct = cfg["chat_template"];
            if (ct.is_string()) {
                m_chatTemplate = ct.get<std::string>();
            } else if (ct.is_array()) {  // [{"name": ..., "template": ...}]: the "default" one
                for (const auto& e : ct)
                    if (e.is_object() && e.value("name", "") == "default" && e.contains("template") &&
                        e["template"].is_string())
                        m_chatTemplate = e["template"].get<std::string>();
                if (m_chatTemplate.empty())
                    spdlog::warn("{}: chat_template lists named templates but none is \"default\"", cw);
            } else {
                fail(cw + ".chat_template", "expected a string or a list of {name, template}");
            }
        }
        const fs::path jinja = dir / "chat_template.jinja";
        if (m_chatTemplate.empty() && fs::exists(jinja)) m_chatTemplate = readFile(jinja.string());
    }

    std::string m_file;
    std::unique_ptr<tok::BpeModel> m_model;
    std::unique_ptr<tok::Normalizer> m_normalizer;
    std::unique_ptr<tok::PreTokenizer> m_preTokenizer;
    std::unique_ptr<tok::PostProcessor> m_postProcessor;
    std::unique_ptr<tok::Decoder> m_decoder;
    std::unique_ptr<tok::AddedTokenMatcher> m_rawMatcher, m_normMatcher;
    std::unordered_map<int64_t, std::string> m_addedById;
    std::unordered_map<std::string, int64_t> m_addedByContent;
    std::unordered_set<int64_t> m_specialIds;
    int64_t m_vocabSize = 0;
    std::optional<int64_t> m_bos, m_eos, m_pad;
    std::string m_chatTemplate;
    bool m_cleanUpSpaces = false;
};

}  // namespace

std::shared_ptr<Tokenizer> Tokenizer::load(const std::string& pathOrDir) {
    fs::path p(pathOrDir);
    std::error_code ec;
    if (fs::is_directory(p, ec)) p /= "tokenizer.json";
    if (!fs::exists(p, ec))
        fail(p.string(), "tokenizer.json not found",
             "Point to a model folder holding tokenizer.json (slow/sentencepiece-only tokenizers are not supported)");
    return std::make_shared<HfTokenizer>(p.string());
}

}  // namespace peft
