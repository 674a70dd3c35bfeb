// Train page: controls, progress and the live charts.
#include "ui/pages/train_page.h"

#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>

#include <cmath>
#include <fstream>

#include <QDir>

#include "ui/project_state.h"
#include "ui/safe_names.h"
#include "ui/widgets/objective_picker.h"
#include "ui/widgets/preference_charts.h"
#include "ui/widgets/training_charts.h"
#include "ui/widgets/training_settings.h"
#include "ui/named.h"

namespace peft::ui {

namespace {
QString duration(double s) {
    if (!std::isfinite(s) || s < 0) return QStringLiteral("—");
    const int t = static_cast<int>(s + 0.5);
    if (t >= 3600) return QStringLiteral("%1 h %2 min").arg(t / 3600).arg((t % 3600) / 60);
    if (t >= 60) return QStringLiteral("%1 min %2 s").arg(t / 60).arg(t % 60);
    return QStringLiteral("%1 s").arg(t);
}
}  // namespace

TrainPage::TrainPage(ProjectState* state, TrainingRunner* runner, QWidget* parent)
    : Page(state, tr("Train"),
           tr("Training runs on a worker thread: the window stays responsive. Pause keeps everything in memory; "
              "Stop writes a checkpoint first, and a stopped run can be resumed."),
           parent),
      m_runner(runner) {
    auto* nameRow = new QHBoxLayout();
    m_runName = named(new QLineEdit(this), "runName");
    m_runName->setMaximumWidth(280);
    m_runName->setToolTip(
        tr("The run's folder name inside the workspace; characters that cannot be in a file name "
           "are replaced."));
    auto* nameLabel = new QLabel(tr("Run n&ame:"), this);
    nameLabel->setBuddy(m_runName);
    m_runFolder = new QLabel(this);
    m_runFolder->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_runFolder->setForegroundRole(QPalette::PlaceholderText);
    nameRow->addWidget(nameLabel);
    nameRow->addWidget(m_runName);
    nameRow->addWidget(m_runFolder, 1);
    body()->addLayout(nameRow);
    connect(m_runName, &QLineEdit::editingFinished, this, [this] {
        if (m_runName->isModified()) setRunName(m_runName->text());
        m_runName->setModified(false);
    });
    connect(state, &ProjectState::configChanged, this, [this] {
        if (!m_runName->hasFocus()) showRunName();
    });
    connect(state, &ProjectState::projectReplaced, this, &TrainPage::showRunName);

    m_settings = new TrainingSettings(state, this);
    connect(m_settings, &TrainingSettings::problem, this, [this](const QString& msg) { banner()->showError(msg); });

    auto* controls = new QHBoxLayout();
    m_start = new QPushButton(tr("&Start"), this);
    m_pause = new QPushButton(tr("&Pause"), this);
    m_stop = new QPushButton(tr("S&top"), this);
    m_resume = new QPushButton(tr("&Resume from checkpoint"), this);
    m_start->setObjectName(QStringLiteral("start"));
    m_pause->setObjectName(QStringLiteral("pause"));
    m_stop->setObjectName(QStringLiteral("stop"));
    m_resume->setObjectName(QStringLiteral("resume"));
    m_start->setToolTip(tr("Train with the current project settings (output folder from the Export step)."));
    m_resume->setToolTip(tr("Continue a finished or stopped run from its newest checkpoint."));
    for (QPushButton* b : {m_start, m_pause, m_stop, m_resume}) controls->addWidget(b);
    controls->addSpacing(12);
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 100);
    m_progress->setValue(0);
    m_progress->setFormat(tr("not started"));
    controls->addWidget(m_progress, 1);
    body()->addLayout(controls);
    auto* statusRow = new QHBoxLayout();
    m_status = new QLabel(tr("Idle."), this);
    m_stats = new QLabel(this);
    m_stats->setTextInteractionFlags(Qt::TextSelectableByMouse);
    statusRow->addWidget(m_status);
    statusRow->addStretch(1);
    statusRow->addWidget(m_stats);
    body()->addLayout(statusRow);
    m_charts = new TrainingCharts(this);
    auto* main = new QHBoxLayout();
    auto* side = new QVBoxLayout();
    side->addWidget(m_settings);
    side->addStretch(1);
    main->addLayout(side);
    auto* chartColumn = new QVBoxLayout();
    chartColumn->addWidget(m_charts, 3);
    m_prefCharts = new PreferenceCharts(this);
    chartColumn->addWidget(m_prefCharts, 2);
    main->addLayout(chartColumn, 1);
    body()->addLayout(main, 1);

    connect(m_start, &QPushButton::clicked, this, &TrainPage::start);
    connect(m_pause, &QPushButton::clicked, this, &TrainPage::togglePause);
    connect(m_stop, &QPushButton::clicked, this, &TrainPage::stop);
    connect(m_resume, &QPushButton::clicked, this, &TrainPage::resumeRun);
    connect(m_runner, &TrainingRunner::metrics, this, &TrainPage::onMetrics);
    connect(m_runner, &TrainingRunner::stateChanged, this, &TrainPage::onState);
    connect(m_runner, &TrainingRunner::failed, this, [this](const QString& msg) { banner()->showError(msg); });
    // Preflight warnings (memory, slow bf16) stay in the banner while the run goes on.
    connect(m_runner, &TrainingRunner::warning, this, [this](const QString& msg) {
        m_warnings << msg;
        banner()->showWarning(m_warnings.join(QLatin1Char('\n')));  // plain text: a path with '&' or '<' shows as is
    });
    connect(m_runner, &TrainingRunner::progress, this, [this](const QString& what, double f) {
        if (m_runner->state() != TrainingController::State::Running || m_lastStep > 0) return;
        m_status->setText(tr("Preparing: %1…").arg(what));
        if (f > 0 && f <= 1) {
            m_progress->setMaximum(100);
            m_progress->setFormat(tr("%1 %p%").arg(what));
            m_progress->setValue(static_cast<int>(f * 100));
        }
    });
    if (!m_runner->available())
        banner()->showInfo(tr("<b>Training cannot start here</b>: this window was built without a training job."));
    updateButtons();
    showRunName();
}

void TrainPage::showRunName() {
    const QString out = QString::fromStdString(state()->runConfig().value("output_dir", std::string()));
    m_runName->setText(QFileInfo(out).fileName());
    m_runName->setModified(false);
    m_runFolder->setText(out.isEmpty() ? QString() : tr("folder: %1").arg(out));
}

QString TrainPage::setRunName(const QString& typed) {
    const QString out = QString::fromStdString(state()->runConfig().value("output_dir", std::string()));
    const QString current = QFileInfo(out).fileName();
    const NameCheck c = checkTypedName(typed, tr("run name"));
    if (c.refused) {
        banner()->showError(c.message);
        showRunName();
        return current;
    }
    // The run folder keeps its workspace; only its last part is the name.
    const QString parent = out.isEmpty() ? QStringLiteral("runs") : QFileInfo(out).path();
    const QString folder = parent == QLatin1String(".") && !out.startsWith(QLatin1String("./"))
        ? c.name
        : parent + QLatin1Char('/') + c.name;
    state()->setSection("output_dir", folder.toStdString());
    if (!c.message.isEmpty()) banner()->showWarning(c.message);
    else banner()->clear();
    showRunName();
    return c.name;
}

bool TrainPage::loadRunHistory(const QString& runDir) {
    std::ifstream in(QDir(runDir).filePath(QStringLiteral("metrics.jsonl")).toStdString());
    if (!in) return false;
    m_charts->clear();
    m_prefCharts->clear();
    std::string line;
    MetricPoint last;
    int n = 0;
    while (std::getline(in, line)) {
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_object()) continue;
        last = MetricPoint::fromJson(j);
        if (last.totalSteps <= 0) last.totalSteps = last.step;
        m_charts->append(last);
        m_prefCharts->append(last);
        ++n;
    }
    m_charts->flush();
    m_prefCharts->flush();
    if (n == 0) return false;
    onMetrics(last);
    m_status->setText(tr("Showing the run in %1 (%2 steps). Resume continues it from its newest checkpoint.")
                          .arg(runDir)
                          .arg(last.step));
    return true;
}

void TrainPage::start() {
    banner()->clear();
    // A preference objective on single examples (or the reverse) is refused before anything loads.
    const QString mismatch =
        objectiveDatasetMismatch(state()->runConfig(), state()->uiState().value("dataset_format", std::string()));
    if (!mismatch.isEmpty()) {
        banner()->showError(mismatch);
        return;
    }
    m_warnings.clear();
    m_charts->clear();
    m_prefCharts->clear();
    m_lastStep = 0;
    m_progress->setValue(0);
    m_runner->start(state()->runConfig(), false);
    updateButtons();
}

void TrainPage::resumeRun() {
    banner()->clear();
    m_warnings.clear();
    m_lastStep = 0;
    m_runner->start(state()->runConfig(), true);
    updateButtons();
}

void TrainPage::togglePause() {
    if (m_runner->state() == TrainingController::State::Paused) m_runner->resume();
    else m_runner->pause();
}

void TrainPage::stop() { m_runner->stop(); }

void TrainPage::onMetrics(const MetricPoint& p) {
    m_charts->append(p);
    m_prefCharts->append(p);
    m_lastStep = p.step;
    if (p.totalSteps > 0) {
        m_progress->setMaximum(static_cast<int>(p.totalSteps));
        m_progress->setFormat(tr("step %v / %m"));
        m_progress->setValue(static_cast<int>(p.step));
    }
    QString eta = QStringLiteral("—");
    if (p.totalSteps > 0 && p.step > 0 && std::isfinite(p.elapsedS))
        eta = duration(p.elapsedS / static_cast<double>(p.step) * static_cast<double>(p.totalSteps - p.step));
    m_stats->setText(tr("loss %1 · %2 tokens/s · elapsed %3 · ETA %4")
                         .arg(std::isfinite(p.loss) ? QString::number(p.loss, 'f', 4) : QStringLiteral("—"))
                         .arg(std::isfinite(p.tokensPerS) ? QString::number(p.tokensPerS, 'f', 0) : QStringLiteral("—"))
                         .arg(duration(p.elapsedS), eta));
}

void TrainPage::onState(TrainingController::State s) {
    using S = TrainingController::State;
    switch (s) {
        case S::Idle: m_status->setText(tr("Idle.")); break;
        case S::Running: m_status->setText(tr("Training…")); break;
        case S::Paused: m_status->setText(tr("Paused (everything kept in memory).")); break;
        case S::Stopping: m_status->setText(tr("Stopping: writing a checkpoint…")); break;
        case S::Finished: m_status->setText(tr("Finished.")); break;
        case S::Stopped:
            m_status->setText(tr("Stopped after step %1; resume continues from the checkpoint.").arg(m_lastStep));
            break;
        case S::Failed: m_status->setText(tr("Failed: see the message above.")); break;
    }
    m_pause->setText(s == S::Paused ? tr("&Continue") : tr("&Pause"));
    updateButtons();
}

void TrainPage::updateButtons() {
    using S = TrainingController::State;
    const S s = m_runner->state();
    const bool active = m_runner->isActive();
    m_start->setEnabled(!active);
    m_resume->setEnabled(!active && (s == S::Stopped || s == S::Finished || s == S::Failed));
    m_pause->setEnabled(active && s != S::Stopping);
    m_stop->setEnabled(active && s != S::Stopping);
    // A run keeps the settings it started with; editing them mid-run would suggest otherwise.
    m_settings->setEnabled(!active);
}

}  // namespace peft::ui
