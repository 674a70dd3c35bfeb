// Importance-based selection on the Method page and the QLoRA card: scoring runs on
// a worker thread (the GUI thread keeps serving events, Cancel works), the heatmap shows the
// core's scores, "Use suggestion" ticks exactly the core's selection and adds a Budget candidate
// with the core's trainable count; a QLoRA candidate's weight memory is the core's NF4 estimate;
// hyperparameter tooltips are the core's MethodSpec::help().
#include <QtTest>

#include <fstream>

#include "core/budget/budget.h"
#include "core/data/prepare.h"
#include "core/model/loader.h"
#include "core/peft/method.h"
#include "core/peft/method_spec.h"
#include "core/select/importance.h"
#include "core/select/selection.h"
#include "core/tokenizer/tokenizer.h"
#include "core/train/run_config.h"
#include "tests/ui/ui_test_util.h"
#include "ui/background_task.h"
#include "ui/method_catalog.h"
#include "ui/pages/budget_page.h"
#include "ui/pages/method_page.h"
#include "ui/project_state.h"
#include "ui/widgets/importance_heatmap.h"
#include "ui/widgets/qcp.h"
#include "ui/widgets/target_module_picker.h"

using namespace peft::ui;
using nlohmann::json;

namespace {

const char* kWords[] = {"red", "green", "blue", "apple", "river", "stone", "cloud", "quick", "seven", "lamp"};

QString writeDataset(const QTemporaryDir& d, int rows) {
    const QString path = d.filePath(QStringLiteral("data.jsonl"));
    std::ofstream f(path.toStdString());
    for (int i = 0; i < rows; ++i) {
        std::string text = "The " + std::string(kWords[i % 10]) + " " + kWords[(i * 3 + 1) % 10] + " is number " +
            std::to_string(i) + " and " + kWords[(i * 7 + 2) % 10] + ".";
        f << json({{"text", text}}).dump() << "\n";
    }
    return path;
}

struct Project {
    QTemporaryDir dir;
    QString model = peft::uitest::fixture(QStringLiteral("tiny-llama/base"));
    peft::ModelConfig mc = peft::ModelConfig::load(model.toStdString());
    ProjectState state;
    explicit Project(int rows = 24) {
        state.setSection("model", model.toStdString());
        json d = state.runConfig()["dataset"];
        d["path"] = writeDataset(dir, rows).toStdString();
        d["format"] = "text";
        d["max_length"] = 32;
        state.setSection("dataset", d);
        json t = state.runConfig()["training"];
        t["batch_size"] = 4;
        t["seed"] = 7;
        state.setSection("training", t);
    }
};

// The checked modules of the picker, as full module paths (each item's tooltip).
std::set<std::string> checkedPaths(TargetModulePicker* p) {
    std::set<std::string> out;
    for (int t = 0; t < p->tree()->topLevelItemCount(); ++t)
        for (int k = 0; k < p->tree()->topLevelItem(t)->childCount(); ++k) {
            QTreeWidgetItem* it = p->tree()->topLevelItem(t)->child(k);
            if (it->checkState(0) == Qt::Checked) out.insert(it->toolTip(0).toStdString());
        }
    return out;
}

}  // namespace

class TstImportance : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void heatmapAndSuggestion() {
        Project p;
        MethodPage page(&p.state);
        BudgetPage budget(&p.state);
        connect(&page, &MethodPage::suggestionApplied, &budget, &BudgetPage::addCandidate);
        p.state.setModel(p.model, p.mc);
        page.selectMethod(QStringLiteral("lora"));
        page.scoreMethodBox()->setCurrentIndex(page.scoreMethodBox()->findData(QStringLiteral("fisher")));
        page.budgetBox()->setValue(3000);
        auto* batches = page.findChild<QSpinBox*>(QStringLiteral("scoreBatches"));
        QVERIFY(batches);
        batches->setValue(3);

        QSignalSpy done(&page, &MethodPage::scoringFinished);
        // The GUI thread keeps running its event loop while the worker scores: a timer fires.
        int ticks = 0;
        QTimer timer;
        connect(&timer, &QTimer::timeout, [&ticks] { ++ticks; });
        timer.start(5);
        QVERIFY(page.scoreModules());
        QVERIFY(page.isScoring());
        QVERIFY(done.wait(120000));
        QCOMPARE(done.takeFirst().at(0).toBool(), true);
        QVERIFY2(ticks > 0, "the GUI thread was blocked while scoring");
        QVERIFY(!page.isScoring());

        // The report is the core's: scoring again in the test with the same inputs agrees.
        const peft::select::ImportanceReport* rep = page.importanceReport();
        QVERIFY(rep);
        QCOMPARE(rep->batches, qint64(3));
        peft::data::DatasetConfig dc = peft::data::DatasetConfig::fromJson(p.state.runConfig()["dataset"], "dataset");
        dc.validationSplit = 0.0;
        auto tok = peft::Tokenizer::load(p.model.toStdString());
        peft::data::PrepareOptions po;
        po.seed = 7;
        const auto pd = peft::data::prepareDataset(dc, tok.get(), po);
        peft::LoadedModel lm = peft::loadModel(p.model.toStdString());
        peft::select::ScoreOptions so;
        so.batches = 3;
        so.batchSize = 4;
        so.seed = 7;
        const auto ref = peft::select::scoreModules(*lm.model, pd.train, pd.padId, so);
        QCOMPARE(ref.modules.size(), rep->modules.size());

        // The heatmap: layers × module names, each cell the module's Fisher score.
        ImportanceHeatmap* hm = page.heatmap();
        QVERIFY(!hm->isEmpty());
        QCOMPARE(hm->data().layers, int(p.mc.numLayers));
        QCOMPARE(hm->data().columns.size(), qsizetype(rep->moduleNames.size()));
        QCOMPARE(hm->colorMap()->data()->keySize(), int(rep->moduleNames.size()));
        QCOMPARE(hm->colorMap()->data()->valueSize(), int(p.mc.numLayers));
        QVERIFY(hm->colorScale()->visible());
        for (size_t i = 0; i < rep->modules.size(); ++i) {
            const auto& m = rep->modules[i];
            int col = 0;
            for (size_t j = 0; j < i; ++j) col += rep->modules[j].layer == m.layer;
            QCOMPARE(QString::fromStdString(m.name), hm->data().columns[col]);
            const double cell = hm->colorMap()->data()->cell(col, static_cast<int>(m.layer));
            QCOMPARE(cell, m.score(peft::select::ImportanceMethod::Fisher));
            const double want = ref.modules[i].fisher;
            QVERIFY2(
                std::abs(cell - want) <= 1e-4 * std::max(std::abs(want), 1e-12),
                qPrintable(QStringLiteral("%1: %2 vs %3").arg(QString::fromStdString(m.path)).arg(cell).arg(want)));
        }

        // The suggestion is the core's selection under the budget.
        peft::select::SelectionOptions opt;
        opt.method = peft::select::ImportanceMethod::Fisher;
        opt.budget = 3000;
        opt.r = p.state.runConfig()["method"]["r"].get<int64_t>();
        opt.alpha = p.state.runConfig()["method"]["lora_alpha"].get<double>();
        const auto sel = peft::select::selectModules(*rep, p.mc, opt);
        QVERIFY(page.suggestion());
        QCOMPARE(page.suggestion()->targetModules, sel.targetModules);
        QCOMPARE(page.suggestion()->trainable, sel.trainable);
        QVERIFY(sel.trainable <= 3000);
        QCOMPARE(hm->markedCells().size(), sel.modules.size());

        // Use suggestion: exactly those modules ticked, and one more Budget candidate.
        const size_t before = budget.candidates().size();
        QVERIFY(page.useSuggestion());
        const std::set<std::string> want(sel.targetModules.begin(), sel.targetModules.end());
        QCOMPARE(checkedPaths(page.picker()), want);
        json method = p.state.runConfig()["method"];
        method.erase("init_from");
        QCOMPARE(QString::fromStdString(method["peft_type"].get<std::string>()), QStringLiteral("LORA"));
        QCOMPARE(peft::methodSpec("LORA").count(p.mc, method).trainable, sel.trainable);
        QCOMPARE(budget.candidates().size(), before + 1);
        const json& cand = budget.candidates().back();
        QVERIFY(cand.value("_suggested", false));
        const int row = budget.table()->rowCount() - 1;
        QVERIFY2(budget.table()->item(row, 0)->text().startsWith(QStringLiteral("Suggested (fisher, ")),
                 qPrintable(budget.table()->item(row, 0)->text()));
        QCOMPARE(budget.table()->item(row, 1)->toolTip().toLongLong(), qlonglong(sel.trainable));

        // Another method re-selects without rescoring; a second "use" replaces the candidate.
        page.scoreMethodBox()->setCurrentIndex(page.scoreMethodBox()->findData(QStringLiteral("taylor")));
        opt.method = peft::select::ImportanceMethod::Taylor;
        QCOMPARE(page.suggestion()->targetModules, peft::select::selectModules(*rep, p.mc, opt).targetModules);
        QCOMPARE(hm->colorMap()->data()->cell(0, 0), rep->modules[0].taylor);
        QVERIFY(page.useSuggestion());
        QCOMPARE(budget.candidates().size(), before + 1);

        // Rank allocation reaches the method config as rank_pattern.
        page.allocateRanksBox()->setChecked(true);
        QVERIFY(page.useSuggestion());
        QCOMPARE(p.state.runConfig()["method"].value("rank_pattern", json::object()), page.suggestion()->rankPattern);
        // What the trainer gets: the run config validates, and the adapter attaches with exactly
        // the suggestion's trainable parameters.
        QVERIFY(!page.suggestion()->rankPattern.empty());
        const peft::RunConfig rc = peft::RunConfig::fromJson(p.state.runConfig(), "project");
        json mcfg = p.state.runConfig()["method"];
        mcfg.erase("init_from");
        peft::LoadedModel fresh = peft::loadModel(p.model.toStdString());
        const peft::Adapter ad = peft::attachAdapter(*fresh.model, mcfg, "default");
        int64_t attached = 0;
        for (const auto& [name, t] : ad.method->trainable()) attached += t.numel();
        QCOMPARE(attached, page.suggestion()->trainable);
        // Hand-editing the targets drops the pattern.
        page.picker()->applyPreset(QStringLiteral("qv"));
        QVERIFY(!p.state.runConfig()["method"].contains("rank_pattern"));
        // A budget below the cheapest module: no suggestion, said in the panel, nothing to use.
        page.budgetBox()->setValue(1);
        QVERIFY(!page.suggestion());
        QVERIFY(!page.findChild<QPushButton*>(QStringLiteral("useSuggestion"))->isEnabled());
        QVERIFY(page.findChild<QLabel*>(QStringLiteral("suggestionText"))
                    ->text()
                    .startsWith(QStringLiteral("No suggestion")));
        QVERIFY(!page.useSuggestion());
        QCOMPARE(page.banner()->level(), ErrorBanner::Level::Warning);
        QVERIFY(!hm->isEmpty());  // the scores stay on show
    }

    void cancelStopsScoring() {
        Project p(2000);
        MethodPage page(&p.state);
        p.state.setModel(p.model, p.mc);
        page.findChild<QSpinBox*>(QStringLiteral("scoreBatches"))->setValue(256);
        QSignalSpy cancelled(page.scoringTask(), &BackgroundTask::cancelled);
        QSignalSpy done(&page, &MethodPage::scoringFinished);
        QVERIFY(page.scoreModules());
        QVERIFY(page.isScoring());
        auto* cancel = page.findChild<QPushButton*>(QStringLiteral("cancelScoring"));
        QVERIFY(cancel && cancel->isEnabled());
        QTest::qWait(20);
        cancel->click();
        QCOMPARE(cancelled.count(), 1);
        QCOMPARE(done.count(), 1);
        QCOMPARE(done.at(0).at(0).toBool(), false);
        QVERIFY(!page.isScoring());
        QVERIFY(!page.importanceReport());
        QVERIFY(page.findChild<QPushButton*>(QStringLiteral("scoreModules"))->isEnabled());
        // Nothing from the cancelled job arrives later.
        QTest::qWait(300);
        QVERIFY(!page.importanceReport());
        QCOMPARE(done.count(), 1);
    }

    void scoringWithoutDataExplainsInThePage() {
        ProjectState state;
        MethodPage page(&state);
        QVERIFY(!page.scoreModules());
        QVERIFY(page.banner()->text().contains(QStringLiteral("Model")));
        QVERIFY(!page.isScoring());
    }

    void brokenDatasetFailsInThePage() {
        Project p;
        MethodPage page(&p.state);
        p.state.setModel(p.model, p.mc);
        json d = p.state.runConfig()["dataset"];
        d["path"] = p.dir.filePath(QStringLiteral("missing.jsonl")).toStdString();
        p.state.setSection("dataset", d);
        QSignalSpy done(&page, &MethodPage::scoringFinished);
        QVERIFY(page.scoreModules());
        QVERIFY(done.wait(60000));
        QCOMPARE(done.at(0).at(0).toBool(), false);
        QCOMPARE(page.banner()->level(), ErrorBanner::Level::Error);
        QVERIFY2(page.banner()->text().contains(QStringLiteral("missing.jsonl")), qPrintable(page.banner()->text()));
    }

    void qloraCardSetsQuantizeBaseAndBudgetShowsNf4() {
        Project p;
        MethodPage page(&p.state);
        BudgetPage budget(&p.state);
        p.state.setModel(p.model, p.mc);
        page.selectMethod(QStringLiteral("qlora"));
        QCOMPARE(p.state.runConfig()["training"]["quantize_base"], json(true));
        const json cand = budget.currentCandidate();
        QVERIFY(cand.value("_quantize_base", false));
        budget.addCandidate(cand);
        page.selectMethod(QStringLiteral("lora"));
        QCOMPARE(p.state.runConfig()["training"]["quantize_base"], json(false));
        budget.addCandidate(budget.currentCandidate());
        QCOMPARE(int(budget.candidates().size()), 2);
        QCOMPARE(budget.table()->item(0, 0)->text().left(5), QStringLiteral("QLoRA"));
        // Both rows against the core's estimate, with and without the NF4 base.
        json cfg = stripCandidateKeys(cand);
        cfg.erase("init_from");
        peft::budget::BudgetOptions o = budget.optionsFor(cand);
        QVERIFY(o.quantizeBase == peft::budget::BaseQuant::Nf4DoubleQuant);
        const auto q = peft::budget::estimate(p.mc, cfg, o);
        o.quantizeBase = peft::budget::BaseQuant::None;
        const auto plain = peft::budget::estimate(p.mc, cfg, o);
        QVERIFY(q.memory.weights < plain.memory.weights);
        QCOMPARE(budget.table()->item(0, 7)->data(Qt::UserRole).toULongLong(), qulonglong(q.memory.weights));
        QCOMPARE(budget.table()->item(0, 4)->text(),
                 QString::fromStdString(peft::budget::humanBytes(q.memory.trainingTotal())));
        json cfg1 = stripCandidateKeys(budget.candidates()[1]);
        cfg1.erase("init_from");
        const auto row1 = peft::budget::estimate(p.mc, cfg1, budget.optionsFor(budget.candidates()[1]));
        QCOMPARE(budget.table()->item(1, 7)->data(Qt::UserRole).toULongLong(), qulonglong(row1.memory.weights));
        QVERIFY(row1.memory.weightsByDtype.count("nf4") == 0);
        QVERIFY(budget.table()->item(0, 7)->toolTip().contains(QStringLiteral("nf4")));
        // "Use selected" on the QLoRA row brings the card and the training flag back.
        budget.table()->setCurrentCell(0, 0);
        for (auto* b : budget.findChildren<QPushButton*>())
            if (b->text().remove(QLatin1Char('&')) == QStringLiteral("Use selected")) b->click();
        QCOMPARE(p.state.runConfig()["training"]["quantize_base"], json(true));
        QVERIFY(!p.state.runConfig()["method"].contains("_quantize_base"));
        QCOMPARE(page.currentMethod(), QStringLiteral("qlora"));
    }

    void tooltipsAreTheCoresHelp() {
        ProjectState state;
        MethodPage page(&state);
        int checked = 0;
        for (const auto& m : methodCatalog()) {
            page.selectMethod(m.id);
            const json help = peft::methodSpec(m.peftType).help();
            for (const auto& prm : m.params) {
                auto* editor = page.findChild<QWidget*>(QStringLiteral("param_") + QString::fromStdString(prm.key));
                QVERIFY2(editor, prm.key.c_str());
                QVERIFY2(help.contains(prm.key), prm.key.c_str());
                QCOMPARE(editor->toolTip(), QString::fromStdString(help[prm.key].get<std::string>()));
                ++checked;
            }
        }
        QVERIFY(checked >= 10);
    }
};

QTEST_MAIN(TstImportance)
#include "tst_importance.moc"
