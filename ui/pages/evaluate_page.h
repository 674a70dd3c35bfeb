// Step 6: eval loss, perplexity and accuracy; a playground answering one prompt with the base
// and the tuned model side by side.
#pragma once
#include "ui/pages/page.h"

#include "ui/metric_point.h"

class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;

namespace peft::ui {

class EvaluatePage : public Page {
    Q_OBJECT
public:
    explicit EvaluatePage(ProjectState* state, QWidget* parent = nullptr);
    QString metricText(const QString& name) const;

public Q_SLOTS:
    // Keeps the latest evaluation the trainer reported.
    void onMetrics(const peft::ui::MetricPoint& p);

private:
    QLabel* m_loss;
    QLabel* m_ppl;
    QLabel* m_acc;
    QPlainTextEdit* m_prompt;
    QPlainTextEdit* m_base;
    QPlainTextEdit* m_tuned;
    QPushButton* m_generate;
    QSpinBox* m_maxTokens;
};

}  // namespace peft::ui
