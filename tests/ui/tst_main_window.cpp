// The main window: every wizard step is reachable by sidebar, Next/Back and shortcuts; the
// demo and screenshot modes work; About names the versions.
#include <algorithm>
#include <QtTest>

#include <QAbstractButton>
#include <QComboBox>
#include <QGroupBox>
#include <QLabel>
#include <QRegularExpression>
#include <QMenuBar>
#include <QTabWidget>

#include "tests/ui/ui_test_util.h"
#include "ui/log_panel.h"
#include "ui/main_window.h"
#include "ui/pages/budget_page.h"
#include "ui/pages/evaluate_page.h"
#include "ui/pages/dataset_page.h"
#include "ui/pages/model_page.h"
#include "ui/pages/page.h"
#include "ui/pages/runs_page.h"
#include "ui/project_state.h"

#include <spdlog/spdlog.h>

using peft::ui::MainWindow;

class TstMainWindow : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void listsEveryStep() {
        MainWindow w;
        w.show();
        const QStringList steps = w.stepNames();
        QCOMPARE(steps.size(), 8);
        const QStringList expected = {"Dataset", "Model", "Method", "Budget", "Train", "Evaluate", "Export", "Runs"};
        for (int i = 0; i < 8; ++i) {
            QVERIFY2(steps[i].contains(expected[i]), qPrintable(steps[i]));
            QCOMPARE(w.page(i)->title(), expected[i]);
        }
    }
    void navigatesWithSidebarNextAndBack() {
        MainWindow w;
        w.show();
        for (int i = 0; i < 8; ++i) {
            w.goToStep(i);
            QCOMPARE(w.currentStep(), i);
            QVERIFY(w.page(i)->isVisible());
        }
        w.goToStep(0);
        for (int i = 1; i < 8; ++i) {
            w.next();
            QCOMPARE(w.currentStep(), i);
        }
        w.next();  // past the last step: stays
        QCOMPARE(w.currentStep(), 7);
        for (int i = 6; i >= 0; --i) {
            w.back();
            QCOMPARE(w.currentStep(), i);
        }
        w.back();
        QCOMPARE(w.currentStep(), 0);
    }
    void keyboardShortcutsMove() {
        MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QTest::keyClick(&w, Qt::Key_Right, Qt::AltModifier);
        QCOMPARE(w.currentStep(), 1);
        QTest::keyClick(&w, Qt::Key_5, Qt::ControlModifier);
        QCOMPARE(w.currentStep(), 4);
        QTest::keyClick(&w, Qt::Key_Left, Qt::AltModifier);
        QCOMPARE(w.currentStep(), 3);
    }
    void missingDemoIsExplainedInThePages() {
        MainWindow w;
        w.show();
        w.openDemo(QStringLiteral("/nonexistent/demo-folder"));
        QVERIFY(!w.modelPage()->banner()->isHidden());
        QVERIFY(w.modelPage()->banner()->text().contains(QStringLiteral("/nonexistent/demo-folder")));
        QVERIFY(!w.datasetPage()->banner()->isHidden());
    }
    void demoFolderOpensModelAndDataset() {
        // A demo-shaped folder: model/ (the tiny Llama's files) and data/train.jsonl.
        QTemporaryDir tmp;
        QDir d(tmp.path());
        d.mkpath(QStringLiteral("model"));
        d.mkpath(QStringLiteral("data"));
        for (const QString& f : {"config.json", "model.safetensors", "tokenizer.json"})
            QVERIFY(QFile::copy(peft::uitest::fixture("tiny-llama/base/" + f), d.filePath("model/" + f)));
        QFile data(d.filePath(QStringLiteral("data/train.jsonl")));
        QVERIFY(data.open(QIODevice::WriteOnly));
        data.write(
            "{\"instruction\": \"Say hi\", \"output\": \"hi\"}\n{\"instruction\": \"Say yo\", \"output\": \"yo\"}\n");
        data.close();
        MainWindow w;
        w.show();
        w.openDemo(tmp.path());
        QVERIFY(w.projectState()->model().has_value());
        QCOMPARE(w.projectState()->model()->numLayers, 2);
        QCOMPARE(QString::fromStdString(w.projectState()->runConfig()["dataset"]["path"].get<std::string>()),
                 d.filePath(QStringLiteral("data/train.jsonl")));
        // The import runs on a worker thread.
        if (w.datasetPage()->isImporting()) {
            QSignalSpy imported(w.datasetPage(), &peft::ui::DatasetPage::importFinished);
            QVERIFY(imported.wait(60000));
        }
        QCOMPARE(w.datasetPage()->previewTable()->rowCount(), 2);
    }
    void bundledDemoOpensOnItsRunSettings() {
        // resources/demo/run.json (full fine-tuning, max_length 160) is what the demo opens on; the
        // Budget step starts with that run plus the standard comparison set and says why; the Runs
        // page offers the demo's ready runs.
        const QString demo = peft::uitest::sourcePath(QStringLiteral("resources/demo"));
        QVERIFY(QFileInfo::exists(demo + QStringLiteral("/run.json")));
        MainWindow w;
        w.show();
        w.openDemo(demo);
        const auto& cfg = w.projectState()->runConfig();
        QCOMPARE(cfg["dataset"]["max_length"].get<int>(), 160);
        QCOMPARE(QString::fromStdString(cfg["dataset"]["path"].get<std::string>()),
                 QFileInfo(demo + QStringLiteral("/dataset.jsonl")).absoluteFilePath());
        QCOMPARE(cfg["method"]["peft_type"].get<std::string>(), std::string("FULL"));
        QVERIFY(w.budgetPage()->candidates().size() >= 5);
        QVERIFY(w.budgetPage()->note().contains(QStringLiteral("held-out")));
        QVERIFY(w.runsPage()->readyRunsBox()->count() >= 2);
        QCOMPARE(peft::ui::stripCandidateKeys(w.budgetPage()->candidates().front()), cfg["method"]);
        if (w.datasetPage()->isImporting()) {
            QSignalSpy imported(w.datasetPage(), &peft::ui::DatasetPage::importFinished);
            QVERIFY(imported.wait(60000));
        }
        QCOMPARE(w.datasetPage()->previewTable()->rowCount() > 0, true);
        // The playground wraps a typed prompt in the demo tokenizer's ChatML template, as training did;
        // a plain-text dataset gets the prompt as typed.
        QCOMPARE(QString::fromStdString(peft::ui::playgroundPrompt(cfg, "Which book?")),
                 QStringLiteral("<|im_start|>user\nWhich book?<|im_end|>\n<|im_start|>assistant\n"));
        nlohmann::json text = cfg;
        text["dataset"]["format"] = "text";
        QCOMPARE(QString::fromStdString(peft::ui::playgroundPrompt(text, "Which book?")),
                 QStringLiteral("Which book?"));
    }
    void readyRunLoadsIntoTheProjectAndAsksToTrain() {
        // The demo's LoRA config, chosen on the Runs page: its settings (paths resolved beside the
        // config) become the project's, its output goes to the workspace, and training is requested.
        const QString demo = peft::uitest::sourcePath(QStringLiteral("resources/demo"));
        QTemporaryDir ws;
        peft::ui::ProjectState state;
        peft::ui::RunsPage page(&state);
        page.setWorkspace(ws.path());
        page.setReadyRuns({demo + QStringLiteral("/run.json"), demo + QStringLiteral("/configs/lora.json")},
                          QStringLiteral("why"));
        QCOMPARE(page.readyRunsBox()->count(), 2);
        QVERIFY(page.readyRunsBox()->itemText(1).contains(QStringLiteral("LoRA")));
        page.readyRunsBox()->setCurrentIndex(1);
        QSignalSpy chosen(&page, &peft::ui::RunsPage::readyRunChosen);
        page.trainReadyRun();
        QCOMPARE(chosen.count(), 1);
        const auto& cfg = state.runConfig();
        QCOMPARE(cfg["method"]["peft_type"].get<std::string>(), std::string("LORA"));
        QVERIFY(QFileInfo(QString::fromStdString(cfg["model"].get<std::string>()) + QStringLiteral("/config.json"))
                    .exists());
        QVERIFY(QFileInfo::exists(QString::fromStdString(cfg["dataset"]["path"].get<std::string>())));
        QCOMPARE(QString::fromStdString(cfg["output_dir"].get<std::string>()),
                 QFileInfo(ws.path() + QStringLiteral("/demo-lora")).absoluteFilePath());
        // A finished run in the workspace shows its training time beside its losses (the cost).
        QDir(ws.path()).mkpath(QStringLiteral("done"));
        QFile rj(ws.path() + QStringLiteral("/done/run.json"));
        QVERIFY(rj.open(QIODevice::WriteOnly));
        rj.write(R"({"method": {"peft_type": "FULL"}})");
        rj.close();
        QFile mj(ws.path() + QStringLiteral("/done/metrics.jsonl"));
        QVERIFY(mj.open(QIODevice::WriteOnly));
        mj.write(
            "{\"step\": 1, \"loss\": 2.5, \"elapsed_s\": 0.4}\n{\"step\": 2, \"loss\": 2.0, \"elapsed_s\": 34.6}\n");
        mj.close();
        page.rescan();
        QCOMPARE(page.runsTable()->rowCount(), 1);
        QCOMPARE(page.runsTable()->horizontalHeaderItem(6)->text(), QStringLiteral("Train time"));
        QCOMPARE(page.runsTable()->item(0, 6)->text(), QStringLiteral("35 s"));
    }
    void screenshotsEveryPage() {
        QTemporaryDir tmp;
        MainWindow w;
        w.show();
        const QStringList files = w.saveScreenshots(tmp.path());
        QCOMPARE(files.size(), 8);
        for (const QString& f : files) {
            QImage img(f);
            QVERIFY2(!img.isNull(), qPrintable(f));
            QVERIFY(img.width() >= 1000);
        }
    }
    void noTwoMnemonicsClashOnAPage() {
        // Alt+letter must reach one control: on each page, the visible labels' buddies, buttons,
        // check boxes, group boxes and tabs, the window's Back/Next and the menu titles have
        // different underlined letters (a clash makes Alt+letter cycle between them instead).
        MainWindow w;
        w.show();
        w.openDemo(peft::uitest::fixture(QStringLiteral("tiny-llama/base")));
        auto letter = [](QString text) -> QChar {
            text.replace(QStringLiteral("&&"), QString());
            const int i = text.indexOf(QLatin1Char('&'));
            return i >= 0 && i + 1 < text.size() ? text.at(i + 1).toLower() : QChar();
        };
        QStringList clashes, stray;
        for (int step = 0; step < int(w.stepCount()); ++step) {
            w.goToStep(step);
            QMap<QChar, QStringList> owners;
            for (QAction* a : w.menuBar()->actions()) owners[letter(a->text())] << a->text();
            for (QWidget* wd : w.findChildren<QWidget*>()) {
                if (!wd->isVisible()) continue;
                QString text;
                if (auto* l = qobject_cast<QLabel*>(wd); l && !l->buddy()) {
                    // Without a buddy a label shows its '&' as is: "T&ype:" on screen.
                    QString t = l->text();
                    t.remove(QRegularExpression(QStringLiteral("&[A-Za-z#0-9]+;")));  // HTML entities
                    t.replace(QStringLiteral("&&"), QString());
                    if (QRegularExpression(QStringLiteral("&\\w")).match(t).hasMatch())
                        stray << QStringLiteral("step %1: '%2'").arg(step).arg(l->text());
                }
                if (auto* l = qobject_cast<QLabel*>(wd); l && l->buddy()) text = l->text();
                else if (auto* b = qobject_cast<QAbstractButton*>(wd)) text = b->text();
                else if (auto* g = qobject_cast<QGroupBox*>(wd)) text = g->title();
                else if (auto* t = qobject_cast<QTabWidget*>(wd))
                    for (int i = 0; i < t->count(); ++i) owners[letter(t->tabText(i))] << t->tabText(i);
                if (!text.isEmpty()) owners[letter(text)] << text;
            }
            owners.remove(QChar());
            for (auto it = owners.cbegin(); it != owners.cend(); ++it)
                if (it.value().size() > 1)
                    clashes << QStringLiteral("step %1 '%2': %3")
                                   .arg(step)
                                   .arg(it.key())
                                   .arg(it.value().join(QStringLiteral(" | ")));
        }
        QVERIFY2(clashes.isEmpty(), qPrintable(clashes.join(QLatin1Char('\n'))));
        QVERIFY2(stray.isEmpty(),
                 qPrintable(QStringLiteral("labels with a mnemonic but no buddy:\n") + stray.join(QLatin1Char('\n'))));
    }

    void logPanelShowsSpdlogLines() {
        MainWindow w;
        const int before = w.logPanel()->lineCount();
        spdlog::info("hello from the test");
        QTRY_VERIFY(w.logPanel()->lineCount() > before);
        QVERIFY(w.logPanel()->toPlainText().contains(QStringLiteral("hello from the test")));
    }
    void aboutNamesVersions() {
        const QString t = peft::ui::aboutText();
        QVERIFY(t.contains(QStringLiteral("LibTorch")));
        QVERIFY(t.contains(QStringLiteral("BLAS")));
    }
};

QTEST_MAIN(TstMainWindow)
#include "tst_main_window.moc"
