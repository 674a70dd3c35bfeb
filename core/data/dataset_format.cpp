// Row formats: detection, column mapping and parsing into Example.
#include "core/data/dataset_format.h"

#include <set>

#include "core/util/error.h"

namespace peft::data {

using nlohmann::json;

std::string formatName(DataFormat f) {
    switch (f) {
        case DataFormat::Text: return "text";
        case DataFormat::Instruction: return "instruction";
        case DataFormat::Chat: return "chat";
        case DataFormat::Classification: return "classification";
        case DataFormat::Tokens: return "tokens";
        case DataFormat::Preference: return "preference";
    }
    return "?";
}

std::optional<DataFormat> formatFromName(const std::string& n) {
    for (auto f : {DataFormat::Text, DataFormat::Instruction, DataFormat::Chat, DataFormat::Classification,
                   DataFormat::Tokens, DataFormat::Preference})
        if (formatName(f) == n) return f;
    return std::nullopt;
}

const std::vector<std::string>& canonicalFields() {
    static const std::vector<std::string> k = {
        "text",   "instruction", "input",  "output",   "messages",   "conversations", "label",       "input_ids",
        "labels", "prompt",      "chosen", "rejected", "prompt_ids", "chosen_ids",    "rejected_ids"};
    return k;
}

json applyColumnMapping(const json& row, const ColumnMapping& mapping) {
    if (mapping.empty()) return row;
    json out = row;
    // Remove the user's columns first, then put them back under the canonical names, so a
    // swap (text <-> label) works.
    for (const auto& [canon, user] : mapping) out.erase(user);
    for (const auto& [canon, user] : mapping) {
        auto it = row.find(user);
        if (it != row.end()) out[canon] = *it;
        else out.erase(canon);
    }
    return out;
}

namespace {

std::optional<DataFormat> formatOfKeys(const json& r) {
    if ((r.contains("chosen") && r.contains("rejected")) || (r.contains("chosen_ids") && r.contains("rejected_ids")))
        return DataFormat::Preference;
    if (r.contains("input_ids")) return DataFormat::Tokens;
    if (r.contains("messages") || r.contains("conversations")) return DataFormat::Chat;
    if (r.contains("instruction") && r.contains("output")) return DataFormat::Instruction;
    if (r.contains("text") && r.contains("label")) return DataFormat::Classification;
    if (r.contains("text")) return DataFormat::Text;
    return std::nullopt;
}

// CSV cells are strings; a cell holding a JSON array (messages, input_ids) is parsed.
json unstring(const json& v) {
    if (v.is_string()) {
        const std::string& s = v.get_ref<const std::string&>();
        size_t i = s.find_first_not_of(" \t\r\n");
        if (i != std::string::npos && s[i] == '[') {
            try {
                return json::parse(s);
            } catch (const json::exception&) {
                // not JSON (or a number nlohmann cannot hold): the cell stays a string
            }
        }
    }
    return v;
}

const json& need(const json& r, const std::string& key, const char* what) {
    auto it = r.find(key);
    if (it == r.end() || it->is_null()) throw RowError("missing field '" + key + "' (" + what + ")");
    return *it;
}

std::string needString(const json& r, const std::string& key, const char* what) {
    const json& v = need(r, key, what);
    if (!v.is_string()) throw RowError("field '" + key + "' must be a string, found " + std::string(v.type_name()));
    return v.get<std::string>();
}

std::string optString(const json& r, const std::string& key) {
    auto it = r.find(key);
    if (it == r.end() || it->is_null()) return {};
    if (!it->is_string()) throw RowError("field '" + key + "' must be a string, found " + std::string(it->type_name()));
    return it->get<std::string>();
}

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

std::vector<int64_t> intArray(const json& v0, const std::string& key) {
    json v = unstring(v0);
    if (!v.is_array())
        throw RowError("field '" + key + "' must be an array of integers, found " + std::string(v.type_name()));
    std::vector<int64_t> out;
    out.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        const auto& e = v[i];
        if (!e.is_number_integer())
            throw RowError("field '" + key + "' element " + std::to_string(i) + " is not an integer (" + e.dump() +
                           ")");
        out.push_back(e.get<int64_t>());
    }
    return out;
}

// A list of {role, content} (or ShareGPT {from, value}) messages, roles mapped to
// system/user/assistant; an assistant message must not be blank.
std::vector<ChatMessage> parseMessages(const json& msgs, const std::string& key, bool sharegpt) {
    const char* roleKey = sharegpt ? "from" : "role";
    const char* contentKey = sharegpt ? "value" : "content";
    std::vector<ChatMessage> out;
    for (size_t i = 0; i < msgs.size(); ++i) {
        const auto& m = msgs[i];
        std::string at = key + "[" + std::to_string(i) + "]";
        if (!m.is_object()) throw RowError(at + " must be an object");
        auto ri = m.find(roleKey);
        auto ci = m.find(contentKey);
        if (ri == m.end() || !ri->is_string()) throw RowError("missing field '" + std::string(roleKey) + "' in " + at);
        if (ci == m.end() || !ci->is_string())
            throw RowError("missing field '" + std::string(contentKey) + "' in " + at);
        std::string role = ri->get<std::string>();
        if (role == "human" || role == "user") role = "user";
        else if (role == "gpt" || role == "assistant" || role == "chatgpt" || role == "bot") role = "assistant";
        else if (role != "system")
            throw RowError("unknown role '" + role + "' in " + at +
                           " (expected system/user/assistant or ShareGPT system/human/gpt)");
        std::string content = ci->get<std::string>();
        if (role == "assistant" && blank(content)) throw RowError("empty response (" + at + ")");
        out.push_back({role, content});
    }
    return out;
}

// One answer of a pair: a string (one assistant message) or a list of assistant messages.
std::vector<ChatMessage> parseAnswer(const json& v0, const std::string& key) {
    json v = unstring(v0);
    if (v.is_string()) {
        if (blank(v.get_ref<const std::string&>())) throw RowError("empty response (field '" + key + "')");
        return {{"assistant", v.get<std::string>()}};
    }
    if (!v.is_array())
        throw RowError("field '" + key + "' must be a string or a list of messages, found " +
                       std::string(v.type_name()));
    if (v.empty()) throw RowError("empty response (field '" + key + "' is an empty list)");
    auto msgs = parseMessages(v, key, false);
    for (size_t i = 0; i < msgs.size(); ++i)
        if (msgs[i].role != "assistant")
            throw RowError(key + "[" + std::to_string(i) + "] has role '" + msgs[i].role +
                           "': an answer holds assistant messages only (put the conversation so far in 'prompt')");
    return msgs;
}

bool sameMessage(const ChatMessage& a, const ChatMessage& b) { return a.role == b.role && a.content == b.content; }

// The four preference forms: {prompt, chosen, rejected} with strings or message lists; chosen and
// rejected as whole conversations sharing their history (Anthropic HH style); or pre-tokenised
// {prompt_ids, chosen_ids, rejected_ids}.
void parsePreference(const json& r, Example& ex) {
    if (r.contains("chosen_ids") || r.contains("rejected_ids")) {
        ex.preferenceTokens = true;
        auto ids = [&](const char* key, bool required) {
            auto it = r.find(key);
            if (it == r.end() || it->is_null()) {
                if (required)
                    throw RowError(std::string("missing field '") + key + "' (pre-tokenised preference pair)");
                return std::vector<int64_t>{};
            }
            auto v = intArray(*it, key);
            for (auto id : v)
                if (id < 0)
                    throw RowError(std::string("field '") + key + "' holds a negative id (" + std::to_string(id) + ")");
            return v;
        };
        ex.promptIds = ids("prompt_ids", true);
        ex.chosenIds = ids("chosen_ids", true);
        ex.rejectedIds = ids("rejected_ids", true);
        if (ex.promptIds.empty()) throw RowError("empty prompt (field 'prompt_ids')");
        if (ex.chosenIds.empty()) throw RowError("empty response (field 'chosen_ids')");
        if (ex.rejectedIds.empty()) throw RowError("empty response (field 'rejected_ids')");
        if (ex.chosenIds == ex.rejectedIds) throw RowError("chosen and rejected are the same answer");
        return;
    }
    const json& c = need(r, "chosen", "preference pair");
    const json& j = need(r, "rejected", "preference pair");
    auto pi = r.find("prompt");
    if (pi != r.end() && !pi->is_null()) {
        json p = unstring(*pi);
        if (p.is_string()) {
            if (blank(p.get_ref<const std::string&>())) throw RowError("empty prompt (field 'prompt')");
            ex.prompt = {{"user", p.get<std::string>()}};
        } else if (p.is_array()) {
            if (p.empty()) throw RowError("empty prompt (field 'prompt' is an empty list)");
            ex.prompt = parseMessages(p, "prompt", false);
        } else {
            throw RowError("field 'prompt' must be a string or a list of messages, found " +
                           std::string(p.type_name()));
        }
        ex.chosen = parseAnswer(c, "chosen");
        ex.rejected = parseAnswer(j, "rejected");
    } else {
        // Shared history: the messages both conversations start with are the prompt.
        json cv = unstring(c), rv = unstring(j);
        if (!cv.is_array() || !rv.is_array())
            throw RowError(
                "no 'prompt' field, so 'chosen' and 'rejected' must be whole conversations (lists of messages) "
                "that share their history");
        auto cm = parseMessages(cv, "chosen", false), rm = parseMessages(rv, "rejected", false);
        size_t k = 0;
        while (k < cm.size() && k < rm.size() && sameMessage(cm[k], rm[k])) ++k;
        if (k == cm.size() && k == rm.size()) throw RowError("chosen and rejected are the same conversation");
        // An answer starts at the first assistant message after the shared part.
        while (k > 0 && cm[k - 1].role == "assistant") --k;
        if (k == 0) throw RowError("chosen and rejected share no prompt (their first messages differ)");
        ex.prompt.assign(cm.begin(), cm.begin() + static_cast<std::ptrdiff_t>(k));
        ex.chosen.assign(cm.begin() + static_cast<std::ptrdiff_t>(k), cm.end());
        ex.rejected.assign(rm.begin() + static_cast<std::ptrdiff_t>(k), rm.end());
        for (const auto* side : {&ex.chosen, &ex.rejected}) {
            const char* key = side == &ex.chosen ? "chosen" : "rejected";
            if (side->empty())
                throw RowError(std::string("empty response ('") + key + "' has nothing after the shared history)");
            for (const auto& m : *side)
                if (m.role != "assistant")
                    throw RowError(std::string("'") + key + "' continues the shared history with a '" + m.role +
                                   "' message: after the shared history only the assistant's answer may differ");
        }
    }
    bool same = ex.chosen.size() == ex.rejected.size();
    for (size_t i = 0; same && i < ex.chosen.size(); ++i) same = sameMessage(ex.chosen[i], ex.rejected[i]);
    if (same) throw RowError("chosen and rejected are the same answer");
}

}  // namespace

DataFormat detectFormat(const RawDataset& ds, const ColumnMapping& mapping) {
    if (ds.type == FileType::Txt) return DataFormat::Text;
    std::map<DataFormat, int> votes;
    size_t seen = 0;
    for (const auto& row : ds.rows) {
        if (seen++ >= 100) break;
        if (auto f = formatOfKeys(applyColumnMapping(row.value, mapping))) ++votes[*f];
    }
    if (votes.empty()) {
        std::string keys;
        if (!ds.rows.empty())
            for (auto it = ds.rows[0].value.begin(); it != ds.rows[0].value.end(); ++it)
                keys += (keys.empty() ? "" : ", ") + it.key();
        fail(ds.path,
             ds.rows.empty() ? "no readable rows, so the format cannot be detected"
                             : "cannot detect the dataset format from the columns {" + keys + "}",
             "Expected text; instruction+output (Alpaca); messages or conversations (chat); text+label "
             "(classification); input_ids (tokens); or chosen+rejected (preference pairs). Set dataset.format, or map "
             "your columns with "
             "dataset.column_mapping (e.g. {\"output\": \"response\"}).");
    }
    auto best =
        std::max_element(votes.begin(), votes.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    return best->first;
}

Example parseExample(const json& r, DataFormat f, int64_t line) {
    Example ex;
    ex.format = f;
    ex.line = line;
    switch (f) {
        case DataFormat::Text:
            ex.text = needString(r, "text", "text format");
            if (blank(ex.text)) throw RowError("empty text");
            break;
        case DataFormat::Instruction:
            ex.instruction = needString(r, "instruction", "instruction format");
            ex.input = optString(r, "input");
            ex.output = needString(r, "output", "the response of the instruction format");
            if (blank(ex.instruction)) throw RowError("empty instruction");
            if (blank(ex.output)) throw RowError("empty response (field 'output')");
            break;
        case DataFormat::Chat: {
            bool sharegpt = !r.contains("messages") && r.contains("conversations");
            const std::string key = sharegpt ? "conversations" : "messages";
            json msgs =
                unstring(need(r, key, "chat format: messages [{role, content}] or conversations [{from, value}]"));
            if (!msgs.is_array()) throw RowError("field '" + key + "' must be an array of messages");
            if (msgs.empty()) throw RowError("field '" + key + "' is an empty conversation");
            ex.messages = parseMessages(msgs, key, sharegpt);
            bool hasResponse = false;
            for (const auto& m : ex.messages) hasResponse = hasResponse || m.role == "assistant";
            if (!hasResponse) throw RowError("empty response (the conversation has no assistant message)");
            break;
        }
        case DataFormat::Preference: parsePreference(r, ex); break;
        case DataFormat::Classification: {
            ex.text = needString(r, "text", "classification format");
            if (blank(ex.text)) throw RowError("empty text");
            const json& l = need(r, "label", "classification format");
            if (l.is_number_integer()) {
                ex.labelInt = l.get<int64_t>();
                if (*ex.labelInt < 0) throw RowError("label " + l.dump() + " is negative");
            } else if (l.is_string()) {
                std::string s = l.get<std::string>();
                if (blank(s)) throw RowError("empty label");
                // CSV cells are strings: an integer spelled as text is an integer label.
                size_t used = 0;
                bool isInt = false;
                try {
                    long long v = std::stoll(s, &used);
                    isInt = used == s.size() && v >= 0;
                    if (isInt) ex.labelInt = v;
                } catch (const std::exception&) {
                }
                if (!isInt) ex.labelString = s;
            } else {
                throw RowError("field 'label' must be an integer or a string, found " + std::string(l.type_name()));
            }
            break;
        }
        case DataFormat::Tokens: {
            ex.inputIds = intArray(need(r, "input_ids", "tokens format"), "input_ids");
            if (ex.inputIds.empty()) throw RowError("empty input_ids");
            for (auto id : ex.inputIds)
                if (id < 0) throw RowError("input_ids holds a negative id (" + std::to_string(id) + ")");
            auto li = r.find("labels");
            if (li != r.end() && !li->is_null()) {
                ex.labels = intArray(*li, "labels");
                if (ex.labels.size() != ex.inputIds.size())
                    throw RowError("labels has " + std::to_string(ex.labels.size()) + " entries but input_ids has " +
                                   std::to_string(ex.inputIds.size()));
                for (auto v : ex.labels)
                    if (v < 0 && v != kIgnoreIndex)
                        throw RowError("labels holds " + std::to_string(v) + " (only ids and -100 are allowed)");
                bool any = false;
                for (auto v : ex.labels) any = any || v != kIgnoreIndex;
                if (!any) throw RowError("empty response (every label is -100)");
            }
            break;
        }
    }
    return ex;
}

}  // namespace peft::data
