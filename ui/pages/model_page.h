// Step 2: pick a local Hugging Face model folder, a model from the Hugging Face cache, or download
// one from the Hub; see its architecture summary.
#pragma once
#include "ui/pages/page.h"

#include <optional>

#include "ui/model_summary.h"

class QComboBox;
class QFormLayout;
class QLabel;
class QGroupBox;
class QTreeWidget;

namespace peft::ui {

class HubDownloadBox;

class ModelPage : public Page {
    Q_OBJECT
public:
    explicit ModelPage(ProjectState* state, QWidget* parent = nullptr);
    // Reads `folder`; on success fills the summary and the project, otherwise shows the reason.
    // Returns whether the folder is a supported model.
    bool openFolder(const QString& folder);
    const std::optional<ModelSummary>& summary() const { return m_summary; }
    // The value shown for a summary row ("Layers", "Hidden size", "Parameters", ...).
    QString fieldText(const QString& row) const;
    QStringList recentFolders() const;
    // Re-reads the Hugging Face cache into the "Models in the cache" list.
    void refreshCache();
    QTreeWidget* cachedModels() const { return m_cached; }
    HubDownloadBox* hubBox() const { return m_hub; }

public Q_SLOTS:
    void browse();

private:
    void fill();
    void addRecent(const QString& folder);
    void refreshRecent();
    QComboBox* m_recent;
    QTreeWidget* m_cached;
    HubDownloadBox* m_hub;
    QGroupBox* m_group;
    QFormLayout* m_form;
    QLabel* m_path;
    std::optional<ModelSummary> m_summary;
    std::map<QString, QLabel*> m_fields;
    QString m_openFolder;  // the folder m_summary describes
};

}  // namespace peft::ui
