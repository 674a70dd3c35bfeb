// Preference tuning in the GUI: the Method page's Objective box shows the core's defaults and
// writes run.json's "objective" (and reads it back from a project); an objective that does not
// fit the dataset is refused before training; a real DPO run on the demo feeds the Train page's
// reward charts, whose points equal its metrics.jsonl; the Evaluate page's pair evaluation agrees
// with the trainer's last validation rewards; the Dataset page shows chosen and rejected side by
// side; the Budget page counts the frozen reference copy.
#include <QtTest>

#include <cmath>
#include <fstream>

#include "core/budget/preference_budget.h"
#include "core/io/model_config.h"
#include "core/train/objectives/objective_spec.h"
#include "core/train/objectives/pair_evaluation.h"
#include "core/train/run_config.h"
#include "core/util/error.h"
#include "tests/ui/ui_test_util.h"
#include "ui/background_task.h"
#include "ui/pages/budget_page.h"
#include "ui/pages/dataset_page.h"
#include "ui/pages/evaluate_page.h"
#include "ui/pages/method_page.h"
#include "ui/pages/train_page.h"
#include "ui/project_state.h"
#include "ui/widgets/metric_chart.h"
#include "ui/widgets/objective_picker.h"
#include "ui/widgets/preference_charts.h"
#include "ui/widgets/preference_eval_panel.h"
#include "ui/widgets/qcp.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QProcess>
#include <QTableWidget>
#include <QTextEdit>

using namespace peft::ui;
using nlohmann::json;

namespace {

QString demo(const QString& rel) { return peft::uitest::sourcePath(QStringLiteral("resources/demo/") + rel); }

// The shipped DPO run on the demo, shortened, into `dir`.
json demoDpoRun(const QTemporaryDir& dir, int steps) {
    json c = peft::readJsonFile(demo(QStringLiteral("run_dpo.json")).toStdString());
    c["model"] = demo(QStringLiteral("model")).toStdString();
    c["dataset"]["path"] = demo(QStringLiteral("preferences.jsonl")).toStdString();
    c["training"]["max_steps"] = steps;
    c["training"]["batch_size"] = 4;
    c["training"]["eval_every"] = 3;
    c["training"]["save_every"] = 100;
    c["training"]["warmup_steps"] = 0;
    c["output_dir"] = dir.filePath(QStringLiteral("run")).toStdString();
    return c;
}

std::vector<json> readJsonl(const QString& path) {
    std::vector<json> out;
    std::ifstream in(path.toStdString());
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) out.push_back(json::parse(line));
    return out;
}

double editorValue(ObjectivePicker& p, const std::string& key) {
    auto* s = qobject_cast<QDoubleSpinBox*>(p.editor(key));
    return s ? s->value() : std::nan("");
}

}  // namespace

class TstPreferenceGui : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // One source of truth: each objective opened fresh shows and writes the core's defaults.
    void objectivesShowTheCoresDefaults() {
        for (const peft::ObjectiveSpec& spec : peft::objectiveSpecs()) {
            ProjectState state;
            MethodPage page(&state);
            ObjectivePicker* p = page.objectivePicker();
            QCOMPARE(state.runConfig()["objective"], json({{"type", "sft"}}));
            p->selectType(QString::fromStdString(spec.type));
            QCOMPARE(p->currentType(), QString::fromStdString(spec.type));
            const json want = peft::resolveObjectiveConfig(json{{"type", spec.type}}, "test");
            QVERIFY2(
                state.runConfig()["objective"] == want,
                (spec.type + ": wrote " + state.runConfig()["objective"].dump() + ", core " + want.dump()).c_str());
            // Every setting has an editor with the spec's help, showing the spec's default.
            for (auto it = spec.defaults.begin(); it != spec.defaults.end(); ++it) {
                QWidget* w = p->editor(it.key());
                QVERIFY2(w, it.key().c_str());
                QCOMPARE(w->toolTip(), QString::fromStdString(spec.help.value(it.key(), std::string())));
                if (it->is_number()) QCOMPARE(editorValue(*p, it.key()), it->get<double>());
            }
            // Two sentences of explanation.
            auto* summary = p->findChild<QLabel*>(QStringLiteral("objectiveSummary"));
            QCOMPARE(summary->text(), QString::fromStdString(spec.summary));
            QVERIFY(summary->text().count(QLatin1Char('.')) >= 2);
        }
    }

    void objectiveWritesRunJsonAndReadsItBack() {
        QTemporaryDir dir;
        ProjectState state;
        MethodPage page(&state);
        ObjectivePicker* p = page.objectivePicker();
        p->selectType(QStringLiteral("dpo"));
        p->setSetting("beta", 0.25);
        p->setSetting("label_smoothing", 0.1);
        p->setSetting("reference", "frozen_copy");
        const json want = {{"type", "dpo"},
                           {"beta", 0.25},
                           {"label_smoothing", 0.1},
                           {"reference", "frozen_copy"},
                           {"precompute_reference", false}};
        QCOMPARE(state.runConfig()["objective"], want);
        // The run config the trainer reads (and writes as run.json) carries it unchanged.
        json run = state.runConfig();
        run["model"] = "m";
        run["dataset"]["path"] = "d.jsonl";
        const peft::RunConfig rc = peft::RunConfig::fromJson(run, "test");
        QCOMPARE(rc.objective, want);
        QCOMPARE(rc.toJson()["objective"], want);
        // Switching away and back keeps what the user set for DPO; SimPO starts from its defaults.
        p->selectType(QStringLiteral("simpo"));
        QCOMPARE(state.runConfig()["objective"]["beta"], json(2.0));
        p->selectType(QStringLiteral("dpo"));
        QCOMPARE(state.runConfig()["objective"], want);
        // Saved into the project, and a fresh window reads it back.
        const QString file = dir.filePath(QStringLiteral("p.peftproj"));
        state.save(file);
        ProjectState reopened;
        MethodPage page2(&reopened);
        reopened.load(file);
        QCOMPARE(reopened.runConfig()["objective"], want);
        QCOMPARE(page2.objectivePicker()->currentType(), QStringLiteral("dpo"));
        QCOMPARE(editorValue(*page2.objectivePicker(), "beta"), 0.25);
        QCOMPARE(qobject_cast<QComboBox*>(page2.objectivePicker()->editor("reference"))->currentText(),
                 QStringLiteral("frozen_copy"));
        // SFT writes the bare type.
        page2.objectivePicker()->selectType(QStringLiteral("sft"));
        QCOMPARE(reopened.runConfig()["objective"], json({{"type", "sft"}}));
    }

    void refusedSettingsAreShownNotWritten() {
        ProjectState state;
        MethodPage page(&state);
        page.objectivePicker()->selectType(QStringLiteral("dpo"));
        const json before = state.runConfig()["objective"];
        page.objectivePicker()->setSetting("label_smoothing", 0.6);
        QCOMPARE(state.runConfig()["objective"], before);
        QCOMPARE(page.banner()->level(), ErrorBanner::Level::Error);
        QVERIFY2(page.banner()->text().contains(QStringLiteral("objective.label_smoothing")),
                 qPrintable(page.banner()->text()));
        // A project file with a key the objective does not have is refused, naming the key.
        QTemporaryDir dir;
        const QString file = dir.filePath(QStringLiteral("bad.peftproj"));
        json proj = state.toJson();
        proj["run_config"]["objective"] = {{"type", "orpo"}, {"beta", 0.1}};
        std::ofstream(file.toStdString()) << proj.dump();
        ProjectState other;
        try {
            other.load(file);
            QFAIL("an unknown objective key was accepted");
        } catch (const peft::PeftError& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("objective.beta")), e.what());
        }
    }

    // A preference objective on a chat dataset (and SFT on pairs) is said on the Method page and
    // refused by Start before anything loads.
    void mismatchIsRefusedBeforeTraining() {
        ProjectState state;
        json d = state.runConfig()["dataset"];
        d["path"] = demo(QStringLiteral("dataset.jsonl")).toStdString();
        d["format"] = "chat";
        state.setSection("dataset", d);
        MethodPage method(&state);
        QVERIFY(method.checkObjectiveFitsDataset().isEmpty());
        method.objectivePicker()->selectType(QStringLiteral("orpo"));
        QCOMPARE(method.banner()->level(), ErrorBanner::Level::Warning);
        QVERIFY2(method.banner()->text().contains(QStringLiteral("ORPO")) &&
                     method.banner()->text().contains(QStringLiteral("chat")),
                 qPrintable(method.banner()->text()));
        bool called = false;
        TrainingRunner runner([&called](const json&, bool, const TrainHooks&) { called = true; });
        TrainPage train(&state, &runner);
        train.start();
        QTest::qWait(50);
        QVERIFY(!called);
        QCOMPARE(train.banner()->level(), ErrorBanner::Level::Error);
        // The reverse: pairs with SFT, the format known from the Dataset page's import ("auto").
        d["path"] = demo(QStringLiteral("preferences.jsonl")).toStdString();
        d["format"] = "auto";
        state.setSection("dataset", d);
        method.objectivePicker()->selectType(QStringLiteral("sft"));
        state.setUiValue("dataset_format", "preference");
        QVERIFY(method.checkObjectiveFitsDataset().contains(QStringLiteral("preference pairs")));
        // Fitting: no message, and the warning goes.
        method.objectivePicker()->selectType(QStringLiteral("dpo"));
        QVERIFY(method.checkObjectiveFitsDataset().isEmpty());
        QVERIFY(method.banner()->isHidden() || method.banner()->text().isEmpty());
    }

    // A real DPO run (the core trainer on the demo model) feeds the charts; its points are the
    // run's metrics.jsonl. The pair evaluation of the finished run gives the trainer's last
    // validation reward accuracy and margin.
    void realDpoRunFeedsTheChartsAndTheEvaluation() {
        QTemporaryDir dir;
        const json cfg = demoDpoRun(dir, 6);
        ProjectState state;
        peft::uitest::loadRun(state, cfg);
        TrainingRunner runner;
        TrainPage page(&state, &runner);
        page.show();
        PreferenceCharts* charts = page.preferenceCharts();
        QVERIFY(!charts->isVisibleTo(&page));
        QSignalSpy finished(&runner, &TrainingRunner::finished);
        QSignalSpy failed(&runner, &TrainingRunner::failed);
        page.start();
        QVERIFY2(finished.wait(300000) || finished.count() == 1,
                 failed.isEmpty() ? "" : qPrintable(failed.at(0).at(0).toString()));
        QCOMPARE(failed.count(), 0);
        QTest::qWait(50);  // the last queued metrics
        charts->flush();
        const auto lines = readJsonl(QDir(QString::fromStdString(cfg["output_dir"].get<std::string>()))
                                         .filePath(QStringLiteral("metrics.jsonl")));
        QVERIFY(!lines.empty());
        int trainSteps = 0, evals = 0;
        json lastEval;
        for (const auto& l : lines) {
            if (l.contains("rewards_accuracy")) ++trainSteps;
            if (l.contains("eval_rewards_accuracy")) {
                ++evals;
                lastEval = l;
            }
        }
        QCOMPARE(trainSteps, 6);
        QVERIFY(evals >= 2);
        QVERIFY(charts->isVisibleTo(&page));
        QCOMPARE(int(charts->accuracyChart()->pointCount(charts->accuracySeries())), trainSteps);
        QCOMPARE(int(charts->accuracyChart()->pointCount(charts->evalAccuracySeries())), evals);
        QCOMPARE(int(charts->marginChart()->pointCount(charts->marginSeries())), trainSteps);
        QCOMPARE(int(charts->rewardsChart()->pointCount(charts->chosenSeries())), trainSteps);
        QCOMPARE(int(charts->rewardsChart()->pointCount(charts->rejectedSeries())), trainSteps);
        QVERIFY(!charts->orpoChart()->isVisibleTo(&page));  // DPO reports no NLL term
        // The plotted values are the stream's.
        const auto* g = charts->rewardsChart()->plot()->graph(charts->chosenSeries());
        QCOMPARE(g->data()->size(), trainSteps);
        json lastTrain;
        for (const auto& l : lines)
            if (l.contains("rewards_chosen")) lastTrain = l;
        QCOMPARE(g->data()->at(trainSteps - 1)->value, lastTrain["rewards_chosen"].get<double>());
        QCOMPARE(g->data()->at(trainSteps - 1)->key, lastTrain["step"].get<double>());
        // The same history read back from the run folder.
        TrainingRunner idle([](const json&, bool, const TrainHooks&) {});
        TrainPage history(&state, &idle);
        QVERIFY(history.loadRunHistory(QString::fromStdString(cfg["output_dir"].get<std::string>())));
        QVERIFY(history.preferenceCharts()->hasPreferenceData());
        QVERIFY(history.preferenceCharts()->accuracyChart()->pointCount(history.preferenceCharts()->accuracySeries()) >=
                size_t(trainSteps));

        // Evaluate page: base vs tuned on the validation pairs, with progress.
        PreferenceEvalPanel panel(&state);
        QSignalSpy done(&panel, &PreferenceEvalPanel::finished);
        QSignalSpy progress(panel.task(), &BackgroundTask::progress);
        QVERIFY(panel.evaluate());
        QVERIFY(done.wait(120000));
        QVERIFY2(done.at(0).at(0).toBool(), qPrintable(panel.note()->text()));
        const peft::PairEvalReport* r = panel.report();
        QVERIFY(r);
        QCOMPARE(r->sides, (std::vector<std::string>{"base", "tuned"}));
        QVERIFY(r->pairs > 0);
        QVERIFY(progress.count() > 0);
        QCOMPARE(panel.table()->rowCount(), 2);
        // DPO's rewards are relative to the base: none for the base, the trainer's for the tuned side.
        QVERIFY(std::isnan(r->results.at("base").rewardAccuracy));
        const double acc = r->results.at("tuned").rewardAccuracy, margin = r->results.at("tuned").meanRewardMargin;
        QVERIFY2(std::abs(acc - lastEval["eval_rewards_accuracy"].get<double>()) < 1e-9,
                 qPrintable(QStringLiteral("%1 vs %2").arg(acc).arg(lastEval["eval_rewards_accuracy"].get<double>())));
        const double m = lastEval["eval_rewards_margin"].get<double>();
        QVERIFY2(std::abs(margin - m) <= 1e-4 * std::max(1.0, std::abs(m)),
                 qPrintable(QStringLiteral("%1 vs %2").arg(margin).arg(m)));
        // The table shows the numbers.
        QCOMPARE(panel.table()->item(1, 3)->text(), QStringLiteral("%1 %").arg(acc * 100.0, 0, 'f', 1));
        QCOMPARE(panel.table()->item(0, 3)->text(), QStringLiteral("—"));

        // The Evaluate page's summary of the trainer's last evaluation line: a DPO loss has no
        // perplexity (not exp of the loss), and its accuracy is the reward accuracy.
        QVERIFY(!lastEval.contains("eval_ppl"));
        EvaluatePage evalPage(&state);
        evalPage.onMetrics(MetricPoint::fromJson(lastEval));
        QCOMPARE(evalPage.metricText(QStringLiteral("Perplexity")), QStringLiteral("—"));
        QCOMPARE(evalPage.metricText(QStringLiteral("Accuracy")),
                 QStringLiteral("%1 %").arg(lastEval["eval_rewards_accuracy"].get<double>() * 100.0, 0, 'f', 1));
        // An SFT line keeps its perplexity, as the trainer wrote it.
        evalPage.onMetrics(MetricPoint::fromJson(json{{"step", 3}, {"eval_loss", 1.25}, {"eval_ppl", 3.4903}}));
        QCOMPARE(evalPage.metricText(QStringLiteral("Perplexity")), QStringLiteral("3.49"));
        QCOMPARE(evalPage.metricText(QStringLiteral("Accuracy")), QStringLiteral("—"));
    }

    // SFT lines leave the charts hidden; ORPO's terms get their own chart.
    void chartsShowOnlyForPreferenceRuns() {
        QWidget host;  // declared first: it outlives (and does not delete) the charts
        PreferenceCharts charts(&host);
        charts.append(MetricPoint::fromJson(json{{"step", 1}, {"loss", 2.0}, {"lr", 1e-3}, {"gen_em", 0.5}}));
        QVERIFY(!charts.hasPreferenceData());
        QVERIFY(!charts.isVisibleTo(&host));
        const json orpo = {{"step", 1},
                           {"loss", 1.5},
                           {"rewards_chosen", -0.2},
                           {"rewards_rejected", -0.5},
                           {"rewards_accuracy", 0.75},
                           {"rewards_margin", 0.3},
                           {"nll_loss", 1.4},
                           {"log_odds_ratio", 0.9}};
        const MetricPoint p = MetricPoint::fromJson(orpo);
        QCOMPARE(p.objectiveMetric("log_odds_ratio"), 0.9);
        QVERIFY(std::isnan(p.objectiveMetric("gen_em")));
        charts.append(p);
        QVERIFY(charts.isVisibleTo(&host));
        QVERIFY(charts.orpoChart()->isVisibleTo(&host));
        QCOMPARE(charts.orpoChart()->pointCount(charts.logOddsSeries()), size_t(1));
        QCOMPARE(charts.marginChart()->pointCount(charts.marginSeries()), size_t(1));
        charts.clear();
        QVERIFY(!charts.isVisibleTo(&host));
    }

    // The Dataset page lists the preference format and shows a pair's two answers side by side.
    void datasetPageShowsPairs() {
        ProjectState state;
        const QString model = demo(QStringLiteral("model"));
        state.setModel(model, peft::ModelConfig::load(model.toStdString()));
        DatasetPage page(&state);
        bool listed = false;
        for (QComboBox* c : page.findChildren<QComboBox*>())
            listed = listed || c->findText(QStringLiteral("preference")) >= 0;
        QVERIFY(listed);
        QSignalSpy done(&page, &DatasetPage::importFinished);
        QVERIFY(page.openFile(demo(QStringLiteral("preferences.jsonl"))));
        QVERIFY(done.wait(60000));
        QVERIFY2(done.at(0).at(0).toBool(), qPrintable(page.banner()->text()));
        QVERIFY2(page.reportSummary()->text().contains(QStringLiteral("Format <b>preference</b>")),
                 qPrintable(page.reportSummary()->text()));
        QCOMPARE(state.uiState().value("dataset_format", std::string()), std::string("preference"));
        const QString html = page.exampleView()->toHtml();
        const QString text = page.exampleView()->toPlainText();
        QVERIFY2(text.contains(QStringLiteral("Chosen")) && text.contains(QStringLiteral("Rejected")),
                 qPrintable(text));
        // The first pair's own answers, each in its column.
        std::ifstream in(demo(QStringLiteral("preferences.jsonl")).toStdString());
        std::string first;
        std::getline(in, first);
        const json row = json::parse(first);
        const QString chosen = QString::fromStdString(row["chosen"][0]["content"].get<std::string>());
        const QString rejected = QString::fromStdString(row["rejected"][0]["content"].get<std::string>());
        QVERIFY2(text.contains(chosen), qPrintable(chosen));
        QVERIFY2(text.contains(rejected.left(40)), qPrintable(rejected));
        QVERIFY(text.indexOf(chosen) < text.indexOf(rejected.left(40)));
        QVERIFY(html.contains(QStringLiteral("<table")));
        // The preview table reads the message lists as text.
        QTableWidget* t = page.previewTable();
        int chosenCol = -1;
        for (int c = 0; c < t->columnCount(); ++c)
            if (t->horizontalHeaderItem(c)->text() == QStringLiteral("chosen")) chosenCol = c;
        QVERIFY(chosenCol >= 0);
        QCOMPARE(t->item(0, chosenCol)->text(), QStringLiteral("assistant: ") + chosen);
    }

    // DPO with full fine-tuning counts a frozen copy of the weights; with LoRA it counts none.
    void budgetCountsTheReference() {
        ProjectState state;
        const peft::ModelConfig mc = peft::uitest::openTinyLlama(state);
        BudgetPage page(&state);
        page.addCandidate(json{{"peft_type", "FULL"}, {"task_type", "CAUSAL_LM"}});
        page.addCandidate(json{
            {"peft_type", "LORA"}, {"task_type", "CAUSAL_LM"}, {"r", 4}, {"target_modules", {"q_proj", "v_proj"}}});
        page.refresh();
        const qulonglong fullSft = page.table()->item(0, 7)->data(Qt::UserRole).toULongLong();
        const qulonglong loraSft = page.table()->item(1, 7)->data(Qt::UserRole).toULongLong();
        const json dpo = peft::resolveObjectiveConfig(json{{"type", "dpo"}}, "test");
        state.setSection("objective", dpo);
        page.refresh();
        const peft::budget::PreferenceCost c =
            peft::budget::estimateWithObjective(mc, json(), page.optionsFor(page.candidates()[0]), dpo);
        QVERIFY(c.referenceCopyBytes > 0);
        QCOMPARE(page.table()->item(0, 7)->data(Qt::UserRole).toULongLong(), fullSft + c.referenceCopyBytes);
        QCOMPARE(page.table()->item(1, 7)->data(Qt::UserRole).toULongLong(), loraSft);
        QVERIFY2(page.table()->item(0, 4)->toolTip().contains(QStringLiteral("frozen copy")),
                 qPrintable(page.table()->item(0, 4)->toolTip()));
        QVERIFY2(page.table()->item(1, 4)->toolTip().contains(QStringLiteral("adapter switched off")),
                 qPrintable(page.table()->item(1, 4)->toolTip()));
        QVERIFY(page.findChild<QLabel*>(QStringLiteral("budgetAssumes"))->text().contains(QStringLiteral("DPO")));
    }

    // `peft-studio-cli estimate --objective` gives estimateWithObjective's numbers and says what it assumed.
    void estimateCliCountsPairsAndTheReference() {
        const char* cli = std::getenv("PEFT_CLI");
        if (!cli) QSKIP("PEFT_CLI is not set (run through ctest)");
        const QString model = peft::uitest::fixture(QStringLiteral("tiny-llama/base"));
        const QString adapter = peft::uitest::fixture(QStringLiteral("tiny-llama/adapters/lora-qv-r4"));
        QProcess p;
        p.start(QString::fromLocal8Bit(cli),
                {QStringLiteral("estimate"), QStringLiteral("--model"), model, QStringLiteral("--peft-config"), adapter,
                 QStringLiteral("--with-full"), QStringLiteral("--batch-size"), QStringLiteral("3"),
                 QStringLiteral("--seq-len"), QStringLiteral("64"), QStringLiteral("--objective"),
                 QStringLiteral("{\"type\": \"dpo\", \"beta\": 0.2}"), QStringLiteral("--json")});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 0);
        const json out = json::parse(p.readAllStandardOutput().toStdString());
        QCOMPARE(out.size(), size_t(2));
        const peft::ModelConfig mc = peft::ModelConfig::load(model.toStdString());
        const json dpo = peft::resolveObjectiveConfig(json{{"type", "dpo"}, {"beta", 0.2}}, "test");
        peft::budget::BudgetOptions o;
        o.batch = 3;
        o.seqLen = 64;
        const json adapterCfg = peft::readJsonFile((adapter + QStringLiteral("/adapter_config.json")).toStdString());
        for (size_t i = 0; i < 2; ++i) {
            const json& row = out[i];
            QCOMPARE(row["objective"], dpo);
            QCOMPARE(row["pairs_per_step"], json(3));
            QCOMPARE(row["sequences_per_step"], json(6));
            QCOMPARE(row["reference_forward"], json(true));
            const peft::budget::PreferenceCost c =
                peft::budget::estimateWithObjective(mc, i == 0 ? adapterCfg : json(), o, dpo);
            QCOMPARE(row["reference_copy_bytes"].get<uint64_t>(), c.referenceCopyBytes);
            QVERIFY(!row["assumptions"].empty());
        }
        QCOMPARE(out[0]["reference_copy_bytes"], json(0));            // LoRA: the adapter switched off
        QVERIFY(out[1]["reference_copy_bytes"].get<uint64_t>() > 0);  // full fine-tuning: a frozen copy
        // A bad setting is refused with the key named.
        p.setProcessChannelMode(QProcess::MergedChannels);
        p.start(QString::fromLocal8Bit(cli),
                {QStringLiteral("estimate"), QStringLiteral("--model"), model, QStringLiteral("--objective"),
                 QStringLiteral("{\"type\": \"simpo\", \"lambda\": 1}")});
        QVERIFY(p.waitForFinished(60000));
        QVERIFY(p.exitCode() != 0);
        const QByteArray err = p.readAll();
        QVERIFY2(err.contains("objective.lambda"), err.constData());
    }
};

QTEST_MAIN(TstPreferenceGui)
#include "tst_preference_gui.moc"
