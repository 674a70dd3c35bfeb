// The Method page: every card writes the right adapter_config fields; the target-module
// presets and tree produce peft's target_modules for both families.
#include <QtTest>

#include "tests/ui/ui_test_util.h"
#include "core/peft/method_spec.h"
#include "ui/method_catalog.h"
#include "ui/pages/method_page.h"
#include "ui/project_state.h"
#include "ui/widgets/method_diagram.h"
#include "ui/widgets/target_module_picker.h"

using namespace peft::ui;
using nlohmann::json;

class TstMethodPage : public QObject {
    Q_OBJECT
    static peft::ModelConfig load(const char* rel) {
        return peft::ModelConfig::load(peft::uitest::fixture(QString::fromLatin1(rel)).toStdString());
    }
private Q_SLOTS:
    void everyCardHasTextAndWritesItsType() {
        ProjectState state;
        MethodPage page(&state);
        QCOMPARE(int(methodCatalog().size()), 11);
        for (const auto& m : methodCatalog()) {
            QVERIFY(!m.summary.isEmpty());
            // Two sentences.
            QCOMPARE(m.summary.count(QLatin1Char('.')) >= 2, true);
            page.selectMethod(m.id);
            QCOMPARE(page.currentMethod(), m.id);
            const json cfg = state.runConfig()["method"];
            QCOMPARE(QString::fromStdString(cfg["peft_type"].get<std::string>()), QString::fromStdString(m.peftType));
            // The config maps back to its card; QLoRA's adapter config is plain LoRA (the 4-bit
            // base is a training setting), so the project remembers the card in its UI state.
            if (m.id != QLatin1String("qlora")) QCOMPARE(methodForConfig(cfg)->id, m.id);
            QCOMPARE(QString::fromStdString(state.uiState()["method_card"].get<std::string>()), m.id);
            for (const auto& p : m.params) {
                QVERIFY2(cfg.contains(p.key), p.key.c_str());
                QVERIFY(!paramHelp(m, p).isEmpty());
            }
        }
    }
    // One source of truth: a card opened fresh shows the core's defaults (MethodSpec::defaults(),
    // peft's own), and every card's config passes the core's validation (the Houlsby/Pfeiffer cards
    // once wrote an `adapter_type` key that training then refused).
    void freshCardsShowTheCoresDefaultsAndValidate() {
        for (const auto& m : methodCatalog()) {
            ProjectState state;
            MethodPage page(&state);
            page.selectMethod(QStringLiteral("full"));
            state.setSection("method", json{{"peft_type", "FULL"}, {"task_type", "CAUSAL_LM"}});
            page.selectMethod(m.id);
            json cfg = state.runConfig()["method"];
            const peft::MethodSpec& spec = peft::methodSpec(m.peftType);
            const json d = spec.defaults();
            for (const auto& p : m.params) {
                QVERIFY2(d.contains(p.key),
                         (m.id.toStdString() + ": " + p.key + " is not a field of the core spec").c_str());
                QVERIFY2(cfg[p.key] == d[p.key],
                         (m.id.toStdString() + ": " + p.key + " shows " + cfg[p.key].dump() + ", core default " +
                          d[p.key].dump())
                             .c_str());
            }
            cfg.erase("init_from");
            try {
                spec.validate(cfg, "method card " + m.id.toStdString());
            } catch (const std::exception& e) {
                QFAIL(e.what());
            }
        }
    }
    // The block diagram draws what each card says (MethodCard::diagram, from the core's spec):
    // every card differs from the bare block an unknown id gets, and from every other card.
    // PEFT_DIAGRAM_DIR=DIR saves the drawings there, to look at.
    void everyCardDrawsItsOwnDiagram() {
        auto draw = [](const QString& id) {
            QImage img(200, 250, QImage::Format_ARGB32);
            img.fill(Qt::white);
            QPainter p(&img);
            paintMethodDiagram(p, QRectF(0, 0, 200, 250), id, QApplication::palette());
            return img;
        };
        const QImage bare = draw(QStringLiteral("no-such-card"));
        const QString dir = qEnvironmentVariable("PEFT_DIAGRAM_DIR");
        std::vector<std::pair<QString, QImage>> seen;
        for (const auto& m : methodCatalog()) {
            const QImage img = draw(m.id);
            if (!dir.isEmpty()) img.save(QDir(dir).filePath(m.id + QStringLiteral(".png")));
            QVERIFY2(img != bare, qPrintable(m.id + QStringLiteral(" draws the bare block")));
            for (const auto& [id, other] : seen)
                QVERIFY2(img != other, qPrintable(m.id + QStringLiteral(" draws like ") + id));
            seen.emplace_back(m.id, img);
        }
        QCOMPARE(seen.size(), methodCatalog().size());
    }
    void pfeifferCardAsksForPfeiffer() {
        ProjectState state;
        MethodPage page(&state);
        page.selectMethod(QStringLiteral("pfeiffer"));
        QCOMPARE(state.runConfig()["method"]["architecture"], json("pfeiffer"));
        page.selectMethod(QStringLiteral("houlsby"));
        QCOMPARE(state.runConfig()["method"]["architecture"], json("houlsby"));
        // An "auto" prefix MLP width is written as null (the model's width), a set one as a number.
        page.selectMethod(QStringLiteral("prefix"));
        QVERIFY(state.runConfig()["method"]["encoder_hidden_size"].is_null());
        page.setParam("encoder_hidden_size", 64);
        QCOMPARE(state.runConfig()["method"]["encoder_hidden_size"], json(64));
    }
    void switchingKeepsSharedHyperparameters() {
        ProjectState state;
        MethodPage page(&state);
        page.selectMethod(QStringLiteral("lora"));
        page.setParam("r", 32);
        page.selectMethod(QStringLiteral("rslora"));
        QCOMPARE(state.runConfig()["method"]["r"], json(32));
        QCOMPARE(state.runConfig()["method"]["use_rslora"], json(true));
    }
    void llamaPresets() {
        TargetModulePicker p;
        p.setModel(load("tiny-llama/base"));
        p.applyPreset(QStringLiteral("qv"));
        QCOMPARE(p.selection()["target_modules"], json({"q_proj", "v_proj"}));
        QVERIFY(!p.selection().contains("layers_to_transform"));
        p.applyPreset(QStringLiteral("attention"));
        QCOMPARE(p.selection()["target_modules"], json({"q_proj", "k_proj", "v_proj", "o_proj"}));
        p.applyPreset(QStringLiteral("mlp"));
        QCOMPARE(p.selection()["target_modules"], json({"gate_proj", "up_proj", "down_proj"}));
        p.applyPreset(QStringLiteral("linear"));
        QCOMPARE(p.checkedCount(), 14);
        p.applyPreset(QStringLiteral("ia3"));
        QCOMPARE(p.selection()["target_modules"], json({"k_proj", "v_proj", "down_proj"}));
        QCOMPARE(p.selection()["feedforward_modules"], json({"down_proj"}));
    }
    void gpt2NamesAmbiguousModulesByPath() {
        TargetModulePicker p;
        p.setModel(load("tiny-gpt2/base"));
        p.applyPreset(QStringLiteral("qv"));
        QCOMPARE(p.selection()["target_modules"], json({"c_attn"}));
        p.applyPreset(QStringLiteral("mlp"));
        QCOMPARE(p.selection()["target_modules"], json({"c_fc", "mlp.c_proj"}));
        // And reading it back checks exactly those.
        p.applyPreset(QStringLiteral("linear"));
        p.setSelection(json{{"target_modules", {"mlp.c_proj"}}});
        QCOMPARE(p.checkedCount(), 2);
    }
    void treeEditsGiveLayersOrFullPaths() {
        TargetModulePicker p;
        p.setModel(load("tiny-llama/base"));
        p.applyPreset(QStringLiteral("qv"));
        // Untick layer 1 entirely: same modules, fewer layers.
        p.tree()->topLevelItem(1)->setCheckState(0, Qt::Unchecked);
        QCOMPARE(p.selection()["target_modules"], json({"q_proj", "v_proj"}));
        QCOMPARE(p.selection()["layers_to_transform"], json({0}));
        // Different modules per layer: full module paths.
        p.tree()->topLevelItem(1)->child(0)->setCheckState(0, Qt::Checked);  // layer 1 q_proj only
        QCOMPARE(p.selection()["target_modules"],
                 json({"model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                       "model.layers.1.self_attn.q_proj"}));
        // Round trip through setSelection.
        const json sel = p.selection();
        p.applyPreset(QStringLiteral("linear"));
        p.setSelection(sel);
        QCOMPARE(p.selection(), sel);
    }
    void modelChangeBuildsTheTree() {
        ProjectState state;
        MethodPage page(&state);
        QVERIFY(!page.picker()->hasModel());
        state.setModel(peft::uitest::fixture("tiny-llama/base"), load("tiny-llama/base"));
        QVERIFY(page.picker()->hasModel());
        QCOMPARE(page.picker()->tree()->topLevelItemCount(), 2);
        QCOMPARE(state.runConfig()["method"]["target_modules"], json({"q_proj", "v_proj"}));
    }
};

QTEST_MAIN(TstMethodPage)
#include "tst_method_page.moc"
