// Step 5: start, pause, resume and stop training; progress with ETA and tokens/s; live charts.
#pragma once
#include <QStringList>

#include "ui/pages/page.h"

#include "ui/training_controller.h"

class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;

namespace peft::ui {

class PreferenceCharts;
class TrainingCharts;
class TrainingSettings;

class TrainPage : public Page {
    Q_OBJECT
public:
    TrainPage(ProjectState* state, TrainingRunner* runner, QWidget* parent = nullptr);
    TrainingCharts* charts() const { return m_charts; }
    // Reward accuracy, margin, chosen vs rejected: shown only for preference runs.
    PreferenceCharts* preferenceCharts() const { return m_prefCharts; }
    TrainingSettings* settings() const { return m_settings; }
    TrainingRunner* runner() const { return m_runner; }
    // Shows a finished run's history (its metrics.jsonl) in the charts; false when there is none.
    bool loadRunHistory(const QString& runDir);
    // The run name: the last part of the run folder (output_dir). A typed name goes through
    // safeFileName; a changed name is explained in the banner, an unusable one is refused.
    // Returns the name in use afterwards.
    QString setRunName(const QString& typed);
    QLineEdit* runNameEdit() const { return m_runName; }

public Q_SLOTS:
    void start();
    void togglePause();
    void stop();
    void resumeRun();

private:
    void onMetrics(const MetricPoint& p);
    void onState(TrainingController::State s);
    void updateButtons();
    void showRunName();
    TrainingRunner* m_runner;
    QLineEdit* m_runName;
    QLabel* m_runFolder;
    TrainingCharts* m_charts;
    PreferenceCharts* m_prefCharts;
    TrainingSettings* m_settings;
    QPushButton* m_start;
    QPushButton* m_pause;
    QPushButton* m_stop;
    QPushButton* m_resume;
    QProgressBar* m_progress;
    QLabel* m_status;
    QLabel* m_stats;
    int64_t m_lastStep = 0;
    QStringList m_warnings;  // this run's preflight warnings, shown together
};

}  // namespace peft::ui
