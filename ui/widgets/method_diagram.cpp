// The transformer-block diagram, drawn with QPainter in palette colours.
#include "ui/widgets/method_diagram.h"

#include <QPainter>
#include <QPainterPath>

#include "ui/method_catalog.h"

namespace peft::ui {

namespace {

struct Pens {
    QColor fg, box, accent, accentText, frame;
};

void box(QPainter& p, const QRectF& r, const QString& label, bool hot, const Pens& c, double fontPx) {
    p.setPen(QPen(hot ? c.accent.darker(120) : c.frame, 1));
    p.setBrush(hot ? c.accent : c.box);
    p.drawRoundedRect(r, 3, 3);
    if (label.isEmpty()) return;
    QFont f = p.font();
    f.setPixelSize(std::max(7, static_cast<int>(fontPx)));
    p.setFont(f);
    p.setPen(hot ? c.accentText : c.fg);
    p.drawText(r, Qt::AlignCenter, label);
}

void arrowUp(QPainter& p, QPointF from, QPointF to, const QColor& col) {
    p.setPen(QPen(col, 1));
    p.drawLine(from, to);
    QPainterPath head;
    head.moveTo(to);
    head.lineTo(to + QPointF(-3, 4));
    head.lineTo(to + QPointF(3, 4));
    head.closeSubpath();
    p.fillPath(head, col);
}

}  // namespace

void paintMethodDiagram(QPainter& p, const QRectF& rect, const QString& id, const QPalette& pal) {
    p.save();
    p.setRenderHint(QPainter::Antialiasing);
    Pens c;
    c.fg = pal.color(QPalette::Text);
    c.box = pal.color(QPalette::AlternateBase);
    c.accent = pal.color(QPalette::Highlight);
    c.accentText = pal.color(QPalette::HighlightedText);
    c.frame = pal.color(QPalette::Mid);
    // Where the method acts comes from its card (the core's MethodSpec::cards()); an unknown id
    // draws the bare block.
    using Place = CardDiagram::Place;
    const MethodInfo* card = findMethod(id);
    const CardDiagram d = card ? card->diagram : CardDiagram{};
    auto at = [&](Place place) { return card && d.place == place; };
    const bool lora = at(Place::LowRankBeside), full = at(Place::Everything), bitfit = at(Place::Biases);
    const bool ia3 = at(Place::Scales);

    // Leave a right-hand lane for side branches (LoRA, adapters) and a left one for prefixes.
    const double w = rect.width(), h = rect.height();
    const double fontPx = std::max(7.0, std::min(w / 15.0, h / 22.0));
    const double laneL = w * 0.14, laneR = w * 0.24;
    const double x0 = rect.left() + laneL, bw = w - laneL - laneR;
    const double unit = h / 12.0;  // vertical grid: 12 rows, data flows upwards
    auto row = [&](double r) { return rect.bottom() - (r + 1) * unit; };

    // Tokens (row 0), with virtual tokens for prompt tuning.
    const bool prompt = at(Place::Prompt);
    const int nTok = 4, nVirt = prompt ? 2 : 0;
    const double tokW = bw / (nTok + 2 + 0.5);
    for (int i = 0; i < nTok + nVirt; ++i) {
        const bool virt = i < nVirt;
        QRectF t(x0 + (prompt ? 0 : 2 * tokW) + i * tokW * 1.0 + 1, row(0) + unit * 0.15, tokW - 3, unit * 0.7);
        box(p, t, QString(), virt, c, fontPx);
    }
    // Embedding (row 1) and LM head (row 10.5).
    QRectF emb(x0, row(1.2), bw, unit * 0.9);
    box(p, emb, QObject::tr("Embedding"), full, c, fontPx);
    QRectF head(x0, row(10.8), bw, unit * 0.9);
    box(p, head, QObject::tr("LM head"), full, c, fontPx);

    // The block frame (rows 2..10).
    QRectF block(x0 - 4, row(9.8), bw + 8, unit * 7.8);
    p.setPen(QPen(c.frame, 1, Qt::DashLine));
    p.setBrush(Qt::NoBrush);
    p.drawRoundedRect(block, 5, 5);
    QFont small = p.font();
    small.setPixelSize(std::max(7, static_cast<int>(fontPx * 0.85)));
    p.setFont(small);
    p.setPen(c.fg);
    p.drawText(QRectF(block.left(), block.top() - unit * 0.05, block.width() - 4, unit * 0.7),
               Qt::AlignRight | Qt::AlignTop, QObject::tr("× N layers"));

    // Attention: norm (row 2.4), q k v o (rows 3.2..5).
    QRectF norm1(x0 + bw * 0.15, row(2.6), bw * 0.7, unit * 0.55);
    box(p, norm1, QObject::tr("norm"), full, c, fontPx * 0.8);
    const double subW = bw / 4.0;
    const QStringList qkv = {QStringLiteral("q"), QStringLiteral("k"), QStringLiteral("v")};
    QRectF qkvRects[3];
    for (int i = 0; i < 3; ++i) {
        qkvRects[i] = QRectF(x0 + i * (subW + bw / 12.0), row(3.7), subW, unit * 0.85);
        const bool hot = full || (lora && (i == 0 || i == 2)) || (ia3 && i >= 1);
        box(p, qkvRects[i], qkv[i], hot, c, fontPx);
    }
    QRectF attn(x0, row(4.9), bw, unit * 0.9);
    box(p, attn, QObject::tr("Attention"), full, c, fontPx);
    QRectF oProj(x0 + bw * 0.3, row(5.8), bw * 0.4, unit * 0.7);
    box(p, oProj, QStringLiteral("o"), full, c, fontPx);
    // MLP: norm (row 6.6), up/down (rows 7.3..8.9).
    QRectF norm2(x0 + bw * 0.15, row(6.7), bw * 0.7, unit * 0.55);
    box(p, norm2, QObject::tr("norm"), full, c, fontPx * 0.8);
    QRectF up(x0, row(7.8), bw, unit * 0.85);
    box(p, up, QObject::tr("MLP up"), full, c, fontPx);
    QRectF down(x0, row(8.9), bw, unit * 0.85);
    box(p, down, QObject::tr("MLP down"), full || ia3, c, fontPx);

    // Residual stream arrows on the left edge of the boxes.
    arrowUp(p, QPointF(x0 + bw / 2, row(0) + unit * 0.1), QPointF(x0 + bw / 2, emb.bottom()), c.frame);

    // Method-specific marks in the side lanes.
    const double rx = x0 + bw + 6, rw = laneR - 8;
    if (lora) {
        const QString label = QString::fromStdString(d.branchLabel);
        QRectF lr(rx, row(3.9), rw, unit * 1.3);
        box(p, lr, label, true, c, fontPx * 0.9);
        p.setPen(QPen(c.accent, 1.2));
        p.drawLine(QPointF(qkvRects[2].right(), qkvRects[2].center().y()), QPointF(rx, lr.center().y()));
        if (card->quantizeBase) {
            // The frozen base stored in 4 bits: hatch the weight boxes.
            p.setPen(Qt::NoPen);
            QColor hatch = c.fg;
            hatch.setAlpha(70);
            p.setBrush(QBrush(hatch, Qt::BDiagPattern));
            for (const QRectF& r : {attn, up, down, oProj}) p.drawRoundedRect(r, 3, 3);
            p.setPen(c.fg);
            p.setFont(small);
            p.drawText(QRectF(rx - 2, row(8.9), rw + 6, unit * 0.85), Qt::AlignCenter, QStringLiteral("4-bit"));
        }
    } else if (ia3) {
        p.setFont(small);
        for (const QRectF& r : {qkvRects[1], qkvRects[2], down}) {
            QRectF dot(r.right() - unit * 0.45, r.top() - unit * 0.25, unit * 0.5, unit * 0.5);
            p.setPen(QPen(c.accent.darker(130), 1));
            p.setBrush(c.box);
            p.drawEllipse(dot);
            p.setPen(c.fg);
            p.drawText(dot, Qt::AlignCenter, QStringLiteral("⊙"));
        }
        p.drawText(QRectF(rx, row(5.5), rw + 4, unit * 1.2), Qt::AlignCenter | Qt::TextWordWrap,
                   QObject::tr("scale\nl"));
    } else if (at(Place::Prefix)) {
        QRectF pk(rect.left() + 2, row(4.9), laneL - 6, unit * 2.1);
        box(p, pk, QStringLiteral("P"), true, c, fontPx);
        p.setPen(QPen(c.accent, 1.2));
        p.drawLine(QPointF(pk.right(), pk.center().y()), QPointF(attn.left(), attn.center().y()));
    } else if (prompt) {
        p.setFont(small);
        p.setPen(c.fg);
        p.drawText(QRectF(rect.left(), row(0) - unit * 0.1, laneL + tokW * 2, unit * 0.3), Qt::AlignLeft, QString());
    } else if (at(Place::Adapters)) {
        auto adapter = [&](double r) {
            QRectF a(rx, row(r), rw, unit * 0.8);
            box(p, a, QStringLiteral("A"), true, c, fontPx);
            p.setPen(QPen(c.accent, 1.2));
            p.drawLine(QPointF(x0 + bw, a.center().y()), QPointF(rx, a.center().y()));
        };
        if (d.afterAttention) adapter(5.8);
        adapter(9.6);
    } else if (bitfit) {
        // A bias dot on every module that has one.
        p.setPen(Qt::NoPen);
        p.setBrush(c.accent);
        for (const QRectF& r : {qkvRects[0], qkvRects[1], qkvRects[2], oProj, up, down, norm1, norm2})
            p.drawEllipse(QPointF(r.right() - 3, r.top() + 3), unit * 0.14, unit * 0.14);
        p.setFont(small);
        p.setPen(c.fg);
        p.drawText(QRectF(rx, row(5.5), rw + 4, unit), Qt::AlignCenter, QObject::tr("bias"));
    }
    p.restore();
}

MethodDiagram::MethodDiagram(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Preferred);
}

void MethodDiagram::setMethod(const QString& id) {
    m_id = id;
    setAccessibleDescription(tr("Diagram of where %1 acts in a transformer block").arg(id));
    update();
}

void MethodDiagram::paintEvent(QPaintEvent*) {
    QPainter p(this);
    // Keep the drawing's aspect ratio (about 4:5) centred in the widget.
    QRectF r = rect().adjusted(2, 2, -2, -2);
    const double target = 0.8;
    if (r.width() / r.height() > target) {
        const double nw = r.height() * target;
        r.adjust((r.width() - nw) / 2, 0, -(r.width() - nw) / 2, 0);
    } else {
        const double nh = r.width() / target;
        r.adjust(0, (r.height() - nh) / 2, 0, -(r.height() - nh) / 2);
    }
    paintMethodDiagram(p, r, m_id, palette());
}

}  // namespace peft::ui
