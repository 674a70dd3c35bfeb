// Dataset page: file choice, options written into the run config's "dataset" section, preview.
#include "ui/pages/dataset_page.h"

#include <QCheckBox>
#include <QComboBox>
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
#include <QPushButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableWidget>
#include <QTextStream>

#include <set>

#include "core/util/error.h"
#include "ui/project_state.h"

namespace peft::ui {

using nlohmann::json;

DatasetPage::DatasetPage(ProjectState* state, QWidget* parent)
    : Page(state, tr("Dataset"),
           tr("Open or drop a JSONL, JSON, CSV/TSV or TXT file. Formats: text, instruction (Alpaca), chat "
              "(messages / ShareGPT), classification (text + label), or pre-tokenised ids."),
           parent) {
    setAcceptDrops(true);
    auto* row = new QHBoxLayout();
    auto* open = new QPushButton(tr("&Open dataset…"), this);
    open->setObjectName(QStringLiteral("openDataset"));
    connect(open, &QPushButton::clicked, this, &DatasetPage::browse);
    row->addWidget(open);
    m_path = new QLabel(tr("No file yet — or drag one onto this page."), this);
    m_path->setTextInteractionFlags(Qt::TextSelectableByMouse);
    row->addWidget(m_path, 1);
    body()->addLayout(row);

    auto* opts = new QGroupBox(tr("Format and preparation"), this);
    auto* grid = new QHBoxLayout(opts);
    auto* left = new QFormLayout();
    auto* right = new QFormLayout();
    m_format = new QComboBox(opts);
    m_format->addItems({QStringLiteral("auto"), QStringLiteral("text"), QStringLiteral("instruction"),
                        QStringLiteral("chat"), QStringLiteral("classification"), QStringLiteral("tokens")});
    m_format->setToolTip(tr("auto detects the format from the first rows; pick one to override."));
    m_template = new QComboBox(opts);
    m_template->addItems({QStringLiteral("auto"), QStringLiteral("chatml"), QStringLiteral("llama3"),
                          QStringLiteral("llama2"), QStringLiteral("zephyr"), QStringLiteral("alpaca"),
                          QStringLiteral("plain")});
    m_template->setToolTip(tr("Prompt template for instruction and chat data. auto uses the model's "
                              "tokenizer_config.json chat_template when it is recognised."));
    m_trainOn = new QComboBox(opts);
    m_trainOn->addItem(tr("responses only"), QStringLiteral("responses"));
    m_trainOn->addItem(tr("everything"), QStringLiteral("all"));
    m_trainOn->setToolTip(tr("Loss masking: learn only the answers (default for instruction and chat), or every "
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
    left->addRow(tr("&Format:"), m_format);
    left->addRow(tr("&Template:"), m_template);
    left->addRow(tr("Train &on:"), m_trainOn);
    right->addRow(tr("&Max length:"), m_maxLength);
    right->addRow(QString(), m_packing);
    right->addRow(tr("&Validation split:"), m_valSplit);
    right->addRow(tr("Validation file:"), m_valPath);
    grid->addLayout(left, 1);
    grid->addLayout(right, 1);
    body()->addWidget(opts);

    m_tabs = new QTabWidget(this);
    m_preview = new QTableWidget(m_tabs);
    m_preview->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_preview->horizontalHeader()->setStretchLastSection(true);
    m_tabs->addTab(m_preview, tr("Preview"));
    // HOOK (data branch): the validation report, token-length histogram (QCustomPlot bars with
    // the max_length cut) and the rendered example with its masked part shaded go here.
    m_tabs->addTab(makeUnavailableNote(tr("The validation report (rows read, rejected rows with line numbers and "
                                          "reasons) needs the core's dataset import."), m_tabs),
                   tr("Validation report"));
    m_tabs->addTab(makeUnavailableNote(tr("The token-length histogram needs the core's dataset import and the "
                                          "model's tokenizer."), m_tabs),
                   tr("Token lengths"));
    m_tabs->addTab(makeUnavailableNote(tr("The rendered example (template applied, masked part shaded) needs the "
                                          "core's prompt templates."), m_tabs),
                   tr("Rendered example"));
    body()->addWidget(m_tabs, 1);

    for (QComboBox* c : {m_format, m_template, m_trainOn})
        connect(c, &QComboBox::currentIndexChanged, this, [this] { commit(); });
    connect(m_maxLength, qOverload<int>(&QSpinBox::valueChanged), this, [this] { commit(); });
    connect(m_valSplit, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this] { commit(); });
    connect(m_packing, &QCheckBox::toggled, this, [this] { commit(); });
    connect(m_valPath, &QLineEdit::editingFinished, this, [this] { commit(); });
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
    m_trainOn->setCurrentIndex(std::max(0, m_trainOn->findData(QString::fromStdString(d.value("train_on", std::string("responses"))))));
    m_maxLength->setValue(d.value("max_length", 512));
    m_packing->setChecked(d.value("packing", false));
    m_valSplit->setValue(d.value("validation_split", 0.1));
    m_valPath->setText(d.contains("validation_path") && d["validation_path"].is_string()
                           ? QString::fromStdString(d["validation_path"].get<std::string>())
                           : QString());
    m_loading = false;
    banner()->clear();
    refreshPreview();
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
    state()->setSection("dataset", d);
}

void DatasetPage::browse() {
    const QString f = QFileDialog::getOpenFileName(this, tr("Open a dataset"), QString(),
                                                   tr("Datasets (*.jsonl *.json *.csv *.tsv *.txt);;All files (*)"));
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
    refreshPreview();
    return !banner()->isVisible() || banner()->level() != ErrorBanner::Level::Error;
}

void DatasetPage::refreshPreview() {
    m_preview->clear();
    m_preview->setRowCount(0);
    m_preview->setColumnCount(0);
    const QString path = QString::fromStdString(state()->runConfig()["dataset"].value("path", std::string()));
    if (path.isEmpty()) return;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) {
        banner()->showError(tr("%1: cannot open the file (%2). Check that it exists and is readable.")
                                .arg(path, f.errorString()));
        return;
    }
    // A raw look at the first rows, so the user can check the columns; the core's import does
    // the real parsing and reports rejected rows.
    const QString suffix = QFileInfo(path).suffix().toLower();
    std::vector<json> rows;
    int lineNo = 0;
    if (suffix == QLatin1String("jsonl")) {
        while (!f.atEnd() && rows.size() < 100) {
            const QByteArray line = f.readLine().trimmed();
            ++lineNo;
            if (line.isEmpty()) continue;
            try {
                rows.push_back(json::parse(line.toStdString()));
            } catch (const std::exception& e) {
                banner()->showWarning(tr("%1:%2: this line is not valid JSON; the import will report it.")
                                          .arg(path)
                                          .arg(lineNo));
            }
        }
    } else if (suffix == QLatin1String("json")) {
        try {
            json all = json::parse(f.readAll().toStdString());
            if (all.is_array())
                for (size_t i = 0; i < all.size() && i < 100; ++i) rows.push_back(all[i]);
        } catch (const std::exception& e) {
            banner()->showError(tr("%1: not valid JSON (%2). Fix the file or save it as JSONL.").arg(path, e.what()));
            return;
        }
    } else {
        QTextStream ts(&f);
        m_preview->setColumnCount(1);
        m_preview->setHorizontalHeaderLabels({tr("line")});
        for (int i = 0; i < 100 && !ts.atEnd(); ++i) {
            m_preview->insertRow(i);
            m_preview->setItem(i, 0, new QTableWidgetItem(ts.readLine()));
        }
        return;
    }
    std::vector<std::string> cols;
    std::set<std::string> seen;
    for (const auto& r : rows)
        if (r.is_object())
            for (auto it = r.begin(); it != r.end(); ++it)
                if (seen.insert(it.key()).second) cols.push_back(it.key());
    m_preview->setColumnCount(static_cast<int>(cols.size()));
    QStringList headers;
    for (const auto& c : cols) headers << QString::fromStdString(c);
    m_preview->setHorizontalHeaderLabels(headers);
    m_preview->setRowCount(static_cast<int>(rows.size()));
    for (size_t i = 0; i < rows.size(); ++i)
        for (size_t c = 0; c < cols.size(); ++c) {
            if (!rows[i].is_object() || !rows[i].contains(cols[c])) continue;
            const json& v = rows[i][cols[c]];
            QString text = v.is_string() ? QString::fromStdString(v.get<std::string>()) : QString::fromStdString(v.dump());
            if (text.size() > 300) text = text.left(300) + QStringLiteral("…");
            m_preview->setItem(static_cast<int>(i), static_cast<int>(c), new QTableWidgetItem(text));
        }
}

void DatasetPage::dragEnterEvent(QDragEnterEvent* e) {
    if (e->mimeData()->hasUrls()) e->acceptProposedAction();
}

void DatasetPage::dropEvent(QDropEvent* e) {
    const auto urls = e->mimeData()->urls();
    if (!urls.isEmpty() && urls.first().isLocalFile()) openFile(urls.first().toLocalFile());
}

}  // namespace peft::ui
