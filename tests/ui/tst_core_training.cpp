// The Train page on the real core Trainer: a short LoRA run on the tiny-llama fixture emits
// metrics as queued signals, pauses, resumes, finishes and can be resumed; a bad dataset path
// reaches the page as an error banner and the window stays usable.
#include <QtTest>

#include <fstream>

#include "core/peft/method.h"
#include "core/train/trainer.h"
#include "ui/pages/train_page.h"
#include "ui/project_state.h"
#include "ui/training_controller.h"
#include "ui/widgets/error_banner.h"
#include "ui/widgets/metric_chart.h"
#include "ui/widgets/training_charts.h"
#include "ui/widgets/training_settings.h"
#include "core/util/runtime_info.h"
#include "ui_test_util.h"

using namespace peft::ui;

namespace {
// A small text dataset plus a run config for 6 fp32 steps of batch 2 on the tiny model.
nlohmann::json tinyRun(const QTemporaryDir& dir, int maxSteps = 6) { return peft::uitest::tinyTextRun(dir, maxSteps); }
}  // namespace

class TstCoreTraining : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void realRunPausesResumesFinishesAndResumes() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        TrainingRunner runner;  // coreTrainJob()
        QVERIFY(runner.available());
        ProjectState state;
        state.setSection("model", tinyRun(dir)["model"]);
        const nlohmann::json cfg = tinyRun(dir);
        for (const char* k : {"dataset", "method", "training", "output_dir"}) state.setSection(k, cfg[k]);
        TrainPage page(&state, &runner);
        QSignalSpy metrics(&runner, &TrainingRunner::metrics);
        QSignalSpy finished(&runner, &TrainingRunner::finished);
        QSignalSpy failed(&runner, &TrainingRunner::failed);

        // Pause before the first step: the trainer polls the flag and waits.
        page.start();
        runner.pause();
        QTRY_COMPARE(runner.state(), TrainingController::State::Paused);
        // The GUI thread keeps running its event loop while the worker sets up and waits.
        QElapsedTimer t;
        t.start();
        int ticks = 0;
        while (t.elapsed() < 1500) {
            QTest::qWait(50);
            ++ticks;
        }
        QVERIFY(ticks >= 20);
        QCOMPARE(failed.count(), 0);
        const int atPause = metrics.count();
        QVERIFY(atPause <= 1);  // at most the step in flight when pause arrived
        runner.resume();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
        if (failed.count()) QFAIL(qPrintable(failed.first().first().toString()));
        QCOMPARE(finished.first().first().toBool(), false);
        QCOMPARE(runner.state(), TrainingController::State::Finished);
        QTRY_COMPARE(metrics.count(), 6);
        const MetricPoint last = metrics.last().first().value<MetricPoint>();
        QCOMPARE(last.step, qint64(6));
        QCOMPARE(last.totalSteps, qint64(6));
        QVERIFY(std::isfinite(last.loss) && last.loss > 0);
        QVERIFY(last.hasEval());
        QVERIFY(std::isfinite(last.evalPerplexity));
        QVERIFY(last.tokensPerS > 0);
        QCOMPARE(page.charts()->lossChart()->pointCount(page.charts()->rawLossSeries()), size_t(6));
        const QString runDir = dir.filePath(QStringLiteral("run"));
        QVERIFY(QFile::exists(runDir + QStringLiteral("/adapter/adapter_model.safetensors")));
        QVERIFY(QFile::exists(runDir + QStringLiteral("/metrics.jsonl")));
        QVERIFY(!peft::latestCheckpoint(runDir.toStdString()).empty());

        // Resume a finished run with more steps: it continues from step 6, not from 0.
        nlohmann::json more = state.runConfig()["training"];
        more["max_steps"] = 8;
        state.setSection("training", more);
        metrics.clear();
        page.resumeRun();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 120000);
        if (failed.count()) QFAIL(qPrintable(failed.first().first().toString()));
        QCOMPARE(metrics.count(), 2);
        QCOMPARE(metrics.first().first().value<MetricPoint>().step, qint64(7));
        QCOMPARE(metrics.last().first().value<MetricPoint>().step, qint64(8));
    }

    void stopWritesACheckpoint() {
        QTemporaryDir dir;
        TrainingRunner runner;
        QSignalSpy metrics(&runner, &TrainingRunner::metrics);
        QSignalSpy finished(&runner, &TrainingRunner::finished);
        runner.start(tinyRun(dir, 10000));
        QTRY_VERIFY_WITH_TIMEOUT(metrics.count() >= 2, 120000);
        runner.stop();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 60000);
        QCOMPARE(finished.first().first().toBool(), true);
        QCOMPARE(runner.state(), TrainingController::State::Stopped);
        const std::string ck = peft::latestCheckpoint(dir.filePath(QStringLiteral("run")).toStdString());
        QVERIFY2(!ck.empty(), "stop must write a checkpoint");
    }

    void preflightWarningsReachTheBannerAndSettingsWaitForTheRun() {
        // A bf16 CPU run where bf16 products are slow (the CPU's answer overridden): the preflight
        // warning shows in the page's banner while the run goes on; the settings column is off
        // during the run and on again after it.
        QTemporaryDir dir;
        TrainingRunner runner;
        ProjectState state;
        nlohmann::json cfg = tinyRun(dir, 2);
        cfg["training"]["precision"] = "bf16";
        peft::uitest::loadRun(state, cfg);
        TrainPage page(&state, &runner);
        QSignalSpy warnings(&runner, &TrainingRunner::warning);
        QSignalSpy finished(&runner, &TrainingRunner::finished);
        peft::overrideCpuHasFastBf16(false);
        QVERIFY(page.settings()->isEnabled());
        page.start();
        QVERIFY(!page.settings()->isEnabled());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
        peft::overrideCpuHasFastBf16(std::nullopt);
        QCOMPARE(runner.state(), TrainingController::State::Finished);
        QCOMPARE(warnings.count(), 1);
        QVERIFY2(page.banner()->text().contains(QStringLiteral("AVX-512")), qPrintable(page.banner()->text()));
        QCOMPARE(page.banner()->level(), ErrorBanner::Level::Warning);
        QVERIFY(page.settings()->isEnabled());
    }

    void badDatasetShowsAnErrorAndStaysUsable() {
        QTemporaryDir dir;
        TrainingRunner runner;
        ProjectState state;
        nlohmann::json cfg = tinyRun(dir);
        cfg["dataset"]["path"] = dir.filePath(QStringLiteral("no-such-file.jsonl")).toStdString();
        peft::uitest::loadRun(state, cfg);
        TrainPage page(&state, &runner);
        QSignalSpy failed(&runner, &TrainingRunner::failed);
        page.start();
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 60000);
        QCOMPARE(runner.state(), TrainingController::State::Failed);
        QVERIFY(page.banner()->isVisibleTo(&page));
        QVERIFY2(page.banner()->text().contains(QStringLiteral("no-such-file.jsonl")),
                 qPrintable(page.banner()->text()));
        auto* start = page.findChild<QPushButton*>(QStringLiteral("start"));
        QVERIFY(start && start->isEnabled());
        // Fix the path: the same window trains.
        state.setSection("dataset", tinyRun(dir)["dataset"]);
        QSignalSpy finished(&runner, &TrainingRunner::finished);
        page.start();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
        QCOMPARE(failed.count(), 1);
    }
};

QTEST_MAIN(TstCoreTraining)
#include "tst_core_training.moc"
