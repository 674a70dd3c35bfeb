// checkTypedName: safeFileName plus a message a person can act on.
#include "ui/safe_names.h"

#include <QObject>

#include "core/util/safe_name.h"

namespace peft::ui {

NameCheck checkTypedName(const QString& typed, const QString& what) {
    NameCheck c;
    const QString t = typed.trimmed();
    if (t.isEmpty()) {
        c.refused = true;
        c.message = QObject::tr("The %1 is empty: type a name such as my-run.").arg(what);
        return c;
    }
    const std::string safe = safeFileName(t.toStdString());
    if (safe == "unnamed" && t != QLatin1String("unnamed")) {
        c.refused = true;
        c.message = QObject::tr(
                        "The %1 '%2' has nothing that can be a file name (only dots, spaces or separators): "
                        "use letters, digits, '-' or '_'.")
                        .arg(what, t.toHtmlEscaped());
        return c;
    }
    c.name = QString::fromStdString(safe);
    if (c.name != typed) {
        c.changed = true;
        c.message = QObject::tr(
                        "The %1 '%2' became '%3': file names cannot hold path separators, '..' at the start, "
                        "control characters or \\ : * ? \" < > |, and are at most 100 bytes.")
                        .arg(what, typed.toHtmlEscaped(), c.name.toHtmlEscaped());
        if (c.name == typed.trimmed()) c.message = QString();  // only surrounding spaces went
    }
    return c;
}

}  // namespace peft::ui
