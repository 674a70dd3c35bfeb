// Makes, names and explains a widget in one statement: `w` with its object name (what tests, the
// screenshot mode and accessibility tools find it by) and, when given, its tooltip.
#pragma once
#include <QLatin1String>
#include <QString>

namespace peft::ui {

template <class W>
W* named(W* w, const char* objectName, const QString& toolTip = QString()) {
    w->setObjectName(QLatin1String(objectName));
    if (!toolTip.isEmpty()) w->setToolTip(toolTip);
    return w;
}

}  // namespace peft::ui
