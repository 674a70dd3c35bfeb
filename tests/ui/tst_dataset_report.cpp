// The Dataset page on core/data: the validation report lists rejected rows with their line
// numbers, the token-length histogram has its bars and the max_length cut, the rendered example
// shades the masked prompt, and the column mapping field reaches the run config and the import.
#include <QtTest>

#include <fstream>

#include "ui/background_task.h"

#include "ui/pages/dataset_page.h"
#include "ui/project_state.h"
#include "ui/widgets/error_banner.h"
#include "ui/widgets/qcp.h"
#include "ui_test_util.h"

using namespace peft::ui;

namespace {
void writeLines(const QString& path, const std::vector<std::string>& lines) {
    std::ofstream out(path.toStdString());
    for (const auto& l : lines) out << l << "\n";
}
// Waits for the page's import (it runs on a worker thread); its result.
bool waitImport(DatasetPage& page) {
    if (!page.isImporting()) return false;
    QSignalSpy spy(&page, &DatasetPage::importFinished);
    if (!spy.wait(60000)) return false;
    return spy.at(0).at(0).toBool();
}
// A text dataset big enough that importing it takes a while.
QString writeBig(const QTemporaryDir& dir, int rows) {
    const QString file = dir.filePath(QStringLiteral("big.jsonl"));
    std::ofstream out(file.toStdString());
    for (int i = 0; i < rows; ++i)
        out << nlohmann::json{{"instruction", "Question number " + std::to_string(i) + " about rivers and stones"},
                              {"output",
                               "An answer that is long enough to need a few tokens, row " + std::to_string(i)}}
                   .dump()
            << "\n";
    return file;
}
// The tiny-llama fixture with the plain template and `maxLength` tokens per row (0: the default).
void usePlainTinyLlama(ProjectState& state, int maxLength = 0) {
    state.setSection("model", peft::uitest::fixture(QStringLiteral("tiny-llama/base")).toStdString());
    nlohmann::json d = state.runConfig()["dataset"];
    d["template"] = "plain";
    if (maxLength > 0) d["max_length"] = maxLength;
    state.setSection("dataset", d);
}
}  // namespace

class TstDatasetReport : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void reportHistogramAndExample() {
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("d.jsonl"));
        std::vector<std::string> lines;
        for (int i = 0; i < 12; ++i) {
            std::string answer = "Answer";
            for (int k = 0; k < i * 4; ++k) answer += " word";
            lines.push_back(
                nlohmann::json{{"instruction", "Question " + std::to_string(i)}, {"output", answer}}.dump());
        }
        lines.insert(lines.begin() + 2, "{this is not json");
        writeLines(file, lines);
        ProjectState state;
        usePlainTinyLlama(state, 24);
        DatasetPage page(&state);
        QVERIFY2(page.openFile(file), qPrintable(page.banner()->text()));
        QVERIFY2(waitImport(page), qPrintable(page.banner()->text()));
        QCOMPARE(page.rejectionTable()->rowCount(), 1);
        QCOMPARE(page.rejectionTable()->item(0, 0)->text(), QStringLiteral("3"));
        QVERIFY(page.reportSummary()->text().contains(QStringLiteral("<b>13</b> rows read")));
        QVERIFY(page.reportSummary()->text().contains(QStringLiteral("truncated")));
        QCOMPARE(page.histogramPlot()->plottableCount(), 1);
        auto* bars = qobject_cast<QCPBars*>(page.histogramPlot()->plottable(0));
        QVERIFY(bars);
        double rows = 0;
        for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it) rows += it->value;
        QCOMPARE(rows, 12.0);
        QVERIFY(page.histogramPlot()->itemCount() >= 1);  // the max_length cut
        const QString html = page.exampleView()->toHtml();
        QVERIFY(html.contains(QStringLiteral("Question 0")));
        QVERIFY(html.contains(QStringLiteral("#e4e4e4")));  // the masked prompt is shaded
        QCOMPARE(page.previewTable()->rowCount(), 12);
    }

    void columnMappingReachesTheImport() {
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("m.jsonl"));
        std::vector<std::string> lines;
        for (int i = 0; i < 5; ++i)
            lines.push_back(
                nlohmann::json{{"prompt", "Q" + std::to_string(i)}, {"completion", "A" + std::to_string(i)}}.dump());
        writeLines(file, lines);
        ProjectState state;
        nlohmann::json d = state.runConfig()["dataset"];
        d["format"] = "instruction";
        d["template"] = "alpaca";
        state.setSection("dataset", d);
        DatasetPage page(&state);
        page.openFile(file);
        waitImport(page);
        // Without the mapping, every row lacks "instruction".
        QVERIFY(page.rejectionTable()->rowCount() == 5 || page.banner()->level() == ErrorBanner::Level::Error);
        auto* mapping = page.findChild<QLineEdit*>(QStringLiteral("columnMapping"));
        QVERIFY(mapping);
        mapping->setText(QStringLiteral("instruction=prompt, output=completion"));
        Q_EMIT mapping->editingFinished();
        QVERIFY(waitImport(page));
        const auto& cm = state.runConfig()["dataset"]["column_mapping"];
        QCOMPARE(QString::fromStdString(cm["instruction"].get<std::string>()), QStringLiteral("prompt"));
        QCOMPARE(QString::fromStdString(cm["output"].get<std::string>()), QStringLiteral("completion"));
        QCOMPARE(page.rejectionTable()->rowCount(), 0);
        QVERIFY(page.reportSummary()->text().contains(QStringLiteral("<b>5</b> accepted")));
        // A malformed mapping is explained, not applied.
        mapping->setText(QStringLiteral("instruction"));
        Q_EMIT mapping->editingFinished();
        QVERIFY(page.banner()->text().contains(QStringLiteral("field=column")));
    }

    void importDoesNotBlockTheGuiThread() {
        QTemporaryDir dir;
        const QString file = writeBig(dir, 40000);
        ProjectState state;
        usePlainTinyLlama(state);
        DatasetPage page(&state);
        waitImport(page);  // nothing to import yet
        QSignalSpy done(&page, &DatasetPage::importFinished);
        int ticks = 0;
        QTimer timer;
        connect(&timer, &QTimer::timeout, [&ticks] { ++ticks; });
        timer.start(2);
        QElapsedTimer t;
        t.start();
        QVERIFY(page.openFile(file));
        const qint64 returnedAfter = t.elapsed();
        QVERIFY(page.isImporting());
        QVERIFY(page.findChild<QPushButton*>(QStringLiteral("cancelImport"))->isVisibleTo(&page));
        QVERIFY(done.wait(120000));
        QCOMPARE(done.at(0).at(0).toBool(), true);
        const qint64 total = t.elapsed();
        // openFile returned at once and the event loop kept running while the worker imported.
        QVERIFY2(returnedAfter < total / 2, qPrintable(QStringLiteral("%1 of %2 ms").arg(returnedAfter).arg(total)));
        QVERIFY2(ticks >= 3, qPrintable(QStringLiteral("%1 timer ticks in %2 ms").arg(ticks).arg(total)));
        QVERIFY(page.reportSummary()->text().contains(QStringLiteral("<b>40000</b> rows read")));
        QVERIFY(!page.findChild<QPushButton*>(QStringLiteral("cancelImport"))->isVisibleTo(&page));
    }

    void cancelDropsTheImport() {
        QTemporaryDir dir;
        const QString file = writeBig(dir, 40000);
        ProjectState state;
        usePlainTinyLlama(state);
        DatasetPage page(&state);
        QSignalSpy done(&page, &DatasetPage::importFinished);
        QSignalSpy cancelled(page.importTask(), &BackgroundTask::cancelled);
        QVERIFY(page.openFile(file));
        QVERIFY(page.isImporting());
        page.findChild<QPushButton*>(QStringLiteral("cancelImport"))->click();
        QVERIFY(!page.isImporting());
        QCOMPARE(cancelled.count(), 1);
        QCOMPARE(done.count(), 1);
        QCOMPARE(done.at(0).at(0).toBool(), false);
        QVERIFY(page.reportSummary()->text().contains(QStringLiteral("cancelled")));
        // The dropped import never lands, even after the worker is done with it.
        QTest::qWait(1500);
        QCOMPARE(done.count(), 1);
        QCOMPARE(page.rejectionTable()->rowCount(), 0);
        QVERIFY(!page.reportSummary()->text().contains(QStringLiteral("rows read")));
        // And a new import still works.
        QVERIFY(page.openFile(file));
        QVERIFY(waitImport(page));
        QVERIFY(page.reportSummary()->text().contains(QStringLiteral("<b>40000</b> rows read")));
    }
};

QTEST_MAIN(TstDatasetReport)
#include "tst_dataset_report.moc"
