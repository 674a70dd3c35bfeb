// The Evaluate page's "Preference pairs" tab: preference accuracy and mean margin of the base and
// the tuned model on the run's validation pairs (core evaluatePreferencePairs), on a worker
// thread with progress and Cancel.
#pragma once
#include <QWidget>

#include <memory>

class QLabel;
class QProgressBar;
class QPushButton;
class QTableWidget;

namespace peft {
struct PairEvalReport;
}

namespace peft::ui {

class BackgroundTask;
class ProjectState;

class PreferenceEvalPanel : public QWidget {
    Q_OBJECT
public:
    PreferenceEvalPanel(ProjectState* state, QWidget* parent = nullptr);
    // Starts the evaluation of the project's run; false (reason in the note) when it cannot start.
    bool evaluate();
    void cancel();
    bool isRunning() const;
    // The latest finished report (nullptr before the first).
    const PairEvalReport* report() const { return m_report.get(); }
    void showReport(const PairEvalReport& r);
    QTableWidget* table() const { return m_table; }
    QLabel* note() const { return m_note; }
    BackgroundTask* task() const { return m_task; }

Q_SIGNALS:
    // The evaluation ended: true when its report is shown.
    void finished(bool ok);

private:
    ProjectState* m_state;
    QPushButton* m_run;
    QPushButton* m_cancel;
    QProgressBar* m_progress;
    QLabel* m_note;
    QTableWidget* m_table;
    BackgroundTask* m_task;
    std::shared_ptr<PairEvalReport> m_report;
};

}  // namespace peft::ui
