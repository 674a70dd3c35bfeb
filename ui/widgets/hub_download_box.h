// "Download from the Hub": a repo id, a revision and (for models) the default file set, fetched
// into the Hugging Face cache on a worker thread with progress (bytes, speed, ETA) and Cancel.
// The Model page and the Dataset page each hold one.
#pragma once
#include <QGroupBox>
#include <QStringList>

#include "core/hub/hub_cache.h"

class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;

namespace peft::ui {

class BackgroundTask;

class HubDownloadBox : public QGroupBox {
    Q_OBJECT
public:
    explicit HubDownloadBox(hub::RepoType type, QWidget* parent = nullptr);
    // Starts a download of `repoId` (ORG/NAME[@revision]); false when the text is not a repo id.
    bool startDownload(const QString& repoId);
    void cancel();
    bool isDownloading() const;
    BackgroundTask* task() const { return m_task; }
    // The last progress line ("12 MB / 270 MB · 3.1 MB/s · ETA 1:24 · model.safetensors").
    QString progressText() const;

Q_SIGNALS:
    // The snapshot folder and the files it now holds (relative to it).
    void downloaded(const QString& snapshotDir, const QStringList& files);
    void failed(const QString& message);

private:
    hub::RepoType m_type;
    QLineEdit* m_repo;
    QPushButton* m_start;
    QPushButton* m_cancel;
    QProgressBar* m_bar;
    QLabel* m_status;
    BackgroundTask* m_task;
};

// "1:05", "1:02:03", "--:--" for unknown.
QString formatEta(double seconds);

}  // namespace peft::ui
