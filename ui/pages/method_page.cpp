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

#include "ui/method_catalog.h"
#include "ui/project_state.h"
#include "ui/widgets/method_diagram.h"
#include "ui/widgets/target_module_picker.h"

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
    m_picker = new TargetModulePicker(m_targetsBox);
    tl->addWidget(m_picker);
    dl->addWidget(m_targetsBox, 1);
    split->addWidget(scroll);
    split->addWidget(details);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 3);
    body()->addWidget(split, 1);

    connect(m_picker, &TargetModulePicker::selectionChanged, this, [this] {
        if (!m_loading) commit();
    });
    connect(state, &ProjectState::modelChanged, this, [this] {
        // Rebuild from the project (which may just have been replaced), then the new tree.
        m_picker->setModel(this->state()->model());
        loadFromState();
        m_loading = true;
        if (m_picker->hasModel() && m_picker->checkedCount() == 0)
            if (const MethodInfo* m = findMethod(m_current); m && m->usesTargets) m_picker->applyPreset(m->defaultPreset);
        m_loading = false;
        if (m_picker->hasModel()) commit();
    });
    connect(state, &ProjectState::projectReplaced, this, &MethodPage::loadFromState);
    loadFromState();
}

void MethodPage::loadFromState() {
    const json& method = state()->runConfig()["method"];
    const json& ui = state()->uiState();
    const MethodInfo* m = nullptr;
    if (ui.contains("method_card") && ui["method_card"].is_string())
        m = findMethod(QString::fromStdString(ui["method_card"].get<std::string>()));
    if (!m) m = methodForConfig(method);
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
    m_loading = false;
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
    m_loading = false;
    state()->setUiValue("method_card", id.toStdString());
    commit();
}

void MethodPage::buildForm(const MethodInfo& m, const json& values) {
    while (m_form->rowCount() > 0) m_form->removeRow(0);
    m_editors.clear();
    for (const ParamSpec& p : m.params) {
        const json v = values.contains(p.key) && !values[p.key].is_null() ? values[p.key] : p.def;
        QWidget* editor = nullptr;
        switch (p.type) {
            case ParamSpec::Type::Int: {
                auto* s = new QSpinBox(m_formBox);
                s->setRange(static_cast<int>(p.min), static_cast<int>(p.max));
                s->setValue(v.is_number() ? v.get<int>() : p.def.get<int>());
                connect(s, qOverload<int>(&QSpinBox::valueChanged), this, [this] { if (!m_loading) commit(); });
                editor = s;
                break;
            }
            case ParamSpec::Type::Double: {
                auto* s = new QDoubleSpinBox(m_formBox);
                s->setRange(p.min, p.max);
                s->setDecimals(p.decimals);
                s->setSingleStep(p.decimals >= 2 ? 0.01 : 0.1);
                s->setValue(v.is_number() ? v.get<double>() : p.def.get<double>());
                connect(s, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this] { if (!m_loading) commit(); });
                editor = s;
                break;
            }
            case ParamSpec::Type::Bool: {
                auto* c = new QCheckBox(m_formBox);
                c->setChecked(v.is_boolean() ? v.get<bool>() : p.def.get<bool>());
                connect(c, &QCheckBox::toggled, this, [this] { if (!m_loading) commit(); });
                editor = c;
                break;
            }
            case ParamSpec::Type::Choice: {
                auto* c = new QComboBox(m_formBox);
                c->addItems(p.choices);
                const QString cur = QString::fromStdString(v.is_string() ? v.get<std::string>() : p.def.get<std::string>());
                c->setCurrentIndex(std::max(0, static_cast<int>(p.choices.indexOf(cur))));
                connect(c, &QComboBox::currentIndexChanged, this, [this] { if (!m_loading) commit(); });
                editor = c;
                break;
            }
            case ParamSpec::Type::Text: {
                auto* e = new QLineEdit(m_formBox);
                e->setText(QString::fromStdString(v.is_string() ? v.get<std::string>() : std::string()));
                connect(e, &QLineEdit::editingFinished, this, [this] { if (!m_loading) commit(); });
                editor = e;
                break;
            }
        }
        editor->setToolTip(p.tooltip);
        editor->setObjectName(QStringLiteral("param_") + QString::fromStdString(p.key));
        editor->setAccessibleDescription(p.tooltip);
        auto* label = new QLabel(p.label + QLatin1Char(':'), m_formBox);
        label->setToolTip(p.tooltip);
        label->setBuddy(editor);
        m_form->addRow(label, editor);
        m_editors[p.key] = editor;
    }
    if (m.params.empty())
        m_form->addRow(new QLabel(tr("This method has no hyperparameters of its own."), m_formBox));
    m_note->setText(m.note);
    m_note->setVisible(!m.note.isEmpty());
    m_targetsBox->setVisible(m.usesTargets);
}

void MethodPage::setParam(const std::string& key, const json& value) {
    auto it = m_editors.find(key);
    if (it == m_editors.end()) return;
    QWidget* w = it->second;
    if (auto* s = qobject_cast<QSpinBox*>(w)) s->setValue(value.get<int>());
    else if (auto* d = qobject_cast<QDoubleSpinBox*>(w)) d->setValue(value.get<double>());
    else if (auto* c = qobject_cast<QCheckBox*>(w)) c->setChecked(value.get<bool>());
    else if (auto* cb = qobject_cast<QComboBox*>(w)) cb->setCurrentText(QString::fromStdString(value.get<std::string>()));
    else if (auto* e = qobject_cast<QLineEdit*>(w)) {
        e->setText(QString::fromStdString(value.get<std::string>()));
        commit();
    }
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
        QWidget* w = e->second;
        if (auto* s = qobject_cast<QSpinBox*>(w)) out[p.key] = s->value();
        else if (auto* d = qobject_cast<QDoubleSpinBox*>(w)) out[p.key] = d->value();
        else if (auto* c = qobject_cast<QCheckBox*>(w)) out[p.key] = c->isChecked();
        else if (auto* cb = qobject_cast<QComboBox*>(w)) out[p.key] = cb->currentText().toStdString();
        else if (auto* l = qobject_cast<QLineEdit*>(w)) out[p.key] = l->text().toStdString();
    }
    if (m->usesTargets) {
        if (m_picker->hasModel()) {
            json sel = m_picker->selection();
            out["target_modules"] = sel["target_modules"];
            if (sel.contains("layers_to_transform")) out["layers_to_transform"] = sel["layers_to_transform"];
            if (m->peftType == "IA3") out["feedforward_modules"] = sel["feedforward_modules"];
        } else {
            // No model yet: keep what the project had.
            const json& prev = state()->runConfig()["method"];
            for (const char* k : {"target_modules", "layers_to_transform", "feedforward_modules"})
                if (prev.contains(k)) out[k] = prev[k];
        }
    }
    out["init_from"] = state()->runConfig()["method"].value("init_from", json());
    return out;
}

void MethodPage::commit() {
    state()->setSection("method", methodConfig());
    const MethodInfo* m = findMethod(m_current);
    if (m && m->usesTargets && m_picker->hasModel() && m_picker->checkedCount() == 0)
        banner()->showWarning(tr("%1 needs at least one target module: pick a preset or tick modules below.").arg(m->name));
    else
        banner()->clear();
}

}  // namespace peft::ui
