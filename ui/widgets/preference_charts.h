// The Train page's charts for a preference run (DPO, ORPO, SimPO): reward accuracy, reward
// margin, and chosen vs rejected rewards, each with the validation pairs' value after an
// evaluation; ORPO's NLL and log-odds ratio when the run reports them. Fed the same MetricPoints
// as TrainingCharts; hidden until a point carries preference metrics.
#pragma once
#include "ui/widgets/chart_panel.h"

namespace peft::ui {

class MetricChart;

class PreferenceCharts : public ChartPanel {
    Q_OBJECT
public:
    explicit PreferenceCharts(QWidget* parent = nullptr);
    // Adds the point's preference metrics; the first point that has them shows the charts.
    void append(const MetricPoint& p) override;
    // Drops every point and hides the charts (a new run may be SFT).
    void clear() override;
    // True once a point with preference metrics arrived since the last clear().
    bool hasPreferenceData() const { return m_seen; }
    MetricChart* accuracyChart() const { return m_accuracy; }
    MetricChart* marginChart() const { return m_margin; }
    MetricChart* rewardsChart() const { return m_rewards; }
    MetricChart* orpoChart() const { return m_orpo; }
    // Series ids.
    int accuracySeries() const { return m_acc; }
    int evalAccuracySeries() const { return m_accEval; }
    int marginSeries() const { return m_marg; }
    int evalMarginSeries() const { return m_margEval; }
    int chosenSeries() const { return m_chosen; }
    int rejectedSeries() const { return m_rejected; }
    int nllSeries() const { return m_nll; }
    int logOddsSeries() const { return m_logOdds; }
    // savePngs() writes rewards_accuracy.png, rewards_margin.png, rewards.png (and orpo.png).

private:
    MetricChart* m_accuracy;
    MetricChart* m_margin;
    MetricChart* m_rewards;
    MetricChart* m_orpo;
    int m_acc, m_accSmooth, m_accEval, m_marg, m_margEval, m_chosen, m_rejected, m_nll, m_logOdds;
    bool m_seen = false;
};

}  // namespace peft::ui
