// Four MetricCharts in a grid, fed one MetricPoint at a time.
#include "ui/widgets/training_charts.h"

#include <QGridLayout>

#include "ui/widgets/generation_chart.h"
#include "ui/widgets/metric_chart.h"

namespace peft::ui {

TrainingCharts::TrainingCharts(QWidget* parent) : ChartPanel(parent) {
    auto* grid = new QGridLayout(this);
    grid->setContentsMargins(0, 0, 0, 0);
    m_loss = new MetricChart(tr("Loss"), this);
    m_rawLoss = m_loss->addSeries(tr("train (raw)"), QColor(31, 119, 180));
    m_smoothLoss = m_loss->addSmoothedSeries(m_rawLoss, tr("train (smoothed)"), QColor(31, 119, 180));
    m_evalLoss = m_loss->addSeries(tr("eval"), QColor(214, 39, 40), true);
    m_loss->setAxisLabels(tr("step"), tr("loss"));
    m_lr = new MetricChart(tr("Learning rate"), this);
    m_lrSeries = m_lr->addSeries(tr("lr"), QColor(44, 160, 44));
    m_lr->setAxisLabels(tr("step"), QString());
    m_grad = new MetricChart(tr("Gradient norm (before clipping)"), this);
    m_gradSeries = m_grad->addSeries(tr("grad norm"), QColor(148, 103, 189));
    m_grad->setAxisLabels(tr("step"), QString());
    m_speed = new MetricChart(tr("Throughput"), this);
    m_speedSeries = m_speed->addSeries(tr("tokens/s"), QColor(255, 127, 14));
    m_speed->setAxisLabels(tr("step"), tr("tokens/s"));
    grid->addWidget(m_loss, 0, 0, 1, 2);
    grid->addWidget(m_lr, 1, 0);
    grid->addWidget(m_grad, 1, 1);
    grid->addWidget(m_speed, 2, 0, 1, 2);
    // The generation chart shares the throughput's row when a run has one (placeGenerationChart),
    // so the page keeps three rows of charts and still fits 1280x800.
    m_gen = new GenerationChart(this);
    addChart(m_loss, QStringLiteral("loss.png"));
    addChart(m_lr, QStringLiteral("lr.png"));
    addChart(m_grad, QStringLiteral("grad_norm.png"));
    addChart(m_speed, QStringLiteral("throughput.png"));
    addChart(m_gen, QStringLiteral("generation.png"));  // hidden until a step reports generation metrics
    grid->setRowStretch(0, 3);
    grid->setRowStretch(1, 2);
    grid->setRowStretch(2, 2);
}

void TrainingCharts::placeGenerationChart(bool shown) {
    auto* grid = static_cast<QGridLayout*>(layout());
    grid->removeWidget(m_speed);
    grid->removeWidget(m_gen);
    if (shown) {
        grid->addWidget(m_speed, 2, 0);
        grid->addWidget(m_gen, 2, 1);
    } else {
        grid->addWidget(m_speed, 2, 0, 1, 2);
    }
    m_gen->setVisible(shown);
}

void TrainingCharts::append(const MetricPoint& p) {
    const double x = static_cast<double>(p.step);
    m_loss->append(m_rawLoss, x, p.loss);
    if (p.hasEval()) m_loss->append(m_evalLoss, x, p.evalLoss);
    m_lr->append(m_lrSeries, x, p.lr);
    m_grad->append(m_gradSeries, x, p.gradNorm);
    m_speed->append(m_speedSeries, x, p.tokensPerS);
    const bool had = m_gen->hasData();
    m_gen->append(p);
    if (!had && m_gen->hasData()) placeGenerationChart(true);
}

void TrainingCharts::clear() {
    clearCharts();
    m_gen->reset();
    placeGenerationChart(false);
}

}  // namespace peft::ui
