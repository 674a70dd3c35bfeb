// The main window opens, lists every wizard step, and navigates between them.
#include <QtTest>

#include "ui/main_window.h"

class TstMainWindow : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void listsEveryStep() {
        peft::ui::MainWindow w;
        w.show();
        const QStringList steps = w.stepNames();
        QCOMPARE(steps.size(), 8);
        QVERIFY(steps.first().contains(QStringLiteral("Dataset")));
        QVERIFY(steps.last().contains(QStringLiteral("Runs")));
    }
    void navigates() {
        peft::ui::MainWindow w;
        w.show();
        for (int i = 0; i < 8; ++i) {
            w.goToStep(i);
            QCOMPARE(w.currentStep(), i);
        }
    }
    void aboutNamesVersions() {
        const QString t = peft::ui::aboutText();
        QVERIFY(t.contains(QStringLiteral("LibTorch")));
        QVERIFY(t.contains(QStringLiteral("BLAS")));
    }
};

QTEST_MAIN(TstMainWindow)
#include "tst_main_window.moc"
