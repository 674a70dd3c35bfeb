// The Budget page shows the core's numbers: its trainable count for a LoRA candidate equals HF
// peft's (the fixture's summary.json), and each row matches core/budget's estimate.
#include <QtTest>
#include <QProgressBar>
#include <QPushButton>
#include <QTemporaryDir>

#include <unistd.h>

#include "core/budget/budget.h"
#include "core/io/model_config.h"
#include "tests/ui/ui_test_util.h"
#include "ui/pages/budget_page.h"
#include "ui/project_state.h"

using namespace peft::ui;
using nlohmann::json;

namespace {
// The project on tiny-llama, training on the CPU in fp32, with `extra` training settings on top.
peft::ModelConfig tinyLlamaOnCpu(ProjectState& state, const json& extra) {
    const peft::ModelConfig mc = peft::uitest::openTinyLlama(state);
    json t = state.runConfig()["training"];
    t["device"] = "cpu";
    t["precision"] = "fp32";
    for (auto it = extra.begin(); it != extra.end(); ++it) t[it.key()] = it.value();
    state.setSection("training", t);
    return mc;
}
}  // namespace

class TstBudgetPage : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void showsTheCoreNumbers() {
        ProjectState state;
        const peft::ModelConfig mc = peft::uitest::openTinyLlama(state);
        BudgetPage page(&state);
        const json lora = peft::uitest::qvLora();
        page.addCandidate(lora);
        page.addStandardCandidates();
        QVERIFY(page.candidates().size() >= 6);
        QCOMPARE(page.table()->rowCount(), int(page.candidates().size()));
        // The memory column says what it counts and what it leaves out.
        QVERIFY(page.table()->horizontalHeaderItem(4)->toolTip().contains(QStringLiteral("peak RSS")));
        // Row 0 against HF peft's own count.
        const json summary = peft::readJsonFile(peft::uitest::fixture("tiny-llama/summary.json").toStdString());
        const int64_t hfTrainable = summary["adapters"]["lora-qv-r4"]["trainable"].get<int64_t>();
        QCOMPARE(page.table()->item(0, 1)->toolTip().toLongLong(), qlonglong(hfTrainable));
        // Every row against the core's estimate.
        int quantized = 0;
        for (int r = 0; r < page.table()->rowCount(); ++r) {
            json cfg = stripCandidateKeys(page.candidates()[r]);
            cfg.erase("init_from");
            peft::budget::BudgetOptions o;
            o.batch = 4;  // the project's defaults: batch_size 4, max_length 512, bf16
            o.seqLen = 512;
            o.precision = peft::budget::Precision::Bf16;
            // The QLoRA candidate of the standard set: NF4 base as the trainer stores it.
            if (page.candidates()[r].value("_quantize_base", false)) {
                o.quantizeBase = peft::budget::BaseQuant::Nf4DoubleQuant;
                ++quantized;
            }
            const auto e = peft::budget::estimate(mc, cfg, o);
            QCOMPARE(page.table()->item(r, 4)->text(),
                     QString::fromStdString(peft::budget::humanBytes(e.memory.trainingTotal())));
            QCOMPARE(page.table()->item(r, 1)->toolTip().toLongLong(), qlonglong(e.params.trainable));
            QCOMPARE(page.table()->item(r, 5)->text(),
                     QString::fromStdString(peft::budget::humanBytes(e.adapterFileBytes)));
        }
        QCOMPARE(quantized, 1);
        page.removeCandidate(0);
        QCOMPARE(page.table()->rowCount(), int(page.candidates().size()));
    }
    void candidatesThatReadTheSameAreToldApart() {
        // The run's LoRA r=8 (dropout 0) next to the standard set's LoRA r=8 (dropout 0.05).
        const json a = {{"peft_type", "LORA"},
                        {"r", 8},
                        {"lora_alpha", 16},
                        {"lora_dropout", 0.0},
                        {"target_modules", {"q_proj", "v_proj"}}};
        json b = a;
        b["lora_dropout"] = 0.05;
        const json ia3 = {{"peft_type", "IA3"}, {"target_modules", {"k_proj"}}};
        const QStringList n = describeCandidates({a, b, ia3});
        QCOMPARE(n.size(), 3);
        QVERIFY2(n[0] != n[1], qPrintable(n[0]));
        QVERIFY2(n[0].startsWith(describeMethod(a)) && n[0].contains(QStringLiteral("lora_dropout=0.0")),
                 qPrintable(n[0]));
        QVERIFY2(n[1].contains(QStringLiteral("lora_dropout=0.05")), qPrintable(n[1]));
        QCOMPARE(n[2], describeMethod(ia3));  // unique labels stay as they are
    }
    void dataParallelProcessesShowMemoryPerProcessAndCheckTheMachineTogether() {
        ProjectState state;
        const peft::ModelConfig mc = tinyLlamaOnCpu(state, {{"processes", 3}});
        json t = state.runConfig()["training"];
        BudgetPage page(&state);
        const json lora = peft::uitest::qvLora();
        page.addCandidate(lora);
        const auto* assumes = page.findChild<QLabel*>(QStringLiteral("budgetAssumes"));
        QVERIFY(assumes);
        QVERIFY2(assumes->text().contains(QStringLiteral("per process × 3 processes")), qPrintable(assumes->text()));
        const int row = int(page.candidates().size()) - 1;
        const peft::budget::BudgetOptions o = page.optionsFor(lora);
        const uint64_t one = peft::budget::estimate(mc, lora, o).memory.trainingTotal();
        const QString perProcess = QString::fromStdString(peft::budget::humanBytes(one));
        QCOMPARE(page.table()->item(row, 4)->text(), perProcess);
        QCOMPARE(page.table()->horizontalHeaderItem(4)->text(), QStringLiteral("Memory per process"));
        QVERIFY2(page.table()->item(row, 4)->toolTip().contains(
                     QStringLiteral("3 processes on this machine: %1 in all")
                         .arg(QString::fromStdString(peft::budget::humanBytes(3 * one)))),
                 qPrintable(page.table()->item(row, 4)->toolTip()));

        // A batch that fits this machine once but not three times: the banner names the processes.
        const long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGE_SIZE);
        const uint64_t ram = static_cast<uint64_t>(pages) * static_cast<uint64_t>(pageSize);
        int fitsOnce = 0;
        for (int b = 1; b <= 1 << 20 && !fitsOnce; b *= 2) {
            peft::budget::BudgetOptions ob = o;
            ob.batch = b;
            const uint64_t m = peft::budget::estimate(mc, lora, ob).memory.trainingTotal();
            if (m <= ram && 3 * m > ram) fitsOnce = b;
            if (m > ram) break;
        }
        if (!fitsOnce) QSKIP("no power-of-two batch fits this machine's RAM once but not three times");
        t["batch_size"] = fitsOnce;
        state.setSection("training", t);
        page.refresh();
        QVERIFY(!page.banner()->isHidden());
        QVERIFY2(page.banner()->text().contains(QStringLiteral("for 3 processes, more than this machine's")),
                 qPrintable(page.banner()->text()));
        // One process of the same batch fits: no warning.
        t["processes"] = 1;
        state.setSection("training", t);
        page.refresh();
        QVERIFY2(page.banner()->isHidden() || !page.banner()->text().contains(QStringLiteral("processes")),
                 qPrintable(page.banner()->text()));
        QCOMPARE(page.table()->horizontalHeaderItem(4)->text(), QStringLiteral("Training memory"));
        QVERIFY(page.table()->item(row, 4)->toolTip().isEmpty());
    }
    void measuresRunTimeInTheBackgroundAndMarksItStale() {
        QTemporaryDir tmp;
        {
            QFile f(tmp.filePath(QStringLiteral("data.jsonl")));
            QVERIFY(f.open(QIODevice::WriteOnly));
            for (int i = 0; i < 24; ++i)
                f.write(QStringLiteral("{\"text\": \"row %1 of a small data set to time\"}\n").arg(i).toUtf8());
        }
        ProjectState state;
        tinyLlamaOnCpu(state, {{"batch_size", 2}, {"epochs", 3}});
        json t = state.runConfig()["training"];
        state.setSection("dataset",
                         {{"path", tmp.filePath(QStringLiteral("data.jsonl")).toStdString()},
                          {"format", "text"},
                          {"max_length", 24},
                          {"validation_split", 0.25}});
        BudgetPage page(&state);
        const json lora = peft::uitest::qvLora();
        const json ia3 = {{"peft_type", "IA3"},
                          {"task_type", "CAUSAL_LM"},
                          {"target_modules", {"k_proj", "v_proj", "down_proj"}},
                          {"feedforward_modules", {"down_proj"}}};
        page.addCandidate(lora);
        page.addCandidate(ia3);
        QCOMPARE(page.table()->item(0, 8)->text(), QStringLiteral("—"));
        QSignalSpy done(&page, &BudgetPage::measurementFinished);
        page.measureRunTimes();
        QVERIFY(page.isMeasuring());
        auto* cancel = page.findChild<QPushButton*>(QStringLiteral("budgetCancelMeasure"));
        auto* progress = page.findChild<QProgressBar*>(QStringLiteral("budgetMeasureProgress"));
        QVERIFY(cancel && progress);
        QVERIFY(!cancel->isHidden() && !progress->isHidden());
        QVERIFY(done.wait(180000));
        QCOMPARE(done.first().first().toBool(), true);
        QVERIFY(cancel->isHidden() && progress->isHidden());
        // 18 training rows, 2 per step, 3 epochs: 27 steps, in each row's breakdown.
        for (int r = 0; r < 2; ++r) {
            QTableWidgetItem* cell = page.table()->item(r, 8);
            QVERIFY2(cell->data(Qt::UserRole).toDouble() > 0, qPrintable(cell->text()));
            QVERIFY2(cell->toolTip().startsWith(QStringLiteral("27 steps × ")), qPrintable(cell->toolTip()));
            QVERIFY2(cell->toolTip().contains(QStringLiteral("checkpoints ×")), qPrintable(cell->toolTip()));
        }
        // The times are the project's: a new page on the same project shows them.
        {
            BudgetPage again(&state);
            Q_EMIT state.projectReplaced();
            QCOMPARE(again.table()->item(0, 8)->text(), page.table()->item(0, 8)->text());
        }
        // A setting the time depends on changes: the cell says so instead of showing an old figure.
        t["batch_size"] = 4;
        state.setSection("training", t);
        page.refresh();
        QVERIFY2(page.table()->item(0, 8)->text().contains(QStringLiteral("settings changed")),
                 qPrintable(page.table()->item(0, 8)->text()));
        // Cancel: the page is free again at once and says so.
        done.clear();
        page.measureRunTimes();
        cancel->click();
        QCOMPARE(done.size(), 1);
        QCOMPARE(done.first().first().toBool(), false);
        QVERIFY(!page.isMeasuring());
        QVERIFY(page.banner()->text().contains(QStringLiteral("cancelled")));
        // A timing that fails (the dataset file is gone) says so in the banner and in the cells.
        state.setSection("dataset",
                         {{"path", tmp.filePath(QStringLiteral("gone.jsonl")).toStdString()},
                          {"format", "text"},
                          {"max_length", 24}});
        done.clear();
        page.measureRunTimes();
        QVERIFY(done.wait(120000));
        QCOMPARE(page.table()->item(0, 8)->text(), QStringLiteral("failed"));
        QVERIFY2(page.banner()->text().contains(QStringLiteral("measuring the run time failed")) &&
                     page.banner()->text().contains(QStringLiteral("gone.jsonl")),
                 qPrintable(page.banner()->text()));
        // Without a dataset it says where to get one.
        state.setSection("dataset", json::object());
        page.measureRunTimes();
        QVERIFY(!page.isMeasuring());
        QVERIFY2(page.banner()->text().contains(QStringLiteral("Dataset step")), qPrintable(page.banner()->text()));
    }
    void withoutAModelItSaysWhatToDo() {
        ProjectState state;
        BudgetPage page(&state);
        page.enterPage();
        QVERIFY(!page.banner()->isHidden());
        QVERIFY(page.banner()->text().contains(QStringLiteral("Model")));
    }
};

QTEST_MAIN(TstBudgetPage)
#include "tst_budget_page.moc"
