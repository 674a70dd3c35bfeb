#include "ui/widgets/chart_panel.h"

#include <QDir>

#include "ui/widgets/metric_chart.h"

namespace peft::ui {

MetricChart* ChartPanel::addChart(MetricChart* chart, const QString& file) {
    m_charts.push_back({chart, file});
    return chart;
}

void ChartPanel::flush() {
    for (const Entry& e : m_charts) e.chart->flush();
}

void ChartPanel::clearCharts() {
    for (const Entry& e : m_charts) e.chart->clearData();
}

bool ChartPanel::savePngs(const QString& dir) {
    const QDir d(dir);
    for (const Entry& e : m_charts)
        if (!e.chart->isHidden() && !e.chart->savePng(d.filePath(e.file))) return false;
    return true;
}

}  // namespace peft::ui
