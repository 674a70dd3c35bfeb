// The workspace: the folder where the GUI puts new run folders (and so their exports, and what the
// Runs page lists). It lives under the user's documents folder by default, is shown on first
// launch, can be changed from the File menu, and is remembered in QSettings. The CLI has none:
// its paths stay relative to the run config.
#pragma once
#include <QString>

class QWidget;

namespace peft::ui {

QString defaultWorkspaceDir();             // <Documents>/PEFT Studio
QString workspaceDir();                    // the chosen one, else the default
bool workspaceChosen();                    // false until the user confirmed one (first launch)
void setWorkspaceDir(const QString& dir);  // creates it and remembers it
QString workspaceRunsDir();                // <workspace>/runs

// Shows the workspace folder with "Change…"; saves it when the user accepts. `firstLaunch` words
// the dialog as a welcome. Returns whether it was accepted.
bool chooseWorkspace(QWidget* parent, bool firstLaunch);

}  // namespace peft::ui
