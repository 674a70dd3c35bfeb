// The live chart keeps every point but plots a bounded, extreme-preserving decimated copy, and
// appending 100k points does not block. The generation-metrics chart appears only when a step
// reports gen_* metrics, live (from the trainer's StepMetrics) and from a run's metrics.jsonl.
#include <QtTest>

#include <cmath>

#include "ui/training_controller.h"
#include "ui/widgets/generation_chart.h"
#include "ui/widgets/metric_chart.h"
#include "ui/widgets/qcp.h"
#include "ui/widgets/training_charts.h"

using peft::ui::MetricChart;

class TstMetricChart : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void decimationKeepsExtremesAndIsBounded() {
        std::vector<double> x, y, ox, oy;
        for (int i = 0; i < 100000; ++i) {
            x.push_back(i);
            y.push_back(std::sin(i * 0.001));
        }
        y[54321] = 50.0;
        y[77777] = -50.0;
        MetricChart::decimate(x, y, 500, ox, oy);
        QVERIFY(ox.size() <= 2 * 501);
        QVERIFY(ox.size() >= 500);
        QCOMPARE(*std::max_element(oy.begin(), oy.end()), 50.0);
        QCOMPARE(*std::min_element(oy.begin(), oy.end()), -50.0);
        QVERIFY(std::is_sorted(ox.begin(), ox.end()));
        QCOMPARE(ox.front(), 0.0);
        QCOMPARE(ox.back(), 99999.0);
        // Few points pass through untouched.
        std::vector<double> sx = {0, 1, 2}, sy = {3, 1, 2};
        MetricChart::decimate(sx, sy, 500, ox, oy);
        QCOMPARE(oy, sy);
    }
    void appends100kPointsWithoutBlocking() {
        MetricChart chart(QStringLiteral("loss"));
        chart.resize(900, 400);
        chart.show();
        QVERIFY(QTest::qWaitForWindowExposed(&chart));
        const int raw = chart.addSeries(QStringLiteral("raw"), Qt::blue);
        const int smooth = chart.addSmoothedSeries(raw, QStringLiteral("smooth"), Qt::darkBlue);
        QElapsedTimer t;
        t.start();
        qint64 longestGap = 0, last = 0;
        for (int i = 0; i < 100000; ++i) {
            chart.append(raw, i, 3.0 * std::exp(-i / 30000.0) + 0.1 * std::sin(i));
            if (i % 1000 == 0) {
                // The event loop runs between batches, as it would between queued metric signals.
                QCoreApplication::processEvents();
                longestGap = std::max(longestGap, t.elapsed() - last);
                last = t.elapsed();
            }
        }
        chart.flush();
        QCOMPARE(chart.pointCount(raw), size_t(100000));
        QCOMPARE(chart.pointCount(smooth), size_t(100000));
        const int width = chart.plot()->axisRect()->width();
        QVERIFY2(chart.plottedCount(raw) <= size_t(2 * std::max(200, width) + 2),
                 qPrintable(QString::number(chart.plottedCount(raw))));
        QCOMPARE(chart.plot()->graph(raw)->dataCount(), int(chart.plottedCount(raw)));
        // Replots are coalesced, not one per point.
        QVERIFY2(chart.replotCount() < 1000, qPrintable(QString::number(chart.replotCount())));
        // Generous bound: the point is that 100k appends are not O(n^2) and the GUI thread is
        // never held long (a per-point replot would take minutes here).
        QVERIFY2(t.elapsed() < 10000, qPrintable(QString::number(t.elapsed())));
        QVERIFY2(longestGap < 2000, qPrintable(QString::number(longestGap)));
    }
    void smoothingFollowsTheEma() {
        MetricChart chart(QStringLiteral("loss"));
        const int raw = chart.addSeries(QStringLiteral("raw"), Qt::blue);
        const int smooth = chart.addSmoothedSeries(raw, QStringLiteral("smooth"), Qt::darkBlue, 0.5);
        chart.append(raw, 0, 4.0);
        chart.append(raw, 1, 2.0);
        chart.flush();
        auto* g = chart.plot()->graph(smooth);
        QCOMPARE(g->dataCount(), 2);
        // Debiased EMA: first value is the first point; second = (0.5*0.5*4 + 0.5*2) / (1 - 0.25).
        QCOMPARE(g->data()->at(0)->value, 4.0);
        QVERIFY(std::abs(g->data()->at(1)->value - (0.25 * 4 + 0.5 * 2) / 0.75) < 1e-12);
    }
    void nanIsNotDrawn() {
        MetricChart chart(QStringLiteral("x"));
        const int s = chart.addSeries(QStringLiteral("s"), Qt::red);
        chart.append(s, 0, 1.0);
        chart.append(s, 1, std::nan(""));
        chart.append(s, 2, INFINITY);
        QCOMPARE(chart.pointCount(s), size_t(1));
    }
    void trainingChartsSavePngs() {
        peft::ui::TrainingCharts charts;
        charts.resize(900, 700);
        for (int i = 1; i <= 50; ++i) {
            peft::ui::MetricPoint p;
            p.step = i;
            p.loss = 2.0 / i;
            p.lr = 1e-3;
            p.gradNorm = 1.0;
            p.tokensPerS = 1000;
            if (i % 10 == 0) p.evalLoss = 2.5 / i;
            charts.append(p);
        }
        charts.flush();
        QCOMPARE(charts.lossChart()->pointCount(charts.evalLossSeries()), size_t(5));
        QTemporaryDir tmp;
        QVERIFY(charts.savePngs(tmp.path()));
        QVERIFY(!QImage(tmp.filePath(QStringLiteral("loss.png"))).isNull());
        QVERIFY(!QFile::exists(tmp.filePath(QStringLiteral("generation.png"))));  // no gen_* metrics: no chart
    }
    void generationChartAppearsWithGenMetrics() {
        peft::ui::TrainingCharts charts;
        charts.resize(900, 900);
        charts.show();
        QVERIFY(QTest::qWaitForWindowExposed(&charts));
        peft::ui::GenerationChart* gen = charts.generationChart();
        QVERIFY(gen->isHidden());
        // A step without generation metrics, as metrics.jsonl has it: nothing changes.
        charts.append(peft::ui::MetricPoint::fromJson(nlohmann::json{{"step", 1}, {"loss", 2.0}}));
        QVERIFY(gen->isHidden());
        QCOMPARE(gen->seriesCount(), 0);
        // The live path: the trainer's StepMetrics -> the controller's MetricPoint.
        peft::StepMetrics m;
        m.step = 10;
        m.loss = 1.5;
        m.generation = {{"em", 0.25}, {"rougeL", 0.5}, {"bleu", 12.5}};
        charts.append(peft::ui::toMetricPoint(m));
        QVERIFY(!gen->isHidden());
        QVERIFY(gen->isVisible());
        QCOMPARE(gen->seriesCount(), 3);
        // A metrics.jsonl line (a finished run's history) adds to the same series.
        charts.append(peft::ui::MetricPoint::fromJson(
            nlohmann::json{{"step", 20}, {"loss", 1.0}, {"gen_em", 0.5}, {"gen_rougeL", 0.75}, {"gen_bleu", 30.0}}));
        charts.flush();
        const int em = gen->seriesOf("em"), bleu = gen->seriesOf("bleu");
        QVERIFY(em >= 0 && bleu >= 0);
        QCOMPARE(gen->pointCount(em), size_t(2));
        // Fractions become percent; sacreBLEU's BLEU is a percentage already (the registry's scale).
        auto* emData = gen->plot()->graph(em)->data().data();
        QCOMPARE(emData->at(0)->key, 10.0);
        QCOMPARE(emData->at(0)->value, 25.0);
        QCOMPARE(emData->at(1)->value, 50.0);
        QCOMPARE(gen->plot()->graph(bleu)->data()->at(1)->value, 30.0);
        QTemporaryDir tmp;
        QVERIFY(charts.savePngs(tmp.path()));
        QVERIFY(!QImage(tmp.filePath(QStringLiteral("generation.png"))).isNull());
        // A new run starts without it.
        charts.clear();
        QVERIFY(gen->isHidden());
        QCOMPARE(gen->seriesCount(), 0);
        QCOMPARE(gen->seriesOf("em"), -1);
    }
};

QTEST_MAIN(TstMetricChart)
#include "tst_metric_chart.moc"
