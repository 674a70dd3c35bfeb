// The Train page's live charts: loss (raw, smoothed, eval), learning rate, gradient norm,
// throughput, and the generation metrics when the run computes them.
#pragma once
#include "ui/widgets/chart_panel.h"

namespace peft::ui {

class GenerationChart;
class MetricChart;

class TrainingCharts : public ChartPanel {
    Q_OBJECT
public:
    explicit TrainingCharts(QWidget* parent = nullptr);
    void append(const MetricPoint& p) override;
    void clear() override;
    MetricChart* lossChart() const { return m_loss; }
    MetricChart* lrChart() const { return m_lr; }
    MetricChart* gradChart() const { return m_grad; }
    MetricChart* speedChart() const { return m_speed; }
    // Generation metrics (training.generation_eval_every); hidden until a step reports them.
    GenerationChart* generationChart() const { return m_gen; }
    // Series ids in lossChart().
    int rawLossSeries() const { return m_rawLoss; }
    int smoothLossSeries() const { return m_smoothLoss; }
    int evalLossSeries() const { return m_evalLoss; }
    // savePngs() writes loss.png, lr.png, grad_norm.png, throughput.png (and generation.png).

private:
    // Beside the throughput chart when shown; the throughput spans the row when not.
    void placeGenerationChart(bool shown);
    MetricChart* m_loss;
    MetricChart* m_lr;
    MetricChart* m_grad;
    MetricChart* m_speed;
    GenerationChart* m_gen;
    int m_rawLoss, m_smoothLoss, m_evalLoss, m_lrSeries, m_gradSeries, m_speedSeries;
};

}  // namespace peft::ui
