// Step 4: compare what candidate configurations would cost before anything runs: trainable
// parameters (log scale), memory breakdown (stacked), adapter size, from core/budget.
#pragma once
#include "ui/pages/page.h"

#include <nlohmann/json.hpp>

#include <vector>

class QCustomPlot;
class QLabel;
class QTableWidget;

namespace peft::budget {
struct Estimate;
}

namespace peft::ui {

class BudgetPage : public Page {
    Q_OBJECT
public:
    explicit BudgetPage(ProjectState* state, QWidget* parent = nullptr);
    void enterPage() override;
    // Candidate method configs (adapter_config.json fields), in display order.
    const std::vector<nlohmann::json>& candidates() const { return m_candidates; }
    void addCandidate(const nlohmann::json& method);
    void removeCandidate(int index);
    // Adds LoRA r=4/8/16, DoRA r=8, (IA)3 and prefix tuning 20 on the current targets.
    void addStandardCandidates();
    QTableWidget* table() const { return m_table; }
    // Recomputes every estimate from the core (core/budget).
    void refresh();

private:
    void drawCharts(const std::vector<peft::budget::Estimate>& est, const QStringList& names);
    QTableWidget* m_table;
    QLabel* m_machine;
    QCustomPlot* m_params;
    QCustomPlot* m_memory;
    std::vector<nlohmann::json> m_candidates;
};

// "LoRA r=8 [q_proj, v_proj]" for a method config.
QString describeMethod(const nlohmann::json& method);

}  // namespace peft::ui
