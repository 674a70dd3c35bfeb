// peft-studio: the GUI entry point. --demo DIR opens the bundled demo; --screenshot-dir DIR
// saves every page as a PNG and exits (used for packaging/screenshots/); --score-modules scores
// the modules at start so the Method page shows the importance heatmap.
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>
#include <QWindow>

#include <chrono>
#include <cstdio>

#include "core/util/blas_tune.h"
#include "core/util/log.h"
#include "core/util/runtime_info.h"
#include "ui/main_window.h"
#include "ui/workspace.h"
#include "ui/pages/method_page.h"

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
    QCommandLineOption timeStartup(
        QStringLiteral("time-startup"),
        QStringLiteral("Print the wall-clock time (ms since the epoch) at which the first "
                       "window is exposed and painted, then exit (tests/bench/bench_startup.sh)."));
    QCommandLineOption score(
        QStringLiteral("score-modules"),
        QStringLiteral("Score the modules of the opened model on its dataset at start and show the "
                       "importance heatmap on the Method step (with --screenshot-dir: before "
                       "capturing it)."));
    parser.addOption(demo);
    parser.addOption(score);
    parser.addOption(shots);
    parser.addOption(project);
    parser.addOption(timeStartup);
    parser.process(app);

    peft::setupLogging("peft-studio");
    peft::useThreads(0);  // every usable core by default, before any worker thread starts
    peft::logRuntimeInfo();
    // First launch: show (and let the user change) the workspace before the first project uses it.
    if (!peft::ui::workspaceChosen() && !parser.isSet(shots) && !parser.isSet(timeStartup))
        peft::ui::chooseWorkspace(nullptr, true);
    peft::ui::MainWindow w;
    if (parser.isSet(project)) w.openProject(parser.value(project));
    if (parser.isSet(demo)) w.openDemo(parser.value(demo));
    w.show();
    if (parser.isSet(score)) {
        w.methodPage()->showImportanceTab(true);
        w.methodPage()->scoreModules();
    }
    if (parser.isSet(shots)) {
        const QString dir = parser.value(shots);
        QTimer::singleShot(300, &w, [&w, dir] {
            const QStringList files = w.saveScreenshots(dir);
            QApplication::exit(files.size() == w.stepCount() ? 0 : 1);
        });
    }
    if (parser.isSet(timeStartup)) {
        // Poll until the window system has exposed the window, paint it once, and report the wall
        // clock so a script can subtract the time it launched the process (dynamic loading included).
        auto* poll = new QTimer(&w);
        poll->setInterval(1);
        QObject::connect(poll, &QTimer::timeout, &w, [&w, poll] {
            if (!w.windowHandle() || !w.windowHandle()->isExposed()) return;
            poll->stop();
            w.repaint();
            const auto now = std::chrono::system_clock::now().time_since_epoch();
            std::printf("first-window-ms %lld\n",
                        static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()));
            std::fflush(stdout);
            QApplication::exit(0);
        });
        poll->start();
    }
    return app.exec();
}
