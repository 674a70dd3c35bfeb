// Training off the GUI thread. TrainingController is a QObject moved to a QThread; it runs a
// TrainJob (the core Trainer via coreTrainJob(), or a test's stand-in) and re-emits each step's metrics as queued
// signals. Pause/resume/stop flip atomics that the job checks between steps.
#pragma once
#include <QObject>
#include <QThread>

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>

#include "core/train/trainer.h"
#include "ui/metric_point.h"

namespace peft::ui {

// What a job may call while it runs (from the worker thread).
struct TrainHooks {
    std::function<void(const MetricPoint&)> onMetrics;
    // True once stop was requested: write a checkpoint, then return.
    std::function<bool()> stopRequested;
    // Blocks while paused (returns at once otherwise, or when stop is requested).
    std::function<void()> waitWhilePaused;
    // Setup progress ("loading model", 0..1) before the first step.
    std::function<void(const std::string& what, double fraction)> onProgress;
    // Pre-run warnings (the preflight's memory and precision checks), one sentence each.
    std::function<void(const std::string& message)> onWarning;
    // The same pause/stop flags, for the core Trainer to poll between steps.
    TrainerControl* control = nullptr;
};

// StepMetrics -> MetricPoint (NaN where the trainer reported nothing).
MetricPoint toMetricPoint(const StepMetrics& m);

// Runs one training run to the end. Throws (PeftError or any std::exception) on failure; the
// message reaches the Train page. `resume` continues from the newest checkpoint.
using TrainJob = std::function<void(const nlohmann::json& runConfig, bool resume, const TrainHooks& hooks)>;

// The job that drives the core Trainer, or an empty function when this build has none.
TrainJob coreTrainJob();

// The signals of a training run, declared once: TrainingController emits them on the worker
// thread and TrainingRunner re-emits them, queued, on the GUI thread.
class TrainingEvents : public QObject {
    Q_OBJECT
public:
    enum class State { Idle, Running, Paused, Stopping, Finished, Stopped, Failed };
    Q_ENUM(State)
    using QObject::QObject;

Q_SIGNALS:
    void metrics(const peft::ui::MetricPoint& point);
    void stateChanged(peft::ui::TrainingEvents::State state);
    void failed(const QString& message);
    void finished(bool stopped);
    // Setup progress ("loading model", 0..1) before the first step.
    void progress(const QString& what, double fraction);
    // A pre-run warning from the trainer's preflight (shown on the Train page; the run goes on).
    void warning(const QString& message);
};

class TrainingController : public TrainingEvents {
    Q_OBJECT
public:
    explicit TrainingController(TrainJob job, QObject* parent = nullptr);

    // Thread-safe; called directly from the GUI thread while the worker is busy.
    // Resets pause/stop before a run is queued (GUI thread).
    void prepareRun();
    void requestPause();
    void requestResume();
    void requestStop();
    bool isPaused() const { return m_control.pause.load(); }

public Q_SLOTS:
    // Runs on the worker thread (invoked through a queued connection).
    void run(const QString& runConfigJson, bool resume);

private:
    TrainJob m_job;
    // The one pair of pause/stop flags: the core Trainer polls them between steps (hooks.control),
    // a stand-in job asks through stopRequested/waitWhilePaused; changes are made under m_mutex.
    TrainerControl m_control;
    std::mutex m_mutex;
    std::condition_variable m_cv;
};

// Owned by the GUI thread: holds the worker thread and the controller, and forwards calls.
class TrainingRunner : public TrainingEvents {
    Q_OBJECT
public:
    explicit TrainingRunner(TrainJob job = coreTrainJob(), QObject* parent = nullptr);
    ~TrainingRunner() override;
    bool available() const { return static_cast<bool>(m_job); }
    bool isActive() const;
    TrainingController::State state() const { return m_state; }
    void start(const nlohmann::json& runConfig, bool resume = false);
    void pause();
    void resume();
    void stop();
    // Stops and waits for the worker (window close).
    void stopAndWait(int timeoutMs = 30000);

Q_SIGNALS:
    void startRequested(const QString& runConfigJson, bool resume);

private:
    TrainJob m_job;
    QThread m_thread;
    TrainingController* m_controller;
    TrainingController::State m_state = TrainingController::State::Idle;
};

}  // namespace peft::ui
