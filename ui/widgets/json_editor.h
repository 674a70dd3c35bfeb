// The form editors of the Method page's fields and the objective's settings: one widget per json
// value (QSpinBox an int, QDoubleSpinBox a number, QCheckBox a bool, QComboBox a choice, QLineEdit
// a text), read and written here so that both forms agree.
#pragma once
#include <nlohmann/json.hpp>

class QWidget;

namespace peft::ui {

// Shows `value` in the editor `w`.
void showJsonValue(QWidget* w, const nlohmann::json& value);
// What the editor `w` holds. `nullable`: a spin box at its minimum or an empty text is null (the
// field's default is null: "not set").
nlohmann::json jsonValueOf(const QWidget* w, bool nullable = false);

}  // namespace peft::ui
