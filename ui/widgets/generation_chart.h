// The Train page's chart of generation metrics during training (training.generation_eval_every):
// one line per metric (gen_em, gen_rougeL, ...) in percent, hidden until a step reports one.
#pragma once
#include <map>
#include <string>

#include "ui/metric_point.h"
#include "ui/widgets/metric_chart.h"

namespace peft::ui {

class GenerationChart : public MetricChart {
    Q_OBJECT
public:
    explicit GenerationChart(QWidget* parent = nullptr);
    // Adds the point's generation metrics (a series per metric, made on first sight); steps
    // without them change nothing. The owner shows the chart once hasData().
    void append(const MetricPoint& p);
    // Drops every series and hides the chart (a new run).
    void reset();
    bool hasData() const { return !m_series.empty(); }
    // Series id of a metric (em, rougeL, ...), -1 when no step reported it.
    int seriesOf(const std::string& metric) const;

private:
    std::map<std::string, int> m_series;
};

}  // namespace peft::ui
