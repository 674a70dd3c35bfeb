// Runs page: "Refine carries the settings of the best run forward". The best run is chosen by the
// selected evaluation column (highest score of the latest task evaluation, or lowest eval loss),
// marked in the table, and Refine makes its settings the project (paths resolved as `train`
// resolves them) with a new output folder, never the old one.
#include <QtTest>

#include <QComboBox>
#include <QHeaderView>
#include <QSignalSpy>
#include <QTableWidget>

#include <fstream>

#include "ui/pages/runs_page.h"
#include "ui/project_state.h"
#include "ui/widgets/error_banner.h"
#include "ui_test_util.h"

using namespace peft::ui;
using nlohmann::json;

class TstRunsBest : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString ws() const { return m_dir.filePath(QStringLiteral("runs")); }

    static void writeText(const QString& path, const std::string& text) {
        QDir().mkpath(QFileInfo(path).path());
        std::ofstream(path.toStdString()) << text;
    }

    // One run folder: run.json (LoRA rank r), metrics.jsonl with an eval loss, and optionally a
    // task evaluation whose tuned side scored `em` and `rougeL` (the base side scores higher on
    // purpose: the tuned side is what counts).
    void makeRun(const QString& name, int r, double evalLoss, const json& tuned, const std::string& datasetPath) {
        const QString dir = QDir(ws()).filePath(name);
        const json cfg = {
            {"model", peft::uitest::fixture(QStringLiteral("tiny-llama/base")).toStdString()},
            {"dataset", {{"path", datasetPath}, {"format", "instruction"}}},
            {"method",
             {{"peft_type", "LORA"}, {"r", r}, {"lora_alpha", 2 * r}, {"target_modules", {"q_proj", "v_proj"}}}},
            {"training", {{"max_steps", 10 * r}, {"lr", 1e-3}}},
            {"output_dir", QDir(dir).absolutePath().toStdString()}};
        writeText(QDir(dir).filePath(QStringLiteral("run.json")), cfg.dump(2));
        writeText(QDir(dir).filePath(QStringLiteral("metrics.jsonl")),
                  json{{"step", 1}, {"loss", 2.0}}.dump() + "\n" +
                      json{{"step", 2}, {"loss", 1.5}, {"eval_loss", evalLoss}}.dump() + "\n");
        if (!tuned.is_null()) {
            const json rep = {{"sides", {"base", "tuned"}},
                              {"metrics", {"em", "rougeL"}},
                              {"aggregate", {{"base", {{"em", 0.99}, {"rougeL", 0.99}}}, {"tuned", tuned}}},
                              {"rows", json::array()}};
            writeText(QDir(dir).filePath(QStringLiteral("evaluation/report.json")), rep.dump(2));
        }
    }

    static int rowOf(RunsPage& page, const QString& name) {
        for (int row = 0; row < page.runsTable()->rowCount(); ++row)
            if (page.runsTable()->item(row, 0)->text() == name) return row;
        return -1;
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        writeText(m_dir.filePath(QStringLiteral("runs/data.jsonl")),
                  "{\"instruction\": \"Say hi\", \"output\": \"hi\"}\n");
        const std::string data = QDir(ws()).filePath(QStringLiteral("data.jsonl")).toStdString();
        makeRun(QStringLiteral("alpha"), 4, 1.0, {{"em", 0.2}, {"rougeL", 0.7}}, data);
        makeRun(QStringLiteral("beta"), 8, 1.5, {{"em", 0.6}, {"rougeL", 0.4}},
                "../data.jsonl");                                 // relative: beside the run
        makeRun(QStringLiteral("gamma"), 16, 0.8, json(), data);  // no task evaluation, the lowest eval loss
    }

    void bestByEachColumn() {
        ProjectState state;
        RunsPage page(&state);
        page.setWorkspace(ws());
        QCOMPARE(page.runCount(), 3);
        // Registry order: em before rougeL; the eval loss last.
        QCOMPARE(page.bestByBox()->count(), 3);
        QCOMPARE(page.bestBy(), QStringLiteral("em"));
        QCOMPARE(page.bestByBox()->itemData(2).toString(), QStringLiteral("eval_loss"));
        QCOMPARE(page.bestRunRow(QStringLiteral("em")), rowOf(page, QStringLiteral("beta")));
        QCOMPARE(page.bestRunRow(QStringLiteral("rougeL")), rowOf(page, QStringLiteral("alpha")));
        QCOMPARE(page.bestRunRow(QStringLiteral("eval_loss")), rowOf(page, QStringLiteral("gamma")));
        QCOMPARE(page.bestRunRow(QStringLiteral("chrf")), -1);  // no run has it
        // The best run's name is bold; the others are not.
        QVERIFY(page.runsTable()->item(rowOf(page, QStringLiteral("beta")), 0)->font().bold());
        QVERIFY(!page.runsTable()->item(rowOf(page, QStringLiteral("alpha")), 0)->font().bold());
        // Clicking an eval column's header chooses that number.
        int rougeCol = -1;
        for (int c = 0; c < page.runsTable()->columnCount(); ++c)
            if (page.runsTable()->horizontalHeaderItem(c)->text() == QStringLiteral("eval rougeL")) rougeCol = c;
        QVERIFY(rougeCol >= 0);
        Q_EMIT page.runsTable()->horizontalHeader()->sectionClicked(rougeCol);
        QCOMPARE(page.bestBy(), QStringLiteral("rougeL"));
        QVERIFY(page.runsTable()->item(rowOf(page, QStringLiteral("alpha")), 0)->font().bold());
        QVERIFY(!page.runsTable()->item(rowOf(page, QStringLiteral("beta")), 0)->font().bold());
        // The choice survives a rescan.
        page.rescan();
        QCOMPARE(page.bestBy(), QStringLiteral("rougeL"));
    }

    void refineCarriesTheBestRunForward() {
        ProjectState state;
        RunsPage page(&state);
        page.setWorkspace(ws());
        QSignalSpy refined(&page, &RunsPage::refined);
        QSignalSpy replaced(&state, &ProjectState::projectReplaced);
        QVERIFY(page.refineBest());  // by em: beta
        QCOMPARE(refined.count(), 1);
        QCOMPARE(replaced.count(), 1);
        const json& c = state.runConfig();
        QCOMPARE(c["method"]["r"].get<int>(), 8);
        QCOMPARE(c["training"]["max_steps"].get<int>(), 80);
        // beta's relative dataset path resolves beside its run folder, as `train --config` reads it.
        QCOMPARE(QFileInfo(QString::fromStdString(c["dataset"]["path"].get<std::string>())).canonicalFilePath(),
                 QFileInfo(QDir(ws()).filePath(QStringLiteral("data.jsonl"))).canonicalFilePath());
        const QString out = QString::fromStdString(c["output_dir"].get<std::string>());
        QCOMPARE(QFileInfo(out).fileName(), QStringLiteral("beta-refine"));
        QVERIFY(!QFileInfo::exists(out));  // a new run: the best one is never overwritten
        QCOMPARE(page.runsTable()->currentRow(), rowOf(page, QStringLiteral("beta")));

        page.setBestBy(QStringLiteral("eval_loss"));
        QVERIFY(page.refineBest());
        QCOMPARE(state.runConfig()["method"]["r"].get<int>(), 16);
        QCOMPARE(QFileInfo(QString::fromStdString(state.runConfig()["output_dir"].get<std::string>())).fileName(),
                 QStringLiteral("gamma-refine"));
        QCOMPARE(refined.count(), 2);
    }

    void noRunWithTheNumberSaysWhatToDo() {
        QTemporaryDir empty;
        ProjectState state;
        RunsPage page(&state);
        page.setWorkspace(empty.path());
        QSignalSpy refined(&page, &RunsPage::refined);
        QVERIFY(!page.refineBest());
        QCOMPARE(refined.count(), 0);
        QVERIFY2(page.banner()->text().contains(QStringLiteral("train one first")), qPrintable(page.banner()->text()));
        // Runs without any evaluation: the eval loss is the only choice, and a run without it is skipped.
        const QString dir = QDir(empty.path()).filePath(QStringLiteral("plain"));
        writeText(QDir(dir).filePath(QStringLiteral("run.json")),
                  json{{"model", "m"}, {"output_dir", dir.toStdString()}}.dump());
        writeText(QDir(dir).filePath(QStringLiteral("metrics.jsonl")), json{{"step", 1}, {"loss", 2.0}}.dump() + "\n");
        page.rescan();
        QCOMPARE(page.bestByBox()->count(), 1);
        QVERIFY(!page.refineBest());
        QVERIFY2(page.banner()->text().contains(QStringLiteral("Evaluate")), qPrintable(page.banner()->text()));
    }
};

QTEST_MAIN(TstRunsBest)
#include "tst_runs_best.moc"
