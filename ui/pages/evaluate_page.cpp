// Evaluate page: metrics, task evaluation on the validation set, and the side-by-side playground.
#include "ui/pages/evaluate_page.h"

#include "ui/background_task.h"

#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include <QCheckBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QProgressBar>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QShowEvent>
#include <QThread>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "core/data/chat_template.h"
#include "core/eval/evaluator.h"
#include "core/train/run_config.h"
#include "core/util/atomic_file.h"
#include "core/model/generate.h"
#include "core/model/loader.h"
#include "core/peft/method.h"
#include "core/tokenizer/tokenizer.h"
#include "ui/project_state.h"
#include "ui/widgets/preference_eval_panel.h"
#include "ui/widgets/qcp.h"
#include "ui/named.h"

namespace peft::ui {

// One model with the tuned adapter attached; adapterState()->enabled = false gives the base
// model. Only the worker thread touches it, and only one worker runs at a time.
struct EvaluatePage::Loaded {
    std::string modelDir, adapterDir;
    LoadedModel model;
    std::shared_ptr<Tokenizer> tokenizer;
    Adapter adapter;
    LoadedModel full;  // a full fine-tuning run's output: a whole model folder, not an adapter
    bool hasAdapter = false;
};

EvaluatePage::EvaluatePage(ProjectState* state, QWidget* parent)
    : Page(state, tr("Evaluate"),
           tr("How well the tuned model does on the held-out data, and a playground to compare it with the base "
              "model on your own prompt."),
           parent) {
    auto* metrics = new QGroupBox(tr("Latest evaluation"), this);
    auto* form = new QHBoxLayout(metrics);
    auto mk = [&](const QString& name, QLabel*& out) {
        auto* f = new QFormLayout();
        out = new QLabel(QStringLiteral("—"), metrics);
        out->setObjectName(QStringLiteral("metric_") + name);
        QFont big = out->font();
        big.setPointSizeF(big.pointSizeF() * 1.4);
        big.setBold(true);
        out->setFont(big);
        f->addRow(name + QLatin1Char(':'), out);
        form->addLayout(f);
    };
    mk(tr("Eval loss"), m_loss);
    mk(tr("Perplexity"), m_ppl);
    mk(tr("Accuracy"), m_acc);
    body()->addWidget(metrics);

    auto* play = new QGroupBox(tr("Playground"), this);
    auto* pl = new QVBoxLayout(play);
    m_prompt = new QPlainTextEdit(play);
    m_prompt->setPlaceholderText(tr("Type a prompt; both models answer it with the same sampling settings."));
    m_prompt->setMaximumHeight(90);
    pl->addWidget(m_prompt);
    auto* row = new QHBoxLayout();
    row->addWidget(new QLabel(tr("Max new tokens:"), play));
    m_maxTokens = new QSpinBox(play);
    m_maxTokens->setRange(1, 4096);
    m_maxTokens->setValue(64);
    row->addWidget(m_maxTokens);
    m_greedy = new QCheckBox(tr("Greedy (deterministic)"), play);
    m_greedy->setChecked(true);
    m_greedy->setToolTip(tr("Off: sample with temperature 0.8, top-p 0.95 and the same seed for both models."));
    row->addWidget(m_greedy);
    m_generate = named(new QPushButton(tr("G&enerate"), play), "generate");
    row->addWidget(m_generate);
    m_cancel = new QPushButton(tr("Cancel"), play);
    m_cancel->setEnabled(false);
    row->addWidget(m_cancel);
    row->addStretch(1);
    pl->addLayout(row);
    auto* outs = new QHBoxLayout();
    auto mkOut = [&](const QString& title, QPlainTextEdit*& out) {
        auto* box = new QVBoxLayout();
        box->addWidget(new QLabel(QStringLiteral("<b>%1</b>").arg(title), play));
        out = new QPlainTextEdit(play);
        out->setReadOnly(true);
        out->setObjectName(title);
        box->addWidget(out);
        outs->addLayout(box);
    };
    mkOut(tr("Base model"), m_base);
    mkOut(tr("Tuned model"), m_tuned);
    pl->addLayout(outs, 1);
    m_tabs = named(new QTabWidget(this), "evaluate_tabs");

    // Task evaluation: every validation row answered by both models and scored.
    auto* task = new QWidget(m_tabs);
    auto* tl = new QVBoxLayout(task);
    auto* controls = new QHBoxLayout();
    controls->addWidget(new QLabel(tr("Metrics:"), task));
    for (const auto& name : eval::metricNames()) {
        auto* box = new QCheckBox(QString::fromStdString(name), task);
        box->setObjectName(QStringLiteral("metric_box_") + QString::fromStdString(name));
        box->setChecked(name != "acc");
        box->setToolTip(name == "acc" ? tr("Classification: accuracy, macro-F1 and the confusion matrix of the answers")
                                      : tr("Scored as the reference implementation does (see README)"));
        m_metricBoxes.push_back(box);
        controls->addWidget(box);
    }
    controls->addWidget(new QLabel(tr("Rows:"), task));
    m_evalLimit = new QSpinBox(task);
    m_evalLimit->setRange(0, 1000000);
    m_evalLimit->setSpecialValueText(tr("all"));
    m_evalLimit->setToolTip(tr("Evaluate only the first N validation rows (all: every row)."));
    controls->addWidget(m_evalLimit);
    m_evalButton = named(new QPushButton(tr("Evaluate on the vali&dation set"), task), "evaluate_validation",
                         tr("Answer every validation row greedily with the base model and with the tuned model "
                            "(max new tokens from the playground) and score the answers against the references."));
    controls->addWidget(m_evalButton);
    m_evalCancel = new QPushButton(tr("Cancel"), task);
    m_evalCancel->setEnabled(false);
    controls->addWidget(m_evalCancel);
    m_exportButton = new QPushButton(tr("Export C&SV…"), task);
    m_exportButton->setEnabled(false);
    controls->addWidget(m_exportButton);
    controls->addStretch(1);
    tl->addLayout(controls);
    m_evalProgress = new QProgressBar(task);
    m_evalProgress->setVisible(false);
    tl->addWidget(m_evalProgress);
    m_evalSummary = new QLabel(tr("No task evaluation yet."), task);
    m_evalSummary->setWordWrap(true);
    tl->addWidget(m_evalSummary);
    auto* split = new QSplitter(Qt::Horizontal, task);
    m_chart = new QCustomPlot(split);
    m_chart->setMinimumWidth(300);
    m_chart->setMinimumHeight(180);
    m_chart->yAxis->setLabel(tr("score (%)"));
    m_chart->legend->setVisible(true);
    m_rows = named(new QTableWidget(0, 0, split), "eval_rows");
    m_rows->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_rows->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_rows->setSortingEnabled(true);
    m_rows->setWordWrap(false);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 3);
    tl->addWidget(split, 1);
    m_tabs->addTab(task, tr("Task evaluation"));
    m_pairs = new PreferenceEvalPanel(state, m_tabs);
    m_tabs->addTab(m_pairs, tr("Preference pairs"));
    m_tabs->addTab(play, tr("Playground"));
    body()->addWidget(m_tabs, 1);

    connect(m_evalButton, &QPushButton::clicked, this, &EvaluatePage::evaluateValidation);
    connect(m_evalCancel, &QPushButton::clicked, this, &EvaluatePage::cancelEvaluation);
    connect(m_exportButton, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export evaluation rows"),
                                                          QStringLiteral("evaluation.csv"), tr("CSV (*.csv)"));
        if (!path.isEmpty() && exportCsv(path)) banner()->showInfo(tr("Wrote %1.").arg(path));
    });
    connect(
        this, &EvaluatePage::evalProgressed, this,
        [this](int done, int total) {
            m_evalProgress->setMaximum(std::max(1, total));
            m_evalProgress->setValue(done);
            m_evalProgress->setFormat(tr("%v of %m answers"));
        },
        Qt::QueuedConnection);
    connect(
        this, &EvaluatePage::evaluationDone, this,
        [this](const QString& error) {
            reapWorker(m_evalWorker);
            m_evalButton->setEnabled(true);
            m_evalCancel->setEnabled(false);
            m_evalProgress->setVisible(false);
            auto result = std::move(m_pending);
            if (!error.isEmpty()) {
                banner()->showError(error);
                return;
            }
            if (!result) return;
            if (result->cancelled) {
                banner()->showInfo(tr("Evaluation cancelled; the previous results stay."));
                return;
            }
            banner()->clear();
            showReport(*result);
            try {
                const std::string out = this->state()->runConfig().value("output_dir", std::string());
                const std::string path = eval::runReportPath(out);
                std::filesystem::create_directories(std::filesystem::path(path).parent_path());
                eval::writeReport(*result, path, std::filesystem::path(path).replace_extension(".csv").string());
            } catch (const std::exception& e) {
                banner()->showWarning(tr("The evaluation could not be saved in the run folder: %1")
                                          .arg(QString::fromStdString(e.what())));
            }
        },
        Qt::QueuedConnection);
    connect(state, &ProjectState::projectReplaced, this, [this] { loadRunReport(); });
    m_generate->setToolTip(
        tr("The base model answers first, then the same model with the tuned adapter switched on. "
           "The prompt is wrapped in the dataset's prompt template when one is chosen."));
    connect(m_generate, &QPushButton::clicked, this, &EvaluatePage::generate);
    connect(m_cancel, &QPushButton::clicked, this, [this] {
        if (m_cancelFlag) m_cancelFlag->store(true);
    });
    connect(
        this, &EvaluatePage::piece, this,
        [this](bool tuned, const QString& text) {
            QPlainTextEdit* out = tuned ? m_tuned : m_base;
            out->moveCursor(QTextCursor::End);
            out->insertPlainText(text);
        },
        Qt::QueuedConnection);
    connect(
        this, &EvaluatePage::generationDone, this,
        [this](const QString& error) {
            reapWorker(m_worker);
            m_generate->setEnabled(true);
            m_cancel->setEnabled(false);
            if (!error.isEmpty()) banner()->showError(error);
            else banner()->clear();
        },
        Qt::QueuedConnection);
    connect(state, &ProjectState::projectReplaced, this, [this] { loadRunMetrics(); });
}

EvaluatePage::~EvaluatePage() {
    if (m_evalWorker && m_evalCancelFlag) m_evalCancelFlag->store(true);
    if (m_worker && m_cancelFlag) m_cancelFlag->store(true);
    joinWorker(m_evalWorker);
    joinWorker(m_worker);
}

void EvaluatePage::setPrompt(const QString& prompt) { m_prompt->setPlainText(prompt); }

QString EvaluatePage::baseText() const { return m_base->toPlainText(); }
QString EvaluatePage::tunedText() const { return m_tuned->toPlainText(); }

bool EvaluatePage::loadRunMetrics() {
    const std::string out = state()->runConfig().value("output_dir", std::string());
    std::ifstream in(std::filesystem::path(out) / "metrics.jsonl");
    if (!in) return false;
    std::string line;
    bool found = false;
    MetricPoint last;
    while (std::getline(in, line)) {
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) continue;  // a torn last line while training writes
        const MetricPoint p = MetricPoint::fromJson(j);
        if (p.hasEval()) {
            last = p;
            found = true;
        }
    }
    if (found) onMetrics(last);
    return found;
}

std::string playgroundPrompt(const nlohmann::json& runConfig, const std::string& typed) {
    // The tuned model learned the run's prompt template: both models get the prompt in it.
    const nlohmann::json& ds = runConfig.contains("dataset") ? runConfig["dataset"] : nlohmann::json::object();
    const auto kind =
        data::runPromptTemplate(ds.value("template", std::string("auto")), ds.value("format", std::string("auto")),
                                runConfig.value("model", std::string()));
    return kind ? data::generationPrompt(*kind, typed) : typed;
}

void EvaluatePage::generate() {
    if (m_worker) return;
    banner()->clear();
    std::string prompt = m_prompt->toPlainText().toStdString();
    if (prompt.empty()) {
        banner()->showWarning(tr("Type a prompt first."));
        return;
    }
    const auto& cfg = state()->runConfig();
    const std::string modelDir = cfg.value("model", std::string());
    if (modelDir.empty()) {
        banner()->showWarning(tr("Choose a model on the Model page first."));
        return;
    }
    const std::string adapterDir = (std::filesystem::path(cfg.value("output_dir", std::string())) / "adapter").string();
    prompt = playgroundPrompt(cfg, prompt);
    GenerateOptions opts;
    opts.maxNewTokens = m_maxTokens->value();
    opts.greedy = m_greedy->isChecked();
    opts.seed = 1234;
    m_base->clear();
    m_tuned->clear();
    m_generate->setEnabled(false);
    m_cancel->setEnabled(true);
    banner()->showInfo(tr("Generating: the base model first, then the tuned model…"));
    m_cancelFlag = std::make_shared<std::atomic<bool>>(false);
    auto cancel = m_cancelFlag;
    auto loaded = m_loaded;
    m_worker = QThread::create([this, cancel, loaded, modelDir, adapterDir, prompt, opts]() mutable {
        QString error;
        try {
            namespace fs = std::filesystem;
            // A full fine-tuning run writes a model folder (config.json + weights) where an adapter would be.
            const bool haveFull = !fs::exists(fs::path(adapterDir) / "adapter_config.json") &&
                fs::exists(fs::path(adapterDir) / "config.json") &&
                fs::exists(fs::path(adapterDir) / "model.safetensors");
            const bool haveAdapter = haveFull || fs::exists(fs::path(adapterDir) / "adapter_config.json");
            if (!loaded || loaded->modelDir != modelDir ||
                loaded->adapterDir != (haveAdapter ? adapterDir : std::string())) {
                auto l = std::make_shared<Loaded>();
                l->modelDir = modelDir;
                l->model = loadModel(modelDir);
                l->tokenizer = Tokenizer::load(modelDir);
                if (haveFull) {
                    l->full = loadModel(adapterDir);
                    l->full.model->eval();
                    l->adapterDir = adapterDir;
                    l->hasAdapter = true;
                } else if (haveAdapter) {
                    l->adapter = loadAdapter(*l->model.model, adapterDir);
                    l->adapterDir = adapterDir;
                    l->hasAdapter = true;
                }
                l->model.model->eval();
                loaded = l;
                QMetaObject::invokeMethod(
                    this, [this, l] { m_loaded = l; }, Qt::QueuedConnection);
            }
            torch::NoGradGuard noGrad;
            auto stream = [&](bool tuned) {
                return [this, tuned, cancel](const std::string& text) {
                    Q_EMIT piece(tuned, QString::fromStdString(text));
                    return !cancel->load();
                };
            };
            auto adapterState = loaded->model.model->adapterState();
            // One model, never two generations at once: base = adapter switched off.
            adapterState->enabled = false;
            auto noAnswer = [this](bool tuned) {
                Q_EMIT piece(tuned, tr("(no answer: the model ended the sequence at once)"));
            };
            if (generateText(*loaded->model.model, *loaded->tokenizer, prompt, opts, stream(false)).empty())
                noAnswer(false);
            adapterState->enabled = true;
            if (!loaded->hasAdapter) {
                Q_EMIT piece(true,
                             tr("No trained adapter at %1 yet: train on the Train page first.")
                                 .arg(QString::fromStdString(adapterDir)));
            } else if (!cancel->load()) {
                CausalLMImpl& tuned = loaded->full.model ? *loaded->full.model : *loaded->model.model;
                if (generateText(tuned, *loaded->tokenizer, prompt, opts, stream(true)).empty()) noAnswer(true);
            }
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
        }
        Q_EMIT generationDone(error);
    });
    m_worker->setObjectName(QStringLiteral("playground"));
    m_worker->start();
}

void EvaluatePage::onMetrics(const MetricPoint& p) {
    if (!p.hasEval()) return;
    m_loss->setText(QString::number(p.evalLoss, 'f', 4));
    m_ppl->setText(std::isfinite(p.evalPerplexity) ? QString::number(p.evalPerplexity, 'f', 2) : QStringLiteral("—"));
    // A preference run (DPO, ORPO, SimPO) has no perplexity; its accuracy is the reward accuracy on
    // the validation pairs (the chosen answer's reward above the rejected one's).
    const double rewardAcc = p.objectiveMetric("eval_rewards_accuracy");
    const bool preference = std::isfinite(rewardAcc);
    m_ppl->setToolTip(
        preference ? tr("A preference loss has no perplexity: see the reward accuracy and the Preference pairs tab.")
                   : tr("exp(eval loss): the tuned model's perplexity on the validation split."));
    const double acc = std::isfinite(p.evalAccuracy) ? p.evalAccuracy : rewardAcc;
    m_acc->setText(std::isfinite(acc) ? QStringLiteral("%1 %").arg(acc * 100.0, 0, 'f', 1) : QStringLiteral("—"));
    m_acc->setToolTip(
        preference ? tr("Reward accuracy: the share of validation pairs whose chosen answer gets the higher reward.")
                   : tr("Classification accuracy on the validation split."));
}

QString EvaluatePage::metricText(const QString& name) const {
    if (auto* l = findChild<QLabel*>(QStringLiteral("metric_") + name)) return l->text();
    return {};
}

void EvaluatePage::setEvalLimit(int limit) { m_evalLimit->setValue(limit); }

void EvaluatePage::cancelEvaluation() {
    if (m_evalCancelFlag) m_evalCancelFlag->store(true);
}

void EvaluatePage::evaluateValidation() {
    if (m_evalWorker) return;
    banner()->clear();
    const nlohmann::json cfgJson = state()->runConfig();
    eval::EvalJob job;
    try {
        RunConfig rc = RunConfig::fromJson(cfgJson, "project");
        if (rc.model.empty()) {
            banner()->showWarning(tr("Choose a model on the Model page first."));
            return;
        }
        job = eval::jobForRun(rc);
    } catch (const std::exception& e) {
        showException(e);
        return;
    }
    if (job.adapterDir.empty() && job.tunedModelDir.empty())
        banner()->showInfo(tr("No trained adapter in the run folder yet: only the base model is evaluated."));
    job.eval.metrics.clear();
    for (auto* box : m_metricBoxes)
        if (box->isChecked()) job.eval.metrics.push_back(box->text().remove(QLatin1Char('&')).toStdString());
    if (job.eval.metrics.empty()) {
        banner()->showWarning(tr("Tick at least one metric."));
        return;
    }
    job.limit = m_evalLimit->value() > 0 ? m_evalLimit->value() : -1;
    job.eval.maxNewTokens = m_maxTokens->value();
    m_evalCancelFlag = std::make_shared<std::atomic<bool>>(false);
    job.eval.cancel = m_evalCancelFlag.get();
    auto cancel = m_evalCancelFlag;  // kept alive by the worker
    job.eval.onProgress = [this](int64_t done, int64_t total) {
        Q_EMIT evalProgressed(static_cast<int>(done), static_cast<int>(total));
    };
    m_evalButton->setEnabled(false);
    m_evalCancel->setEnabled(true);
    m_evalProgress->setVisible(true);
    m_evalProgress->setRange(0, 0);  // busy until the first answer: loading and preparing
    m_evalProgress->setFormat(tr("Loading the model and the validation rows…"));
    m_evalWorker = QThread::create([this, job, cancel]() {
        QString error;
        try {
            auto r = std::make_shared<eval::EvalReport>(eval::runEvalJob(job));
            QMetaObject::invokeMethod(
                this, [this, r] { m_pending = r; }, Qt::QueuedConnection);
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
        }
        Q_EMIT evaluationDone(error);
    });
    m_evalWorker->setObjectName(QStringLiteral("task-evaluation"));
    m_evalWorker->start();
}

namespace {
// Numeric cells sort as numbers.
QTableWidgetItem* numberItem(double v) {
    auto* it = new QTableWidgetItem();
    it->setData(Qt::DisplayRole, std::round(v * 10000.0) / 10000.0);
    it->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return it;
}
QTableWidgetItem* textItem(const std::string& s) {
    const QString q = QString::fromStdString(s);
    auto* it = new QTableWidgetItem(QString(q).replace(QLatin1Char('\n'), QStringLiteral(" ⏎ ")));
    it->setToolTip(q);
    return it;
}
}  // namespace

void EvaluatePage::showReport(const eval::EvalReport& r) {
    m_report = std::make_shared<eval::EvalReport>(r);
    m_exportButton->setEnabled(true);
    // Summary line: each metric, base -> tuned.
    QStringList parts;
    for (const auto& m : r.metrics) {
        QStringList vals;
        for (const auto& side : r.sides) {
            auto a = r.aggregate.find(side);
            double v = std::nan("");
            if (a != r.aggregate.end() && a->second.count(m)) v = a->second.at(m);
            vals << QString::number(v, 'f', 3);
        }
        parts << QStringLiteral("%1 %2").arg(QString::fromStdString(m), vals.join(QStringLiteral(" → ")));
    }
    m_evalSummary->setText(tr("%1 validation rows, %2: %3")
                               .arg(r.rows.size())
                               .arg(QString::fromStdString([&] {
                                   std::string s;
                                   for (const auto& x : r.sides) s += (s.empty() ? "" : " → ") + x;
                                   return s;
                               }()))
                               .arg(parts.join(QStringLiteral(", "))));

    // Bars: every metric in percent, base and tuned side by side.
    m_chart->clearPlottables();
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    const QColor colors[] = {QColor(127, 127, 127), QColor(31, 119, 180)};
    const double width = 0.8 / static_cast<double>(std::max<size_t>(1, r.sides.size()));
    double top = 10;
    for (size_t s = 0; s < r.sides.size(); ++s) {
        auto* bars = new QCPBars(m_chart->xAxis, m_chart->yAxis);
        bars->setName(QString::fromStdString(r.sides[s]));
        bars->setWidth(width);
        bars->setBrush(colors[std::min<size_t>(s + (r.sides.size() == 1 && r.sides[0] == "tuned" ? 1 : 0), 1)]);
        bars->setPen(Qt::NoPen);
        QVector<double> keys, vals;
        for (size_t m = 0; m < r.metrics.size(); ++m) {
            const auto metric = eval::makeMetric(r.metrics[m]);
            double v = 0;
            auto a = r.aggregate.find(r.sides[s]);
            if (a != r.aggregate.end() && a->second.count(r.metrics[m])) v = a->second.at(r.metrics[m]);
            if (!std::isfinite(v)) v = 0;
            const double pct = v * 100.0 / metric->scale();
            keys << static_cast<double>(m + 1) +
                    (static_cast<double>(s) - (static_cast<double>(r.sides.size()) - 1) / 2) * width;
            vals << pct;
            top = std::max(top, pct);
        }
        bars->setData(keys, vals);
    }
    for (size_t m = 0; m < r.metrics.size(); ++m)
        ticker->addTick(static_cast<double>(m + 1), QString::fromStdString(r.metrics[m]));
    m_chart->xAxis->setTicker(ticker);
    m_chart->xAxis->setRange(0.4, static_cast<double>(r.metrics.size()) + 0.6);
    m_chart->yAxis->setRange(0, std::min(100.0, top * 1.15 + 1));
    m_chart->replot();

    // Rows: index, prompt, reference, answers, per side and metric the score.
    QStringList headers = {tr("#"), tr("Line"), tr("Prompt"), tr("Reference")};
    for (const auto& side : r.sides) headers << tr("%1 answer").arg(QString::fromStdString(side));
    for (const auto& m : r.metrics)
        for (const auto& side : r.sides)
            headers << QStringLiteral("%1 %2").arg(QString::fromStdString(m), QString::fromStdString(side));
    if (r.sides.size() == 2) headers << tr("Same answer");
    m_rows->setSortingEnabled(false);
    m_rows->clear();
    m_rows->setColumnCount(headers.size());
    m_rows->setHorizontalHeaderLabels(headers);
    m_rows->setRowCount(static_cast<int>(r.rows.size()));
    const QColor changed(255, 243, 205), better(212, 237, 218), worse(248, 215, 218);
    for (size_t i = 0; i < r.rows.size(); ++i) {
        const auto& row = r.rows[i];
        const int ri = static_cast<int>(i);
        int c = 0;
        m_rows->setItem(ri, c++, numberItem(static_cast<double>(row.index)));
        m_rows->setItem(ri, c++, numberItem(static_cast<double>(row.line)));
        m_rows->setItem(ri, c++, textItem(row.prompt));
        std::string ref;
        for (const auto& x : row.references) ref += (ref.empty() ? "" : " | ") + x;
        m_rows->setItem(ri, c++, textItem(ref));
        const bool differ = r.sides.size() == 2 && row.answers.count("base") && row.answers.count("tuned") &&
            row.answers.at("base") != row.answers.at("tuned");
        for (const auto& side : r.sides) {
            auto* it = textItem(row.answers.count(side) ? row.answers.at(side) : std::string());
            if (differ) it->setBackground(changed);
            m_rows->setItem(ri, c++, it);
        }
        for (const auto& m : r.metrics) {
            double base = std::nan("");
            for (const auto& side : r.sides) {
                double v = std::nan("");
                auto sc = row.scores.find(side);
                if (sc != row.scores.end() && sc->second.count(m)) v = sc->second.at(m);
                auto* it = numberItem(v);
                if (side == "base") base = v;
                else if (std::isfinite(base) && v > base) it->setBackground(better);
                else if (std::isfinite(base) && v < base) it->setBackground(worse);
                m_rows->setItem(ri, c++, it);
            }
        }
        if (r.sides.size() == 2) m_rows->setItem(ri, c++, new QTableWidgetItem(differ ? tr("no") : tr("yes")));
    }
    m_rows->setSortingEnabled(true);
    m_rows->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    for (int c = 2; c < 4 + static_cast<int>(r.sides.size()); ++c) m_rows->setColumnWidth(c, 220);
}

bool EvaluatePage::loadRunReport() {
    const std::string out = state()->runConfig().value("output_dir", std::string());
    const std::string path = eval::runReportPath(out);
    if (out.empty() || !std::filesystem::exists(path)) return false;
    try {
        showReport(eval::readReport(path));
        return true;
    } catch (const std::exception& e) {
        banner()->showWarning(tr("The saved evaluation could not be read: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
}

bool EvaluatePage::exportCsv(const QString& path) {
    if (!m_report) {
        banner()->showWarning(tr("Evaluate first: there are no rows to export."));
        return false;
    }
    try {
        writeFileAtomic(path.toStdString(), m_report->toCsv());
        return true;
    } catch (const std::exception& e) {
        showException(e);
        return false;
    }
}

void EvaluatePage::showPairsTab() { m_tabs->setCurrentWidget(m_pairs); }

}  // namespace peft::ui
