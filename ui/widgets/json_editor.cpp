#include "ui/widgets/json_editor.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QSpinBox>

namespace peft::ui {

using nlohmann::json;

void showJsonValue(QWidget* w, const json& value) {
    if (auto* s = qobject_cast<QSpinBox*>(w)) s->setValue(value.get<int>());
    else if (auto* d = qobject_cast<QDoubleSpinBox*>(w)) d->setValue(value.get<double>());
    else if (auto* c = qobject_cast<QCheckBox*>(w)) c->setChecked(value.get<bool>());
    else if (auto* cb = qobject_cast<QComboBox*>(w))
        cb->setCurrentText(QString::fromStdString(value.get<std::string>()));
    else if (auto* e = qobject_cast<QLineEdit*>(w)) e->setText(QString::fromStdString(value.get<std::string>()));
}

json jsonValueOf(const QWidget* w, bool nullable) {
    if (auto* s = qobject_cast<const QSpinBox*>(w))
        return nullable && s->value() == s->minimum() ? json() : json(s->value());
    if (auto* d = qobject_cast<const QDoubleSpinBox*>(w)) return d->value();
    if (auto* c = qobject_cast<const QCheckBox*>(w)) return c->isChecked();
    if (auto* cb = qobject_cast<const QComboBox*>(w)) return cb->currentText().toStdString();
    if (auto* e = qobject_cast<const QLineEdit*>(w))
        return nullable && e->text().isEmpty() ? json() : json(e->text().toStdString());
    return json();
}

}  // namespace peft::ui
