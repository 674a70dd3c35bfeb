// The target-module picker: a tree of layers × linear modules with checkboxes, built from the
// family's tensor-name table, plus presets. It reads and writes peft's `target_modules`
// (and `layers_to_transform` when only some layers are chosen).
#pragma once
#include <QWidget>

#include <nlohmann/json.hpp>

#include <optional>

#include "core/io/architecture.h"

class QTreeWidget;
class QTreeWidgetItem;
class QLabel;

namespace peft::ui {

class TargetModulePicker : public QWidget {
    Q_OBJECT
public:
    explicit TargetModulePicker(QWidget* parent = nullptr);
    void setModel(const std::optional<ModelConfig>& config);
    bool hasModel() const { return m_config.has_value(); }

    // Presets: "qv" (attention q,v), "attention" (all attention), "linear" (all linear),
    // "mlp" (MLP only), "ia3" (k, v and the feed-forward output projection).
    void applyPreset(const QString& preset);
    // {"target_modules": [...]} plus "layers_to_transform" when not every layer is chosen;
    // "feedforward_modules" (for IA3) lists the chosen feed-forward projections.
    nlohmann::json selection() const;
    // Checks the modules a method config names (suffix match, as peft does).
    void setSelection(const nlohmann::json& method);
    int checkedCount() const;
    QTreeWidget* tree() const { return m_tree; }

Q_SIGNALS:
    void selectionChanged();

private:
    // Name used in target_modules for linear `i` of a layer: its last component when unique
    // within the layer, otherwise its relative path ("attn.c_proj").
    std::string targetName(size_t i) const;
    void updateSummary();
    QTreeWidget* m_tree;
    QLabel* m_summary;
    std::optional<ModelConfig> m_config;
    ArchTable m_arch;
    bool m_updating = false;
};

}  // namespace peft::ui
