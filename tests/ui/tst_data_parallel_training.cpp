// The Train page driving a data-parallel run of the real core (training.processes 2 on the
// tiny-llama fixture): rank 0 runs in the GUI process and feeds the charts, rank 1 is a
// peft-studio-cli child; Pause, Resume and Stop reach both ranks; a rank that dies shows its exit
// and its log in the page's banner; no rank process outlives a run. Also the settings rows.
#include <QtTest>

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "core/train/trainer.h"
#include "core/util/runtime_info.h"
#include "ui/pages/train_page.h"
#include "ui/project_state.h"
#include "ui/training_controller.h"
#include "ui/widgets/error_banner.h"
#include "ui/widgets/training_settings.h"
#include "ui_test_util.h"

using namespace peft::ui;

namespace {

// 2 processes x batch 2, fp32, on the tiny model; a checkpoint every 2 steps.
nlohmann::json twoRankRun(const QTemporaryDir& dir, int maxSteps) {
    nlohmann::json c = peft::uitest::tinyTextRun(dir, maxSteps);
    c["dataset"]["validation_split"] = 0;
    c["training"]["eval_every"] = 0;
    c["training"]["save_every"] = 2;
    c["training"]["threads"] = 1;
    c["training"]["processes"] = 2;
    return c;
}

QString readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

// Processes whose parent is this test (the ranks it started), from /proc.
std::vector<pid_t> childProcesses() {
    std::vector<pid_t> out;
    DIR* d = ::opendir("/proc");
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
        if (pid <= 0) continue;
        std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
        std::string line;
        std::getline(stat, line);
        const auto close = line.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream rest(line.substr(close + 2));
        char state = 0;
        pid_t ppid = 0;
        rest >> state >> ppid;
        if (ppid == ::getpid() && state != 'Z') out.push_back(pid);
    }
    ::closedir(d);
    return out;
}

// A two-rank run loaded on the Train page, with spies on the runner's signals.
struct TwoRankRun {
    explicit TwoRankRun(const QTemporaryDir& dir) {
        peft::uitest::loadRun(state, twoRankRun(dir, 10000));
        page = std::make_unique<TrainPage>(&state, &runner);
    }
    TrainingRunner runner;
    ProjectState state;
    std::unique_ptr<TrainPage> page;
    QSignalSpy metrics{&runner, &TrainingRunner::metrics};
    QSignalSpy finished{&runner, &TrainingRunner::finished};
    QSignalSpy failed{&runner, &TrainingRunner::failed};
};

}  // namespace

class TstDataParallelTraining : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void settingsHaveProcessesAndGpusOnlyWithCuda() {
        ProjectState state;
        TrainingSettings settings(&state);
        QVERIFY(settings.processes());
        settings.processes()->setValue(3);
        QCOMPARE(state.runConfig()["training"]["processes"].get<int>(), 3);
        QVERIFY2(settings.summary()->text().contains(QStringLiteral("split over 3 processes")),
                 qPrintable(settings.summary()->text()));
        // The GPU list exists exactly when LibTorch sees CUDA devices.
        QCOMPARE(settings.gpus() != nullptr, peft::cudaDeviceCount() > 0);
        // A project written with 2 processes shows 2.
        nlohmann::json t = state.runConfig()["training"];
        t["processes"] = 2;
        state.setSection("training", t);
        QCOMPARE(settings.processes()->value(), 2);
    }

    void twoProcessesPauseResumeStopAndResumeReachBothRanks() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        TwoRankRun r(dir);
        r.page->start();
        QTRY_VERIFY_WITH_TIMEOUT(r.metrics.count() >= 3 || r.failed.count(), 180000);
        if (r.failed.count()) QFAIL(qPrintable(r.failed.first().first().toString()));
        const QString runDir = dir.filePath(QStringLiteral("run"));
        QCOMPARE(childProcesses().size(), size_t(1));  // rank 1

        // Pause: no rank steps (rank 1 cannot step alone: every step sums both ranks' gradients,
        // so a running rank 1 would show as a growing step count once resumed together).
        r.runner.pause();
        QTRY_COMPARE(r.runner.state(), TrainingController::State::Paused);
        QTest::qWait(1500);
        const int atPause = r.metrics.count();
        QTest::qWait(1500);
        QCOMPARE(r.metrics.count(), atPause);
        QCOMPARE(childProcesses().size(), size_t(1));  // rank 1 waits, it did not exit
        r.runner.resume();
        QTRY_VERIFY_WITH_TIMEOUT(r.metrics.count() >= atPause + 2, 60000);

        // Stop: both ranks stop; rank 1 says so in its log and exits; a checkpoint exists.
        r.runner.stop();
        QTRY_COMPARE_WITH_TIMEOUT(r.finished.count(), 1, 120000);
        if (r.failed.count()) QFAIL(qPrintable(r.failed.first().first().toString()));
        QCOMPARE(r.finished.first().first().toBool(), true);
        QCOMPARE(r.runner.state(), TrainingController::State::Stopped);
        QVERIFY(childProcesses().empty());
        // The run's log (flushed when its trainer ends) says it ran data-parallel.
        QVERIFY(readAll(runDir + QStringLiteral("/log.txt")).contains(QStringLiteral("data-parallel: 2 ranks (Gloo)")));
        const QString rank1 = readAll(runDir + QStringLiteral("/logs/rank-1.log"));
        QVERIFY2(rank1.contains(QStringLiteral("stopped: stopped at step")), qPrintable(rank1));
        const std::string ck = peft::latestCheckpoint(runDir.toStdString());
        QVERIFY(!ck.empty());
        const qint64 stoppedAt = r.metrics.last().first().value<MetricPoint>().step;

        // Resume from the checkpoint with both ranks, 2 steps further: it continues, not restarts.
        nlohmann::json t = r.state.runConfig()["training"];
        t["max_steps"] = stoppedAt + 2;
        r.state.setSection("training", t);
        r.metrics.clear();
        r.page->resumeRun();
        QTRY_COMPARE_WITH_TIMEOUT(r.finished.count(), 2, 180000);
        if (r.failed.count()) QFAIL(qPrintable(r.failed.first().first().toString()));
        QCOMPARE(r.finished.last().first().toBool(), false);
        QVERIFY(r.metrics.count() >= 1);
        QCOMPARE(r.metrics.last().first().value<MetricPoint>().step, stoppedAt + 2);
        QVERIFY(r.metrics.first().first().value<MetricPoint>().step > 1);
        QVERIFY(QFile::exists(runDir + QStringLiteral("/adapter/adapter_model.safetensors")));
        QVERIFY(childProcesses().empty());
    }

    void aRankThatDiesShowsItsExitAndLog() {
        QTemporaryDir dir;
        TwoRankRun r(dir);
        r.page->start();
        QTRY_VERIFY_WITH_TIMEOUT(r.metrics.count() >= 2 || r.failed.count(), 180000);
        QCOMPARE(r.failed.count(), 0);
        const std::vector<pid_t> ranks = childProcesses();
        QCOMPARE(ranks.size(), size_t(1));
        ::kill(ranks[0], SIGKILL);
        // Rank 0 (here) stops within the rendezvous timeout and names the dead rank.
        QTRY_COMPARE_WITH_TIMEOUT(r.failed.count(), 1, 90000);
        QTRY_COMPARE(r.runner.state(), TrainingController::State::Failed);
        const QString msg = r.failed.first().first().toString();
        QVERIFY2(msg.contains(QStringLiteral("Rank 1 was killed by signal 9")), qPrintable(msg));
        QVERIFY2(msg.contains(QStringLiteral("rank-1.log")), qPrintable(msg));
        QVERIFY2(msg.contains(QStringLiteral("data-parallel")), qPrintable(msg));  // the tail of rank 1's log
        QVERIFY(r.page->banner()->text().contains(QStringLiteral("Rank 1 was killed")));
        QVERIFY(childProcesses().empty());
    }
};

QTEST_MAIN(TstDataParallelTraining)
#include "tst_data_parallel_training.moc"
