// Importance heatmap: QCPColorMap cells at integer (column, layer) coordinates, layer 0 on top.
#include "ui/widgets/importance_heatmap.h"

#include <QResizeEvent>
#include <QToolTip>
#include <QVBoxLayout>

#include <cmath>

#include "ui/widgets/qcp.h"
#include "ui/named.h"

namespace peft::ui {

ImportanceHeatmap::ImportanceHeatmap(QWidget* parent) : QWidget(parent) {
    auto* lay = new QVBoxLayout(this);
    lay->setContentsMargins(0, 0, 0, 0);
    m_plot = named(new QCustomPlot(this), "importanceHeatmap");
    m_plot->setMinimumHeight(160);
    m_plot->setAccessibleName(tr("Module importance heatmap"));
    lay->addWidget(m_plot);
    m_map = new QCPColorMap(m_plot->xAxis, m_plot->yAxis);
    m_map->setInterpolate(false);
    m_map->setTightBoundary(false);
    m_scale = new QCPColorScale(m_plot);
    m_scale->setType(QCPAxis::atRight);
    m_scale->setBarWidth(12);
    m_plot->plotLayout()->addElement(0, 1, m_scale);
    m_map->setColorScale(m_scale);
    m_map->setGradient(QCPColorGradient(QCPColorGradient::gpThermal));
    auto* group = new QCPMarginGroup(m_plot);
    m_plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    m_scale->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    m_plot->yAxis->setRangeReversed(true);
    m_plot->yAxis->setLabel(tr("layer"));
    m_plot->xAxis->setPadding(8);  // room for the descenders of "q_proj"
    for (QCPAxis* a : {m_plot->xAxis, m_plot->yAxis}) {
        a->setSubTicks(false);
        a->grid()->setVisible(false);
    }
    applyPalette();
    // Hover: the cell's module, layer and score.
    m_plot->setMouseTracking(true);
    connect(m_plot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
        if (isEmpty()) return;
        const int c = static_cast<int>(std::lround(m_plot->xAxis->pixelToCoord(e->position().x())));
        const int l = static_cast<int>(std::lround(m_plot->yAxis->pixelToCoord(e->position().y())));
        if (c < 0 || l < 0 || c >= m_data.columns.size() || l >= m_data.layers) {
            QToolTip::hideText();
            return;
        }
        QString tip = tr("layer %1 · %2\n%3 score %4")
                          .arg(l)
                          .arg(m_data.columns[c], m_data.scoreName)
                          .arg(m_data.at(l, c), 0, 'g', 4);
        const QString& mark = m_data.marks[static_cast<size_t>(l * m_data.columns.size() + c)];
        if (!mark.isEmpty()) tip += tr("\nselected (%1)").arg(mark);
        QToolTip::showText(e->globalPosition().toPoint(), tip, m_plot);
    });
    clear();
}

void ImportanceHeatmap::applyPalette() {
    const QPalette pal = palette();
    m_plot->setBackground(pal.color(QPalette::Base));
    for (QCPAxis* a : {m_plot->xAxis, m_plot->yAxis, m_scale->axis()}) {
        a->setBasePen(QPen(pal.color(QPalette::Text)));
        a->setTickPen(QPen(pal.color(QPalette::Text)));
        a->setSubTickPen(QPen(pal.color(QPalette::Text)));
        a->setTickLabelColor(pal.color(QPalette::Text));
        a->setLabelColor(pal.color(QPalette::Text));
    }
}

void ImportanceHeatmap::clear() {
    m_data = HeatmapData{};
    m_plot->clearItems();
    m_map->data()->setSize(1, 1);
    m_map->data()->setRange(QCPRange(0, 0), QCPRange(0, 0));
    m_map->data()->fill(std::nan(""));
    m_map->setVisible(false);
    m_scale->setVisible(false);
    auto* note = new QCPItemText(m_plot);
    note->position->setType(QCPItemPosition::ptAxisRectRatio);
    note->position->setCoords(0.5, 0.5);
    note->setText(tr("Press \"Score modules\" to measure how much each module matters on your data."));
    note->setColor(palette().color(QPalette::PlaceholderText));
    m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTickerText));
    m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTickerText));
    m_plot->xAxis->setRange(-0.5, 0.5);
    m_plot->yAxis->setRange(-0.5, 0.5);
    m_plot->replot();
}

void ImportanceHeatmap::setData(const HeatmapData& d) {
    const int nx = static_cast<int>(d.columns.size());
    if (nx == 0 || d.layers <= 0 || d.values.size() != static_cast<size_t>(nx * d.layers)) {
        clear();
        return;
    }
    m_data = d;
    if (m_data.marks.size() != m_data.values.size()) m_data.marks.assign(m_data.values.size(), QString());
    m_plot->clearItems();
    m_map->setVisible(true);
    m_scale->setVisible(true);
    m_map->data()->setSize(nx, d.layers);
    m_map->data()->setRange(QCPRange(0, std::max(1, nx - 1)), QCPRange(0, std::max(1, d.layers - 1)));
    double lo = INFINITY, hi = -INFINITY;
    for (int l = 0; l < d.layers; ++l)
        for (int c = 0; c < nx; ++c) {
            const double v = d.at(l, c);
            m_map->data()->setCell(c, l, v);
            if (std::isfinite(v)) {
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
        }
    if (!std::isfinite(lo)) lo = 0, hi = 1;
    // Scores spread over decades: a log colour scale keeps the small ones apart.
    const bool log = lo > 0 && hi / lo > 50;
    m_scale->setDataScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (log) m_scale->axis()->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    else m_scale->axis()->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    m_map->setDataRange(QCPRange(lo, hi > lo ? hi : lo + (lo == 0 ? 1 : std::abs(lo) * 0.01)));
    m_scale->axis()->setLabel(d.scoreName + (log ? tr(" (log)") : QString()));
    m_scale->axis()->setNumberFormat(QStringLiteral("gb"));
    m_scale->axis()->setNumberPrecision(2);

    QSharedPointer<QCPAxisTickerText> xt(new QCPAxisTickerText), yt(new QCPAxisTickerText);
    for (int c = 0; c < nx; ++c) xt->addTick(c, d.columns[c]);
    const int step = d.layers <= 16 ? 1 : (d.layers + 15) / 16;
    for (int l = 0; l < d.layers; l += step) yt->addTick(l, QString::number(l));
    m_plot->xAxis->setTicker(xt);
    m_plot->yAxis->setTicker(yt);
    m_plot->xAxis->setRange(-0.5, nx - 0.5);
    m_plot->yAxis->setRange(-0.5, d.layers - 0.5);
    updateLabelRotation();
    // Selected cells: an outline and the mark (the LoRA rank).
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    for (int l = 0; l < d.layers; ++l)
        for (int c = 0; c < nx; ++c) {
            const QString& mark = m_data.marks[static_cast<size_t>(l * nx + c)];
            if (mark.isEmpty()) continue;
            auto* r = new QCPItemRect(m_plot);
            r->topLeft->setCoords(c - 0.46, l - 0.44);
            r->bottomRight->setCoords(c + 0.46, l + 0.44);
            r->setPen(QPen(QColor(30, 200, 255), 2));
            r->setBrush(Qt::NoBrush);
            auto* t = new QCPItemText(m_plot);
            t->position->setCoords(c, l);
            t->setText(mark);
            t->setFont(small);
            t->setColor(Qt::white);
            t->setBrush(QColor(0, 0, 0, 140));
            t->setPadding(QMargins(3, 0, 3, 0));
        }
    m_plot->replot();
}

void ImportanceHeatmap::updateLabelRotation() {
    if (m_data.columns.isEmpty()) return;
    const QFontMetrics fm(m_plot->xAxis->tickLabelFont());
    int widest = 0;
    for (const QString& c : m_data.columns) widest = std::max(widest, fm.horizontalAdvance(c));
    const int axisWidth = std::max(1, m_plot->width() - 140);  // the layer axis and the colour scale
    const double rotation = widest + 8 <= axisWidth / m_data.columns.size() ? 0 : 35;
    if (m_plot->xAxis->tickLabelRotation() != rotation) m_plot->xAxis->setTickLabelRotation(rotation);
}

void ImportanceHeatmap::resizeEvent(QResizeEvent* e) {
    QWidget::resizeEvent(e);
    updateLabelRotation();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

std::vector<std::pair<int, int>> ImportanceHeatmap::markedCells() const {
    std::vector<std::pair<int, int>> out;
    const int nx = static_cast<int>(m_data.columns.size());
    for (size_t i = 0; i < m_data.marks.size(); ++i)
        if (!m_data.marks[i].isEmpty()) out.emplace_back(static_cast<int>(i) / nx, static_cast<int>(i) % nx);
    return out;
}

}  // namespace peft::ui
