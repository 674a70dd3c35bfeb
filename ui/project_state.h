// The open project: the run config (the JSON the CLI reads, README's `run.json`), the UI state,
// and the loaded model's config. Pages read and write it; it saves to a `.peftproj` file.
#pragma once
#include <QObject>
#include <QString>

#include <nlohmann/json.hpp>

#include <optional>

#include "core/io/model_config.h"

namespace peft::ui {

// The run config with every default filled in (README, "The run config").
nlohmann::json defaultRunConfig();

class ProjectState : public QObject {
    Q_OBJECT
public:
    explicit ProjectState(QObject* parent = nullptr);

    const nlohmann::json& runConfig() const { return m_config; }
    const nlohmann::json& uiState() const { return m_ui; }
    // Replaces one top-level section of the run config ("dataset", "method", "training", ...).
    void setSection(const std::string& key, const nlohmann::json& value);
    void setUiValue(const std::string& key, const nlohmann::json& value);

    // The model whose config.json was read, if any.
    const std::optional<ModelConfig>& model() const { return m_model; }
    void setModel(const QString& folder, const ModelConfig& config);
    void clearModel();

    QString filePath() const { return m_path; }
    bool isDirty() const { return m_dirty; }

    // Resets to defaults.
    void reset();
    // Writes {"format":"peftproj","version":1,"run_config":{...},"ui":{...}} atomically.
    // Throws PeftError naming the file.
    void save(const QString& path);
    // Reads a project; missing run-config keys take the defaults; throws PeftError naming the
    // file and the key on a wrong file or a wrong type.
    void load(const QString& path);
    // Project JSON as written to disk.
    nlohmann::json toJson() const;

Q_SIGNALS:
    void configChanged();
    void modelChanged();
    // The whole project was replaced (new/open): pages reload their widgets.
    void projectReplaced();
    void dirtyChanged(bool dirty);

private:
    void setDirty(bool d);
    nlohmann::json m_config;
    nlohmann::json m_ui = nlohmann::json::object();
    std::optional<ModelConfig> m_model;
    QString m_path;
    bool m_dirty = false;
};

}  // namespace peft::ui
