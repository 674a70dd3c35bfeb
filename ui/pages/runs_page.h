// Step 8: the runs in a workspace folder (each with run.json and metrics.jsonl): overlay their
// loss curves, diff two configs, and "Refine" one into a new run.
#pragma once
#include "ui/pages/page.h"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

class QComboBox;
class QLabel;
class QLineEdit;
class QTableWidget;

namespace peft::ui {

class MetricChart;

struct RunRecord {
    QString folder;
    QString name;
    nlohmann::json config;            // run.json
    std::vector<double> steps, loss;  // from metrics.jsonl
    double lastLoss = 0;
    double bestEval = 0;
    bool hasEval = false;
    double elapsedS = 0;  // training time of the last step, from metrics.jsonl
    // <folder>/evaluation/report.json's aggregate metrics of the tuned side (else base), when present.
    std::map<std::string, double> evalMetrics;
};

// Reads one run folder; throws PeftError when run.json is missing or invalid. Bad metrics
// lines are counted in `badLines`, not skipped silently.
RunRecord readRun(const QString& folder, int* badLines = nullptr);
// Flattened "a.b.c" -> value pairs that differ between two configs.
std::vector<std::tuple<std::string, std::string, std::string>> diffConfigs(const nlohmann::json& a,
                                                                           const nlohmann::json& b);

class RunsPage : public Page {
    Q_OBJECT
public:
    explicit RunsPage(ProjectState* state, QWidget* parent = nullptr);
    void setWorkspace(const QString& dir);
    void rescan();
    int runCount() const { return static_cast<int>(m_runs.size()); }
    QTableWidget* runsTable() const { return m_table; }
    QTableWidget* diffTable() const { return m_diff; }
    MetricChart* overlay() const { return m_chart; }
    void enterPage() override;
    // Ready run configs (run.json files, such as the demo's) offered for training with one click,
    // with a line on why they are offered. An empty list hides the row.
    void setReadyRuns(const QStringList& configFiles, const QString& why);
    QComboBox* readyRunsBox() const { return m_ready; }
    // Loads the chosen ready config into the project (output in the workspace) and asks for training.
    void trainReadyRun();

    // "Best run by": "eval_loss" (lowest best eval loss) or an evaluation metric of the runs'
    // latest task evaluation (highest). The box lists what the runs have; by default the first
    // metric in the registry's order (em, contains, rougeL, ...), else the eval loss.
    QComboBox* bestByBox() const { return m_bestBy; }
    QString bestBy() const;
    void setBestBy(const QString& key);
    // The row of the best run by `key` (runs without that number are skipped); -1 when none has it.
    int bestRunRow(const QString& key) const;
    // Refine the run in `row`: its settings (paths resolved as `train` resolves them) become the
    // project, with a new output folder beside it; every page reloads; refined() is emitted.
    bool refineRun(int row);
    // Refine the best run by bestBy().
    bool refineBest();

Q_SIGNALS:
    // trainReadyRun() set up the project; the main window starts the run on the Train step.
    void readyRunChosen();
    // "Refine" copied a run's config into the project; the main window moves to the Method step.
    void refined();

private:
    void selectionChanged();
    void refine();
    void fillBestBy(const std::vector<std::string>& evalNames);
    void markBest();
    QLineEdit* m_workspace;
    QWidget* m_readyRow;
    QComboBox* m_ready;
    QLabel* m_readyWhy;
    QComboBox* m_bestBy;
    QTableWidget* m_table;
    QTableWidget* m_diff;
    std::vector<std::string> m_evalNames;  // the eval metric columns, from column kFirstEvalColumn on
    MetricChart* m_chart;
    std::vector<RunRecord> m_runs;
};

}  // namespace peft::ui
