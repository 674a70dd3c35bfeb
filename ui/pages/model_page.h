// Step 2: pick a local Hugging Face model folder and see its architecture summary.
#pragma once
#include "ui/pages/page.h"

#include <optional>

#include "ui/model_summary.h"

class QComboBox;
class QFormLayout;
class QLabel;
class QGroupBox;

namespace peft::ui {

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

public Q_SLOTS:
    void browse();

private:
    void fill();
    void addRecent(const QString& folder);
    void refreshRecent();
    QComboBox* m_recent;
    QGroupBox* m_group;
    QFormLayout* m_form;
    QLabel* m_path;
    std::optional<ModelSummary> m_summary;
    std::map<QString, QLabel*> m_fields;
    QString m_openFolder;  // the folder m_summary describes
};

}  // namespace peft::ui
