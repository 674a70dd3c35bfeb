// A small drawing of one transformer block with the place where a method acts highlighted
// (LoRA beside q/v, prefix in attention, prompt at the input, adapters after sub-layers...).
#pragma once
#include <QWidget>

class QPainter;

namespace peft::ui {

// Draws the block for method `id` (see method_catalog) into `rect`.
void paintMethodDiagram(QPainter& p, const QRectF& rect, const QString& id, const QPalette& pal);

class MethodDiagram : public QWidget {
    Q_OBJECT
public:
    explicit MethodDiagram(QWidget* parent = nullptr);
    void setMethod(const QString& id);
    QString method() const { return m_id; }
    QSize sizeHint() const override { return {200, 250}; }
    QSize minimumSizeHint() const override { return {90, 110}; }

protected:
    void paintEvent(QPaintEvent*) override;

private:
    QString m_id;
};

}  // namespace peft::ui
