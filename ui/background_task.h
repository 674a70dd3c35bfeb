// Long actions off the GUI thread: a BackgroundTask runs one job at a time on a thread of its own
// and reports progress, success, failure or cancellation as signals delivered on the GUI thread,
// so pages stay responsive and never touch widgets from the worker.
#pragma once
#include <QObject>
#include <QString>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

class QAbstractButton;
class QProgressBar;
class QPushButton;
class QWidget;

class QThread;

namespace peft::ui {

// What a job sees while it runs (on the worker thread).
class TaskContext {
public:
    // Reports "what" and a fraction in [0,1] (negative: unknown). Thread-safe, throttled.
    void progress(const QString& what, double fraction) const;
    // True once Cancel was pressed: return as soon as it is convenient (the result is dropped).
    bool cancelled() const { return m_stop->load(); }
    // For core calls that poll an atomic themselves (select::ScoreOptions::stop, TrainerControl).
    const std::atomic<bool>* stopFlag() const { return m_stop.get(); }

private:
    friend class BackgroundTask;
    std::shared_ptr<std::atomic<bool>> m_stop;
    std::function<void(const QString&, double)> m_progress;
    mutable qint64 m_lastMs = -1000;
    mutable QString m_lastWhat;
};

class BackgroundTask : public QObject {
    Q_OBJECT
public:
    // The job runs on the worker thread and returns what the GUI thread applies when it succeeded:
    // the returned function is called on the GUI thread (never after cancel).
    using Apply = std::function<void()>;
    using Job = std::function<Apply(const TaskContext&)>;

    explicit BackgroundTask(QObject* parent = nullptr);
    // Cancels and waits for a running job (the window is closing).
    ~BackgroundTask() override;

    // Starts `job`; a job still running is superseded (told to stop, its result dropped, no
    // `cancelled` for it).
    void start(const QString& what, Job job);
    // Cancels the running job: its result, if it ever comes, is dropped, `cancelled` is emitted
    // at once and the page is free again. The job stops at its next check of cancelled().
    void cancel();
    bool isRunning() const { return m_running; }
    QString what() const { return m_what; }

Q_SIGNALS:
    void started(const QString& what);
    void progress(const QString& what, double fraction);
    // After the job's Apply ran on the GUI thread.
    void succeeded();
    void failed(const QString& message);
    void cancelled();
    // After any of the three above.
    void finished();

private:
    std::shared_ptr<std::atomic<bool>> m_stop;  // the current job's cancel flag
    std::vector<QThread*> m_threads;            // live workers (a cancelled one may still run)
    quint64 m_generation = 0;
    bool m_running = false;
    QString m_what;
};

// Ties a page's Run and Cancel buttons and progress bar to `task`: while it runs, Run is off,
// Cancel on, and the bar shows the step's text and its fraction over 0..1000 (busy while the
// fraction is unknown: negative); afterwards Run is on and Cancel off. The page adds what is its
// own (the result's text on the bar, other buttons).
void bindTask(BackgroundTask* task, QProgressBar* bar, QAbstractButton* run, QAbstractButton* cancel);
// The bar and the Cancel button bindTask drives, as the pages make them: the bar over 0..1000
// showing `idle` until a task runs, Cancel off until then.
QProgressBar* newTaskBar(QWidget* parent, const QString& idle);
QPushButton* newCancelButton(QWidget* parent, const QString& text);

// For pages that run one worker QThread of their own: after it reported (its last queued
// signal), waits for it to end, schedules its deletion and clears `thread`.
void reapWorker(QThread*& thread);
// On the page's destruction: waits for the worker (its cancel flag already set) and deletes it.
void joinWorker(QThread*& thread);

}  // namespace peft::ui
