// Dataset page: file choice, options written into the run config's "dataset" section, preview.
#include "ui/pages/dataset_page.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableWidget>
#include <QTextStream>

#include <QTextEdit>
#include <QVBoxLayout>

#include <optional>
#include <set>

#include "core/data/dataset_config.h"
#include "core/data/prepare.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"
#include "ui/background_task.h"
#include "ui/project_state.h"
#include "ui/widgets/hub_download_box.h"
#include "ui/widgets/qcp.h"
#include "ui/named.h"

namespace peft::ui {

using nlohmann::json;

namespace {
// A list of chat messages (a chat row, or a preference pair's prompt/chosen/rejected) as
// "role: content" lines; a null string for anything else.
QString messagesText(const json& v) {
    if (!v.is_array() || v.empty()) return {};
    QStringList lines;
    for (const auto& m : v) {
        if (!m.is_object() || !m.contains("content") || !m["content"].is_string()) return {};
        lines << QStringLiteral("%1: %2").arg(QString::fromStdString(m.value("role", std::string("?"))),
                                              QString::fromStdString(m["content"].get<std::string>()));
    }
    return lines.join(QLatin1Char('\n'));
}

// A raw look at the first rows, so the user can check the columns; the core's import does the
// real parsing and reports rejected rows. Runs on the import worker (a big .json is parsed whole).
struct Preview {
    std::vector<json> rows;  // JSON/JSONL: the first 100 rows
    QStringList lines;       // other formats: the first 100 lines
    bool asLines = false;
    QString warning, error;
};

Preview readPreview(const QString& path, const TaskContext& ctx) {
    Preview p;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        p.error = DatasetPage::tr("%1: cannot open the file (%2). Check that it exists and is readable.")
                      .arg(path, f.errorString());
        return p;
    }
    const QString suffix = QFileInfo(path).suffix().toLower();
    int lineNo = 0;
    if (suffix == QLatin1String("jsonl")) {
        while (!f.atEnd() && p.rows.size() < 100 && !ctx.cancelled()) {
            const QByteArray line = f.readLine().trimmed();
            ++lineNo;
            if (line.isEmpty()) continue;
            try {
                p.rows.push_back(json::parse(line.toStdString()));
            } catch (const std::exception&) {
                p.warning = DatasetPage::tr("%1:%2: this line is not valid JSON; the import will report it.")
                                .arg(path)
                                .arg(lineNo);
            }
        }
    } else if (suffix == QLatin1String("json")) {
        try {
            json all = json::parse(f.readAll().toStdString());
            if (all.is_array())
                for (size_t i = 0; i < all.size() && i < 100; ++i) p.rows.push_back(all[i]);
        } catch (const std::exception& e) {
            p.error = DatasetPage::tr("%1: not valid JSON (%2). Fix the file or save it as JSONL.").arg(path, e.what());
        }
    } else {
        p.asLines = true;
        QTextStream ts(&f);
        for (int i = 0; i < 100 && !ts.atEnd(); ++i) p.lines << ts.readLine();
    }
    return p;
}

struct ImportResult {
    Preview preview;
    std::shared_ptr<Tokenizer> tokenizer;
    std::string tokenizerDir;
    QString tokenizerWarning;
    std::optional<data::ValidationReport> report;
    QString error;
};

}  // namespace

DatasetPage::DatasetPage(ProjectState* state, QWidget* parent)
    : Page(state, tr("Dataset"),
           tr("Open or drop a JSONL, JSON, CSV/TSV, TXT or Parquet file, or download one from the Hub. Formats: text, "
              "instruction (Alpaca), chat "
              "(messages / ShareGPT), classification (text + label), or pre-tokenised ids."),
           parent) {
    setAcceptDrops(true);
    auto* row = new QHBoxLayout();
    auto* open = named(new QPushButton(tr("&Open dataset…"), this), "openDataset");
    connect(open, &QPushButton::clicked, this, &DatasetPage::browse);
    row->addWidget(open);
    m_path = new QLabel(tr("No file yet — or drag one onto this page."), this);
    m_path->setTextInteractionFlags(Qt::TextSelectableByMouse);
    row->addWidget(m_path, 1);
    // The import runs on a worker: a busy bar and Cancel while it does.
    m_importProgress = named(new QProgressBar(this), "importProgress");
    m_importProgress->setRange(0, 0);
    m_importProgress->setMaximumWidth(260);
    m_importProgress->setVisible(false);
    m_cancelImport = named(new QPushButton(tr("Cancel"), this), "cancelImport",
                           tr("Stop waiting for this import; the page keeps its settings."));
    m_cancelImport->setVisible(false);
    row->addWidget(m_importProgress);
    row->addWidget(m_cancelImport);
    body()->addLayout(row);
    // A dataset repo from the Hub: its files land in the Hugging Face cache; one is imported.
    m_hub = new HubDownloadBox(hub::RepoType::Dataset, this);
    auto* hubRow = new QHBoxLayout();
    hubRow->addWidget(new QLabel(tr("Downloaded file:"), m_hub));
    m_hubFiles = named(new QComboBox(m_hub), "hubFiles");
    m_hubFiles->setEnabled(false);
    hubRow->addWidget(m_hubFiles, 1);
    static_cast<QVBoxLayout*>(m_hub->layout())->addLayout(hubRow);
    body()->addWidget(m_hub);
    connect(m_hub, &HubDownloadBox::downloaded, this, [this](const QString& dir, const QStringList& files) {
        QSignalBlocker block(m_hubFiles);
        m_hubFiles->clear();
        int pick = -1;
        for (const QString& f : files) {
            m_hubFiles->addItem(f, QDir(dir).filePath(f));
            if (pick < 0 && f.contains(QLatin1String("train"))) pick = m_hubFiles->count() - 1;
        }
        m_hubFiles->setEnabled(m_hubFiles->count() > 0);
        if (m_hubFiles->count() == 0) return;
        m_hubFiles->setCurrentIndex(pick < 0 ? 0 : pick);
        openFile(m_hubFiles->currentData().toString());
    });
    connect(m_hubFiles, qOverload<int>(&QComboBox::activated), this,
            [this](int i) { openFile(m_hubFiles->itemData(i).toString()); });
    m_import = new BackgroundTask(this);
    connect(m_cancelImport, &QPushButton::clicked, this, &DatasetPage::cancelImport);
    connect(m_import, &BackgroundTask::started, this, [this](const QString& what) {
        m_importProgress->setFormat(what + QStringLiteral("…"));
        m_importProgress->setTextVisible(true);
        m_importProgress->setVisible(true);
        m_cancelImport->setVisible(true);
        m_summary->setText(tr("%1…").arg(what.toHtmlEscaped()));
    });
    connect(m_import, &BackgroundTask::progress, this,
            [this](const QString& what, double) { m_importProgress->setFormat(what); });
    connect(m_import, &BackgroundTask::finished, this, [this] {
        m_importProgress->setVisible(false);
        m_cancelImport->setVisible(false);
    });
    connect(m_import, &BackgroundTask::failed, this, [this](const QString& msg) {
        banner()->showError(msg);
        clearReport();
        m_summary->setText(tr("The import failed: %1").arg(msg.toHtmlEscaped()));
        Q_EMIT importFinished(false);
    });
    connect(m_import, &BackgroundTask::cancelled, this, [this] {
        m_summary->setText(tr("Import cancelled. Change a setting or open the file again to retry."));
        Q_EMIT importFinished(false);
    });

    auto* opts = new QGroupBox(tr("Format and preparation"), this);
    auto* grid = new QHBoxLayout(opts);
    auto* left = new QFormLayout();
    auto* right = new QFormLayout();
    m_format = new QComboBox(opts);
    m_format->addItems({QStringLiteral("auto"), QStringLiteral("text"), QStringLiteral("instruction"),
                        QStringLiteral("chat"), QStringLiteral("classification"), QStringLiteral("tokens"),
                        QStringLiteral("preference")});
    m_format->setToolTip(
        tr("auto detects the format from the first rows; pick one to override. preference: pairs of a "
           "chosen and a rejected answer to one prompt (for DPO, ORPO, SimPO)."));
    m_template = new QComboBox(opts);
    m_template->addItems({QStringLiteral("auto"), QStringLiteral("chatml"), QStringLiteral("llama3"),
                          QStringLiteral("llama2"), QStringLiteral("zephyr"), QStringLiteral("alpaca"),
                          QStringLiteral("plain")});
    m_template->setToolTip(
        tr("Prompt template for instruction and chat data. auto uses the model's "
           "tokenizer_config.json chat_template when it is recognised."));
    m_trainOn = new QComboBox(opts);
    m_trainOn->addItem(tr("responses only"), QStringLiteral("responses"));
    m_trainOn->addItem(tr("everything"), QStringLiteral("all"));
    m_trainOn->setToolTip(
        tr("Loss masking: learn only the answers (default for instruction and chat), or every "
           "token."));
    m_maxLength = new QSpinBox(opts);
    m_maxLength->setRange(8, 1 << 20);
    m_maxLength->setToolTip(tr("Rows are truncated to this many tokens."));
    m_packing = new QCheckBox(tr("Pack short rows together"), opts);
    m_packing->setToolTip(tr("Concatenate rows into full max_length sequences for speed."));
    m_valSplit = new QDoubleSpinBox(opts);
    m_valSplit->setRange(0.0, 0.5);
    m_valSplit->setSingleStep(0.05);
    m_valSplit->setDecimals(2);
    m_valSplit->setToolTip(tr("Fraction of rows held out for evaluation (ignored when a validation file is set)."));
    m_valPath = new QLineEdit(opts);
    m_valPath->setPlaceholderText(tr("optional separate validation file"));
    left->addRow(tr("Fo&rmat:"), m_format);
    left->addRow(tr("&Template:"), m_template);
    left->addRow(tr("Tr&ain on:"), m_trainOn);
    m_mapping = named(new QLineEdit(opts), "columnMapping");
    m_mapping->setPlaceholderText(tr("e.g. instruction=prompt, output=completion"));
    m_mapping->setToolTip(
        tr("Column mapping: which of your columns holds each field the format expects "
           "(text, instruction, input, output, messages, label, input_ids). "
           "Written as the run config's dataset.column_mapping."));
    left->addRow(tr("&Columns:"), m_mapping);
    right->addRow(tr("&Max length:"), m_maxLength);
    right->addRow(QString(), m_packing);
    right->addRow(tr("Validation spl&it:"), m_valSplit);
    right->addRow(tr("Validation file:"), m_valPath);
    grid->addLayout(left, 1);
    grid->addLayout(right, 1);
    body()->addWidget(opts);

    m_tabs = new QTabWidget(this);
    m_preview = new QTableWidget(m_tabs);
    m_preview->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_preview->horizontalHeader()->setStretchLastSection(true);
    m_tabs->addTab(m_preview, tr("Preview"));
    auto* reportTab = new QWidget(m_tabs);
    auto* rl = new QVBoxLayout(reportTab);
    m_summary = named(new QLabel(tr("Open a dataset to see what the import finds."), reportTab), "reportSummary");
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    rl->addWidget(m_summary);
    m_rejections = new QTableWidget(0, 2, reportTab);
    m_rejections->setHorizontalHeaderLabels({tr("Line"), tr("Why the row was rejected")});
    m_rejections->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_rejections->horizontalHeader()->setStretchLastSection(true);
    m_rejections->verticalHeader()->setVisible(false);
    rl->addWidget(m_rejections, 1);
    m_tabs->addTab(reportTab, tr("Validation report"));
    m_histogram = named(new QCustomPlot(m_tabs), "tokenHistogram");
    m_histogram->xAxis->setLabel(tr("tokens per row (before truncation)"));
    m_histogram->yAxis->setLabel(tr("rows"));
    m_tabs->addTab(m_histogram, tr("Token lengths"));
    m_example = new QTextEdit(m_tabs);
    m_example->setReadOnly(true);
    m_tabs->addTab(m_example, tr("Rendered example"));
    body()->addWidget(m_tabs, 1);

    for (QComboBox* c : {m_format, m_template, m_trainOn})
        connect(c, &QComboBox::currentIndexChanged, this, [this] { commit(); });
    connect(m_maxLength, qOverload<int>(&QSpinBox::valueChanged), this, [this] { commit(); });
    connect(m_valSplit, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this] { commit(); });
    connect(m_packing, &QCheckBox::toggled, this, [this] { commit(); });
    connect(m_valPath, &QLineEdit::editingFinished, this, [this] { commit(); });
    connect(m_mapping, &QLineEdit::editingFinished, this, [this] { commit(); });
    connect(state, &ProjectState::modelChanged, this, [this] { refreshReport(); });
    connect(state, &ProjectState::projectReplaced, this, &DatasetPage::loadFromState);
    loadFromState();
}

void DatasetPage::loadFromState() {
    m_loading = true;
    const json& d = state()->runConfig()["dataset"];
    const QString path = QString::fromStdString(d.value("path", std::string()));
    m_path->setText(path.isEmpty() ? tr("No file yet — or drag one onto this page.") : path);
    m_format->setCurrentText(QString::fromStdString(d.value("format", std::string("auto"))));
    m_template->setCurrentText(QString::fromStdString(d.value("template", std::string("auto"))));
    m_trainOn->setCurrentIndex(
        std::max(0, m_trainOn->findData(QString::fromStdString(d.value("train_on", std::string("responses"))))));
    m_maxLength->setValue(d.value("max_length", 512));
    m_packing->setChecked(d.value("packing", false));
    m_valSplit->setValue(d.value("validation_split", 0.1));
    m_valPath->setText(d.contains("validation_path") && d["validation_path"].is_string()
                           ? QString::fromStdString(d["validation_path"].get<std::string>())
                           : QString());
    QStringList pairs;
    if (d.contains("column_mapping") && d["column_mapping"].is_object())
        for (auto it = d["column_mapping"].begin(); it != d["column_mapping"].end(); ++it)
            if (it.value().is_string())
                pairs << QStringLiteral("%1=%2").arg(QString::fromStdString(it.key()),
                                                     QString::fromStdString(it.value().get<std::string>()));
    m_mapping->setText(pairs.join(QStringLiteral(", ")));
    m_loading = false;
    banner()->clear();
    refreshReport();
}

void DatasetPage::commit() {
    if (m_loading) return;
    json d = state()->runConfig()["dataset"];
    d["format"] = m_format->currentText().toStdString();
    d["template"] = m_template->currentText().toStdString();
    d["train_on"] = m_trainOn->currentData().toString().toStdString();
    d["max_length"] = m_maxLength->value();
    d["packing"] = m_packing->isChecked();
    d["validation_split"] = m_valSplit->value();
    d["validation_path"] = m_valPath->text().isEmpty() ? json() : json(m_valPath->text().toStdString());
    banner()->clear();
    json mapping = json::object();
    for (const QString& pair : m_mapping->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const QStringList kv = pair.split(QLatin1Char('='));
        if (kv.size() != 2 || kv[0].trimmed().isEmpty() || kv[1].trimmed().isEmpty()) {
            banner()->showError(
                tr("Columns: '%1' is not field=column. Write e.g. instruction=prompt, output=completion.")
                    .arg(pair.trimmed()));
            return;
        }
        mapping[kv[0].trimmed().toStdString()] = kv[1].trimmed().toStdString();
    }
    d["column_mapping"] = mapping;  // {} when none (the run config always has the key)
    state()->setSection("dataset", d);
    refreshReport();
}

void DatasetPage::browse() {
    const QString f =
        QFileDialog::getOpenFileName(this, tr("Open a dataset"), QString(),
                                     tr("Datasets (*.jsonl *.json *.csv *.tsv *.txt *.parquet);;All files (*)"));
    if (!f.isEmpty()) openFile(f);
}

bool DatasetPage::openFile(const QString& path) {
    banner()->clear();
    if (!QFileInfo(path).isFile()) {
        banner()->showError(tr("%1: no such file. Pick an existing dataset file.").arg(path));
        return false;
    }
    json d = state()->runConfig()["dataset"];
    d["path"] = path.toStdString();
    state()->setSection("dataset", d);
    m_path->setText(path);
    return refreshReport();
}

bool DatasetPage::isImporting() const { return m_import->isRunning(); }

void DatasetPage::cancelImport() { m_import->cancel(); }

void DatasetPage::clearReport() {
    m_rejections->setRowCount(0);
    m_histogram->clearPlottables();
    m_histogram->clearItems();
    m_histogram->replot();
    m_example->clear();
}

bool DatasetPage::refreshReport() {
    const json cfg = state()->runConfig();
    const json d = cfg["dataset"];
    const QString path = QString::fromStdString(d.value("path", std::string()));
    if (path.isEmpty()) {
        m_import->cancel();
        return false;
    }
    // The model's tokenizer gives token counts; without a model only the rows are checked. It is
    // loaded on the worker once per model folder and kept.
    const std::string modelDir = cfg.value("model", std::string());
    const std::shared_ptr<Tokenizer> cachedTok = m_tokenizer;
    const std::string cachedDir = m_tokenizerDir;
    const uint64_t seed = cfg["training"].value("seed", uint64_t(42));
    m_import->start(
        tr("Importing %1").arg(QFileInfo(path).fileName()),
        [this, d, path, modelDir, cachedTok, cachedDir, seed](const TaskContext& ctx) -> BackgroundTask::Apply {
            auto res = std::make_shared<ImportResult>();
            ctx.progress(tr("Reading %1").arg(QFileInfo(path).fileName()), -1);
            res->preview = readPreview(path, ctx);
            if (ctx.cancelled()) return {};
            res->tokenizerDir = modelDir;
            try {
                const data::DatasetConfig dc = data::DatasetConfig::fromJson(d, "dataset");
                if (!modelDir.empty() && modelDir == cachedDir) {
                    res->tokenizer = cachedTok;
                } else if (!modelDir.empty()) {
                    ctx.progress(tr("Loading the tokenizer"), -1);
                    try {
                        res->tokenizer = Tokenizer::load(modelDir);
                    } catch (const std::exception& e) {
                        res->tokenizerWarning =
                            tr("Token statistics need the model's tokenizer: %1").arg(QString::fromUtf8(e.what()));
                    }
                }
                if (ctx.cancelled()) return {};
                ctx.progress(tr("Validating %1").arg(QFileInfo(path).fileName()), -1);
                data::PrepareOptions opts;
                opts.seed = seed;
                // Cancel stops the row loop too (the file's parse itself runs to its end).
                opts.cancelled = [&ctx] { return ctx.cancelled(); };
                res->report = data::prepareDataset(dc, res->tokenizer.get(), opts).report;
            } catch (const data::Cancelled&) {
                return {};
            } catch (const std::exception& e) {
                res->error = QString::fromUtf8(e.what());
            }
            if (ctx.cancelled()) return {};
            return [this, res] {
                m_tokenizer = res->tokenizer;
                m_tokenizerDir = res->tokenizerDir;
                // Preview table.
                const Preview& pv = res->preview;
                m_preview->clear();
                m_preview->setRowCount(0);
                m_preview->setColumnCount(0);
                if (pv.asLines) {
                    m_preview->setColumnCount(1);
                    m_preview->setHorizontalHeaderLabels({tr("line")});
                    m_preview->setRowCount(static_cast<int>(pv.lines.size()));
                    for (int i = 0; i < pv.lines.size(); ++i)
                        m_preview->setItem(i, 0, new QTableWidgetItem(pv.lines[i]));
                } else {
                    std::vector<std::string> cols;
                    std::set<std::string> seen;
                    for (const auto& r : pv.rows)
                        if (r.is_object())
                            for (auto it = r.begin(); it != r.end(); ++it)
                                if (seen.insert(it.key()).second) cols.push_back(it.key());
                    m_preview->setColumnCount(static_cast<int>(cols.size()));
                    QStringList headers;
                    for (const auto& c : cols) headers << QString::fromStdString(c);
                    m_preview->setHorizontalHeaderLabels(headers);
                    m_preview->setRowCount(static_cast<int>(pv.rows.size()));
                    for (size_t i = 0; i < pv.rows.size(); ++i)
                        for (size_t c = 0; c < cols.size(); ++c) {
                            if (!pv.rows[i].is_object() || !pv.rows[i].contains(cols[c])) continue;
                            const json& v = pv.rows[i][cols[c]];
                            QString text =
                                v.is_string() ? QString::fromStdString(v.get<std::string>()) : messagesText(v);
                            if (text.isNull()) text = QString::fromStdString(v.dump());
                            if (text.size() > 300) text = text.left(300) + QStringLiteral("…");
                            m_preview->setItem(static_cast<int>(i), static_cast<int>(c), new QTableWidgetItem(text));
                        }
                }
                if (!pv.warning.isEmpty()) banner()->showWarning(pv.warning);
                if (!res->tokenizerWarning.isEmpty()) banner()->showWarning(res->tokenizerWarning);
                if (!pv.error.isEmpty()) banner()->showError(pv.error);
                if (!res->report) {
                    banner()->showError(res->error);
                    m_summary->setText(tr("The import failed: %1").arg(res->error.toHtmlEscaped()));
                    clearReport();
                    Q_EMIT importFinished(false);
                    return;
                }
                showReport(*res->report);
                Q_EMIT importFinished(true);
            };
        });
    return true;
}

namespace {
// A rendered example's segments as HTML: masked ones grey, trained ones green.
QString segmentsHtml(const std::vector<data::Segment>& segs) {
    QString html;
    for (const auto& seg : segs) {
        const QString t = QString::fromStdString(seg.text).toHtmlEscaped();
        html += seg.trained ? QStringLiteral("<span style='background:#dff3df'>%1</span>").arg(t)
                            : QStringLiteral("<span style='background:#e4e4e4;color:#555'>%1</span>").arg(t);
    }
    return html;
}
}  // namespace

void DatasetPage::showReport(const data::ValidationReport& r) {
    // Summary.
    QString html = tr("<b>%1</b> rows read · <b>%2</b> accepted · <b style='color:%4'>%3</b> rejected<br>")
                       .arg(r.rowsRead)
                       .arg(r.rowsAccepted)
                       .arg(r.rowsRejected)
                       .arg(r.rowsRejected ? QStringLiteral("#b00020") : QStringLiteral("inherit"));
    html += tr("Format <b>%1</b>%2")
                .arg(QString::fromStdString(r.format), r.formatDetected ? tr(" (detected)") : QString());
    if (!r.templateName.empty())
        html += tr(" · template <b>%1</b>%2")
                    .arg(QString::fromStdString(r.templateName),
                         r.templateDetected ? tr(" (from the tokenizer)") : QString());
    html += tr(" · train on <b>%1</b><br>").arg(QString::fromStdString(r.trainOn));
    html += tr("%1 training / %2 validation examples%3")
                .arg(r.trainExamples)
                .arg(r.validationExamples)
                .arg(r.packing ? tr(" (packed blocks)") : QString());
    if (r.tokenized) {
        html +=
            tr("<br>Tokens per row: min %1 · mean %2 · max %3 · <b>%4</b> rows longer than max_length %5 (truncated) · "
               "%6 trained tokens")
                .arg(r.minTokens)
                .arg(r.meanTokens, 0, 'f', 1)
                .arg(r.maxTokens)
                .arg(r.truncatedRows)
                .arg(r.maxLength)
                .arg(r.trainedTokens);
    } else {
        html += tr("<br><i>Choose a model on the Model page for token counts and the length histogram.</i>");
    }
    for (const auto& w : r.warnings) html += QStringLiteral("<br>⚠ ") + QString::fromStdString(w).toHtmlEscaped();
    m_summary->setText(html);
    m_rejections->setRowCount(static_cast<int>(r.rejections.size()));
    for (size_t i = 0; i < r.rejections.size(); ++i) {
        const auto& rej = r.rejections[i];
        auto* line = new QTableWidgetItem(QString::number(rej.line));
        line->setToolTip(QString::fromStdString(rej.file));
        m_rejections->setItem(static_cast<int>(i), 0, line);
        m_rejections->setItem(static_cast<int>(i), 1, new QTableWidgetItem(QString::fromStdString(rej.reason)));
    }
    m_rejections->setVisible(!r.rejections.empty());
    m_rejections->resizeColumnToContents(0);

    // Histogram with the max_length cut.
    m_histogram->clearPlottables();
    m_histogram->clearItems();
    if (r.tokenized && !r.histogram.empty()) {
        auto* bars = new QCPBars(m_histogram->xAxis, m_histogram->yAxis);
        QVector<double> keys, values;
        double maxCount = 0;
        for (const auto& b : r.histogram) {
            keys << (static_cast<double>(b.lo) + static_cast<double>(b.hi)) / 2.0;
            values << static_cast<double>(b.count);
            maxCount = std::max(maxCount, static_cast<double>(b.count));
        }
        const double width = static_cast<double>(r.histogram.front().hi - r.histogram.front().lo);
        bars->setWidth(width * 0.9);
        bars->setData(keys, values);
        bars->setBrush(QColor(52, 120, 198, 200));
        bars->setPen(QPen(QColor(30, 80, 150)));
        bars->setName(tr("rows"));
        auto* cut = new QCPItemStraightLine(m_histogram);
        cut->point1->setCoords(static_cast<double>(r.maxLength), 0);
        cut->point2->setCoords(static_cast<double>(r.maxLength), 1);
        cut->setPen(QPen(QColor(200, 40, 40), 2, Qt::DashLine));
        auto* label = new QCPItemText(m_histogram);
        label->position->setCoords(static_cast<double>(r.maxLength), maxCount * 1.05);
        label->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
        label->setText(tr("max_length %1 ").arg(r.maxLength));
        label->setColor(QColor(200, 40, 40));
        const double lo = static_cast<double>(r.histogram.front().lo);
        const double hi = std::max(static_cast<double>(r.histogram.back().hi), static_cast<double>(r.maxLength) * 1.05);
        m_histogram->xAxis->setRange(lo - width * 0.1, hi + width * 0.1);
        m_histogram->yAxis->setRange(0, maxCount * 1.15 + 0.5);
    }
    m_histogram->replot();

    // The rendered example: the masked (untrained) part shaded; a preference pair's chosen and
    // rejected sides next to each other.
    QString ex = tr("<p style='color:#555'>Row at line %1. <span style='background:#e4e4e4'>grey</span>: masked, no "
                    "loss is taken; <span style='background:#dff3df'>green</span>: trained.</p>")
                     .arg(r.exampleLine);
    if (r.exampleRejected.empty()) {
        ex += QStringLiteral("<pre style='white-space:pre-wrap'>") + segmentsHtml(r.example) + QStringLiteral("</pre>");
    } else {
        ex += tr("<table width='100%' cellspacing='0' cellpadding='6' border='1' style='border-color:#bbb'><tr>"
                 "<th width='50%'>Chosen</th><th width='50%'>Rejected</th></tr><tr>"
                 "<td valign='top'><pre style='white-space:pre-wrap'>%1</pre></td>"
                 "<td valign='top'><pre style='white-space:pre-wrap'>%2</pre></td></tr></table>")
                  .arg(segmentsHtml(r.example), segmentsHtml(r.exampleRejected));
    }
    m_example->setHtml(ex);
    // The Method page compares the objective with what the import found for a format of "auto".
    state()->setUiValue("dataset_format", r.format);
}

void DatasetPage::dragEnterEvent(QDragEnterEvent* e) {
    if (e->mimeData()->hasUrls()) e->acceptProposedAction();
}

void DatasetPage::dropEvent(QDropEvent* e) {
    const auto urls = e->mimeData()->urls();
    if (!urls.isEmpty() && urls.first().isLocalFile()) openFile(urls.first().toLocalFile());
}

}  // namespace peft::ui
