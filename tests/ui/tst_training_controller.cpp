// The training controller runs its job on a worker thread: metrics arrive as queued signals,
// pause/resume/stop reach the job, a failing job reaches the page as an error, and the GUI
// thread keeps running its event loop throughout. The job here is a test double for the core
// Trainer (which the lead connects through coreTrainJob()).
#include <QtTest>

#include <atomic>

#include "ui/pages/train_page.h"
#include "ui/project_state.h"
#include "ui/training_controller.h"
#include "ui/widgets/metric_chart.h"
#include "ui/widgets/training_charts.h"

using namespace peft::ui;

namespace {
// Emits `steps` steps; each "step" sleeps a little, like a real one, and obeys the hooks.
TrainJob steppingJob(int steps, std::atomic<int>* done, Qt::HANDLE* thread) {
    return [=](const nlohmann::json&, bool, const TrainHooks& h) {
        *thread = QThread::currentThreadId();
        for (int i = 1; i <= steps; ++i) {
            h.waitWhilePaused();
            if (h.stopRequested()) return;
            QThread::msleep(5);
            MetricPoint p;
            p.step = i;
            p.totalSteps = steps;
            p.loss = 3.0 / i;
            p.lr = 1e-3;
            p.gradNorm = 0.5;
            p.tokensPerS = 100;
            p.elapsedS = i * 0.005;
            h.onMetrics(p);
            done->store(i);
        }
    };
}
}  // namespace

class TstTrainingController : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void runsOffThreadPausesResumesAndFinishes() {
        std::atomic<int> done{0};
        Qt::HANDLE jobThread = nullptr;
        TrainingRunner runner(steppingJob(200, &done, &jobThread));
        QSignalSpy metrics(&runner, &TrainingRunner::metrics);
        QSignalSpy finished(&runner, &TrainingRunner::finished);
        runner.start(defaultRunConfig());
        QTRY_VERIFY(metrics.count() >= 10);
        QVERIFY(jobThread != QThread::currentThreadId());
        runner.pause();
        QTRY_COMPARE(runner.state(), TrainingController::State::Paused);
        QTest::qWait(100);  // let the in-flight step finish
        const int atPause = done.load();
        QTest::qWait(200);
        QCOMPARE(done.load(), atPause);  // no steps while paused; the GUI thread kept running
        runner.resume();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 20000);
        QCOMPARE(finished.first().first().toBool(), false);
        QCOMPARE(runner.state(), TrainingController::State::Finished);
        QTRY_COMPARE(metrics.count(), 200);
        QCOMPARE(metrics.last().first().value<MetricPoint>().step, qint64(200));
    }
    void stopEndsTheRunAsStopped() {
        std::atomic<int> done{0};
        Qt::HANDLE jobThread = nullptr;
        TrainingRunner runner(steppingJob(100000, &done, &jobThread));
        QSignalSpy finished(&runner, &TrainingRunner::finished);
        runner.start(defaultRunConfig());
        QTRY_VERIFY(done.load() > 3);
        runner.stop();
        QTRY_COMPARE(finished.count(), 1);
        QCOMPARE(finished.first().first().toBool(), true);
        QCOMPARE(runner.state(), TrainingController::State::Stopped);
        QVERIFY(done.load() < 100000);
    }
    void jobExceptionReachesThePage() {
        TrainingRunner runner([](const nlohmann::json&, bool, const TrainHooks&) {
            throw std::runtime_error("runs/x/metrics.jsonl: disk full. Free some space.");
        });
        ProjectState state;
        TrainPage page(&state, &runner);
        QSignalSpy failed(&runner, &TrainingRunner::failed);
        page.start();
        QTRY_COMPARE(failed.count(), 1);
        QVERIFY(page.banner()->isVisibleTo(&page));
        QVERIFY(page.banner()->text().contains(QStringLiteral("disk full")));
        QCOMPARE(runner.state(), TrainingController::State::Failed);
        // The app stays usable: a second start is accepted.
        page.start();
        QTRY_COMPARE(failed.count(), 2);
    }
    void withoutATrainerTheRunSaysSo() {
        TrainingRunner runner(TrainJob{});
        QVERIFY(!runner.available());
        QSignalSpy failed(&runner, &TrainingRunner::failed);
        runner.start(defaultRunConfig());
        QTRY_COMPARE(failed.count(), 1);
        QVERIFY(failed.first().first().toString().contains(QStringLiteral("cannot start")));
    }
    void trainPageChartsFillFromMetrics() {
        std::atomic<int> done{0};
        Qt::HANDLE jobThread = nullptr;
        TrainingRunner runner(steppingJob(30, &done, &jobThread));
        ProjectState state;
        TrainPage page(&state, &runner);
        QSignalSpy finished(&runner, &TrainingRunner::finished);
        page.start();
        QTRY_COMPARE(finished.count(), 1);
        QTRY_COMPARE(page.charts()->lossChart()->pointCount(page.charts()->rawLossSeries()), size_t(30));
    }
};

QTEST_MAIN(TstTrainingController)
#include "tst_training_controller.moc"
