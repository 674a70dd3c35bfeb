// Step 7: export the adapter (HF peft layout), a merged model and a run report; shows the
// Python snippet that loads the adapter with peft.
#pragma once
#include "ui/pages/page.h"

class QCheckBox;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;

namespace peft::ui {

class ExportPage : public Page {
    Q_OBJECT
public:
    explicit ExportPage(ProjectState* state, QWidget* parent = nullptr);
    QString pythonSnippet() const;

private:
    void refresh();
    QLineEdit* m_outDir;
    QCheckBox* m_adapter;
    QCheckBox* m_merged;
    QCheckBox* m_report;
    QPushButton* m_export;
    QPlainTextEdit* m_snippet;
};

}  // namespace peft::ui
