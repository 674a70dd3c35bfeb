// Exporting a finished run folder (no training here): a full fine-tuning run's README card and
// Python snippet load the whole model it wrote; an adapter run's load the base and the adapter
// with peft. The Export page names its first checkbox after what the run's method writes.
#include <QtTest>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/util/atomic_file.h"
#include "ui/pages/export_page.h"
#include "ui/project_state.h"
#include "ui/run_export.h"

using namespace peft::ui;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A finished run in `dir`: run.json (base model /models/base), one metrics line, and adapter/
// holding the named files.
std::string fakeRun(const QTemporaryDir& dir, const json& method, const std::vector<std::string>& adapterFiles) {
    const fs::path run = fs::path(dir.path().toStdString()) / "run";
    fs::create_directories(run / "adapter");
    for (const std::string& f : adapterFiles) std::ofstream(run / "adapter" / f) << "{}";
    peft::writeFileAtomic((run / "run.json").string(), json{{"model", "/models/base"}, {"method", method}}.dump());
    peft::writeFileAtomic((run / "metrics.jsonl").string(), "{\"step\": 3, \"loss\": 1.5}\n");
    return run.string();
}

// The README card an export of `runDir` (adapter copied, report written) writes.
QString exportedCard(const std::string& runDir, const QTemporaryDir& dir) {
    ExportRequest req;
    req.runDir = runDir;
    req.outDir = dir.filePath(QStringLiteral("export")).toStdString();
    const ExportResult r = exportRun(req);
    QFile f(QString::fromStdString(r.reportDir + "/README.md"));
    return f.open(QIODevice::ReadOnly) ? QString::fromUtf8(f.readAll()) : QString();
}

}  // namespace

class TstRunExport : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void fullFineTuningCardLoadsTheWholeModel() {
        QTemporaryDir dir;
        const QString card =
            exportedCard(fakeRun(dir, {{"peft_type", "FULL"}}, {"config.json", "model.safetensors"}), dir);
        QVERIFY2(card.startsWith(QStringLiteral("# Full fine-tune of `base`")), qPrintable(card));
        QVERIFY2(card.contains(QStringLiteral("model = AutoModelForCausalLM.from_pretrained(\"../adapter\")")),
                 qPrintable(card));
        QVERIFY2(!card.contains(QStringLiteral("PeftModel")), qPrintable(card));
    }
    void adapterCardLoadsTheBaseAndTheAdapter() {
        QTemporaryDir dir;
        const json lora = {{"peft_type", "LORA"}, {"r", 4}};
        const QString card =
            exportedCard(fakeRun(dir, lora, {"adapter_config.json", "adapter_model.safetensors"}), dir);
        QVERIFY2(card.startsWith(QStringLiteral("# LORA adapter for `base`")), qPrintable(card));
        QVERIFY2(card.contains(QStringLiteral("base = AutoModelForCausalLM.from_pretrained(\"/models/base\")")),
                 qPrintable(card));
        QVERIFY2(card.contains(QStringLiteral("model = PeftModel.from_pretrained(base, \"../adapter\")")),
                 qPrintable(card));
    }
    void exportPageNamesWhatTheRunWrites() {
        ProjectState state;
        ExportPage page(&state);
        auto* adapter = page.findChild<QCheckBox*>(QStringLiteral("exportAdapter"));
        QVERIFY(adapter);
        state.setSection("method", {{"peft_type", "FULL"}});
        QVERIFY2(adapter->text().contains(QStringLiteral("whole fine-tuned model")), qPrintable(adapter->text()));
        QVERIFY(page.pythonSnippet().contains(QStringLiteral("model = AutoModelForCausalLM.from_pretrained(")));
        QVERIFY(!page.pythonSnippet().contains(QStringLiteral("PeftModel")));
        state.setSection("method", {{"peft_type", "LORA"}, {"r", 4}});
        QVERIFY2(adapter->text().contains(QStringLiteral("peft layout")), qPrintable(adapter->text()));
        QVERIFY(page.pythonSnippet().contains(QStringLiteral("PeftModel.from_pretrained(base, ")));
    }
};

QTEST_MAIN(TstRunExport)
#include "tst_run_export.moc"
