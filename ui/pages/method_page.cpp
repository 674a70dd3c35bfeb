// Method page: cards, diagram, hyperparameter form, target-module picker.
#include "ui/pages/method_page.h"

#include <QAbstractButton>
#include <QButtonGroup>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QStyleOptionFocusRect>
#include <QVBoxLayout>

#include <QProgressBar>
#include <QPushButton>
#include <QTabWidget>

#include "core/budget/budget.h"
#include "core/data/dataset_config.h"
#include "core/data/prepare.h"
#include "core/model/loader.h"
#include "core/peft/method_spec.h"
#include "core/select/importance.h"
#include "core/select/selection.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"
#include "ui/background_task.h"
#include "ui/method_catalog.h"
#include "ui/project_state.h"
#include "ui/widgets/importance_heatmap.h"
#include "ui/widgets/json_editor.h"
#include "ui/widgets/method_diagram.h"
#include "ui/widgets/objective_picker.h"
#include "ui/widgets/target_module_picker.h"
#include "ui/named.h"

namespace peft::ui {

using nlohmann::json;

class MethodCard : public QAbstractButton {
public:
    MethodCard(const MethodInfo& m, QWidget* parent) : QAbstractButton(parent), m_info(m) {
        setCheckable(true);
        setFocusPolicy(Qt::StrongFocus);
        setObjectName(QStringLiteral("card_") + m.id);
        setAccessibleName(m.name);
        setAccessibleDescription(m.summary);
        setToolTip(m.summary);
        setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    }
    QSize sizeHint() const override { return {360, heightForWidth(360)}; }
    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int w) const override {
        const int textW = w - kDiagramW - 24;
        QFont bold = font();
        bold.setBold(true);
        const int nameH = QFontMetrics(bold).height();
        const QRect r = fontMetrics().boundingRect(QRect(0, 0, textW, 1000), Qt::TextWordWrap, m_info.summary);
        return std::max(kDiagramW * 5 / 4 + 12, nameH + r.height() + 20);
    }

protected:
    void paintEvent(QPaintEvent*) override {
        QPainter p(this);
        p.setRenderHint(QPainter::Antialiasing);
        const QPalette pal = palette();
        QColor bg = isChecked() ? pal.color(QPalette::Highlight) : pal.color(QPalette::Base);
        if (isChecked()) bg.setAlpha(45);
        p.setPen(QPen(isChecked() ? pal.color(QPalette::Highlight) : pal.color(QPalette::Mid), isChecked() ? 2 : 1));
        p.setBrush(bg);
        p.drawRoundedRect(QRectF(rect()).adjusted(1, 1, -1, -1), 6, 6);
        paintMethodDiagram(p, QRectF(8, 6, kDiagramW, height() - 12), m_info.id, pal);
        QRect text = rect().adjusted(kDiagramW + 16, 8, -8, -6);
        QFont bold = font();
        bold.setBold(true);
        p.setFont(bold);
        p.setPen(pal.color(QPalette::Text));
        p.drawText(text, Qt::AlignLeft | Qt::AlignTop, m_info.name);
        p.setFont(font());
        text.adjust(0, QFontMetrics(bold).height() + 2, 0, 0);
        p.drawText(text, Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap, m_info.summary);
        if (hasFocus()) {
            p.setPen(QPen(pal.color(QPalette::Highlight), 1, Qt::DotLine));
            p.setBrush(Qt::NoBrush);
            p.drawRoundedRect(QRectF(rect()).adjusted(3, 3, -3, -3), 5, 5);
        }
    }
    void keyPressEvent(QKeyEvent* e) override {
        // Arrow keys move between cards like a radio group.
        if (e->key() == Qt::Key_Down || e->key() == Qt::Key_Up) {
            focusNextPrevChild(e->key() == Qt::Key_Down);
            return;
        }
        QAbstractButton::keyPressEvent(e);
    }

private:
    static constexpr int kDiagramW = 96;
    const MethodInfo& m_info;
};

MethodPage::MethodPage(ProjectState* state, QWidget* parent)
    : Page(state, tr("Method"),
           tr("Choose how the model is adapted. Each card says in two sentences what the method does; the "
              "drawing shows where it acts in a transformer block."),
           parent) {
    auto* split = new QSplitter(Qt::Horizontal, this);
    // Cards.
    auto* scroll = new QScrollArea(split);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    auto* cardsHost = new QWidget(scroll);
    auto* cardsLay = new QVBoxLayout(cardsHost);
    cardsLay->setContentsMargins(0, 0, 6, 0);
    m_cards = new QButtonGroup(this);
    m_cards->setExclusive(true);
    for (const auto& m : methodCatalog()) {
        auto* card = new MethodCard(m, cardsHost);
        m_cards->addButton(card);
        cardsLay->addWidget(card);
        connect(card, &QAbstractButton::clicked, this, [this, id = m.id] { selectMethod(id); });
    }
    cardsLay->addStretch(1);
    scroll->setWidget(cardsHost);
    scroll->setMinimumWidth(380);

    // Details.
    auto* details = new QWidget(split);
    auto* dl = new QVBoxLayout(details);
    dl->setContentsMargins(6, 0, 0, 0);
    auto* top = new QHBoxLayout();
    m_diagram = new MethodDiagram(details);
    m_diagram->setFixedSize(170, 210);
    top->addWidget(m_diagram);
    auto* right = new QVBoxLayout();
    m_name = new QLabel(details);
    QFont f = m_name->font();
    f.setBold(true);
    f.setPointSizeF(f.pointSizeF() * 1.2);
    m_name->setFont(f);
    m_summaryText = new QLabel(details);
    m_summaryText->setWordWrap(true);
    right->addWidget(m_name);
    right->addWidget(m_summaryText);
    m_formBox = new QGroupBox(tr("Hyperparameters"), details);
    m_form = new QFormLayout(m_formBox);
    right->addWidget(m_formBox);
    m_note = new QLabel(details);
    m_note->setWordWrap(true);
    m_note->setForegroundRole(QPalette::PlaceholderText);
    right->addWidget(m_note);
    right->addStretch(1);
    top->addLayout(right, 1);
    dl->addLayout(top);
    m_targetsBox = new QGroupBox(tr("Where to adapt (target modules)"), details);
    auto* tl = new QVBoxLayout(m_targetsBox);
    m_targetTabs = named(new QTabWidget(m_targetsBox), "targetTabs");
    m_picker = new TargetModulePicker(m_targetTabs);
    m_targetTabs->addTab(m_picker, tr("&Pick modules"));
    m_scoring = new BackgroundTask(this);
    m_targetTabs->addTab(buildImportancePanel(m_targetTabs), tr("Suggest from &importance"));
    tl->addWidget(m_targetTabs);
    // The objective sits beside the module tree, which can give up height; stacked under the
    // hyperparameters its settings were squeezed into one another at 800 pixels high.
    auto* bottom = new QHBoxLayout();
    bottom->addWidget(m_targetsBox, 1);
    m_objective = new ObjectivePicker(details);
    m_objective->setFixedWidth(340);
    bottom->addWidget(m_objective);
    dl->addLayout(bottom, 1);
    split->addWidget(scroll);
    split->addWidget(details);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 3);
    body()->addWidget(split, 1);

    connect(m_picker, &TargetModulePicker::selectionChanged, this, [this] {
        if (m_loading) return;
        // Hand-edited targets: a suggested rank pattern no longer applies.
        m_rankPattern = json::object();
        m_alphaPattern = json::object();
        commit();
    });
    connect(state, &ProjectState::modelChanged, this, [this] {
        // Rebuild from the project (which may just have been replaced), then the new tree.
        m_picker->setModel(this->state()->model());
        // Scores belong to the model they were measured on.
        cancelScoring();
        m_report.reset();
        m_selection.reset();
        m_reportModel.reset();
        updateSuggestion();
        loadFromState();
        m_loading = true;
        if (m_picker->hasModel() && m_picker->checkedCount() == 0)
            if (const MethodInfo* m = findMethod(m_current); m && m->usesTargets)
                m_picker->applyPreset(m->defaultPreset);
        m_loading = false;
        if (m_picker->hasModel()) commit();
    });
    connect(state, &ProjectState::projectReplaced, this, &MethodPage::loadFromState);
    connect(m_objective, &ObjectivePicker::objectiveChanged, this, [this](const json& obj) {
        if (m_loading) return;
        if (!m_mismatch.isEmpty() || banner()->level() == ErrorBanner::Level::Error) banner()->clear();
        m_mismatch.clear();
        this->state()->setSection("objective", obj);
        checkObjectiveFitsDataset();
    });
    connect(m_objective, &ObjectivePicker::problem, this,
            [this](const QString& msg) { banner()->showError(msg.toHtmlEscaped()); });
    loadFromState();
}

QString MethodPage::checkObjectiveFitsDataset() {
    const std::string detected = state()->uiState().value("dataset_format", std::string());
    const QString msg = objectiveDatasetMismatch(state()->runConfig(), detected);
    if (msg.isEmpty()) {
        if (!m_mismatch.isEmpty()) banner()->clear();
    } else {
        banner()->showWarning(msg);
    }
    m_mismatch = msg;
    return msg;
}

void MethodPage::loadFromState() {
    const json& method = state()->runConfig()["method"];
    const json& ui = state()->uiState();
    const MethodInfo* m = nullptr;
    if (ui.contains("method_card") && ui["method_card"].is_string())
        m = findMethod(QString::fromStdString(ui["method_card"].get<std::string>()));
    const bool quantized = state()->runConfig()["training"].value("quantize_base", false);
    if (m && isLoraCard(*m) && m->quantizeBase != quantized) m = nullptr;  // the run config decides
    if (!m) m = methodForConfig(method, quantized);
    if (!m) {
        banner()->showError(tr("The project's method (peft_type '%1') is not one this build offers; LoRA is "
                               "selected instead. Pick a method below.")
                                .arg(QString::fromStdString(method.value("peft_type", std::string("?")))));
        m = findMethod(QStringLiteral("lora"));
    }
    m_loading = true;
    m_current = m->id;
    for (QAbstractButton* b : m_cards->buttons()) b->setChecked(b->objectName() == QStringLiteral("card_") + m->id);
    m_diagram->setMethod(m->id);
    m_name->setText(m->name);
    m_summaryText->setText(m->summary);
    buildForm(*m, method);
    m_picker->setSelection(method);
    m_rankPattern =
        method.contains("rank_pattern") && method["rank_pattern"].is_object() ? method["rank_pattern"] : json::object();
    m_alphaPattern = method.contains("alpha_pattern") && method["alpha_pattern"].is_object() ? method["alpha_pattern"]
                                                                                             : json::object();
    try {
        m_objective->setObjective(
            state()->runConfig().contains("objective") ? state()->runConfig()["objective"] : json(),
            "project run config");
    } catch (const std::exception& e) {
        banner()->showError(
            tr("The project's objective is not usable: %1").arg(QString::fromUtf8(e.what()).toHtmlEscaped()));
    }
    m_loading = false;
    syncQuantizeBase();
}

void MethodPage::syncQuantizeBase() {
    // QLoRA is LoRA over an NF4 base: the run config's training.quantize_base follows the card.
    const MethodInfo* m = findMethod(m_current);
    if (!m) return;
    json t = state()->runConfig()["training"];
    if (t.value("quantize_base", false) == m->quantizeBase) return;
    t["quantize_base"] = m->quantizeBase;
    state()->setSection("training", t);
}

void MethodPage::selectMethod(const QString& id) {
    const MethodInfo* m = findMethod(id);
    if (!m) return;
    // Keep shared hyperparameters (r, alpha, ...) when switching between related methods.
    const json previous = methodConfig();
    m_loading = true;
    m_current = id;
    for (QAbstractButton* b : m_cards->buttons()) b->setChecked(b->objectName() == QStringLiteral("card_") + id);
    m_diagram->setMethod(id);
    m_name->setText(m->name);
    m_summaryText->setText(m->summary);
    buildForm(*m, previous);
    if (m->usesTargets && m_picker->hasModel()) m_picker->applyPreset(m->defaultPreset);
    m_rankPattern = json::object();
    m_alphaPattern = json::object();
    m_loading = false;
    state()->setUiValue("method_card", id.toStdString());
    syncQuantizeBase();
    commit();
}

void MethodPage::buildForm(const MethodInfo& m, const json& values) {
    while (m_form->rowCount() > 0) m_form->removeRow(0);
    m_editors.clear();
    auto commitOnChange = [this] {
        if (!m_loading) commit();  // a user's edit, not the form being filled
    };
    for (const ParamSpec& p : m.params) {
        const json v = values.contains(p.key) && !values[p.key].is_null() ? values[p.key] : p.def;
        QWidget* editor = nullptr;
        switch (p.type) {
            case ParamSpec::Type::Int: {
                auto* s = new QSpinBox(m_formBox);
                s->setRange(static_cast<int>(p.min), static_cast<int>(p.max));
                // A field the core defaults to null (computed from the model) shows its minimum as "auto".
                if (p.def.is_null()) s->setSpecialValueText(tr("auto"));
                s->setValue(v.is_number() ? v.get<int>() : p.def.is_number() ? p.def.get<int>() : s->minimum());
                connect(s, qOverload<int>(&QSpinBox::valueChanged), this, commitOnChange);
                editor = s;
                break;
            }
            case ParamSpec::Type::Double: {
                auto* s = new QDoubleSpinBox(m_formBox);
                s->setRange(p.min, p.max);
                s->setDecimals(p.decimals);
                s->setSingleStep(p.decimals >= 2 ? 0.01 : 0.1);
                s->setValue(v.is_number() ? v.get<double>() : p.def.get<double>());
                connect(s, qOverload<double>(&QDoubleSpinBox::valueChanged), this, commitOnChange);
                editor = s;
                break;
            }
            case ParamSpec::Type::Bool: {
                auto* c = new QCheckBox(m_formBox);
                c->setChecked(v.is_boolean() ? v.get<bool>() : p.def.get<bool>());
                connect(c, &QCheckBox::toggled, this, commitOnChange);
                editor = c;
                break;
            }
            case ParamSpec::Type::Choice: {
                auto* c = new QComboBox(m_formBox);
                c->addItems(p.choices);
                const QString cur =
                    QString::fromStdString(v.is_string() ? v.get<std::string>() : p.def.get<std::string>());
                c->setCurrentIndex(std::max(0, static_cast<int>(p.choices.indexOf(cur))));
                connect(c, &QComboBox::currentIndexChanged, this, commitOnChange);
                editor = c;
                break;
            }
            case ParamSpec::Type::Text: {
                auto* e = new QLineEdit(m_formBox);
                e->setText(QString::fromStdString(v.is_string() ? v.get<std::string>() : std::string()));
                connect(e, &QLineEdit::editingFinished, this, commitOnChange);
                editor = e;
                break;
            }
        }
        const QString help = paramHelp(m, p);
        editor->setToolTip(help);
        editor->setObjectName(QStringLiteral("param_") + QString::fromStdString(p.key));
        editor->setAccessibleDescription(help);
        auto* label = new QLabel(p.label + QLatin1Char(':'), m_formBox);
        label->setToolTip(help);
        label->setBuddy(editor);
        m_form->addRow(label, editor);
        m_editors[p.key] = editor;
    }
    if (m.params.empty()) m_form->addRow(new QLabel(tr("This method has no hyperparameters of its own."), m_formBox));
    m_note->setText(m.note);
    m_note->setVisible(!m.note.isEmpty());
    m_targetsBox->setVisible(m.usesTargets);
}

void MethodPage::setParam(const std::string& key, const json& value) {
    auto it = m_editors.find(key);
    if (it == m_editors.end()) return;
    showJsonValue(it->second, value);
    if (qobject_cast<QLineEdit*>(it->second)) commit();  // the other editors commit on their change signal
}

json MethodPage::methodConfig() const {
    const MethodInfo* m = findMethod(m_current);
    json out = json::object();
    if (!m) return out;
    out["peft_type"] = m->peftType;
    out["task_type"] = state()->runConfig()["method"].value("task_type", std::string("CAUSAL_LM"));
    for (auto it = m->fixed.begin(); it != m->fixed.end(); ++it) out[it.key()] = *it;
    for (const ParamSpec& p : m->params) {
        auto e = m_editors.find(p.key);
        if (e == m_editors.end()) continue;
        out[p.key] = jsonValueOf(e->second, p.def.is_null());
    }
    if (m->usesTargets) {
        const json defaults = methodSpec(m->peftType).defaults();
        if (m_picker->hasModel()) {
            json sel = m_picker->selection();
            out["target_modules"] = sel["target_modules"];
            if (sel.contains("layers_to_transform")) out["layers_to_transform"] = sel["layers_to_transform"];
            // Only keys the method's spec knows (feedforward_modules: (IA)3; the patterns: LoRA).
            if (defaults.contains("feedforward_modules")) out["feedforward_modules"] = sel["feedforward_modules"];
            if (defaults.contains("rank_pattern") && !m_rankPattern.empty()) out["rank_pattern"] = m_rankPattern;
            if (defaults.contains("alpha_pattern") && !m_alphaPattern.empty()) out["alpha_pattern"] = m_alphaPattern;
        } else {
            // No model yet: keep what the project had.
            const json& prev = state()->runConfig()["method"];
            for (const char* k :
                 {"target_modules", "layers_to_transform", "feedforward_modules", "rank_pattern", "alpha_pattern"})
                if (prev.contains(k) && (defaults.contains(k) || std::string(k).find("_pattern") == std::string::npos))
                    out[k] = prev[k];
        }
    }
    out["init_from"] = state()->runConfig()["method"].value("init_from", json());
    return out;
}

void MethodPage::commit() {
    state()->setSection("method", methodConfig());
    const MethodInfo* m = findMethod(m_current);
    if (m && m->usesTargets && m_picker->hasModel() && m_picker->checkedCount() == 0)
        banner()->showWarning(
            tr("%1 needs at least one target module: pick a preset or tick modules below.").arg(m->name));
    else banner()->clear();
}

QWidget* MethodPage::buildImportancePanel(QWidget* parent) {
    auto* panel = named(new QWidget(parent), "importancePanel");
    auto* lay = new QVBoxLayout(panel);
    lay->setContentsMargins(6, 6, 6, 6);
    panel->setToolTip(
        tr("Measure how much each module matters for your data (a few batches, no training step), "
           "then let the best ones that fit a parameter budget be chosen."));
    auto* form = new QHBoxLayout();
    m_scoreMethod = named(new QComboBox(panel), "scoreMethod");
    m_scoreMethod->addItem(tr("Fisher"), QStringLiteral("fisher"));
    m_scoreMethod->addItem(tr("Taylor"), QStringLiteral("taylor"));
    m_scoreMethod->addItem(tr("Gradient norm"), QStringLiteral("grad"));
    m_scoreMethod->setToolTip(
        tr("Fisher: mean squared gradient per example (empirical Fisher trace).\n"
           "Taylor: |weight × gradient| summed, the first-order loss change if the module "
           "were removed.\nGradient norm: how strongly the loss pulls on the module.\n"
           "All three come from the same pass; switching does not rescore."));
    m_batches = named(new QSpinBox(panel), "scoreBatches");
    m_batches->setRange(1, 256);
    m_batches->setValue(8);
    m_batches->setToolTip(tr("Batches of your training data to score on (batch size from the Train settings)."));
    m_budget = named(new QSpinBox(panel), "paramBudget");
    m_budget->setRange(0, std::numeric_limits<int>::max());
    m_budget->setSingleStep(1000);
    m_budget->setGroupSeparatorShown(true);
    m_budget->setSpecialValueText(tr("no limit"));
    m_budget->setToolTip(
        tr("Trainable LoRA parameters the suggestion may use (exact count). Filled with the "
           "current choice's count after scoring, for an equal-budget comparison."));
    m_allocate = named(new QCheckBox(tr("Ranks by importance"), panel), "allocateRanks",
                       tr("Spread the same parameter total over the chosen modules in proportion to their "
                          "score (peft's rank_pattern)."));
    auto addField = [&](const QString& label, QWidget* w) {
        auto* l = new QLabel(label, panel);
        l->setBuddy(w);
        form->addWidget(l);
        form->addWidget(w);
    };
    addField(tr("Score &by:"), m_scoreMethod);
    addField(tr("Batc&hes:"), m_batches);
    addField(tr("B&udget:"), m_budget);
    form->addWidget(m_allocate);
    form->addStretch(1);
    lay->addLayout(form);
    auto* run = new QHBoxLayout();
    m_scoreButton = named(new QPushButton(tr("&Score modules"), panel), "scoreModules",
                          tr("Loads the model and a few batches of the dataset on a worker thread and scores "
                             "every linear module. The window stays usable."));
    m_cancelButton = newCancelButton(panel, tr("Cancel"));
    m_cancelButton->setObjectName(QStringLiteral("cancelScoring"));
    m_scoreProgress = newTaskBar(panel, tr("not scored yet"));
    run->addWidget(m_scoreButton);
    run->addWidget(m_cancelButton);
    run->addWidget(m_scoreProgress, 1);
    lay->addLayout(run);
    m_useButton = named(new QPushButton(tr("Use su&ggestion"), panel), "useSuggestion",
                        tr("Ticks the suggested modules in the tree, sets the rank pattern, and adds the "
                           "suggestion as a candidate on the Budget step."));
    m_useButton->setEnabled(false);
    run->addWidget(m_useButton);
    m_heatmap = new ImportanceHeatmap(panel);
    lay->addWidget(m_heatmap, 1);
    m_suggestionText = named(new QLabel(panel), "suggestionText");
    m_suggestionText->setWordWrap(true);
    m_suggestionText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    lay->addWidget(m_suggestionText);

    connect(m_scoreButton, &QPushButton::clicked, this, [this] { scoreModules(); });
    connect(m_cancelButton, &QPushButton::clicked, this, &MethodPage::cancelScoring);
    connect(m_useButton, &QPushButton::clicked, this, [this] { useSuggestion(); });
    connect(m_scoreMethod, &QComboBox::currentIndexChanged, this, [this] { updateSuggestion(); });
    connect(m_budget, &QSpinBox::editingFinished, this, [this] { updateSuggestion(); });
    connect(m_budget, qOverload<int>(&QSpinBox::valueChanged), this, [this] {
        if (!m_budget->hasFocus()) updateSuggestion();  // arrows and programmatic changes at once
    });
    connect(m_allocate, &QCheckBox::toggled, this, [this] { updateSuggestion(); });
    bindTask(m_scoring, m_scoreProgress, m_scoreButton, m_cancelButton);
    connect(m_scoring, &BackgroundTask::started, this, [this] { m_useButton->setEnabled(false); });
    connect(m_scoring, &BackgroundTask::succeeded, this, [this] {
        m_scoreProgress->setValue(1000);
        m_scoreProgress->setFormat(tr("scored %1 modules on %2 batches")
                                       .arg(m_report ? static_cast<qlonglong>(m_report->modules.size()) : 0)
                                       .arg(m_report ? static_cast<qlonglong>(m_report->batches) : 0));
        Q_EMIT scoringFinished(true);
    });
    connect(m_scoring, &BackgroundTask::failed, this, [this](const QString& msg) {
        m_scoreProgress->setValue(0);
        m_scoreProgress->setFormat(tr("scoring failed"));
        banner()->showError(tr("Scoring the modules failed: %1").arg(msg.toHtmlEscaped()));
        Q_EMIT scoringFinished(false);
    });
    connect(m_scoring, &BackgroundTask::cancelled, this, [this] {
        m_scoreProgress->setValue(0);
        m_scoreProgress->setFormat(tr("cancelled"));
        Q_EMIT scoringFinished(false);
    });
    updateSuggestion();
    return panel;
}

bool MethodPage::isScoring() const { return m_scoring->isRunning(); }

void MethodPage::cancelScoring() { m_scoring->cancel(); }

void MethodPage::showImportanceTab(bool on) { m_targetTabs->setCurrentIndex(on ? 1 : 0); }

bool MethodPage::scoreModules() {
    const json cfg = state()->runConfig();
    const std::string modelDir = cfg.value("model", std::string());
    if (modelDir.empty() || !state()->model()) {
        banner()->showError(tr("Scoring needs a model: pick one on the Model step first."));
        return false;
    }
    if (cfg["dataset"].value("path", std::string()).empty()) {
        banner()->showError(tr("Scoring runs on your data: open a dataset on the Dataset step first."));
        return false;
    }
    banner()->clear();
    select::ScoreOptions so;
    so.batches = m_batches->value();
    try {
        so.batchSize = std::max<int64_t>(1, cfg["training"].value("batch_size", int64_t(4)));
        so.seed = cfg["training"].value("seed", uint64_t(42));
    } catch (const std::exception& e) {
        banner()->showError(tr("The run config's training.batch_size or training.seed is not a number (%1); fix it on "
                               "the Train step or in the project file.")
                                .arg(QString::fromUtf8(e.what()).toHtmlEscaped()));
        return false;
    }
    m_scoring->start(
        tr("Scoring modules"), [cfg, modelDir, so, this](const TaskContext& ctx) mutable -> BackgroundTask::Apply {
            ctx.progress(tr("reading the dataset…"), -1);
            json d = cfg["dataset"];
            d["validation_split"] = 0.0;  // score on every example, as the CLI does
            d["validation_path"] = nullptr;
            const data::DatasetConfig dc = data::DatasetConfig::fromJson(d, "dataset");
            auto tok = Tokenizer::load(modelDir);
            data::PrepareOptions po;
            po.seed = so.seed;
            data::PreparedDataset pd = data::prepareDataset(dc, tok.get(), po);
            if (ctx.cancelled()) return {};
            ctx.progress(tr("loading the model…"), -1);
            ModelOptions mo;
            mo.dtype = torch::kFloat32;
            mo.device = torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
            LoadedModel lm = loadModel(modelDir, mo);
            lm.model->to(mo.device);
            if (ctx.cancelled()) return {};
            so.stop = ctx.stopFlag();
            so.progress = [&ctx](int64_t done, int64_t total) {
                ctx.progress(tr("scoring batch %1 of %2").arg(done).arg(total),
                             total > 0 ? static_cast<double>(done) / static_cast<double>(total) : -1);
            };
            auto rep =
                std::make_shared<select::ImportanceReport>(select::scoreModules(*lm.model, pd.train, pd.padId, so));
            if (ctx.cancelled()) return {};
            ModelConfig mc = lm.model->config();
            return [this, rep, mc] {
                m_report = rep;
                m_reportModel = mc;
                // An equal-budget suggestion by default: what the current choice trains.
                if (m_budget->value() == 0) {
                    try {
                        json cur = methodConfig();
                        cur.erase("init_from");
                        if (isLowRankType(cur.value("peft_type", std::string()))) {
                            const int64_t n = methodSpec(cur["peft_type"].get<std::string>()).count(mc, cur).trainable;
                            if (n > 0 && n <= std::numeric_limits<int>::max()) m_budget->setValue(static_cast<int>(n));
                        }
                    } catch (const std::exception&) {
                    }
                }
                updateSuggestion();
            };
        });
    return true;
}

void MethodPage::updateSuggestion() {
    m_selection.reset();
    const QString method = m_scoreMethod->currentData().toString();
    if (!m_report || !m_reportModel) {
        m_heatmap->clear();
        m_useButton->setEnabled(false);
        m_suggestionText->setText(state()->model() ? tr("Not scored yet.")
                                                   : tr("Pick a model and a dataset first, then score."));
        return;
    }
    const select::ImportanceMethod im = select::parseImportanceMethod(method.toStdString(), "score method");
    select::SelectionOptions so;
    so.method = im;
    so.budget = m_budget->value();
    so.allocateRanks = m_allocate->isChecked();
    // The rank and alpha of the LoRA form (LoRA's own defaults otherwise).
    const json cur = state()->runConfig()["method"];
    const json lora =
        methodSpec("LORA").withDefaults(isLowRankType(cur.value("peft_type", std::string())) ? cur : json::object());
    so.r = lora["r"].get<int64_t>();
    so.alpha = lora["lora_alpha"].get<double>();
    so.baseModel = state()->runConfig().value("model", std::string());
    QString problem;
    try {
        m_selection = std::make_shared<select::Selection>(select::selectModules(*m_report, *m_reportModel, so));
    } catch (const std::exception& e) {
        problem = QString::fromUtf8(e.what());
    }
    // Cells: module k of layer l (forward order within the layer) is column k.
    HeatmapData d;
    for (const auto& n : m_report->moduleNames) d.columns << QString::fromStdString(n);
    d.layers = static_cast<int>(m_report->layers.size());
    d.values.assign(static_cast<size_t>(d.layers * d.columns.size()), std::nan(""));
    d.marks.assign(d.values.size(), QString());
    d.scoreName = m_scoreMethod->currentText();
    std::map<std::string, const select::SelectedModule*> chosen;
    if (m_selection)
        for (const auto& sm : m_selection->modules) chosen[sm.path] = &sm;
    std::vector<int> col(static_cast<size_t>(std::max(0, d.layers)), 0);
    for (const auto& m : m_report->modules) {
        if (m.layer < 0 || m.layer >= d.layers) continue;
        const int c = col[static_cast<size_t>(m.layer)]++;
        if (c >= d.columns.size()) continue;
        const size_t i = static_cast<size_t>(m.layer * d.columns.size() + c);
        d.values[i] = m.score(im);
        if (auto it = chosen.find(m.path); it != chosen.end()) d.marks[i] = QStringLiteral("r%1").arg(it->second->rank);
    }
    m_heatmap->setData(d);
    if (!m_selection) {
        m_useButton->setEnabled(false);
        m_suggestionText->setText(tr("No suggestion: %1").arg(problem.toHtmlEscaped()));
        return;
    }
    m_useButton->setEnabled(true);
    QString text = tr("<b>Suggested</b> (%1): %2 of %3 modules, <b>%4</b> trainable")
                       .arg(m_scoreMethod->currentText())
                       .arg(m_selection->modules.size())
                       .arg(m_report->modules.size())
                       .arg(QString::fromStdString(budget::humanCount(m_selection->trainable)));
    if (m_selection->budget > 0)
        text += tr(" (budget %1)").arg(QString::fromStdString(budget::humanCount(m_selection->budget)));
    if (!m_selection->rankPattern.empty()) text += tr(", %1 with their own rank").arg(m_selection->rankPattern.size());
    text += tr(". Outlined: chosen (rN = LoRA rank).");
    m_suggestionText->setToolTip(tr("Scored on %1 batches (%2 examples, %3 target tokens), mean loss %4.")
                                     .arg(m_report->batches)
                                     .arg(m_report->examples)
                                     .arg(m_report->tokens)
                                     .arg(m_report->meanLoss, 0, 'g', 4));
    m_suggestionText->setText(text);
}

bool MethodPage::useSuggestion() {
    if (!m_selection) {
        banner()->showWarning(tr("Score the modules first, then use the suggestion."));
        return false;
    }
    // The suggestion is a LoRA adapter: keep a LoRA-family card, else switch to LoRA.
    const MethodInfo* m = findMethod(m_current);
    if (!m || !isLoraCard(*m)) selectMethod(QStringLiteral("lora"));
    m_loading = true;
    m_picker->setSelection(json{{"target_modules", m_selection->targetModules}});
    m_rankPattern = m_selection->rankPattern;
    m_alphaPattern = m_selection->alphaPattern;
    m_loading = false;
    commit();
    json candidate = methodConfig();
    if (state()->runConfig()["training"].value("quantize_base", false)) candidate["_quantize_base"] = true;
    candidate["_suggested"] = true;
    candidate["_label"] = tr("Suggested (%1, %2 params)")
                              .arg(m_scoreMethod->currentData().toString(),
                                   QString::fromStdString(budget::humanCount(m_selection->trainable)))
                              .toStdString();
    state()->setUiValue("suggested_candidate", candidate);
    banner()->showInfo(tr("%1 modules ticked from the importance scores; the Budget step lists the suggestion as a "
                          "candidate.")
                           .arg(m_picker->checkedCount()));
    Q_EMIT suggestionApplied(candidate);
    return true;
}

}  // namespace peft::ui
