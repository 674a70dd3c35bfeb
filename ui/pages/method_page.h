// Step 3: choose a PEFT method (one card each, with a diagram), its hyperparameters and the
// modules it adapts.
#pragma once
#include "ui/pages/page.h"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>

#include "core/io/model_config.h"

class QAbstractButton;
class QButtonGroup;
class QFormLayout;
class QGroupBox;
class QLabel;
class QCheckBox;
class QComboBox;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTabWidget;

namespace peft::select {
struct ImportanceReport;
struct Selection;
}  // namespace peft::select

namespace peft::ui {

class BackgroundTask;
class ImportanceHeatmap;
class MethodDiagram;
class ObjectivePicker;
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

    // Importance-based selection (core select/). scoreModules() loads the project's model and
    // dataset on a worker thread and scores every linear module on a few batches; the heatmap
    // and the suggestion follow. False (reason in the banner) when it cannot start.
    bool scoreModules();
    void cancelScoring();
    bool isScoring() const;
    // Ticks the suggested modules in the picker, sets the rank pattern and emits
    // suggestionApplied with the candidate for the Budget page. False when there is none.
    bool useSuggestion();
    // The current suggestion (after scoring), or nullptr.
    const select::Selection* suggestion() const { return m_selection.get(); }
    const select::ImportanceReport* importanceReport() const { return m_report.get(); }
    ImportanceHeatmap* heatmap() const { return m_heatmap; }
    QComboBox* scoreMethodBox() const { return m_scoreMethod; }
    QSpinBox* budgetBox() const { return m_budget; }
    QCheckBox* allocateRanksBox() const { return m_allocate; }
    BackgroundTask* scoringTask() const { return m_scoring; }
    // Shows the importance tab (screenshots) or the module tree.
    void showImportanceTab(bool on);
    // The objective (SFT, DPO, ORPO, SimPO) and its settings: run.json's "objective".
    ObjectivePicker* objectivePicker() const { return m_objective; }
    // Warns in the banner when the objective does not fit the dataset (preference objective on
    // single examples, or the reverse); returns the message (empty when they fit or the dataset's
    // kind is not known yet).
    QString checkObjectiveFitsDataset();
    void enterPage() override { checkObjectiveFitsDataset(); }

Q_SIGNALS:
    // The candidate method config (with "_label"/"_suggested") that "Use suggestion" produced.
    void suggestionApplied(const nlohmann::json& candidate);
    // Scoring ended (successfully or not).
    void scoringFinished(bool ok);

private:
    QWidget* buildImportancePanel(QWidget* parent);
    void updateSuggestion();
    void syncQuantizeBase();
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
    ObjectivePicker* m_objective;
    QString m_mismatch;  // the objective/dataset warning on show, if any
    QTabWidget* m_targetTabs;
    // Importance panel.
    QComboBox* m_scoreMethod;
    QSpinBox* m_batches;
    QSpinBox* m_budget;
    QCheckBox* m_allocate;
    QPushButton* m_scoreButton;
    QPushButton* m_cancelButton;
    QPushButton* m_useButton;
    QProgressBar* m_scoreProgress;
    QLabel* m_suggestionText;
    ImportanceHeatmap* m_heatmap;
    BackgroundTask* m_scoring;
    std::shared_ptr<select::ImportanceReport> m_report;
    std::optional<ModelConfig> m_reportModel;
    std::shared_ptr<select::Selection> m_selection;
    // rank_pattern / alpha_pattern from an applied suggestion (cleared when targets are edited).
    nlohmann::json m_rankPattern = nlohmann::json::object();
    nlohmann::json m_alphaPattern = nlohmann::json::object();
    QString m_current;
    std::map<std::string, QWidget*> m_editors;
    bool m_loading = false;
};

}  // namespace peft::ui
