// peft-studio: the GUI entry point. --demo DIR opens the bundled demo; --screenshot-dir DIR
// saves every page as a PNG and exits (used for packaging/screenshots/).
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include "core/util/blas_tune.h"
#include "core/util/log.h"
#include "core/util/runtime_info.h"
#include "ui/main_window.h"

int main(int argc, char** argv) {
    peft::tuneBlasKernels();  // before any BLAS call
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("PEFT Studio"));
    QApplication::setOrganizationName(QStringLiteral("peft-studio"));
    QApplication::setApplicationVersion(QString::fromStdString(peft::projectVersion()));
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Guided parameter-efficient fine-tuning."));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption demo(QStringLiteral("demo"), QStringLiteral("Open the bundled demo (model + dataset) in DIR."),
                            QStringLiteral("DIR"));
    QCommandLineOption shots(QStringLiteral("screenshot-dir"),
                             QStringLiteral("Save a PNG of every page into DIR, then exit."), QStringLiteral("DIR"));
    QCommandLineOption project(QStringLiteral("project"), QStringLiteral("Open a .peftproj file."),
                               QStringLiteral("FILE"));
    parser.addOption(demo);
    parser.addOption(shots);
    parser.addOption(project);
    parser.process(app);

    peft::setupLogging("peft-studio");
    peft::logRuntimeInfo();
    peft::ui::MainWindow w;
    if (parser.isSet(project)) w.openProject(parser.value(project));
    if (parser.isSet(demo)) w.openDemo(parser.value(demo));
    w.show();
    if (parser.isSet(shots)) {
        const QString dir = parser.value(shots);
        QTimer::singleShot(300, &w, [&w, dir] {
            const QStringList files = w.saveScreenshots(dir);
            QApplication::exit(files.size() == w.stepCount() ? 0 : 1);
        });
    }
    return app.exec();
}
