// The "recent" lists kept in QSettings (projects in the File menu, model folders on the Model
// page): newest first, each entry once, at most a fixed number.
#pragma once
#include <QSettings>
#include <QString>
#include <QStringList>

namespace peft::ui {

inline QStringList recentList(const char* key) { return QSettings().value(QLatin1String(key)).toStringList(); }

// Puts `entry` first in the list under `key`, drops its older copy and keeps at most `max` entries.
inline void pushRecent(const char* key, const QString& entry, int max) {
    QStringList list = recentList(key);
    list.removeAll(entry);
    list.prepend(entry);
    while (list.size() > max) list.removeLast();
    QSettings().setValue(QLatin1String(key), list);
}

}  // namespace peft::ui
