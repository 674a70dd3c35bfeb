// Worker-thread training controller.
#include "ui/training_controller.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QStandardPaths>

#include <spdlog/spdlog.h>

#include <csignal>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "core/data/prepare.h"
#include "core/dist/data_parallel.h"
#include "core/dist/launcher.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"

namespace peft::ui {

MetricPoint toMetricPoint(const StepMetrics& m) { return MetricPoint::fromJson(m.toJson()); }

namespace {

namespace fs = std::filesystem;

// Rendezvous and collectives of a GUI data-parallel run give up after this long (the CLI's
// --dist-timeout default).
constexpr double kDistTimeoutS = 60;

// The program that runs ranks 1..N-1 of a GUI run: $PEFT_CLI (tests, unusual installs), else
// peft-studio-cli beside this program (the build and the package), else on PATH.
std::string cliProgram() {
    if (const char* e = std::getenv("PEFT_CLI"); e && *e) return e;
    const QString beside = QCoreApplication::applicationDirPath() + QStringLiteral("/peft-studio-cli");
    if (QFileInfo(beside).isExecutable()) return beside.toStdString();
    const QString onPath = QStandardPaths::findExecutable(QStringLiteral("peft-studio-cli"));
    if (!onPath.isEmpty()) return onPath.toStdString();
    fail("training.processes",
         "the other ranks run in peft-studio-cli, which is neither beside this program nor on PATH",
         "Install peft-studio-cli with the GUI, or train with 1 process.");
}

// The Trainer from setup to the end of the run, as one rank (dp set) or alone.
void runTrainer(const RunConfig& cfg, std::shared_ptr<dist::DataParallel> dp, bool resume, const TrainHooks& hooks) {
    Trainer trainer(cfg);
    trainer.setDataParallel(std::move(dp));
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
}

std::string describeExit(const dist::RankProcesses::Exit& e) {
    std::string s = "Rank " + std::to_string(e.rank) + " " +
        (e.signaled ? "was killed by signal " + std::to_string(e.code - 128)
                    : "exited with code " + std::to_string(e.code)) +
        ".";
    s += " Its log, " + e.log + (e.logTail.empty() ? ", is empty." : ", ends:\n" + e.logTail);
    return s;
}

// training.processes (or .gpus) > 1: rank 0 runs here, on the training thread, so metrics,
// progress and the Pause/Stop flags stay the in-process ones, and the trainer's stop/pause
// agreement carries them to every rank. Ranks 1..N-1 are `peft-studio-cli train` children with
// torchrun's variables, logging to <output_dir>/logs/rank-N.log; none outlives the run.
void runDataParallel(RunConfig cfg, bool resume, const TrainHooks& hooks) {
    const int nproc = static_cast<int>(cfg.training.localRanks());
    // Checked here: the ranks would otherwise find out only after the rendezvous.
    if (resume && latestCheckpoint(cfg.outputDir).empty())
        fail(cfg.outputDir, "there is no checkpoint to resume from",
             "Start a new run instead, or pick the run folder that holds checkpoints/.");
    const std::string program = cliProgram();
    // Every rank must read the same config: a Hub model id or a relative path becomes the folder
    // this process resolves it to (the CLI's own resolution then leaves it as it is).
    cfg.resolveRelativePaths(fs::current_path().string());
    // A rank that dies closes its sockets: writing to them must be an error here, not SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    const fs::path logDir = fs::path(cfg.outputDir) / "logs";
    fs::create_directories(logDir);
    // The other ranks read the same config (every rank checks that they agree).
    const std::string configPath = (logDir / "ranks-run.json").string();
    writeFileAtomic(configPath, cfg.toJson().dump(2) + "\n");
    std::vector<std::string> args = {"train",   "--config",       configPath,
                                     "--quiet", "--dist-timeout", std::to_string(kDistTimeoutS)};
    if (resume) args.push_back("--resume");
    dist::RankEnv env;
    env.world = env.localWorld = nproc;
    env.masterPort = dist::freeLocalPort();
    if (hooks.onProgress) hooks.onProgress("Starting " + std::to_string(nproc) + " processes", 0.0);
    dist::RankProcesses others(program, args, 1, nproc, env.masterPort, logDir.string());
    spdlog::info("data-parallel: rank 0 runs here, ranks 1..{} in {} (logs in {}/rank-N.log)", nproc - 1, program,
                 logDir.string());
    try {
        auto dp = dist::joinRun(env, cfg, std::chrono::milliseconds(static_cast<int64_t>(kDistTimeoutS * 1000)));
        runTrainer(cfg, dp, resume, hooks);
    } catch (const std::exception& e) {
        // Rank 0's error is often only the echo of another rank's death (a closed connection):
        // name the rank that died first, with the end of its log.
        const dist::RankProcesses::Exit* dead = others.firstFailure();
        for (int i = 0; i < 20 && !dead; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            dead = others.firstFailure();
        }
        const std::string detail = dead ? "\n\n" + describeExit(*dead) : std::string();
        others.stopAll();
        throw PeftError(std::string(e.what()) + detail);
    }
    // After the last step every rank passes a barrier: they are about to exit. A run stopped
    // before its first step (while preparing) left the other ranks waiting for rank 0: they are
    // stopped here, and what they report about a rank 0 that left is not an error of the run.
    const bool stopped = hooks.stopRequested && hooks.stopRequested();
    if (!others.waitAll(stopped ? 5 : kDistTimeoutS) && !stopped)
        spdlog::warn("data-parallel: a rank did not exit after the run; stopping it");
    others.stopAll();
    if (const auto* dead = others.firstFailure(); dead) {
        if (!stopped) throw PeftError("The run ended, but one of its ranks failed.\n\n" + describeExit(*dead));
        if (dead->code != 130) spdlog::warn("data-parallel: after Stop, {}", describeExit(*dead));
    }
}

}  // namespace

TrainJob coreTrainJob() {
    return [](const nlohmann::json& runConfig, bool resume, const TrainHooks& hooks) {
        RunConfig cfg = RunConfig::fromJson(runConfig, "project run config");
        if (cfg.training.localRanks() > 1) runDataParallel(std::move(cfg), resume, hooks);
        else runTrainer(cfg, nullptr, resume, hooks);
    };
}

TrainingController::TrainingController(TrainJob job, QObject* parent) : TrainingEvents(parent), m_job(std::move(job)) {}

// State changes that depend on the flags are posted under m_mutex, here and at the start of
// run(): otherwise run() could read "not paused", a Pause click then post Paused, and run()'s
// late Running overwrite it (seen as a flaky test: the run waited paused, the page said running).
void TrainingController::requestPause() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_control.pause = true;
    Q_EMIT stateChanged(State::Paused);
}

void TrainingController::requestResume() {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_control.pause = false;
        Q_EMIT stateChanged(State::Running);
    }
    m_cv.notify_all();
}

void TrainingController::requestStop() {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_control.stop = true;
        Q_EMIT stateChanged(State::Stopping);
    }
    m_cv.notify_all();
}

void TrainingController::prepareRun() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_control.stop = false;
    m_control.pause = false;
}

void TrainingController::run(const QString& runConfigJson, bool resume) {
    // Flags were reset by prepareRun() on the GUI thread before this was queued, so a pause or
    // stop requested while the run is starting is kept, not lost.
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        Q_EMIT stateChanged(m_control.stop.load()        ? State::Stopping
                                : m_control.pause.load() ? State::Paused
                                                         : State::Running);
    }
    if (!m_job) {
        Q_EMIT failed(tr("Training cannot start: this window was built without a training job."));
        Q_EMIT stateChanged(State::Failed);
        return;
    }
    TrainHooks hooks;
    hooks.onMetrics = [this](const MetricPoint& p) { Q_EMIT metrics(p); };
    hooks.stopRequested = [this] { return m_control.stop.load(); };
    hooks.onProgress = [this](const std::string& what, double f) { Q_EMIT progress(QString::fromStdString(what), f); };
    hooks.onWarning = [this](const std::string& w) { Q_EMIT warning(QString::fromStdString(w)); };
    hooks.control = &m_control;
    hooks.waitWhilePaused = [this] {
        std::unique_lock<std::mutex> lock(m_mutex);
        m_cv.wait(lock, [this] { return !m_control.pause.load() || m_control.stop.load(); });
    };
    try {
        const nlohmann::json config = nlohmann::json::parse(runConfigJson.toStdString());
        m_job(config, resume, hooks);
        const bool stopped = m_control.stop.load();
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
    : TrainingEvents(parent), m_job(job), m_controller(new TrainingController(std::move(job))) {
    qRegisterMetaType<peft::ui::MetricPoint>();
    qRegisterMetaType<peft::ui::TrainingEvents::State>();
    m_thread.setObjectName(QStringLiteral("training"));
    m_controller->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_controller, &QObject::deleteLater);
    connect(this, &TrainingRunner::startRequested, m_controller, &TrainingController::run, Qt::QueuedConnection);
    // The controller's signals, re-emitted on this (the GUI) thread; stateChanged also keeps m_state.
    connect(m_controller, &TrainingEvents::metrics, this, &TrainingEvents::metrics, Qt::QueuedConnection);
    connect(m_controller, &TrainingEvents::failed, this, &TrainingEvents::failed, Qt::QueuedConnection);
    connect(m_controller, &TrainingEvents::warning, this, &TrainingEvents::warning, Qt::QueuedConnection);
    connect(m_controller, &TrainingEvents::finished, this, &TrainingEvents::finished, Qt::QueuedConnection);
    connect(m_controller, &TrainingEvents::progress, this, &TrainingEvents::progress, Qt::QueuedConnection);
    connect(
        m_controller, &TrainingController::stateChanged, this,
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
