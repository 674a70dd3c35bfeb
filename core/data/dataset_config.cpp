// Strict reading and writing of the run config's "dataset" object.
#include "core/data/dataset_config.h"

#include <algorithm>

#include "core/data/chat_template.h"
#include "core/data/dataset_format.h"
#include "core/util/error.h"

namespace peft::data {

using nlohmann::json;

namespace {

const char* typeWord(const json& v) { return v.type_name(); }

std::string getString(const json& v, const std::string& key, const std::string& where) {
    if (!v.is_string())
        fail(where + "." + key, std::string("expected a string, found ") + typeWord(v) + " (" + v.dump() + ")",
             "Fix the run config.");
    return v.get<std::string>();
}

void oneOf(const std::string& value, const std::vector<std::string>& allowed, const std::string& key,
           const std::string& where) {
    if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    fail(where + "." + key, "'" + value + "' is not allowed", "Use one of: " + list + ".");
}

}  // namespace

DatasetConfig DatasetConfig::fromJson(const json& j, const std::string& where) {
    if (!j.is_object()) fail(where, std::string("expected an object, found ") + typeWord(j), "Fix the run config.");
    DatasetConfig c;
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& k = it.key();
        const json& v = it.value();
        if (k == "path") {
            c.path = getString(v, k, where);
        } else if (k == "format") {
            c.format = getString(v, k, where);
            oneOf(c.format, {"auto", "text", "instruction", "chat", "classification", "tokens", "preference"}, k,
                  where);
        } else if (k == "validation_path") {
            if (v.is_null()) c.validationPath.reset();
            else c.validationPath = getString(v, k, where);
            if (c.validationPath && c.validationPath->empty()) c.validationPath.reset();
        } else if (k == "validation_split") {
            if (!v.is_number())
                fail(where + "." + k, std::string("expected a number, found ") + typeWord(v), "Use e.g. 0.1.");
            c.validationSplit = v.get<double>();
            if (!(c.validationSplit >= 0.0 && c.validationSplit < 1.0))
                fail(where + "." + k, "must be in [0, 1), found " + v.dump(), "Use e.g. 0.1, or 0 for no validation.");
        } else if (k == "max_length") {
            if (!v.is_number_integer())
                fail(where + "." + k, std::string("expected an integer, found ") + typeWord(v), "Use e.g. 512.");
            c.maxLength = v.get<int64_t>();
            if (c.maxLength < 2) fail(where + "." + k, "must be at least 2, found " + v.dump(), "Use e.g. 512.");
        } else if (k == "template") {
            c.templateName = getString(v, k, where);
            std::vector<std::string> allowed = {"auto"};
            for (const auto& n : templateNames()) allowed.push_back(n);
            oneOf(c.templateName, allowed, k, where);
        } else if (k == "train_on") {
            c.trainOn = getString(v, k, where);
            oneOf(c.trainOn, {"responses", "all"}, k, where);
        } else if (k == "packing") {
            if (!v.is_boolean())
                fail(where + "." + k, std::string("expected true or false, found ") + typeWord(v),
                     "Fix the run config.");
            c.packing = v.get<bool>();
        } else if (k == "column_mapping") {
            if (!v.is_object())
                fail(where + "." + k,
                     std::string("expected an object {canonical field: your column}, found ") + typeWord(v),
                     "E.g. {\"output\": \"response\"}.");
            for (auto m = v.begin(); m != v.end(); ++m) {
                oneOf(m.key(), canonicalFields(), k + "." + m.key() + " (canonical field)", where);
                c.columnMapping[m.key()] = getString(m.value(), k + "." + m.key(), where);
            }
        } else if (k == "on_error") {
            c.onError = getString(v, k, where);
            oneOf(c.onError, {"skip", "stop"}, k, where);
        } else {
            fail(where + "." + k, "unknown key",
                 "Known keys: path, format, validation_path, validation_split, max_length, template, train_on, "
                 "packing, column_mapping, on_error.");
        }
    }
    return c;
}

json DatasetConfig::toJson() const {
    return json{{"path", path},
                {"format", format},
                {"validation_path", validationPath ? json(*validationPath) : json(nullptr)},
                {"validation_split", validationSplit},
                {"max_length", maxLength},
                {"template", templateName},
                {"train_on", trainOn},
                {"packing", packing},
                {"column_mapping", json(columnMapping)},
                {"on_error", onError}};
}

}  // namespace peft::data
