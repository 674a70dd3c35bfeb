// Step 7: export the adapter (HF peft layout), a merged model and a run report; shows the
// Python snippet that loads the adapter with peft; writes a GGUF (+ Ollama Modelfile) for
// llama.cpp / Ollama / LM Studio with progress and Cancel.
#pragma once
#include "ui/pages/page.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QProgressBar;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QThread;

namespace peft::ui {

class BackgroundTask;

class ExportPage : public Page {
    Q_OBJECT
public:
    explicit ExportPage(ProjectState* state, QWidget* parent = nullptr);
    ~ExportPage() override;
    QString pythonSnippet() const;
    // The folder the export writes into (default <run folder>/export).
    QString exportDir() const;
    bool isExporting() const { return m_worker != nullptr; }
    // GGUF: the file written (<export folder>/<run name>.gguf), the shell commands shown for
    // Ollama and llama.cpp, and the expected size text.
    QString ggufPath() const;
    QString ggufCommands() const;
    QString ggufSizeText() const;
    bool isExportingGguf() const;

public Q_SLOTS:
    // Writes the chosen outputs on a worker thread; the chart PNGs are drawn on the GUI thread.
    void exportNow();
    // Writes the GGUF (the run's adapter merged in; a full run's own model) and a Modelfile.
    void exportGgufNow();
    void cancelGguf();

Q_SIGNALS:
    void exported(const QString& dir);
    void exportFailed(const QString& message);
    void workerDone(const QString& error, const QString& reportDir, const QString& note);
    void exportProgress(const QString& what);
    void ggufExported(const QString& path);
    void ggufFailed(const QString& message);

private:
    // The run trains the base weights themselves (full fine-tuning): its adapter/ is a whole model.
    bool wholeModelRun() const;
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
    QComboBox* m_ggufType;
    QLabel* m_ggufSize;
    QPushButton* m_ggufExport;
    QPushButton* m_ggufCancel;
    QProgressBar* m_ggufProgress;
    QPlainTextEdit* m_ggufCommands;
    BackgroundTask* m_ggufTask;
    QString m_sizeKey, m_sizeText;  // the expected size, cached per (model, adapter, type)
};

}  // namespace peft::ui
