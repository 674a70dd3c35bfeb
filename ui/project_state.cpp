// Project state and the .peftproj file format.
#include "ui/project_state.h"

#include <QDir>

#include <spdlog/spdlog.h>

#include "core/data/dataset_config.h"
#include "core/train/objectives/objective_spec.h"
#include "core/train/run_config.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"
#include "core/util/runtime_info.h"
#include "ui/workspace.h"

namespace peft::ui {

using nlohmann::json;

json defaultRunConfig() {
    // The dataset and training sections hold every key the core reads, with the core's defaults
    // (a key the pages write must be one a saved project can be reopened with).
    json dataset = data::DatasetConfig{}.toJson();
    json training = RunConfig{}.toJson()["training"];
    // bf16 where it is fast; fp32 on a CPU-only machine without AVX-512 (bf16 ~14x slower there).
    training["precision"] = suggestedPrecision();
    return json{{"model", ""},
                {"dataset", dataset},
                {"method",
                 {{"peft_type", "LORA"},
                  {"task_type", "CAUSAL_LM"},
                  {"r", 8},
                  {"lora_alpha", 16},
                  {"lora_dropout", 0.05},
                  {"target_modules", json::array({"q_proj", "v_proj"})},
                  {"init_from", nullptr}}},
                {"training", training},
                // What the run optimises (core/train/objectives): SFT unless the Method page picks another.
                {"objective", {{"type", "sft"}}},
                // New runs go into the workspace once the user has one (see ui/workspace.h).
                {"output_dir",
                 workspaceChosen() ? QDir(workspaceRunsDir()).filePath(QStringLiteral("my-run")).toStdString()
                                   : std::string("runs/my-run")}};
}

namespace {

bool sameKind(const json& a, const json& b) {
    if (a.is_number() && b.is_number()) return true;
    return a.type() == b.type();
}

// Merges `in` over `defaults`, checking names and types; `where` is "file: run_config.dataset".
json mergeChecked(const json& defaults, const json& in, const std::string& file, const std::string& keyPath) {
    if (!in.is_object())
        fail(file, "key '" + keyPath + "' must be a JSON object, found " + in.dump(), "Fix or remove that key.");
    json out = defaults;
    for (auto it = in.begin(); it != in.end(); ++it) {
        const std::string key = keyPath.empty() ? it.key() : keyPath + "." + it.key();
        auto d = defaults.find(it.key());
        if (d == defaults.end())
            fail(file, "unknown key '" + key + "'", "Remove it; the run config keys are listed in the README.");
        if (d->is_object() && d->empty()) {
            // A free-form map (dataset.column_mapping): any names; the core checks the values.
            if (!it->is_object())
                fail(file, "key '" + key + "' must be a JSON object, found " + it->dump(), "Fix or remove that key.");
            out[it.key()] = *it;
        } else if (d->is_object()) {
            out[it.key()] = mergeChecked(*d, *it, file, key);
        } else if (d->is_null() || it->is_null() || sameKind(*d, *it)) {
            out[it.key()] = *it;
        } else {
            fail(file,
                 "key '" + key + "' has the wrong type: expected " + std::string(d->type_name()) + ", found " +
                     it->dump(),
                 "Fix the value of that key.");
        }
    }
    return out;
}

}  // namespace

ProjectState::ProjectState(QObject* parent) : QObject(parent), m_config(defaultRunConfig()) {}

void ProjectState::setSection(const std::string& key, const json& value) {
    if (m_config[key] == value) return;
    m_config[key] = value;
    setDirty(true);
    Q_EMIT configChanged();
}

void ProjectState::setUiValue(const std::string& key, const json& value) {
    if (m_ui.contains(key) && m_ui[key] == value) return;
    m_ui[key] = value;
    setDirty(true);
}

void ProjectState::setModel(const QString& folder, const ModelConfig& config) {
    m_model = config;
    const std::string path = folder.toStdString();
    if (m_config["model"] != path) {
        m_config["model"] = path;
        setDirty(true);
        Q_EMIT configChanged();
    }
    Q_EMIT modelChanged();
}

void ProjectState::clearModel() {
    if (!m_model) return;
    m_model.reset();
    Q_EMIT modelChanged();
}

void ProjectState::reset() {
    m_config = defaultRunConfig();
    m_ui = json::object();
    m_model.reset();
    m_path.clear();
    setDirty(false);
    Q_EMIT projectReplaced();
    Q_EMIT modelChanged();
    Q_EMIT configChanged();
}

json ProjectState::toJson() const {
    return json{{"format", "peftproj"}, {"version", 1}, {"run_config", m_config}, {"ui", m_ui}};
}

void ProjectState::save(const QString& path) {
    writeFileAtomic(path.toStdString(), toJson().dump(2) + "\n");
    m_path = path;
    setDirty(false);
    spdlog::info("Saved project {}", path.toStdString());
}

void ProjectState::load(const QString& path) {
    const std::string file = path.toStdString();
    json j = readJsonFile(file);
    if (!j.is_object() || j.value("format", "") != "peftproj")
        fail(file, "not a PEFT Studio project (expected \"format\": \"peftproj\")", "Open a .peftproj file.");
    if (!j.contains("version") || !j["version"].is_number_integer() || j["version"].get<int>() > 1)
        fail(file, "key 'version' must be 1", "This project was written by a newer PEFT Studio.");
    if (!j.contains("run_config")) fail(file, "missing key 'run_config'", "Add the run config object.");
    json defaults = defaultRunConfig();
    // The method section holds one adapter_config.json's fields, which differ per method, so it
    // is only checked for being an object here; the core's method parser checks the fields.
    json runIn = j["run_config"];
    json method;
    if (runIn.is_object() && runIn.contains("method")) {
        method = runIn["method"];
        if (!method.is_object()) fail(file, "key 'method' must be a JSON object", "Fix that key.");
        runIn.erase("method");
    }
    // The objective's keys depend on its type: the core's own reader checks them (naming the key).
    json objective;
    if (runIn.is_object() && runIn.contains("objective")) {
        objective = resolveObjectiveConfig(runIn["objective"], file);
        runIn.erase("objective");
    }
    json merged = mergeChecked(defaults, runIn, file, "");
    if (!method.is_null()) merged["method"] = method;
    if (!objective.is_null()) merged["objective"] = objective;
    json ui = j.value("ui", json::object());
    if (!ui.is_object()) fail(file, "key 'ui' must be a JSON object", "Fix or remove that key.");
    m_config = merged;
    m_ui = ui;
    m_model.reset();
    m_path = path;
    setDirty(false);
    spdlog::info("Opened project {}", file);
    Q_EMIT projectReplaced();
    Q_EMIT modelChanged();
    Q_EMIT configChanged();
}

void ProjectState::setDirty(bool d) {
    if (m_dirty == d) return;
    m_dirty = d;
    Q_EMIT dirtyChanged(d);
}

}  // namespace peft::ui
