// Export page: output choices and the peft loading snippet.
#include "ui/pages/export_page.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QFileDialog>
#include <QFontDatabase>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QFileInfo>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

#include <QDir>
#include <QThread>

#include <filesystem>
#include <fstream>

#include "ui/metric_point.h"
#include "ui/project_state.h"
#include "ui/safe_names.h"
#include "ui/run_export.h"
#include "ui/widgets/training_charts.h"

namespace peft::ui {

ExportPage::ExportPage(ProjectState* state, QWidget* parent)
    : Page(state, tr("Export"),
           tr("Write the adapter in Hugging Face peft layout (adapter_config.json + adapter_model.safetensors), "
              "optionally a merged model folder, and a run report with the charts."),
           parent) {
    auto* box = new QGroupBox(tr("Output"), this);
    auto* form = new QFormLayout(box);
    auto* dirRow = new QHBoxLayout();
    m_outDir = new QLineEdit(box);
    m_outDir->setObjectName(QStringLiteral("outputDir"));
    m_outDir->setToolTip(tr("The run folder: run.json, metrics.jsonl, log.txt, checkpoints/ and adapter/."));
    auto* browse = new QPushButton(tr("B&rowse…"), box);
    dirRow->addWidget(m_outDir, 1);
    dirRow->addWidget(browse);
    form->addRow(tr("Run folder:"), dirRow);
    m_dest = new QLineEdit(box);
    m_dest->setObjectName(QStringLiteral("exportDir"));
    m_dest->setPlaceholderText(tr("<run folder>/export"));
    m_dest->setToolTip(tr("adapter/, merged/ and report/ are written here."));
    form->addRow(tr("Export &to:"), m_dest);
    m_adapter = new QCheckBox(tr("Adapter (peft layout)"), box);
    m_adapter->setChecked(true);
    m_merged = new QCheckBox(tr("Merged model folder (LoRA-family methods)"), box);
    m_merged->setObjectName(QStringLiteral("merged"));
    m_report = new QCheckBox(tr("Run report: config, final metrics, charts as PNG, README card"), box);
    m_report->setChecked(true);
    form->addRow(tr("Write:"), m_adapter);
    form->addRow(QString(), m_merged);
    form->addRow(QString(), m_report);
    m_export = new QPushButton(tr("&Export"), box);
    m_export->setObjectName(QStringLiteral("export"));
    m_export->setToolTip(tr("Write the checked outputs from the run folder's adapter/ and metrics.jsonl."));
    m_exportStatus = new QLabel(box);
    m_exportStatus->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* exportRow = new QHBoxLayout();
    exportRow->addWidget(m_export);
    exportRow->addWidget(m_exportStatus, 1);
    form->addRow(QString(), exportRow);
    connect(m_export, &QPushButton::clicked, this, &ExportPage::exportNow);
    connect(this, &ExportPage::exportProgress, m_exportStatus, &QLabel::setText, Qt::QueuedConnection);
    connect(this, &ExportPage::workerDone, this, [this](const QString& error, const QString& reportDir, const QString& note) {
        if (m_worker) {
            m_worker->wait();
            m_worker->deleteLater();
            m_worker = nullptr;
        }
        m_export->setEnabled(true);
        if (!error.isEmpty()) {
            m_exportStatus->setText(tr("Export failed."));
            banner()->showError(error);
            Q_EMIT exportFailed(error);
            return;
        }
        if (!reportDir.isEmpty()) {
            // Charts for the report, drawn from metrics.jsonl off screen.
            TrainingCharts charts;
            charts.resize(900, 600);
            std::ifstream in(QDir(QString::fromStdString(this->state()->runConfig().value("output_dir", std::string())))
                                 .filePath(QStringLiteral("metrics.jsonl"))
                                 .toStdString());
            std::string line;
            while (std::getline(in, line)) {
                const auto j = nlohmann::json::parse(line, nullptr, false);
                if (j.is_object()) charts.append(MetricPoint::fromJson(j));
            }
            charts.flush();
            if (!charts.savePngs(reportDir)) banner()->showWarning(tr("The chart PNGs could not be written to %1.").arg(reportDir));
        }
        if (!note.isEmpty()) banner()->showWarning(note);
        else banner()->showInfo(tr("Exported to <b>%1</b>.").arg(exportDir().toHtmlEscaped()));
        m_exportStatus->setText(tr("Done."));
        Q_EMIT exported(exportDir());
    }, Qt::QueuedConnection);
    body()->addWidget(box);

    auto* snip = new QGroupBox(tr("Load the adapter in Python"), this);
    auto* sl = new QVBoxLayout(snip);
    m_snippet = new QPlainTextEdit(snip);
    m_snippet->setObjectName(QStringLiteral("pythonSnippet"));
    m_snippet->setReadOnly(true);
    m_snippet->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    sl->addWidget(m_snippet, 1);
    auto* copy = new QPushButton(tr("&Copy"), snip);
    connect(copy, &QPushButton::clicked, this, [this] { QApplication::clipboard()->setText(m_snippet->toPlainText()); });
    sl->addWidget(copy, 0, Qt::AlignRight);
    body()->addWidget(snip, 1);

    connect(browse, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Run folder"), m_outDir->text());
        if (!d.isEmpty()) {
            m_outDir->setText(d);
            this->state()->setSection("output_dir", d.toStdString());
        }
    });
    connect(m_outDir, &QLineEdit::editingFinished, this, [this] {
        // The folder's last part is the run name: made safe (no "..", separators or reserved characters).
        QString typed = m_outDir->text().trimmed();
        while (typed.size() > 1 && typed.endsWith(QLatin1Char('/'))) typed.chop(1);
        const QString current = QString::fromStdString(this->state()->runConfig().value("output_dir", std::string()));
        if (typed == current) return;
        const QFileInfo fi(typed);
        const NameCheck c = checkTypedName(fi.fileName(), tr("run name"));
        if (c.refused) {
            banner()->showError(tr("Run folder '%1' not used. %2").arg(typed.toHtmlEscaped(), c.message));
            m_outDir->setText(current);
            return;
        }
        const QString folder = fi.path() == QLatin1String(".") && !typed.startsWith(QLatin1String("./"))
                                   ? c.name
                                   : fi.path() + QLatin1Char('/') + c.name;
        if (!c.message.isEmpty()) banner()->showWarning(c.message);
        m_outDir->setText(folder);
        this->state()->setSection("output_dir", folder.toStdString());
    });
    connect(state, &ProjectState::configChanged, this, &ExportPage::refresh);
    connect(m_adapter, &QCheckBox::toggled, this, [this] { refresh(); });
    connect(m_dest, &QLineEdit::textChanged, this, [this] { refresh(); });
    refresh();
}

ExportPage::~ExportPage() {
    if (m_worker) {
        m_worker->wait();
        delete m_worker;
    }
}

QString ExportPage::exportDir() const {
    if (!m_dest->text().trimmed().isEmpty()) return m_dest->text().trimmed();
    return QDir(m_outDir->text()).filePath(QStringLiteral("export"));
}

void ExportPage::exportNow() {
    if (m_worker) return;
    banner()->clear();
    ExportRequest req;
    req.runDir = m_outDir->text().toStdString();
    req.modelDir = state()->runConfig().value("model", std::string());
    req.outDir = exportDir().toStdString();
    req.adapter = m_adapter->isChecked();
    req.merged = m_merged->isChecked();
    req.report = m_report->isChecked();
    if (!req.adapter && !req.merged && !req.report) {
        banner()->showWarning(tr("Check at least one output."));
        return;
    }
    m_export->setEnabled(false);
    m_exportStatus->setText(tr("Exporting…"));
    m_worker = QThread::create([this, req] {
        QString error, reportDir, note;
        try {
            const ExportResult r = exportRun(req, [this](const std::string& m) { Q_EMIT exportProgress(QString::fromStdString(m)); });
            reportDir = QString::fromStdString(r.reportDir);
            note = QString::fromStdString(r.mergeSkipped);
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
        }
        Q_EMIT workerDone(error, reportDir, note);
    });
    m_worker->setObjectName(QStringLiteral("export"));
    m_worker->start();
}

QString ExportPage::pythonSnippet() const {
    const auto& c = state()->runConfig();
    const QString model = QString::fromStdString(c.value("model", std::string()));
    const QString out = QString::fromStdString(c.value("output_dir", std::string("runs/my-run")));
    const bool cls = c["method"].value("task_type", std::string("CAUSAL_LM")) == "SEQ_CLS";
    const QString autoClass = cls ? QStringLiteral("AutoModelForSequenceClassification")
                                  : QStringLiteral("AutoModelForCausalLM");
    return QStringLiteral(
               "from transformers import %1, AutoTokenizer\n"
               "from peft import PeftModel\n\n"
               "base = %1.from_pretrained(\"%2\")\n"
               "tokenizer = AutoTokenizer.from_pretrained(\"%2\")\n"
               "model = PeftModel.from_pretrained(base, \"%3\")\n"
               "model.eval()\n")
        .arg(autoClass, model.isEmpty() ? QStringLiteral("path/to/base-model") : model,
             m_adapter && m_adapter->isChecked() ? QDir(exportDir()).filePath(QStringLiteral("adapter")) : out + QStringLiteral("/adapter"));
}

void ExportPage::refresh() {
    const QString out = QString::fromStdString(state()->runConfig().value("output_dir", std::string()));
    if (!m_outDir->hasFocus()) m_outDir->setText(out);
    m_snippet->setPlainText(pythonSnippet());
}

}  // namespace peft::ui
