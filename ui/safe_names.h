// Names the user types that become a file or folder name (the run name, a project's file name)
// go through core/util/safe_name.h: no separators, no "..", no control or reserved characters.
#pragma once
#include <QString>

namespace peft::ui {

struct NameCheck {
    QString name;  // the safe name to use (empty when refused)
    bool changed = false;
    bool refused = false;
    QString message;  // why it changed or was refused, with the fix ("" when accepted as typed)
};

// `what` names the thing in the message ("run name", "project name").
NameCheck checkTypedName(const QString& typed, const QString& what);

}  // namespace peft::ui
