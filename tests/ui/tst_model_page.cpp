// The Model page reads a real model folder (numbers checked against the weight file itself)
// and explains why a folder is refused.
#include <QtTest>

#include "core/io/safetensors.h"
#include "tests/ui/ui_test_util.h"
#include "ui/pages/model_page.h"
#include "ui/project_state.h"

using namespace peft::ui;

namespace {
qlonglong digits(const QString& s) {
    QString d;
    for (QChar c : s) {
        if (c.isDigit()) d += c;
        else if (c == QLatin1Char('(')) break;
    }
    return d.toLongLong();
}
}  // namespace

class TstModelPage : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QCoreApplication::setOrganizationName(QStringLiteral("peft-studio-test")); }

    void tinyLlamaSummary() {
        ProjectState state;
        ModelPage page(&state);
        QSignalSpy modelSpy(&state, &ProjectState::modelChanged);
        const QString dir = peft::uitest::fixture(QStringLiteral("tiny-llama/base"));
        QVERIFY(page.openFolder(dir));
        QCOMPARE(modelSpy.count(), 1);
        QVERIFY(!page.banner()->isVisibleTo(&page) || page.banner()->level() != ErrorBanner::Level::Error);
        QCOMPARE(page.fieldText("Layers"), QStringLiteral("2"));
        QCOMPARE(page.fieldText("Hidden size"), QStringLiteral("64"));
        QCOMPARE(page.fieldText("Heads"), QStringLiteral("4"));
        QVERIFY(page.fieldText("KV heads").startsWith(QStringLiteral("2")));
        QCOMPARE(digits(page.fieldText("Vocabulary")), 700);
        QVERIFY(page.fieldText("Family").contains(QStringLiteral("Llama")));
        QVERIFY(page.fieldText("Weight dtype").startsWith(QStringLiteral("F32")));
        // The parameter count from config.json must equal what the weight file holds.
        qlonglong inFile = 0;
        for (const auto& t : peft::st::readHeader((dir + "/model.safetensors").toStdString())) inFile += t.numel();
        QCOMPARE(digits(page.fieldText("Parameters")), inFile);
        QVERIFY(page.fieldText("Size on disk").contains(QStringLiteral("KB")));
        QCOMPARE(QString::fromStdString(state.runConfig()["model"].get<std::string>()), dir);
        QVERIFY(page.recentFolders().contains(dir));
    }
    void gpt2Summary() {
        ProjectState state;
        ModelPage page(&state);
        QVERIFY(page.openFolder(peft::uitest::fixture(QStringLiteral("tiny-gpt2/base"))));
        QVERIFY(page.fieldText("Family").contains(QStringLiteral("GPT-2")));
        QCOMPARE(page.fieldText("Tied embeddings"), QStringLiteral("yes"));
    }
    void nonModelFolderIsRefusedWithReason() {
        QTemporaryDir tmp;
        ProjectState state;
        ModelPage page(&state);
        QVERIFY(!page.openFolder(tmp.path()));
        QVERIFY(page.banner()->isVisibleTo(&page));
        QCOMPARE(page.banner()->level(), ErrorBanner::Level::Error);
        QVERIFY2(page.banner()->text().contains(QStringLiteral("config.json")), qPrintable(page.banner()->text()));
        QVERIFY(!state.model().has_value());
        QCOMPARE(page.fieldText("Layers"), QStringLiteral("—"));
    }
    void pickleOnlyFolderIsRefused() {
        QTemporaryDir tmp;
        QVERIFY(QFile::copy(peft::uitest::fixture("tiny-llama/base/config.json"), tmp.filePath("config.json")));
        QFile bin(tmp.filePath(QStringLiteral("pytorch_model.bin")));
        QVERIFY(bin.open(QIODevice::WriteOnly));
        bin.write("not really a pickle");
        bin.close();
        ProjectState state;
        ModelPage page(&state);
        QVERIFY(!page.openFolder(tmp.path()));
        QVERIFY2(page.banner()->text().contains(QStringLiteral("safetensors")), qPrintable(page.banner()->text()));
    }
    void unsupportedModelTypeNamesIt() {
        QTemporaryDir tmp;
        QFile cfg(tmp.filePath(QStringLiteral("config.json")));
        QVERIFY(cfg.open(QIODevice::WriteOnly));
        cfg.write(R"({"model_type": "bert", "hidden_size": 8})");
        cfg.close();
        ProjectState state;
        ModelPage page(&state);
        QVERIFY(!page.openFolder(tmp.path()));
        QVERIFY2(page.banner()->text().contains(QStringLiteral("bert")), qPrintable(page.banner()->text()));
    }
};

QTEST_MAIN(TstModelPage)
#include "tst_model_page.moc"
