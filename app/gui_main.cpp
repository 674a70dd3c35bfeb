// peft-studio: the GUI entry point.
#include <QApplication>

#include "core/util/log.h"
#include "core/util/runtime_info.h"
#include "ui/main_window.h"

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("PEFT Studio"));
    QApplication::setOrganizationName(QStringLiteral("peft-studio"));
    QApplication::setApplicationVersion(QString::fromStdString(peft::projectVersion()));
    peft::setupLogging("peft-studio");
    peft::logRuntimeInfo();
    peft::ui::MainWindow w;
    w.show();
    return app.exec();
}
