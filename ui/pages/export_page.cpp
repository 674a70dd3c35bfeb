// Export page: output choices and the peft loading snippet.
#include "ui/pages/export_page.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QProgressBar>
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

#include "core/export/gguf_export.h"
#include "core/peft/method_spec.h"
#include "ui/background_task.h"
#include "ui/metric_point.h"
#include "ui/project_state.h"
#include "ui/safe_names.h"
#include "ui/run_export.h"
#include "ui/widgets/training_charts.h"
#include "ui/named.h"

namespace peft::ui {

ExportPage::ExportPage(ProjectState* state, QWidget* parent)
    : Page(state, tr("Export"),
           tr("Write the adapter in Hugging Face peft layout (adapter_config.json + adapter_model.safetensors), "
              "optionally a merged model folder, and a run report with the charts."),
           parent) {
    auto* box = new QGroupBox(tr("Output"), this);
    auto* form = new QFormLayout(box);
    auto* dirRow = new QHBoxLayout();
    m_outDir = named(new QLineEdit(box), "outputDir",
                     tr("The run folder: run.json, metrics.jsonl, log.txt, checkpoints/ and adapter/."));
    auto* browse = new QPushButton(tr("B&rowse…"), box);
    dirRow->addWidget(m_outDir, 1);
    dirRow->addWidget(browse);
    form->addRow(tr("Run folder:"), dirRow);
    m_dest = named(new QLineEdit(box), "exportDir");
    m_dest->setPlaceholderText(tr("<run folder>/export"));
    m_dest->setToolTip(tr("adapter/, merged/ and report/ are written here."));
    form->addRow(tr("Export &to:"), m_dest);
    m_adapter = named(new QCheckBox(tr("Adapter (peft layout)"), box), "exportAdapter");
    m_adapter->setChecked(true);
    m_merged = named(new QCheckBox(tr("Merged model folder (LoRA-family methods)"), box), "merged");
    m_report = new QCheckBox(tr("Run report: config, final metrics, charts as PNG, README card"), box);
    m_report->setChecked(true);
    form->addRow(tr("Write:"), m_adapter);
    form->addRow(QString(), m_merged);
    form->addRow(QString(), m_report);
    m_export = named(new QPushButton(tr("&Export"), box), "export",
                     tr("Write the checked outputs from the run folder's adapter/ and metrics.jsonl."));
    m_exportStatus = new QLabel(box);
    m_exportStatus->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* exportRow = new QHBoxLayout();
    exportRow->addWidget(m_export);
    exportRow->addWidget(m_exportStatus, 1);
    form->addRow(QString(), exportRow);
    connect(m_export, &QPushButton::clicked, this, &ExportPage::exportNow);
    connect(this, &ExportPage::exportProgress, m_exportStatus, &QLabel::setText, Qt::QueuedConnection);
    connect(
        this, &ExportPage::workerDone, this,
        [this](const QString& error, const QString& reportDir, const QString& note) {
            reapWorker(m_worker);
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
                std::ifstream in(
                    QDir(QString::fromStdString(this->state()->runConfig().value("output_dir", std::string())))
                        .filePath(QStringLiteral("metrics.jsonl"))
                        .toStdString());
                std::string line;
                while (std::getline(in, line)) {
                    const auto j = nlohmann::json::parse(line, nullptr, false);
                    if (j.is_object()) charts.append(MetricPoint::fromJson(j));
                }
                charts.flush();
                if (!charts.savePngs(reportDir))
                    banner()->showWarning(tr("The chart PNGs could not be written to %1.").arg(reportDir));
            }
            if (!note.isEmpty()) banner()->showWarning(note);
            else banner()->showInfo(tr("Exported to <b>%1</b>.").arg(exportDir().toHtmlEscaped()));
            m_exportStatus->setText(tr("Done."));
            Q_EMIT exported(exportDir());
        },
        Qt::QueuedConnection);
    body()->addWidget(box);

    auto* snip = new QGroupBox(tr("Load the adapter in Python"), this);
    auto* sl = new QVBoxLayout(snip);
    m_snippet = named(new QPlainTextEdit(snip), "pythonSnippet");
    m_snippet->setReadOnly(true);
    m_snippet->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    sl->addWidget(m_snippet, 1);
    auto* copy = new QPushButton(tr("&Copy"), snip);
    connect(copy, &QPushButton::clicked, this,
            [this] { QApplication::clipboard()->setText(m_snippet->toPlainText()); });
    sl->addWidget(copy, 0, Qt::AlignRight);
    body()->addWidget(snip, 1);

    // GGUF for llama.cpp / Ollama / LM Studio: the run's adapter merged into the base.
    auto* gguf = named(new QGroupBox(tr("GGUF (llama.cpp / Ollama / LM Studio)"), this), "ggufBox");
    auto* gf = new QFormLayout(gguf);
    auto* typeRow = new QHBoxLayout();
    m_ggufType = named(new QComboBox(gguf), "ggufType");
    m_ggufType->addItem(tr("F16 (half the fp32 size)"), QStringLiteral("f16"));
    m_ggufType->addItem(tr("Q8_0 (8-bit, about a quarter)"), QStringLiteral("q8_0"));
    m_ggufType->addItem(tr("BF16"), QStringLiteral("bf16"));
    m_ggufType->addItem(tr("F32 (exact)"), QStringLiteral("f32"));
    m_ggufType->setToolTip(tr("Tensor type of the weight matrices; norms and other 1-D tensors stay F32."));
    m_ggufSize = named(new QLabel(gguf), "ggufSize");
    typeRow->addWidget(m_ggufType);
    typeRow->addWidget(m_ggufSize, 1);
    // A layout gets no buddy from addRow(QString, ...): the label is made here so Alt+Y works and
    // the '&' is not shown.
    auto* typeLabel = new QLabel(tr("Ty&pe:"), gguf);
    typeLabel->setBuddy(m_ggufType);
    gf->addRow(typeLabel, typeRow);
    auto* runRow = new QHBoxLayout();
    m_ggufExport = named(new QPushButton(tr("Export GG&UF"), gguf), "ggufExport",
                         tr("Merge the run's adapter into the base model and write <run name>.gguf and an Ollama "
                            "Modelfile into the export folder."));
    m_ggufProgress = newTaskBar(gguf, QString());
    m_ggufProgress->setObjectName(QStringLiteral("ggufProgress"));
    m_ggufProgress->setTextVisible(false);
    m_ggufCancel = newCancelButton(gguf, tr("Cance&l"));
    m_ggufCancel->setObjectName(QStringLiteral("ggufCancel"));
    runRow->addWidget(m_ggufExport);
    runRow->addWidget(m_ggufProgress, 1);
    runRow->addWidget(m_ggufCancel);
    gf->addRow(QString(), runRow);
    m_ggufCommands = named(new QPlainTextEdit(gguf), "ggufCommands");
    m_ggufCommands->setReadOnly(true);
    m_ggufCommands->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_ggufCommands->setMaximumHeight(92);
    auto* cmdRow = new QHBoxLayout();
    cmdRow->addWidget(m_ggufCommands, 1);
    auto* copyCmds = new QPushButton(tr("Cop&y"), gguf);
    cmdRow->addWidget(copyCmds, 0, Qt::AlignTop);
    gf->addRow(tr("Run it:"), cmdRow);
    body()->addWidget(gguf);
    m_ggufTask = new BackgroundTask(this);
    connect(copyCmds, &QPushButton::clicked, this,
            [this] { QApplication::clipboard()->setText(m_ggufCommands->toPlainText()); });
    connect(m_ggufExport, &QPushButton::clicked, this, &ExportPage::exportGgufNow);
    connect(m_ggufCancel, &QPushButton::clicked, this, &ExportPage::cancelGguf);
    connect(m_ggufType, &QComboBox::currentIndexChanged, this, [this] { refresh(); });
    connect(m_ggufTask, &BackgroundTask::progress, this, [this](const QString&, double f) {
        if (f >= 0) m_ggufProgress->setValue(static_cast<int>(f * 1000));
    });
    connect(m_ggufTask, &BackgroundTask::failed, this, [this](const QString& msg) {
        banner()->showError(msg);
        Q_EMIT ggufFailed(msg);
    });
    connect(m_ggufTask, &BackgroundTask::cancelled, this, [this] {
        banner()->showWarning(tr("GGUF export cancelled; no file was written."));
        Q_EMIT ggufFailed(tr("cancelled"));
    });
    connect(m_ggufTask, &BackgroundTask::finished, this, [this] {
        m_ggufExport->setEnabled(true);
        m_ggufCancel->setEnabled(false);
        m_ggufType->setEnabled(true);
    });

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

ExportPage::~ExportPage() { joinWorker(m_worker); }

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
            const ExportResult r =
                exportRun(req, [this](const std::string& m) { Q_EMIT exportProgress(QString::fromStdString(m)); });
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

bool ExportPage::wholeModelRun() const {
    try {
        const MethodSpec* spec =
            findMethodSpec(peftTypeOf(state()->runConfig().value("method", nlohmann::json()), "method"));
        return spec && spec->replacesBase();
    } catch (const std::exception&) {
        return false;  // a method section the Method page has not made valid yet
    }
}

QString ExportPage::pythonSnippet() const {
    const auto& c = state()->runConfig();
    const std::string model = c.value("model", std::string());
    const QString out = QString::fromStdString(c.value("output_dir", std::string("runs/my-run")));
    const bool cls =
        c.value("method", nlohmann::json::object()).value("task_type", std::string("CAUSAL_LM")) == "SEQ_CLS";
    const QString adapter = m_adapter && m_adapter->isChecked() ? QDir(exportDir()).filePath(QStringLiteral("adapter"))
                                                                : out + QStringLiteral("/adapter");
    return QString::fromStdString(
        loadSnippet(model.empty() ? "path/to/base-model" : model, adapter.toStdString(), cls, wholeModelRun()));
}

namespace {
QString humanBytes(quint64 b) {
    if (b >= (1ull << 30)) return QStringLiteral("%1 GiB").arg(b / double(1ull << 30), 0, 'f', 2);
    if (b >= (1ull << 20)) return QStringLiteral("%1 MiB").arg(b / double(1ull << 20), 0, 'f', 1);
    return QStringLiteral("%1 KiB").arg(b / 1024.0, 0, 'f', 1);
}

// The model a GGUF export starts from: a full fine-tuning run's own folder, else the base.
std::string ggufSourceModel(const std::string& base, const QString& runDir) {
    const QString adapter = QDir(runDir).filePath(QStringLiteral("adapter"));
    if (QFileInfo::exists(QDir(adapter).filePath(QStringLiteral("config.json"))) &&
        !QFileInfo::exists(QDir(adapter).filePath(QStringLiteral("adapter_config.json"))))
        return adapter.toStdString();
    return base;
}
}  // namespace

QString ExportPage::ggufPath() const {
    QString name = QFileInfo(m_outDir->text()).fileName();
    if (name.isEmpty()) name = QStringLiteral("model");
    return QDir(exportDir()).filePath(name + QStringLiteral(".gguf"));
}

QString ExportPage::ggufCommands() const {
    const QString path = ggufPath();
    const QString name = QFileInfo(path).completeBaseName().toLower();
    const QString dir = QFileInfo(path).absolutePath();
    return QStringLiteral("cd \"%1\"\nollama create %2 -f Modelfile && ollama run %2\nllama-cli -m \"%3\" -cnv")
        .arg(dir, name, QFileInfo(path).fileName());
}

QString ExportPage::ggufSizeText() const { return m_sizeText; }

bool ExportPage::isExportingGguf() const { return m_ggufTask->isRunning(); }

void ExportPage::cancelGguf() { m_ggufTask->cancel(); }

void ExportPage::exportGgufNow() {
    if (m_ggufTask->isRunning()) return;
    banner()->clear();
    gguf::ExportOptions o;
    const std::string base = state()->runConfig().value("model", std::string());
    const QString runDir = m_outDir->text();
    const std::string src = ggufSourceModel(base, runDir);
    o.modelDir = base;
    const QString adapter = QDir(runDir).filePath(QStringLiteral("adapter"));
    if (src != base) o.adapterDir = src;  // a full run exports its own model folder
    else if (QFileInfo::exists(QDir(adapter).filePath(QStringLiteral("adapter_config.json"))))
        o.adapterDir = adapter.toStdString();
    o.outPath = ggufPath().toStdString();
    o.type = gguf::parseTensorType(m_ggufType->currentData().toString().toStdString());
    o.modelfile = true;
    QDir().mkpath(exportDir());
    m_ggufExport->setEnabled(false);
    m_ggufCancel->setEnabled(true);
    m_ggufType->setEnabled(false);
    m_ggufProgress->setValue(0);
    const QString path = ggufPath();
    m_ggufTask->start(tr("Writing GGUF"), [o, path, this](const TaskContext& ctx) mutable -> BackgroundTask::Apply {
        o.cancel = ctx.stopFlag();
        o.progress = [&ctx](uint64_t done, uint64_t total) {
            ctx.progress(QObject::tr("Writing GGUF"), total ? double(done) / double(total) : 1.0);
        };
        const gguf::ExportResult r = gguf::exportGguf(o);
        if (ctx.cancelled()) {
            // Cancel came after the last tensor: a cancelled export still leaves nothing behind.
            std::error_code ec;
            std::filesystem::remove(r.path, ec);
            if (!r.modelfilePath.empty()) std::filesystem::remove(r.modelfilePath, ec);
            return {};
        }
        const quint64 bytes = r.bytes;
        return [this, path, bytes] {
            m_ggufProgress->setValue(1000);
            banner()->showInfo(
                tr("Wrote <b>%1</b> (%2) and a Modelfile beside it.").arg(path.toHtmlEscaped(), humanBytes(bytes)));
            Q_EMIT ggufExported(path);
        };
    });
}

void ExportPage::refresh() {
    // A full fine-tuning run's adapter/ is the whole model, in transformers' layout.
    m_adapter->setText(wholeModelRun() ? tr("Model folder (the whole fine-tuned model)") : tr("Adapter (peft layout)"));
    const QString out = QString::fromStdString(state()->runConfig().value("output_dir", std::string()));
    if (!m_outDir->hasFocus()) m_outDir->setText(out);
    m_snippet->setPlainText(pythonSnippet());
    m_ggufCommands->setPlainText(ggufCommands());
    // Expected size from config.json, tokenizer.json and the safetensors headers (no weights).
    const std::string src = ggufSourceModel(state()->runConfig().value("model", std::string()), m_outDir->text());
    const QString type = m_ggufType->currentData().toString();
    const QString key = QString::fromStdString(src) + QLatin1Char('|') + type;
    if (key != m_sizeKey) {
        m_sizeKey = key;
        try {
            m_sizeText = src.empty()
                ? QString()
                : tr("expected file size: %1")
                      .arg(humanBytes(gguf::expectedGgufBytes(src, gguf::parseTensorType(type.toStdString()))));
        } catch (const std::exception& e) {
            m_sizeText = tr("cannot export: %1").arg(QString::fromStdString(e.what()));
        }
        m_ggufSize->setText(m_sizeText);
        m_ggufSize->setToolTip(m_sizeText);
        m_ggufSize->setWordWrap(true);
    }
    m_ggufExport->setEnabled(!src.empty() && !m_ggufTask->isRunning() && !m_sizeText.startsWith(tr("cannot")));
}

}  // namespace peft::ui
