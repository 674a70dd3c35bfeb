// A live line chart on QCustomPlot that stays smooth at 100k+ points: every point is kept in a
// vector, but only a min/max-per-pixel-bucket decimated copy is plotted, and replots are
// coalesced to at most ~10 per second (QCustomPlot::rpQueuedReplot).
#pragma once
#include <QColor>
#include <QWidget>

#include <cstddef>
#include <vector>

class QCustomPlot;
class QCPGraph;
class QTimer;

namespace peft::ui {

class MetricChart : public QWidget {
    Q_OBJECT
public:
    explicit MetricChart(const QString& title, QWidget* parent = nullptr);

    // Adds a line series; returns its id.
    int addSeries(const QString& name, const QColor& color, bool markers = false);
    // A series that follows the debiased exponential moving average of `source`
    // (weight 0.9 ~ TensorBoard's default smoothing). Appending to `source` feeds it.
    int addSmoothedSeries(int source, const QString& name, const QColor& color, double weight = 0.9);
    void setSeriesVisible(int series, bool visible);

    void append(int series, double x, double y);
    // Drops every point (series stay).
    void clearData();
    // Removes every series.
    void removeAllSeries();

    void setLogY(bool on);
    void setAxisLabels(const QString& x, const QString& y);

    std::size_t pointCount(int series) const;
    // Points handed to QCustomPlot after decimation (what is drawn).
    std::size_t plottedCount(int series) const;
    int seriesCount() const { return static_cast<int>(m_series.size()); }
    // Rebuilds the decimated copies and replots now (tests, export).
    void flush();
    // Replots requested since construction (coalesced ones count once).
    int replotCount() const { return m_replots; }
    QCustomPlot* plot() const { return m_plot; }
    bool savePng(const QString& path, int width = 900, int height = 500);

    // Decimates (x, y) into at most ~2*buckets points keeping each bucket's min and max in order.
    static void decimate(const std::vector<double>& x, const std::vector<double>& y, int buckets,
                         std::vector<double>& outX, std::vector<double>& outY);

protected:
    void changeEvent(QEvent* e) override;

private:
    struct Series {
        QCPGraph* graph = nullptr;
        std::vector<double> x, y;
        bool dirty = false;
        std::size_t plotted = 0;
        int smoothed = -1;  // id of the series smoothing this one
        double weight = 0.9;
        double ema = 0.0;
        std::size_t emaCount = 0;
    };
    void rebuild();
    void applyPalette();
    void scheduleRefresh();
    QCustomPlot* m_plot;
    QTimer* m_timer;
    std::vector<Series> m_series;
    bool m_logY = false;
    int m_replots = 0;
};

}  // namespace peft::ui
