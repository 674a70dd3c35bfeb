// The Method page's "Objective" box: SFT, DPO, ORPO or SimPO, each with its two sentences and
// its settings. Types, defaults, help and allowed values all come from the core's objective
// specs (core/train/objectives/objective_spec.h); this widget only lays them out.
#pragma once
#include <QGroupBox>

#include <nlohmann/json.hpp>

#include <map>
#include <string>

class QComboBox;
class QFormLayout;
class QLabel;

namespace peft::ui {

class ObjectivePicker : public QGroupBox {
    Q_OBJECT
public:
    explicit ObjectivePicker(QWidget* parent = nullptr);
    // run.json's "objective" with every setting of the chosen type (e.g. {"type": "dpo", "beta": 0.1, ...}).
    nlohmann::json objective() const { return m_value; }
    // Shows `objective` (null: SFT). Throws PeftError (naming `where` and the key) when the core
    // refuses it; the picker then keeps what it showed.
    void setObjective(const nlohmann::json& objective, const std::string& where = "objective");
    QString currentType() const;
    void selectType(const QString& type);
    // Sets one setting's editor (tests); unknown keys are ignored.
    void setSetting(const std::string& key, const nlohmann::json& value);
    QComboBox* typeBox() const { return m_type; }
    QWidget* editor(const std::string& key) const;

Q_SIGNALS:
    // The user changed the type or a setting; objective() holds the new value.
    void objectiveChanged(const nlohmann::json& objective);
    // The settings are not ones the core accepts (message with the key and the fix).
    void problem(const QString& message);

private:
    void buildForm(const nlohmann::json& values);
    void commit();
    QComboBox* m_type;
    QLabel* m_summary;
    QFormLayout* m_form;
    std::map<std::string, QWidget*> m_editors;
    // The settings each type had when the user left it, so switching back restores them.
    std::map<std::string, nlohmann::json> m_byType;
    nlohmann::json m_value = {{"type", "sft"}};
    bool m_loading = false;
};

// Whether the run config's objective fits its dataset: empty when it does or when the dataset's
// kind is not known yet, else a message naming both and the fix. `detectedFormat` is what the
// Dataset page's import found for a dataset whose format is "auto" (empty: not imported).
QString objectiveDatasetMismatch(const nlohmann::json& runConfig, const std::string& detectedFormat);

}  // namespace peft::ui
