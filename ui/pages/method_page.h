// Step 3: choose a PEFT method (one card each, with a diagram), its hyperparameters and the
// modules it adapts.
#pragma once
#include "ui/pages/page.h"

#include <nlohmann/json.hpp>

#include <map>

class QAbstractButton;
class QButtonGroup;
class QFormLayout;
class QGroupBox;
class QLabel;

namespace peft::ui {

class MethodDiagram;
class TargetModulePicker;
struct MethodInfo;

// A selectable card: name, two sentences and a small diagram. A button, so Tab/Space work.
class MethodCard;

class MethodPage : public Page {
    Q_OBJECT
public:
    explicit MethodPage(ProjectState* state, QWidget* parent = nullptr);
    void selectMethod(const QString& id);
    QString currentMethod() const { return m_current; }
    // The method section this page writes into the run config.
    nlohmann::json methodConfig() const;
    TargetModulePicker* picker() const { return m_picker; }
    // Sets a hyperparameter's editor (tests, project load).
    void setParam(const std::string& key, const nlohmann::json& value);

private:
    void buildForm(const MethodInfo& m, const nlohmann::json& values);
    void loadFromState();
    void commit();
    QButtonGroup* m_cards;
    MethodDiagram* m_diagram;
    QLabel* m_name;
    QLabel* m_summaryText;
    QGroupBox* m_formBox;
    QFormLayout* m_form;
    QLabel* m_note;
    QGroupBox* m_targetsBox;
    TargetModulePicker* m_picker;
    QString m_current;
    std::map<std::string, QWidget*> m_editors;
    bool m_loading = false;
};

}  // namespace peft::ui
