// BackgroundTask: one worker thread per job; results and progress are posted to the GUI thread.
#include "ui/background_task.h"

#include <QDateTime>
#include <QPointer>
#include <QAbstractButton>
#include <QProgressBar>
#include <QPushButton>
#include <QThread>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace peft::ui {

void TaskContext::progress(const QString& what, double fraction) const {
    // At most ~20 updates a second reach the GUI, but a new step or the end always does.
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    if (what == m_lastWhat && fraction < 1.0 && now - m_lastMs < 50) return;
    m_lastMs = now;
    m_lastWhat = what;
    if (m_progress) m_progress(what, fraction);
}

BackgroundTask::BackgroundTask(QObject* parent) : QObject(parent) {}

BackgroundTask::~BackgroundTask() {
    if (m_stop) m_stop->store(true);
    for (QThread* t : m_threads) {
        t->wait();
        delete t;
    }
}

void BackgroundTask::start(const QString& what, Job job) {
    // A job still running is superseded quietly: its flag is set and its result dropped.
    if (m_running && m_stop) m_stop->store(true);
    const quint64 gen = ++m_generation;
    auto stop = std::make_shared<std::atomic<bool>>(false);
    m_stop = stop;
    m_running = true;
    m_what = what;
    TaskContext ctx;
    ctx.m_stop = stop;
    ctx.m_progress = [this, gen, stop](const QString& w, double f) {
        if (stop->load()) return;
        QMetaObject::invokeMethod(
            this,
            [this, gen, w, f] {
                if (gen == m_generation && m_running) Q_EMIT progress(w, f);
            },
            Qt::QueuedConnection);
    };
    QThread* thread = QThread::create([this, gen, stop, ctx, job = std::move(job)] {
        Apply apply;
        QString error;
        try {
            apply = job(ctx);
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        } catch (...) {
            error = tr("failed with an unknown error; see the log.");
        }
        if (stop->load()) return;  // cancelled: the GUI has moved on
        QMetaObject::invokeMethod(
            this,
            [this, gen, apply = std::move(apply), error] {
                if (gen != m_generation || !m_running) return;
                m_running = false;
                if (!error.isEmpty()) {
                    spdlog::warn("{} failed: {}", m_what.toStdString(), error.toStdString());
                    Q_EMIT failed(error);
                } else {
                    try {
                        if (apply) apply();
                        Q_EMIT succeeded();
                    } catch (const std::exception& e) {
                        Q_EMIT failed(QString::fromUtf8(e.what()));
                    }
                }
                Q_EMIT finished();
            },
            Qt::QueuedConnection);
    });
    thread->setObjectName(QStringLiteral("task"));
    m_threads.push_back(thread);
    connect(
        thread, &QThread::finished, this,
        [this, thread] {
            auto it = std::find(m_threads.begin(), m_threads.end(), thread);
            if (it == m_threads.end()) return;
            m_threads.erase(it);
            thread->wait();
            delete thread;
        },
        Qt::QueuedConnection);
    Q_EMIT started(what);
    thread->start();
}

void BackgroundTask::cancel() {
    if (!m_running) return;
    if (m_stop) m_stop->store(true);
    m_running = false;
    ++m_generation;  // anything still queued from the old job is dropped
    Q_EMIT cancelled();
    Q_EMIT finished();
}

void reapWorker(QThread*& thread) {
    if (!thread) return;
    thread->wait();
    thread->deleteLater();
    thread = nullptr;
}

void joinWorker(QThread*& thread) {
    if (!thread) return;
    thread->wait();
    delete thread;
    thread = nullptr;
}

void bindTask(BackgroundTask* task, QProgressBar* bar, QAbstractButton* run, QAbstractButton* cancel) {
    QObject::connect(task, &BackgroundTask::started, bar, [bar, run, cancel](const QString& what) {
        run->setEnabled(false);
        cancel->setEnabled(true);
        bar->setRange(0, 0);
        bar->setFormat(what + QStringLiteral("…"));
    });
    QObject::connect(task, &BackgroundTask::progress, bar, [bar](const QString& what, double fraction) {
        if (fraction < 0) {
            bar->setRange(0, 0);
        } else {
            bar->setRange(0, 1000);
            bar->setValue(static_cast<int>(fraction * 1000));
        }
        bar->setFormat(what);
    });
    QObject::connect(task, &BackgroundTask::finished, bar, [bar, run, cancel] {
        run->setEnabled(true);
        cancel->setEnabled(false);
        bar->setRange(0, 1000);
    });
}

QProgressBar* newTaskBar(QWidget* parent, const QString& idle) {
    auto* bar = new QProgressBar(parent);
    bar->setRange(0, 1000);
    bar->setValue(0);
    bar->setFormat(idle);
    bar->setTextVisible(true);
    return bar;
}

QPushButton* newCancelButton(QWidget* parent, const QString& text) {
    auto* cancel = new QPushButton(text, parent);
    cancel->setEnabled(false);
    return cancel;
}

}  // namespace peft::ui
