// HubDownloadBox: a hub::HubClient snapshot download run by a BackgroundTask; the core's cancel
// flag is the task's stop flag, and the core's progress becomes the bar and its text.
#include "ui/widgets/hub_download_box.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>

#include <memory>

#include "core/budget/budget.h"
#include "core/hub/hub_client.h"
#include "ui/background_task.h"
#include "ui/named.h"

namespace peft::ui {

QString formatEta(double seconds) {
    if (seconds < 0) return QStringLiteral("--:--");
    const qint64 s = static_cast<qint64>(seconds + 0.5);
    if (s >= 3600)
        return QStringLiteral("%1:%2:%3")
            .arg(s / 3600)
            .arg((s / 60) % 60, 2, 10, QLatin1Char('0'))
            .arg(s % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

HubDownloadBox::HubDownloadBox(hub::RepoType type, QWidget* parent)
    : QGroupBox(tr("Download from the Hugging Face Hub"), parent), m_type(type) {
    setObjectName(QStringLiteral("hubDownload"));
    auto* v = new QVBoxLayout(this);
    auto* row = new QHBoxLayout();
    m_repo = named(new QLineEdit(this), "hubRepo");
    m_repo->setPlaceholderText(type == hub::RepoType::Model ? tr("ORG/NAME[@revision], e.g. HuggingFaceTB/SmolLM2-135M")
                                                            : tr("ORG/NAME[@revision], e.g. HuggingFaceH4/no_robots"));
    m_repo->setAccessibleName(tr("Hub repo id"));
    row->addWidget(m_repo, 1);
    m_start = named(new QPushButton(tr("Download"), this), "hubStart");
    row->addWidget(m_start);
    m_cancel = named(new QPushButton(tr("Cancel"), this), "hubCancel");
    m_cancel->setEnabled(false);
    row->addWidget(m_cancel);
    v->addLayout(row);
    m_bar = named(new QProgressBar(this), "hubProgress");
    m_bar->setRange(0, 1000);
    m_bar->setTextVisible(true);
    m_bar->setVisible(false);
    v->addWidget(m_bar);
    m_status = named(new QLabel(this), "hubStatus");
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_status->setText(type == hub::RepoType::Model
                          ? tr("Fetches config, safetensors weights and tokenizer into %1. Gated models need HF_TOKEN "
                               "(or a token saved by huggingface-cli) and the licence accepted on the model page.")
                                .arg(QString::fromStdString(hub::defaultCacheDir()))
                          : tr("Fetches the JSON, JSONL, CSV and Parquet files into %1.")
                                .arg(QString::fromStdString(hub::defaultCacheDir())));
    v->addWidget(m_status);

    m_task = new BackgroundTask(this);
    connect(m_start, &QPushButton::clicked, this, [this] { startDownload(m_repo->text().trimmed()); });
    connect(m_repo, &QLineEdit::returnPressed, this, [this] { startDownload(m_repo->text().trimmed()); });
    connect(m_cancel, &QPushButton::clicked, this, &HubDownloadBox::cancel);
    bindTask(m_task, m_bar, m_start, m_cancel);
    connect(m_task, &BackgroundTask::finished, this, [this] {
        m_bar->setVisible(false);
        m_repo->setEnabled(true);
    });
    connect(m_task, &BackgroundTask::failed, this, [this](const QString& msg) {
        m_status->setText(msg);
        Q_EMIT failed(msg);
    });
    connect(m_task, &BackgroundTask::cancelled, this,
            [this] { m_status->setText(tr("Download cancelled. Start it again to resume where it stopped.")); });
}

bool HubDownloadBox::startDownload(const QString& text) {
    auto ref = hub::parseRepoRef(text.toStdString());
    if (!ref) {
        m_status->setText(tr("'%1' is not a Hub repo id: write ORG/NAME, optionally @revision.").arg(text));
        return false;
    }
    m_repo->setText(text);
    m_repo->setEnabled(false);
    m_bar->setValue(0);
    m_bar->setVisible(true);  // bindTask: the buttons, and the bar busy until the first file
    m_status->setText(tr("Downloading %1…").arg(text));
    const hub::RepoType type = m_type;
    const hub::RepoRef r = *ref;
    m_task->start(tr("Downloading %1").arg(text), [this, type, r](const TaskContext& ctx) -> BackgroundTask::Apply {
        hub::HubClient client(hub::HubOptions::fromEnvironment());
        client.setCancelFlag(ctx.stopFlag());
        client.setProgress([&ctx](const hub::DownloadProgress& p) {
            const double frac = p.bytesTotal > 0 ? double(p.bytesDone) / double(p.bytesTotal) : -1;
            ctx.progress(tr("%1 / %2 · %3/s · ETA %4 · %5 (%6/%7)")
                             .arg(QString::fromStdString(budget::humanBytes(p.bytesDone)),
                                  QString::fromStdString(budget::humanBytes(p.bytesTotal)),
                                  QString::fromStdString(budget::humanBytes(static_cast<int64_t>(p.bytesPerSecond))),
                                  formatEta(p.etaSeconds), QString::fromStdString(p.file))
                             .arg(p.fileIndex)
                             .arg(p.fileCount),
                         frac);
        });
        hub::SnapshotRequest req;
        req.repoId = r.repoId;
        req.revision = r.revision;
        req.type = type;
        auto res = std::make_shared<hub::SnapshotResult>(client.downloadSnapshot(req));
        return [this, res] {
            QStringList files;
            for (const auto& f : res->files) files << QString::fromStdString(f);
            m_status->setText(tr("Done: %1 files (%2 downloaded, %3) in %4")
                                  .arg(files.size())
                                  .arg(res->filesDownloaded)
                                  .arg(QString::fromStdString(budget::humanBytes(res->bytesDownloaded)),
                                       QString::fromStdString(res->snapshotDir)));
            Q_EMIT downloaded(QString::fromStdString(res->snapshotDir), files);
        };
    });
    return true;
}

void HubDownloadBox::cancel() { m_task->cancel(); }

bool HubDownloadBox::isDownloading() const { return m_task->isRunning(); }

QString HubDownloadBox::progressText() const { return m_bar->format(); }

}  // namespace peft::ui
