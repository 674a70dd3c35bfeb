// The Hub on the Model and Dataset pages, against the local Hub of tests/core/hub_server.py: the
// cache list (size, architecture, supported or why not), a download with progress that opens the
// model, Cancel, a dataset download that imports its Parquet file; and the workspace folder.
#include <QtTest>

#include <QComboBox>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QTreeWidget>

#include "tests/ui/ui_test_util.h"
#include "ui/background_task.h"
#include "ui/pages/dataset_page.h"
#include "ui/pages/model_page.h"
#include "ui/project_state.h"
#include "ui/widgets/hub_download_box.h"
#include "ui/workspace.h"

using namespace peft::ui;

class TstHubPages : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_tmp;
    QProcess m_server;

    QString source(const QString& rel) const { return peft::uitest::sourcePath(rel); }

private Q_SLOTS:
    void initTestCase() {
        QCoreApplication::setOrganizationName(QStringLiteral("peft-studio-test-hub"));
        QSettings().clear();
        const QString ports = m_tmp.filePath(QStringLiteral("ports"));
        m_server.start(
            QStringLiteral("python3"),
            {source(QStringLiteral("tests/core/hub_server.py")), QStringLiteral("--model-dir"),
             peft::uitest::fixture(QStringLiteral("tiny-llama/base")), QStringLiteral("--dataset-dir"),
             source(QStringLiteral("tests/core/data/parquet")), QStringLiteral("--token"),
             QStringLiteral("hf_uiTestToken"), QStringLiteral("--port-file"), ports, QStringLiteral("--log"),
             m_tmp.filePath(QStringLiteral("requests.jsonl")), QStringLiteral("--lifetime"), QStringLiteral("300")});
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(ports), 10000);
        QFile f(ports);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const int hubPort = QString::fromLatin1(f.readAll()).split(QLatin1Char(' ')).value(0).toInt();
        QVERIFY(hubPort > 0);
        qputenv("HF_ENDPOINT", QStringLiteral("http://127.0.0.1:%1").arg(hubPort).toUtf8());
        qputenv("HF_HUB_CACHE", m_tmp.filePath(QStringLiteral("cache")).toUtf8());
        qputenv("HF_HOME", m_tmp.filePath(QStringLiteral("hf_home")).toUtf8());
        qunsetenv("HF_TOKEN");
        qunsetenv("HF_HUB_OFFLINE");
    }
    void cleanupTestCase() {
        m_server.kill();
        m_server.waitForFinished(5000);
    }

    void downloadOpensTheModelAndListsIt() {
        ProjectState state;
        ModelPage page(&state);
        QCOMPARE(page.cachedModels()->topLevelItemCount(), 0);
        QSignalSpy done(page.hubBox(), &HubDownloadBox::downloaded);
        QSignalSpy progress(page.hubBox()->task(), &BackgroundTask::progress);
        QVERIFY(page.hubBox()->startDownload(QStringLiteral("peft-test/tiny-llama")));
        QVERIFY(page.hubBox()->isDownloading());
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 60000);
        QVERIFY(progress.count() > 0);
        // The last progress line has bytes, speed and ETA.
        const QString last = progress.last().at(0).toString();
        QVERIFY2(last.contains(QStringLiteral(" / ")) && last.contains(QStringLiteral("/s")) &&
                     last.contains(QStringLiteral("ETA")),
                 qPrintable(last));
        QCOMPARE(progress.last().at(1).toDouble(), 1.0);
        // The page opened the snapshot and lists the cached model as supported.
        const QString model = QString::fromStdString(state.runConfig()["model"].get<std::string>());
        QVERIFY2(model.contains(QStringLiteral("models--peft-test--tiny-llama/snapshots/")), qPrintable(model));
        QCOMPARE(page.fieldText("Layers"), QStringLiteral("2"));
        QCOMPARE(page.cachedModels()->topLevelItemCount(), 1);
        auto* item = page.cachedModels()->topLevelItem(0);
        QCOMPARE(item->text(0), QStringLiteral("peft-test/tiny-llama"));
        QCOMPARE(item->text(2), QStringLiteral("LlamaForCausalLM"));
        QCOMPARE(item->text(3), QStringLiteral("supported"));
    }

    void unsupportedCachedModelsSayWhy() {
        // A cached gemma2 next to the downloaded model.
        const QString snap = m_tmp.filePath(QStringLiteral("cache/models--google--gemma-2-2b/snapshots/") +
                                            QString(40, QLatin1Char('a')));
        QVERIFY(QDir().mkpath(snap));
        QFile cfg(snap + QStringLiteral("/config.json"));
        QVERIFY(cfg.open(QIODevice::WriteOnly));
        cfg.write(R"({"model_type": "gemma2", "architectures": ["Gemma2ForCausalLM"]})");
        cfg.close();
        ProjectState state;
        ModelPage page(&state);
        QCOMPARE(page.cachedModels()->topLevelItemCount(), 2);
        auto* gemma = page.cachedModels()->topLevelItem(0);
        QCOMPARE(gemma->text(0), QStringLiteral("google/gemma-2-2b"));
        QCOMPARE(gemma->text(3), QStringLiteral("not supported: gemma2: not supported yet"));
        // "Use selected" on it explains the refusal in the banner; the model is not set.
        page.cachedModels()->setCurrentItem(gemma);
        page.findChild<QPushButton*>(QStringLiteral("useCached"))->click();
        QVERIFY(!state.model());
        QVERIFY(page.banner()->text().contains(QStringLiteral("gemma2")));
    }

    void cancelStopsTheDownload() {
        ProjectState state;
        ModelPage page(&state);
        QSignalSpy cancelled(page.hubBox()->task(), &BackgroundTask::cancelled);
        QSignalSpy done(page.hubBox(), &HubDownloadBox::downloaded);
        // The gated repo without a token fails; the point here is the Cancel path, so cancel at once.
        QVERIFY(page.hubBox()->startDownload(QStringLiteral("peft-test/corrupt")));
        page.findChild<QPushButton*>(QStringLiteral("hubCancel"))->click();
        QCOMPARE(cancelled.count(), 1);
        QVERIFY(!page.hubBox()->isDownloading());
        QTest::qWait(300);
        QCOMPARE(done.count(), 0);
        QVERIFY(page.findChild<QPushButton*>(QStringLiteral("hubStart"))->isEnabled());
    }

    void gatedRepoFailureSaysWhatToDo() {
        ProjectState state;
        ModelPage page(&state);
        QSignalSpy failed(page.hubBox(), &HubDownloadBox::failed);
        QVERIFY(page.hubBox()->startDownload(QStringLiteral("peft-test/gated-llama")));
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 30000);
        const QString msg = failed.first().at(0).toString();
        QVERIFY2(msg.contains(QStringLiteral("HF_TOKEN")) && msg.contains(QStringLiteral("accept the licence")),
                 qPrintable(msg));
        QVERIFY(!page.hubBox()->startDownload(QStringLiteral("not a repo id")));
    }

    void datasetDownloadImportsItsParquet() {
        ProjectState state;
        DatasetPage page(&state);
        QSignalSpy done(page.hubBox(), &HubDownloadBox::downloaded);
        QSignalSpy imported(&page, &DatasetPage::importFinished);
        QVERIFY(page.hubBox()->startDownload(QStringLiteral("peft-test/chat")));
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, 60000);
        QVERIFY(page.hubFiles()->count() >= 17);
        QTRY_VERIFY_WITH_TIMEOUT(imported.count() >= 1, 60000);
        QCOMPARE(imported.last().at(0).toBool(), true);
        const std::string path = state.runConfig()["dataset"]["path"].get<std::string>();
        QVERIFY2(QString::fromStdString(path).contains(QStringLiteral("datasets--peft-test--chat/snapshots/")),
                 path.c_str());
        QVERIFY(QString::fromStdString(path).endsWith(QStringLiteral(".parquet")));
    }

    void workspaceIsRememberedAndHoldsNewRuns() {
        QSettings().remove(QStringLiteral("workspace/folder"));
        QVERIFY(!workspaceChosen());
        QVERIFY(defaultWorkspaceDir().endsWith(QStringLiteral("PEFT Studio")));
        {
            ProjectState state;
            QCOMPARE(QString::fromStdString(state.runConfig()["output_dir"].get<std::string>()),
                     QStringLiteral("runs/my-run"));
        }
        const QString ws = m_tmp.filePath(QStringLiteral("my workspace"));
        setWorkspaceDir(ws);
        QVERIFY(workspaceChosen());
        QVERIFY(QDir(ws).exists());
        QCOMPARE(workspaceDir(), ws);
        ProjectState state;
        QCOMPARE(QString::fromStdString(state.runConfig()["output_dir"].get<std::string>()),
                 ws + QStringLiteral("/runs/my-run"));
        QSettings().remove(QStringLiteral("workspace/folder"));
    }
};

QTEST_MAIN(TstHubPages)
#include "tst_hub_pages.moc"
