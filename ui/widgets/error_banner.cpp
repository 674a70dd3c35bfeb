// Inline message banner, coloured from the palette so it reads in light and dark themes.
#include "ui/widgets/error_banner.h"

#include <QApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QStyle>
#include <QToolButton>

namespace peft::ui {

ErrorBanner::ErrorBanner(QWidget* parent) : QFrame(parent) {
    setObjectName(QStringLiteral("errorBanner"));
    auto* lay = new QHBoxLayout(this);
    lay->setContentsMargins(10, 6, 6, 6);
    m_icon = new QLabel(this);
    m_text = new QLabel(this);
    m_text->setWordWrap(true);
    m_text->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    m_close = new QToolButton(this);
    m_close->setAutoRaise(true);
    m_close->setText(QStringLiteral("✕"));
    m_close->setToolTip(tr("Dismiss"));
    m_close->setAccessibleName(tr("Dismiss message"));
    lay->addWidget(m_icon, 0, Qt::AlignTop);
    lay->addWidget(m_text, 1);
    lay->addWidget(m_close, 0, Qt::AlignTop);
    connect(m_close, &QToolButton::clicked, this, &ErrorBanner::clear);
    hide();
}

void ErrorBanner::showMessage(Level level, const QString& text) {
    m_level = level;
    m_text->setText(text);
    const QStyle::StandardPixmap px = level == Level::Error ? QStyle::SP_MessageBoxCritical
        : level == Level::Warning                           ? QStyle::SP_MessageBoxWarning
                                                            : QStyle::SP_MessageBoxInformation;
    m_icon->setPixmap(style()->standardIcon(px).pixmap(20, 20));
    applyStyle();
    show();
}

void ErrorBanner::clear() {
    m_text->clear();
    hide();
}

QString ErrorBanner::text() const { return m_text->text(); }

void ErrorBanner::applyStyle() {
    // Tint the window colour towards red/amber/blue: readable on both light and dark palettes.
    const QColor base = palette().color(QPalette::Window);
    const QColor tint = m_level == Level::Error ? QColor(220, 50, 50)
        : m_level == Level::Warning             ? QColor(230, 160, 0)
                                                : QColor(50, 120, 220);
    auto mix = [](const QColor& a, const QColor& b, double t) {
        return QColor::fromRgbF(a.redF() * (1 - t) + b.redF() * t, a.greenF() * (1 - t) + b.greenF() * t,
                                a.blueF() * (1 - t) + b.blueF() * t);
    };
    setStyleSheet(QStringLiteral("QFrame#errorBanner { background: %1; border: 1px solid %2; border-radius: 4px; }")
                      .arg(mix(base, tint, 0.18).name(), mix(base, tint, 0.7).name()));
}

}  // namespace peft::ui
