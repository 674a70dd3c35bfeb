// MetricChart: full data in vectors, decimated copy in QCustomPlot, throttled replots.
#include "ui/widgets/metric_chart.h"

#include <QEvent>
#include <QTimer>
#include <QVBoxLayout>

#include "ui/widgets/qcp.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace peft::ui {

namespace {
constexpr int kRefreshMs = 100;  // at most ~10 replots per second
}

MetricChart::MetricChart(const QString& title, QWidget* parent) : QWidget(parent) {
    auto* lay = new QVBoxLayout(this);
    lay->setContentsMargins(0, 0, 0, 0);
    m_plot = new QCustomPlot(this);
    m_plot->setMinimumSize(240, 140);  // three rows of charts under the Train page's settings fit 1280x800
    m_plot->setNoAntialiasingOnDrag(true);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->plotLayout()->insertRow(0);
    auto* titleElement = new QCPTextElement(m_plot, title, QFont(font().family(), font().pointSize(), QFont::Bold));
    titleElement->setObjectName(QStringLiteral("title"));
    m_plot->plotLayout()->addElement(0, 0, titleElement);
    m_plot->legend->setVisible(false);
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    lay->addWidget(m_plot);
    m_timer = new QTimer(this);
    m_timer->setSingleShot(true);
    m_timer->setInterval(kRefreshMs);
    connect(m_timer, &QTimer::timeout, this, &MetricChart::rebuild);
    setAccessibleName(title);
    applyPalette();
}

int MetricChart::addSeries(const QString& name, const QColor& color, bool markers) {
    Series s;
    s.graph = m_plot->addGraph();
    s.graph->setName(name);
    s.graph->setPen(QPen(color, markers ? 1.5 : 1.2));
    s.graph->setAdaptiveSampling(true);
    if (markers) s.graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, color, color, 5));
    m_series.push_back(std::move(s));
    m_plot->legend->setVisible(m_series.size() > 1);
    return static_cast<int>(m_series.size()) - 1;
}

int MetricChart::addSmoothedSeries(int source, const QString& name, const QColor& color, double weight) {
    const int id = addSeries(name, color);
    m_series[id].graph->setPen(QPen(color, 2.0));
    m_series[source].smoothed = id;
    m_series[source].weight = weight;
    // A faint raw line under a bold smoothed one, as loss curves are usually read.
    QColor faint = m_series[source].graph->pen().color();
    faint.setAlpha(110);
    m_series[source].graph->setPen(QPen(faint, 1.0));
    return id;
}

void MetricChart::setSeriesVisible(int series, bool visible) {
    m_series.at(series).graph->setVisible(visible);
    m_series.at(series).dirty = true;
    scheduleRefresh();
}

void MetricChart::append(int series, double x, double y) {
    Series& s = m_series.at(series);
    if (!std::isfinite(y)) return;  // NaN/inf are reported by the trainer, not drawn
    s.x.push_back(x);
    s.y.push_back(y);
    s.dirty = true;
    if (s.smoothed >= 0) {
        s.ema = s.weight * s.ema + (1.0 - s.weight) * y;
        ++s.emaCount;
        const double debiased = s.ema / (1.0 - std::pow(s.weight, static_cast<double>(s.emaCount)));
        Series& sm = m_series[s.smoothed];
        sm.x.push_back(x);
        sm.y.push_back(debiased);
        sm.dirty = true;
    }
    scheduleRefresh();
}

void MetricChart::clearData() {
    for (auto& s : m_series) {
        s.x.clear();
        s.y.clear();
        s.ema = 0.0;
        s.emaCount = 0;
        s.dirty = true;
    }
    scheduleRefresh();
}

void MetricChart::removeAllSeries() {
    m_plot->clearGraphs();
    m_series.clear();
    m_plot->legend->setVisible(false);
    scheduleRefresh();
}

void MetricChart::setLogY(bool on) {
    m_logY = on;
    if (on) {
        m_plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
        m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    } else {
        m_plot->yAxis->setScaleType(QCPAxis::stLinear);
        m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    }
    for (auto& s : m_series) s.dirty = true;
    scheduleRefresh();
}

void MetricChart::setAxisLabels(const QString& x, const QString& y) {
    m_plot->xAxis->setLabel(x);
    m_plot->yAxis->setLabel(y);
}

std::size_t MetricChart::pointCount(int series) const { return m_series.at(series).x.size(); }
std::size_t MetricChart::plottedCount(int series) const { return m_series.at(series).plotted; }

void MetricChart::scheduleRefresh() {
    if (!m_timer->isActive()) m_timer->start();
}

void MetricChart::flush() {
    m_timer->stop();
    rebuild();
}

void MetricChart::decimate(const std::vector<double>& x, const std::vector<double>& y, int buckets,
                           std::vector<double>& outX, std::vector<double>& outY) {
    outX.clear();
    outY.clear();
    const std::size_t n = x.size();
    if (buckets < 1) buckets = 1;
    if (n <= static_cast<std::size_t>(2 * buckets)) {
        outX = x;
        outY = y;
        return;
    }
    const double x0 = x.front(), x1 = x.back();
    const double span = x1 > x0 ? x1 - x0 : 1.0;
    outX.reserve(2 * buckets + 2);
    outY.reserve(2 * buckets + 2);
    std::size_t i = 0;
    while (i < n) {
        // Points are in append order (steps rise); a bucket is a run of points in one pixel column.
        const long b = std::clamp(static_cast<long>((x[i] - x0) / span * buckets), 0L, static_cast<long>(buckets));
        std::size_t lo = i, hi = i, j = i;
        for (; j < n; ++j) {
            const long bj = std::clamp(static_cast<long>((x[j] - x0) / span * buckets), 0L, static_cast<long>(buckets));
            if (bj != b) break;
            if (y[j] < y[lo]) lo = j;
            if (y[j] > y[hi]) hi = j;
        }
        const std::size_t first = std::min(lo, hi), second = std::max(lo, hi);
        outX.push_back(x[first]);
        outY.push_back(y[first]);
        if (second != first) {
            outX.push_back(x[second]);
            outY.push_back(y[second]);
        }
        i = j;
    }
}

void MetricChart::rebuild() {
    const int buckets = std::max(200, m_plot->axisRect()->width());
    std::vector<double> dx, dy;
    bool any = false;
    for (auto& s : m_series) {
        if (!s.dirty) continue;
        s.dirty = false;
        any = true;
        decimate(s.x, s.y, buckets, dx, dy);
        QVector<QCPGraphData> data(static_cast<int>(dx.size()));
        for (std::size_t k = 0; k < dx.size(); ++k) data[static_cast<int>(k)] = QCPGraphData(dx[k], dy[k]);
        s.graph->data()->set(data, true);
        s.plotted = dx.size();
    }
    if (!any) return;
    // Fit the axes to everything visible.
    bool found = false;
    QCPRange xr, yr;
    for (const auto& s : m_series) {
        if (!s.graph->visible() || s.graph->dataCount() == 0) continue;
        bool okX = false, okY = false;
        QCPRange rx = s.graph->getKeyRange(okX);
        QCPRange ry = s.graph->getValueRange(okY, QCP::sdBoth);
        if (m_logY) ry = s.graph->getValueRange(okY, QCP::sdPositive);
        if (!okX || !okY) continue;
        if (!found) xr = rx, yr = ry, found = true;
        else xr.expand(rx), yr.expand(ry);
    }
    if (found) {
        if (xr.size() <= 0) xr = QCPRange(xr.lower - 1, xr.upper + 1);
        if (m_logY) {
            yr = QCPRange(yr.lower / 1.3, yr.upper * 1.3);
        } else {
            const double pad = yr.size() > 0 ? yr.size() * 0.06 : std::max(1e-12, std::abs(yr.upper) * 0.1 + 1e-9);
            yr = QCPRange(yr.lower - pad, yr.upper + pad);
        }
        m_plot->xAxis->setRange(xr);
        m_plot->yAxis->setRange(yr);
    }
    ++m_replots;
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

bool MetricChart::savePng(const QString& path, int width, int height) {
    flush();
    return m_plot->savePng(path, width, height);
}

void MetricChart::changeEvent(QEvent* e) {
    if (e->type() == QEvent::PaletteChange) applyPalette();
    QWidget::changeEvent(e);
}

void MetricChart::applyPalette() {
    const QPalette pal = palette();
    const QColor bg = pal.color(QPalette::Base);
    const QColor fg = pal.color(QPalette::Text);
    QColor grid = fg;
    grid.setAlpha(40);
    m_plot->setBackground(bg);
    for (QCPAxis* a : {m_plot->xAxis, m_plot->yAxis}) {
        a->setBasePen(QPen(fg));
        a->setTickPen(QPen(fg));
        a->setSubTickPen(QPen(fg));
        a->setTickLabelColor(fg);
        a->setLabelColor(fg);
        a->grid()->setPen(QPen(grid, 1, Qt::DotLine));
    }
    m_plot->legend->setBrush(QBrush(bg));
    m_plot->legend->setTextColor(fg);
    m_plot->legend->setBorderPen(QPen(grid));
    if (auto* t = qobject_cast<QCPTextElement*>(m_plot->plotLayout()->element(0, 0))) t->setTextColor(fg);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace peft::ui
