// PreferenceEvalPanel: base vs tuned preference accuracy on the validation pairs.
#include "ui/widgets/preference_eval_panel.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>

#include "core/train/objectives/pair_evaluation.h"
#include "core/train/run_config.h"
#include "ui/background_task.h"
#include "ui/project_state.h"
#include "ui/named.h"

namespace peft::ui {

PreferenceEvalPanel::PreferenceEvalPanel(ProjectState* state, QWidget* parent) : QWidget(parent), m_state(state) {
    setObjectName(QStringLiteral("preferenceEval"));
    auto* lay = new QVBoxLayout(this);
    auto* row = new QHBoxLayout();
    m_run = named(new QPushButton(tr("Evaluate the validation &pairs"), this), "evaluate_pairs",
                  tr("Scores every validation pair's chosen and rejected answer with the base model and with the "
                     "tuned model, and counts how often each prefers the chosen one."));
    m_cancel = newCancelButton(this, tr("Cancel"));
    m_progress = newTaskBar(this, tr("not evaluated yet"));
    row->addWidget(m_run);
    row->addWidget(m_cancel);
    row->addWidget(m_progress, 1);
    lay->addLayout(row);
    m_table = named(new QTableWidget(0, 5, this), "pair_results");
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setHorizontalHeaderLabels({tr("Prefers chosen\n(log-prob)"), tr("Prefers chosen\n(per token)"),
                                        tr("Mean log-prob\nmargin"), tr("Reward\naccuracy"),
                                        tr("Mean reward\nmargin")});
    m_table->horizontalHeaderItem(0)->setToolTip(
        tr("Fraction of pairs where the chosen answer's log-probability, summed "
           "over its tokens, is higher than the rejected one's."));
    m_table->horizontalHeaderItem(1)->setToolTip(
        tr("The same with each answer's mean log-probability per token (longer "
           "answers are not penalised)."));
    m_table->horizontalHeaderItem(3)->setToolTip(
        tr("Fraction of pairs where the objective's reward of the chosen answer "
           "is higher (what training reports as eval_rewards_accuracy)."));
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_table->setMaximumHeight(140);
    lay->addWidget(m_table);
    m_note =
        named(new QLabel(tr("Trains on a preference dataset? Evaluate how often the model prefers the chosen answer, "
                            "before (base) and after (tuned) training."),
                         this),
              "pair_note");
    m_note->setWordWrap(true);
    lay->addWidget(m_note);
    lay->addStretch(1);

    m_task = new BackgroundTask(this);
    connect(m_run, &QPushButton::clicked, this, [this] { evaluate(); });
    connect(m_cancel, &QPushButton::clicked, this, &PreferenceEvalPanel::cancel);
    bindTask(m_task, m_progress, m_run, m_cancel);
    connect(m_task, &BackgroundTask::succeeded, this, [this] {
        m_progress->setValue(1000);
        m_progress->setFormat(tr("%1 pairs in %2 s")
                                  .arg(m_report ? m_report->pairs : 0)
                                  .arg(m_report ? m_report->seconds : 0.0, 0, 'f', 1));
        Q_EMIT finished(true);
    });
    connect(m_task, &BackgroundTask::failed, this, [this](const QString& msg) {
        m_progress->setValue(0);
        m_progress->setFormat(tr("failed"));
        m_note->setText(tr("<b>The evaluation failed:</b> %1").arg(msg.toHtmlEscaped()));
        Q_EMIT finished(false);
    });
    connect(m_task, &BackgroundTask::cancelled, this, [this] {
        m_progress->setValue(0);
        m_progress->setFormat(tr("cancelled; the previous results stay"));
        Q_EMIT finished(false);
    });
}

bool PreferenceEvalPanel::isRunning() const { return m_task->isRunning(); }

void PreferenceEvalPanel::cancel() { m_task->cancel(); }

bool PreferenceEvalPanel::evaluate() {
    RunConfig rc;
    try {
        rc = RunConfig::fromJson(m_state->runConfig(), "project");
    } catch (const std::exception& e) {
        m_note->setText(tr("<b>Cannot evaluate:</b> %1").arg(QString::fromUtf8(e.what()).toHtmlEscaped()));
        return false;
    }
    if (rc.model.empty()) {
        m_note->setText(tr("Choose a model on the Model step first."));
        return false;
    }
    m_task->start(tr("Evaluating preference pairs"), [this, rc](const TaskContext& ctx) -> BackgroundTask::Apply {
        PairEvalOptions o;
        o.batchSize = std::max<int64_t>(1, rc.training.batchSize);
        o.cancel = ctx.stopFlag();
        o.onProgress = [&ctx](int64_t done, int64_t total) {
            ctx.progress(tr("pair %1 of %2").arg(done).arg(total),
                         total > 0 ? static_cast<double>(done) / static_cast<double>(total) : -1);
        };
        auto r = std::make_shared<PairEvalReport>(evaluatePreferencePairs(rc, o));
        if (ctx.cancelled() || r->cancelled) return {};
        return [this, r] {
            m_report = r;
            showReport(*r);
        };
    });
    return true;
}

void PreferenceEvalPanel::showReport(const PairEvalReport& r) {
    m_table->setRowCount(static_cast<int>(r.sides.size()));
    QStringList rows;
    for (const auto& s : r.sides)
        rows << (s == "base" ? tr("Base") : s == "tuned" ? tr("Tuned") : QString::fromStdString(s));
    m_table->setVerticalHeaderLabels(rows);
    auto pct = [](double v) {
        return std::isfinite(v) ? QStringLiteral("%1 %").arg(v * 100.0, 0, 'f', 1) : QStringLiteral("—");
    };
    auto num = [](double v) { return std::isfinite(v) ? QString::number(v, 'f', 3) : QStringLiteral("—"); };
    for (size_t i = 0; i < r.sides.size(); ++i) {
        const auto it = r.results.find(r.sides[i]);
        if (it == r.results.end()) continue;
        const PairSideResult& s = it->second;
        const QStringList cells = {pct(s.logpAccuracy), pct(s.perTokenAccuracy), num(s.meanLogpMargin),
                                   pct(s.rewardAccuracy), num(s.meanRewardMargin)};
        for (int c = 0; c < cells.size(); ++c) {
            auto* item = new QTableWidgetItem(cells[c]);
            item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            m_table->setItem(static_cast<int>(i), c, item);
        }
    }
    QString text =
        tr("%1 validation pairs, objective <b>%2</b>. ").arg(r.pairs).arg(QString::fromStdString(r.objective));
    if (r.sides.size() < 2) text += tr("No trained adapter in the run folder yet: only the base model was evaluated. ");
    m_note->setText(text + QString::fromStdString(r.rewardNote).toHtmlEscaped());
}

}  // namespace peft::ui
