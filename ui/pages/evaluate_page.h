// Step 6: eval loss, perplexity and accuracy; a playground answering one prompt with the base
// and the tuned model side by side.
#pragma once
#include "ui/pages/page.h"

#include <nlohmann/json.hpp>

#include <string>

#include "ui/metric_point.h"

#include <atomic>
#include <memory>

class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QCheckBox;
class QThread;

namespace peft::ui {

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

Q_SIGNALS:
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
};

// The prompt as both playground models get it: wrapped in the run's prompt template (the
// tokenizer's chat template for "auto" on a chat/instruction dataset), else as typed.
std::string playgroundPrompt(const nlohmann::json& runConfig, const std::string& typed);

}  // namespace peft::ui
