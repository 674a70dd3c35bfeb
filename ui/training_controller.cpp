// Worker-thread training controller.
#include "ui/training_controller.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "core/data/prepare.h"
#include "core/util/error.h"

namespace peft::ui {

MetricPoint toMetricPoint(const StepMetrics& m) {
    MetricPoint p;
    p.step = m.step;
    p.totalSteps = m.totalSteps;
    p.epoch = m.epoch;
    p.loss = m.loss;
    p.gradNorm = m.gradNorm;
    p.lr = m.lr;
    p.tokensPerS = m.tokensPerS;
    p.elapsedS = m.elapsedS;
    if (m.evalLoss) p.evalLoss = *m.evalLoss;
    if (m.evalPerplexity) p.evalPerplexity = *m.evalPerplexity;
    else if (m.evalLoss) p.evalPerplexity = std::exp(*m.evalLoss);
    if (m.evalAccuracy) p.evalAccuracy = *m.evalAccuracy;
    p.objective = m.objectiveMetrics;
    return p;
}

TrainJob coreTrainJob() {
    return [](const nlohmann::json& runConfig, bool resume, const TrainHooks& hooks) {
        Trainer trainer(RunConfig::fromJson(runConfig, "project run config"));
        if (hooks.stopRequested) trainer.setCancelCheck(hooks.stopRequested);
        try {
            trainer.setup([&](const std::string& what, double f) {
                if (hooks.onProgress) hooks.onProgress(what, f);
            });
        } catch (const data::Cancelled&) {
            spdlog::info("stopped while preparing the dataset; nothing was trained");
            return;
        }
        if (hooks.onWarning)
            for (const auto& w : trainer.preflightReport().warnings) hooks.onWarning(w);
        if (resume && !trainer.resumeFromLatest())
            fail(trainer.config().outputDir, "there is no checkpoint to resume from",
                 "Start a new run instead, or pick the run folder that holds checkpoints/.");
        if (hooks.stopRequested && hooks.stopRequested()) return;
        if (hooks.onProgress) hooks.onProgress("training", 0.0);
        const TrainResult r = trainer.run(
            [&](const StepMetrics& m) {
                if (hooks.onMetrics) hooks.onMetrics(toMetricPoint(m));
            },
            hooks.control);
        if (r.status == TrainStatus::Failed) fail("training", r.message);
        spdlog::info("training {}: {}", statusName(r.status), r.message);
    };
}

TrainingController::TrainingController(TrainJob job, QObject* parent) : QObject(parent), m_job(std::move(job)) {}

// State changes that depend on the flags are posted under m_mutex, here and at the start of
// run(): otherwise run() could read "not paused", a Pause click then post Paused, and run()'s
// late Running overwrite it (seen as a flaky test: the run waited paused, the page said running).
void TrainingController::requestPause() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_paused = true;
    m_control.pause = true;
    Q_EMIT stateChanged(State::Paused);
}

void TrainingController::requestResume() {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_paused = false;
        m_control.pause = false;
        Q_EMIT stateChanged(State::Running);
    }
    m_cv.notify_all();
}

void TrainingController::requestStop() {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true;
        m_control.stop = true;
        Q_EMIT stateChanged(State::Stopping);
    }
    m_cv.notify_all();
}

void TrainingController::prepareRun() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_stop = false;
    m_paused = false;
    m_control.stop = false;
    m_control.pause = false;
}

void TrainingController::run(const QString& runConfigJson, bool resume) {
    // Flags were reset by prepareRun() on the GUI thread before this was queued, so a pause or
    // stop requested while the run is starting is kept, not lost.
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        Q_EMIT stateChanged(m_stop.load() ? State::Stopping : m_paused.load() ? State::Paused : State::Running);
    }
    if (!m_job) {
        Q_EMIT failed(tr("Training cannot start: this window was built without a training job."));
        Q_EMIT stateChanged(State::Failed);
        return;
    }
    TrainHooks hooks;
    hooks.onMetrics = [this](const MetricPoint& p) { Q_EMIT metrics(p); };
    hooks.stopRequested = [this] { return m_stop.load(); };
    hooks.onProgress = [this](const std::string& what, double f) {
        Q_EMIT progress(QString::fromStdString(what), f);
    };
    hooks.onWarning = [this](const std::string& w) { Q_EMIT warning(QString::fromStdString(w)); };
    hooks.control = &m_control;
    hooks.waitWhilePaused = [this] {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_cv.wait(lock, [this] { return !m_paused.load() || m_stop.load(); });
    };
    try {
        const nlohmann::json config = nlohmann::json::parse(runConfigJson.toStdString());
        m_job(config, resume, hooks);
        const bool stopped = m_stop.load();
        Q_EMIT stateChanged(stopped ? State::Stopped : State::Finished);
        Q_EMIT finished(stopped);
    } catch (const std::exception& e) {
        // An exception in the trainer reaches the page as an error; the app stays usable.
        spdlog::error("Training failed: {}", e.what());
        Q_EMIT failed(QString::fromStdString(e.what()));
        Q_EMIT stateChanged(State::Failed);
    } catch (...) {
        spdlog::error("Training failed with an unknown exception");
        Q_EMIT failed(tr("Training failed with an unknown error; see the log."));
        Q_EMIT stateChanged(State::Failed);
    }
}

TrainingRunner::TrainingRunner(TrainJob job, QObject* parent)
    : QObject(parent), m_job(job), m_controller(new TrainingController(std::move(job))) {
    qRegisterMetaType<peft::ui::MetricPoint>();
    qRegisterMetaType<peft::ui::TrainingController::State>();
    m_thread.setObjectName(QStringLiteral("training"));
    m_controller->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_controller, &QObject::deleteLater);
    connect(this, &TrainingRunner::startRequested, m_controller, &TrainingController::run, Qt::QueuedConnection);
    connect(m_controller, &TrainingController::metrics, this, &TrainingRunner::metrics, Qt::QueuedConnection);
    connect(m_controller, &TrainingController::failed, this, &TrainingRunner::failed, Qt::QueuedConnection);
    connect(m_controller, &TrainingController::finished, this, &TrainingRunner::finished, Qt::QueuedConnection);
    connect(m_controller, &TrainingController::progress, this, &TrainingRunner::progress, Qt::QueuedConnection);
    connect(m_controller, &TrainingController::warning, this, &TrainingRunner::warning, Qt::QueuedConnection);
    connect(m_controller, &TrainingController::stateChanged, this,
            [this](TrainingController::State s) {
                m_state = s;
                Q_EMIT stateChanged(s);
            },
            Qt::QueuedConnection);
    m_thread.start();
}

TrainingRunner::~TrainingRunner() {
    stopAndWait();
    m_thread.quit();
    m_thread.wait();
}

bool TrainingRunner::isActive() const {
    using S = TrainingController::State;
    return m_state == S::Running || m_state == S::Paused || m_state == S::Stopping;
}

void TrainingRunner::start(const nlohmann::json& runConfig, bool resume) {
    if (isActive()) return;
    m_state = TrainingController::State::Running;
    m_controller->prepareRun();
    Q_EMIT startRequested(QString::fromStdString(runConfig.dump()), resume);
}

void TrainingRunner::pause() { m_controller->requestPause(); }
void TrainingRunner::resume() { m_controller->requestResume(); }
void TrainingRunner::stop() { m_controller->requestStop(); }

void TrainingRunner::stopAndWait(int timeoutMs) {
    if (!isActive()) return;
    m_controller->requestStop();
    // Let the job write its checkpoint; queued state changes arrive through the event loop.
    QElapsedTimer t;
    t.start();
    while (isActive() && t.elapsed() < timeoutMs) {
        QCoreApplication::processEvents(QEventLoop::AllEvents, 50);
        QThread::msleep(10);
    }
}

}  // namespace peft::ui
