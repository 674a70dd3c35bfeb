// Train page settings: each control writes its key of the run config's training section (what
// the trainer reads), an opened project fills the controls, a bad learning rate is refused with a
// message and the old value kept, and the Budget page estimates with the same settings (packed
// copies on or off).
#include <QtTest>

#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSpinBox>

#include "core/budget/budget.h"
#include "core/io/model_config.h"
#include "core/model/dnnl_cpu.h"
#include "core/train/run_config.h"
#include "core/util/cpu_cores.h"
#include "core/util/runtime_info.h"
#include "tests/ui/ui_test_util.h"
#include "ui/pages/budget_page.h"
#include "ui/project_state.h"
#include "ui/widgets/training_settings.h"

using namespace peft::ui;
using nlohmann::json;

class TstTrainingSettings : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void controlsWriteTheRunConfig() {
        ProjectState state;
        TrainingSettings w(&state);
        w.precision()->setCurrentText(QStringLiteral("fp32"));
        w.device()->setCurrentText(QStringLiteral("cpu"));
        w.batchSize()->setValue(16);
        w.gradAccum()->setValue(4);
        w.maxSteps()->setValue(300);
        w.scheduler()->setCurrentText(QStringLiteral("linear"));
        w.warmupSteps()->setValue(30);
        w.optimizer()->setCurrentText(QStringLiteral("sgd"));
        w.evalEvery()->setValue(0);
        w.saveEvery()->setValue(25);
        w.seed()->setValue(7);
        w.packedWeights()->setChecked(false);
        w.threads()->setValue(3);
        w.learningRate()->setText(QStringLiteral("3e-5"));
        Q_EMIT w.learningRate()->editingFinished();
        const json t = state.runConfig()["training"];
        QCOMPARE(t["precision"], json("fp32"));
        QCOMPARE(t["device"], json("cpu"));
        QCOMPARE(t["batch_size"], json(16));
        QCOMPARE(t["grad_accum"], json(4));
        QCOMPARE(t["max_steps"], json(300));
        QCOMPARE(t["scheduler"], json("linear"));
        QCOMPARE(t["warmup_steps"], json(30));
        QCOMPARE(t["optimizer"], json("sgd"));
        QCOMPARE(t["eval_every"], json(0));
        QCOMPARE(t["save_every"], json(25));
        QCOMPARE(t["seed"], json(7));
        QCOMPARE(t["packed_weights"], json(false));
        QCOMPARE(t["threads"], json(3));
        QCOMPARE(t["lr"].get<double>(), 3e-5);
        QVERIFY(!w.epochs()->isEnabled());  // max steps replaces the epoch count
        QVERIFY2(w.summary()->text().contains(QStringLiteral("64 sequences")), qPrintable(w.summary()->text()));
        // The core reads what the form wrote.
        json run = state.runConfig();
        run["model"] = "m";
        const peft::RunConfig c = peft::RunConfig::fromJson(run, "project");
        QCOMPARE(c.training.batchSize, int64_t(16));
        QCOMPARE(c.training.maxSteps, int64_t(300));
        QVERIFY(!c.training.packedWeights);
        QCOMPARE(c.training.threads, int64_t(3));
        QCOMPARE(c.training.optimizer, std::string("sgd"));
        // 0 in the box is "no step limit": the config's -1, and epochs count again.
        w.maxSteps()->setValue(0);
        QCOMPARE(state.runConfig()["training"]["max_steps"], json(-1));
        QVERIFY(w.epochs()->isEnabled());
        // 0 threads is "auto", shown with the count the trainer would take on this machine.
        w.threads()->setValue(0);
        QCOMPARE(state.runConfig()["training"]["threads"], json(0));
        QCOMPARE(w.threads()->text(), QStringLiteral("auto (%1)").arg(peft::resolveThreadCount(0)));
    }

    void badLearningRateIsRefused() {
        ProjectState state;
        TrainingSettings w(&state);
        QSignalSpy problems(&w, &TrainingSettings::problem);
        const json before = state.runConfig()["training"]["lr"];
        for (const char* bad : {"abc", "-1e-4", "0", "inf"}) {
            w.learningRate()->setText(QString::fromLatin1(bad));
            Q_EMIT w.learningRate()->editingFinished();
            QCOMPARE(state.runConfig()["training"]["lr"], before);
            QVERIFY(!problems.isEmpty());
            const QString msg = problems.takeLast().at(0).toString();
            QVERIFY2(msg.contains(QStringLiteral("Learning rate")) && msg.contains(QStringLiteral("2e-4")),
                     qPrintable(msg));
            QCOMPARE(w.learningRate()->text(), QString::number(before.get<double>(), 'g', 6));  // shown again
        }
    }

    void openedProjectFillsTheControls() {
        ProjectState state;
        TrainingSettings w(&state);
        json t = state.runConfig()["training"];
        t["batch_size"] = 2;
        t["precision"] = "fp32";
        t["device"] = "cuda:1";  // not in the list: added, not lost
        t["packed_weights"] = false;
        t["threads"] = 2;
        t["lr"] = 1e-3;
        state.setSection("training", t);
        QCOMPARE(w.batchSize()->value(), 2);
        QCOMPARE(w.precision()->currentText(), QStringLiteral("fp32"));
        QCOMPARE(w.device()->currentText(), QStringLiteral("cuda:1"));
        QVERIFY(!w.packedWeights()->isChecked());
        QCOMPARE(w.threads()->value(), 2);
        QCOMPARE(w.learningRate()->text(), QStringLiteral("0.001"));
        QCOMPARE(state.runConfig()["training"], t);  // loading wrote nothing back
        // A value with more digits than the box shows survives the box losing focus unedited.
        t["lr"] = 1.0 / 3.0e4;
        state.setSection("training", t);
        Q_EMIT w.learningRate()->editingFinished();
        QCOMPARE(state.runConfig()["training"]["lr"].get<double>(), 1.0 / 3.0e4);
    }

    void slowBf16IsPointedOut() {
        // On a CPU without fast bf16 products the form says so next to Precision, and a new
        // project starts in fp32 there (bf16 where it is fast).
        peft::overrideCpuHasFastBf16(false);
        {
            ProjectState fresh;
            if (!peft::cudaAvailable()) QCOMPARE(fresh.runConfig()["training"]["precision"], json("fp32"));
        }
        ProjectState state;
        TrainingSettings w(&state);
        w.device()->setCurrentText(QStringLiteral("cpu"));
        w.precision()->setCurrentText(QStringLiteral("bf16"));
        QVERIFY(w.precisionHint()->isVisibleTo(&w));
        QVERIFY(w.precisionHint()->text().contains(QStringLiteral("fp32")));
        w.precision()->setCurrentText(QStringLiteral("fp32"));
        QVERIFY(!w.precisionHint()->isVisibleTo(&w));
        w.precision()->setCurrentText(QStringLiteral("bf16"));
        w.device()->setCurrentText(QStringLiteral("cuda"));  // a GPU run is not affected
        QVERIFY(!w.precisionHint()->isVisibleTo(&w));
        peft::overrideCpuHasFastBf16(true);
        w.device()->setCurrentText(QStringLiteral("cpu"));
        QVERIFY(!w.precisionHint()->isVisibleTo(&w));
        {
            ProjectState fresh;
            QCOMPARE(fresh.runConfig()["training"]["precision"], json("bf16"));
        }
        peft::overrideCpuHasFastBf16(std::nullopt);
    }

    void budgetFollowsTheSettings() {
        ProjectState state;
        const peft::ModelConfig mc = peft::uitest::openTinyLlama(state);
        TrainingSettings w(&state);
        BudgetPage page(&state);
        const json lora = peft::uitest::qvLora();
        page.addCandidate(lora);
        w.precision()->setCurrentText(QStringLiteral("bf16"));
        w.device()->setCurrentText(QStringLiteral("cpu"));
        w.batchSize()->setValue(3);
        auto memory = [&] {
            page.enterPage();
            return page.table()->item(0, 4)->text();
        };
        auto expected = [&](bool packed) {
            peft::budget::BudgetOptions o;
            o.batch = 3;
            o.seqLen = state.runConfig()["dataset"]["max_length"].get<int64_t>();
            o.precision = peft::budget::Precision::Bf16;
            o.packedWeights = packed;
            return QString::fromStdString(
                peft::budget::humanBytes(peft::budget::estimate(mc, lora, o).memory.trainingTotal()));
        };
        w.packedWeights()->setChecked(true);
        const QString on = memory();
        QCOMPARE(on, expected(true));
        w.packedWeights()->setChecked(false);
        const QString off = memory();
        QCOMPARE(off, expected(false));
        auto* assumes = page.findChild<QLabel*>(QStringLiteral("budgetAssumes"));
        QVERIFY(assumes);
        QVERIFY2(assumes->text().contains(QStringLiteral("Batch 3")), qPrintable(assumes->text()));
        if (peft::kernels::dnnlAvailable()) {
            QVERIFY(on != off);
            QVERIFY2(assumes->text().contains(QStringLiteral("no packed copies")), qPrintable(assumes->text()));
        }
        // A GPU run: estimated as the trainer runs it there (no packed copies, GPU kernels).
        w.packedWeights()->setChecked(true);
        w.device()->setCurrentText(QStringLiteral("cuda"));
        const QString gpu = memory();
        peft::budget::BudgetOptions o;
        o.batch = 3;
        o.seqLen = state.runConfig()["dataset"]["max_length"].get<int64_t>();
        o.precision = peft::budget::Precision::Bf16;
        o.device = peft::budget::Device::Cuda;
        QCOMPARE(gpu,
                 QString::fromStdString(
                     peft::budget::humanBytes(peft::budget::estimate(mc, lora, o).memory.trainingTotal())));
        QVERIFY2(assumes->text().contains(QStringLiteral("GPU")), qPrintable(assumes->text()));
    }
};

QTEST_MAIN(TstTrainingSettings)
#include "tst_training_settings.moc"
