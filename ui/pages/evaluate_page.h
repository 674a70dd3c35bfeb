// Step 6: eval loss, perplexity and accuracy; task evaluation on the validation set (generation
// metrics, base vs tuned, per-example table, CSV export); a playground answering one prompt with
// the base and the tuned model side by side.
#pragma once
#include "ui/pages/page.h"

#include <nlohmann/json.hpp>

#include <string>

#include "core/eval/eval_report.h"
#include "ui/metric_point.h"

#include <atomic>
#include <memory>

class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QCheckBox;
class QThread;
class QProgressBar;
class QTabWidget;
class QTableWidget;
class QCustomPlot;

namespace peft::ui {

class PreferenceEvalPanel;

class EvaluatePage : public Page {
    Q_OBJECT
public:
    explicit EvaluatePage(ProjectState* state, QWidget* parent = nullptr);
    ~EvaluatePage() override;
    QString metricText(const QString& name) const;
    void setPrompt(const QString& prompt);
    QString baseText() const;
    QString tunedText() const;
    bool isGenerating() const { return m_worker != nullptr; }
    // Reads <output_dir>/metrics.jsonl and shows the last evaluation in it; false when none.
    bool loadRunMetrics();

    struct Loaded;  // the model + tokenizer + adapter kept between generations

    // Task evaluation: generates an answer to every validation row with the base and the tuned
    // model on a worker thread (core eval::runEvalJob, the same as `peft-studio-cli evaluate --run`),
    // shows the metrics as bars and the rows in a table, and saves the report in
    // <output_dir>/evaluation/. `limit` > 0 evaluates only the first rows.
    void evaluateValidation();
    void setEvalLimit(int limit);
    bool isEvaluating() const { return m_evalWorker != nullptr; }
    void cancelEvaluation();
    // The latest finished evaluation (nullptr before the first).
    const eval::EvalReport* report() const { return m_report.get(); }
    QTableWidget* rowsTable() const { return m_rows; }
    // Base vs tuned preference accuracy on the validation pairs (preference datasets).
    PreferenceEvalPanel* pairsPanel() const { return m_pairs; }
    // Brings the 'Preference pairs' tab to the front (a preference run's screenshots).
    void showPairsTab();
    QCustomPlot* metricsChart() const { return m_chart; }
    QProgressBar* evalProgress() const { return m_evalProgress; }
    // Writes the report's per-example rows as CSV; false (and a banner) on failure.
    bool exportCsv(const QString& path);
    // Shows a saved report (e.g. <output_dir>/evaluation/report.json).
    void showReport(const eval::EvalReport& r);
    // Reads <output_dir>/evaluation/report.json when present.
    bool loadRunReport();

Q_SIGNALS:
    void evalProgressed(int done, int total);
    void evaluationDone(const QString& error);
    // Streaming pieces from the worker (queued to the GUI thread).
    void piece(bool tuned, const QString& text);
    void generationDone(const QString& error);

public Q_SLOTS:
    // Keeps the latest evaluation the trainer reported.
    void onMetrics(const peft::ui::MetricPoint& p);
    // Answers the prompt with the base model, then with the tuned model, on a worker thread.
    void generate();

private:
    QLabel* m_loss;
    QLabel* m_ppl;
    QLabel* m_acc;
    QPlainTextEdit* m_prompt;
    QPlainTextEdit* m_base;
    QPlainTextEdit* m_tuned;
    QPushButton* m_generate;
    QSpinBox* m_maxTokens;
    QCheckBox* m_greedy;
    QPushButton* m_cancel;
    QThread* m_worker = nullptr;
    std::shared_ptr<std::atomic<bool>> m_cancelFlag;
    std::shared_ptr<Loaded> m_loaded;

    QTabWidget* m_tabs = nullptr;
    PreferenceEvalPanel* m_pairs = nullptr;
    std::vector<QCheckBox*> m_metricBoxes;
    QSpinBox* m_evalLimit = nullptr;
    QPushButton* m_evalButton = nullptr;
    QPushButton* m_evalCancel = nullptr;
    QPushButton* m_exportButton = nullptr;
    QProgressBar* m_evalProgress = nullptr;
    QLabel* m_evalSummary = nullptr;
    QCustomPlot* m_chart = nullptr;
    QTableWidget* m_rows = nullptr;
    QThread* m_evalWorker = nullptr;
    std::shared_ptr<std::atomic<bool>> m_evalCancelFlag;
    std::shared_ptr<eval::EvalReport> m_report;
    std::shared_ptr<eval::EvalReport> m_pending;  // the worker's result, handed over on evaluationDone
};

// The prompt as both playground models get it: wrapped in the run's prompt template (the
// tokenizer's chat template for "auto" on a chat/instruction dataset), else as typed.
std::string playgroundPrompt(const nlohmann::json& runConfig, const std::string& typed);

}  // namespace peft::ui
