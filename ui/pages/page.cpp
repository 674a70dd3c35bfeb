// Page base: header, banner, body.
#include "ui/pages/page.h"
#include "ui/named.h"

#include <QLabel>
#include <QVBoxLayout>

namespace peft::ui {

Page::Page(ProjectState* state, const QString& title, const QString& subtitle, QWidget* parent)
    : QWidget(parent), m_state(state), m_titleText(title) {
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(16, 12, 16, 8);
    auto* titleLabel = new QLabel(title, this);
    QFont f = titleLabel->font();
    f.setPointSizeF(f.pointSizeF() * 1.5);
    f.setBold(true);
    titleLabel->setFont(f);
    titleLabel->setAccessibleName(title);
    auto* sub = new QLabel(subtitle, this);
    sub->setWordWrap(true);
    sub->setForegroundRole(QPalette::PlaceholderText);
    m_banner = new ErrorBanner(this);
    outer->addWidget(titleLabel);
    outer->addWidget(sub);
    outer->addWidget(m_banner);
    m_body = new QVBoxLayout();
    m_body->setContentsMargins(0, 6, 0, 0);
    outer->addLayout(m_body, 1);
}

void Page::showException(const std::exception& e) { m_banner->showError(QString::fromStdString(e.what())); }

QWidget* makeUnavailableNote(const QString& what, QWidget* parent) {
    auto* l = named(new QLabel(parent), "unavailableNote");
    l->setWordWrap(true);
    l->setAlignment(Qt::AlignCenter);
    l->setFrameShape(QFrame::StyledPanel);
    l->setMinimumHeight(60);
    l->setText(QObject::tr("<b>Not available in this build.</b><br>%1").arg(what));
    l->setForegroundRole(QPalette::PlaceholderText);
    return l;
}

}  // namespace peft::ui
