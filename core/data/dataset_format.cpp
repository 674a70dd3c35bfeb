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
    }
    return "?";
}

std::optional<DataFormat> formatFromName(const std::string& n) {
    for (auto f : {DataFormat::Text, DataFormat::Instruction, DataFormat::Chat, DataFormat::Classification,
                   DataFormat::Tokens})
        if (formatName(f) == n) return f;
    return std::nullopt;
}

const std::vector<std::string>& canonicalFields() {
    static const std::vector<std::string> k = {"text",  "instruction", "input",     "output", "messages",
                                               "conversations", "label", "input_ids", "labels"};
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
    if (it == r.end() || it->is_null())
        throw RowError("missing field '" + key + "' (" + what + ")");
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
    if (!v.is_array()) throw RowError("field '" + key + "' must be an array of integers, found " + std::string(v.type_name()));
    std::vector<int64_t> out;
    out.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        const auto& e = v[i];
        if (!e.is_number_integer())
            throw RowError("field '" + key + "' element " + std::to_string(i) + " is not an integer (" + e.dump() + ")");
        out.push_back(e.get<int64_t>());
    }
    return out;
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
        fail(ds.path, ds.rows.empty() ? "no readable rows, so the format cannot be detected"
                                      : "cannot detect the dataset format from the columns {" + keys + "}",
             "Expected text; instruction+output (Alpaca); messages or conversations (chat); text+label "
             "(classification); or input_ids (tokens). Set dataset.format, or map your columns with "
             "dataset.column_mapping (e.g. {\"output\": \"response\"}).");
    }
    auto best = std::max_element(votes.begin(), votes.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
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
            json msgs = unstring(need(r, key, "chat format: messages [{role, content}] or conversations [{from, value}]"));
            if (!msgs.is_array()) throw RowError("field '" + key + "' must be an array of messages");
            if (msgs.empty()) throw RowError("field '" + key + "' is an empty conversation");
            const char* roleKey = sharegpt ? "from" : "role";
            const char* contentKey = sharegpt ? "value" : "content";
            bool hasResponse = false;
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
                if (role == "assistant") {
                    if (blank(content)) throw RowError("empty response (" + at + ")");
                    hasResponse = true;
                }
                ex.messages.push_back({role, content});
            }
            if (!hasResponse) throw RowError("empty response (the conversation has no assistant message)");
            break;
        }
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
                    if (v < 0 && v != -100)
                        throw RowError("labels holds " + std::to_string(v) + " (only ids and -100 are allowed)");
                bool any = false;
                for (auto v : ex.labels) any = any || v != -100;
                if (!any) throw RowError("empty response (every label is -100)");
            }
            break;
        }
    }
    return ex;
}

}  // namespace peft::data
