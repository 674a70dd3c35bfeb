// A layers × module-types heatmap of importance scores (QCustomPlot colour map with a colour
// scale), with the selected modules marked. Knows nothing about torch: the Method page fills it
// from select::ImportanceReport.
#pragma once
#include <QStringList>
#include <QWidget>

#include <vector>

class QCustomPlot;
class QCPColorMap;
class QCPColorScale;

namespace peft::ui {

struct HeatmapData {
    QStringList columns;  // module names in forward order ("q_proj", ...)
    int layers = 0;
    std::vector<double> values;  // layers × columns, row-major (layer * columns + column)
    std::vector<QString> marks;  // the same shape: text drawn on a selected cell ("" = not selected)
    QString scoreName;           // "Fisher", shown on the colour scale
    double at(int layer, int column) const { return values[static_cast<size_t>(layer * columns.size() + column)]; }
};

class ImportanceHeatmap : public QWidget {
    Q_OBJECT
public:
    explicit ImportanceHeatmap(QWidget* parent = nullptr);
    void setData(const HeatmapData& d);
    void clear();
    bool isEmpty() const { return m_data.layers == 0; }
    const HeatmapData& data() const { return m_data; }
    QCustomPlot* plot() const { return m_plot; }
    QCPColorMap* colorMap() const { return m_map; }
    QCPColorScale* colorScale() const { return m_scale; }
    // The cells that carry a mark, as (layer, column).
    std::vector<std::pair<int, int>> markedCells() const;

protected:
    void resizeEvent(QResizeEvent* e) override;

private:
    void applyPalette();
    // Module names stay level while they fit their column, else they slant.
    void updateLabelRotation();
    QCustomPlot* m_plot;
    QCPColorMap* m_map;
    QCPColorScale* m_scale;
    HeatmapData m_data;
};

}  // namespace peft::ui
