// Step 4: compare what candidate configurations would cost before anything runs: trainable
// parameters, memory breakdown, adapter size and time, from core/budget.
#pragma once
#include "ui/pages/page.h"

#include <nlohmann/json.hpp>

#include <vector>

class QListWidget;
class QLabel;

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

private:
    void refresh();
    QListWidget* m_list;
    QLabel* m_machine;
    QWidget* m_results;
    std::vector<nlohmann::json> m_candidates;
};

// "LoRA r=8 (q_proj, v_proj)" for a method config.
QString describeMethod(const nlohmann::json& method);

}  // namespace peft::ui
