// .peftproj files: a saved project reopens with the same run config and UI state, in a fresh
// window; bad files are refused with the file and the key named.
#include <QtTest>

#include "core/util/atomic_file.h"
#include "tests/ui/ui_test_util.h"
#include "ui/main_window.h"
#include "ui/pages/method_page.h"
#include "ui/pages/page.h"
#include "ui/project_state.h"
#include "ui/widgets/target_module_picker.h"

using namespace peft::ui;
using nlohmann::json;

namespace {

// A version-1 project file in `tmp` holding `runConfig`; returns its path.
QString projectWith(const QTemporaryDir& tmp, const json& runConfig) {
    const QString file = tmp.filePath(QStringLiteral("p.peftproj"));
    peft::writeFileAtomic(file.toStdString(),
                          json{{"format", "peftproj"}, {"version", 1}, {"run_config", runConfig}}.dump());
    return file;
}

// The message of the exception that loading `file` throws; empty when it loads.
QString loadError(const QString& file) {
    try {
        ProjectState().load(file);
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

}  // namespace

class TstProject : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QCoreApplication::setOrganizationName(QStringLiteral("peft-studio-test")); }

    void roundTripThroughTheWindow() {
        QTemporaryDir tmp;
        const QString file = tmp.filePath(QStringLiteral("my.peftproj"));
        const QString model = peft::uitest::fixture(QStringLiteral("tiny-llama/base"));
        json saved;
        {
            MainWindow w;
            w.show();
            w.openDemo(model);  // a bare model folder works as a demo folder too
            w.methodPage()->selectMethod(QStringLiteral("dora"));
            w.methodPage()->setParam("r", 16);
            w.methodPage()->picker()->applyPreset(QStringLiteral("attention"));
            json training = w.projectState()->runConfig()["training"];
            training["lr"] = 5e-4;
            training["epochs"] = 3;
            w.projectState()->setSection("training", training);
            w.goToStep(2);
            QVERIFY(w.projectState()->isDirty());
            QVERIFY(w.saveProjectAs(file));
            QVERIFY(!w.projectState()->isDirty());
            QVERIFY(w.windowTitle().contains(QStringLiteral("my.peftproj")));
            saved = w.projectState()->runConfig();
        }
        const json method = saved["method"];
        QCOMPARE(method["peft_type"], json("LORA"));
        QCOMPARE(method["use_dora"], json(true));
        QCOMPARE(method["r"], json(16));
        QCOMPARE(method["target_modules"], json({"q_proj", "k_proj", "v_proj", "o_proj"}));
        MainWindow w2;
        w2.show();
        QVERIFY(w2.openProject(file));
        QVERIFY2(w2.projectState()->runConfig() == saved,
                 (w2.projectState()->runConfig().dump() + "\n" + saved.dump()).c_str());
        QCOMPARE(w2.currentStep(), 2);
        QCOMPARE(w2.methodPage()->currentMethod(), QStringLiteral("dora"));
        QVERIFY(w2.projectState()->model().has_value());         // the model folder was reopened
        QCOMPARE(w2.methodPage()->picker()->checkedCount(), 8);  // 4 modules x 2 layers
        QCOMPARE(w2.methodPage()->methodConfig(), method);
    }
    void everyKeyThePagesWriteReopens() {
        // QLoRA (training.quantize_base), a column mapping (dataset.column_mapping) and every
        // training key the core reads (device, optimizer, packed_weights...) survive save + open.
        QTemporaryDir tmp;
        const QString file = tmp.filePath(QStringLiteral("qlora.peftproj"));
        json saved;
        {
            MainWindow w;
            w.show();
            w.openDemo(peft::uitest::fixture(QStringLiteral("tiny-llama/base")));
            w.methodPage()->selectMethod(QStringLiteral("qlora"));
            QCOMPARE(w.projectState()->runConfig()["training"]["quantize_base"], json(true));
            json dataset = w.projectState()->runConfig()["dataset"];
            dataset["column_mapping"] = {{"instruction", "prompt"}};
            w.projectState()->setSection("dataset", dataset);
            json training = w.projectState()->runConfig()["training"];
            training["device"] = "cpu";
            training["optimizer"] = "sgd";
            training["momentum"] = 0.5;
            training["log_every"] = 5;
            training["packed_weights"] = false;
            w.projectState()->setSection("training", training);
            QVERIFY(w.saveProjectAs(file));
            saved = w.projectState()->runConfig();
        }
        MainWindow w2;
        w2.show();
        QVERIFY(w2.openProject(file));
        QVERIFY2(w2.projectState()->runConfig() == saved,
                 (w2.projectState()->runConfig().dump() + "\n" + saved.dump()).c_str());
        QCOMPARE(w2.methodPage()->currentMethod(), QStringLiteral("qlora"));
    }
    void missingKeysTakeDefaults() {
        QTemporaryDir tmp;
        ProjectState s;
        s.load(projectWith(tmp, {{"training", {{"lr", 0.01}}}}));
        QCOMPARE(s.runConfig()["training"]["lr"], json(0.01));
        QCOMPARE(s.runConfig()["training"]["batch_size"], json(4));
        QCOMPARE(s.runConfig()["dataset"]["max_length"], json(512));
    }
    void unknownKeyIsNamed() {
        QTemporaryDir tmp;
        const QString file = projectWith(tmp, {{"training", {{"learning_rate", 0.01}}}});
        const QString msg = loadError(file);
        QVERIFY2(msg.contains(QStringLiteral("training.learning_rate")), qPrintable(msg));
        QVERIFY2(msg.contains(file), qPrintable(msg));
    }
    void wrongTypeIsNamed() {
        QTemporaryDir tmp;
        const QString msg = loadError(projectWith(tmp, {{"dataset", {{"max_length", "long"}}}}));
        QVERIFY2(msg.contains(QStringLiteral("dataset.max_length")), qPrintable(msg));
    }
    void badFileShowsInThePageNotACrash() {
        QTemporaryDir tmp;
        const QString file = tmp.filePath(QStringLiteral("broken.peftproj"));
        peft::writeFileAtomic(file.toStdString(), "{\n  \"format\": \"peftproj\",\n  oops\n}");
        MainWindow w;
        w.show();
        QVERIFY(!w.openProject(file));
        Page* p = w.page(w.currentStep());
        QVERIFY(p->banner()->isVisibleTo(&w));
        QVERIFY2(p->banner()->text().contains(QStringLiteral("broken.peftproj:3")), qPrintable(p->banner()->text()));
    }
};

QTEST_MAIN(TstProject)
#include "tst_project.moc"
