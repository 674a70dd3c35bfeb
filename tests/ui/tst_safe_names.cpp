// Names typed by the user that become files or folders go through core/util/safe_name.h: the run
// name on the Train page, the run folder on the Export page and the project's file name.
#include <QtTest>

#include "core/util/safe_name.h"
#include "ui/main_window.h"
#include "ui/pages/export_page.h"
#include "ui/pages/train_page.h"
#include "ui/project_state.h"
#include "ui/safe_names.h"
#include "ui/training_controller.h"

using namespace peft::ui;

class TstSafeNames : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void checkTypedNameFollowsTheCore() {
        for (const char* typed : {"my-run", "../../etc/passwd", "a/b\\c", "CON", "x:y*z?", "name.", "ünïcode run"}) {
            const NameCheck c = checkTypedName(QString::fromUtf8(typed), QStringLiteral("run name"));
            QVERIFY(!c.refused);
            QCOMPARE(c.name.toStdString(), peft::safeFileName(typed));
            QVERIFY(peft::isSafeFileName(c.name.toStdString()));
            QCOMPARE(c.changed, c.name != QString::fromUtf8(typed));
            QCOMPARE(c.message.isEmpty(), !c.changed);
        }
        for (const char* typed : {"", "   ", "..", "...", ". ."}) {
            const NameCheck c = checkTypedName(QString::fromUtf8(typed), QStringLiteral("run name"));
            QVERIFY2(c.refused, typed);
            QVERIFY(c.name.isEmpty());
            QVERIFY(c.message.contains(QStringLiteral("run name")));
        }
    }

    void trainPageRunNameCannotLeaveTheWorkspace() {
        ProjectState state;
        state.setSection("output_dir", "work/runs/first");
        TrainingRunner runner{TrainJob{}};
        TrainPage page(&state, &runner);
        QCOMPARE(page.runNameEdit()->text(), QStringLiteral("first"));
        // A plain name: same workspace, new folder, no message.
        QCOMPARE(page.setRunName(QStringLiteral("second")), QStringLiteral("second"));
        QCOMPARE(QString::fromStdString(state.runConfig()["output_dir"].get<std::string>()),
                 QStringLiteral("work/runs/second"));
        // Traversal is flattened into one component of the same workspace, and said so.
        page.runNameEdit()->setText(QStringLiteral("../../etc/evil"));
        page.runNameEdit()->setModified(true);
        Q_EMIT page.runNameEdit()->editingFinished();
        const QString out = QString::fromStdString(state.runConfig()["output_dir"].get<std::string>());
        QCOMPARE(QFileInfo(out).path(), QStringLiteral("work/runs"));
        QCOMPARE(QFileInfo(out).fileName().toStdString(), peft::safeFileName("../../etc/evil"));
        QVERIFY(!out.split(QLatin1Char('/')).contains(QStringLiteral("..")));
        QCOMPARE(page.banner()->level(), ErrorBanner::Level::Warning);
        QVERIFY(page.banner()->text().contains(QString::fromStdString(peft::safeFileName("../../etc/evil"))));
        QCOMPARE(page.runNameEdit()->text().toStdString(), peft::safeFileName("../../etc/evil"));
        // Nothing usable: refused, the folder stays.
        page.setRunName(QStringLiteral(".."));
        QCOMPARE(QString::fromStdString(state.runConfig()["output_dir"].get<std::string>()), out);
        QCOMPARE(page.banner()->level(), ErrorBanner::Level::Error);
        QCOMPARE(page.runNameEdit()->text(), QFileInfo(out).fileName());
    }

    void exportRunFolderNameIsMadeSafe() {
        ProjectState state;
        state.setSection("output_dir", "runs/a");
        ExportPage page(&state);
        auto* edit = page.findChild<QLineEdit*>(QStringLiteral("outputDir"));
        QVERIFY(edit);
        edit->setText(QStringLiteral("runs/bad:name?"));
        Q_EMIT edit->editingFinished();
        QCOMPARE(QString::fromStdString(state.runConfig()["output_dir"].get<std::string>()),
                 QStringLiteral("runs/bad_name_"));
        edit->setText(QStringLiteral("runs/.."));
        Q_EMIT edit->editingFinished();
        QCOMPARE(QString::fromStdString(state.runConfig()["output_dir"].get<std::string>()),
                 QStringLiteral("runs/bad_name_"));
        QCOMPARE(page.banner()->level(), ErrorBanner::Level::Error);
    }

    void projectFileNameIsMadeSafe() {
        QTemporaryDir dir;
        MainWindow w;
        QVERIFY(w.saveProjectAs(dir.filePath(QStringLiteral("my:project?.peftproj"))));
        QVERIFY(QFileInfo::exists(dir.filePath(QStringLiteral("my_project_.peftproj"))));
        QVERIFY(!QFileInfo::exists(dir.filePath(QStringLiteral("my:project?.peftproj"))));
        QCOMPARE(w.projectState()->filePath(), dir.filePath(QStringLiteral("my_project_.peftproj")));
        QVERIFY(!w.saveProjectAs(dir.filePath(QStringLiteral("...peftproj"))));
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files).size(), 1);
    }
};

QTEST_MAIN(TstSafeNames)
#include "tst_safe_names.moc"
