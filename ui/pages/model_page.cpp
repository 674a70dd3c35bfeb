// Model page: folder picker, recent folders (QSettings), architecture summary.
#include "ui/pages/model_page.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QPushButton>
#include <QSettings>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <spdlog/spdlog.h>

#include "core/budget/budget.h"
#include "core/hub/hub_cache.h"
#include "ui/project_state.h"
#include "ui/recent_list.h"
#include "ui/widgets/hub_download_box.h"
#include "ui/named.h"

namespace peft::ui {

namespace {
const char* kRecentKey = "model/recentFolders";
const QStringList kRows = {
    QStringLiteral("Family"),         QStringLiteral("Model type"),   QStringLiteral("Layers"),
    QStringLiteral("Hidden size"),    QStringLiteral("Heads"),        QStringLiteral("KV heads"),
    QStringLiteral("Head size"),      QStringLiteral("MLP size"),     QStringLiteral("Vocabulary"),
    QStringLiteral("Context length"), QStringLiteral("Parameters"),   QStringLiteral("Tied embeddings"),
    QStringLiteral("Weight dtype"),   QStringLiteral("Size on disk"), QStringLiteral("Weight files"),
    QStringLiteral("Tokenizer")};
}  // namespace

ModelPage::ModelPage(ProjectState* state, QWidget* parent)
    : Page(state, tr("Model"),
           tr("Pick a local Hugging Face model folder (config.json + model.safetensors + tokenizer.json), a model from "
              "the Hugging Face cache, or download one. "
              "Supported families: GPT-2, Llama (Llama 2/3, Mistral, Qwen2, SmolLM, TinyLlama), Qwen3, "
              "Gemma 3 text (gemma3_text: 270M, 1B; the text model of larger ones) and Phi-3 / Phi-4-mini. "
              "Not supported: vision towers, mixture-of-experts models, yarn and dynamic RoPE scaling."),
           parent) {
    auto* row = new QHBoxLayout();
    auto* open = named(new QPushButton(tr("&Open model folder…"), this), "openModel");
    connect(open, &QPushButton::clicked, this, &ModelPage::browse);
    row->addWidget(open);
    row->addWidget(new QLabel(tr("Recent:"), this));
    m_recent = named(new QComboBox(this), "recentModels");
    m_recent->setMinimumWidth(380);
    m_recent->setAccessibleName(tr("Recent model folders"));
    row->addWidget(m_recent, 1);
    auto* use = new QPushButton(tr("Use"), this);
    connect(use, &QPushButton::clicked, this, [this] {
        if (m_recent->currentIndex() >= 0) openFolder(m_recent->currentData().toString());
    });
    row->addWidget(use);
    body()->addLayout(row);

    // The Hugging Face cache: what Python tools (and our downloads) already fetched.
    auto* cacheBox = new QGroupBox(
        tr("Models in the Hugging Face cache (%1)").arg(QString::fromStdString(hub::defaultCacheDir())), this);
    auto* cacheLayout = new QVBoxLayout(cacheBox);
    m_cached = named(new QTreeWidget(cacheBox), "cachedModels");
    m_cached->setRootIsDecorated(false);
    m_cached->setHeaderLabels({tr("Model"), tr("Size"), tr("Architecture"), tr("PEFT Studio")});
    m_cached->setMaximumHeight(150);
    m_cached->setAccessibleName(tr("Cached models"));
    cacheLayout->addWidget(m_cached);
    auto* cacheRow = new QHBoxLayout();
    auto* useCached = named(new QPushButton(tr("Use selected"), cacheBox), "useCached");
    auto* refresh = new QPushButton(tr("Refresh"), cacheBox);
    cacheRow->addWidget(useCached);
    cacheRow->addWidget(refresh);
    cacheRow->addStretch(1);
    cacheLayout->addLayout(cacheRow);
    body()->addWidget(cacheBox);
    auto openSelected = [this] {
        if (auto* item = m_cached->currentItem()) openFolder(item->data(0, Qt::UserRole).toString());
    };
    connect(useCached, &QPushButton::clicked, this, openSelected);
    connect(m_cached, &QTreeWidget::itemDoubleClicked, this, openSelected);
    connect(refresh, &QPushButton::clicked, this, &ModelPage::refreshCache);

    m_hub = new HubDownloadBox(hub::RepoType::Model, this);
    body()->addWidget(m_hub);
    connect(m_hub, &HubDownloadBox::downloaded, this, [this](const QString& dir, const QStringList&) {
        refreshCache();
        openFolder(dir);
    });

    m_path = new QLabel(tr("No model chosen yet."), this);
    m_path->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_path->setWordWrap(true);
    body()->addWidget(m_path);

    m_group = new QGroupBox(tr("Architecture"), this);
    m_form = new QFormLayout(m_group);
    m_form->setLabelAlignment(Qt::AlignRight);
    m_form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    for (const QString& r : kRows) {
        auto* v = new QLabel(QStringLiteral("—"), m_group);
        v->setTextInteractionFlags(Qt::TextSelectableByMouse);
        v->setObjectName(QStringLiteral("field_") + r);
        m_form->addRow(tr(r.toUtf8().constData()) + QLatin1Char(':'), v);
        m_fields[r] = v;
    }
    m_group->setEnabled(false);
    body()->addWidget(m_group);
    body()->addStretch(1);
    refreshRecent();
    refreshCache();

    // A project that names a model reopens it.
    connect(state, &ProjectState::projectReplaced, this, [this] {
        const std::string model = this->state()->runConfig().value("model", "");
        // The folder already open (the demo opens its model, then applies its run settings).
        if (m_summary && !model.empty() && m_openFolder == QString::fromStdString(model) && this->state()->model())
            return;
        banner()->clear();
        m_summary.reset();
        fill();
        if (!model.empty()) openFolder(QString::fromStdString(model));
    });
}

void ModelPage::browse() {
    const QString start = m_recent->count() ? m_recent->itemData(0).toString() : QString();
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Choose a Hugging Face model folder"), start);
    if (!dir.isEmpty()) openFolder(dir);
}

bool ModelPage::openFolder(const QString& folder) {
    banner()->clear();
    try {
        ModelSummary s = inspectModelFolder(folder.toStdString());
        m_summary = std::move(s);
        fill();
        addRecent(folder);
        if (!m_summary->warnings.empty()) {
            QStringList w;
            for (const auto& x : m_summary->warnings) w << QString::fromStdString(x);
            banner()->showWarning(w.join(QStringLiteral("<br>")));
        }
        spdlog::info("Model {}: {} layers, {} parameters", folder.toStdString(), m_summary->config.numLayers,
                     m_summary->baseParams);
        state()->setModel(folder, m_summary->config);
        m_openFolder = folder;
        return true;
    } catch (const std::exception& e) {
        m_summary.reset();
        fill();
        m_path->setText(tr("Not a supported model: %1").arg(folder));
        showException(e);
        spdlog::warn("Model folder rejected: {}", e.what());
        state()->clearModel();
        return false;
    }
}

QString ModelPage::fieldText(const QString& row) const {
    auto it = m_fields.find(row);
    return it == m_fields.end() ? QString() : it->second->text();
}

void ModelPage::fill() {
    m_group->setEnabled(m_summary.has_value());
    if (!m_summary) {
        for (auto& [k, v] : m_fields) v->setText(QStringLiteral("—"));
        return;
    }
    const ModelSummary& s = *m_summary;
    const ModelConfig& c = s.config;
    const QLocale loc(QLocale::English);
    // Digits grouped by thin spaces: readable in every locale.
    auto num = [&](int64_t v) {
        return loc.toString(static_cast<qlonglong>(v)).replace(QLatin1Char(','), QChar(0x2009));
    };
    m_path->setText(tr("Folder: %1").arg(QString::fromStdString(s.folder)));
    m_fields[QStringLiteral("Family")]->setText(QString::fromStdString(s.familyName));
    m_fields[QStringLiteral("Model type")]->setText(QString::fromStdString(c.modelType));
    m_fields[QStringLiteral("Layers")]->setText(QString::number(c.numLayers));
    m_fields[QStringLiteral("Hidden size")]->setText(QString::number(c.hiddenSize));
    m_fields[QStringLiteral("Heads")]->setText(QString::number(c.numHeads));
    m_fields[QStringLiteral("KV heads")]->setText(
        QString::number(c.numKvHeads) + (c.numKvHeads != c.numHeads ? tr("  (grouped-query attention)") : QString()));
    m_fields[QStringLiteral("Head size")]->setText(QString::number(c.headDim));
    m_fields[QStringLiteral("MLP size")]->setText(QString::number(c.intermediateSize));
    m_fields[QStringLiteral("Vocabulary")]->setText(num(c.vocabSize));
    m_fields[QStringLiteral("Context length")]->setText(num(c.maxPositions));
    m_fields[QStringLiteral("Parameters")]->setText(
        QStringLiteral("%1  (%2)").arg(num(s.baseParams), QString::fromStdString(humanCount(s.baseParams))));
    m_fields[QStringLiteral("Tied embeddings")]->setText(c.tieWordEmbeddings ? tr("yes") : tr("no"));
    m_fields[QStringLiteral("Weight dtype")]->setText(
        QStringLiteral("%1  (config: %2)")
            .arg(QString::fromStdString(s.weightDtype), QString::fromStdString(c.torchDtype)));
    m_fields[QStringLiteral("Size on disk")]->setText(
        tr("%1 weights, %2 folder")
            .arg(QString::fromStdString(humanBytes(s.weightBytes)), QString::fromStdString(humanBytes(s.folderBytes))));
    QStringList files;
    for (const auto& f : s.weightFiles) files << QString::fromStdString(f);
    m_fields[QStringLiteral("Weight files")]->setText(files.join(QStringLiteral(", ")));
    m_fields[QStringLiteral("Tokenizer")]->setText(s.hasTokenizer ? QStringLiteral("tokenizer.json") : tr("missing"));
}

void ModelPage::refreshCache() {
    m_cached->clear();
    for (const auto& r : hub::listCache()) {
        if (r.type != hub::RepoType::Model) continue;
        auto* item = new QTreeWidgetItem(m_cached);
        item->setText(0, QString::fromStdString(r.repoId));
        item->setText(1, QString::fromStdString(budget::humanBytes(r.sizeOnDisk)));
        item->setText(2, QString::fromStdString(r.architecture.empty() ? r.modelType : r.architecture));
        item->setText(3, r.supported ? tr("supported") : tr("not supported: %1").arg(QString::fromStdString(r.whyNot)));
        item->setToolTip(3, item->text(3));
        item->setForeground(3, r.supported ? palette().text() : QBrush(QColor(0xb0, 0x30, 0x30)));
        item->setData(0, Qt::UserRole, QString::fromStdString(r.snapshotDir));
    }
    for (int c = 0; c < 3; ++c) m_cached->resizeColumnToContents(c);
}

QStringList ModelPage::recentFolders() const { return recentList(kRecentKey); }

void ModelPage::addRecent(const QString& folder) {
    pushRecent(kRecentKey, folder, 10);
    refreshRecent();
}

void ModelPage::refreshRecent() {
    m_recent->clear();
    for (const QString& f : recentFolders()) m_recent->addItem(f, f);
}

}  // namespace peft::ui
