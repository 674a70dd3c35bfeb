// Task evaluation on the Evaluate page, on a short run of the bundled demo: the page evaluates the
// validation rows on a worker with progress, shows base vs tuned bars and a per-example table,
// saves the report in the run folder, exports CSV, cancels; its rows equal those of
// `peft-studio-cli evaluate --run` on the same run; the Runs page shows the metrics as columns.
#include <QtTest>

#include <QProgressBar>
#include <QTableWidget>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/eval/eval_report.h"
#include "core/train/run_config.h"
#include "core/train/trainer.h"
#include "core/util/blas_tune.h"
#include "ui/pages/evaluate_page.h"
#include "ui/pages/runs_page.h"
#include "ui/project_state.h"
#include "ui/widgets/qcp.h"
#include "ui_test_util.h"

using namespace peft::ui;

namespace {
QString demoDir() { return peft::uitest::sourcePath(QStringLiteral("resources/demo")); }
}  // namespace

class TstEvaluateTask : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    nlohmann::json m_cfg;

    void fill(ProjectState& state) { peft::uitest::loadRun(state, m_cfg); }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        // The same OpenBLAS kernels as the peft-studio-cli this test compares with (bit-equal logits).
        peft::tuneBlasKernels();
        peft::RunConfig rc = peft::RunConfig::load((demoDir() + QStringLiteral("/run.json")).toStdString());
        rc.outputDir = m_dir.filePath(QStringLiteral("runs/demo")).toStdString();
        rc.training.maxSteps = 4;
        rc.training.evalEvery = 0;
        rc.training.saveEvery = 0;
        peft::Trainer trainer(rc);
        trainer.setup();
        QCOMPARE(int(trainer.run().status), int(peft::TrainStatus::Finished));
        m_cfg = rc.toJson();
    }

    void evaluatesTheValidationSetAndMatchesTheCli() {
        ProjectState state;
        fill(state);
        EvaluatePage page(&state);
        page.setEvalLimit(6);
        QSignalSpy done(&page, &EvaluatePage::evaluationDone);
        QSignalSpy progress(&page, &EvaluatePage::evalProgressed);
        page.evaluateValidation();
        QVERIFY(page.isEvaluating());
        QVERIFY(peft::uitest::endsWithoutError(done, 300000));
        QTRY_VERIFY(!page.isEvaluating());
        QVERIFY(progress.count() >= 12);  // one per answer: 6 rows x 2 sides
        QCOMPARE(progress.last().at(0).toInt(), 12);
        QVERIFY(!page.evalProgress()->isVisible());
        const peft::eval::EvalReport* r = page.report();
        QVERIFY(r);
        QCOMPARE(int(r->rows.size()), 6);
        QCOMPARE(r->sides, (std::vector<std::string>{"base", "tuned"}));
        QCOMPARE(r->metrics, (std::vector<std::string>{"em", "contains", "rougeL", "bleu", "chrf"}));
        // Bars: one series per side; table: one row per example.
        QCOMPARE(page.metricsChart()->plottableCount(), 2);
        QCOMPARE(page.rowsTable()->rowCount(), 6);
        // Saved in the run folder for the Runs page.
        const std::string saved = m_cfg["output_dir"].get<std::string>() + "/evaluation/report.json";
        QVERIFY(std::filesystem::exists(saved));

        // The CLI on the same run gives the same rows.
        const char* cli = std::getenv("PEFT_CLI");
        QVERIFY2(cli, "PEFT_CLI is not set");
        const QString out = m_dir.filePath(QStringLiteral("cli.json"));
        const QString cmd =
            QStringLiteral("%1 evaluate --run %2 --limit 6 --quiet --out %3 > %4 2>&1")
                .arg(QString::fromLocal8Bit(cli), QString::fromStdString(m_cfg["output_dir"].get<std::string>()), out,
                     m_dir.filePath(QStringLiteral("cli.log")));
        QCOMPARE(std::system(cmd.toLocal8Bit().constData()), 0);
        const peft::eval::EvalReport c = peft::eval::readReport(out.toStdString());
        QCOMPARE(c.rows.size(), r->rows.size());
        QCOMPARE(c.sides, r->sides);
        for (size_t i = 0; i < c.rows.size(); ++i) {
            QCOMPARE(c.rows[i].line, r->rows[i].line);
            QCOMPARE(c.rows[i].prompt, r->rows[i].prompt);
            QCOMPARE(c.rows[i].references, r->rows[i].references);
            QCOMPARE(c.rows[i].answers, r->rows[i].answers);
            for (const auto& side : c.sides)
                for (const auto& m : c.metrics)
                    QVERIFY(std::abs(c.rows[i].scores.at(side).at(m) - r->rows[i].scores.at(side).at(m)) < 1e-9);
            // ...and the table shows them (unsorted: row i is example i; columns #, line, prompt,
            // reference, base answer, tuned answer).
            QCOMPARE(page.rowsTable()->item(int(i), 4)->toolTip(),
                     QString::fromStdString(c.rows[i].answers.at("base")));
            QCOMPARE(page.rowsTable()->item(int(i), 5)->toolTip(),
                     QString::fromStdString(c.rows[i].answers.at("tuned")));
        }
        for (const auto& side : c.sides)
            for (const auto& m : c.metrics)
                QVERIFY(std::abs(c.aggregate.at(side).at(m) - r->aggregate.at(side).at(m)) < 1e-9);

        // Sorting by a score column keeps the numbers numeric.
        page.rowsTable()->sortItems(6 + 1, Qt::DescendingOrder);  // "em tuned"
        double prev = 1e9;
        for (int row = 0; row < 6; ++row) {
            const double v = page.rowsTable()->item(row, 7)->data(Qt::DisplayRole).toDouble();
            QVERIFY(v <= prev);
            prev = v;
        }

        // CSV export: the report's rows.
        const QString csv = m_dir.filePath(QStringLiteral("rows.csv"));
        QVERIFY(page.exportCsv(csv));
        std::ifstream in(csv.toStdString());
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        QCOMPARE(text, r->toCsv());

        // A new page on the same project shows the saved report.
        EvaluatePage again(&state);
        QVERIFY(again.loadRunReport());
        QCOMPARE(again.rowsTable()->rowCount(), 6);
    }

    void cancelStopsAndKeepsThePreviousResult() {
        ProjectState state;
        fill(state);
        EvaluatePage page(&state);
        QSignalSpy done(&page, &EvaluatePage::evaluationDone);
        page.evaluateValidation();  // every validation row
        page.cancelEvaluation();
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 300000);
        QTRY_VERIFY(!page.isEvaluating());
        QVERIFY(page.report() == nullptr);
        QCOMPARE(page.banner()->text().contains(QStringLiteral("cancelled")), true);
    }

    void runsPageShowsEvaluationColumns() {
        ProjectState state;
        fill(state);
        RunsPage runs(&state);
        runs.setWorkspace(m_dir.filePath(QStringLiteral("runs")));
        QCOMPARE(runs.runCount(), 1);
        QStringList headers;
        for (int c = 0; c < runs.runsTable()->columnCount(); ++c)
            headers << runs.runsTable()->horizontalHeaderItem(c)->text();
        QVERIFY2(headers.contains(QStringLiteral("eval rougeL")), qPrintable(headers.join(QStringLiteral(","))));
        const int col = headers.indexOf(QStringLiteral("eval rougeL"));
        const auto rep = peft::eval::readReport(m_cfg["output_dir"].get<std::string>() + "/evaluation/report.json");
        QCOMPARE(runs.runsTable()->item(0, col)->text(),
                 QString::number(rep.aggregate.at("tuned").at("rougeL"), 'f', 4));
    }
};

QTEST_MAIN(TstEvaluateTask)
#include "tst_evaluate_task.moc"
