// ObjectivePicker: the objective choice and its settings, built from the core's objective specs.
#include "ui/widgets/objective_picker.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QVBoxLayout>

#include "core/train/objectives/objective_spec.h"
#include "core/util/error.h"
#include "ui/widgets/json_editor.h"
#include "ui/named.h"

namespace peft::ui {

using nlohmann::json;

namespace {

// The papers' symbols next to run.json's names, so a setting can be matched to its formula.
QString settingLabel(const std::string& key) {
    static const std::map<std::string, QString> k = {
        {"beta", QStringLiteral("β (beta)")},        {"gamma", QStringLiteral("γ (gamma)")},
        {"lambda", QStringLiteral("λ (lambda)")},    {"label_smoothing", QStringLiteral("Label smoothing ε")},
        {"reference", QStringLiteral("Reference")},  {"precompute_reference", QStringLiteral("Precompute reference")},
        {"sft_weight", QStringLiteral("SFT weight")}};
    auto it = k.find(key);
    if (it != k.end()) return it->second;
    QString s = QString::fromStdString(key).replace(QLatin1Char('_'), QLatin1Char(' '));
    if (!s.isEmpty()) s[0] = s[0].toUpper();
    return s;
}

}  // namespace

ObjectivePicker::ObjectivePicker(QWidget* parent) : QGroupBox(tr("Objective"), parent) {
    setObjectName(QStringLiteral("objectivePicker"));
    auto* lay = new QVBoxLayout(this);
    auto* row = new QFormLayout();
    m_type = named(new QComboBox(this), "objectiveType");
    for (const ObjectiveSpec& s : objectiveSpecs())
        m_type->addItem(QString::fromStdString(s.displayName), QString::fromStdString(s.type));
    m_type->setToolTip(
        tr("What training optimises. SFT learns from examples; DPO, ORPO and SimPO learn from pairs of a "
           "chosen and a rejected answer (a preference dataset)."));
    auto* typeLabel = new QLabel(tr("Ob&jective:"), this);
    typeLabel->setBuddy(m_type);
    row->addRow(typeLabel, m_type);
    lay->addLayout(row);
    m_summary = named(new QLabel(this), "objectiveSummary");
    m_summary->setWordWrap(true);
    lay->addWidget(m_summary);
    m_form = new QFormLayout();
    lay->addLayout(m_form);
    lay->addStretch(1);  // top-aligned when the box is taller than its settings
    connect(m_type, &QComboBox::currentIndexChanged, this, [this] {
        if (m_loading) return;
        m_byType[m_value.value("type", std::string("sft"))] = m_value;
        const std::string t = currentType().toStdString();
        auto it = m_byType.find(t);
        m_loading = true;
        buildForm(it != m_byType.end() ? it->second : json{{"type", t}});
        m_loading = false;
        commit();
    });
    m_loading = true;
    buildForm(m_value);
    m_loading = false;
}

QString ObjectivePicker::currentType() const { return m_type->currentData().toString(); }

void ObjectivePicker::selectType(const QString& type) {
    const int i = m_type->findData(type);
    if (i >= 0) m_type->setCurrentIndex(i);
}

QWidget* ObjectivePicker::editor(const std::string& key) const {
    auto it = m_editors.find(key);
    return it == m_editors.end() ? nullptr : it->second;
}

void ObjectivePicker::setObjective(const json& objective, const std::string& where) {
    const json resolved = resolveObjectiveConfig(objective, where);  // throws before anything changes
    m_loading = true;
    m_byType.clear();
    buildForm(resolved);
    m_loading = false;
}

void ObjectivePicker::buildForm(const json& values) {
    const std::string type = values.value("type", std::string("sft"));
    const ObjectiveSpec& spec = objectiveSpec(type);
    m_type->setCurrentIndex(std::max(0, m_type->findData(QString::fromStdString(type))));
    m_summary->setText(QString::fromStdString(spec.summary));
    while (m_form->rowCount() > 0) m_form->removeRow(0);
    m_editors.clear();
    json v = spec.defaults;
    for (auto it = values.begin(); it != values.end(); ++it)
        if (v.contains(it.key())) v[it.key()] = *it;
    for (auto it = spec.defaults.begin(); it != spec.defaults.end(); ++it) {
        const std::string& key = it.key();
        const json& cur = v[key];
        QWidget* w = nullptr;
        if (it->is_boolean()) {
            auto* c = new QCheckBox(this);
            c->setChecked(cur.get<bool>());
            connect(c, &QCheckBox::toggled, this, [this] { commit(); });
            w = c;
        } else if (it->is_number()) {
            auto* s = new QDoubleSpinBox(this);
            // Wide bounds: the core's checks (objective_spec.cpp) decide what is allowed and say why.
            s->setRange(-1000.0, 1000.0);
            s->setDecimals(4);
            s->setSingleStep(0.05);
            s->setValue(cur.get<double>());
            connect(s, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this] { commit(); });
            w = s;
        } else if (spec.choices.contains(key)) {
            auto* c = new QComboBox(this);
            for (const auto& choice : spec.choices[key]) c->addItem(QString::fromStdString(choice.get<std::string>()));
            c->setCurrentText(QString::fromStdString(cur.get<std::string>()));
            connect(c, &QComboBox::currentIndexChanged, this, [this] { commit(); });
            w = c;
        } else {
            auto* e = new QLineEdit(QString::fromStdString(cur.get<std::string>()), this);
            connect(e, &QLineEdit::editingFinished, this, [this] { commit(); });
            w = e;
        }
        const QString help = QString::fromStdString(spec.help.value(key, std::string()));
        w->setObjectName(QStringLiteral("objective_") + QString::fromStdString(key));
        w->setToolTip(help);
        w->setAccessibleDescription(help);
        auto* label = new QLabel(settingLabel(key) + QLatin1Char(':'), this);
        label->setToolTip(help);
        label->setBuddy(w);
        m_form->addRow(label, w);
        m_editors[key] = w;
    }
    json out = v;
    out["type"] = type;
    m_value = out;
}

void ObjectivePicker::setSetting(const std::string& key, const json& value) {
    QWidget* w = editor(key);
    if (!w) return;
    showJsonValue(w, value);
    if (qobject_cast<QLineEdit*>(w)) commit();  // the other editors commit on their change signal
}

void ObjectivePicker::commit() {
    if (m_loading) return;
    json out = {{"type", currentType().toStdString()}};
    for (const auto& [key, w] : m_editors) out[key] = jsonValueOf(w);
    try {
        resolveObjectiveConfig(out, "Method page");
    } catch (const std::exception& e) {
        // Shown, not written: the project keeps the last objective the core accepts.
        Q_EMIT problem(QString::fromUtf8(e.what()));
        return;
    }
    m_value = out;
    Q_EMIT objectiveChanged(m_value);
}

QString objectiveDatasetMismatch(const json& runConfig, const std::string& detectedFormat) {
    const json& obj = runConfig.contains("objective") ? runConfig["objective"] : json();
    const std::string type = obj.is_object() ? obj.value("type", std::string("sft")) : std::string("sft");
    const ObjectiveSpec* spec = nullptr;
    for (const ObjectiveSpec& s : objectiveSpecs())
        if (s.type == type) spec = &s;
    if (!spec || !runConfig.contains("dataset") || !runConfig["dataset"].is_object()) return {};
    const json& d = runConfig["dataset"];
    if (d.value("path", std::string()).empty()) return {};
    std::string format = d.value("format", std::string("auto"));
    if (format == "auto") format = detectedFormat;
    if (format.empty()) return {};
    const bool pairs = format == "preference";
    const QString name = QString::fromStdString(spec->displayName);
    if (spec->preference && !pairs)
        return QObject::tr(
                   "The objective %1 trains on preference pairs (a prompt with a chosen and a rejected answer), "
                   "but the dataset is in the %2 format. Open a preference dataset on the Dataset step, or choose "
                   "SFT as the objective.")
            .arg(name, QString::fromStdString(format));
    if (!spec->preference && pairs)
        return QObject::tr(
                   "The dataset holds preference pairs (chosen and rejected answers), but the objective is %1. "
                   "Choose DPO, ORPO or SimPO as the objective, or open an SFT dataset on the Dataset step.")
            .arg(name);
    return {};
}

}  // namespace peft::ui
