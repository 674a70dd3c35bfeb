// Post-processors of tokenizer.json for single sequences: TemplateProcessing, ByteLevel (ids
// unchanged; it only trims offsets), BertProcessing/RobertaProcessing, Sequence.
#include "core/tokenizer/components.h"
#include "core/util/error.h"

namespace peft::tok {

using nlohmann::json;

namespace {

class TemplatePost : public PostProcessor {
public:
    TemplatePost(const json& j, const std::string& where) {
        const json& single = member(j, "single", where);
        if (!single.is_array()) fail(where + ".single", "expected a list of template pieces");
        const json& specials = j.contains("special_tokens") ? j["special_tokens"] : json::object();
        for (size_t i = 0; i < single.size(); ++i) {
            const std::string w = where + ".single[" + std::to_string(i) + "]";
            const json& item = single[i];
            if (item.is_object() && item.contains("Sequence")) {
                std::string id = stringMember(item["Sequence"], "id", w + ".Sequence");
                if (id != "A") fail(w, "a single-sequence template may only hold sequence A, found '" + id + "'");
                m_items.push_back(Item{true, {}});
            } else if (item.is_object() && item.contains("SpecialToken")) {
                std::string id = stringMember(item["SpecialToken"], "id", w + ".SpecialToken");
                if (!specials.contains(id))
                    fail(w, "special token '" + id + "' is not listed in special_tokens",
                         "The tokenizer.json is inconsistent; re-save it with transformers");
                const json& ids = member(specials[id], "ids", where + ".special_tokens." + id);
                if (!ids.is_array()) fail(where + ".special_tokens." + id + ".ids", "expected a list of ids");
                Item it{false, {}};
                for (const auto& v : ids) {
                    if (!v.is_number_integer()) fail(where + ".special_tokens." + id + ".ids", "expected integer ids");
                    it.ids.push_back(v.get<int64_t>());
                }
                m_items.push_back(std::move(it));
            } else {
                fail(w, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}, found " + item.dump());
            }
        }
    }
    void process(std::vector<int64_t>& ids) const override {
        std::vector<int64_t> out;
        out.reserve(ids.size() + 4);
        for (const auto& it : m_items) {
            if (it.isSequence) out.insert(out.end(), ids.begin(), ids.end());
            else out.insert(out.end(), it.ids.begin(), it.ids.end());
        }
        ids.swap(out);
    }

private:
    struct Item {
        bool isSequence;
        std::vector<int64_t> ids;
    };
    std::vector<Item> m_items;
};

class ClsSepPost : public PostProcessor {
public:
    ClsSepPost(const json& j, const std::string& where)
        : m_cls(tokenId(j, "cls", where)), m_sep(tokenId(j, "sep", where)) {}
    void process(std::vector<int64_t>& ids) const override {
        ids.insert(ids.begin(), m_cls);
        ids.push_back(m_sep);
    }

private:
    static int64_t tokenId(const json& j, const std::string& key, const std::string& where) {
        const json& v = member(j, key, where);
        if (!v.is_array() || v.size() != 2 || !v[1].is_number_integer())
            fail(where + "." + key, "expected [token, id], found " + v.dump());
        return v[1].get<int64_t>();
    }
    int64_t m_cls, m_sep;
};

class NoOpPost : public PostProcessor {
public:
    void process(std::vector<int64_t>&) const override {}
};

class SequencePost : public PostProcessor {
public:
    std::vector<std::unique_ptr<PostProcessor>> m_steps;
    void process(std::vector<int64_t>& ids) const override {
        for (const auto& s : m_steps) s->process(ids);
    }
};

}  // namespace

std::unique_ptr<PostProcessor> makePostProcessor(const json& j, const std::string& where) {
    const std::string type = typeOf(j, where);
    if (type == "TemplateProcessing") return std::make_unique<TemplatePost>(j, where);
    if (type == "ByteLevel") return std::make_unique<NoOpPost>();
    if (type == "BertProcessing" || type == "RobertaProcessing") return std::make_unique<ClsSepPost>(j, where);
    if (type == "Sequence") return makeSequence<SequencePost, PostProcessor>(j, "processors", where, makePostProcessor);
    fail(where, "unsupported post-processor type '" + type + "'",
         "Supported post-processors: TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence");
}

}  // namespace peft::tok
