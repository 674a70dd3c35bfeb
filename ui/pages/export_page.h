// Step 7: export the adapter (HF peft layout), a merged model and a run report; shows the
// Python snippet that loads the adapter with peft.
#pragma once
#include "ui/pages/page.h"

class QCheckBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QThread;

namespace peft::ui {

class ExportPage : public Page {
    Q_OBJECT
public:
    explicit ExportPage(ProjectState* state, QWidget* parent = nullptr);
    ~ExportPage() override;
    QString pythonSnippet() const;
    // The folder the export writes into (default <run folder>/export).
    QString exportDir() const;
    bool isExporting() const { return m_worker != nullptr; }

public Q_SLOTS:
    // Writes the chosen outputs on a worker thread; the chart PNGs are drawn on the GUI thread.
    void exportNow();

Q_SIGNALS:
    void exported(const QString& dir);
    void exportFailed(const QString& message);
    void workerDone(const QString& error, const QString& reportDir, const QString& note);
    void exportProgress(const QString& what);

private:
    void refresh();
    QLineEdit* m_dest;
    QLabel* m_exportStatus;
    QThread* m_worker = nullptr;
    QLineEdit* m_outDir;
    QCheckBox* m_adapter;
    QCheckBox* m_merged;
    QCheckBox* m_report;
    QPushButton* m_export;
    QPlainTextEdit* m_snippet;
};

}  // namespace peft::ui
