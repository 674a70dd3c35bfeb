// Target-module tree and presets.
#include "ui/widgets/target_module_picker.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <set>

#include "ui/model_summary.h"

namespace peft::ui {

using nlohmann::json;

TargetModulePicker::TargetModulePicker(QWidget* parent) : QWidget(parent) {
    auto* lay = new QVBoxLayout(this);
    lay->setContentsMargins(0, 0, 0, 0);
    auto* presets = new QHBoxLayout();
    presets->addWidget(new QLabel(tr("Presets:"), this));
    const std::pair<QString, QString> kPresets[] = {{QStringLiteral("qv"), tr("Attention q,v")},
                                                    {QStringLiteral("attention"), tr("All attention")},
                                                    {QStringLiteral("linear"), tr("All linear")},
                                                    {QStringLiteral("mlp"), tr("MLP only")}};
    for (const auto& [id, label] : kPresets) {
        auto* b = new QPushButton(label, this);
        b->setObjectName(QStringLiteral("preset_") + id);
        connect(b, &QPushButton::clicked, this, [this, id = id] { applyPreset(id); });
        presets->addWidget(b);
    }
    presets->addStretch(1);
    lay->addLayout(presets);
    m_tree = new QTreeWidget(this);
    m_tree->setColumnCount(3);
    m_tree->setHeaderLabels({tr("Layer / module"), tr("Kind"), tr("Shape (in → out)")});
    m_tree->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_tree->setUniformRowHeights(true);
    m_tree->setAccessibleName(tr("Target modules"));
    lay->addWidget(m_tree, 1);
    m_summary = new QLabel(this);
    m_summary->setWordWrap(true);
    lay->addWidget(m_summary);
    connect(m_tree, &QTreeWidget::itemChanged, this, [this](QTreeWidgetItem*, int) {
        if (m_updating) return;
        updateSummary();
        Q_EMIT selectionChanged();
    });
    setModel(std::nullopt);
}

std::string TargetModulePicker::targetName(size_t i) const {
    const auto& l = m_arch.linears[i];
    int same = 0;
    for (const auto& o : m_arch.linears) same += o.name == l.name;
    return same > 1 ? l.path : l.name;
}

void TargetModulePicker::setModel(const std::optional<ModelConfig>& config) {
    const json previous = m_config ? selection() : json();
    m_config = config;
    m_updating = true;
    m_tree->clear();
    if (config) {
        m_arch = archTable(*config);
        for (int64_t layer = 0; layer < config->numLayers; ++layer) {
            auto* li = new QTreeWidgetItem(m_tree, {tr("Layer %1").arg(layer)});
            li->setFlags(li->flags() | Qt::ItemIsUserCheckable | Qt::ItemIsAutoTristate);
            li->setCheckState(0, Qt::Unchecked);
            for (size_t i = 0; i < m_arch.linears.size(); ++i) {
                const auto& l = m_arch.linears[i];
                auto* mi = new QTreeWidgetItem(li,
                                               {QString::fromStdString(l.path), QString::fromStdString(l.kind),
                                                QStringLiteral("%1 → %2").arg(l.in).arg(l.out)});
                mi->setFlags(mi->flags() | Qt::ItemIsUserCheckable);
                mi->setCheckState(0, Qt::Unchecked);
                mi->setData(0, Qt::UserRole, static_cast<int>(i));
                mi->setToolTip(0, QString::fromStdString(m_arch.modulePath(layer, l.path)));
            }
        }
    }
    m_updating = false;
    if (m_tree->topLevelItemCount() <= 8) m_tree->expandAll();
    else if (m_tree->topLevelItemCount() > 0) m_tree->topLevelItem(0)->setExpanded(true);
    setEnabled(config.has_value());
    if (config && previous.is_object()) setSelection(previous);
    updateSummary();
}

namespace {
// A target_modules entry names a linear by its name ("q_proj") or its path's end ("mlp.c_proj").
bool named(const std::vector<std::string>& targets, const LinearSpec& l) {
    for (const auto& t : targets)
        if (t == l.name || t == l.path ||
            (l.path.size() > t.size() && l.path.compare(l.path.size() - t.size() - 1, std::string::npos, "." + t) == 0))
            return true;
    return false;
}
}  // namespace

void TargetModulePicker::applyPreset(const QString& preset) {
    if (!m_config) return;
    m_updating = true;
    for (int t = 0; t < m_tree->topLevelItemCount(); ++t) {
        QTreeWidgetItem* li = m_tree->topLevelItem(t);
        for (int k = 0; k < li->childCount(); ++k) {
            QTreeWidgetItem* mi = li->child(k);
            const auto& l = m_arch.linears[mi->data(0, Qt::UserRole).toInt()];
            bool on = false;
            if (preset == QLatin1String("linear")) on = true;
            else if (preset == QLatin1String("attention")) on = l.kind == "attention";
            else if (preset == QLatin1String("mlp")) on = l.kind == "mlp";
            else if (preset == QLatin1String("qv")) on = named(suggestedLoraTargets(m_arch), l);  // peft's default
            else if (preset == QLatin1String("ia3")) on = named(suggestedIa3Targets(m_arch), l);
            mi->setCheckState(0, on ? Qt::Checked : Qt::Unchecked);
        }
    }
    m_updating = false;
    updateSummary();
    Q_EMIT selectionChanged();
}

json TargetModulePicker::selection() const {
    json out = json::object();
    if (!m_config) return out;
    std::vector<std::set<size_t>> perLayer(m_tree->topLevelItemCount());
    for (int t = 0; t < m_tree->topLevelItemCount(); ++t) {
        QTreeWidgetItem* li = m_tree->topLevelItem(t);
        for (int k = 0; k < li->childCount(); ++k)
            if (li->child(k)->checkState(0) == Qt::Checked)
                perLayer[t].insert(static_cast<size_t>(li->child(k)->data(0, Qt::UserRole).toInt()));
    }
    std::set<size_t> common;
    std::vector<int> layers;
    bool uniform = true;
    for (size_t t = 0; t < perLayer.size(); ++t) {
        if (perLayer[t].empty()) continue;
        if (layers.empty()) common = perLayer[t];
        else if (perLayer[t] != common) uniform = false;
        layers.push_back(static_cast<int>(t));
    }
    json targets = json::array(), ff = json::array();
    if (uniform) {
        for (size_t i : common) {
            targets.push_back(targetName(i));
            if (m_arch.linears[i].feedforwardInput) ff.push_back(targetName(i));
        }
        if (!layers.empty() && layers.size() != perLayer.size()) out["layers_to_transform"] = layers;
    } else {
        // Different modules in different layers: name each module by its full path.
        for (size_t t = 0; t < perLayer.size(); ++t)
            for (size_t i : perLayer[t]) {
                const std::string full = m_arch.modulePath(static_cast<int64_t>(t), m_arch.linears[i].path);
                targets.push_back(full);
                if (m_arch.linears[i].feedforwardInput) ff.push_back(full);
            }
    }
    out["target_modules"] = targets;
    out["feedforward_modules"] = ff;
    return out;
}

void TargetModulePicker::setSelection(const json& method) {
    if (!m_config || !method.is_object()) return;
    std::vector<std::string> targets;
    bool allLinear = false;
    if (method.contains("target_modules")) {
        const json& t = method["target_modules"];
        if (t.is_string()) {
            if (t.get<std::string>() == "all-linear") allLinear = true;
            else targets.push_back(t.get<std::string>());
        } else if (t.is_array()) {
            for (const auto& s : t)
                if (s.is_string()) targets.push_back(s.get<std::string>());
        }
    }
    std::set<int> layers;
    if (method.contains("layers_to_transform") && method["layers_to_transform"].is_array())
        for (const auto& v : method["layers_to_transform"])
            if (v.is_number_integer()) layers.insert(v.get<int>());
    m_updating = true;
    for (int t = 0; t < m_tree->topLevelItemCount(); ++t) {
        QTreeWidgetItem* li = m_tree->topLevelItem(t);
        const bool layerOn = layers.empty() || layers.count(t);
        for (int k = 0; k < li->childCount(); ++k) {
            const auto& l = m_arch.linears[li->child(k)->data(0, Qt::UserRole).toInt()];
            const std::string full = m_arch.modulePath(t, l.path);
            bool on = allLinear;
            for (const auto& s : targets)
                if (full == s ||
                    (full.size() > s.size() && full.compare(full.size() - s.size(), s.size(), s) == 0 &&
                     full[full.size() - s.size() - 1] == '.'))
                    on = true;
            li->child(k)->setCheckState(0, on && layerOn ? Qt::Checked : Qt::Unchecked);
        }
    }
    m_updating = false;
    updateSummary();
}

int TargetModulePicker::checkedCount() const {
    int n = 0;
    for (int t = 0; t < m_tree->topLevelItemCount(); ++t)
        for (int k = 0; k < m_tree->topLevelItem(t)->childCount(); ++k)
            n += m_tree->topLevelItem(t)->child(k)->checkState(0) == Qt::Checked;
    return n;
}

void TargetModulePicker::updateSummary() {
    if (!m_config) {
        m_summary->setText(tr("Pick a model on the Model page to choose which modules to adapt."));
        return;
    }
    const json sel = selection();
    QStringList names;
    for (const auto& s : sel["target_modules"]) names << QString::fromStdString(s.get<std::string>());
    int64_t weights = 0;
    for (int t = 0; t < m_tree->topLevelItemCount(); ++t)
        for (int k = 0; k < m_tree->topLevelItem(t)->childCount(); ++k)
            if (m_tree->topLevelItem(t)->child(k)->checkState(0) == Qt::Checked) {
                const auto& l = m_arch.linears[m_tree->topLevelItem(t)->child(k)->data(0, Qt::UserRole).toInt()];
                weights += l.in * l.out;
            }
    if (names.isEmpty()) {
        m_summary->setText(tr("No module chosen: pick a preset or tick modules in the tree."));
        return;
    }
    const QString shown = names.size() > 8 ? names.mid(0, 8).join(QStringLiteral(", ")) + QStringLiteral(", …")
                                           : names.join(QStringLiteral(", "));
    m_summary->setText(tr("%1 modules chosen (%2 frozen weights adapted). target_modules: %3")
                           .arg(checkedCount())
                           .arg(QString::fromStdString(humanCount(weights)), shown));
}

}  // namespace peft::ui
