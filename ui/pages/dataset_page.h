// Step 1: choose the training data (open or drop a file), the format and preparation options;
// the validation report, token-length histogram and rendered example come from core/data.
#pragma once
#include "ui/pages/page.h"

#include <memory>
#include <string>

class QComboBox;
class QDoubleSpinBox;
class QCheckBox;
class QLabel;
class QLineEdit;
class QSpinBox;
class QTableWidget;
class QTabWidget;
class QTextEdit;
class QCustomPlot;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;

namespace peft {
class Tokenizer;
}
namespace peft::data {
struct ValidationReport;
}

namespace peft::ui {

class BackgroundTask;
class HubDownloadBox;

class DatasetPage : public Page {
    Q_OBJECT
public:
    explicit DatasetPage(ProjectState* state, QWidget* parent = nullptr);
    // Sets the dataset file and starts the import on a worker thread (preview, validation report,
    // histogram); false (with the reason shown) when the file does not exist. importFinished
    // follows.
    bool openFile(const QString& path);
    QTableWidget* previewTable() const { return m_preview; }
    QTableWidget* rejectionTable() const { return m_rejections; }
    QCustomPlot* histogramPlot() const { return m_histogram; }
    QTextEdit* exampleView() const { return m_example; }
    QLabel* reportSummary() const { return m_summary; }
    // Starts the core import (with the model's tokenizer when a model is chosen) on a worker
    // thread; a running one is cancelled. The report is shown when importFinished(true) comes;
    // on failure the reason is in the banner (importFinished(false)). False when there is no file.
    bool refreshReport();
    bool isImporting() const;
    // Drops the running import: the page is free at once and its result is never shown.
    void cancelImport();
    BackgroundTask* importTask() const { return m_import; }
    // The Hub box and the list of the downloaded dataset's files (tests drive them).
    HubDownloadBox* hubBox() const { return m_hub; }
    QComboBox* hubFiles() const { return m_hubFiles; }
    // Re-reads every field from the project (after the run config was replaced from outside).
    void reload() { loadFromState(); }

public Q_SLOTS:
    void browse();

Q_SIGNALS:
    // The import ended: true when its report is shown, false on failure or cancel.
    void importFinished(bool ok);

protected:
    void dragEnterEvent(QDragEnterEvent* e) override;
    void dropEvent(QDropEvent* e) override;

private:
    void loadFromState();
    void commit();
    void showReport(const data::ValidationReport& r);
    void clearReport();
    QLabel* m_path;
    HubDownloadBox* m_hub;
    QComboBox* m_hubFiles;  // the dataset files of the last Hub download
    QComboBox* m_format;
    QComboBox* m_template;
    QComboBox* m_trainOn;
    QSpinBox* m_maxLength;
    QCheckBox* m_packing;
    QDoubleSpinBox* m_valSplit;
    QLineEdit* m_valPath;
    QLineEdit* m_mapping;
    QLabel* m_summary;
    QTableWidget* m_rejections;
    QCustomPlot* m_histogram;
    QTextEdit* m_example;
    std::string m_tokenizerDir;
    std::shared_ptr<peft::Tokenizer> m_tokenizer;
    QTabWidget* m_tabs;
    QTableWidget* m_preview;
    BackgroundTask* m_import;
    QProgressBar* m_importProgress;
    QPushButton* m_cancelImport;
    bool m_loading = false;
};

}  // namespace peft::ui
