// Main window: wizard navigation, project files, log dock and the About box.
#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QElapsedTimer>

#include <functional>
#include <QFile>
#include <QThread>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QKeySequence>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QStackedWidget>
#include <QStatusBar>
#include <QVBoxLayout>

#include <spdlog/spdlog.h>

#include "core/io/model_config.h"
#include "core/train/objectives/objective_spec.h"
#include "core/util/runtime_info.h"
#include "ui/log_panel.h"
#include "ui/pages/budget_page.h"
#include "ui/pages/dataset_page.h"
#include "ui/pages/evaluate_page.h"
#include "ui/pages/export_page.h"
#include "ui/pages/method_page.h"
#include "ui/pages/model_page.h"
#include "ui/pages/runs_page.h"
#include "ui/pages/train_page.h"
#include "ui/project_state.h"
#include "ui/recent_list.h"
#include "ui/workspace.h"
#include "ui/safe_names.h"
#include "ui/training_controller.h"
#include "ui/widgets/preference_eval_panel.h"
#include "ui/named.h"

namespace peft::ui {

namespace {
const char* kRecentProjects = "project/recent";
}

QString aboutText() {
    auto blas = peft::activeBlas();
    return QStringLiteral(
               "<h3>PEFT Studio %1</h3><p>Guided parameter-efficient fine-tuning.</p>"
               "<p>LibTorch %2<br>BLAS: %3<br>Qt %4</p>")
        .arg(QString::fromStdString(peft::projectVersion()), QString::fromStdString(peft::torchVersion()),
             QString::fromStdString(blas.name + (blas.library.empty() ? "" : " (" + blas.library + ")")),
             QString::fromLatin1(qVersion()));
}

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowIcon(QIcon(QStringLiteral(":/icons/peft-studio.svg")));
    m_state = new ProjectState(this);
    m_runner = new TrainingRunner(coreTrainJob(), this);

    auto* central = new QWidget(this);
    auto* layout = new QHBoxLayout(central);
    layout->setContentsMargins(6, 6, 6, 6);
    m_sidebar = new QListWidget(central);
    m_sidebar->setFixedWidth(170);
    m_sidebar->setAccessibleName(tr("Steps"));
    m_sidebar->setSpacing(2);
    QFont sf = m_sidebar->font();
    sf.setPointSizeF(sf.pointSizeF() * 1.1);
    m_sidebar->setFont(sf);
    auto* right = new QVBoxLayout();
    m_pages = new QStackedWidget(central);
    right->addWidget(m_pages, 1);
    auto* nav = new QHBoxLayout();
    m_back = new QPushButton(tr("← &Back"), central);
    m_next = new QPushButton(tr("&Next →"), central);
    m_back->setToolTip(tr("Previous step (Alt+Left)"));
    m_next->setToolTip(tr("Next step (Alt+Right)"));
    m_next->setDefault(false);
    nav->addStretch(1);
    nav->addWidget(m_back);
    nav->addWidget(m_next);
    right->addLayout(nav);
    layout->addWidget(m_sidebar);
    layout->addLayout(right, 1);
    setCentralWidget(central);

    m_dataset = new DatasetPage(m_state);
    m_model = new ModelPage(m_state);
    m_method = new MethodPage(m_state);
    m_budget = new BudgetPage(m_state);
    m_train = new TrainPage(m_state, m_runner);
    m_evaluate = new EvaluatePage(m_state);
    m_export = new ExportPage(m_state);
    m_runs = new RunsPage(m_state);
    addPage(m_dataset, tr("Dataset"));
    addPage(m_model, tr("Model"));
    addPage(m_method, tr("Method"));
    addPage(m_budget, tr("Budget"));
    addPage(m_train, tr("Train"));
    addPage(m_evaluate, tr("Evaluate"));
    addPage(m_export, tr("Export"));
    addPage(m_runs, tr("Runs"));
    connect(m_runner, &TrainingRunner::metrics, m_evaluate, &EvaluatePage::onMetrics);
    connect(m_runs, &RunsPage::refined, this, [this] { goToStep(2); });
    connect(m_runs, &RunsPage::readyRunChosen, this, [this] {
        for (int i = 0; i < stepCount(); ++i)
            if (m_pageList[static_cast<size_t>(i)] == m_train) goToStep(i);
        m_train->start();
    });
    // "Use suggestion" on the Method step adds the suggestion as a Budget candidate.
    connect(m_method, &MethodPage::suggestionApplied, m_budget, &BudgetPage::addCandidate);

    connect(m_sidebar, &QListWidget::currentRowChanged, this, [this](int row) {
        if (row < 0) return;
        m_pages->setCurrentIndex(row);
        m_pageList[row]->enterPage();
        m_state->setUiValue("current_step", row);
        updateNav();
    });
    connect(m_back, &QPushButton::clicked, this, &MainWindow::back);
    connect(m_next, &QPushButton::clicked, this, &MainWindow::next);

    // Log dock.
    m_log = new LogPanel(this);
    m_log->attachToDefaultLogger();
    m_logDock = named(new QDockWidget(tr("Log"), this), "logDock");
    m_logDock->setWidget(m_log);
    m_logDock->setFeatures(QDockWidget::DockWidgetClosable | QDockWidget::DockWidgetMovable |
                           QDockWidget::DockWidgetFloatable);
    addDockWidget(Qt::BottomDockWidgetArea, m_logDock);
    resizeDocks({m_logDock}, {110}, Qt::Vertical);

    // Menus.
    auto* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&New project"), QKeySequence::New, this, &MainWindow::newProject);
    file->addAction(tr("&Open project…"), QKeySequence::Open, this, &MainWindow::openProjectDialog);
    m_recentMenu = file->addMenu(tr("Open &recent"));
    file->addAction(tr("&Save project"), QKeySequence::Save, this, &MainWindow::saveProject);
    file->addAction(tr("Save project &as…"), QKeySequence::SaveAs, this, &MainWindow::saveProjectAsDialog);
    file->addAction(tr("&Workspace folder…"), this, [this] { chooseWorkspace(this, false); });
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
    auto* go = menuBar()->addMenu(tr("&Go"));
    go->addAction(tr("&Back"), QKeySequence(Qt::ALT | Qt::Key_Left), this, &MainWindow::back);
    go->addAction(tr("&Next"), QKeySequence(Qt::ALT | Qt::Key_Right), this, &MainWindow::next);
    go->addSeparator();
    for (int i = 0; i < stepCount(); ++i)
        go->addAction(stepNames()[i], QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + i)), this,
                      [this, i] { goToStep(i); });
    auto* view = menuBar()->addMenu(tr("&View"));
    QAction* logToggle = m_logDock->toggleViewAction();
    logToggle->setText(tr("&Log panel"));
    logToggle->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
    view->addAction(logToggle);
    auto* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About PEFT Studio"), this, &MainWindow::showAbout);
    rebuildRecentMenu();

    connect(m_state, &ProjectState::dirtyChanged, this, &MainWindow::updateTitle);
    connect(m_state, &ProjectState::projectReplaced, this, &MainWindow::updateTitle);
    m_sidebar->setCurrentRow(0);
    updateTitle();
    resize(1280, 800);
    spdlog::info("PEFT Studio {} ready", peft::projectVersion());
}

MainWindow::~MainWindow() {
    // The log sink must not outlive this window's widgets.
    removeDockWidget(m_logDock);
}

void MainWindow::addPage(Page* p, const QString& name) {
    const int n = static_cast<int>(m_pageList.size()) + 1;
    m_pageList.push_back(p);
    m_pages->addWidget(p);
    auto* item = new QListWidgetItem(QStringLiteral("%1   %2").arg(n).arg(name), m_sidebar);
    item->setSizeHint(QSize(0, 34));
    item->setToolTip(tr("Step %1: %2 (Ctrl+%1)").arg(n).arg(name));
}

int MainWindow::currentStep() const { return m_pages->currentIndex(); }
void MainWindow::goToStep(int index) {
    if (index >= 0 && index < stepCount()) m_sidebar->setCurrentRow(index);
}
QStringList MainWindow::stepNames() const {
    QStringList out;
    for (int i = 0; i < m_sidebar->count(); ++i) out << m_sidebar->item(i)->text();
    return out;
}
Page* MainWindow::page(int index) const { return m_pageList.at(static_cast<size_t>(index)); }

void MainWindow::next() { goToStep(currentStep() + 1); }
void MainWindow::back() { goToStep(currentStep() - 1); }

void MainWindow::updateNav() {
    m_back->setEnabled(currentStep() > 0);
    m_next->setEnabled(currentStep() < stepCount() - 1);
    m_next->setText(currentStep() < stepCount() - 1 ? tr("&Next: %1 →").arg(m_pageList[currentStep() + 1]->title())
                                                    : tr("&Next →"));
}

void MainWindow::updateTitle() {
    const QString path = m_state->filePath();
    const QString name = path.isEmpty() ? tr("Untitled project") : QFileInfo(path).fileName();
    setWindowTitle(
        QStringLiteral("%1%2 — PEFT Studio").arg(name, m_state->isDirty() ? QStringLiteral(" *") : QString()));
}

void MainWindow::showAbout() { QMessageBox::about(this, tr("About PEFT Studio"), aboutText()); }

void MainWindow::newProject() {
    m_state->reset();
    goToStep(0);
}

void MainWindow::openProjectDialog() {
    const QString f = QFileDialog::getOpenFileName(this, tr("Open project"), QString(),
                                                   tr("PEFT Studio projects (*.peftproj);;All files (*)"));
    if (!f.isEmpty()) openProject(f);
}

bool MainWindow::openProject(const QString& path) {
    try {
        m_state->load(path);
        addRecentProject(path);
        const auto& ui = m_state->uiState();
        goToStep(ui.contains("current_step") && ui["current_step"].is_number_integer() ? ui["current_step"].get<int>()
                                                                                       : 0);
        return true;
    } catch (const std::exception& e) {
        m_pageList[currentStep()]->banner()->showError(
            tr("Could not open the project: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
}

bool MainWindow::saveProject() {
    if (m_state->filePath().isEmpty()) return saveProjectAsDialog();
    return saveProjectAs(m_state->filePath());
}

bool MainWindow::saveProjectAsDialog() {
    QString f = QFileDialog::getSaveFileName(this, tr("Save project"), m_state->filePath(),
                                             tr("PEFT Studio projects (*.peftproj)"));
    if (f.isEmpty()) return false;
    if (!f.endsWith(QLatin1String(".peftproj"))) f += QStringLiteral(".peftproj");
    return saveProjectAs(f);
}

bool MainWindow::saveProjectAs(const QString& typedPath) {
    // The project's file name is the name the user typed: made safe, the change explained.
    const QFileInfo fi(typedPath);
    QString base = fi.fileName();
    if (base.endsWith(QLatin1String(".peftproj"))) base.chop(9);
    const NameCheck c = checkTypedName(base, tr("project name"));
    Page* page = m_pageList[currentStep()];
    if (c.refused) {
        page->banner()->showError(tr("Project not saved. %1").arg(c.message));
        return false;
    }
    const QString file = c.name + QStringLiteral(".peftproj");
    const QString path =
        fi.path() == QLatin1String(".") && !typedPath.startsWith(QLatin1String("./")) ? file : fi.dir().filePath(file);
    try {
        m_state->save(path);
        if (!c.message.isEmpty())
            page->banner()->showWarning(tr("%1 Saved as %2.").arg(c.message, path.toHtmlEscaped()));
        addRecentProject(path);
        updateTitle();
        return true;
    } catch (const std::exception& e) {
        m_pageList[currentStep()]->banner()->showError(
            tr("Could not save the project: %1").arg(QString::fromStdString(e.what())));
        return false;
    }
}

void MainWindow::addRecentProject(const QString& path) {
    pushRecent(kRecentProjects, QFileInfo(path).absoluteFilePath(), 8);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu() {
    m_recentMenu->clear();
    const QStringList list = recentList(kRecentProjects);
    for (const QString& p : list) m_recentMenu->addAction(p, this, [this, p] { openProject(p); });
    m_recentMenu->setEnabled(!list.isEmpty());
}

void MainWindow::openDemo(const QString& dir) {
    const QDir d(dir);
    if (!d.exists()) {
        const QString msg = tr("The demo folder %1 is missing. It ships with PEFT Studio in resources/demo/ (a small "
                               "model and dataset); reinstall, or open your own model and dataset.")
                                .arg(dir);
        m_model->banner()->showError(msg);
        m_dataset->banner()->showError(msg);
        spdlog::warn("Demo folder not found: {}", dir.toStdString());
        return;
    }
    const QString model = QFileInfo::exists(d.filePath(QStringLiteral("model/config.json")))
        ? d.filePath(QStringLiteral("model"))
        : d.path();
    m_model->openFolder(model);
    // The demo's ready run settings (DIR/run.json: dataset, method, training), with the dataset path
    // made absolute: the bundled demo then opens on the LoRA run its README describes, not defaults.
    bool datasetFromRun = false;
    if (QFileInfo::exists(d.filePath(QStringLiteral("run.json")))) {
        try {
            const nlohmann::json rj = readJsonFile(d.filePath(QStringLiteral("run.json")).toStdString());
            for (const char* k : {"method", "training", "objective"})
                if (rj.contains(k)) m_state->setSection(k, rj[k]);
            if (rj.contains("dataset") && rj["dataset"].is_object()) {
                nlohmann::json ds = rj["dataset"];
                const QString rel = QString::fromStdString(ds.value("path", std::string()));
                if (!rel.isEmpty() && QFileInfo::exists(d.filePath(rel))) {
                    ds["path"] = QFileInfo(d.filePath(rel)).absoluteFilePath().toStdString();
                    m_state->setSection("dataset", ds);
                    datasetFromRun = true;
                }
            }
            Q_EMIT m_state->projectReplaced();
        } catch (const std::exception& e) {
            spdlog::warn("Demo run.json not applied: {}", e.what());
        }
    }
    // The dataset: the first data file in DIR/data or DIR (HF model files are not datasets).
    static const QStringList kNotData = {QStringLiteral("config.json"),
                                         QStringLiteral("generation_config.json"),
                                         QStringLiteral("tokenizer.json"),
                                         QStringLiteral("tokenizer_config.json"),
                                         QStringLiteral("special_tokens_map.json"),
                                         QStringLiteral("adapter_config.json")};
    for (const QString& sub : {QStringLiteral("data"), QString()}) {
        if (datasetFromRun) break;
        const QDir dd(sub.isEmpty() ? d.path() : d.filePath(sub));
        QStringList files = dd.entryList({QStringLiteral("*.jsonl"), QStringLiteral("*.json"), QStringLiteral("*.csv")},
                                         QDir::Files, QDir::Name);
        for (const QString& n : kNotData) files.removeAll(n);
        files.removeAll(QStringLiteral("run.json"));
        if (!files.isEmpty()) {
            m_dataset->openFile(dd.filePath(files.first()));
            break;
        }
    }
    // The demo opens with a comparison ready on the Budget step: its own run, then the standard set.
    m_budget->addCandidate(m_budget->currentCandidate());
    m_budget->addStandardCandidates();
    // Its ready runs (run.json and configs/*.json) start from the Runs page with one click; choice.txt
    // says why the shipped run is the one it is (Budget and Runs pages).
    QStringList ready;
    if (QFileInfo::exists(d.filePath(QStringLiteral("run.json")))) ready << d.filePath(QStringLiteral("run.json"));
    const QDir configs(d.filePath(QStringLiteral("configs")));
    for (const QString& f : configs.entryList({QStringLiteral("*.json")}, QDir::Files, QDir::Name))
        ready << configs.filePath(f);
    QString why;
    QFile choice(d.filePath(QStringLiteral("choice.txt")));
    if (choice.open(QIODevice::ReadOnly)) why = QString::fromUtf8(choice.readAll()).trimmed();
    m_runs->setReadyRuns(ready, why);
    m_budget->setNote(why);
    // A finished demo run (DIR/run: run.json, metrics.jsonl, adapter/) fills Train, Evaluate and Export.
    const QString run = d.filePath(QStringLiteral("run"));
    if (QFileInfo::exists(run + QStringLiteral("/metrics.jsonl"))) {
        if (QFileInfo::exists(run + QStringLiteral("/run.json"))) {
            try {
                const nlohmann::json rj = readJsonFile((run + QStringLiteral("/run.json")).toStdString());
                for (const char* k : {"dataset", "method", "training", "objective"}) {
                    if (!rj.contains(k)) continue;
                    nlohmann::json section = rj[k];
                    // A run's dataset path is relative to where it was started: resolve it in DIR.
                    if (std::string(k) == "dataset" && section.is_object() && section.contains("path") &&
                        section["path"].is_string()) {
                        const QString p = QString::fromStdString(section["path"].get<std::string>());
                        if (QFileInfo(p).isRelative() && QFileInfo::exists(d.filePath(p)))
                            section["path"] = QFileInfo(d.filePath(p)).absoluteFilePath().toStdString();
                    }
                    m_state->setSection(k, section);
                }
                // Every page re-reads its fields from the demo run's settings.
                Q_EMIT m_state->projectReplaced();
            } catch (const std::exception& e) {
                spdlog::warn("Demo run.json not applied: {}", e.what());
            }
        }
        m_state->setSection("output_dir", run.toStdString());
        m_train->loadRunHistory(run);
        m_evaluate->loadRunMetrics();
        m_evaluate->loadRunReport();  // its latest task evaluation (DIR/run/evaluation/report.json)
        QFile prompt(d.filePath(QStringLiteral("prompt.txt")));
        if (prompt.open(QIODevice::ReadOnly)) m_evaluate->setPrompt(QString::fromUtf8(prompt.readAll()).trimmed());
    }
}

namespace {
// Runs the event loop while `busy` (a page's worker) says so, at most `ms`, then lets the page settle.
void waitWhile(const std::function<bool()>& busy, qint64 ms) {
    QElapsedTimer t;
    t.start();
    while (busy() && t.elapsed() < ms) {
        QApplication::processEvents(QEventLoop::AllEvents, 50);
        QThread::msleep(10);
    }
    for (int k = 0; k < 5; ++k) QApplication::processEvents();
}
}  // namespace

QStringList MainWindow::saveScreenshots(const QString& dir) {
    QDir().mkpath(dir);
    QStringList written;
    for (int i = 0; i < stepCount(); ++i) {
        goToStep(i);
        for (int k = 0; k < 5; ++k) QApplication::processEvents();
        // The import runs on a worker: capture its report, not the busy bar.
        if (m_pageList[i] == m_dataset) waitWhile([this] { return m_dataset->isImporting(); }, 120000);
        // --score-modules: capture the heatmap once the worker is done.
        if (m_pageList[i] == m_method) waitWhile([this] { return m_method->isScoring(); }, 120000);
        // The Budget page with every candidate's run time measured on the demo's data.
        if (m_pageList[i] == m_budget) {
            m_budget->measureRunTimes();
            waitWhile([this] { return m_budget->isMeasuring(); }, 600000);
        }
        bool preferenceRun = false;
        const nlohmann::json& objective =
            m_state->runConfig().contains("objective") ? m_state->runConfig()["objective"] : nlohmann::json();
        for (const ObjectiveSpec& spec : objectiveSpecs())
            preferenceRun = preferenceRun ||
                (objective.is_object() && spec.preference && objective.value("type", std::string()) == spec.type);
        if (m_pageList[i] == m_evaluate && preferenceRun) {
            // A preference run: its pairs' base vs tuned preference accuracy, not a task evaluation.
            m_evaluate->showPairsTab();
            if (m_evaluate->pairsPanel()->evaluate())
                waitWhile([this] { return m_evaluate->pairsPanel()->isRunning(); }, 600000);
        } else if (m_pageList[i] == m_evaluate &&
                   QFileInfo::exists(
                       QString::fromStdString(m_state->runConfig().value("output_dir", std::string()) + "/adapter"))) {
            // Show the playground answering: base first, then tuned.
            m_evaluate->generate();
            waitWhile([this] { return m_evaluate->isGenerating(); }, 120000);
            // ...and the task evaluation's bars and rows (evaluated now when the run has none yet).
            if (!m_evaluate->report()) {
                m_evaluate->evaluateValidation();
                waitWhile([this] { return m_evaluate->isEvaluating(); }, 600000);
            }
        }
        QThread::msleep(150);  // let throttled chart replots land
        QApplication::processEvents();
        const QString name =
            QStringLiteral("%1-%2.png").arg(i + 1, 2, 10, QLatin1Char('0')).arg(m_pageList[i]->title().toLower());
        const QString path = QDir(dir).filePath(name);
        if (grab().save(path)) written << path;
        else spdlog::error("Could not write screenshot {}", path.toStdString());
    }
    return written;
}

void MainWindow::closeEvent(QCloseEvent* e) {
    if (m_runner->isActive()) {
        const auto answer = QMessageBox::question(
            this, tr("Training is running"),
            tr("A training run is in progress. Stop it (a checkpoint is written first, so it can be resumed) and "
               "quit?"),
            QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
        if (answer != QMessageBox::Yes) {
            e->ignore();
            return;
        }
        m_runner->stopAndWait();
    }
    e->accept();
}

}  // namespace peft::ui
