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
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

#include "ui/project_state.h"

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
    auto* browse = new QPushButton(tr("&Browse…"), box);
    dirRow->addWidget(m_outDir, 1);
    dirRow->addWidget(browse);
    form->addRow(tr("Run &folder:"), dirRow);
    m_adapter = new QCheckBox(tr("Adapter (peft layout)"), box);
    m_adapter->setChecked(true);
    m_merged = new QCheckBox(tr("Merged model folder (LoRA-family methods)"), box);
    m_report = new QCheckBox(tr("Run report: config, final metrics, charts as PNG, README card"), box);
    m_report->setChecked(true);
    form->addRow(tr("Write:"), m_adapter);
    form->addRow(QString(), m_merged);
    form->addRow(QString(), m_report);
    m_export = new QPushButton(tr("&Export"), box);
    // HOOK (lead): connect to core/peft's adapter writer (and merge), run on a worker with progress.
    m_export->setEnabled(false);
    m_export->setToolTip(tr("Not available in this build: the core's adapter export is not linked in yet."));
    form->addRow(QString(), m_export);
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
    connect(m_outDir, &QLineEdit::editingFinished, this,
            [this] { this->state()->setSection("output_dir", m_outDir->text().toStdString()); });
    connect(state, &ProjectState::configChanged, this, &ExportPage::refresh);
    banner()->showInfo(tr("<b>Export is not available in this build</b>: the core's adapter writer has not been "
                          "linked in yet. The snippet below already matches your settings."));
    refresh();
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
               "model = PeftModel.from_pretrained(base, \"%3/adapter\")\n"
               "model.eval()\n")
        .arg(autoClass, model.isEmpty() ? QStringLiteral("path/to/base-model") : model, out);
}

void ExportPage::refresh() {
    const QString out = QString::fromStdString(state()->runConfig().value("output_dir", std::string()));
    if (!m_outDir->hasFocus()) m_outDir->setText(out);
    m_snippet->setPlainText(pythonSnippet());
}

}  // namespace peft::ui
