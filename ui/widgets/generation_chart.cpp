// GenerationChart: a MetricChart whose series follow the generation metrics the trainer reports.
#include "ui/widgets/generation_chart.h"

#include "core/eval/text_metric.h"
#include "ui/widgets/qcp.h"

namespace peft::ui {

namespace {
// sacreBLEU's metrics are percentages already; the others are fractions. The registry knows which.
double percentScale(const std::string& metric) {
    try {
        return 100.0 / eval::makeMetric(metric)->scale();
    } catch (const std::exception&) {
        return 100.0;  // a derived number such as macro_f1: a fraction
    }
}
}  // namespace

GenerationChart::GenerationChart(QWidget* parent) : MetricChart(tr("Generation metrics on validation rows"), parent) {
    setObjectName(QStringLiteral("generationChart"));
    setAxisLabels(tr("step"), tr("score (%)"));
    setToolTip(
        tr("Every generation_eval_every steps the model answers the first validation rows greedily; "
           "its answers are scored against the references as on the Evaluate page."));
    setVisible(false);
    // Up to six metrics: the legend goes in one row under the plot, not over the lines.
    QCustomPlot* p = plot();
    p->axisRect()->insetLayout()->take(p->legend);
    p->plotLayout()->addElement(2, 0, p->legend);
    p->plotLayout()->setRowStretchFactor(2, 0.001);
    p->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    p->legend->setWrap(6);
}

int GenerationChart::seriesOf(const std::string& metric) const {
    auto it = m_series.find(metric);
    return it == m_series.end() ? -1 : it->second;
}

void GenerationChart::append(const MetricPoint& p) {
    if (p.generation.empty()) return;
    static const QColor kColors[] = {QColor(31, 119, 180),  QColor(214, 39, 40),  QColor(44, 160, 44),
                                     QColor(148, 103, 189), QColor(255, 127, 14), QColor(23, 190, 207)};
    for (const auto& [name, value] : p.generation) {
        int id = seriesOf(name);
        if (id < 0) {
            id = addSeries(QString::fromStdString(name), kColors[m_series.size() % 6], true);
            m_series[name] = id;
        }
        MetricChart::append(id, static_cast<double>(p.step), value * percentScale(name));
    }
}

void GenerationChart::reset() {
    removeAllSeries();
    m_series.clear();
    setVisible(false);
}

}  // namespace peft::ui
