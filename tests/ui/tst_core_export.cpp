// Evaluate and Export pages on a real run: a short LoRA run on the tiny-llama fixture, then
// the playground answers with the base model (adapter off) and the tuned model, the page shows
// the run's last evaluation, and Export writes an adapter that loads back with
// peft::loadAdapter, a merged model whose logits equal base+adapter, and a run report.
#include <QtTest>

#include <QComboBox>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>

#include <filesystem>
#include <fstream>

#include "core/model/generate.h"
#include "core/model/loader.h"
#include "core/peft/method.h"
#include "core/tokenizer/tokenizer.h"
#include "core/train/trainer.h"
#include "ui/pages/evaluate_page.h"
#include "core/export/gguf_export.h"
#include "ui/pages/export_page.h"
#include "ui/project_state.h"
#include "ui/run_export.h"
#include "ui/widgets/error_banner.h"
#include "ui_test_util.h"

using namespace peft::ui;

class TstCoreExport : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    nlohmann::json m_cfg;
    std::string m_model;

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_model = peft::uitest::fixture(QStringLiteral("tiny-llama/base")).toStdString();
        const QString data = m_dir.filePath(QStringLiteral("train.jsonl"));
        std::ofstream out(data.toStdString());
        for (int i = 0; i < 16; ++i)
            out << nlohmann::json{{"instruction", "Say the number " + std::to_string(i)},
                                  {"output", "Number " + std::to_string(i) + "."}}
                       .dump()
                << "\n";
        out.close();
        m_cfg = defaultRunConfig();
        m_cfg["model"] = m_model;
        m_cfg["dataset"]["path"] = data.toStdString();
        m_cfg["dataset"]["max_length"] = 64;
        m_cfg["dataset"]["template"] = "plain";
        m_cfg["dataset"]["validation_split"] = 0.25;
        m_cfg["method"]["r"] = 4;
        m_cfg["method"]["lora_dropout"] = 0.0;
        m_cfg["training"]["max_steps"] = 4;
        m_cfg["training"]["batch_size"] = 2;
        m_cfg["training"]["precision"] = "fp32";
        m_cfg["training"]["eval_every"] = 2;
        m_cfg["training"]["lr"] = 2e-2;
        m_cfg["training"]["device"] = "cpu";
        m_cfg["output_dir"] = m_dir.filePath(QStringLiteral("run")).toStdString();
        peft::Trainer trainer(peft::RunConfig::fromJson(m_cfg, "test"));
        trainer.setup();
        const peft::TrainResult r = trainer.run();
        QCOMPARE(int(r.status), int(peft::TrainStatus::Finished));
    }

    void evaluatePageAnswersWithAFullFineTuningRun() {
        // A full fine-tuning run writes a whole model folder where an adapter would be: the tuned
        // side answers with that model (here a copy of the base, so both answers match).
        const QString run = m_dir.filePath(QStringLiteral("full-run"));
        QDir().mkpath(run + QStringLiteral("/adapter"));
        for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"})
            QVERIFY(QFile::copy(QString::fromStdString(m_model) + QStringLiteral("/") + QLatin1String(f),
                                run + QStringLiteral("/adapter/") + QLatin1String(f)));
        ProjectState state;
        for (const char* k : {"model", "dataset", "training"}) state.setSection(k, m_cfg[k]);
        state.setSection("method", nlohmann::json{{"peft_type", "FULL"}});
        state.setSection("output_dir", run.toStdString());
        EvaluatePage page(&state);
        page.setPrompt(QStringLiteral("Say the number 3"));
        QSignalSpy done(&page, &EvaluatePage::generationDone);
        page.generate();
        QVERIFY(peft::uitest::endsWithoutError(done, 120000));
        QTRY_VERIFY(!page.isGenerating());
        QVERIFY2(!page.tunedText().contains(QStringLiteral("No trained adapter")), qPrintable(page.tunedText()));
        QCOMPARE(page.tunedText(), page.baseText());
    }

    void evaluatePageShowsMetricsAndComparesModels() {
        ProjectState state;
        peft::uitest::loadRun(state, m_cfg);
        // No template: the prompt goes to the models as typed (compared with generateText below).
        nlohmann::json d = m_cfg["dataset"];
        d["template"] = "auto";
        state.setSection("dataset", d);
        EvaluatePage page(&state);
        QVERIFY(page.loadRunMetrics());
        const nlohmann::json fm = finalMetrics(m_cfg["output_dir"].get<std::string>());
        QVERIFY(fm.contains("eval_loss"));
        QCOMPARE(page.metricText(QStringLiteral("Eval loss")), QString::number(fm["eval_loss"].get<double>(), 'f', 4));

        page.setPrompt(QStringLiteral("Say the number 3"));
        QSignalSpy done(&page, &EvaluatePage::generationDone);
        page.generate();
        QVERIFY(page.isGenerating());
        QVERIFY(peft::uitest::endsWithoutError(done, 120000));
        QTRY_VERIFY(!page.isGenerating());
        QVERIFY(!page.baseText().isEmpty());
        QVERIFY(!page.tunedText().isEmpty());

        // The base answer is exactly what the plain base model says (greedy, same budget).
        auto loaded = peft::loadModel(m_model);
        loaded.model->eval();
        torch::NoGradGuard ng;
        auto tok = peft::Tokenizer::load(m_model);
        peft::GenerateOptions o;
        o.maxNewTokens = 64;
        o.greedy = true;
        o.seed = 1234;
        const std::string base = peft::generateText(*loaded.model, *tok, "Say the number 3", o);
        QCOMPARE(page.baseText(), QString::fromStdString(base));
        // ...and the tuned answer is what base + adapter says.
        peft::Adapter ad = peft::loadAdapter(*loaded.model, m_cfg["output_dir"].get<std::string>() + "/adapter");
        const std::string tuned = peft::generateText(*loaded.model, *tok, "Say the number 3", o);
        QCOMPARE(page.tunedText(), QString::fromStdString(tuned));
    }

    void exportWritesALoadableAdapterMergedModelAndReport() {
        ProjectState state;
        peft::uitest::loadRun(state, m_cfg);
        ExportPage page(&state);
        auto* merged = page.findChild<QCheckBox*>(QStringLiteral("merged"));
        QVERIFY(merged);
        merged->setChecked(true);
        const QString out = page.exportDir();
        QVERIFY(out.endsWith(QStringLiteral("run/export")));
        QVERIFY(
            page.pythonSnippet().contains(QStringLiteral("PeftModel.from_pretrained(base, \"%1/adapter\")").arg(out)));
        QSignalSpy ok(&page, &ExportPage::exported);
        QSignalSpy bad(&page, &ExportPage::exportFailed);
        page.exportNow();
        QTRY_VERIFY_WITH_TIMEOUT(ok.count() + bad.count() == 1, 120000);
        if (bad.count()) QFAIL(qPrintable(bad.first().first().toString()));

        // The exported adapter loads back and holds the run's tensors.
        auto a = peft::loadModel(m_model);
        peft::Adapter exported = peft::loadAdapter(*a.model, (out + QStringLiteral("/adapter")).toStdString());
        auto b = peft::loadModel(m_model);
        peft::Adapter original = peft::loadAdapter(*b.model, m_cfg["output_dir"].get<std::string>() + "/adapter");
        const auto se = exported.method->saveState(), so = original.method->saveState();
        QCOMPARE(se.size(), so.size());
        QVERIFY(!se.empty());
        for (size_t i = 0; i < se.size(); ++i) {
            QCOMPARE(se[i].first, so[i].first);
            QVERIFY(torch::equal(se[i].second, so[i].second));
        }
        // The merged model says what base + adapter says.
        auto m = peft::loadModel((out + QStringLiteral("/merged")).toStdString());
        m.model->eval();
        a.model->eval();
        torch::NoGradGuard ng;
        const torch::Tensor ids = torch::tensor({{1, 15, 27, 99, 3}}, torch::kLong);
        const torch::Tensor la = a.model->forward(ids), lm = m.model->forward(ids);
        QVERIFY(torch::allclose(la, lm, 1e-4, 1e-4));
        // The report: config, final metrics, charts and a README card with the peft snippet.
        for (const char* f : {"run.json", "final_metrics.json", "metrics.jsonl", "README.md", "loss.png", "lr.png",
                              "grad_norm.png", "throughput.png"})
            QVERIFY2(QFileInfo(out + QStringLiteral("/report/") + QLatin1String(f)).size() > 0, f);
        QFile readme(out + QStringLiteral("/report/README.md"));
        QVERIFY(readme.open(QIODevice::ReadOnly));
        const QString card = QString::fromUtf8(readme.readAll());
        QVERIFY(card.contains(QStringLiteral("PeftModel.from_pretrained")));
        QVERIFY(card.contains(QStringLiteral("Eval loss")));
    }

    void ggufExportWritesTheFileTheModelfileAndShowsCommands() {
        ProjectState state;
        peft::uitest::loadRun(state, m_cfg);
        ExportPage page(&state);
        auto* type = page.findChild<QComboBox*>(QStringLiteral("ggufType"));
        QVERIFY(type);
        type->setCurrentIndex(type->findData(QStringLiteral("q8_0")));
        const quint64 expected = peft::gguf::expectedGgufBytes(m_model, peft::gguf::TensorType::Q8_0);
        QVERIFY2(page.ggufSizeText().startsWith(QStringLiteral("expected file size")), qPrintable(page.ggufSizeText()));
        QVERIFY(page.ggufPath().endsWith(QStringLiteral("run/export/run.gguf")));
        const QString cmds = page.findChild<QPlainTextEdit*>(QStringLiteral("ggufCommands"))->toPlainText();
        QVERIFY2(cmds.contains(QStringLiteral("ollama create run -f Modelfile")), qPrintable(cmds));
        QVERIFY2(cmds.contains(QStringLiteral("llama-cli -m \"run.gguf\"")), qPrintable(cmds));
        QSignalSpy ok(&page, &ExportPage::ggufExported);
        QSignalSpy bad(&page, &ExportPage::ggufFailed);
        page.exportGgufNow();
        QVERIFY(page.isExportingGguf());
        QTRY_VERIFY_WITH_TIMEOUT(ok.count() + bad.count() == 1, 120000);
        if (bad.count()) QFAIL(qPrintable(bad.first().first().toString()));
        QCOMPARE(quint64(QFileInfo(page.ggufPath()).size()), expected);
        QCOMPARE(page.findChild<QProgressBar*>(QStringLiteral("ggufProgress"))->value(), 1000);
        QVERIFY(QFileInfo::exists(QFileInfo(page.ggufPath()).dir().filePath(QStringLiteral("Modelfile"))));
        QVERIFY(QFile::remove(page.ggufPath()));
    }

    void ggufCancelLeavesNoFile() {
        ProjectState state;
        peft::uitest::loadRun(state, m_cfg);
        state.setSection("output_dir", m_dir.filePath(QStringLiteral("run")).toStdString());
        auto* page = new ExportPage(&state);
        const QString dest = m_dir.filePath(QStringLiteral("gguf-cancel"));
        page->findChild<QLineEdit*>(QStringLiteral("exportDir"))->setText(dest);
        QSignalSpy bad(page, &ExportPage::ggufFailed);
        page->exportGgufNow();
        page->cancelGguf();
        QCOMPARE(bad.count(), 1);
        QVERIFY(!page->isExportingGguf());
        delete page;  // joins the worker, which stops at its next check or removes what it wrote
        QDir d(dest);
        QCOMPARE(d.entryList(QDir::Files | QDir::Hidden).join(QLatin1Char(',')), QString());
    }

    void exportWithoutARunSaysSo() {
        ProjectState state;
        nlohmann::json c = m_cfg;
        c["output_dir"] = m_dir.filePath(QStringLiteral("never-trained")).toStdString();
        state.setSection("output_dir", c["output_dir"]);
        ExportPage page(&state);
        QSignalSpy bad(&page, &ExportPage::exportFailed);
        page.exportNow();
        QTRY_COMPARE_WITH_TIMEOUT(bad.count(), 1, 30000);
        QVERIFY(bad.first().first().toString().contains(QStringLiteral("no trained adapter")));
        QVERIFY(page.banner()->isVisibleTo(&page));
    }
};

QTEST_MAIN(TstCoreExport)
#include "tst_core_export.moc"
