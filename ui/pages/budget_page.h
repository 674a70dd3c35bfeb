// Step 4: compare what candidate configurations would cost before anything runs: trainable
// parameters (log scale), memory breakdown (stacked), adapter size, from core/budget.
#pragma once
#include "ui/pages/page.h"

#include <nlohmann/json.hpp>

#include <vector>

class QCustomPlot;
class QLabel;
class QProgressBar;
class QPushButton;
class QTableWidget;

#include "core/budget/budget.h"

namespace peft::ui {

class BackgroundTask;

class BudgetPage : public Page {
    Q_OBJECT
public:
    explicit BudgetPage(ProjectState* state, QWidget* parent = nullptr);
    void enterPage() override;
    // Candidate method configs (adapter_config.json fields), in display order. Keys starting with
    // '_' are the page's own: "_quantize_base" (QLoRA: NF4 base weights), "_label" (the name shown),
    // "_suggested" (from the Method step's importance scores; a newer one replaces it).
    const std::vector<nlohmann::json>& candidates() const { return m_candidates; }
    void addCandidate(const nlohmann::json& method);
    // The project's current method as a candidate (with "_quantize_base" for QLoRA).
    nlohmann::json currentCandidate() const;
    // The options the estimate of candidate `index` uses (batch, length, precision, NF4 base).
    peft::budget::BudgetOptions optionsFor(const nlohmann::json& candidate) const;
    void removeCandidate(int index);
    // Adds LoRA r=4/8/16, DoRA r=8, (IA)3 and prefix tuning 20 on the current targets.
    void addStandardCandidates();
    // A standing note above the comparison (the demo: why its shipped run uses the method it does);
    // unlike the banner it survives refreshes. Empty hides it.
    void setNote(const QString& text);
    QString note() const;
    QTableWidget* table() const { return m_table; }
    // Recomputes every estimate from the core (core/budget).
    void refresh();
    // Times every candidate with a few real steps on the project's dataset and settings
    // (core/train/time_estimate.h), in the background with progress and Cancel; the "Run time"
    // column shows the results until a setting they depend on changes.
    void measureRunTimes();
    void cancelMeasurement();
    bool isMeasuring() const;
    // The key a candidate's time was measured under: the candidate and every run setting that
    // changes the time (model, dataset, training, objective).
    std::string timingKey(const nlohmann::json& candidate) const;

Q_SIGNALS:
    void measurementFinished(bool ok);

private:
    // Fills the row's "Run time" cell; returns the timing's error, if it failed.
    QString showRunTime(int row, const nlohmann::json& candidate);
    void drawCharts(const std::vector<peft::budget::Estimate>& est, const QStringList& names);
    QTableWidget* m_table;
    QLabel* m_assumes;
    QLabel* m_machine;
    QLabel* m_note = nullptr;
    QCustomPlot* m_params;
    QCustomPlot* m_memory;
    QPushButton* m_measure;
    QPushButton* m_cancelMeasure;
    QProgressBar* m_measureProgress;
    BackgroundTask* m_timing;
    std::vector<nlohmann::json> m_candidates;
    // timingKey -> TimeEstimate::toJson() (or {"error": message}); kept in the project's UI state.
    nlohmann::json m_times = nlohmann::json::object();
};

// "LoRA r=8 [q_proj, v_proj]" for a method config ("_label" when it has one; QLoRA when
// "_quantize_base").
QString describeMethod(const nlohmann::json& method);
// describeMethod for each candidate, where two would read the same, followed by the settings
// that tell them apart ("LoRA r=8 [q_proj,v_proj] lora_dropout=0.05").
QStringList describeCandidates(const std::vector<nlohmann::json>& candidates);
// A candidate without the page's own keys: an adapter_config.json / run-config method section.
nlohmann::json stripCandidateKeys(const nlohmann::json& candidate);

}  // namespace peft::ui
