// Workspace folder (see workspace.h): QStandardPaths for the default, QSettings to remember it.
#include "ui/workspace.h"
#include "ui/named.h"

#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QStandardPaths>
#include <QVBoxLayout>

namespace peft::ui {

namespace {
const char* kKey = "workspace/folder";
}

QString defaultWorkspaceDir() {
    QString docs = QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation);
    if (docs.isEmpty()) docs = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    return QDir(docs).filePath(QStringLiteral("PEFT Studio"));
}

bool workspaceChosen() { return QSettings().contains(QLatin1String(kKey)); }

QString workspaceDir() {
    const QString dir = QSettings().value(QLatin1String(kKey)).toString();
    return dir.isEmpty() ? defaultWorkspaceDir() : dir;
}

void setWorkspaceDir(const QString& dir) {
    QDir().mkpath(dir);
    QSettings().setValue(QLatin1String(kKey), QDir::cleanPath(QDir(dir).absolutePath()));
}

QString workspaceRunsDir() { return QDir(workspaceDir()).filePath(QStringLiteral("runs")); }

bool chooseWorkspace(QWidget* parent, bool firstLaunch) {
    QDialog dlg(parent);
    dlg.setObjectName(QStringLiteral("workspaceDialog"));
    dlg.setWindowTitle(firstLaunch ? QObject::tr("Welcome to PEFT Studio") : QObject::tr("Workspace folder"));
    auto* v = new QVBoxLayout(&dlg);
    auto* text =
        new QLabel(firstLaunch ? QObject::tr("PEFT Studio keeps your training runs, their adapters and exports in a "
                                             "workspace folder. You can change it later under File → Workspace folder.")
                               : QObject::tr("New runs, their adapters and exports go into this folder; the Runs "
                                             "page lists it."),
                   &dlg);
    text->setWordWrap(true);
    v->addWidget(text);
    auto* row = new QHBoxLayout();
    auto* path = named(new QLineEdit(workspaceDir(), &dlg), "workspacePath");
    path->setMinimumWidth(420);
    row->addWidget(path, 1);
    auto* change = new QPushButton(QObject::tr("Change…"), &dlg);
    row->addWidget(change);
    v->addLayout(row);
    QObject::connect(change, &QPushButton::clicked, &dlg, [&] {
        const QString d =
            QFileDialog::getExistingDirectory(&dlg, QObject::tr("Choose the workspace folder"), path->text());
        if (!d.isEmpty()) path->setText(d);
    });
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dlg);
    QObject::connect(buttons, &QDialogButtonBox::accepted, &dlg, &QDialog::accept);
    QObject::connect(buttons, &QDialogButtonBox::rejected, &dlg, &QDialog::reject);
    v->addWidget(buttons);
    if (dlg.exec() != QDialog::Accepted || path->text().trimmed().isEmpty()) return false;
    setWorkspaceDir(path->text().trimmed());
    return true;
}

}  // namespace peft::ui
