// PreferenceCharts: three (ORPO: four) MetricCharts in a row, fed the objective metrics of each step.
#include "ui/widgets/preference_charts.h"

#include <QHBoxLayout>

#include "ui/widgets/metric_chart.h"

namespace peft::ui {

PreferenceCharts::PreferenceCharts(QWidget* parent) : ChartPanel(parent) {
    setObjectName(QStringLiteral("preferenceCharts"));
    auto* row = new QHBoxLayout(this);
    row->setContentsMargins(0, 0, 0, 0);
    m_accuracy = new MetricChart(tr("Reward accuracy"), this);
    m_acc = m_accuracy->addSeries(tr("train"), QColor(31, 119, 180));
    // A batch holds a few pairs, so its accuracy jumps in steps of 1/pairs: the trend is the smoothed line.
    m_accSmooth = m_accuracy->addSmoothedSeries(m_acc, tr("train (smoothed)"), QColor(31, 119, 180));
    m_accEval = m_accuracy->addSeries(tr("validation"), QColor(214, 39, 40), true);
    m_accuracy->setAxisLabels(tr("step"), tr("chosen > rejected"));
    m_margin = new MetricChart(tr("Reward margin"), this);
    m_marg = m_margin->addSeries(tr("train"), QColor(44, 160, 44));
    m_margEval = m_margin->addSeries(tr("validation"), QColor(214, 39, 40), true);
    m_margin->setAxisLabels(tr("step"), tr("chosen − rejected"));
    m_rewards = new MetricChart(tr("Rewards: chosen vs rejected"), this);
    m_chosen = m_rewards->addSeries(tr("chosen"), QColor(44, 160, 44));
    m_rejected = m_rewards->addSeries(tr("rejected"), QColor(214, 39, 40));
    m_rewards->setAxisLabels(tr("step"), tr("reward"));
    m_orpo = new MetricChart(tr("ORPO terms"), this);
    m_nll = m_orpo->addSeries(tr("NLL of chosen"), QColor(148, 103, 189));
    m_logOdds = m_orpo->addSeries(tr("log odds ratio"), QColor(255, 127, 14));
    m_orpo->setAxisLabels(tr("step"), QString());
    for (MetricChart* c : {m_accuracy, m_margin, m_rewards, m_orpo}) row->addWidget(c);
    addChart(m_accuracy, QStringLiteral("rewards_accuracy.png"));
    addChart(m_margin, QStringLiteral("rewards_margin.png"));
    addChart(m_rewards, QStringLiteral("rewards.png"));
    addChart(m_orpo, QStringLiteral("orpo.png"));  // hidden until a step reports ORPO's terms
    m_orpo->hide();
    hide();
}

void PreferenceCharts::append(const MetricPoint& p) {
    const double acc = p.objectiveMetric("rewards_accuracy");
    const double evalAcc = p.objectiveMetric("eval_rewards_accuracy");
    if (std::isnan(acc) && std::isnan(evalAcc)) return;  // not a preference step
    if (!m_seen) {
        m_seen = true;
        show();
    }
    const double x = static_cast<double>(p.step);
    m_accuracy->append(m_acc, x, acc);
    m_accuracy->append(m_accEval, x, evalAcc);
    m_margin->append(m_marg, x, p.objectiveMetric("rewards_margin"));
    m_margin->append(m_margEval, x, p.objectiveMetric("eval_rewards_margin"));
    m_rewards->append(m_chosen, x, p.objectiveMetric("rewards_chosen"));
    m_rewards->append(m_rejected, x, p.objectiveMetric("rewards_rejected"));
    const double nll = p.objectiveMetric("nll_loss");
    if (!std::isnan(nll) && m_orpo->isHidden()) m_orpo->show();
    m_orpo->append(m_nll, x, nll);
    m_orpo->append(m_logOdds, x, p.objectiveMetric("log_odds_ratio"));
}

void PreferenceCharts::clear() {
    clearCharts();
    m_orpo->hide();
    m_seen = false;
    hide();
}

}  // namespace peft::ui
