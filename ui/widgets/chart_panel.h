// ChartPanel: a panel of MetricCharts fed one MetricPoint at a time (the Train page's
// TrainingCharts and PreferenceCharts). It keeps the list of its charts with the file each is
// saved as, so flushing, clearing and writing the run report's PNGs are written once.
#pragma once
#include <QString>
#include <QWidget>

#include <vector>

#include "ui/metric_point.h"

namespace peft::ui {

class MetricChart;

class ChartPanel : public QWidget {
public:
    using QWidget::QWidget;
    virtual void append(const MetricPoint& p) = 0;
    // Drops every point (a new run).
    virtual void clear() = 0;
    // Draws what arrived since the last flush, in every chart.
    void flush();
    // Writes each chart as its file into `dir`; a chart the panel hides (no data of its kind in
    // this run) is left out.
    bool savePngs(const QString& dir);

protected:
    // Registers `chart` (a child of this panel), saved as `file` by savePngs().
    MetricChart* addChart(MetricChart* chart, const QString& file);
    // clearData() on every chart.
    void clearCharts();

private:
    struct Entry {
        MetricChart* chart;
        QString file;
    };
    std::vector<Entry> m_charts;
};

}  // namespace peft::ui
